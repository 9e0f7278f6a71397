//! Cassandra CQL native protocol parser: one [`CassandraTx`] per request
//! and its response.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - Frames (native_protocol_v4.spec §2): `version` (0x01-0x05 requests,
//!   0x81-0x85 responses), `flags`, `stream` (int16 from v3, a byte
//!   before), `opcode`, int32 `length`, body. A frame with the wrong
//!   direction bit or version, or a length over 256 MiB (§2.5), stops the
//!   direction; so does a gap. Protocol v5's segment framing, used after
//!   the handshake (native_protocol_v5.spec §2), is not read: it stops the
//!   direction.
//! - Compressed bodies (flag 0x01) are not parsed: the record names the
//!   opcode only. Response bodies' tracing id (0x02), warnings (0x08) and
//!   custom payload (0x04) prefixes are skipped (§2.2).
//! - Requests: STARTUP (`CQL_VERSION`, `COMPRESSION`), QUERY and PREPARE
//!   (query string), EXECUTE (prepared id, hex), BATCH (first query),
//!   AUTH_RESPONSE (for the PasswordAuthenticator's SASL PLAIN token, RFC
//!   4616: user and `password_seen`). Unknown opcodes are `Unknown(n)`.
//! - Responses are matched by stream id: ERROR (`error_code`,
//!   `error_message`), RESULT (`result_kind`, and the keyspace of a
//!   Set_keyspace), AUTHENTICATE (authenticator class), READY,
//!   AUTH_SUCCESS. A reply to AUTH_RESPONSE sets `auth_success`
//!   (AUTH_SUCCESS true, ERROR false). Server EVENTs (stream -1) and
//!   responses without a request are dropped; unanswered requests are
//!   emitted on `finish`.
//!
//! # Caps
//! [`MAX_MSG`] buffered bytes per direction (longer frames read from their
//! head), [`MAX_PENDING`] outstanding requests, [`MAX_QUERY`] bytes of
//! query text (`query_truncated`), [`MAX_NAME`] per name or message.

use super::lenframe::{cut, text, Framer, Framing, LenParser, Pending, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::{Serialize, Serializer};

#[cfg(test)]
#[path = "cassandra/tests.rs"]
mod tests;

/// Bytes buffered per direction.
pub const MAX_MSG: usize = 64 * 1024;
/// Largest frame body (native_protocol_v4.spec §2.5: 256 MB).
pub const MAX_BODY: usize = 256 * 1024 * 1024;
/// Outstanding requests kept per flow.
pub const MAX_PENDING: usize = 64;
/// Longest query text kept.
pub const MAX_QUERY: usize = 4096;
/// Longest name or error message kept.
pub const MAX_NAME: usize = 256;

/// A CQL opcode (native_protocol_v4.spec §2.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// 0x00
    Error,
    /// 0x01
    Startup,
    /// 0x02
    Ready,
    /// 0x03
    Authenticate,
    /// 0x05
    Options,
    /// 0x06
    Supported,
    /// 0x07
    Query,
    /// 0x08
    Result,
    /// 0x09
    Prepare,
    /// 0x0A
    Execute,
    /// 0x0B
    Register,
    /// 0x0C
    Event,
    /// 0x0D
    Batch,
    /// 0x0E
    AuthChallenge,
    /// 0x0F
    AuthResponse,
    /// 0x10
    AuthSuccess,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for Opcode {
    fn from(n: u8) -> Self {
        use Opcode::*;
        match n {
            0x00 => Error,
            0x01 => Startup,
            0x02 => Ready,
            0x03 => Authenticate,
            0x05 => Options,
            0x06 => Supported,
            0x07 => Query,
            0x08 => Result,
            0x09 => Prepare,
            0x0A => Execute,
            0x0B => Register,
            0x0C => Event,
            0x0D => Batch,
            0x0E => AuthChallenge,
            0x0F => AuthResponse,
            0x10 => AuthSuccess,
            n => Unknown(n),
        }
    }
}

impl std::fmt::Display for Opcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use Opcode::*;
        f.write_str(match self {
            Error => "ERROR",
            Startup => "STARTUP",
            Ready => "READY",
            Authenticate => "AUTHENTICATE",
            Options => "OPTIONS",
            Supported => "SUPPORTED",
            Query => "QUERY",
            Result => "RESULT",
            Prepare => "PREPARE",
            Execute => "EXECUTE",
            Register => "REGISTER",
            Event => "EVENT",
            Batch => "BATCH",
            AuthChallenge => "AUTH_CHALLENGE",
            AuthResponse => "AUTH_RESPONSE",
            AuthSuccess => "AUTH_SUCCESS",
            Unknown(n) => return write!(f, "Unknown({n})"),
        })
    }
}

impl Serialize for Opcode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One CQL request and its response (EVE `cassandra`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CassandraTx {
    /// Protocol version of the request.
    pub version: u8,
    /// Stream id.
    pub stream: i16,
    /// Request opcode.
    pub opcode: Opcode,
    /// STARTUP's `CQL_VERSION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cql_version: Option<String>,
    /// STARTUP's `COMPRESSION`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// The request body was compressed and not read.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub compressed: bool,
    /// QUERY / PREPARE / first BATCH query text (capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The query was longer than [`MAX_QUERY`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub query_truncated: bool,
    /// EXECUTE's prepared statement id (hex, first 32 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared_id: Option<String>,
    /// User of a PLAIN AUTH_RESPONSE token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A cleartext password was sent; never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// Response opcode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Opcode>,
    /// AUTHENTICATE's authenticator class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authenticator: Option<String>,
    /// RESULT kind (1 Void, 2 Rows, 3 Set_keyspace, 4 Prepared,
    /// 5 Schema_change).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_kind: Option<u32>,
    /// Set_keyspace's keyspace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keyspace: Option<String>,
    /// ERROR code (§9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u32>,
    /// ERROR message (capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Outcome of an AUTH_RESPONSE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
}

/// Builds the Cassandra parser; UDP flows get one that ignores its input.
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
    pending: Pending<i16, CassandraTx>,
}

/// Header length for a version byte (v1/v2: one-byte stream).
fn header_len(version: u8) -> usize {
    if version & 0x7f < 3 {
        8
    } else {
        9
    }
}

impl Framer for State {
    fn frame_len(&self, dir: Direction, buf: &[u8]) -> Framing {
        let Some(&v) = buf.first() else {
            return Framing::Need(1);
        };
        let response = dir == Direction::ToClient;
        if (v & 0x80 != 0) != response || !(1..=5).contains(&(v & 0x7f)) {
            return Framing::Bad;
        }
        let h = header_len(v);
        let Some(len) = buf.get(h - 4..h).and_then(|b| Rd(b).be32()) else {
            return Framing::Need(h);
        };
        if len as usize > MAX_BODY {
            return Framing::Bad;
        }
        Framing::Frame(h + len as usize)
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], _truncated: bool, out: &mut Vec<AppRecord>) {
        let mut r = Rd(msg);
        let (Some(v), Some(flags)) = (r.u8(), r.u8()) else {
            return;
        };
        let stream = if header_len(v) == 8 {
            r.u8().map(|s| i16::from(s as i8))
        } else {
            r.be16().map(|s| s as i16)
        };
        let (Some(stream), Some(op), Some(_len)) = (stream, r.u8(), r.be32()) else {
            return;
        };
        let op = Opcode::from(op);
        let compressed = flags & 0x01 != 0;
        if dir == Direction::ToServer {
            let mut tx = CassandraTx {
                version: v,
                stream,
                opcode: op,
                cql_version: None,
                compression: None,
                compressed,
                query: None,
                query_truncated: false,
                prepared_id: None,
                user: None,
                password_seen: false,
                response: None,
                authenticator: None,
                result_kind: None,
                keyspace: None,
                error_code: None,
                error_message: None,
                auth_success: None,
            };
            if !compressed {
                request(&mut tx, r);
            }
            if let Some(old) = self.pending.push(stream, tx) {
                out.push(AppRecord::Cassandra(old));
            }
        } else if let Some(mut tx) = self.pending.take(&stream) {
            tx.response = Some(op);
            if !compressed {
                response(&mut tx, flags, op, r);
            }
            out.push(AppRecord::Cassandra(tx));
        }
    }
}

/// Fills a request record from its body.
fn request(tx: &mut CassandraTx, mut r: Rd<'_>) -> Option<()> {
    match tx.opcode {
        Opcode::Startup => {
            // [string map]: [short] n, then n ([string] key, [string] value).
            for _ in 0..r.be16()?.min(32) {
                let (k, val) = (r.str16()?, r.str16()?);
                match k {
                    b"CQL_VERSION" => tx.cql_version = Some(text(val, MAX_NAME)),
                    b"COMPRESSION" => tx.compression = Some(text(val, MAX_NAME)),
                    _ => {}
                }
            }
        }
        Opcode::Query | Opcode::Prepare => query(tx, r.str32()?),
        Opcode::Execute => {
            let id = r.str16()?;
            let hex: String = id.iter().take(32).map(|b| format!("{b:02x}")).collect();
            tx.prepared_id = Some(hex);
        }
        Opcode::Batch => {
            // type, [short] n, then per query a kind byte: 0 = [long
            // string] query, 1 = [short bytes] prepared id.
            r.u8()?;
            r.be16()?;
            match r.u8()? {
                0 => query(tx, r.str32()?),
                _ => {
                    tx.prepared_id = r
                        .str16()
                        .map(|id| id.iter().take(32).map(|b| format!("{b:02x}")).collect())
                }
            }
        }
        Opcode::AuthResponse => {
            // [bytes] token; PasswordAuthenticator: SASL PLAIN.
            let token = r.str32()?;
            let mut parts = token.splitn(3, |&b| b == 0);
            let _authzid = parts.next();
            if let (Some(user), Some(pw)) = (parts.next(), parts.next()) {
                tx.user = Some(text(user, MAX_NAME));
                tx.password_seen = !pw.is_empty();
            }
        }
        _ => {}
    }
    Some(())
}

fn query(tx: &mut CassandraTx, q: &[u8]) {
    let (q, t) = cut(q, MAX_QUERY);
    tx.query = Some(q);
    tx.query_truncated = t;
}

/// Fills a record from a response body.
fn response(tx: &mut CassandraTx, flags: u8, op: Opcode, mut r: Rd<'_>) -> Option<()> {
    // §2.2: tracing id, then warnings ([string list]), then custom
    // payload ([bytes map]) precede the body.
    if flags & 0x02 != 0 {
        r.take(16)?;
    }
    if flags & 0x08 != 0 {
        for _ in 0..r.be16()? {
            r.str16()?;
        }
    }
    if flags & 0x04 != 0 {
        for _ in 0..r.be16()? {
            r.str16()?;
            r.str32()?;
        }
    }
    match op {
        Opcode::Error => {
            tx.error_code = r.be32();
            tx.error_message = r.str16().map(|m| text(m, MAX_NAME));
        }
        Opcode::Result => {
            let kind = r.be32()?;
            tx.result_kind = Some(kind);
            if kind == 3 {
                tx.keyspace = r.str16().map(|k| text(k, MAX_NAME));
            }
        }
        Opcode::Authenticate => tx.authenticator = r.str16().map(|a| text(a, MAX_NAME)),
        _ => {}
    }
    if tx.opcode == Opcode::AuthResponse {
        tx.auth_success = match op {
            Opcode::AuthSuccess => Some(true),
            Opcode::Error => Some(false),
            _ => None,
        };
    }
    Some(())
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        out.extend(self.pending.drain().map(AppRecord::Cassandra));
    }
}
