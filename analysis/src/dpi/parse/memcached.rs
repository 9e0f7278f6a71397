//! Memcached parser (text and binary protocols): one [`MemcachedTx`] per
//! command and its reply.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - Each direction picks its protocol from its first byte: 0x80 (client)
//!   or 0x81 (server) is the binary protocol, anything else text.
//! - Text (memcached `protocol.txt`): command lines end in `\n` (at most
//!   [`MAX_LINE`] bytes, else the direction stops). The data block of a
//!   storage command (`set`/`add`/`replace`/`append`/`prepend`/`cas`,
//!   meta `ms`) and of a `VALUE`/`VA` reply is skipped by its byte count
//!   (+ CRLF). Replies are matched first-in first-out: a reply ends at
//!   `END` for retrievals and `stats`, at its single line otherwise, at
//!   `ERROR`/`CLIENT_ERROR`/`SERVER_ERROR` always. `noreply` commands and
//!   `quit` are emitted at once.
//! - Binary (the binary protocol spec, §3): 24-byte header (magic, opcode,
//!   key length, extras length, data type, vbucket/status, total body,
//!   opaque, CAS), extras, key, value. Replies are matched by `opaque`.
//!   Opcodes are named (unknown: `Unknown(n)`), statuses numbered. SASL
//!   `PLAIN` authentication (opcode 0x21, RFC 4616 token in the value)
//!   gives the user, `password_seen` and `auth_success`.
//! - A gap stops the direction. Unanswered commands are emitted on
//!   `finish`; replies without a command are dropped.
//!
//! # Caps
//! [`MAX_MSG`] buffered bytes per direction (a bigger binary message is
//! read from its head), [`MAX_PENDING`] outstanding commands, [`MAX_KEYS`]
//! keys per command and [`MAX_NAME`] bytes per key or message.

use std::collections::VecDeque;

use super::lenframe::{text, Framer, Framing, LenParser, Pending, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::Serialize;

/// Bytes buffered per direction.
pub const MAX_MSG: usize = 64 * 1024;
/// Longest text command or reply line.
pub const MAX_LINE: usize = 8 * 1024;
/// Outstanding commands kept per flow.
pub const MAX_PENDING: usize = 64;
/// Keys kept per command.
pub const MAX_KEYS: usize = 16;
/// Longest key or message kept.
pub const MAX_NAME: usize = 256;
/// Largest binary body accepted (memcached's item size limit is 1 MiB by
/// default, 1 GiB at most).
pub const MAX_BODY: usize = 1 << 30;

/// Binary opcode names, by opcode (binary protocol spec §3.3).
const BIN_OPS: &[&str] = &[
    "Get",
    "Set",
    "Add",
    "Replace",
    "Delete",
    "Increment",
    "Decrement",
    "Quit",
    "Flush",
    "GetQ",
    "Noop",
    "Version",
    "GetK",
    "GetKQ",
    "Append",
    "Prepend",
    "Stat",
    "SetQ",
    "AddQ",
    "ReplaceQ",
    "DeleteQ",
    "IncrementQ",
    "DecrementQ",
    "QuitQ",
    "FlushQ",
    "AppendQ",
    "PrependQ",
    "Verbosity",
    "Touch",
    "GAT",
    "GATQ",
    "",
    "SASLListMechs",
    "SASLAuth",
    "SASLStep",
];

/// SASL authentication opcode.
const SASL_AUTH: u8 = 0x21;
/// Status "authentication error".
const STATUS_AUTH_ERROR: u16 = 0x20;

/// One memcached command and its reply (EVE `memcached`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MemcachedTx {
    /// `text` or `binary`.
    pub protocol: &'static str,
    /// Text verb as sent (lowercase), or binary opcode name
    /// (`Unknown(n)` when unknown).
    pub command: String,
    /// Keys (capped at [`MAX_KEYS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// Byte count of a stored value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Text: `noreply` was given.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub noreply: bool,
    /// Text reply status word (`STORED`, `END`, `NOT_FOUND`, `ERROR`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    /// Binary reply status (0 = no error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Values returned (`VALUE`/`VA` lines, or a binary Get hit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<u32>,
    /// `CLIENT_ERROR`/`SERVER_ERROR` message, or a binary error value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// SASL user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A cleartext password was sent (SASL PLAIN); never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// SASL outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
}

/// Builds the memcached parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    LenParser::boxed(
        tcp,
        State {
            binary: [None; 2],
            block: [None; 2],
            text: VecDeque::new(),
            bin: Pending::new(MAX_PENDING),
            done_after_block: false,
        },
    )
}

#[derive(Debug)]
struct State {
    /// Per direction: binary protocol (known after the first byte).
    binary: [Option<bool>; 2],
    /// Per direction: a text data block of this many bytes (CRLF
    /// included) comes next.
    block: [Option<usize>; 2],
    /// Text commands awaiting their reply, oldest first.
    text: VecDeque<MemcachedTx>,
    /// Binary commands awaiting their reply, by opaque.
    bin: Pending<u32, MemcachedTx>,
    /// The reply in progress (a meta `VA`) ends after its data block.
    done_after_block: bool,
}

impl Framer for State {
    fn frame_len(&self, dir: Direction, buf: &[u8]) -> Framing {
        let d = dir.idx();
        let Some(&first) = buf.first() else {
            return Framing::Need(1);
        };
        let binary = self.binary[d].unwrap_or(first == 0x80 || first == 0x81);
        if binary {
            let want = if dir == Direction::ToServer {
                0x80
            } else {
                0x81
            };
            if first != want {
                return Framing::Bad;
            }
            match buf.get(8..12).and_then(|b| Rd(b).be32()) {
                None => Framing::Need(24),
                Some(body) if body as usize <= MAX_BODY => Framing::Frame(24 + body as usize),
                Some(_) => Framing::Bad,
            }
        } else if let Some(n) = self.block[d] {
            Framing::Frame(n)
        } else {
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => Framing::Frame(i + 1),
                None if buf.len() >= MAX_LINE => Framing::Bad,
                None => Framing::Need((buf.len() + 256).min(MAX_LINE)),
            }
        }
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], _truncated: bool, out: &mut Vec<AppRecord>) {
        let d = dir.idx();
        let binary = *self.binary[d].get_or_insert(matches!(msg.first(), Some(0x80 | 0x81)));
        if binary {
            self.binary_msg(dir, msg, out);
        } else if self.block[d].take().is_some() {
            if dir == Direction::ToClient && std::mem::take(&mut self.done_after_block) {
                self.reply_done(out);
            }
        } else if dir == Direction::ToServer {
            self.text_command(msg, out);
        } else {
            self.text_reply(msg, out);
        }
    }
}

impl State {
    /// A text command line (with its `\n`).
    fn text_command(&mut self, line: &[u8], out: &mut Vec<AppRecord>) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
        let Some(verb) = words.next() else { return };
        let args: Vec<&[u8]> = words.take(MAX_KEYS + 8).collect();
        let verb = text(verb, 32).to_ascii_lowercase();
        let num = |i: usize| {
            args.get(i)
                .and_then(|a| std::str::from_utf8(a).ok()?.parse::<u64>().ok())
        };
        let mut tx = MemcachedTx {
            protocol: "text",
            noreply: args.last() == Some(&&b"noreply"[..]),
            ..Default::default()
        };
        let key_args: &[&[u8]] = match verb.as_str() {
            "get" | "gets" => &args,
            "gat" | "gats" => args.get(1..).unwrap_or_default(),
            "set" | "add" | "replace" | "append" | "prepend" | "cas" => {
                tx.bytes = num(3);
                args.get(..1).unwrap_or_default()
            }
            "ms" => {
                tx.bytes = num(1);
                args.get(..1).unwrap_or_default()
            }
            "delete" | "incr" | "decr" | "touch" | "mg" | "md" | "ma" => {
                args.get(..1).unwrap_or_default()
            }
            _ => &[],
        };
        tx.keys = key_args
            .iter()
            .take(MAX_KEYS)
            .map(|k| text(k, MAX_NAME))
            .collect();
        if let Some(n) = tx.bytes {
            // Meta commands' `q` flag is their noreply; the block follows.
            self.block[0] = Some((n as usize).saturating_add(2));
        }
        let quit = verb == "quit";
        tx.command = verb;
        if tx.noreply || quit {
            out.push(AppRecord::Memcached(tx));
        } else {
            if self.text.len() >= MAX_PENDING {
                if let Some(old) = self.text.pop_front() {
                    out.push(AppRecord::Memcached(old));
                }
            }
            self.text.push_back(tx);
        }
    }

    /// A text reply line (with its `\n`).
    fn text_reply(&mut self, line: &[u8], out: &mut Vec<AppRecord>) {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut words = line.split(|&b| b == b' ');
        let word = words.next().unwrap_or_default();
        // A data block follows VALUE / VA, with or without a command to
        // match: skip it by length either way.
        if word == b"VALUE" || word == b"VA" {
            let idx = if word == b"VALUE" { 2 } else { 0 };
            let n = words
                .nth(idx)
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok());
            self.block[1] = n.map(|n| n.saturating_add(2));
        }
        let Some(tx) = self.text.front_mut() else {
            return;
        };
        let multi = matches!(
            tx.command.as_str(),
            "get" | "gets" | "gat" | "gats" | "stats"
        );
        match word {
            b"VALUE" | b"VA" => {
                *tx.values.get_or_insert(0) += 1;
                if word == b"VA" {
                    tx.response = Some("VA".into());
                    self.done_after_block = self.block[1].is_some();
                    if !self.done_after_block {
                        self.reply_done(out);
                    }
                }
            }
            b"STAT" if multi => {}
            _ => {
                let w = text(word, 32);
                if w == "CLIENT_ERROR" || w == "SERVER_ERROR" {
                    let rest = line.get(word.len() + 1..).unwrap_or_default();
                    tx.error_message = Some(text(rest, MAX_NAME));
                }
                let ends = !multi
                    || matches!(
                        w.as_str(),
                        "END" | "ERROR" | "CLIENT_ERROR" | "SERVER_ERROR"
                    );
                tx.response = Some(w);
                if ends {
                    self.reply_done(out);
                }
            }
        }
    }

    /// The oldest text command got its whole reply.
    fn reply_done(&mut self, out: &mut Vec<AppRecord>) {
        if let Some(tx) = self.text.pop_front() {
            out.push(AppRecord::Memcached(tx));
        }
    }

    /// A binary request or response (header + body, maybe cut at the cap).
    fn binary_msg(&mut self, dir: Direction, msg: &[u8], out: &mut Vec<AppRecord>) {
        let mut r = Rd(msg);
        let (
            Some(_),
            Some(op),
            Some(klen),
            Some(elen),
            Some(_),
            Some(status),
            Some(_),
            Some(opaque),
        ) = (
            r.u8(),
            r.u8(),
            r.be16(),
            r.u8(),
            r.u8(),
            r.be16(),
            r.be32(),
            r.be32(),
        )
        else {
            return;
        };
        r.take(8);
        r.take(usize::from(elen));
        let key = r.take(usize::from(klen));
        let value = r.0;
        if dir == Direction::ToServer {
            let mut tx = MemcachedTx {
                protocol: "binary",
                command: bin_name(op),
                keys: key
                    .filter(|k| !k.is_empty())
                    .map(|k| text(k, MAX_NAME))
                    .into_iter()
                    .collect(),
                ..Default::default()
            };
            if matches!(op, 0x01..=0x03 | 0x0e | 0x0f | 0x11..=0x13 | 0x19 | 0x1a) {
                tx.bytes = Some(value.len() as u64);
            }
            if op == SASL_AUTH && key == Some(b"PLAIN") {
                // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
                let mut parts = value.splitn(3, |&b| b == 0);
                let _authzid = parts.next();
                if let (Some(u), Some(pw)) = (parts.next(), parts.next()) {
                    tx.user = Some(text(u, MAX_NAME));
                    tx.password_seen = !pw.is_empty();
                }
            }
            if let Some(old) = self.bin.push(opaque, tx) {
                out.push(AppRecord::Memcached(old));
            }
        } else if let Some(mut tx) = self.bin.take(&opaque) {
            tx.status = Some(status);
            if status != 0 {
                tx.error_message = Some(text(value, MAX_NAME));
            } else if matches!(op, 0x00 | 0x09 | 0x0c | 0x0d | 0x1d | 0x1e) {
                tx.values = Some(1);
            }
            if op == SASL_AUTH {
                tx.auth_success = match status {
                    0 => Some(true),
                    STATUS_AUTH_ERROR => Some(false),
                    _ => None,
                };
            }
            out.push(AppRecord::Memcached(tx));
        }
    }
}

/// A binary opcode's name, or `Unknown(n)`.
fn bin_name(op: u8) -> String {
    match BIN_OPS.get(usize::from(op)) {
        Some(n) if !n.is_empty() => (*n).to_string(),
        _ => format!("Unknown({op})"),
    }
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        out.extend(self.text.drain(..).map(AppRecord::Memcached));
        out.extend(self.bin.drain().map(AppRecord::Memcached));
    }
}

#[cfg(test)]
#[path = "memcached/tests.rs"]
mod tests;
