//! Redis serialization protocol (RESP2 / RESP3) parser: one record per
//! command with its reply.
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Each direction is a sequence of RESP values (Redis docs, "Redis
//!   serialization protocol specification"): simple types are one CRLF
//!   line (`+` `-` `:` `_` `#` `,` `(`), blobs a `$`/`=`/`!` length line
//!   then that many bytes and CRLF (length `-1` is null), aggregates a
//!   `*`/`~`/`>` count (or `%` map: twice the count) of nested values. A
//!   RESP3 attribute (`|`) precedes the value it annotates and does not
//!   count as one. Values are read streaming: a blob's bytes are skipped
//!   by length (only the first [`MAX_ARG_LEN`] are kept), so memory stays
//!   bounded whatever the lengths say.
//! - A client value is a command: an array of bulk strings (name, then
//!   arguments), or an inline command (a line not starting with `*`,
//!   split on spaces). Commands queue (pipelining); each top-level server
//!   value answers the oldest one and emits its record. A server value
//!   with no command waiting (pub/sub messages, RESP3 pushes) emits a
//!   record with the reply only. Commands never answered are emitted at
//!   [`AppParser::finish`].
//! - Malformed input (a line over [`MAX_LINE_LEN`], a bad length, nesting
//!   over [`MAX_DEPTH`]) or a [`AppParser::gap`] stops that direction: RESP
//!   has no marker to resynchronise on.
//! - Passwords are never logged: the arguments of `AUTH`, the password
//!   after `HELLO … AUTH user`, `MIGRATE … AUTH`/`AUTH2`, `CONFIG SET
//!   requirepass|masterauth` and `ACL SETUSER` `>`/`#` rules are dropped
//!   from `args` and `password_seen` is set.
//!
//! # Record (`event_type` `redis`)
//! ```json
//! {"command":"SET","args":["test","hi"],"arg_count":2,
//!  "reply":{"type":"status","value":"OK"},"success":true}
//! {"command":"AUTH","arg_count":2,"user":"admin","password_seen":true,
//!  "reply":{"type":"error","value":"WRONGPASS invalid username-password pair"},
//!  "success":false}
//! {"command":"GET","args":["k"],"arg_count":1,
//!  "reply":{"type":"bulk","length":12}}
//! ```
//! Common fields for detection: `command` and `args` (the query), `user`
//! (AUTH / HELLO user name), `database` (index of the last successful
//! `SELECT`), `success` (false when the reply is an error; for `AUTH` the
//! auth outcome).
//!
//! # Caps
//! [`MAX_ARGS`] arguments of [`MAX_ARG_LEN`] bytes each are kept
//! (`args_truncated`), reply text [`MAX_MESSAGE_LEN`], lines
//! [`MAX_LINE_LEN`], nesting [`MAX_DEPTH`], [`MAX_PENDING`] queued
//! commands (older ones are emitted without a reply).

use std::collections::VecDeque;

use serde::Serialize;

use super::sqlwire::{is_false, text, MAX_MESSAGE_LEN};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

#[cfg(test)]
#[path = "redis/tests.rs"]
mod tests;

/// Arguments kept per command (after the name).
pub const MAX_ARGS: usize = 16;
/// Bytes kept per argument (and command name).
pub const MAX_ARG_LEN: usize = 256;
/// Longest line (type byte to CRLF) accepted.
pub const MAX_LINE_LEN: usize = 64 * 1024;
/// Deepest aggregate nesting accepted.
pub const MAX_DEPTH: usize = 32;
/// Commands waiting for their reply.
pub const MAX_PENDING: usize = 64;

/// Kind of a reply (its RESP type byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyType {
    /// `+`.
    Status,
    /// `-`.
    Error,
    /// `:`.
    Integer,
    /// `$` (and RESP3 `=` verbatim).
    Bulk,
    /// `*` (and RESP3 `~` set, `%` map, `>` push).
    Array,
    /// RESP3 `_` null.
    Null,
    /// RESP3 `#` boolean, `,` double, `(` big number.
    Scalar,
    /// RESP3 `!` blob error.
    BlobError,
    /// A server line with another first byte (its value).
    Unknown(u8),
}

impl ReplyType {
    fn of(b: u8) -> Self {
        match b {
            b'+' => ReplyType::Status,
            b'-' => ReplyType::Error,
            b':' => ReplyType::Integer,
            b'$' | b'=' => ReplyType::Bulk,
            b'*' | b'~' | b'%' | b'>' => ReplyType::Array,
            b'_' => ReplyType::Null,
            b'#' | b',' | b'(' => ReplyType::Scalar,
            b'!' => ReplyType::BlobError,
            n => ReplyType::Unknown(n),
        }
    }
}

/// A reply's top-level value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisReply {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: ReplyType,
    /// Text of a status, error, integer or scalar (capped); first bytes of
    /// a blob error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Bulk length or element count (`-1`: null).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<i64>,
}

/// One Redis record (`event_type` `redis`); see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RedisRecord {
    /// Command name, uppercased (absent for an unsolicited reply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Arguments (capped; passwords dropped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Arguments sent, after the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arg_count: Option<u64>,
    /// Some argument was dropped or cut by the caps.
    #[serde(skip_serializing_if = "is_false")]
    pub args_truncated: bool,
    /// Sent as an inline command rather than a RESP array.
    #[serde(skip_serializing_if = "is_false")]
    pub inline: bool,
    /// User named by `AUTH user pass` / `HELLO … AUTH user pass`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Database index selected by the last successful `SELECT` answered
    /// before this command's reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// A password was sent (never logged).
    #[serde(skip_serializing_if = "is_false")]
    pub password_seen: bool,
    /// The reply, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<RedisReply>,
    /// False when the reply is an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
}

/// Builds the Redis parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(RedisParser {
        tcp,
        ..Default::default()
    })
}

/// A top-level value being read.
#[derive(Debug, Default)]
struct Value {
    /// Type byte and first line (capped).
    head: Option<(u8, Vec<u8>)>,
    /// Elements of a top-level array kept (bytes, capped).
    items: Vec<Vec<u8>>,
    /// Elements of a top-level array seen.
    count: u64,
    /// An element was dropped or cut.
    truncated: bool,
    /// Inline command.
    inline: bool,
}

/// Streaming RESP reader of one direction.
#[derive(Debug, Default)]
struct Reader {
    /// Partial line (without LF, ≤ [`MAX_LINE_LEN`]).
    line: Vec<u8>,
    /// Content bytes left of the blob being read.
    blob_left: usize,
    /// CRLF bytes left after the blob.
    crlf_left: usize,
    /// The blob is a kept top-level array element.
    blob_keep: bool,
    /// Elements left per open aggregate; `true` for attributes.
    stack: Vec<(u64, bool)>,
    value: Value,
    dead: bool,
}

impl Reader {
    /// Feeds bytes; pushes the top-level values completed to `done`.
    fn feed(&mut self, mut bytes: &[u8], client: bool, done: &mut Vec<Value>) {
        while !bytes.is_empty() && !self.dead {
            if self.blob_left > 0 {
                let n = self.blob_left.min(bytes.len());
                let (chunk, rest) = bytes.split_at(n);
                if self.blob_keep {
                    if let Some(item) = self.value.items.last_mut() {
                        let room = MAX_ARG_LEN.saturating_sub(item.len()).min(chunk.len());
                        item.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    }
                }
                self.blob_left -= n;
                bytes = rest;
                continue;
            }
            if self.crlf_left > 0 {
                let n = self.crlf_left.min(bytes.len());
                self.crlf_left -= n;
                bytes = bytes.get(n..).unwrap_or_default();
                if self.crlf_left == 0 {
                    self.blob_keep = false;
                    self.element_done(done);
                }
                continue;
            }
            match bytes.iter().position(|&b| b == b'\n') {
                None => {
                    if self.line.len() + bytes.len() > MAX_LINE_LEN {
                        self.dead = true;
                    } else {
                        self.line.extend_from_slice(bytes);
                    }
                    return;
                }
                Some(i) => {
                    if self.line.len() + i > MAX_LINE_LEN {
                        self.dead = true;
                        return;
                    }
                    self.line
                        .extend_from_slice(bytes.get(..i).unwrap_or_default());
                    bytes = bytes.get(i + 1..).unwrap_or_default();
                    let mut line = std::mem::take(&mut self.line);
                    if line.last() == Some(&b'\r') {
                        line.pop();
                    }
                    self.on_line(&line, client, done);
                }
            }
        }
    }

    fn on_line(&mut self, line: &[u8], client: bool, done: &mut Vec<Value>) {
        let top = self.stack.is_empty();
        let Some(&kind) = line.first() else {
            // An empty line between values.
            return;
        };
        if top && client && kind != b'*' {
            // Inline command (Redis docs, "Inline commands").
            let mut v = Value {
                inline: true,
                ..Default::default()
            };
            for word in line
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|w| !w.is_empty())
            {
                v.note_item(word.get(..MAX_ARG_LEN).unwrap_or(word).to_vec());
                v.truncated |= word.len() > MAX_ARG_LEN;
            }
            if v.count > 0 {
                done.push(v);
            }
            return;
        }
        let arg = line.get(1..).unwrap_or_default();
        let num = std::str::from_utf8(arg)
            .ok()
            .and_then(|s| s.parse::<i64>().ok());
        if top {
            let head = line.get(..MAX_MESSAGE_LEN).unwrap_or(line).to_vec();
            self.value.head = Some((kind, head));
        }
        // A direct element of a top-level array is counted and kept.
        let keep = self.stack.len() == 1 && self.value.head.as_ref().is_some_and(|h| h.0 == b'*');
        match kind {
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let Some(n) = num else {
                    self.dead = true;
                    return;
                };
                if keep {
                    self.value.note_item(Vec::new());
                }
                let n = u64::try_from(n).unwrap_or(0);
                let n = if matches!(kind, b'%' | b'|') {
                    n.saturating_mul(2)
                } else {
                    n
                };
                if n == 0 {
                    self.element_done(done);
                } else if self.stack.len() >= MAX_DEPTH {
                    self.dead = true;
                } else {
                    self.stack.push((n, kind == b'|'));
                }
            }
            b'$' | b'=' | b'!' => {
                let Some(n) = num else {
                    self.dead = true;
                    return;
                };
                let kept = keep && self.value.note_item(Vec::new());
                match usize::try_from(n) {
                    Ok(n) => {
                        self.blob_left = n;
                        self.crlf_left = 2;
                        self.blob_keep = kept;
                        if kept && n > MAX_ARG_LEN {
                            self.value.truncated = true;
                        }
                    }
                    // `-1`: null, no bytes follow.
                    Err(_) => self.element_done(done),
                }
            }
            _ => {
                if keep {
                    self.value
                        .note_item(arg.get(..MAX_ARG_LEN).unwrap_or(arg).to_vec());
                }
                self.element_done(done);
            }
        }
    }

    /// One value ended: close the aggregates it completes.
    fn element_done(&mut self, done: &mut Vec<Value>) {
        loop {
            let Some((left, attr)) = self.stack.last_mut() else {
                // A top-level value ended.
                done.push(std::mem::take(&mut self.value));
                return;
            };
            *left -= 1;
            if *left > 0 {
                return;
            }
            let attr = *attr;
            self.stack.pop();
            if attr {
                // An attribute annotates the next value: it is not one.
                if self.stack.is_empty() {
                    self.value = Value::default();
                }
                return;
            }
        }
    }
}

impl Value {
    /// Counts an element; keeps its bytes while under [`MAX_ARGS`] + 1
    /// (the name and the arguments). Returns whether it was kept.
    fn note_item(&mut self, bytes: Vec<u8>) -> bool {
        self.count += 1;
        if self.items.len() <= MAX_ARGS {
            self.items.push(bytes);
            true
        } else {
            self.truncated = true;
            false
        }
    }
}

/// Per-flow Redis parser; see the module documentation.
#[derive(Debug, Default)]
pub struct RedisParser {
    tcp: bool,
    readers: [Reader; 2],
    /// Commands waiting for their reply, oldest first.
    pending: VecDeque<RedisRecord>,
    database: Option<String>,
}

/// Where passwords sit in a command's arguments (after the name, as
/// uppercased words): indexes of arguments to drop and the user's index.
fn secrets(cmd: &str, args: &[Vec<u8>]) -> (Vec<usize>, Option<usize>) {
    let upper = |i: usize| {
        args.get(i)
            .map(|a| String::from_utf8_lossy(a).to_ascii_uppercase())
            .unwrap_or_default()
    };
    match cmd {
        // AUTH password | AUTH username password.
        "AUTH" => {
            let user = (args.len() >= 2).then_some(0);
            ((0..args.len()).filter(|&i| Some(i) != user).collect(), user)
        }
        // HELLO [protover [AUTH username password] [SETNAME name]].
        "HELLO" | "MIGRATE" => {
            let mut drop = Vec::new();
            let mut user = None;
            for i in 0..args.len() {
                match upper(i).as_str() {
                    "AUTH" if cmd == "HELLO" => {
                        user = Some(i + 1);
                        drop.push(i + 2);
                    }
                    // MIGRATE … AUTH password | AUTH2 username password.
                    "AUTH" => drop.push(i + 1),
                    "AUTH2" => {
                        user = Some(i + 1);
                        drop.push(i + 2);
                    }
                    _ => {}
                }
            }
            (drop, user)
        }
        "CONFIG" if upper(0) == "SET" => {
            let drop = (1..args.len())
                .step_by(2)
                .filter(|&i| matches!(upper(i).as_str(), "REQUIREPASS" | "MASTERAUTH"))
                .map(|i| i + 1)
                .collect();
            (drop, None)
        }
        "ACL" if upper(0) == "SETUSER" => {
            let drop = (2..args.len())
                .filter(|&i| {
                    args.get(i)
                        .is_some_and(|a| matches!(a.first(), Some(b'>' | b'#')))
                })
                .collect();
            (drop, None)
        }
        _ => (Vec::new(), None),
    }
}

impl RedisParser {
    /// A client value: queue its command.
    fn command(&mut self, v: Value, out: &mut Vec<AppRecord>) {
        let mut items = v.items.into_iter();
        let name = items.next().unwrap_or_default();
        let args: Vec<Vec<u8>> = items.collect();
        let cmd = text(&name, MAX_ARG_LEN).to_ascii_uppercase();
        let (drop, user) = secrets(&cmd, &args);
        let mut r = RedisRecord {
            command: Some(cmd),
            arg_count: Some(v.count.saturating_sub(1)),
            args_truncated: v.truncated,
            inline: v.inline,
            password_seen: drop.iter().any(|&i| i < v.count.saturating_sub(1) as usize),
            ..Default::default()
        };
        for (i, a) in args.iter().enumerate() {
            if Some(i) == user {
                r.user = Some(text(a, MAX_ARG_LEN));
            }
            if !drop.contains(&i) && r.args.len() < MAX_ARGS {
                r.args.push(text(a, MAX_ARG_LEN));
            }
        }
        if self.pending.len() >= MAX_PENDING {
            if let Some(mut old) = self.pending.pop_front() {
                old.database.clone_from(&self.database);
                out.push(AppRecord::Redis(old));
            }
        }
        self.pending.push_back(r);
    }

    /// A server value: answers the oldest command.
    fn reply(&mut self, v: Value, out: &mut Vec<AppRecord>) {
        let Some((kind, line)) = v.head else {
            return;
        };
        let rest = line.get(1..).unwrap_or_default();
        let t = ReplyType::of(kind);
        let num = std::str::from_utf8(rest)
            .ok()
            .and_then(|s| s.parse::<i64>().ok());
        let reply = match t {
            ReplyType::Bulk | ReplyType::Array | ReplyType::BlobError => RedisReply {
                kind: t,
                value: None,
                length: num,
            },
            _ => RedisReply {
                kind: t,
                value: Some(text(rest, MAX_MESSAGE_LEN)),
                length: None,
            },
        };
        let mut r = self.pending.pop_front().unwrap_or_default();
        let ok = !matches!(t, ReplyType::Error | ReplyType::BlobError);
        r.success = Some(ok);
        if ok && r.command.as_deref() == Some("SELECT") {
            self.database = r.args.first().cloned();
        }
        // Pipelined commands run after the replies before them.
        r.database.clone_from(&self.database);
        r.reply = Some(reply);
        out.push(AppRecord::Redis(r));
    }
}

impl AppParser for RedisParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        let client = dir == Direction::ToServer;
        let mut done = Vec::new();
        self.readers[dir.idx()].feed(bytes, client, &mut done);
        for v in done {
            if client {
                self.command(v, out);
            } else {
                self.reply(v, out);
            }
        }
    }

    fn gap(&mut self, dir: Direction) {
        let r = &mut self.readers[dir.idx()];
        r.dead = true;
        r.line = Vec::new();
        r.value = Value::default();
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        for mut r in self.pending.drain(..) {
            r.database.clone_from(&self.database);
            out.push(AppRecord::Redis(r));
        }
        for r in &mut self.readers {
            r.line = Vec::new();
        }
    }
}
