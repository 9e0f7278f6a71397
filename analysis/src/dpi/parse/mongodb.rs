//! MongoDB wire protocol parser: one [`MongodbTx`] per command and its
//! reply.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - Messages are framed by the standard header (MongoDB Wire Protocol,
//!   "Standard Message Header": little-endian int32 `messageLength`
//!   (16..=48 MB), `requestID`, `responseTo`, `opCode`). Anything else
//!   stops the direction, and so does a gap (no resync marker).
//! - Requests: `OP_MSG` (2013; the kind-0 body section), `OP_QUERY` (2004;
//!   `fullCollectionName` and the query document), and the legacy
//!   `OP_INSERT`/`OP_UPDATE`/`OP_DELETE`/`OP_GET_MORE` (collection name
//!   only). `OP_COMPRESSED` bodies are not decompressed: the record names
//!   the opcode only. Unknown opcodes are `Unknown(n)`.
//! - The command name is the body's first key; `$db` (OP_MSG) or the part
//!   of `fullCollectionName` before the first `.` (OP_QUERY) is the
//!   database; for `find`, `insert`, `update`, `delete`, `aggregate`,
//!   `count`, `distinct`, `findAndModify`, `create`, `drop` the command's
//!   string value is the collection.
//! - Authentication: `saslStart` (mechanism; for `PLAIN` the user and
//!   `password_seen`, for `SCRAM-*` the `n=` user of the client-first
//!   message), `authenticate` (`user`, `mechanism`). A reply to
//!   `saslStart`/`saslContinue`/`authenticate` sets `auth_success`: false
//!   when `ok` is 0, true when `ok` is 1 and the conversation is `done`
//!   (always for `authenticate`), absent while the SASL exchange goes on.
//! - Replies (`OP_REPLY`'s first document, `OP_MSG` body) are matched to
//!   requests by `responseTo`; their `ok`, `errmsg`, `code` fill the
//!   record. A request whose `OP_MSG` has `moreToCome` gets no reply and is
//!   emitted at once; unanswered requests are emitted on `finish`, and a
//!   reply without its request yields a record with the reply only.
//!
//! # Caps
//! [`MAX_MSG`] buffered bytes per direction (a longer message is read from
//! its first [`MAX_MSG`] bytes, the rest skipped by length),
//! [`MAX_PENDING`] outstanding requests (the oldest is emitted
//! unanswered), [`MAX_NAME`] bytes per name, [`MAX_ERRMSG`] per error
//! message, [`bson::MAX_ELEMS`] elements read per document.

use super::lenframe::{text, Framer, Framing, LenParser, Pending, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::{Serialize, Serializer};

pub mod bson;

#[cfg(test)]
#[path = "mongodb/tests.rs"]
mod tests;

/// Bytes buffered per direction (the head of a longer message is read).
pub const MAX_MSG: usize = 64 * 1024;
/// Largest `messageLength` accepted (maxMessageSizeBytes, 48 MB).
pub const MAX_MESSAGE_LEN: usize = 48_000_000;
/// Outstanding requests kept per flow.
pub const MAX_PENDING: usize = 64;
/// Longest name (command, database, collection, user, mechanism).
pub const MAX_NAME: usize = 256;
/// Longest error message kept.
pub const MAX_ERRMSG: usize = 1024;

/// Header length.
const HEADER: usize = 16;

/// A wire protocol opcode (MongoDB Wire Protocol, "Opcodes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// 1: reply to OP_QUERY / OP_GET_MORE (legacy).
    Reply,
    /// 2001 (legacy).
    Update,
    /// 2002 (legacy).
    Insert,
    /// 2004 (legacy; still used for the handshake).
    Query,
    /// 2005 (legacy).
    GetMore,
    /// 2006 (legacy).
    Delete,
    /// 2007 (legacy).
    KillCursors,
    /// 2012: a compressed message.
    Compressed,
    /// 2013: the extensible message format.
    Msg,
    /// Any other value.
    Unknown(u32),
}

impl From<u32> for Opcode {
    fn from(n: u32) -> Self {
        match n {
            1 => Opcode::Reply,
            2001 => Opcode::Update,
            2002 => Opcode::Insert,
            2004 => Opcode::Query,
            2005 => Opcode::GetMore,
            2006 => Opcode::Delete,
            2007 => Opcode::KillCursors,
            2012 => Opcode::Compressed,
            2013 => Opcode::Msg,
            n => Opcode::Unknown(n),
        }
    }
}

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            Opcode::Reply => "OP_REPLY",
            Opcode::Update => "OP_UPDATE",
            Opcode::Insert => "OP_INSERT",
            Opcode::Query => "OP_QUERY",
            Opcode::GetMore => "OP_GET_MORE",
            Opcode::Delete => "OP_DELETE",
            Opcode::KillCursors => "OP_KILL_CURSORS",
            Opcode::Compressed => "OP_COMPRESSED",
            Opcode::Msg => "OP_MSG",
            Opcode::Unknown(n) => return write!(f, "Unknown({n})"),
        };
        f.write_str(s)
    }
}

impl Serialize for Opcode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One MongoDB command and its reply (EVE `mongodb`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MongodbTx {
    /// Request opcode (absent for a reply without its request).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<Opcode>,
    /// `requestID` of the request, or `responseTo` of a lone reply.
    pub request_id: u32,
    /// Command name (the body's first key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Database (`$db`, or the `fullCollectionName` prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Collection the command works on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection: Option<String>,
    /// OP_QUERY on a collection (not `$cmd`): the query's first key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_key: Option<String>,
    /// Authentication mechanism (`saslStart`, `authenticate`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// User name seen in an authentication command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A cleartext password was sent (SASL PLAIN); never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// The reply's `ok` value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<f64>,
    /// The reply's `errmsg` (capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The reply's error `code`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Outcome of an authentication step (see the module docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
    /// The request's message was longer than [`MAX_MSG`] and read in part.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Builds the MongoDB parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    LenParser::boxed(
        tcp,
        State {
            pending: Pending::new(MAX_PENDING),
        },
    )
}

#[derive(Debug)]
struct State {
    pending: Pending<u32, MongodbTx>,
}

impl Framer for State {
    fn frame_len(&self, _dir: Direction, buf: &[u8]) -> Framing {
        let Some(len) = Rd(buf).le32() else {
            return Framing::Need(4);
        };
        let len = len as usize;
        if (HEADER..=MAX_MESSAGE_LEN).contains(&len) {
            Framing::Frame(len)
        } else {
            Framing::Bad
        }
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], truncated: bool, out: &mut Vec<AppRecord>) {
        let mut r = Rd(msg);
        let (Some(_), Some(id), Some(to), Some(op)) = (r.le32(), r.le32(), r.le32(), r.le32())
        else {
            return;
        };
        let op = Opcode::from(op);
        let body = r.0;
        match (dir, op) {
            (Direction::ToServer, _) => {
                let mut tx = request(op, body);
                tx.request_id = id;
                tx.truncated = truncated;
                let more_to_come = op == Opcode::Msg && Rd(body).le32().is_some_and(|f| f & 2 != 0);
                if more_to_come {
                    out.push(AppRecord::Mongodb(tx));
                } else if let Some(old) = self.pending.push(id, tx) {
                    out.push(AppRecord::Mongodb(old));
                }
            }
            (Direction::ToClient, Opcode::Reply | Opcode::Msg) => {
                let mut tx = self.pending.take(&to).unwrap_or(MongodbTx {
                    request_id: to,
                    ..Default::default()
                });
                let doc = if op == Opcode::Reply {
                    // responseFlags, cursorID, startingFrom, numberReturned.
                    body.get(20..)
                } else {
                    msg_body(body)
                };
                if let Some(doc) = doc {
                    reply(&mut tx, doc);
                }
                out.push(AppRecord::Mongodb(tx));
            }
            // Compressed or unknown replies: the request stays pending.
            (Direction::ToClient, _) => {}
        }
    }
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        out.extend(self.pending.drain().map(AppRecord::Mongodb));
    }
}

/// The kind-0 section's document of an OP_MSG body (after `flagBits`);
/// kind-1 sections (int32 size, identifier, documents) are skipped.
fn msg_body(body: &[u8]) -> Option<&[u8]> {
    let mut r = Rd(body);
    r.le32()?;
    for _ in 0..16 {
        match r.u8()? {
            0 => return Some(r.0),
            1 => {
                let n = r.le32()? as usize;
                r.take(n.checked_sub(4)?)?;
            }
            _ => return None,
        }
    }
    None
}

/// Commands whose string value names a collection.
const COLLECTION_COMMANDS: &[&str] = &[
    "find",
    "insert",
    "update",
    "delete",
    "aggregate",
    "count",
    "distinct",
    "findAndModify",
    "findandmodify",
    "create",
    "drop",
    "createIndexes",
    "listIndexes",
];

/// The record of a request (opcode and body after the header).
fn request(op: Opcode, body: &[u8]) -> MongodbTx {
    let mut tx = MongodbTx {
        opcode: Some(op),
        ..Default::default()
    };
    match op {
        Opcode::Msg => {
            if let Some(doc) = msg_body(body) {
                command(&mut tx, doc);
            }
        }
        Opcode::Query => {
            let mut r = Rd(body);
            r.le32();
            let Some(full) = r.cstr() else { return tx };
            let (db, coll) = split_ns(full);
            tx.database = Some(text(db, MAX_NAME));
            if coll == b"$cmd" {
                // numberToSkip, numberToReturn, then the command.
                if let Some(doc) = r.take(8).map(|_| r.0) {
                    command(&mut tx, doc);
                }
            } else {
                tx.collection = Some(text(coll, MAX_NAME));
                tx.command = Some("query".into());
                let first = r.take(8).and_then(|_| bson::elems(r.0).next());
                tx.query_key = first.map(|e| text(e.name, MAX_NAME));
            }
        }
        Opcode::Update | Opcode::Insert | Opcode::GetMore | Opcode::Delete => {
            // int32 (ZERO or flags), then fullCollectionName.
            let mut r = Rd(body);
            r.le32();
            if let Some(full) = r.cstr() {
                let (db, coll) = split_ns(full);
                tx.database = Some(text(db, MAX_NAME));
                tx.collection = Some(text(coll, MAX_NAME));
            }
        }
        _ => {}
    }
    tx
}

/// `db.collection` split at the first dot.
fn split_ns(full: &[u8]) -> (&[u8], &[u8]) {
    match full.iter().position(|&b| b == b'.') {
        Some(i) => (&full[..i], full.get(i + 1..).unwrap_or_default()),
        None => (full, &[]),
    }
}

/// Fills a request record from a command document. A legacy OP_QUERY
/// wrapper `{$query: {...}, $readPreference: ...}` is looked through.
fn command(tx: &mut MongodbTx, mut doc: &[u8]) {
    // One level only: no recursion on nested wrappers.
    if let Some(inner) = bson::elems(doc)
        .next()
        .filter(|e| e.ty == 0x03 && matches!(e.name, b"$query" | b"query"))
    {
        doc = inner.val;
    }
    let mut first = true;
    for e in bson::elems(doc) {
        let name = e.name;
        if first {
            first = false;
            let cmd = text(name, MAX_NAME);
            if COLLECTION_COMMANDS.contains(&cmd.as_str()) {
                tx.collection = e.str().map(|s| text(s, MAX_NAME));
            }
            tx.command = Some(cmd);
            continue;
        }
        match name {
            b"$db" => tx.database = e.str().map(|s| text(s, MAX_NAME)),
            b"mechanism" => tx.mechanism = e.str().map(|s| text(s, MAX_NAME)),
            b"user" => tx.user = e.str().map(|s| text(s, MAX_NAME)),
            b"payload" => {
                if let Some(p) = e.binary() {
                    sasl_payload(tx, p);
                }
            }
            _ => {}
        }
    }
    // `payload` may come before `mechanism`: read it again once known.
    if tx.user.is_none() && tx.command.as_deref() == Some("saslStart") {
        if let Some(p) = bson::elems(doc)
            .find(|e| e.name == b"payload")
            .and_then(|e| e.binary())
        {
            sasl_payload(tx, p);
        }
    }
}

/// User (and cleartext password) of a saslStart payload.
fn sasl_payload(tx: &mut MongodbTx, p: &[u8]) {
    match tx.mechanism.as_deref() {
        // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
        Some("PLAIN") => {
            let mut parts = p.splitn(3, |&b| b == 0);
            let _authzid = parts.next();
            if let (Some(user), Some(pw)) = (parts.next(), parts.next()) {
                tx.user = Some(text(user, MAX_NAME));
                tx.password_seen = !pw.is_empty();
            }
        }
        // RFC 5802 §7: gs2-header "n=" saslname "," "r=" nonce.
        Some(m) if m.starts_with("SCRAM") => {
            let user = p.split(|&b| b == b',').find_map(|a| a.strip_prefix(b"n="));
            tx.user = user.map(|u| text(u, MAX_NAME));
        }
        _ => {}
    }
}

/// Fills a record from a reply document.
fn reply(tx: &mut MongodbTx, doc: &[u8]) {
    let mut done = false;
    for e in bson::elems(doc) {
        match e.name {
            b"ok" => tx.ok = e.f64(),
            b"errmsg" => tx.error = e.str().map(|s| text(s, MAX_ERRMSG)),
            b"code" => tx.code = e.f64().map(|c| c as i64),
            b"done" => done = e.bool().unwrap_or(false),
            _ => {}
        }
    }
    let auth = matches!(
        tx.command.as_deref(),
        Some("saslStart" | "saslContinue" | "authenticate")
    );
    if auth {
        let always_done = tx.command.as_deref() == Some("authenticate");
        tx.auth_success = match tx.ok {
            Some(0.0) => Some(false),
            Some(ok) if ok == 1.0 && (done || always_done) => Some(true),
            _ => None,
        };
    }
}
