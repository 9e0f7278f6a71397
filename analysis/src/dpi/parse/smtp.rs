//! SMTP parser: one [`SmtpTx`] per mail transaction or AUTH exchange.
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Both directions are cut into lines of at most [`MAX_LINE_LEN`] bytes
//!   (longer ones are cut and flag the record `truncated`); server lines are
//!   grouped into replies (RFC 5321 §4.2.1). Commands may be pipelined
//!   (RFC 2920): they are queued (at most [`MAX_PENDING`]) and replies
//!   answer the oldest.
//! - Record boundaries (one record per "transaction"): the client's `.`
//!   (end of a message's data), `AUTH`, `RSET` and `STARTTLS` end a record,
//!   so the commands after them go to the next (at most [`MAX_OPEN`]
//!   records wait for replies). A record is emitted when the reply to its
//!   closing command arrives (for `.` its code is `status`; for `AUTH` the
//!   235, 535 or other final reply, so every attempt of a brute force is a
//!   record), when `STARTTLS` is accepted, and at [`AppParser::finish`]
//!   (with whatever commands are still unreported). Tying commands to
//!   records on the client side keeps them right when many commands arrive
//!   before their replies (pipelining, or the identifier's replay).
//!   Every record carries the session's `helo` and the last successful
//!   `auth`; `commands` lists the record's commands with their reply codes
//!   (at most [`MAX_COMMANDS`]). Commands that are only `QUIT`/`NOOP`
//!   (or none) make no record.
//! - `AUTH PLAIN` / `AUTH LOGIN` (RFC 4954 §4, RFC 4616): the user name is
//!   decoded and logged, the password never is (`password_seen: true`).
//!   Other mechanisms log only their name. `235` is `success`, `535`
//!   `failure` (RFC 4954 §6), `*` a cancel (§4). The client is back to
//!   commands after the responses PLAIN (one) or LOGIN (two) need, or at
//!   a line with a space or colon (not base64), or at the final reply.
//! - The server's first reply, when `220` or `554`, is the greeting
//!   (RFC 5321 §4.3.2) and answers no command, even when commands were fed
//!   before it (the flow identifier replays the client's probed bytes
//!   first).
//! - `DATA` (RFC 5321 §4.1.1.4): the body is read up to the line `.`
//!   (dot-stuffing undone, §4.5.2); only the `From`, `To` and `Subject`
//!   header fields (unfolded, at most [`MAX_HEADER_LEN`] bytes) are kept.
//!   The body is assumed to follow `DATA` at once; a non-`354` reply to
//!   `DATA` before any body line turns the client back to commands.
//!   `BDAT n` chunks (RFC 3030 §2) are skipped by length.
//! - `STARTTLS` answered with `220` (RFC 3207 §4): the record is emitted and
//!   the parser stops for good.
//! - [`AppParser::gap`] drops the partial line (and a multi-line reply)
//!   and resumes at the next line; a gap in the client direction during
//!   a body or a BDAT chunk turns the client back to command mode.
//! - Field names follow Suricata's EVE `smtp` (`helo`, `mail_from`,
//!   `rcpt_to`) and `email` (`from`, `to`, `subject`, `status`).

use std::collections::VecDeque;

use base64::Engine;
use serde::Serialize;

use super::lines::{LineReader, Reply, ReplyReader};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

#[cfg(test)]
#[path = "smtp/tests.rs"]
mod tests;

/// Longest line kept (RFC 5321 §4.5.3.1.6 allows 1000; some clients send
/// longer).
pub const MAX_LINE_LEN: usize = 4 * 1024;
/// Most commands waiting for a reply.
pub const MAX_PENDING: usize = 64;
/// Most commands listed per record.
pub const MAX_COMMANDS: usize = 64;
/// Most recipients listed per record.
pub const MAX_RCPT: usize = 64;
/// Longest header value kept (after unfolding).
pub const MAX_HEADER_LEN: usize = 1024;
/// Longest name (HELO argument, address, user name, verb) kept.
pub const MAX_NAME_LEN: usize = 256;
/// Most records waiting for their replies.
pub const MAX_OPEN: usize = 16;

/// Outcome of an AUTH exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthOutcome {
    /// `235`.
    Success,
    /// `535`.
    Failure,
    /// The client cancelled with `*`, or another final reply.
    Other,
}

/// One AUTH exchange (RFC 4954).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SmtpAuth {
    /// SASL mechanism, uppercased.
    pub mechanism: String,
    /// User name (PLAIN authcid, LOGIN user), when decodable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A cleartext password (PLAIN, LOGIN) was sent.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// Result, once the final reply was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AuthOutcome>,
    /// The final reply's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// A command and its reply code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmtpCommand {
    /// Verb, uppercased (`.` for the end of a message's data).
    pub command: String,
    /// Final reply code, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<u16>,
}

/// Header fields of a message (Suricata EVE `email`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SmtpEmail {
    /// `From` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `To` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `Subject` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// One mail transaction or AUTH exchange (Suricata EVE `smtp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SmtpTx {
    /// HELO/EHLO argument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// MAIL FROM argument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// RCPT TO arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rcpt_to: Vec<String>,
    /// This record's AUTH exchange, or the session's last successful one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<SmtpAuth>,
    /// Message header fields, when data was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<SmtpEmail>,
    /// Reply code to the end of the message data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Commands of this record and their replies.
    pub commands: Vec<SmtpCommand>,
    /// STARTTLS was accepted: the rest is encrypted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub starttls: bool,
    /// A line or list was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Builds the SMTP parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(SmtpParser::new(tcp))
}

/// What the client's lines are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Client {
    Command,
    /// AUTH responses (RFC 4954 §4); `n` read so far.
    Auth {
        n: u32,
    },
    /// Message data; `headers` while in the header section, `lines` read.
    Body {
        headers: bool,
        lines: u64,
    },
    /// A BDAT chunk: bytes left to skip.
    Bdat(u64),
}

/// Per-flow SMTP parser; see the module documentation.
#[derive(Debug)]
pub struct SmtpParser {
    active: bool,
    lines: [LineReader; 2],
    replies: ReplyReader,
    client: Client,
    /// Verbs waiting for a final reply, with the sequence number of the
    /// record they belong to.
    pending: VecDeque<(String, u64)>,
    /// Records not yet emitted, oldest first (at most [`MAX_OPEN`]); the
    /// last is the one the client's commands go to.
    txs: VecDeque<SmtpTx>,
    /// Sequence number of `txs[0]`.
    first_seq: u64,
    /// The client ended the last record (`.`, `AUTH`, `RSET`,
    /// `STARTTLS`): its next command opens a new one.
    closed: bool,
    /// Session HELO.
    helo: Option<String>,
    /// Last successful AUTH.
    authed: Option<SmtpAuth>,
    /// The header being unfolded (name lowercased, value).
    header: Option<(String, String)>,
    /// The server's first reply was seen.
    greeted: bool,
}

fn capped(b: &[u8], cap: usize) -> (String, bool) {
    let cut = b.get(..cap).unwrap_or(b);
    (
        String::from_utf8_lossy(cut).into_owned(),
        cut.len() < b.len(),
    )
}

impl SmtpParser {
    /// A parser for a TCP flow, or (`tcp == false`) one that ignores input.
    pub fn new(tcp: bool) -> Self {
        SmtpParser {
            active: tcp,
            lines: [LineReader::new(MAX_LINE_LEN), LineReader::new(MAX_LINE_LEN)],
            replies: ReplyReader::default(),
            client: Client::Command,
            pending: VecDeque::new(),
            txs: VecDeque::new(),
            first_seq: 0,
            closed: false,
            helo: None,
            authed: None,
            header: None,
            greeted: false,
        }
    }

    /// The record the client's commands go to (opened when needed).
    fn cur(&mut self) -> &mut SmtpTx {
        // At most MAX_OPEN records wait for replies; past that the last
        // one takes the commands.
        if self.txs.is_empty() || (self.closed && self.txs.len() < MAX_OPEN) {
            self.txs.push_back(SmtpTx::default());
        }
        self.closed = false;
        let last = self.txs.len() - 1;
        &mut self.txs[last]
    }

    /// Sequence number of the current record.
    fn cur_seq(&self) -> u64 {
        self.first_seq + self.txs.len().saturating_sub(1) as u64
    }

    fn push_command(&mut self, verb: &str) {
        let tx = self.cur();
        if tx.commands.len() < MAX_COMMANDS {
            tx.commands.push(SmtpCommand {
                command: verb.to_owned(),
                reply: None,
            });
        } else {
            tx.truncated = true;
        }
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        let seq = self.cur_seq();
        self.pending.push_back((verb.to_owned(), seq));
        if matches!(verb, "." | "AUTH" | "RSET" | "STARTTLS") {
            self.closed = true;
        }
    }

    fn command(&mut self, line: &[u8]) {
        let (verb, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => line.split_at(i),
            None => (line, &[][..]),
        };
        let arg = arg.get(1..).unwrap_or_default();
        if verb.is_empty() {
            return;
        }
        let verb = capped(verb, MAX_NAME_LEN).0.to_ascii_uppercase();
        let (text, cut) = capped(arg, MAX_NAME_LEN);
        self.cur().truncated |= cut;
        match verb.as_str() {
            "HELO" | "EHLO" => self.helo = Some(text),
            "MAIL" => self.cur().mail_from = Some(after_colon(&text)),
            "RCPT" => {
                let tx = self.cur();
                if tx.rcpt_to.len() < MAX_RCPT {
                    tx.rcpt_to.push(after_colon(&text));
                } else {
                    tx.truncated = true;
                }
            }
            "DATA" => {
                self.client = Client::Body {
                    headers: true,
                    lines: 0,
                };
                self.cur().email = Some(SmtpEmail::default());
            }
            "BDAT" => {
                let size = text.split(' ').next().and_then(|s| s.parse().ok());
                self.client = Client::Bdat(size.unwrap_or(0));
            }
            "AUTH" => self.auth_start(&text),
            _ => {}
        }
        self.push_command(&verb);
    }

    fn auth_start(&mut self, arg: &str) {
        let mut parts = arg.split(' ');
        let mechanism = parts.next().unwrap_or_default().to_ascii_uppercase();
        self.cur().auth = Some(SmtpAuth {
            mechanism,
            ..Default::default()
        });
        self.client = Client::Auth { n: 0 };
        // An initial response (RFC 4954 §4); `=` means an empty one.
        if let Some(initial) = parts.next() {
            self.auth_response(initial.as_bytes());
        }
    }

    fn auth_response(&mut self, line: &[u8]) {
        let Client::Auth { n } = &mut self.client else {
            return;
        };
        let idx = *n;
        *n += 1;
        let Some(auth) = self.txs.back_mut().and_then(|t| t.auth.as_mut()) else {
            return;
        };
        // PLAIN needs one response, LOGIN two (user, password); `*`
        // cancels (RFC 4954 §4). After them the client is back to commands
        // without waiting for the server's reply, so a replay of the
        // client's bytes ahead of the server's still reads right.
        let done = match auth.mechanism.as_str() {
            "PLAIN" => true,
            "LOGIN" => idx >= 1,
            _ => false,
        };
        if done || line == b"*" {
            self.client = Client::Command;
        }
        if line == b"*" {
            return;
        }
        let decoded = base64::engine::general_purpose::STANDARD.decode(line).ok();
        match (auth.mechanism.as_str(), idx) {
            // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
            ("PLAIN", _) => {
                if let Some(d) = decoded {
                    let mut f = d.split(|&b| b == 0);
                    if let (Some(_), Some(user), Some(_)) = (f.next(), f.next(), f.next()) {
                        auth.username = Some(capped(user, MAX_NAME_LEN).0);
                        auth.password_seen = true;
                    }
                }
            }
            ("LOGIN", 0) => auth.username = decoded.map(|d| capped(&d, MAX_NAME_LEN).0),
            ("LOGIN", _) => auth.password_seen = true,
            _ => {}
        }
    }

    fn body_line(&mut self, line: &[u8]) {
        let Client::Body { headers, lines } = &mut self.client else {
            return;
        };
        *lines += 1;
        if line == b"." {
            self.finish_header();
            self.client = Client::Command;
            self.push_command(".");
            return;
        }
        if !*headers {
            return;
        }
        if line.is_empty() {
            *headers = false;
            self.finish_header();
            return;
        }
        // Dot-stuffing (RFC 5321 §4.5.2).
        let line = line.strip_prefix(b".").unwrap_or(line);
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some((_, v)) = &mut self.header {
                if v.len() < MAX_HEADER_LEN {
                    v.push_str(&String::from_utf8_lossy(line));
                }
            }
            return;
        }
        self.finish_header();
        if let Some(c) = line.iter().position(|&b| b == b':') {
            let (name, value) = line.split_at(c);
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            if matches!(name.as_str(), "from" | "to" | "subject") {
                let value = value.get(1..).unwrap_or_default();
                self.header = Some((name, capped(value, MAX_HEADER_LEN).0));
            }
        }
    }

    fn finish_header(&mut self) {
        let Some((name, mut value)) = self.header.take() else {
            return;
        };
        if value.len() > MAX_HEADER_LEN {
            let mut cut = MAX_HEADER_LEN;
            while !value.is_char_boundary(cut) {
                cut -= 1;
            }
            value.truncate(cut);
            self.cur().truncated = true;
        }
        let value = value.trim().to_owned();
        let email = self.cur().email.get_or_insert_with(SmtpEmail::default);
        let slot = match name.as_str() {
            "from" => &mut email.from,
            "to" => &mut email.to,
            _ => &mut email.subject,
        };
        slot.get_or_insert(value);
    }

    fn reply(&mut self, reply: &Reply, out: &mut Vec<AppRecord>) {
        // RFC 5321 §4.3.2: the greeting is 220 or 554 and answers no
        // command, even when commands were fed first (replayed probe bytes).
        let greeting = !self.greeted && matches!(reply.code, 220 | 554);
        self.greeted = true;
        if greeting {
            return;
        }
        let Some((verb, _)) = self.pending.front() else {
            return;
        };
        if verb == "AUTH" && reply.code == 334 {
            return;
        }
        let Some((verb, seq)) = self.pending.pop_front() else {
            return;
        };
        let idx = seq
            .checked_sub(self.first_seq)
            .and_then(|i| usize::try_from(i).ok());
        let Some(tx) = idx.and_then(|i| self.txs.get_mut(i)) else {
            return;
        };
        if let Some(c) = tx
            .commands
            .iter_mut()
            .find(|c| c.reply.is_none() && c.command == verb)
        {
            c.reply = Some(reply.code);
        }
        match verb.as_str() {
            "DATA" if reply.code != 354 => {
                if matches!(self.client, Client::Body { lines: 0, .. }) {
                    self.client = Client::Command;
                }
            }
            "." => {
                tx.status = Some(reply.code);
                self.emit_through(seq, out);
            }
            "AUTH" => {
                if let Some(auth) = &mut tx.auth {
                    auth.code = Some(reply.code);
                    auth.outcome = Some(match reply.code {
                        235 => AuthOutcome::Success,
                        535 => AuthOutcome::Failure,
                        _ => AuthOutcome::Other,
                    });
                    if reply.code == 235 {
                        self.authed = Some(auth.clone());
                    }
                }
                if matches!(self.client, Client::Auth { .. }) && seq == self.cur_seq() {
                    self.client = Client::Command;
                }
                self.emit_through(seq, out);
            }
            "RSET" => self.emit_through(seq, out),
            "STARTTLS" if reply.code == 220 => {
                tx.starttls = true;
                self.emit_through(seq, out);
                self.stop();
            }
            _ => {}
        }
    }

    /// Emits the records up to sequence number `seq`, oldest first.
    fn emit_through(&mut self, seq: u64, out: &mut Vec<AppRecord>) {
        while self.first_seq <= seq {
            let Some(tx) = self.txs.pop_front() else {
                break;
            };
            self.first_seq += 1;
            self.emit(tx, out);
        }
    }

    /// Emits one record unless it holds nothing worth one.
    fn emit(&mut self, mut tx: SmtpTx, out: &mut Vec<AppRecord>) {
        // Nothing but `QUIT`/`NOOP` after the last record: not worth one.
        if tx
            .commands
            .iter()
            .all(|c| matches!(c.command.as_str(), "QUIT" | "NOOP"))
        {
            return;
        }
        tx.helo.clone_from(&self.helo);
        if tx.email.as_ref() == Some(&SmtpEmail::default()) {
            tx.email = None;
        }
        if tx.auth.is_none() {
            tx.auth.clone_from(&self.authed);
        }
        out.push(AppRecord::Smtp(tx));
    }

    fn stop(&mut self) {
        self.active = false;
        self.pending = VecDeque::new();
        for l in &mut self.lines {
            l.clear();
        }
    }

    fn client_data(&mut self, mut bytes: &[u8]) {
        while self.active && !bytes.is_empty() {
            if let Client::Bdat(left) = &mut self.client {
                let n = usize::try_from(*left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                *left -= n as u64;
                bytes = bytes.get(n..).unwrap_or_default();
                if *left == 0 {
                    self.client = Client::Command;
                }
                continue;
            }
            let Some(line) = self.lines[0].next_line(&mut bytes) else {
                return;
            };
            if line.truncated {
                self.cur().truncated = true;
            }
            match self.client {
                Client::Command => self.command(&line.bytes),
                // Base64 has no space or colon: such a line is a command.
                Client::Auth { .. } if line.bytes.iter().any(|&b| b == b' ' || b == b':') => {
                    self.client = Client::Command;
                    self.command(&line.bytes);
                }
                Client::Auth { .. } => self.auth_response(&line.bytes),
                Client::Body { .. } => self.body_line(&line.bytes),
                Client::Bdat(_) => {}
            }
        }
    }
}

/// The address part of `FROM:<a@b> params` / `TO:<a@b>`.
fn after_colon(arg: &str) -> String {
    let v = arg.split_once(':').map_or(arg, |(_, v)| v).trim_start();
    v.split(' ').next().unwrap_or_default().to_owned()
}

impl AppParser for SmtpParser {
    fn data(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        match dir {
            Direction::ToServer => self.client_data(bytes),
            Direction::ToClient => {
                while self.active && !bytes.is_empty() {
                    let Some(line) = self.lines[1].next_line(&mut bytes) else {
                        return;
                    };
                    if line.truncated {
                        if let Some(tx) = self.txs.front_mut() {
                            tx.truncated = true;
                        }
                    }
                    if let Some(r) = self.replies.line(&line.bytes) {
                        self.reply(&r, out);
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction) {
        if !self.active {
            return;
        }
        self.lines[dir.idx()].gap();
        match dir {
            Direction::ToClient => self.replies.gap(),
            Direction::ToServer => {
                if matches!(self.client, Client::Body { .. } | Client::Bdat(_)) {
                    self.client = Client::Command;
                    self.header = None;
                }
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        if self.active {
            self.finish_header();
            for tx in std::mem::take(&mut self.txs) {
                self.emit(tx, out);
            }
        }
        self.stop();
    }
}
