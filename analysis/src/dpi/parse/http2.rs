//! HTTP/2 (RFC 9113) in clear text, with prior knowledge or after an h2c
//! upgrade (the HTTP/1 parser hands over through
//! [`Http2Parser::after_upgrade`]), and gRPC on top of it.
//!
//! Contract:
//! - `ToServer` starts with the client connection preface (§3.4); anything
//!   else stops that direction. Both directions are then read as frames
//!   (§4.1): the 9-octet header, then the payload, skipped by length for
//!   PRIORITY, PING, WINDOW_UPDATE, SETTINGS and unknown frame types
//!   (§4.1, §5.5 require unknown types to be ignored). DATA payload is
//!   counted (padding excluded, §6.1) and never buffered; for gRPC its
//!   5-octet message prefixes are read to count messages.
//! - HEADERS, PUSH_PROMISE and CONTINUATION fragments are assembled into a
//!   header block of at most [`MAX_HEADER_BLOCK`] octets and decoded with
//!   HPACK (RFC 7541), one decoder per direction whose dynamic table lives
//!   across frames and streams, so every block is decoded even for streams
//!   that are not tracked. An oversized block or a decoding error stops
//!   header decoding in that direction for good (the dynamic table can no
//!   longer be trusted); frames are still counted.
//! - Each stream becomes one [`Http2Tx`] once both directions have ended
//!   (END_STREAM, RST_STREAM) or at [`AppParser::finish`], in completion
//!   order (then by stream id). Streams promised with PUSH_PROMISE (§8.4)
//!   get their request from the promise and are marked `pushed`. GOAWAY
//!   and SETTINGS produce no record.
//! - Framing errors that make the rest meaningless (a frame on the wrong
//!   stream kind, a frame other than CONTINUATION in the middle of a header
//!   block, §6.10) stop the direction, as does a gap: HTTP/2 cannot be
//!   resynchronised and the HPACK table would be lost.
//!
//! EVE shape: like Suricata, which logs HTTP/2 transactions as `http`
//! events (`version: "2"`), every stream, gRPC or not, is an `http` event
//! with the HTTP/1 field names (`hostname`, `url`, `http_method`, `status`,
//! `length`, …), header lists, `stream_id`, and for gRPC the `grpc_*`
//! fields (service and method from `:path`, status and message from the
//! trailers, message counts, `grpc_product: "etcd"` for etcd's services).
//! `authorization` / `proxy-authorization` values are logged as
//! `<scheme> [redacted]` with `credentials_seen: true`, never in full.
//! The flow's `app_proto` becomes `grpc` ([`AppParser::refined`]) once a
//! stream carries `content-type: application/grpc*`.
//!
//! Caps: [`MAX_STREAMS`] concurrent streams (more are not tracked, as
//! Suricata's `HTTP2_MAX_STREAMS`), [`MAX_HEADER_BLOCK`] octets per header
//! block, [`MAX_STORED_HEADERS`] header fields and
//! [`MAX_STORED_HEADER_BYTES`] of them kept per side,
//! [`MAX_FIELD_LEN`] and [`MAX_URL_LEN`] per stored string (lossy UTF-8),
//! [`MAX_RECORDS_PER_FLOW`] streams per flow.

#[path = "http2/frame.rs"]
mod frame;
#[path = "http2/stream.rs"]
mod stream;

use std::collections::BTreeMap;

use loona_hpack::Decoder;
use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord, MAX_RECORDS_PER_FLOW};
use crate::dpi::AppProto;
use crate::flow::Direction;

use frame::{FrameHeader, FrameType, END_HEADERS, END_STREAM, HEADER_LEN, PADDED};
use stream::Stream;

/// Most streams tracked at once (Suricata's `HTTP2_MAX_STREAMS`).
pub const MAX_STREAMS: usize = 128;
/// Largest header block (HEADERS/PUSH_PROMISE plus CONTINUATIONs), octets.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Largest HPACK dynamic table a peer may ask for (RFC 7541 §4.2).
pub const MAX_TABLE_SIZE: usize = 64 * 1024;
/// Most header fields kept per request or response (trailers included).
pub const MAX_STORED_HEADERS: usize = 64;
/// Most octets of header names and values kept per request or response
/// (with [`MAX_STREAMS`], bounds the memory of a flow's open streams).
pub const MAX_STORED_HEADER_BYTES: usize = 4096;
/// Longest stored `:path`, bytes.
pub const MAX_URL_LEN: usize = 2048;
/// Longest other stored string (names, values, host, …), bytes.
pub const MAX_FIELD_LEN: usize = 512;
/// Octets kept of an RST_STREAM or GOAWAY payload (the rest is debug data).
const MAX_CONTROL: usize = 8;

/// RFC 9113 §3.4 client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// One header field as sent (Suricata EVE `request_headers` entries).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Http2Header {
    /// Field name (lower case in HTTP/2, §8.2.1).
    pub name: String,
    /// Field value.
    pub value: String,
}

/// One HTTP/2 stream: request, response and gRPC call (EVE `http`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Http2Tx {
    /// `:authority` (else `host`) without port, lower case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `:path` (capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `user-agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// Response `content-type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    /// `:method`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Always `"2"`.
    pub version: &'static str,
    /// Final `:status`, when a response was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response DATA octets (padding excluded), when a response was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Request DATA octets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body_length: Option<u64>,
    /// Stream identifier.
    pub stream_id: u32,
    /// Server push (PUSH_PROMISE): the request came from the server.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pushed: bool,
    /// RST_STREAM error code name (`CANCEL`, …, or `0x…`), when reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rst_stream: Option<String>,
    /// Request header fields, pseudo-headers included (capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<Http2Header>,
    /// Response header and trailer fields (capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<Http2Header>,
    /// An `authorization` or `proxy-authorization` field was sent; its
    /// value is logged as `<scheme> [redacted]`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub credentials_seen: bool,
    /// More than [`MAX_STORED_HEADERS`] fields or
    /// [`MAX_STORED_HEADER_BYTES`] were sent on a side.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub headers_truncated: bool,
    /// gRPC service (`package.Service`) from `:path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_service: Option<String>,
    /// gRPC method from `:path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_method: Option<String>,
    /// `grpc-status` (0 = OK) from the trailers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_status: Option<u32>,
    /// `grpc-message` (percent-encoded as sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_message: Option<String>,
    /// gRPC messages the client sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_request_messages: Option<u32>,
    /// gRPC messages the server sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_response_messages: Option<u32>,
    /// Product recognised from the gRPC service (`etcd`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_product: Option<&'static str>,
}

/// The HTTP/2 parser for a flow (TCP only; h2c does not run over UDP).
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    let mut p = Http2Parser::default();
    if !tcp {
        p.sides.iter_mut().for_each(Side::stop);
    }
    Box::new(p)
}

/// Reading position in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Matching the client preface; octets matched so far.
    Preface(usize),
    /// Reading a frame header.
    Header,
    /// Inside a frame's payload.
    Payload,
    /// Stopped: everything is ignored.
    Dead,
}

/// A header block waiting for its CONTINUATION frames (§6.10).
#[derive(Debug, Clone, Copy)]
struct OpenBlock {
    stream: u32,
    /// PUSH_PROMISE: the promised stream the block is the request of.
    promised: Option<u32>,
    end_stream: bool,
}

/// State of one direction.
struct Side {
    phase: Phase,
    hdr: [u8; HEADER_LEN],
    hdr_have: usize,
    frame: FrameHeader,
    /// Payload octets of the current frame not yet read.
    left: u32,
    /// Payload octets of the current frame read so far.
    pos: u32,
    /// Kept payload of the current (non-DATA) frame.
    buf: Vec<u8>,
    /// How much of the current payload to keep.
    keep: usize,
    /// DATA: pad length (§6.1), once read.
    pad: Option<u32>,
    /// Header block being assembled.
    block: Vec<u8>,
    /// The block is over [`MAX_HEADER_BLOCK`]: it is not decoded.
    block_too_big: bool,
    open: Option<OpenBlock>,
    /// HPACK decoder; `None` once decoding failed.
    decoder: Option<Decoder<'static>>,
}

impl Side {
    fn new(phase: Phase) -> Side {
        let mut d = Decoder::new();
        d.set_max_allowed_table_size(MAX_TABLE_SIZE);
        Side {
            phase,
            hdr: [0; HEADER_LEN],
            hdr_have: 0,
            frame: FrameHeader::parse(&[0; HEADER_LEN]),
            left: 0,
            pos: 0,
            buf: Vec::new(),
            keep: 0,
            pad: None,
            block: Vec::new(),
            block_too_big: false,
            open: None,
            decoder: Some(d),
        }
    }

    fn stop(&mut self) {
        self.phase = Phase::Dead;
        self.buf = Vec::new();
        self.block = Vec::new();
        self.decoder = None;
        self.open = None;
    }
}

/// Incremental HTTP/2 parser for one TCP flow (see the module doc).
pub struct Http2Parser {
    /// Per-direction state, indexed by [`Direction::idx`].
    sides: [Side; 2],
    streams: BTreeMap<u32, Stream>,
    /// Streams created so far (capped at [`MAX_RECORDS_PER_FLOW`]).
    created: u32,
    /// A stream carried gRPC.
    grpc: bool,
}

impl Default for Http2Parser {
    fn default() -> Self {
        Http2Parser {
            sides: [Side::new(Phase::Preface(0)), Side::new(Phase::Header)],
            streams: BTreeMap::new(),
            created: 0,
            grpc: false,
        }
    }
}

impl std::fmt::Debug for Http2Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Parser")
            .field("streams", &self.streams.len())
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl Http2Parser {
    /// The parser of a connection upgraded from HTTP/1.1 (`Upgrade: h2c`
    /// answered by 101, RFC 7540 §3.2): the client still sends the
    /// preface, and the upgrade request is stream 1, half-closed from the
    /// client, whose response comes as HTTP/2.
    pub fn after_upgrade(req: &crate::dpi::records::HttpTx) -> Http2Parser {
        Http2Parser {
            streams: BTreeMap::from([(1, Stream::upgraded(req))]),
            created: 1,
            ..Http2Parser::default()
        }
    }
}

impl AppParser for Http2Parser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        let mut input = bytes;
        while !input.is_empty() {
            input = match self.side(dir).phase {
                Phase::Dead => break,
                Phase::Preface(n) => self.preface(dir, n, input),
                Phase::Header => self.header(dir, input, out),
                Phase::Payload => self.payload(dir, input, out),
            };
        }
    }

    fn gap(&mut self, dir: Direction) {
        self.side(dir).stop();
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        self.sides.iter_mut().for_each(Side::stop);
        let streams = std::mem::take(&mut self.streams);
        out.extend(
            streams
                .into_values()
                .map(|s| AppRecord::Http2(s.into_record())),
        );
    }

    fn refined(&self) -> Option<AppProto> {
        self.grpc.then_some(AppProto::Grpc)
    }
}

impl Http2Parser {
    fn side(&mut self, dir: Direction) -> &mut Side {
        let [to_server, to_client] = &mut self.sides;
        match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        }
    }

    /// Client preface octets: returns the input left after them.
    fn preface<'a>(&mut self, dir: Direction, done: usize, input: &'a [u8]) -> &'a [u8] {
        let want = PREFACE.get(done..).unwrap_or_default();
        let n = want.len().min(input.len());
        let side = self.side(dir);
        if input.get(..n) != want.get(..n) {
            side.stop();
            return &[];
        }
        side.phase = if done + n == PREFACE.len() {
            Phase::Header
        } else {
            Phase::Preface(done + n)
        };
        input.get(n..).unwrap_or_default()
    }

    /// Frame-header octets: returns the input left after them.
    fn header<'a>(
        &mut self,
        dir: Direction,
        input: &'a [u8],
        out: &mut Vec<AppRecord>,
    ) -> &'a [u8] {
        let side = self.side(dir);
        let n = (HEADER_LEN - side.hdr_have).min(input.len());
        if let (Some(dst), Some(src)) = (
            side.hdr.get_mut(side.hdr_have..side.hdr_have + n),
            input.get(..n),
        ) {
            dst.copy_from_slice(src);
        }
        side.hdr_have += n;
        let rest = input.get(n..).unwrap_or_default();
        if side.hdr_have < HEADER_LEN {
            return rest;
        }
        side.hdr_have = 0;
        let h = FrameHeader::parse(&side.hdr);
        if !frame_allowed(&h, side.open.as_ref()) {
            side.stop();
            return &[];
        }
        side.frame = h;
        side.left = h.len;
        side.pos = 0;
        side.pad = None;
        side.buf.clear();
        side.keep = match h.kind {
            FrameType::Headers | FrameType::PushPromise | FrameType::Continuation => {
                MAX_HEADER_BLOCK
                    .saturating_sub(side.block.len())
                    .saturating_add(256)
            }
            FrameType::RstStream | FrameType::GoAway => MAX_CONTROL,
            _ => 0,
        };
        side.phase = Phase::Payload;
        if h.len == 0 {
            self.end_frame(dir, out);
        }
        rest
    }

    /// Payload octets: returns the input left after them.
    fn payload<'a>(
        &mut self,
        dir: Direction,
        input: &'a [u8],
        out: &mut Vec<AppRecord>,
    ) -> &'a [u8] {
        let side = self.side(dir);
        let n = usize::try_from(side.left)
            .unwrap_or(usize::MAX)
            .min(input.len());
        let (now, rest) = input.split_at_checked(n).unwrap_or((input, &[]));
        if side.frame.kind == FrameType::Data {
            self.data_octets(dir, now);
        } else {
            let room = side.keep.saturating_sub(side.buf.len()).min(now.len());
            side.buf
                .extend_from_slice(now.get(..room).unwrap_or_default());
            side.left -= n as u32;
            side.pos += n as u32;
        }
        if self.side(dir).left == 0 {
            self.end_frame(dir, out);
        }
        rest
    }

    /// DATA payload octets (§6.1): padding is skipped, the rest counted.
    fn data_octets(&mut self, dir: Direction, mut now: &[u8]) {
        let d = dir.idx();
        let side = self.side(dir);
        let len = side.frame.len;
        let stream_id = side.frame.stream;
        if side.frame.has(PADDED) && side.pad.is_none() {
            if let Some((&pad, rest)) = now.split_first() {
                side.pad = Some(u32::from(pad));
                side.left -= 1;
                side.pos += 1;
                now = rest;
            }
        }
        let start = side.pos;
        let data_end = len.saturating_sub(side.pad.unwrap_or(0));
        side.left -= now.len() as u32;
        side.pos += now.len() as u32;
        let take = data_end.saturating_sub(start).min(now.len() as u32) as usize;
        let data = now.get(..take).unwrap_or_default();
        if let Some(s) = self.streams.get_mut(&stream_id) {
            if let Some(b) = s.data_bytes.get_mut(d) {
                *b = b.saturating_add(data.len() as u64);
            }
            if let Some(m) = s.msgs.get_mut(d) {
                m.feed(data);
            }
        }
    }

    /// The current frame's payload has been read.
    fn end_frame(&mut self, dir: Direction, out: &mut Vec<AppRecord>) {
        let side = self.side(dir);
        side.phase = Phase::Header;
        let h = side.frame;
        let truncated = side.keep < h.len as usize;
        match h.kind {
            FrameType::Data if h.has(END_STREAM) => self.end_stream(dir, h.stream, out),
            FrameType::Headers | FrameType::PushPromise => {
                let buf = std::mem::take(&mut side.buf);
                let fragment = frame::header_fragment(&h, &buf);
                let promised = fragment.and_then(|(p, _)| p);
                side.block.clear();
                side.block_too_big = truncated || fragment.is_none();
                side.block
                    .extend_from_slice(fragment.map_or(&[][..], |(_, f)| f));
                side.buf = buf;
                side.open = Some(OpenBlock {
                    stream: h.stream,
                    promised,
                    end_stream: h.kind == FrameType::Headers && h.has(END_STREAM),
                });
                if h.has(END_HEADERS) {
                    self.close_block(dir, out);
                }
            }
            FrameType::Continuation => {
                if truncated || side.block.len().saturating_add(side.buf.len()) > MAX_HEADER_BLOCK {
                    side.block_too_big = true;
                    side.block.clear();
                } else if !side.block_too_big {
                    let buf = std::mem::take(&mut side.buf);
                    side.block.extend_from_slice(&buf);
                    side.buf = buf;
                }
                if h.has(END_HEADERS) {
                    self.close_block(dir, out);
                }
            }
            FrameType::RstStream => {
                let code = frame::be_u32(&side.buf, 0);
                if let Some(s) = self.streams.get_mut(&h.stream) {
                    s.tx.rst_stream = code.map(frame::error_name);
                    s.ended = [true, true];
                }
                self.emit_if_complete(h.stream, out);
            }
            _ => {}
        }
        let side = self.side(dir);
        if side.buf.capacity() > 4096 {
            side.buf = Vec::new();
        }
    }

    /// The open header block is complete: decode it into its stream.
    fn close_block(&mut self, dir: Direction, out: &mut Vec<AppRecord>) {
        let [to_server, to_client] = &mut self.sides;
        let side = match dir {
            Direction::ToServer => to_server,
            Direction::ToClient => to_client,
        };
        let Some(open) = side.open.take() else {
            return;
        };
        let block = std::mem::take(&mut side.block);
        let too_big = std::mem::take(&mut side.block_too_big);
        // A PUSH_PROMISE block is the request of the promised stream.
        let (target, field_dir) = match open.promised {
            Some(p) => (p, Direction::ToServer),
            None => (open.stream, dir),
        };
        let new_stream = !self.streams.contains_key(&target)
            && (open.promised.is_some() || dir == Direction::ToServer)
            && self.streams.len() < MAX_STREAMS
            && self.created < MAX_RECORDS_PER_FLOW;
        if new_stream {
            self.created += 1;
            self.streams
                .insert(target, Stream::new(target, open.promised.is_some()));
        }
        let mut stream = self.streams.get_mut(&target);
        if too_big {
            side.decoder = None;
        } else if let Some(dec) = side.decoder.as_mut() {
            let res = dec.decode_with_cb(&block, |n, v| {
                if let Some(s) = stream.as_deref_mut() {
                    s.field(field_dir, &n, &v);
                }
            });
            if res.is_err() {
                side.decoder = None;
            }
        }
        if let Some(s) = stream {
            s.block_done(field_dir);
            if s.is_grpc() {
                self.grpc = true;
            }
        }
        if open.end_stream {
            self.end_stream(dir, open.stream, out);
        }
        let side = self.side(dir);
        if side.block.capacity() == 0 && block.capacity() <= 4096 {
            let mut block = block;
            block.clear();
            side.block = block;
        }
    }

    /// END_STREAM in direction `dir` on stream `id`.
    fn end_stream(&mut self, dir: Direction, id: u32, out: &mut Vec<AppRecord>) {
        if let Some(e) = self
            .streams
            .get_mut(&id)
            .and_then(|s| s.ended.get_mut(dir.idx()))
        {
            *e = true;
        }
        self.emit_if_complete(id, out);
    }

    fn emit_if_complete(&mut self, id: u32, out: &mut Vec<AppRecord>) {
        if self.streams.get(&id).is_some_and(Stream::complete) {
            if let Some(s) = self.streams.remove(&id) {
                out.push(AppRecord::Http2(s.into_record()));
            }
        }
    }
}

/// Whether a frame may come next (§6, §6.10): stream frames need a stream,
/// connection frames need stream 0, and an open header block admits only
/// its CONTINUATION.
fn frame_allowed(h: &FrameHeader, open: Option<&OpenBlock>) -> bool {
    if let Some(o) = open {
        return h.kind == FrameType::Continuation && h.stream == o.stream;
    }
    match h.kind {
        FrameType::Data | FrameType::Headers | FrameType::PushPromise | FrameType::RstStream => {
            h.stream != 0
        }
        FrameType::Continuation => false,
        FrameType::Settings | FrameType::Ping | FrameType::GoAway => h.stream == 0,
        FrameType::Priority | FrameType::WindowUpdate | FrameType::Unknown(_) => true,
    }
}

/// At most `cap` bytes of `bytes` as lossy UTF-8, cut on a character
/// boundary.
fn cap_str(bytes: &[u8], cap: usize) -> String {
    let mut s = String::from_utf8_lossy(bytes.get(..cap).unwrap_or(bytes)).into_owned();
    let mut end = cap.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

#[cfg(test)]
#[path = "http2/tests.rs"]
mod tests;
