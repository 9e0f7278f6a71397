//! QUIC handshake parser: the TLS hellos carried in the Initial packets of
//! both directions, decrypted with the Initial keys every observer can
//! derive (RFC 9001 §5.2).
//!
//! # Contract
//! - UDP only: [`new_parser`] with `tcp == true` returns a parser that
//!   ignores its input (QUIC has no TCP mapping).
//! - Each [`AppParser::data`] call is one datagram. It may hold several
//!   coalesced long-header packets (RFC 9000 §12.2), walked by their
//!   Length fields, at most [`MAX_PACKETS_PER_DATAGRAM`]; a short header,
//!   a Version Negotiation packet (RFC 9000 §17.2.1), a Retry, a version
//!   of unknown layout or a malformed header ends the datagram.
//! - Initial keys derive from the Destination Connection ID of the
//!   client's first Initial, or of the Initials it sends after a Retry,
//!   which carry the Retry's Source Connection ID (RFC 9001 §5.2, RFC
//!   9000 §17.2.5.2). The parser keeps at most [`MAX_KEY_SETS`] candidate
//!   key sets and tries them newest first, so Initials that already use
//!   the server's chosen connection ID still decrypt. Versions: v1, v2
//!   (RFC 9369 §3.3), IETF drafts 23–34 and mvfst `faceb002`/`faceb00e`;
//!   other versions are logged from their header only.
//! - At most [`MAX_INITIALS`] Initial packets per direction are decrypted
//!   (attempted). Packets whose tag does not verify are counted in
//!   [`QuicParser::decrypt_failures`] and otherwise ignored.
//! - CRYPTO frames are reassembled by offset, in any order, up to
//!   [`packet::MAX_CRYPTO`] octets per direction (Chrome scatters its
//!   ClientHello over several frames and packets). Handshake messages
//!   (`type(1) length(3)`, RFC 8446 §4) are read from the stream with the
//!   TLS parser's [`ClientHello`] / [`ServerHello`] decoders; a
//!   HelloRetryRequest (RFC 8446 §4.1.3) is skipped.
//!
//! # Records
//! One [`QuicHandshake`] per direction (like Suricata, which logs the
//! client and the server side as separate `quic` transactions):
//! - client: as soon as its ClientHello is complete: `version`, `dcid`,
//!   `scid` (of its first Initial), `sni`, `alpn`, `ja3`, `ja4` (`q…`),
//!   `extensions`;
//! - server: as soon as its ServerHello is complete: `version`, `dcid`,
//!   `scid`, `tls_version`, `cipher_suite`, `ja3s`, `extensions`, `retry`
//!   when it sent a Retry first;
//! - at [`AppParser::finish`], a direction that sent long-header packets
//!   but whose hello was never decoded (capture started late, unknown
//!   version, hello beyond the caps) gets a record with its header fields
//!   only;
//! - Google QUIC Q024–Q043 (legacy public header): the client's CHLO
//!   gives `version`, `dcid` (the connection ID), `sni` and `ua`
//!   (Suricata's field), see [`gquic`].
//!
//! `side` (`client`/`server`) says which. Suricata's field names are kept
//! (`version` as Suricata prints it, `sni`, `ua`, `ja3`/`ja3s` objects,
//! `ja4`, `extensions` as `{name, type}`); the rest is Osprey's. After
//! Version Negotiation the client record keeps the first version's hello
//! and the server's Initials are decrypted with the new version's keys.
//!
//! # Not handled
//! Google QUIC Q046 and later (its CHLO in long-header packets, encrypted
//! from Q050 with salts Osprey does not carry: header-only records), the
//! gQUIC server side, and the TLS messages after the ServerHello
//! (EncryptedExtensions and the certificate are protected by Handshake
//! keys an observer does not have).

use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord};
use crate::dpi::records::Fingerprint;
use crate::flow::Direction;

use super::tls::hello::{ClientHello, ServerHello};

#[path = "quic/crypto.rs"]
pub mod crypto;
#[path = "quic/gquic.rs"]
pub mod gquic;
#[path = "quic/packet.rs"]
pub mod packet;

#[cfg(test)]
#[path = "quic/tests.rs"]
mod tests;

use crypto::InitialKeys;
use packet::{CryptoStream, LongHeader, PacketType};

/// Most coalesced packets read from one datagram.
pub const MAX_PACKETS_PER_DATAGRAM: usize = 16;
/// Most Initial packets decrypted (attempted) per direction.
pub const MAX_INITIALS: u8 = 8;
/// Most candidate Initial key sets per flow (first DCID, Retry, version
/// change).
pub const MAX_KEY_SETS: usize = 4;
/// Most extensions listed in a record.
pub const MAX_LISTED_EXTENSIONS: usize = 64;

/// Handshake message types (RFC 8446 §4).
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
/// Handshake message header length (RFC 8446 §4).
const HS_HEADER_LEN: usize = 4;

/// A QUIC version (RFC 9000 §15), unknown values kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuicVersion {
    /// Version 1 (RFC 9000).
    V1,
    /// Version 2 (RFC 9369).
    V2,
    /// IETF draft `n` (`0xff0000nn`).
    Draft(u8),
    /// Any other value (Google QUIC, mvfst, greased versions).
    Unknown(u32),
}

impl From<u32> for QuicVersion {
    fn from(v: u32) -> Self {
        match v {
            crypto::V1 => QuicVersion::V1,
            crypto::V2 => QuicVersion::V2,
            0xff00_0001..=0xff00_00ff => QuicVersion::Draft(v.to_be_bytes()[3]),
            _ => QuicVersion::Unknown(v),
        }
    }
}

impl From<QuicVersion> for u32 {
    fn from(v: QuicVersion) -> u32 {
        match v {
            QuicVersion::V1 => crypto::V1,
            QuicVersion::V2 => crypto::V2,
            QuicVersion::Draft(n) => 0xff00_0000 | u32::from(n),
            QuicVersion::Unknown(v) => v,
        }
    }
}

impl QuicVersion {
    /// Suricata's EVE name: the Google tag (`Q050`, `T051`) for Google
    /// versions, else the lowercase hex number (`1`, `ff00001d`,
    /// `6b3343cf`).
    pub fn eve_name(self) -> String {
        let v = u32::from(self);
        match v.to_be_bytes() {
            [a @ (b'Q' | b'T'), b, c, d] if [b, c, d].iter().all(u8::is_ascii_digit) => {
                String::from_utf8_lossy(&[a, b, c, d]).into_owned()
            }
            _ => format!("{v:x}"),
        }
    }
}

/// One TLS extension of a hello (Suricata EVE `quic.extensions[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuicExtension {
    /// IANA name, for the common ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    /// Extension type.
    #[serde(rename = "type")]
    pub kind: u16,
}

/// One side of a QUIC handshake (Suricata EVE `quic`, plus Osprey's
/// `side`, connection IDs and server parameters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuicHandshake {
    /// `client` or `server`.
    pub side: &'static str,
    /// QUIC version, Suricata style (`1`, `ff00001d`, `6b3343cf`, `Q050`).
    pub version: String,
    /// Destination Connection ID of the side's first Initial (else first
    /// long-header packet), hex.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dcid: String,
    /// Source Connection ID of the same packet, hex.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scid: String,
    /// Server name from the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// User agent (`UAID` tag) of a Google QUIC CHLO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ua: Option<String>,
    /// ALPN protocols the client offered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// JA3 of the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<Fingerprint>,
    /// JA3S of the ServerHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<Fingerprint>,
    /// JA4 of the ClientHello (`q` prefix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
    /// TLS version the server selected (`TLS 1.3`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// Cipher suite the server selected, `0x` + 4 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// The hello's extensions in order (at most
    /// [`MAX_LISTED_EXTENSIONS`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<QuicExtension>,
    /// The server sent a Retry (RFC 9000 §17.2.5) before its Initial.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retry: bool,
}

/// Builds the QUIC parser; TCP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(QuicParser::new(tcp))
}

/// IANA names of common TLS extensions (RFC 8446 §4.2 and the IANA
/// registry).
fn extension_name(t: u16) -> Option<&'static str> {
    Some(match t {
        0 => "server_name",
        1 => "max_fragment_length",
        5 => "status_request",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        16 => "alpn",
        18 => "signed_certificate_timestamp",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        28 => "record_size_limit",
        34 => "delegated_credentials",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        57 => "quic_transport_parameters",
        65281 => "renegotiation_info",
        _ => return None,
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn listed(extensions: &[u16]) -> Vec<QuicExtension> {
    extensions
        .iter()
        .take(MAX_LISTED_EXTENSIONS)
        .map(|&kind| QuicExtension {
            name: extension_name(kind),
            kind,
        })
        .collect()
}

/// Header fields of the packet a side's record names.
#[derive(Debug, Clone, Default)]
struct SeenHeader {
    version: u32,
    dcid: Vec<u8>,
    scid: Vec<u8>,
    /// From an Initial packet (preferred over other types).
    initial: bool,
}

/// Per-direction state.
#[derive(Debug, Default)]
struct Side {
    /// Header of the first Initial (else first long-header packet).
    header: Option<SeenHeader>,
    /// Initial packets decrypted or attempted.
    initials: u8,
    /// Largest packet number decrypted (RFC 9000 §17.1).
    largest_pn: Option<u64>,
    /// Version of the last decrypted Initial.
    version: u32,
    /// Initial-level CRYPTO stream.
    crypto: CryptoStream,
    /// Octets of `crypto` consumed by complete handshake messages.
    parsed: usize,
    /// The record of this side was emitted; later packets are ignored.
    emitted: bool,
    /// The CRYPTO stream overflowed its cap or held a malformed hello.
    stopped: bool,
}

/// Per-flow QUIC parser; see the module documentation.
#[derive(Debug, Default)]
pub struct QuicParser {
    /// `false` for TCP flows: all input is ignored.
    active: bool,
    /// Candidate Initial key sets, oldest first.
    keys: Vec<InitialKeys>,
    /// To-server, to-client.
    sides: [Side; 2],
    /// The server sent a Retry.
    retry: bool,
    /// Initial packets whose tag did not verify under any candidate key.
    decrypt_failures: u32,
    /// Malformed headers, frames or hellos, and CRYPTO data dropped by
    /// the caps.
    malformed: u32,
}

impl QuicParser {
    /// A parser for a UDP (`tcp == false`) flow; a TCP one ignores all
    /// input.
    pub fn new(tcp: bool) -> Self {
        QuicParser {
            active: !tcp,
            ..QuicParser::default()
        }
    }

    /// Initial packets that failed to decrypt so far.
    pub fn decrypt_failures(&self) -> u32 {
        self.decrypt_failures
    }

    /// Malformed packets, frames and hellos, and CRYPTO data dropped by
    /// the caps, so far.
    pub fn malformed(&self) -> u32 {
        self.malformed
    }

    /// Handles one long-header packet (`pkt` ends at the packet's end).
    fn packet(&mut self, dir: Direction, h: &LongHeader<'_>, pkt: &[u8], out: &mut Vec<AppRecord>) {
        if h.version == 0 {
            return; // Version Negotiation: lists versions, names none.
        }
        let side = &mut self.sides[dir.idx()];
        let initial = h.ty == Some(PacketType::Initial);
        if side.header.as_ref().is_none_or(|s| !s.initial && initial) {
            side.header = Some(SeenHeader {
                version: h.version,
                dcid: h.dcid.to_vec(),
                scid: h.scid.to_vec(),
                initial,
            });
        }
        match h.ty {
            Some(PacketType::Retry) if dir == Direction::ToClient => {
                // RFC 9000 §17.2.5.2: the client's next Initials go to
                // the Retry's SCID and are protected with keys derived
                // from it; it sends its ClientHello again from offset 0.
                self.retry = true;
                self.add_keys(h.version, h.scid);
                let client = &mut self.sides[0];
                if !client.emitted {
                    client.crypto = CryptoStream::default();
                    client.parsed = 0;
                    client.stopped = false;
                }
            }
            Some(PacketType::Initial) => self.initial(dir, h, pkt, out),
            _ => {}
        }
    }

    /// A client datagram with a legacy Google QUIC public header: its
    /// CHLO gives the client record (see [`gquic`]).
    fn legacy_gquic(&mut self, bytes: &[u8], out: &mut Vec<AppRecord>) {
        let side = &mut self.sides[0];
        if side.emitted || side.initials >= MAX_INITIALS {
            return;
        }
        let Some(chlo) = gquic::parse_chlo(bytes) else {
            return; // short header, or no version: nothing to read
        };
        side.initials += 1;
        if side.header.is_none() {
            side.header = Some(SeenHeader {
                version: chlo.version,
                dcid: chlo.cid,
                scid: Vec::new(),
                initial: true,
            });
        }
        if chlo.sni.is_some() || chlo.ua.is_some() {
            let mut rec = header_record(Direction::ToServer, side);
            rec.sni = chlo.sni;
            rec.ua = chlo.ua;
            side.emitted = true;
            out.push(AppRecord::Quic(rec));
        }
    }

    /// Adds a candidate key set unless known or the table is full;
    /// returns its index.
    fn add_keys(&mut self, version: u32, dcid: &[u8]) -> Option<usize> {
        if let Some(i) = self
            .keys
            .iter()
            .position(|k| k.version == version && k.dcid == dcid)
        {
            return Some(i);
        }
        if self.keys.len() >= MAX_KEY_SETS {
            return None;
        }
        self.keys.push(InitialKeys::derive(version, dcid)?);
        Some(self.keys.len() - 1)
    }

    /// Decrypts an Initial packet and feeds its CRYPTO frames.
    fn initial(
        &mut self,
        dir: Direction,
        h: &LongHeader<'_>,
        pkt: &[u8],
        out: &mut Vec<AppRecord>,
    ) {
        let d = dir.idx();
        {
            let side = &mut self.sides[d];
            if side.emitted && dir == Direction::ToServer {
                // After Version Negotiation the client starts over in
                // another version (RFC 9000 §6.2): keep the key set the
                // server's Initials will use.
                if !self.keys.iter().any(|k| k.version == h.version) {
                    self.add_keys(h.version, h.dcid);
                }
                return;
            }
            if side.emitted || side.stopped || side.initials >= MAX_INITIALS {
                return;
            }
            side.initials += 1;
        }
        let largest = self.sides[d].largest_pn;
        let try_open = |k: &InitialKeys| {
            let keys = if dir == Direction::ToServer {
                &k.client
            } else {
                &k.server
            };
            keys.open(pkt, h.pn_offset, largest)
        };
        let mut opened = self
            .keys
            .iter()
            .rev()
            .filter(|k| k.version == h.version)
            .find_map(try_open);
        if opened.is_none() && dir == Direction::ToServer {
            let known = self
                .keys
                .iter()
                .any(|k| k.version == h.version && k.dcid == h.dcid);
            if !known {
                opened = self
                    .add_keys(h.version, h.dcid)
                    .and_then(|i| self.keys.get(i))
                    .and_then(try_open);
            }
        }
        let Some((pn, plain)) = opened else {
            self.decrypt_failures += 1;
            return;
        };
        let side = &mut self.sides[d];
        if side.version != 0 && side.version != h.version {
            // A new version after Version Negotiation: the handshake
            // starts over (RFC 9000 §6.2).
            side.crypto = CryptoStream::default();
            side.parsed = 0;
        }
        side.largest_pn = Some(side.largest_pn.map_or(pn, |l| l.max(pn)));
        side.version = h.version;
        let mut dropped = false;
        let ok = packet::walk_frames(&plain, &mut |off, data| {
            dropped |= !side.crypto.insert(off, data);
        });
        if !ok || dropped {
            self.malformed += 1;
        }
        self.drain_messages(dir, out);
    }

    /// Reads the complete handshake messages of a side's CRYPTO stream.
    fn drain_messages(&mut self, dir: Direction, out: &mut Vec<AppRecord>) {
        let retry = self.retry;
        let side = &mut self.sides[dir.idx()];
        while !side.emitted && !side.stopped {
            let rest = side
                .crypto
                .contiguous()
                .get(side.parsed..)
                .unwrap_or_default();
            let Some(&[ty, a, b, c]) = rest.first_chunk::<HS_HEADER_LEN>() else {
                return;
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if side.parsed + HS_HEADER_LEN + len > packet::MAX_CRYPTO {
                side.stopped = true;
                self.malformed += 1;
                return;
            }
            let Some(body) = rest.get(HS_HEADER_LEN..HS_HEADER_LEN + len) else {
                return;
            };
            side.parsed += HS_HEADER_LEN + len;
            let mut rec = header_record(dir, side);
            match (dir, ty) {
                (Direction::ToServer, HS_CLIENT_HELLO) => match ClientHello::parse(body) {
                    Some(ch) => {
                        rec.sni = ch.sni.clone();
                        rec.alpn = ch.alpns.clone();
                        rec.ja3 = Some(ch.ja3());
                        rec.ja4 = Some(ch.ja4_quic());
                        rec.extensions = listed(&ch.extensions);
                    }
                    None => {
                        side.stopped = true;
                        self.malformed += 1;
                        continue;
                    }
                },
                (Direction::ToClient, HS_SERVER_HELLO) => match ServerHello::parse(body) {
                    Some(sh) if sh.is_hello_retry_request() => continue,
                    Some(sh) => {
                        rec.tls_version = Some(super::tls::version_name(sh.version()));
                        rec.cipher_suite = Some(format!("0x{:04x}", sh.cipher));
                        rec.ja3s = Some(sh.ja3s());
                        rec.extensions = listed(&sh.extensions);
                        rec.retry = retry;
                    }
                    None => {
                        side.stopped = true;
                        self.malformed += 1;
                        continue;
                    }
                },
                _ => continue,
            }
            side.emitted = true;
            side.crypto = CryptoStream::default();
            out.push(AppRecord::Quic(rec));
        }
    }
}

/// A side's record with only its header fields (version of its last
/// decrypted Initial, else of the recorded header).
fn header_record(dir: Direction, side: &Side) -> QuicHandshake {
    let header = side.header.clone().unwrap_or_default();
    let version = if side.version != 0 {
        side.version
    } else {
        header.version
    };
    QuicHandshake {
        side: match dir {
            Direction::ToServer => "client",
            Direction::ToClient => "server",
        },
        version: QuicVersion::from(version).eve_name(),
        dcid: hex(&header.dcid),
        scid: hex(&header.scid),
        sni: None,
        ua: None,
        alpn: Vec::new(),
        ja3: None,
        ja3s: None,
        ja4: None,
        tls_version: None,
        cipher_suite: None,
        extensions: Vec::new(),
        retry: false,
    }
}

impl AppParser for QuicParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.active || self.sides.iter().all(|s| s.emitted) {
            return;
        }
        if dir == Direction::ToServer && bytes.first().is_some_and(|b| b & 0x80 == 0) {
            self.legacy_gquic(bytes, out);
            return;
        }
        let mut pos = 0;
        for _ in 0..MAX_PACKETS_PER_DATAGRAM {
            let Some(rest) = bytes.get(pos..).filter(|r| !r.is_empty()) else {
                break;
            };
            // A short header (RFC 9000 §17.3) or zero padding after the
            // coalesced packets ends the datagram.
            if rest.first().is_some_and(|b| b & 0x80 == 0) {
                break;
            }
            let Some(h) = LongHeader::parse(rest) else {
                self.malformed += 1;
                break;
            };
            let pkt = rest.get(..h.end).unwrap_or(rest);
            self.packet(dir, &h, pkt, out);
            if h.end == 0 {
                break;
            }
            pos += h.end;
        }
    }

    fn gap(&mut self, _dir: Direction) {
        // Datagrams: a lost one leaves nothing partial behind.
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        let retry = self.retry;
        for (dir, side) in [Direction::ToServer, Direction::ToClient]
            .into_iter()
            .zip(self.sides.iter_mut())
        {
            if side.emitted || side.header.is_none() {
                continue;
            }
            side.emitted = true;
            let mut rec = header_record(dir, side);
            rec.retry = retry && dir == Direction::ToClient;
            out.push(AppRecord::Quic(rec));
        }
    }
}
