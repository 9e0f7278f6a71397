//! MySQL / MariaDB client/server protocol parser: one `login` record per
//! connection and one `command` record per client command with its result.
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Framing (MySQL "Protocol Basics: MySQL Packets"): `int<3>
//!   payload_length`, `int<1> sequence_id`, payload. A payload of exactly
//!   `0xFFFFFF` bytes is continued by the next packet; continuation packets
//!   are skipped (only the first packet of a message is read). A packet is
//!   read from its first [`MAX_PACKET_PREFIX`] bytes, the rest is skipped by
//!   length, so at most that much is buffered per direction.
//! - Connection phase: the server greeting (HandshakeV10, protocol 10; or
//!   an ERR packet refusing the connection), the client's
//!   HandshakeResponse41 (or HandshakeResponse320 without
//!   `CLIENT_PROTOCOL_41`), then auth switch / more-data exchanges until
//!   the server's OK (success) or ERR (failure). That outcome emits the
//!   `login` record. An SSLRequest (a handshake response with
//!   `CLIENT_SSL`) emits the `login` record with `"tls": true` and stops
//!   the parser: the rest is encrypted.
//! - Command phase: a client packet with sequence id 0 starts a command;
//!   the server's packets answer it: OK (affected rows), ERR, or (for
//!   COM_QUERY / COM_STMT_EXECUTE) a result set whose column count and
//!   rows are counted up to the terminating EOF/OK (with
//!   `CLIENT_DEPRECATE_EOF` when both sides set it; more result sets
//!   follow while `SERVER_MORE_RESULTS_EXISTS` is set). The `command`
//!   record is emitted when its answer is complete, else when the next
//!   command starts or at [`AppParser::finish`]. Commands whose answer is
//!   neither OK nor ERR nor a result set are emitted at their first answer
//!   packet with `success: true`.
//! - When both sides set `CLIENT_COMPRESS`, the `login` record says
//!   `"compressed": true` and nothing after it is read (compressed packets
//!   have their own 7-byte header).
//! - [`AppParser::gap`] stops the direction (the framing cannot be found
//!   again): pending records are emitted at `finish`.
//! - Never logged: passwords or auth responses; `password_seen` says a
//!   non-empty auth response was sent.
//!
//! # Record (`event_type` `mysql`)
//! ```json
//! {"type":"login","user":"tfoerste","database":"test",
//!  "protocol_version":10,"server_version":"5.0.54","connection_id":94,
//!  "auth_plugin":"mysql_native_password","password_seen":true,
//!  "success":true}
//! {"type":"command","user":"tfoerste","database":"test",
//!  "command":"query","command_code":3,"query":"select * from foo",
//!  "success":true,"columns":3,"rows":2}
//! {"type":"command","command":"query","command_code":3,"query":"…",
//!  "success":false,"error":{"code":1146,"sqlstate":"42S02",
//!  "message":"Table 'test.x' doesn't exist"}}
//! ```
//! Common fields for detection: `query` (COM_QUERY / COM_STMT_PREPARE
//! text; COM_INIT_DB's database name), `user`, `database` (the current one:
//! the login's, changed by a successful COM_INIT_DB), `success` and
//! `error` (on `login`: the auth outcome). `command` is Zeek's name
//! (`query`, `init_db`, `quit`, …) or `unknown` with `command_code`.
//!
//! # Caps
//! [`MAX_PACKET_PREFIX`] bytes read per packet, queries
//! [`MAX_QUERY_LEN`] (`query_truncated`), names [`MAX_NAME_LEN`], messages
//! [`MAX_MESSAGE_LEN`].

use serde::{Serialize, Serializer};

use super::sqlwire::{capped, cstr, is_false, text, Framer, Next};
use super::sqlwire::{MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_QUERY_LEN};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

#[cfg(test)]
#[path = "mysql/tests.rs"]
mod tests;

/// Bytes of each packet read (header included); the rest is skipped.
pub const MAX_PACKET_PREFIX: usize = 8 * 1024;
/// Payload length that announces a continuation packet.
const CONTINUED: usize = 0xFF_FFFF;

/// `CLIENT_CONNECT_WITH_DB`.
const CLIENT_CONNECT_WITH_DB: u32 = 0x0000_0008;
/// `CLIENT_COMPRESS` (also set with zstd compression).
const CLIENT_COMPRESS: u32 = 0x0000_0020;
/// `CLIENT_PROTOCOL_41`.
const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
/// `CLIENT_SSL`.
const CLIENT_SSL: u32 = 0x0000_0800;
/// `CLIENT_SECURE_CONNECTION` (1-byte auth response length).
const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
/// `CLIENT_PLUGIN_AUTH`.
const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;
/// `CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA`.
const CLIENT_PLUGIN_AUTH_LENENC: u32 = 0x0020_0000;
/// `CLIENT_DEPRECATE_EOF`.
const CLIENT_DEPRECATE_EOF: u32 = 0x0100_0000;
/// `SERVER_MORE_RESULTS_EXISTS` status flag.
const SERVER_MORE_RESULTS_EXISTS: u16 = 0x0008;

/// Zeek's names of the commands `0x00..=0x1f` ("Text Protocol",
/// "Prepared Statements", "Replication Protocol").
const COMMAND_NAMES: [&str; 32] = [
    "sleep",
    "quit",
    "init_db",
    "query",
    "field_list",
    "create_db",
    "drop_db",
    "refresh",
    "shutdown",
    "statistics",
    "process_info",
    "connect",
    "process_kill",
    "debug",
    "ping",
    "time",
    "delayed_insert",
    "change_user",
    "binlog_dump",
    "table_dump",
    "connect_out",
    "register_slave",
    "stmt_prepare",
    "stmt_execute",
    "stmt_send_long_data",
    "stmt_close",
    "stmt_reset",
    "set_option",
    "stmt_fetch",
    "daemon",
    "binlog_dump_gtid",
    "reset_connection",
];

/// A client command byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MysqlCommand {
    /// COM_QUIT.
    Quit,
    /// COM_INIT_DB.
    InitDb,
    /// COM_QUERY.
    Query,
    /// COM_PING.
    Ping,
    /// COM_STMT_PREPARE.
    StmtPrepare,
    /// COM_STMT_EXECUTE.
    StmtExecute,
    /// Another command of the documented range (`0x00..=0x1f`).
    Other(u8),
    /// A byte outside the documented commands.
    Unknown(u8),
}

impl From<u8> for MysqlCommand {
    fn from(b: u8) -> Self {
        match b {
            0x01 => MysqlCommand::Quit,
            0x02 => MysqlCommand::InitDb,
            0x03 => MysqlCommand::Query,
            0x0e => MysqlCommand::Ping,
            0x16 => MysqlCommand::StmtPrepare,
            0x17 => MysqlCommand::StmtExecute,
            n if usize::from(n) < COMMAND_NAMES.len() => MysqlCommand::Other(n),
            n => MysqlCommand::Unknown(n),
        }
    }
}

impl MysqlCommand {
    /// The command byte.
    pub fn code(self) -> u8 {
        match self {
            MysqlCommand::Quit => 0x01,
            MysqlCommand::InitDb => 0x02,
            MysqlCommand::Query => 0x03,
            MysqlCommand::Ping => 0x0e,
            MysqlCommand::StmtPrepare => 0x16,
            MysqlCommand::StmtExecute => 0x17,
            MysqlCommand::Other(n) | MysqlCommand::Unknown(n) => n,
        }
    }

    /// Zeek's name (`query`, `init_db`, …), `unknown` outside the range.
    pub fn name(self) -> &'static str {
        COMMAND_NAMES
            .get(usize::from(self.code()))
            .copied()
            .unwrap_or("unknown")
    }
}

impl Serialize for MysqlCommand {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Which kind of record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MysqlKind {
    /// The connection phase: greeting, login, auth outcome.
    #[default]
    Login,
    /// One command and its result.
    Command,
}

/// An ERR packet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MysqlError {
    /// Error code (`1045` access denied, `1064` syntax error, …).
    pub code: u16,
    /// SQLSTATE (5 characters), when sent (`CLIENT_PROTOCOL_41`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sqlstate: Option<String>,
    /// Human-readable message (capped).
    pub message: String,
}

/// One MySQL record (`event_type` `mysql`); see the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MysqlRecord {
    /// `login` or `command`.
    #[serde(rename = "type")]
    pub kind: MysqlKind,
    /// User name of the login (or of COM_CHANGE_USER).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Current database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Greeting protocol version (login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<u8>,
    /// Server version string (login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    /// Connection (thread) id (login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<u32>,
    /// Auth plugin named by the client, else the server (login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_plugin: Option<String>,
    /// The client sent a non-empty auth response (never logged).
    #[serde(skip_serializing_if = "is_false")]
    pub password_seen: bool,
    /// The client asked for TLS: nothing after the login is readable.
    #[serde(skip_serializing_if = "is_false")]
    pub tls: bool,
    /// Compression was negotiated: the commands after the login are not
    /// read.
    #[serde(skip_serializing_if = "is_false")]
    pub compressed: bool,
    /// The command (command records).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<MysqlCommand>,
    /// The command byte.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_code: Option<u8>,
    /// Query text, or the argument of COM_INIT_DB / COM_FIELD_LIST.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// `query` was cut at [`MAX_QUERY_LEN`] bytes.
    #[serde(skip_serializing_if = "is_false")]
    pub query_truncated: bool,
    /// OK / result set (true) or ERR (false); absent without an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Affected rows of an OK packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected_rows: Option<u64>,
    /// Column count of a result set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<u64>,
    /// Rows of the result set(s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// The ERR packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<MysqlError>,
}

/// Builds the MySQL parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(MysqlParser {
        tcp,
        ..Default::default()
    })
}

/// Where the connection is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the server greeting.
    #[default]
    Greeting,
    /// Waiting for the client's handshake response.
    Handshake,
    /// Waiting for the auth outcome.
    Auth,
    /// Commands.
    Command,
    /// Encrypted or unreadable: nothing more is parsed.
    Done,
}

/// How far the answer to the pending command is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Its first packet is awaited.
    #[default]
    Start,
    /// Column definitions still to come.
    Columns(u64),
    /// The EOF after the column definitions.
    ColumnsEof,
    /// Rows, up to EOF/OK.
    Rows,
}

/// Per-direction framing state.
#[derive(Debug, Default)]
struct Dir {
    framer: Framer,
    /// The last packet had a `0xFFFFFF` payload: the next one continues it.
    continued: bool,
    /// Stopped after a gap or malformed framing.
    dead: bool,
}

/// Per-flow MySQL parser; see the module documentation.
#[derive(Debug, Default)]
pub struct MysqlParser {
    tcp: bool,
    dirs: [Dir; 2],
    phase: Phase,
    /// Server capabilities from the greeting.
    server_caps: u32,
    /// Client capabilities from the handshake response.
    client_caps: u32,
    /// The login record until its outcome.
    login: Option<MysqlRecord>,
    /// Current user and database.
    user: Option<String>,
    database: Option<String>,
    /// The command awaiting its answer, and how far that is.
    pending: Option<(MysqlRecord, Answer)>,
}

/// A length-encoded integer at `pos` and the position after it
/// ("Protocol::LengthEncodedInteger").
fn lenenc(buf: &[u8], pos: usize) -> Option<(u64, usize)> {
    let b = *buf.get(pos)?;
    let n = match b {
        0..=0xfa => return Some((u64::from(b), pos + 1)),
        0xfc => 2,
        0xfd => 3,
        0xfe => 8,
        _ => return None,
    };
    let bytes = buf.get(pos + 1..pos + 1 + n)?;
    let v = bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
    Some((v, pos + 1 + n))
}

fn le16(buf: &[u8], pos: usize) -> Option<u16> {
    buf.get(pos..pos + 2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
}

fn le32(buf: &[u8], pos: usize) -> Option<u32> {
    buf.get(pos..pos + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses an ERR packet payload ("ERR_Packet").
fn parse_err(p: &[u8]) -> MysqlError {
    let code = le16(p, 1).unwrap_or(0);
    let rest = p.get(3..).unwrap_or_default();
    let (sqlstate, msg) = match rest.split_first() {
        Some((b'#', tail)) if tail.len() >= 5 => (Some(text(&tail[..5], 5)), &tail[5..]),
        _ => (None, rest),
    };
    MysqlError {
        code,
        sqlstate,
        message: text(msg, MAX_MESSAGE_LEN),
    }
}

/// Status flags of an OK packet (header byte at 0): after affected rows
/// and last insert id.
fn ok_status(p: &[u8]) -> (Option<u64>, u16) {
    let Some((affected, pos)) = lenenc(p, 1) else {
        return (None, 0);
    };
    let status = lenenc(p, pos)
        .and_then(|(_, pos)| le16(p, pos))
        .unwrap_or(0);
    (Some(affected), status)
}

impl MysqlParser {
    fn deprecate_eof(&self) -> bool {
        self.server_caps & self.client_caps & CLIENT_DEPRECATE_EOF != 0
    }

    /// A record carrying the session's user and database.
    fn record(&self, kind: MysqlKind) -> MysqlRecord {
        MysqlRecord {
            kind,
            user: self.user.clone(),
            database: self.database.clone(),
            ..Default::default()
        }
    }

    fn emit_login(&mut self, out: &mut Vec<AppRecord>) {
        if let Some(mut r) = self.login.take() {
            r.user.clone_from(&self.user);
            r.database.clone_from(&self.database);
            out.push(AppRecord::Mysql(r));
        }
    }

    fn emit_pending(&mut self, out: &mut Vec<AppRecord>) {
        if let Some((r, _)) = self.pending.take() {
            if r.success == Some(true) && r.command == Some(MysqlCommand::InitDb) {
                self.database.clone_from(&r.query);
            }
            out.push(AppRecord::Mysql(r));
        }
    }

    /// One packet (payload only) from `dir`, its full payload length and
    /// sequence id.
    fn packet(&mut self, dir: Direction, seq: u8, p: &[u8], len: usize, out: &mut Vec<AppRecord>) {
        match (dir, self.phase) {
            (_, Phase::Done) => {}
            (Direction::ToClient, Phase::Greeting) => self.greeting(p, out),
            (Direction::ToServer, Phase::Handshake) => self.handshake(p, out),
            // Auth switch response / more auth data.
            (Direction::ToServer, Phase::Auth) if !p.is_empty() => {
                if let Some(l) = &mut self.login {
                    l.password_seen = true;
                }
            }
            (Direction::ToClient, Phase::Auth) => self.auth_answer(p, out),
            (Direction::ToServer, Phase::Command) if seq == 0 => self.command(p, len, out),
            (Direction::ToClient, Phase::Command) => self.answer(p, len, out),
            _ => {}
        }
    }

    fn greeting(&mut self, p: &[u8], out: &mut Vec<AppRecord>) {
        let mut login = self.record(MysqlKind::Login);
        match p.first() {
            Some(0xff) => {
                login.success = Some(false);
                login.error = Some(parse_err(p));
                self.login = Some(login);
                self.emit_login(out);
                self.phase = Phase::Done;
                return;
            }
            Some(&v) => login.protocol_version = Some(v),
            None => return,
        }
        if let Some((version, pos)) = cstr(p, 1) {
            login.server_version = Some(text(version, MAX_NAME_LEN));
            login.connection_id = le32(p, pos);
            // auth-plugin-data-part-1 (8), filler (1), capability_flags_1.
            let lower = le16(p, pos + 13).unwrap_or(0);
            // character_set (1), status_flags (2), capability_flags_2.
            let upper = le16(p, pos + 18).unwrap_or(0);
            self.server_caps = u32::from(lower) | (u32::from(upper) << 16);
            let data_len = usize::from(p.get(pos + 20).copied().unwrap_or(0));
            // reserved (10), auth-plugin-data-part-2 (max(13, len - 8)).
            let name_at = pos + 31 + data_len.saturating_sub(8).max(13);
            if self.server_caps & CLIENT_PLUGIN_AUTH != 0 {
                if let Some((name, _)) = cstr(p, name_at) {
                    login.auth_plugin = Some(text(name, MAX_NAME_LEN));
                }
            }
        }
        self.login = Some(login);
        self.phase = Phase::Handshake;
    }

    /// HandshakeResponse41 / 320 or SSLRequest.
    fn handshake(&mut self, p: &[u8], out: &mut Vec<AppRecord>) {
        let lower = u32::from(le16(p, 0).unwrap_or(0));
        let caps = if lower & CLIENT_PROTOCOL_41 != 0 {
            le32(p, 0).unwrap_or(lower)
        } else {
            lower
        };
        self.client_caps = caps;
        let login = self.login.get_or_insert_with(MysqlRecord::default);
        if caps & CLIENT_SSL != 0 {
            login.tls = true;
            self.phase = Phase::Done;
            self.emit_login(out);
            return;
        }
        self.phase = Phase::Auth;
        // 4.1: caps (4), max packet (4), charset (1), filler (23); 3.20:
        // caps (2), max packet (3).
        let user_at = if caps & CLIENT_PROTOCOL_41 != 0 {
            32
        } else {
            5
        };
        let Some((user, pos)) = cstr(p, user_at) else {
            return;
        };
        self.user = Some(text(user, MAX_NAME_LEN));
        let auth = if caps & CLIENT_PLUGIN_AUTH_LENENC != 0 {
            lenenc(p, pos).map(|(n, at)| (usize::try_from(n).unwrap_or(usize::MAX), at))
        } else if caps & CLIENT_SECURE_CONNECTION != 0 {
            p.get(pos).map(|&n| (usize::from(n), pos + 1))
        } else {
            // NUL-terminated (3.20: possibly up to the end).
            let n = cstr(p, pos).map_or(p.len().saturating_sub(pos), |(s, _)| s.len());
            Some((n, pos))
        };
        let Some((auth_len, auth_at)) = auth else {
            return;
        };
        login.password_seen = auth_len > 0;
        // NUL-terminated auth data (no SECURE_CONNECTION) skips its NUL too.
        let mut pos = auth_at.saturating_add(auth_len);
        if caps & (CLIENT_PLUGIN_AUTH_LENENC | CLIENT_SECURE_CONNECTION) == 0 {
            pos = pos.saturating_add(1);
        }
        if caps & CLIENT_CONNECT_WITH_DB != 0 {
            if let Some((db, end)) = cstr(p, pos) {
                if !db.is_empty() {
                    self.database = Some(text(db, MAX_NAME_LEN));
                }
                pos = end;
            }
        }
        if caps & CLIENT_PLUGIN_AUTH != 0 {
            if let Some((name, _)) = cstr(p, pos) {
                login.auth_plugin = Some(text(name, MAX_NAME_LEN));
            }
        }
    }

    /// Server packets after the handshake response.
    fn auth_answer(&mut self, p: &[u8], out: &mut Vec<AppRecord>) {
        let compressed = self.server_caps & self.client_caps & CLIENT_COMPRESS != 0;
        let login = self.login.get_or_insert_with(MysqlRecord::default);
        match p.first() {
            Some(0x00) => {
                login.success = Some(true);
                login.compressed = compressed;
            }
            Some(0xff) => {
                login.success = Some(false);
                login.error = Some(parse_err(p));
            }
            // Auth switch (0xFE) or more data (0x01): the exchange goes on.
            _ => return,
        }
        self.emit_login(out);
        // Compressed packets have another header ("Compressed Packet"):
        // not read.
        self.phase = if compressed {
            Phase::Done
        } else {
            Phase::Command
        };
    }

    fn command(&mut self, p: &[u8], len: usize, out: &mut Vec<AppRecord>) {
        self.emit_pending(out);
        let Some((&code, arg)) = p.split_first() else {
            return;
        };
        let cmd = MysqlCommand::from(code);
        let mut r = self.record(MysqlKind::Command);
        r.command = Some(cmd);
        r.command_code = Some(code);
        match cmd {
            MysqlCommand::Query | MysqlCommand::StmtPrepare => {
                let more = len > p.len();
                let (q, cut) = capped(arg, MAX_QUERY_LEN, more);
                r.query = Some(q);
                r.query_truncated = cut;
            }
            MysqlCommand::InitDb | MysqlCommand::Other(0x04..=0x06) => {
                let arg = cstr(arg, 0).map_or(arg, |(s, _)| s);
                r.query = Some(text(arg, MAX_NAME_LEN));
            }
            MysqlCommand::Other(0x11) => {
                // COM_CHANGE_USER: user NUL first.
                if let Some((user, _)) = cstr(arg, 0) {
                    self.user = Some(text(user, MAX_NAME_LEN));
                    r.user.clone_from(&self.user);
                }
            }
            _ => {}
        }
        self.pending = Some((r, Answer::Start));
        if cmd == MysqlCommand::Quit {
            // No answer follows COM_QUIT.
            self.emit_pending(out);
        }
    }

    /// One server packet in the command phase.
    fn answer(&mut self, p: &[u8], len: usize, out: &mut Vec<AppRecord>) {
        let deprecate_eof = self.deprecate_eof();
        let Some((r, state)) = &mut self.pending else {
            return;
        };
        let head = p.first().copied();
        // EOF, or OK with an 0xFE header under CLIENT_DEPRECATE_EOF.
        let terminator = head == Some(0xfe) && (len < 9 || (deprecate_eof && len < CONTINUED));
        let mut done = false;
        match *state {
            Answer::Start => match head {
                Some(0xff) => {
                    r.success = Some(false);
                    r.error = Some(parse_err(p));
                    done = true;
                }
                Some(0x00) if r.command != Some(MysqlCommand::StmtPrepare) => {
                    let (affected, status) = ok_status(p);
                    r.success = Some(true);
                    r.affected_rows = affected;
                    done = status & SERVER_MORE_RESULTS_EXISTS == 0;
                }
                // LOCAL INFILE request: the OK/ERR follows the file.
                Some(0xfb) => {}
                _ if terminator => {
                    r.success = Some(true);
                    done = true;
                }
                _ if matches!(
                    r.command,
                    Some(MysqlCommand::Query | MysqlCommand::StmtExecute)
                ) =>
                {
                    let n = lenenc(p, 0).map_or(0, |(n, _)| n);
                    r.success = Some(true);
                    r.columns = Some(n);
                    r.rows.get_or_insert(0);
                    *state = if n > 0 {
                        Answer::Columns(n)
                    } else {
                        Answer::Rows
                    };
                }
                _ => {
                    r.success = Some(true);
                    done = true;
                }
            },
            Answer::Columns(n) => {
                *state = match n {
                    0 | 1 if deprecate_eof => Answer::Rows,
                    0 | 1 => Answer::ColumnsEof,
                    n => Answer::Columns(n - 1),
                };
            }
            Answer::ColumnsEof => {
                *state = Answer::Rows;
                if !terminator {
                    r.rows = Some(r.rows.unwrap_or(0) + 1);
                }
            }
            Answer::Rows => {
                if head == Some(0xff) {
                    r.success = Some(false);
                    r.error = Some(parse_err(p));
                    done = true;
                } else if terminator {
                    let status = if len < 9 {
                        le16(p, 3).unwrap_or(0)
                    } else {
                        ok_status(p).1
                    };
                    if status & SERVER_MORE_RESULTS_EXISTS == 0 {
                        done = true;
                    } else {
                        *state = Answer::Start;
                    }
                } else {
                    r.rows = Some(r.rows.unwrap_or(0).saturating_add(1));
                }
            }
        }
        if done {
            self.emit_pending(out);
        }
    }
}

impl AppParser for MysqlParser {
    fn data(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        loop {
            if self.phase == Phase::Done || self.dirs[dir.idx()].dead {
                return;
            }
            let d = &mut self.dirs[dir.idx()];
            let next = d.framer.next(&mut bytes, 4, MAX_PACKET_PREFIX, |h| {
                Some(4 + (usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16))
            });
            match next {
                Next::NeedMore => return,
                Next::Bad => {
                    d.dead = true;
                    return;
                }
                Next::Msg { prefix, total } => {
                    let len = total - 4;
                    let seq = prefix.get(3).copied().unwrap_or(0);
                    let continuation = std::mem::replace(&mut d.continued, len == CONTINUED);
                    if !continuation {
                        let payload = prefix.get(4..).unwrap_or_default();
                        self.packet(dir, seq, payload, len, out);
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction) {
        let d = &mut self.dirs[dir.idx()];
        d.dead = true;
        d.framer.reset();
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        self.emit_login(out);
        self.emit_pending(out);
        for d in &mut self.dirs {
            d.framer.reset();
        }
    }
}
