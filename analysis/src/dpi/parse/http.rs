//! HTTP/1.x transactions (RFC 9112) from the two byte streams of a TCP flow.
//!
//! Contract:
//! - `ToServer` carries requests and `ToClient` responses, each an in-order
//!   stream cut anywhere: the parser keeps at most one header section
//!   ([`MAX_HEADER_BYTES`]) or one chunk line per direction and never copies
//!   bodies, so the records do not depend on how the bytes were segmented.
//! - Each request becomes one [`HttpTx`] (Suricata EVE `http` shape). It is
//!   emitted once its request body and its response (status line, headers,
//!   body) have been read, in request order; requests still pending at
//!   [`AppParser::finish`] are emitted with what is known (no response:
//!   `status` is `None`).
//! - Responses pair with requests first-in first-out (RFC 9112 §9.3.2,
//!   pipelining). Interim 1xx responses are skipped (RFC 9110 §15.2), except
//!   101, which ends HTTP/1.x on the connection, as does a 2xx to `CONNECT`.
//!   A 101 answering a request with `Upgrade: h2c` (RFC 7540 §3.2) hands
//!   the rest of both directions to an embedded [`Http2Parser`], whose
//!   stream 1 is that request; the flow is then refined to `http2` (or
//!   `grpc`). Other upgrades (WebSocket, TLS) are not followed.
//!   Responses with no request to pair with are read (to stay in sync) but
//!   not recorded: their method and target are unknown.
//! - Message bodies are framed as RFC 9112 §6.3 says: no body for responses
//!   to `HEAD` and for 1xx/204/304; `Transfer-Encoding` with `chunked` last
//!   wins over `Content-Length` (a message carrying both is a smuggling
//!   signal, not treated specially here); a request without either has no
//!   body; a response without either is read until the connection closes and
//!   counted at `finish`. Chunk extensions and trailers are skipped (§7.1).
//! - A direction stops for good (its bytes are ignored, never a panic) after
//!   a gap, after anything that is not HTTP/1.x where a start line should be,
//!   after a header section over [`MAX_HEADER_BYTES`] or
//!   [`MAX_HEADER_FIELDS`], an unparsable chunk line, or an invalid request
//!   framing. Resynchronising inside an unknown body could invent requests.
//!
//! Tolerance (RFC 9112 §2.2): empty lines before a start line are skipped,
//! bare LF ends a line, obsolete line folding is skipped, header names are
//! compared case-insensitively (RFC 9110 §5.1).
//!
//! Service hint: `service: "elasticsearch"` when the response carries
//! `X-elastic-product: Elasticsearch` (sent by Elasticsearch 7.14+) or the
//! request path is one of its REST APIs (`/_search`, `/_bulk`, `/_cat/…`,
//! `/<index>/_doc/…`; see `wire::elasticsearch_path`).
//!
//! Caps: [`MAX_HEADER_BYTES`], [`MAX_HEADER_FIELDS`], [`MAX_URL_LEN`] and
//! [`MAX_FIELD_LEN`] for stored strings (lossy UTF-8), [`MAX_PENDING`]
//! requests awaiting a response, [`MAX_RECORDS_PER_FLOW`] transactions.

#[path = "http/wire.rs"]
mod wire;

use std::collections::VecDeque;

use super::http2::Http2Parser;
use crate::dpi::parser::{AppAnomaly, AppParser, AppRecord, MAX_RECORDS_PER_FLOW};
use crate::dpi::records::{HttpInspect, HttpTx};
use crate::dpi::AppProto;
use crate::flow::Direction;

use wire::{
    cap_str, find_head_end, host_without_port, parse_chunk_size, parse_head, parse_request_line,
    parse_status_line, plausible_start, Framing, Head,
};

/// Largest header section (start line, fields and the empty line), bytes.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most header (or trailer) fields in one section.
pub const MAX_HEADER_FIELDS: usize = 100;
/// Longest stored request target, bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest other stored string (host, user agent, …), bytes.
pub const MAX_FIELD_LEN: usize = 512;
/// Most requests waiting for their response; more stop the request side.
pub const MAX_PENDING: usize = 64;
/// [`HttpTx::service`] of Elasticsearch's REST API.
const ELASTICSEARCH: &str = "elasticsearch";
/// Longest chunk-size line (size and extensions), bytes.
const MAX_CHUNK_LINE: usize = 1024;

/// The HTTP parser for a flow: a full parser for TCP, one that ignores
/// everything otherwise (HTTP/1.x runs over TCP only).
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    if tcp {
        Box::new(HttpParser::default())
    } else {
        Box::new(Ignore)
    }
}

/// Parser for non-TCP flows: records nothing.
struct Ignore;

impl AppParser for Ignore {
    fn data(&mut self, _dir: Direction, _bytes: &[u8], _out: &mut Vec<AppRecord>) {}
    fn gap(&mut self, _dir: Direction) {}
    fn finish(&mut self, _out: &mut Vec<AppRecord>) {}
}

/// Incremental HTTP/1.x parser for one TCP flow (see the module doc).
#[derive(Debug, Default)]
pub struct HttpParser {
    /// Per-direction state, indexed by [`Direction::idx`].
    sides: [Side; 2],
    /// Requests not yet emitted, oldest first.
    pending: VecDeque<Entry>,
    /// Transactions created so far (capped at [`MAX_RECORDS_PER_FLOW`]).
    txs: u32,
    /// HTTP/2 after an h2c upgrade: gets every later byte.
    h2: Option<Box<Http2Parser>>,
}

/// A request and what is known of its response.
#[derive(Debug)]
struct Entry {
    tx: HttpTx,
    /// Method was `HEAD`: the response has no body.
    head: bool,
    /// Method was `CONNECT`: a 2xx response starts a tunnel.
    connect: bool,
    /// The request offered `Upgrade: h2c`.
    h2c: bool,
    /// Request body read (or never coming).
    req_done: bool,
    /// A final response has started for this request.
    answered: bool,
    /// That response has been fully read.
    resp_done: bool,
}

/// Parsing state of one direction.
#[derive(Debug, Default)]
struct Side {
    state: State,
    /// Header section or chunk/trailer line being assembled.
    buf: Vec<u8>,
    /// Where to resume looking for the end of the header section in `buf`.
    scan: usize,
    /// Body bytes counted so far for the current message.
    body_len: u64,
    /// Trailer bytes and fields seen for the current chunked body.
    trailer_bytes: usize,
    trailer_fields: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a start line and header section.
    #[default]
    Head,
    /// Inside a message body.
    Body(Body),
    /// Stopped: everything is ignored.
    Dead,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// `Content-Length` body with this many bytes left.
    Length(u64),
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside chunk data, this many bytes left.
    ChunkData(u64),
    /// Expecting the CRLF after chunk data.
    ChunkDataEnd,
    /// Reading trailer fields up to the empty line.
    Trailer,
    /// Response body delimited by the connection close.
    UntilClose,
}

/// Outcome of reading one line into a side's buffer.
enum Line<'a> {
    /// A line is complete in the buffer; the rest of the input follows.
    Done(&'a [u8]),
    /// All input consumed, no line end yet.
    More,
    /// The line exceeded its cap.
    TooLong,
}

impl Side {
    fn stop(&mut self) {
        self.state = State::Dead;
        self.buf = Vec::new();
        self.scan = 0;
    }

    fn reset(&mut self) {
        self.state = State::Head;
        self.buf.clear();
        self.scan = 0;
        self.body_len = 0;
        self.trailer_bytes = 0;
        self.trailer_fields = 0;
    }

    /// Appends input up to and including the next LF to `buf`.
    fn read_line<'a>(&mut self, input: &'a [u8], cap: usize) -> Line<'a> {
        let (now, rest, done) = match input.iter().position(|&b| b == b'\n') {
            Some(lf) => {
                let (now, rest) = input.split_at_checked(lf + 1).unwrap_or((input, &[]));
                (now, rest, true)
            }
            None => (input, &[][..], false),
        };
        if self.buf.len().saturating_add(now.len()) > cap.saturating_add(2) {
            return Line::TooLong;
        }
        self.buf.extend_from_slice(now);
        if done {
            Line::Done(rest)
        } else {
            Line::More
        }
    }

    /// The assembled line without its line ending.
    fn line(&self) -> &[u8] {
        let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        line.strip_suffix(b"\r").unwrap_or(line)
    }
}

impl AppParser for HttpParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        let mut input = bytes;
        while !input.is_empty() {
            if let Some(h2) = self.h2.as_mut() {
                h2.data(dir, input, out);
                break;
            }
            input = match self.side(dir).state {
                State::Dead => break,
                State::Head => self.head_bytes(dir, input, out),
                State::Body(body) => self.body_bytes(dir, body, input, out),
            };
        }
        self.emit_ready(out);
    }

    fn gap(&mut self, dir: Direction) {
        match self.h2.as_mut() {
            Some(h2) => h2.gap(dir),
            None => self.stop(dir),
        }
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        let req = self.side(Direction::ToServer);
        if req.state == State::Head && req.buf.iter().any(|b| !b.is_ascii_whitespace()) {
            // A request started and its header section never completed
            // (slow-header attacks keep it so on purpose).
            out.push(AppRecord::Anomaly(AppAnomaly::new(
                AppProto::Http,
                "request_head_incomplete",
            )));
        }
        let resp = self.side(Direction::ToClient);
        if resp.state == State::Body(Body::UntilClose) {
            let len = resp.body_len;
            self.complete_response(Some(len));
        }
        self.stop(Direction::ToServer);
        self.stop(Direction::ToClient);
        out.extend(self.pending.drain(..).map(|e| AppRecord::Http(e.tx)));
        if let Some(h2) = self.h2.as_mut() {
            h2.finish(out);
        }
    }

    fn refined(&self) -> Option<AppProto> {
        let h2 = self.h2.as_ref()?;
        Some(h2.refined().unwrap_or(AppProto::Http2))
    }
}

impl HttpParser {
    fn side(&mut self, dir: Direction) -> &mut Side {
        // `idx` is 0 or 1, but stay total rather than index.
        let [to_server, to_client] = &mut self.sides;
        match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }

    /// Stops a direction; a stopped request side sends no more bodies.
    fn stop(&mut self, dir: Direction) {
        self.side(dir).stop();
        if dir == Direction::ToServer {
            for e in &mut self.pending {
                e.req_done = true;
            }
        }
    }

    /// Emits, in order, the leading requests that are complete.
    fn emit_ready(&mut self, out: &mut Vec<AppRecord>) {
        while self
            .pending
            .front()
            .is_some_and(|e| e.req_done && e.resp_done)
        {
            if let Some(e) = self.pending.pop_front() {
                out.push(AppRecord::Http(e.tx));
            }
        }
    }

    /// Header-section bytes: returns the input left after them.
    fn head_bytes<'a>(
        &mut self,
        dir: Direction,
        input: &'a [u8],
        out: &mut Vec<AppRecord>,
    ) -> &'a [u8] {
        let side = self.side(dir);
        let mut input = input;
        if side.buf.is_empty() {
            // RFC 9112 §2.2: ignore empty lines before a start line.
            let skip = input
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            input = input.get(skip..).unwrap_or_default();
            if input.is_empty() {
                return input;
            }
        }
        let old = side.buf.len();
        let room = (MAX_HEADER_BYTES + 1).saturating_sub(old);
        let (now, rest) = input
            .split_at_checked(room.min(input.len()))
            .unwrap_or((input, &[]));
        side.buf.extend_from_slice(now);
        match find_head_end(&side.buf, side.scan) {
            Ok(end) if end <= MAX_HEADER_BYTES => {
                let used = end.saturating_sub(old);
                let head = std::mem::take(&mut side.buf);
                side.scan = 0;
                let head = head.get(..end).unwrap_or_default();
                match dir {
                    Direction::ToServer => self.on_request(head),
                    Direction::ToClient => self.on_response(head, out),
                }
                input.get(used..).unwrap_or_default()
            }
            Ok(_) => {
                self.stop(dir);
                &[]
            }
            Err(scan) => {
                side.scan = scan;
                if side.buf.len() > MAX_HEADER_BYTES || !plausible_start(dir, &side.buf) {
                    self.stop(dir);
                    return &[];
                }
                rest
            }
        }
    }

    /// Body bytes: returns the input left after them.
    fn body_bytes<'a>(
        &mut self,
        dir: Direction,
        body: Body,
        input: &'a [u8],
        out: &mut Vec<AppRecord>,
    ) -> &'a [u8] {
        let side = self.side(dir);
        match body {
            Body::Length(left) | Body::ChunkData(left) => {
                let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                side.body_len = side.body_len.saturating_add(take as u64);
                if dir == Direction::ToServer {
                    let chunk = input.get(..take).unwrap_or_default();
                    if let Some(i) = self.pending.back_mut().and_then(|e| e.tx.inspect.as_mut()) {
                        let room = HttpInspect::MAX_BODY.saturating_sub(i.body.len());
                        i.body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    }
                }
                let side = self.side(dir);
                let left = left.saturating_sub(take as u64);
                side.state = State::Body(match body {
                    Body::Length(_) => Body::Length(left),
                    _ => Body::ChunkData(left),
                });
                if left == 0 {
                    match body {
                        Body::Length(_) => self.body_done(dir, out),
                        _ => self.side(dir).state = State::Body(Body::ChunkDataEnd),
                    }
                }
                input.get(take..).unwrap_or_default()
            }
            Body::UntilClose => {
                side.body_len = side.body_len.saturating_add(input.len() as u64);
                &[]
            }
            Body::ChunkSize | Body::ChunkDataEnd | Body::Trailer => {
                let cap = match body {
                    Body::Trailer => MAX_HEADER_BYTES.saturating_sub(side.trailer_bytes),
                    _ => MAX_CHUNK_LINE,
                };
                let rest = match side.read_line(input, cap) {
                    Line::Done(rest) => rest,
                    Line::More => return &[],
                    Line::TooLong => {
                        self.stop(dir);
                        return &[];
                    }
                };
                self.chunk_line(dir, body, out);
                rest
            }
        }
    }

    /// A complete line of chunked framing (RFC 9112 §7.1) is in the buffer.
    fn chunk_line(&mut self, dir: Direction, body: Body, out: &mut Vec<AppRecord>) {
        let side = self.side(dir);
        let line = side.line();
        let next = match body {
            Body::ChunkSize => match parse_chunk_size(line) {
                Some(0) => Some(Body::Trailer),
                Some(n) => Some(Body::ChunkData(n)),
                None => None,
            },
            Body::ChunkDataEnd if line.is_empty() => Some(Body::ChunkSize),
            Body::Trailer if line.is_empty() => {
                self.body_done(dir, out);
                return;
            }
            Body::Trailer => {
                side.trailer_bytes = side.trailer_bytes.saturating_add(side.buf.len());
                side.trailer_fields += 1;
                (side.trailer_fields <= MAX_HEADER_FIELDS).then_some(Body::Trailer)
            }
            _ => None,
        };
        match next {
            Some(next) => {
                side.buf.clear();
                side.state = State::Body(next);
            }
            None => self.stop(dir),
        }
    }

    /// The current message's body has been read.
    fn body_done(&mut self, dir: Direction, out: &mut Vec<AppRecord>) {
        let side = self.side(dir);
        let len = side.body_len;
        side.reset();
        match dir {
            Direction::ToServer => {
                if let Some(e) = self.pending.back_mut().filter(|e| !e.req_done) {
                    e.tx.request_body_length = Some(len);
                    e.req_done = true;
                }
            }
            Direction::ToClient => self.complete_response(Some(len)),
        }
        self.emit_ready(out);
    }

    /// The response in progress is complete with this body length.
    fn complete_response(&mut self, len: Option<u64>) {
        if let Some(e) = self.pending.iter_mut().find(|e| e.answered && !e.resp_done) {
            e.tx.length = len;
            e.resp_done = true;
        }
    }

    /// A complete request header section.
    fn on_request(&mut self, raw: &[u8]) {
        let Some(head) = parse_head(raw) else {
            self.stop(Direction::ToServer);
            return;
        };
        let Some((method, target, version)) = parse_request_line(head.start) else {
            self.stop(Direction::ToServer);
            return;
        };
        if self.txs >= MAX_RECORDS_PER_FLOW || self.pending.len() >= MAX_PENDING {
            self.stop(Direction::ToServer);
            return;
        }
        self.txs += 1;
        let mut tx = HttpTx {
            url: cap_str(target, MAX_URL_LEN),
            http_method: cap_str(method, MAX_FIELD_LEN),
            protocol: cap_str(version, MAX_FIELD_LEN),
            ..HttpTx::default()
        };
        tx.hostname = head
            .field(b"host")
            .map(|h| cap_str(host_without_port(h), MAX_FIELD_LEN).to_ascii_lowercase());
        tx.http_user_agent = head.field(b"user-agent").map(|v| cap_str(v, MAX_FIELD_LEN));
        tx.http_refer = head.field(b"referer").map(|v| cap_str(v, MAX_FIELD_LEN));
        tx.service = wire::elasticsearch_path(target).then_some(ELASTICSEARCH);
        let framing = head.framing();
        tx.inspect = Some(Box::new(inspect(&head, framing)));
        let mut entry = Entry {
            tx,
            head: method == b"HEAD",
            connect: method == b"CONNECT",
            h2c: has_token(head.values(b"upgrade"), b"h2c"),
            req_done: true,
            answered: false,
            resp_done: false,
        };
        let side = self.side(Direction::ToServer);
        side.reset();
        match framing {
            // RFC 9112 §6.3 rule 6: a request without framing has no body.
            Framing::None => {}
            Framing::Length(0) => entry.tx.request_body_length = Some(0),
            Framing::Length(n) => {
                entry.req_done = false;
                side.state = State::Body(Body::Length(n));
            }
            Framing::Chunked => {
                entry.req_done = false;
                side.state = State::Body(Body::ChunkSize);
            }
            // Rule 4/5: the body cannot be delimited; nothing after it can
            // be trusted.
            Framing::Invalid | Framing::OtherCoding => side.stop(),
        }
        self.pending.push_back(entry);
    }

    /// A complete response header section.
    fn on_response(&mut self, raw: &[u8], out: &mut Vec<AppRecord>) {
        let Some(head) = parse_head(raw) else {
            self.stop(Direction::ToClient);
            return;
        };
        let Some(status) = parse_status_line(head.start) else {
            self.stop(Direction::ToClient);
            return;
        };
        self.side(Direction::ToClient).reset();
        if (100..200).contains(&status) && status != 101 {
            return; // Interim response (RFC 9110 §15.2); the final one follows.
        }
        let content_type = head
            .field(b"content-type")
            .map(|v| cap_str(v, MAX_FIELD_LEN));
        let entry = self.pending.iter_mut().find(|e| !e.answered);
        let mut h2c = None;
        let (is_head, is_connect) = match entry {
            Some(e) => {
                e.answered = true;
                e.tx.status = Some(status);
                e.tx.http_content_type = content_type;
                if head
                    .field(b"x-elastic-product")
                    .is_some_and(|v| v.eq_ignore_ascii_case(b"elasticsearch"))
                {
                    e.tx.service = Some(ELASTICSEARCH);
                }
                // RFC 7540 §3.2: the server accepts with 101 and `Upgrade:
                // h2c`; HTTP/2 frames follow at once.
                if status == 101 && e.h2c && has_token(head.values(b"upgrade"), b"h2c") {
                    h2c = Some(Http2Parser::after_upgrade(&e.tx));
                }
                (e.head, e.connect)
            }
            None => (false, false),
        };
        if status == 101 || (is_connect && (200..300).contains(&status)) {
            // The connection leaves HTTP/1.x (RFC 9110 §15.2.2, §9.3.6).
            self.h2 = h2c.map(Box::new);
            self.complete_response(Some(0));
            self.stop(Direction::ToServer);
            self.stop(Direction::ToClient);
            self.emit_ready(out);
            return;
        }
        if is_head || status == 204 || status == 304 {
            self.complete_response(Some(0));
            self.emit_ready(out);
            return;
        }
        let body = match head.framing() {
            Framing::Chunked => Body::ChunkSize,
            Framing::Length(0) => {
                self.complete_response(Some(0));
                self.emit_ready(out);
                return;
            }
            Framing::Length(n) => Body::Length(n),
            // §6.3 rules 4, 5 (a user agent reads until close) and 8.
            Framing::None | Framing::Invalid | Framing::OtherCoding => Body::UntilClose,
        };
        self.side(Direction::ToClient).state = State::Body(body);
    }
}

/// Whether comma-separated field values list `token` (case-insensitive).
/// The detection inputs of a request head.
fn inspect(head: &Head<'_>, framing: Framing) -> HttpInspect {
    let te: Vec<&[u8]> = head.values(b"transfer-encoding").collect();
    let has_cl = head.field(b"content-length").is_some();
    let obfuscated = te.iter().any(|v| {
        v.split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
            .any(|c| !c.is_empty() && !c.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    let length_conflict = if !te.is_empty() && obfuscated {
        Some("te_obfuscated")
    } else if !te.is_empty() && has_cl {
        Some("te_and_cl")
    } else if framing == Framing::OtherCoding {
        Some("te_not_chunked")
    } else if framing == Framing::Invalid {
        Some("cl_conflict")
    } else {
        None
    };
    let auth_scheme = head
        .field(b"authorization")
        .and_then(|v| v.split(|&b| b == b' ').next())
        .map(|s| cap_str(s, 32).to_ascii_lowercase());
    HttpInspect {
        headers: head
            .fields
            .iter()
            .take(HttpInspect::MAX_HEADERS)
            .filter(|(n, _)| !n.eq_ignore_ascii_case(b"authorization"))
            .map(|(n, v)| {
                (
                    cap_str(n, MAX_FIELD_LEN).to_ascii_lowercase(),
                    cap_str(v, HttpInspect::MAX_VALUE),
                )
            })
            .collect(),
        body: Vec::new(),
        length_conflict,
        auth_scheme,
    }
}

fn has_token<'a>(values: impl Iterator<Item = &'a [u8]>, token: &[u8]) -> bool {
    values
        .flat_map(|v| v.split(|&b| b == b','))
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

impl Head<'_> {
    /// Body framing from `Transfer-Encoding` and `Content-Length`
    /// (RFC 9112 §6.1, §6.3; RFC 9110 §8.6).
    fn framing(&self) -> Framing {
        let mut te = self.values(b"transfer-encoding").peekable();
        if te.peek().is_some() {
            let last = te
                .flat_map(|v| v.split(|&b| b == b','))
                .map(|c| c.trim_ascii())
                .filter(|c| !c.is_empty())
                .last();
            return match last {
                Some(c) if c.eq_ignore_ascii_case(b"chunked") => Framing::Chunked,
                _ => Framing::OtherCoding,
            };
        }
        let mut len: Option<u64> = None;
        for part in self
            .values(b"content-length")
            .flat_map(|v| v.split(|&b| b == b','))
        {
            let part = part.trim_ascii();
            let Some(n) = wire::parse_decimal(part) else {
                return Framing::Invalid;
            };
            if len.is_some_and(|l| l != n) {
                return Framing::Invalid;
            }
            len = Some(n);
        }
        len.map_or(Framing::None, Framing::Length)
    }
}

#[cfg(test)]
#[path = "http/tests.rs"]
mod tests;
