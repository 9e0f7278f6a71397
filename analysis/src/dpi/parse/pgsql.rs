//! PostgreSQL frontend/backend protocol v3 parser: one record per request
//! and its response, shaped like Suricata's EVE `pgsql` transactions.
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Framing (PostgreSQL docs, "Message Formats"): the client's first
//!   message has no type byte (`int32 length` then a code: StartupMessage
//!   protocol 3.0, SSLRequest, GSSENCRequest, CancelRequest); every later
//!   message is `byte1 type, int32 length` (length counts itself). The
//!   server answers SSLRequest / GSSENCRequest with one byte: `S` / `G`
//!   (accepted: the rest is encrypted, the parser stops) or `N` (the client
//!   then sends a StartupMessage in clear). Messages are read from their
//!   first [`MAX_MESSAGE_PREFIX`] bytes; the rest is skipped by length.
//! - Transactions: a client request is one untyped message, a Query
//!   (`Q`), a PasswordMessage / SASL message (`p`), or an extended-query
//!   batch (Parse/Bind/Describe/Execute/Close/Flush… up to Sync).
//!   Requests queue (pipelining) and server messages answer the oldest. A
//!   response ends at ReadyForQuery (`Z`), at an authentication request
//!   that waits for the client (cleartext, MD5, SASL, SASL continue, GSS),
//!   or at an ErrorResponse during login; then the record is emitted.
//!   Terminate (`X`) is emitted at once. What is pending is emitted at
//!   [`AppParser::finish`].
//! - [`AppParser::gap`] stops the direction: the framing is not searched
//!   for again.
//! - Never logged: passwords, SASL messages, the cancel secret key.
//!   `password_seen` marks a PasswordMessage (`p`) with content.
//!
//! # Record (`event_type` `pgsql`)
//! ```json
//! {"tx_id":2,"user":"ju-Test","database":"Test",
//!  "request":{"protocol_version":"3.0","startup_parameters":{
//!    "user":"ju-Test","optional_parameters":[{"database":"Test"},
//!    {"application_name":"psql"}]}},
//!  "response":{"message":"authentication_sasl"}}
//! {"tx_id":4,"login_success":true,"request":{"password_seen":true},
//!  "response":{"message":"authentication_ok","parameter_status":
//!    [{"server_version":"13.4"}],"process_id":5008}}
//! {"tx_id":14,"request":{"simple_query":"SELECT 1/0;"},
//!  "response":{"error":{"severity":"ERROR","code":"22012",
//!    "message":"division by zero"}}}
//! {"tx_id":26,"request":{"simple_query":"SELECT * FROM new_table;"},
//!  "response":{"field_count":2,"data_rows":8,
//!    "command_completed":"SELECT 8"}}
//! ```
//! Common fields for detection: the query is `request.simple_query` or
//! `request.parse` (Parse messages' texts); `user` and `database` (top
//! level, from the StartupMessage, on every record); `login_success` on the
//! record that ended the login (AuthenticationOk: true; ErrorResponse
//! during login: false, with `response.error`).
//!
//! # Caps
//! [`MAX_MESSAGE_PREFIX`] bytes read per message; queries
//! [`MAX_QUERY_LEN`] (`query_truncated`); names/values [`MAX_NAME_LEN`];
//! [`MAX_PARAMS`] startup / status parameters, [`MAX_PARSE`] Parse texts
//! per request, [`MAX_PENDING`] queued requests (older ones are emitted
//! without a response).

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;

use super::sqlwire::{capped, cstr, is_false, text, Framer, Next};
use super::sqlwire::{MAX_MESSAGE_LEN, MAX_NAME_LEN, MAX_QUERY_LEN};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

#[cfg(test)]
#[path = "pgsql/tests.rs"]
mod tests;

/// Bytes of each message read (header included).
pub const MAX_MESSAGE_PREFIX: usize = 8 * 1024;
/// Startup / ParameterStatus entries kept per record.
pub const MAX_PARAMS: usize = 32;
/// Parse messages' texts kept per request.
pub const MAX_PARSE: usize = 8;
/// Requests waiting for a response.
pub const MAX_PENDING: usize = 64;

/// Protocol 3.0 in a StartupMessage.
const PROTOCOL_3: u32 = 0x0003_0000;
/// SSLRequest code.
const SSL_REQUEST: u32 = 80_877_103;
/// GSSENCRequest code.
const GSSENC_REQUEST: u32 = 80_877_104;
/// CancelRequest code.
const CANCEL_REQUEST: u32 = 80_877_102;
/// Largest untyped (startup) message accepted.
const MAX_STARTUP: usize = 10_000;

/// StartupMessage parameters (Suricata's `startup_parameters`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StartupParameters {
    /// `user`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Other parameters in order, one `{name: value}` each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub optional_parameters: Vec<BTreeMap<String, String>>,
}

/// A client request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PgsqlRequest {
    /// Requests without their own field: `SSL Request`, `GSS Encrypt
    /// Request`, `cancel_request`, `termination_message`, or
    /// `unknown(<type byte>)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// StartupMessage protocol (`3.0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// StartupMessage parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub startup_parameters: Option<StartupParameters>,
    /// Query (`Q`) text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub simple_query: Option<String>,
    /// Query texts of the Parse (`P`) messages of an extended-query batch.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parse: Vec<String>,
    /// A query text was cut at [`MAX_QUERY_LEN`].
    #[serde(skip_serializing_if = "is_false")]
    pub query_truncated: bool,
    /// Bind / Execute messages in the batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executes: Option<u32>,
    /// SASLInitialResponse mechanism (`SCRAM-SHA-256`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sasl_authentication_mechanism: Option<String>,
    /// A PasswordMessage / SASL response with content (never logged).
    #[serde(skip_serializing_if = "is_false")]
    pub password_seen: bool,
}

/// An ErrorResponse's main fields (docs, "Error and Notice Message
/// Fields").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PgsqlError {
    /// `S` (localized) else `V` severity.
    pub severity: String,
    /// `C` SQLSTATE code.
    pub code: String,
    /// `M` message.
    pub message: String,
}

/// The server's response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PgsqlResponse {
    /// Last authentication message (`authentication_ok`,
    /// `authentication_md5_password`, `authentication_sasl`, …,
    /// `authentication_unknown`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The answer to SSLRequest / GSSENCRequest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_accepted: Option<bool>,
    /// ParameterStatus entries, one `{name: value}` each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameter_status: Vec<BTreeMap<String, String>>,
    /// BackendKeyData process id (the secret key is not logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    /// RowDescription field count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field_count: Option<u16>,
    /// DataRow messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_rows: Option<u64>,
    /// Last CommandComplete tag (`SELECT 8`, `INSERT 0 1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_completed: Option<String>,
    /// First ErrorResponse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<PgsqlError>,
}

/// One PostgreSQL record (`event_type` `pgsql`); see the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PgsqlRecord {
    /// Transaction number in the flow, from 1.
    pub tx_id: u64,
    /// Session user (StartupMessage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Session database (StartupMessage; defaults to the user server-side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// On the record that ended the login: its outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_success: Option<bool>,
    /// The request, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<PgsqlRequest>,
    /// The response, when seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<PgsqlResponse>,
}

/// Builds the PostgreSQL parser; UDP flows get one that ignores input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(PgsqlParser {
        tcp,
        ..Default::default()
    })
}

/// Per-flow PostgreSQL parser; see the module documentation.
#[derive(Debug, Default)]
pub struct PgsqlParser {
    tcp: bool,
    framers: [Framer; 2],
    dead: [bool; 2],
    /// The client's next message is typed (after the StartupMessage).
    client_typed: bool,
    /// The server's next answer is one byte (after SSL/GSSENC requests).
    server_byte: bool,
    /// Encrypted: nothing more is parsed.
    done: bool,
    /// Login finished (AuthenticationOk or error).
    logged_in: bool,
    /// Last authentication request code (decides what `p` carries).
    auth_code: Option<u32>,
    user: Option<String>,
    database: Option<String>,
    /// The extended-query batch being read (until Sync / Flush).
    batch: Option<PgsqlRequest>,
    /// Requests waiting for their response, oldest first.
    pending: VecDeque<PgsqlRecord>,
    next_tx: u64,
}

fn be32(buf: &[u8], pos: usize) -> Option<u32> {
    buf.get(pos..pos + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Name of an authentication request code (docs, "AuthenticationOk" …).
fn auth_name(code: u32) -> &'static str {
    match code {
        0 => "authentication_ok",
        2 => "authentication_kerberos_v5",
        3 => "authentication_cleartext_password",
        5 => "authentication_md5_password",
        7 => "authentication_gss",
        8 => "authentication_gss_continue",
        9 => "authentication_sspi",
        10 => "authentication_sasl",
        11 => "authentication_sasl_continue",
        12 => "authentication_sasl_final",
        _ => "authentication_unknown",
    }
}

/// `name\0value\0` pairs up to an empty name, as `{name: value}` maps.
fn pairs(mut body: &[u8], cap: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    while out.len() < cap {
        let Some((name, at)) = cstr(body, 0) else {
            break;
        };
        if name.is_empty() {
            break;
        }
        let Some((value, end)) = cstr(body, at) else {
            break;
        };
        out.push((text(name, MAX_NAME_LEN), text(value, MAX_NAME_LEN)));
        body = body.get(end..).unwrap_or_default();
    }
    out
}

fn one(name: String, value: String) -> BTreeMap<String, String> {
    BTreeMap::from([(name, value)])
}

/// Fields of an ErrorResponse body (`code byte, cstring` until 0).
fn parse_error(mut body: &[u8]) -> PgsqlError {
    let mut e = PgsqlError::default();
    let mut localized = None;
    while let Some((&field, rest)) = body.split_first() {
        if field == 0 {
            break;
        }
        let Some((value, end)) = cstr(rest, 0) else {
            break;
        };
        match field {
            b'S' => localized = Some(text(value, MAX_NAME_LEN)),
            b'V' => e.severity = text(value, MAX_NAME_LEN),
            b'C' => e.code = text(value, MAX_NAME_LEN),
            b'M' => e.message = text(value, MAX_MESSAGE_LEN),
            _ => {}
        }
        body = rest.get(end..).unwrap_or_default();
    }
    if let Some(s) = localized {
        if e.severity.is_empty() {
            e.severity = s;
        }
    }
    e
}

impl PgsqlParser {
    /// Queues a request (emitting the oldest when the queue is full).
    fn push(&mut self, request: PgsqlRequest, out: &mut Vec<AppRecord>) {
        if self.pending.len() >= MAX_PENDING {
            if let Some(r) = self.pending.pop_front() {
                out.push(AppRecord::Pgsql(r));
            }
        }
        self.next_tx += 1;
        self.pending.push_back(PgsqlRecord {
            tx_id: self.next_tx,
            user: self.user.clone(),
            database: self.database.clone(),
            request: Some(request),
            ..Default::default()
        });
    }

    /// Emits the oldest request with its response.
    fn complete(&mut self, out: &mut Vec<AppRecord>) {
        if let Some(r) = self.pending.pop_front() {
            out.push(AppRecord::Pgsql(r));
        }
    }

    /// One untyped client message (StartupMessage & co).
    fn client_untyped(&mut self, m: &[u8], out: &mut Vec<AppRecord>) {
        let mut req = PgsqlRequest::default();
        match be32(m, 4).unwrap_or(0) {
            SSL_REQUEST => {
                req.message = Some("SSL Request".into());
                self.server_byte = true;
            }
            GSSENC_REQUEST => {
                req.message = Some("GSS Encrypt Request".into());
                self.server_byte = true;
            }
            CANCEL_REQUEST => {
                req.message = Some("cancel_request".into());
                self.next_tx += 1;
                out.push(AppRecord::Pgsql(PgsqlRecord {
                    tx_id: self.next_tx,
                    request: Some(req),
                    ..Default::default()
                }));
                return;
            }
            code => {
                req.protocol_version = Some(format!("{}.{}", code >> 16, code & 0xffff));
                let mut params = StartupParameters::default();
                for (name, value) in pairs(m.get(8..).unwrap_or_default(), MAX_PARAMS) {
                    match name.as_str() {
                        "user" => {
                            self.user = Some(value.clone());
                            params.user = Some(value);
                        }
                        "database" => {
                            self.database = Some(value.clone());
                            params.optional_parameters.push(one(name, value));
                        }
                        _ => params.optional_parameters.push(one(name, value)),
                    }
                }
                req.startup_parameters = Some(params);
                self.client_typed = code == PROTOCOL_3;
                if code != PROTOCOL_3 {
                    self.dead[0] = true;
                }
            }
        }
        self.push(req, out);
    }

    /// One typed client message (type byte, length, body).
    fn client_typed(&mut self, kind: u8, body: &[u8], total: usize, out: &mut Vec<AppRecord>) {
        match kind {
            b'Q' => {
                let q = cstr(body, 0).map_or(body, |(s, _)| s);
                let (q, cut) = capped(q, MAX_QUERY_LEN, total > body.len() + 5);
                self.push(
                    PgsqlRequest {
                        simple_query: Some(q),
                        query_truncated: cut,
                        ..Default::default()
                    },
                    out,
                );
            }
            b'p' => {
                let mut req = PgsqlRequest {
                    password_seen: total > 5,
                    ..Default::default()
                };
                if self.auth_code == Some(10) {
                    if let Some((mech, _)) = cstr(body, 0) {
                        req.sasl_authentication_mechanism = Some(text(mech, MAX_NAME_LEN));
                    }
                }
                self.push(req, out);
            }
            b'X' => {
                self.next_tx += 1;
                out.push(AppRecord::Pgsql(PgsqlRecord {
                    tx_id: self.next_tx,
                    user: self.user.clone(),
                    database: self.database.clone(),
                    request: Some(PgsqlRequest {
                        message: Some("termination_message".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }));
            }
            // Parse, Bind, Describe, Execute, Close: part of a batch.
            b'P' | b'B' | b'D' | b'E' | b'C' => {
                let batch = self.batch.get_or_insert_with(PgsqlRequest::default);
                match kind {
                    b'P' => {
                        // Statement name, then the query text; a text
                        // without its NUL was cut by the prefix cap.
                        let at = cstr(body, 0).map_or(body.len(), |(_, at)| at);
                        let rest = body.get(at..).unwrap_or_default();
                        let (q, more) = cstr(rest, 0).map_or((rest, true), |(q, _)| (q, false));
                        let (q, cut) = capped(q, MAX_QUERY_LEN, more && total > body.len() + 5);
                        if batch.parse.len() < MAX_PARSE {
                            batch.parse.push(q);
                        }
                        batch.query_truncated |= cut;
                    }
                    b'E' => batch.executes = Some(batch.executes.unwrap_or(0).saturating_add(1)),
                    _ => {}
                }
            }
            // Sync ends the batch; the server answers it with
            // ReadyForQuery (Flush gets no ReadyForQuery: the batch goes on).
            b'S' => {
                let batch = self.batch.take().unwrap_or_default();
                self.push(batch, out);
            }
            // CopyData / CopyDone / CopyFail / FunctionCall / Flush: no
            // record of their own.
            b'd' | b'c' | b'f' | b'F' | b'H' => {}
            other => self.push(
                PgsqlRequest {
                    message: Some(format!("unknown({other})")),
                    ..Default::default()
                },
                out,
            ),
        }
    }

    /// One typed server message.
    fn server_typed(&mut self, kind: u8, body: &[u8], out: &mut Vec<AppRecord>) {
        let logged_in = self.logged_in;
        let Some(tx) = self.pending.front_mut() else {
            if kind == b'R' {
                self.auth_code = be32(body, 0);
            }
            return;
        };
        let resp = tx.response.get_or_insert_with(PgsqlResponse::default);
        let mut end = false;
        match kind {
            b'R' => {
                let code = be32(body, 0).unwrap_or(u32::MAX);
                resp.message = Some(auth_name(code).into());
                self.auth_code = Some(code);
                if code == 0 {
                    tx.login_success = Some(true);
                    self.logged_in = true;
                }
                // Everything but Ok and SASLFinal waits for the client.
                end = !matches!(code, 0 | 12);
            }
            b'S' => {
                if let Some((n, v)) = pairs(body, 1).pop() {
                    if resp.parameter_status.len() < MAX_PARAMS {
                        resp.parameter_status.push(one(n, v));
                    }
                }
            }
            b'K' => resp.process_id = be32(body, 0),
            b'T' => {
                resp.field_count = body.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            }
            b'D' => resp.data_rows = Some(resp.data_rows.unwrap_or(0).saturating_add(1)),
            b'C' => {
                let tag = cstr(body, 0).map_or(body, |(s, _)| s);
                resp.command_completed = Some(text(tag, MAX_NAME_LEN));
            }
            b'E' => {
                if resp.error.is_none() {
                    resp.error = Some(parse_error(body));
                }
                if !logged_in {
                    tx.login_success = Some(false);
                    end = true;
                }
            }
            b'Z' => end = true,
            _ => {}
        }
        if end {
            self.complete(out);
        }
    }

    /// The one-byte answer to SSLRequest / GSSENCRequest.
    fn server_answer(&mut self, b: u8, out: &mut Vec<AppRecord>) {
        self.server_byte = false;
        let accepted = matches!(b, b'S' | b'G');
        if let Some(tx) = self.pending.front_mut() {
            tx.response = Some(PgsqlResponse {
                ssl_accepted: Some(accepted),
                ..Default::default()
            });
        }
        self.complete(out);
        if accepted {
            self.done = true;
        }
    }
}

impl AppParser for PgsqlParser {
    fn data(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        let i = dir.idx();
        while !self.done && !self.dead[i] && !bytes.is_empty() {
            let client = dir == Direction::ToServer;
            if !client && self.server_byte && self.framers[i].is_idle() {
                let b = bytes.first().copied().unwrap_or(0);
                bytes = bytes.get(1..).unwrap_or_default();
                self.server_answer(b, out);
                continue;
            }
            let typed = !client || self.client_typed;
            let next = if typed {
                self.framers[i].next(&mut bytes, 5, MAX_MESSAGE_PREFIX, |h| {
                    let len = be32(h, 1)? as usize;
                    (len >= 4).then_some(len + 1)
                })
            } else {
                self.framers[i].next(&mut bytes, 4, MAX_MESSAGE_PREFIX, |h| {
                    let len = be32(h, 0)? as usize;
                    (8..=MAX_STARTUP).contains(&len).then_some(len)
                })
            };
            match next {
                Next::NeedMore => return,
                Next::Bad => self.dead[i] = true,
                Next::Msg { prefix, .. } if !typed => self.client_untyped(&prefix, out),
                Next::Msg { prefix, total } => {
                    let kind = prefix.first().copied().unwrap_or(0);
                    let body = prefix.get(5..).unwrap_or_default();
                    if client {
                        self.client_typed(kind, body, total, out);
                    } else {
                        self.server_typed(kind, body, out);
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction) {
        self.dead[dir.idx()] = true;
        self.framers[dir.idx()].reset();
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        if let Some(batch) = self.batch.take() {
            self.push(batch, out);
        }
        while !self.pending.is_empty() {
            self.complete(out);
        }
        for f in &mut self.framers {
            f.reset();
        }
    }
}
