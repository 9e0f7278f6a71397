//! Microsoft SQL Server TDS parser (smaller scope): the PRELOGIN
//! exchange, LOGIN7 and its outcome (one `login` record), then one
//! `command` record per SQL batch / RPC / attention with its result.
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Framing (MS-TDS §2.2.3.1): 8-byte packet header `type`, `status`
//!   (0x01 end of message), `uint16 BE length` (header included), SPID,
//!   packet id, window. A message is the payloads of its packets up to the
//!   end-of-message one, kept up to [`MAX_MESSAGE`] bytes (the rest is
//!   counted, not kept; the last [`TAIL`] bytes are always kept for the
//!   final DONE token). TLS records (content type 0x14–0x17, version 3.x)
//!   seen where a packet header is expected are skipped by their length:
//!   with `ENCRYPT_OFF` on both sides only the LOGIN7 travels in TLS
//!   (§2.2.6.5, "ENCRYPTION"), the rest is clear.
//! - PRELOGIN (§2.2.6.5): VERSION and ENCRYPTION options of both sides.
//!   When the server's answer means the whole connection is encrypted
//!   (`ENCRYPT_ON`, `ENCRYPT_REQ`, or `ENCRYPT_OFF` against a client's
//!   `ON`/`REQ`), the `login` record is emitted with `"tls": true` and the
//!   parser stops.
//! - LOGIN7 (§2.2.6.4): host, user, application, server, library and
//!   database names (UTF-16LE); `password_seen` when the (obfuscated)
//!   password is non-empty; the password is never decoded. `sspi` marks
//!   integrated (SSPI) authentication.
//! - Server token stream (§2.2.7): read from the start through the tokens
//!   whose length is known without column metadata: ERROR (0xAA, first
//!   one kept), INFO, LOGINACK (0xAD: login success), ENVCHANGE (0xE3:
//!   database changes), DONE / DONEPROC / DONEINPROC, RETURNSTATUS, …; it
//!   stops at COLMETADATA (0x81) or an unknown token. The message's final
//!   DONE token (its last 13 bytes) gives the row count and the error
//!   bit. The login outcome is LOGINACK (success) or ERROR (failure).
//! - Client messages after login: SQL batch (0x01, text after
//!   ALL_HEADERS, §2.2.6.7), RPC (0x03, procedure name or well-known id,
//!   §2.2.6.6), attention (0x06), others by type. A command record is
//!   emitted at the server's answer, at the next command or at
//!   [`AppParser::finish`].
//! - [`AppParser::gap`] stops the direction.
//!
//! # Record (`event_type` `tds`)
//! ```json
//! {"type":"login","user":"sa","database":"master","hostname":"WS01",
//!  "app_name":"sqlcmd","server_name":"db01","library":"ODBC",
//!  "encryption":"not_supported","server_version":"15.0.2000",
//!  "password_seen":true,"success":false,
//!  "error":{"number":18456,"state":1,"class":14,
//!   "message":"Login failed for user 'sa'."}}
//! {"type":"command","user":"sa","database":"master","command":"sql_batch",
//!  "packet_type":1,"query":"SELECT 1","success":true,"rows":1}
//! ```
//! Common fields for detection: `query` (SQL batch text), `procedure`
//! (RPC), `user`, `database` (LOGIN7's, then ENVCHANGE's), `success` and
//! `error` (on `login`: the auth outcome).
//!
//! # Caps
//! [`MAX_MESSAGE`] bytes per message, queries [`MAX_QUERY_LEN`] bytes of
//! UTF-8, names [`MAX_NAME_LEN`], messages [`MAX_MESSAGE_LEN`].

use serde::{Serialize, Serializer};

use super::sqlwire::{capped, is_false, Framer, Next};
use super::sqlwire::{MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_QUERY_LEN};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

#[cfg(test)]
#[path = "tds/tests.rs"]
mod tests;

/// Bytes kept of one message (the rest is counted).
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Bytes of a message's end always kept (a DONE token).
pub const TAIL: usize = 13;

/// Packet types (MS-TDS §2.2.3.1.1).
const SQL_BATCH: u8 = 0x01;
const RPC: u8 = 0x03;
const TABULAR: u8 = 0x04;
const LOGIN7: u8 = 0x10;
const PRELOGIN: u8 = 0x12;

/// A client message type (MS-TDS §2.2.3.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TdsCommand {
    /// 0x01 SQL batch.
    SqlBatch,
    /// 0x03 RPC.
    Rpc,
    /// 0x06 attention (cancel).
    Attention,
    /// 0x07 bulk load data.
    BulkLoad,
    /// 0x0E transaction manager request.
    TransactionManager,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for TdsCommand {
    fn from(b: u8) -> Self {
        match b {
            SQL_BATCH => TdsCommand::SqlBatch,
            RPC => TdsCommand::Rpc,
            0x06 => TdsCommand::Attention,
            0x07 => TdsCommand::BulkLoad,
            0x0e => TdsCommand::TransactionManager,
            n => TdsCommand::Unknown(n),
        }
    }
}

impl TdsCommand {
    /// Snake-case name (`sql_batch`, …, `unknown`).
    pub fn name(self) -> &'static str {
        match self {
            TdsCommand::SqlBatch => "sql_batch",
            TdsCommand::Rpc => "rpc",
            TdsCommand::Attention => "attention",
            TdsCommand::BulkLoad => "bulk_load",
            TdsCommand::TransactionManager => "transaction_manager",
            TdsCommand::Unknown(_) => "unknown",
        }
    }
}

impl Serialize for TdsCommand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TdsKind {
    /// PRELOGIN, LOGIN7 and the outcome.
    #[default]
    Login,
    /// One client message and its result.
    Command,
}

/// An ERROR token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TdsError {
    /// Error number (18456: login failed).
    pub number: u32,
    /// State.
    pub state: u8,
    /// Class (severity).
    pub class: u8,
    /// Message text (capped).
    pub message: String,
}

/// One TDS record (`event_type` `tds`); see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TdsRecord {
    /// `login` or `command`.
    #[serde(rename = "type")]
    pub kind: TdsKind,
    /// LOGIN7 user name (empty with SSPI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Current database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// LOGIN7 client host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// LOGIN7 application name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_name: Option<String>,
    /// LOGIN7 server name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// LOGIN7 client library name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
    /// Server's PRELOGIN ENCRYPTION option: `off`, `on`,
    /// `not_supported`, `required`, or `unknown`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<&'static str>,
    /// Server version (PRELOGIN VERSION `major.minor.build`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// The connection is encrypted after PRELOGIN: nothing more is read.
    #[serde(skip_serializing_if = "is_false")]
    pub tls: bool,
    /// The LOGIN7 itself travelled in TLS (`ENCRYPT_OFF`): names unseen.
    #[serde(skip_serializing_if = "is_false")]
    pub login_encrypted: bool,
    /// LOGIN7 carried a password (never decoded).
    #[serde(skip_serializing_if = "is_false")]
    pub password_seen: bool,
    /// LOGIN7 carried SSPI (integrated) authentication data.
    #[serde(skip_serializing_if = "is_false")]
    pub sspi: bool,
    /// Client message type (command records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<TdsCommand>,
    /// Its packet type byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packet_type: Option<u8>,
    /// SQL batch text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `query` was cut.
    #[serde(skip_serializing_if = "is_false")]
    pub query_truncated: bool,
    /// RPC procedure name, or `proc_id:<n>` for a well-known id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procedure: Option<String>,
    /// LOGINACK / no error (true) or ERROR (false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Row count of the final DONE token, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// First ERROR token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<TdsError>,
}

/// Builds the TDS parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(TdsParser {
        tcp,
        ..Default::default()
    })
}

/// A message being assembled from packets.
#[derive(Debug, Default)]
struct Msg {
    kind: u8,
    body: Vec<u8>,
    /// Bytes beyond [`MAX_MESSAGE`].
    dropped: usize,
    /// Last [`TAIL`] bytes.
    tail: Vec<u8>,
}

/// Per-direction state.
#[derive(Debug, Default)]
struct Dir {
    framer: Framer,
    msg: Option<Msg>,
    dead: bool,
}

/// Per-flow TDS parser; see the module documentation.
#[derive(Debug, Default)]
pub struct TdsParser {
    tcp: bool,
    dirs: [Dir; 2],
    /// Client's PRELOGIN ENCRYPTION option.
    client_enc: Option<u8>,
    /// The login record until its outcome.
    login: Option<TdsRecord>,
    /// Login finished.
    logged_in: bool,
    /// Encrypted: nothing more is read.
    done: bool,
    user: Option<String>,
    database: Option<String>,
    pending: Option<TdsRecord>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|x| u16::from_le_bytes([x[0], x[1]]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// UTF-16LE text (lossy), cut at `cap` bytes of UTF-8; `more` says the
/// bytes were already cut.
fn utf16(b: &[u8], cap: usize, more: bool) -> (String, bool) {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .take(cap)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16_lossy(&units);
    capped(s.as_bytes(), cap, more || b.len() / 2 > cap)
}

/// A LOGIN7 `ib`/`cch` pair at `at`: the UTF-16 string it points to.
fn login_field(m: &[u8], at: usize) -> Option<String> {
    let off = usize::from(le16(m, at)?);
    let chars = usize::from(le16(m, at + 2)?);
    if chars == 0 {
        return None;
    }
    let bytes = m.get(off..off + chars * 2)?;
    Some(utf16(bytes, MAX_NAME_LEN, false).0)
}

/// Name of a PRELOGIN ENCRYPTION value (§2.2.6.5).
fn encryption_name(v: u8) -> &'static str {
    match v {
        0 => "off",
        1 => "on",
        2 => "not_supported",
        3 => "required",
        _ => "unknown",
    }
}

/// PRELOGIN options: (VERSION as `major.minor.build`, ENCRYPTION).
fn prelogin(m: &[u8]) -> (Option<String>, Option<u8>) {
    let (mut version, mut enc) = (None, None);
    let mut at = 0;
    // Each option: token, offset (BE), length (BE); 0xFF ends the list.
    while let Some(&token) = m.get(at) {
        if token == 0xff || at > 5 * 16 {
            break;
        }
        let Some(h) = m.get(at + 1..at + 5) else {
            break;
        };
        let off = usize::from(u16::from_be_bytes([h[0], h[1]]));
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let data = m.get(off..off + len).unwrap_or_default();
        match token {
            0x00 if data.len() >= 4 => {
                let build = u16::from_be_bytes([data[2], data[3]]);
                version = Some(format!("{}.{}.{build}", data[0], data[1]));
            }
            0x01 => enc = data.first().copied(),
            _ => {}
        }
        at += 5;
    }
    (version, enc)
}

/// What a token stream says.
#[derive(Debug, Default)]
struct Tokens {
    loginack: bool,
    error: Option<TdsError>,
    database: Option<String>,
}

/// Reads the tokens of a tabular result up to the first one whose length
/// needs column metadata (§2.2.7).
fn tokens(m: &[u8]) -> Tokens {
    let mut t = Tokens::default();
    let mut at = 0;
    while let Some(&token) = m.get(at) {
        let len = match token {
            // Tokens with a u16 length.
            0xaa | 0xab | 0xad | 0xe3 | 0xa9 | 0xa4 | 0xa5 | 0xed => {
                let Some(n) = le16(m, at + 1) else { break };
                let body = m.get(at + 3..at + 3 + usize::from(n)).unwrap_or_default();
                match token {
                    0xaa if t.error.is_none() => t.error = Some(error_token(body)),
                    0xad => t.loginack = true,
                    // ENVCHANGE type 1: database (new B_VARCHAR first).
                    0xe3 if body.first() == Some(&1) => {
                        let chars = usize::from(body.get(1).copied().unwrap_or(0));
                        let name = body.get(2..2 + chars * 2).unwrap_or_default();
                        t.database = Some(utf16(name, MAX_NAME_LEN, false).0);
                    }
                    _ => {}
                }
                3 + usize::from(n)
            }
            // DONE, DONEPROC, DONEINPROC (TDS 7.2+: 12 bytes).
            0xfd..=0xff => 13,
            // RETURNSTATUS.
            0x79 => 5,
            _ => break,
        };
        at += len;
    }
    t
}

/// An ERROR token body (after its length): number, state, class,
/// US_VARCHAR message.
fn error_token(b: &[u8]) -> TdsError {
    let chars = usize::from(le16(b, 6).unwrap_or(0));
    let text = b.get(8..8 + chars * 2).unwrap_or_default();
    TdsError {
        number: le32(b, 0).unwrap_or(0),
        state: b.get(4).copied().unwrap_or(0),
        class: b.get(5).copied().unwrap_or(0),
        message: utf16(text, MAX_MESSAGE_LEN, false).0,
    }
}

/// The final DONE token of a message's tail: (error bit, row count).
fn final_done(tail: &[u8]) -> Option<(bool, Option<u64>)> {
    if tail.len() < TAIL || !matches!(tail.first(), Some(0xfd..=0xff)) {
        return None;
    }
    let status = le16(tail, 1)?;
    let rows = tail
        .get(5..13)
        .map(|b| u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]));
    Some((status & 0x02 != 0, rows.filter(|_| status & 0x10 != 0)))
}

impl TdsParser {
    fn record(&self, kind: TdsKind) -> TdsRecord {
        TdsRecord {
            kind,
            user: self.user.clone(),
            database: self.database.clone(),
            ..Default::default()
        }
    }

    fn emit_login(&mut self, out: &mut Vec<AppRecord>) {
        if let Some(r) = self.login.take() {
            out.push(AppRecord::Tds(r));
        }
    }

    fn emit_pending(&mut self, out: &mut Vec<AppRecord>) {
        if let Some(r) = self.pending.take() {
            out.push(AppRecord::Tds(r));
        }
    }

    /// One whole client message.
    fn client(&mut self, m: Msg, out: &mut Vec<AppRecord>) {
        match m.kind {
            // The first PRELOGIN: the client's options.
            PRELOGIN if !self.logged_in && self.client_enc.is_none() => {
                self.client_enc = prelogin(&m.body).1.or(Some(0xff));
            }
            // Later PRELOGIN packets carry the TLS handshake.
            PRELOGIN if !self.logged_in => {}
            LOGIN7 => self.login7(&m.body),
            kind if self.logged_in || self.login.is_none() => {
                self.emit_pending(out);
                let cmd = TdsCommand::from(kind);
                let mut r = self.record(TdsKind::Command);
                r.command = Some(cmd);
                r.packet_type = Some(kind);
                let body = skip_all_headers(&m.body);
                match cmd {
                    TdsCommand::SqlBatch => {
                        let (q, cut) = utf16(body, MAX_QUERY_LEN, m.dropped > 0);
                        r.query = Some(q);
                        r.query_truncated = cut;
                    }
                    TdsCommand::Rpc => r.procedure = rpc_name(body),
                    _ => {}
                }
                self.pending = Some(r);
            }
            _ => {}
        }
    }

    fn login7(&mut self, m: &[u8]) {
        let mut login = self
            .login
            .take()
            .unwrap_or_else(|| self.record(TdsKind::Login));
        login.login_encrypted = false;
        self.user = login_field(m, 40);
        self.database = login_field(m, 68);
        login.user.clone_from(&self.user);
        login.database.clone_from(&self.database);
        login.hostname = login_field(m, 36);
        login.app_name = login_field(m, 48);
        login.server_name = login_field(m, 52);
        login.library = login_field(m, 60);
        login.password_seen = le16(m, 46).is_some_and(|n| n > 0);
        login.sspi = le16(m, 80).is_some_and(|n| n > 0);
        self.login = Some(login);
    }

    /// One whole server message.
    fn server(&mut self, m: Msg, out: &mut Vec<AppRecord>) {
        if m.kind != TABULAR {
            return;
        }
        if !self.logged_in && self.login.as_ref().is_none_or(|l| l.encryption.is_none()) {
            if let Some(enc) = self.client_enc {
                return self.prelogin_answer(&m.body, enc, out);
            }
        }
        let t = tokens(&m.body);
        let done = final_done(&m.tail);
        if !self.logged_in {
            if !t.loginack && t.error.is_none() {
                return;
            }
            if let Some(db) = &t.database {
                self.database = Some(db.clone());
            }
            let mut login = self
                .login
                .take()
                .unwrap_or_else(|| self.record(TdsKind::Login));
            login.success = Some(t.loginack);
            login.error = t.error;
            login.database.clone_from(&self.database);
            self.login = Some(login);
            self.logged_in = true;
            self.emit_login(out);
            return;
        }
        if let Some(db) = t.database {
            self.database = Some(db);
        }
        if let Some(r) = &mut self.pending {
            let failed = t.error.is_some() || done.is_some_and(|d| d.0);
            r.success = Some(!failed);
            r.error = t.error;
            r.rows = done.and_then(|d| d.1);
            self.emit_pending(out);
        }
    }

    /// The server's PRELOGIN answer: decides whether the rest is readable.
    fn prelogin_answer(&mut self, m: &[u8], client_enc: u8, out: &mut Vec<AppRecord>) {
        let (version, enc) = prelogin(m);
        let mut login = self.record(TdsKind::Login);
        let enc = enc.unwrap_or(0xff);
        login.encryption = Some(encryption_name(enc));
        login.server_version = version;
        // §2.2.6.5: OFF/OFF encrypts the login only; NOT_SUP anywhere
        // means no TLS; every other pair encrypts everything.
        let full = match (client_enc, enc) {
            (2, _) | (_, 2) => false,
            (0, 0) => {
                login.login_encrypted = true;
                false
            }
            (0..=3, 0..=3) => true,
            _ => false,
        };
        login.tls = full;
        self.login = Some(login);
        if full {
            self.done = true;
            self.emit_login(out);
        }
    }
}

/// A SQL batch / RPC body after its ALL_HEADERS (TDS 7.2+, §2.2.5.3):
/// a u32 LE total length (itself included) that fits the message. Older
/// clients send none; UTF-16 text never reads as such a small length.
fn skip_all_headers(b: &[u8]) -> &[u8] {
    match le32(b, 0).map(|n| n as usize) {
        Some(n) if (4..=b.len()).contains(&n) && n < 0x1_0000 => b.get(n..).unwrap_or_default(),
        _ => b,
    }
}

/// RPC procedure: `NameLenProcID` u16 then the UTF-16 name, or 0xFFFF
/// then a well-known ProcID (§2.2.6.6).
fn rpc_name(b: &[u8]) -> Option<String> {
    let n = le16(b, 0)?;
    if n == 0xffff {
        let id = le16(b, 2)?;
        let name = match id {
            1 => "sp_cursor",
            2 => "sp_cursoropen",
            3 => "sp_cursorprepare",
            4 => "sp_cursorexecute",
            5 => "sp_cursorprepexec",
            6 => "sp_cursorunprepare",
            7 => "sp_cursorfetch",
            8 => "sp_cursoroption",
            9 => "sp_cursorclose",
            10 => "sp_executesql",
            11 => "sp_prepare",
            12 => "sp_execute",
            13 => "sp_prepexec",
            14 => "sp_prepexecrpc",
            15 => "sp_unprepare",
            _ => return Some(format!("proc_id:{id}")),
        };
        return Some(name.into());
    }
    let bytes = b.get(2..2 + usize::from(n) * 2)?;
    Some(utf16(bytes, MAX_NAME_LEN, false).0)
}

impl AppParser for TdsParser {
    fn data(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        let i = dir.idx();
        while !self.done && !self.dirs[i].dead {
            let d = &mut self.dirs[i];
            // A TLS record (type 0x14-0x17, version 3.x) or a TDS packet:
            // both lengths are in the first five bytes.
            let next = d.framer.next(&mut bytes, 5, 8 + MAX_MESSAGE, |h| {
                if (0x14..=0x17).contains(&h[0]) && h[1] == 3 {
                    Some(5 + usize::from(u16::from_be_bytes([h[3], h[4]])))
                } else {
                    let n = usize::from(u16::from_be_bytes([h[2], h[3]]));
                    (n >= 8).then_some(n)
                }
            });
            let (packet, _) = match next {
                Next::NeedMore => return,
                Next::Bad => {
                    d.dead = true;
                    return;
                }
                Next::Msg { prefix, total } => (prefix, total),
            };
            let kind = packet.first().copied().unwrap_or(0);
            if (0x14..=0x17).contains(&kind) && packet.get(1) == Some(&3) {
                continue;
            }
            let eom = packet.get(1).is_some_and(|s| s & 0x01 != 0);
            let payload = packet.get(8..).unwrap_or_default();
            let msg = d.msg.get_or_insert_with(|| Msg {
                kind,
                ..Default::default()
            });
            let room = MAX_MESSAGE
                .saturating_sub(msg.body.len())
                .min(payload.len());
            msg.body
                .extend_from_slice(payload.get(..room).unwrap_or_default());
            msg.dropped = msg.dropped.saturating_add(payload.len() - room);
            msg.tail.extend_from_slice(payload);
            let cut = msg.tail.len().saturating_sub(TAIL);
            msg.tail.drain(..cut);
            if eom {
                let Some(m) = d.msg.take() else { continue };
                if dir == Direction::ToServer {
                    self.client(m, out);
                } else {
                    self.server(m, out);
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction) {
        let d = &mut self.dirs[dir.idx()];
        d.dead = true;
        d.framer.reset();
        d.msg = None;
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        self.emit_login(out);
        self.emit_pending(out);
        for d in &mut self.dirs {
            d.framer.reset();
            d.msg = None;
        }
    }
}
