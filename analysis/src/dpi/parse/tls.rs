//! TLS handshake parser: one [`TlsHandshake`] per connection, from the
//! cleartext part of the handshake.
//!
//! # Contract
//! - TCP only: [`new_parser`] with `tcp == false` returns a parser that
//!   ignores its input (TLS over UDP is DTLS or QUIC, different framings).
//! - Each direction is a stream of TLS records (RFC 8446 §5.1, RFC 5246
//!   §6.2): `type(1) version(2) length(2)` then the fragment. Records may be
//!   split across [`AppParser::data`] calls; only the partial five-octet
//!   header is buffered, record bodies are streamed.
//! - Handshake messages (`type(1) length(3)`, RFC 8446 §4) may span
//!   records and are reassembled in one buffer per direction of at most
//!   [`MAX_HANDSHAKE_BUFFER`] octets; a message announcing more stops the
//!   direction.
//! - Client direction: the first ClientHello gives `sni`, `client_alpns`,
//!   `ja3` and `ja4` (see [`hello`]). Server direction: the ServerHello
//!   (HelloRetryRequests, RFC 8446 §4.1.3, are skipped) gives `version`,
//!   `cipher_suite`, `server_alpn` and `ja3s`; for TLS ≤ 1.2 the first
//!   certificate of the Certificate message gives `subject` and `issuerdn`
//!   (see [`x509`]).
//! - A ChangeCipherSpec, application data, alert or heartbeat record, a
//!   malformed record header, a gap, or an oversized message stops that
//!   direction: what follows is encrypted or cannot be framed again.
//! - One record per connection: emitted as soon as both hellos and (for
//!   TLS ≤ 1.2) the certificate were seen, or when the server direction
//!   stopped after its hello (e.g. session resumption), else at
//!   [`AppParser::finish`] if anything was parsed. Everything after the
//!   emission is ignored.
//! - Malformed handshake messages are skipped (counted), never fatal; an
//!   IDS should show what it can.
//!
//! # Not handled
//! SSLv2-compatible ClientHellos (RFC 5246 Appendix E.2) stop the client
//! direction (their first octet is not a record type), so such
//! connections get only the server side. Encrypted (TLS 1.3) certificates
//! are never seen.

use crate::dpi::parser::{AppAnomaly, AppParser, AppRecord};
use crate::dpi::records::TlsHandshake;
use crate::dpi::AppProto;
use crate::flow::Direction;

#[path = "tls/hello.rs"]
pub mod hello;
#[path = "tls/x509.rs"]
pub mod x509;

#[cfg(test)]
#[path = "tls/tests.rs"]
mod tests;

use hello::{ClientHello, ServerHello};

/// Largest record fragment accepted: 2^14 plus the 2048 octets of
/// expansion TLS 1.2 allows for ciphertext (RFC 5246 §6.2.3; RFC 8446
/// §5.2 allows only 256). Larger lengths mean the stream is not TLS.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
/// Most octets buffered for one handshake message, its header included.
/// Certificate chains are the largest cleartext messages; 64 KiB holds any
/// real one.
pub const MAX_HANDSHAKE_BUFFER: usize = 64 * 1024;

/// Record header length (RFC 8446 §5.1).
const RECORD_HEADER_LEN: usize = 5;
/// Handshake message header length (RFC 8446 §4).
const HS_HEADER_LEN: usize = 4;

/// Record content types (RFC 8446 §5.1, RFC 6520 §2).
const CT_CHANGE_CIPHER_SPEC: u8 = 20;
const CT_HANDSHAKE: u8 = 22;
const CT_HEARTBEAT: u8 = 24;

/// Handshake message types (RFC 8446 §4).
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;

/// Builds the TLS parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(TlsParser::new(tcp))
}

/// Per-connection TLS parser; see the module documentation.
#[derive(Debug, Default)]
pub struct TlsParser {
    /// `false` for UDP flows: all input is ignored.
    tcp: bool,
    /// Record framing per direction: to-server, to-client.
    dirs: [DirState; 2],
    /// First ClientHello.
    client: Option<ClientHello>,
    /// The ServerHello (not a HelloRetryRequest).
    server: Option<ServerHello>,
    /// First certificate's `(subject, issuer)`, when decoded.
    cert: Option<(Option<String>, Option<String>)>,
    /// Handshake messages that failed to decode.
    malformed: u32,
    /// The record was emitted; nothing more is parsed.
    done: bool,
    /// Heartbeat watch per direction (runs on every record, also after
    /// the handshake record was emitted).
    beats: [Beats; 2],
    /// Heartbeat anomalies raised (each at most once).
    beat_events: u8,
}

/// Record framing kept only to watch heartbeats (RFC 6520): record
/// headers are read, bodies skipped, except the first three octets of a
/// heartbeat record (`type(1) payload_length(2)`).
#[derive(Debug, Default)]
struct Beats {
    header: Vec<u8>,
    /// Current record: (content type, length, body octets left).
    current: Option<(u8, usize, usize)>,
    /// First body octets of the current heartbeat record.
    beat: Vec<u8>,
    /// A ChangeCipherSpec was seen: later records are encrypted.
    encrypted: bool,
    /// Length of the last heartbeat record.
    last_beat_len: Option<usize>,
    /// Not TLS framing any more.
    stopped: bool,
}

/// A heartbeat seen by [`Beats::feed`].
struct Beat {
    len: usize,
    encrypted: bool,
    /// `(message type, payload_length)` when readable.
    head: Option<(u8, usize)>,
}

impl Beats {
    fn feed(&mut self, mut bytes: &[u8], on_beat: &mut dyn FnMut(Beat)) {
        while !bytes.is_empty() && !self.stopped {
            match self.current {
                None => {
                    let take = (RECORD_HEADER_LEN - self.header.len()).min(bytes.len());
                    self.header.extend_from_slice(&bytes[..take]);
                    bytes = &bytes[take..];
                    let Some(&[ty, major, _, hi, lo]) = self.header.first_chunk::<5>() else {
                        return;
                    };
                    self.header.clear();
                    let len = usize::from(u16::from_be_bytes([hi, lo]));
                    if !(CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&ty)
                        || major != 3
                        || len > MAX_RECORD_LEN
                    {
                        self.stopped = true;
                        return;
                    }
                    if ty == CT_CHANGE_CIPHER_SPEC {
                        self.encrypted = true;
                    }
                    self.beat.clear();
                    self.current = Some((ty, len, len));
                    if len == 0 {
                        self.record_done(on_beat);
                    }
                }
                Some((ty, len, left)) => {
                    let take = left.min(bytes.len());
                    if ty == CT_HEARTBEAT && self.beat.len() < 3 {
                        let want = (3 - self.beat.len()).min(take);
                        self.beat.extend_from_slice(&bytes[..want]);
                    }
                    bytes = &bytes[take..];
                    self.current = Some((ty, len, left - take));
                    if left == take {
                        self.record_done(on_beat);
                    }
                }
            }
        }
    }

    fn record_done(&mut self, on_beat: &mut dyn FnMut(Beat)) {
        if let Some((CT_HEARTBEAT, len, _)) = self.current {
            let head = match self.beat[..] {
                [t, hi, lo] if !self.encrypted => {
                    Some((t, usize::from(u16::from_be_bytes([hi, lo]))))
                }
                _ => None,
            };
            on_beat(Beat {
                len,
                encrypted: self.encrypted,
                head,
            });
            self.last_beat_len = Some(len);
        }
        self.current = None;
    }
}

/// Heartbeat payload padding minimum (RFC 6520 §4).
const HEARTBEAT_PADDING: usize = 16;
/// Bit of [`TlsParser::beat_events`] per event.
const BEAT_OVERFLOW: u8 = 1;
const BEAT_OVERSIZED: u8 = 2;

/// Framing state of one direction.
#[derive(Debug, Default)]
struct DirState {
    /// Partial record header.
    header: Vec<u8>,
    /// Body octets of the current handshake record still to come; 0 means
    /// a header comes next.
    body_left: usize,
    /// Partial handshake message(s) (≤ [`MAX_HANDSHAKE_BUFFER`]).
    hs: Vec<u8>,
    /// Nothing more is parsed in this direction.
    stopped: bool,
}

impl DirState {
    fn stop(&mut self) {
        self.stopped = true;
        self.header = Vec::new();
        self.hs = Vec::new();
        self.body_left = 0;
    }

    /// Feeds stream octets; complete handshake messages are passed to
    /// `on_msg` as `(type, body)`. Returns early once stopped.
    fn feed(&mut self, mut bytes: &[u8], on_msg: &mut dyn FnMut(u8, &[u8])) {
        while !bytes.is_empty() && !self.stopped {
            if self.body_left == 0 {
                let take = (RECORD_HEADER_LEN - self.header.len()).min(bytes.len());
                let (head, rest) = bytes.split_at(take);
                self.header.extend_from_slice(head);
                bytes = rest;
                if self.header.len() < RECORD_HEADER_LEN {
                    return;
                }
                let header = std::mem::take(&mut self.header);
                match record_body_len(&header) {
                    Some(0) => {}
                    Some(len) => self.body_left = len,
                    None => self.stop(),
                }
            } else {
                let take = self.body_left.min(bytes.len());
                let (body, rest) = bytes.split_at(take);
                bytes = rest;
                self.body_left -= take;
                if self.hs.len() + body.len() > MAX_HANDSHAKE_BUFFER {
                    self.stop();
                    return;
                }
                self.hs.extend_from_slice(body);
                self.drain_messages(on_msg);
            }
        }
    }

    /// Passes every complete message in the reassembly buffer to `on_msg`
    /// and keeps the incomplete tail.
    fn drain_messages(&mut self, on_msg: &mut dyn FnMut(u8, &[u8])) {
        let mut used = 0;
        loop {
            let rest = self.hs.get(used..).unwrap_or_default();
            let Some(&[ty, a, b, c]) = rest.first_chunk::<HS_HEADER_LEN>() else {
                break;
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if HS_HEADER_LEN + len > MAX_HANDSHAKE_BUFFER {
                self.stop();
                return;
            }
            let Some(body) = rest.get(HS_HEADER_LEN..HS_HEADER_LEN + len) else {
                break;
            };
            on_msg(ty, body);
            used += HS_HEADER_LEN + len;
        }
        self.hs.drain(..used.min(self.hs.len()));
    }
}

/// Validates a record header (RFC 8446 §5.1): the body length of a
/// handshake record, `None` for any other type or a header that is not
/// TLS (major version 3, length ≤ [`MAX_RECORD_LEN`]).
fn record_body_len(header: &[u8]) -> Option<usize> {
    let &[ty, major, _minor, hi, lo] = header else {
        return None;
    };
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    let plausible =
        (CT_CHANGE_CIPHER_SPEC..=CT_HEARTBEAT).contains(&ty) && major == 3 && len <= MAX_RECORD_LEN;
    // ChangeCipherSpec, alerts, application data and heartbeats end the
    // cleartext handshake (or are attacks on it): stop.
    (plausible && ty == CT_HANDSHAKE).then_some(len)
}

/// Suricata's name for a protocol version: `SSLv2`, `SSLv3`, `TLS 1.0` …
/// `TLS 1.3`, `TLS 1.3 draft-N` for the draft code points 0x7f0e–0x7f1c
/// (draft-ietf-tls-tls13 §4.2.1), else `0x` and four hex digits.
pub fn version_name(v: u16) -> String {
    match v {
        0x0002 => "SSLv2".into(),
        0x0300 => "SSLv3".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        0x7f0e..=0x7f1c => format!("TLS 1.3 draft-{}", v & 0xff),
        _ => format!("0x{v:04x}"),
    }
}

impl TlsParser {
    /// A parser for a TCP (`tcp == true`) or UDP flow; the latter ignores
    /// all input.
    pub fn new(tcp: bool) -> Self {
        TlsParser {
            tcp,
            ..TlsParser::default()
        }
    }

    /// Handshake messages that failed to decode so far.
    pub fn malformed(&self) -> u32 {
        self.malformed
    }

    /// Framing state of `dir`.
    fn dir_mut(&mut self, dir: Direction) -> &mut DirState {
        match dir {
            Direction::ToServer => &mut self.dirs[0],
            Direction::ToClient => &mut self.dirs[1],
        }
    }

    /// Handles one complete handshake message of direction `dir`.
    fn on_message(&mut self, dir: Direction, ty: u8, body: &[u8]) {
        match (dir, ty) {
            (Direction::ToServer, HS_CLIENT_HELLO) if self.client.is_none() => {
                match ClientHello::parse(body) {
                    Some(ch) => self.client = Some(ch),
                    None => self.malformed += 1,
                }
            }
            (Direction::ToClient, HS_SERVER_HELLO) if self.server.is_none() => {
                match ServerHello::parse(body) {
                    Some(sh) if sh.is_hello_retry_request() => {}
                    Some(sh) => self.server = Some(sh),
                    None => self.malformed += 1,
                }
            }
            (Direction::ToClient, HS_CERTIFICATE) if self.cert.is_none() => {
                // TLS 1.3 certificates (other layout, RFC 8446 §4.4.2) are
                // encrypted; only the TLS ≤ 1.2 layout is read here.
                let legacy = self.server.as_ref().is_some_and(|s| s.version() < 0x0304);
                if legacy {
                    match x509::first_certificate_names(body) {
                        Some(names) => self.cert = Some(names),
                        None => self.malformed += 1,
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether nothing more of interest can arrive.
    fn complete(&self) -> bool {
        let (Some(_), Some(server)) = (&self.client, &self.server) else {
            return false;
        };
        self.cert.is_some() || server.version() >= 0x0304 || self.dirs[1].stopped
    }

    /// Emits the record if anything was parsed and it was not emitted yet.
    fn emit(&mut self, out: &mut Vec<AppRecord>) {
        if self.done || (self.client.is_none() && self.server.is_none()) {
            return;
        }
        self.done = true;
        self.dirs = Default::default();
        let mut rec = TlsHandshake::default();
        if let Some(ch) = &self.client {
            rec.sni = ch.sni.clone();
            rec.client_alpns = ch.alpns.clone();
            rec.ja3 = Some(ch.ja3());
            rec.ja4 = Some(ch.ja4());
        }
        if let Some(sh) = &self.server {
            rec.version = Some(version_name(sh.version()));
            rec.cipher_suite = Some(format!("0x{:04x}", sh.cipher));
            rec.server_alpn = sh.alpn.clone();
            rec.ja3s = Some(sh.ja3s());
        }
        if let Some((subject, issuer)) = self.cert.take() {
            rec.subject = subject;
            rec.issuerdn = issuer;
        }
        out.push(AppRecord::Tls(rec));
    }
}

impl TlsParser {
    /// Watches heartbeats: a request claiming more payload than its record
    /// carries (Heartbleed, CVE-2014-0160), or — encrypted — a response
    /// record much larger than the request's.
    fn watch_beats(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        let d = dir.idx();
        let request_len = self.beats[0].last_beat_len;
        let mut events = 0u8;
        self.beats[d].feed(bytes, &mut |b: Beat| {
            if let Some((1, payload_len)) = b.head {
                if dir == Direction::ToServer && payload_len + 3 + HEARTBEAT_PADDING > b.len {
                    events |= BEAT_OVERFLOW;
                }
            }
            let oversized = request_len.is_some_and(|r| b.len > r + 64);
            if dir == Direction::ToClient && b.encrypted && oversized {
                events |= BEAT_OVERSIZED;
            }
        });
        for (bit, event) in [
            (BEAT_OVERFLOW, "tls_heartbeat_overflow"),
            (BEAT_OVERSIZED, "tls_heartbeat_response_oversized"),
        ] {
            if events & bit != 0 && self.beat_events & bit == 0 {
                self.beat_events |= bit;
                out.push(AppRecord::Anomaly(AppAnomaly::new(AppProto::Tls, event)));
            }
        }
    }
}

impl AppParser for TlsParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.tcp {
            return;
        }
        self.watch_beats(dir, bytes, out);
        if self.done {
            return;
        }
        let mut state = std::mem::take(self.dir_mut(dir));
        state.feed(bytes, &mut |ty, body| self.on_message(dir, ty, body));
        *self.dir_mut(dir) = state;
        if self.complete() {
            self.emit(out);
        }
    }

    fn gap(&mut self, dir: Direction) {
        self.dir_mut(dir).stop();
        self.beats[dir.idx()].stopped = true;
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        self.emit(out);
    }
}
