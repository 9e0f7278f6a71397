//! ClientHello / ServerHello decoding and the JA3, JA3S and JA4
//! fingerprints.
//!
//! # Contract
//! - [`ClientHello::parse`] and [`ServerHello::parse`] take a handshake
//!   message body (after the four-octet header) and return `None` when it
//!   is truncated; unknown extensions and values are kept as numbers.
//!   Extensions are optional in both hellos (RFC 5246 §7.4.1.2).
//! - GREASE values (RFC 8701 §2: both octets `0x?a`, equal) are dropped
//!   from every list that feeds a fingerprint.
//! - JA3 (Salesforce): `SSLVersion,Ciphers,Extensions,EllipticCurves,
//!   EllipticCurvePointFormats`, decimal, `-`-joined, MD5. JA3S:
//!   `SSLVersion,Cipher,Extensions`. Both use the hello's legacy version.
//! - JA4 (FoxIO): `t` for TCP or `q` for QUIC, version, `d`/`i`, cipher and
//!   extension counts, ALPN marker, `_`, truncated SHA-256 of the sorted
//!   ciphers, `_`, truncated SHA-256 of the sorted extensions (SNI and
//!   ALPN excluded) followed by `_` and the signature algorithms in order.
//!
//! # Caps
//! [`MAX_EXTENSIONS`] extensions per hello (later ones are ignored),
//! [`MAX_LIST`] ciphers, groups or signature algorithms,
//! [`MAX_ALPNS`] ALPN names of at most [`MAX_NAME`] octets, SNI of at most
//! [`MAX_NAME`] octets. Everything else is bounded by the message, which
//! the caller bounds.

use std::fmt::Write as _;

use md5::{Digest, Md5};
use sha2::Sha256;

use crate::dpi::records::Fingerprint;

/// Most extensions read per hello.
pub const MAX_EXTENSIONS: usize = 128;
/// Most entries kept of a cipher, group or signature-algorithm list.
pub const MAX_LIST: usize = 512;
/// Most ALPN protocol names kept.
pub const MAX_ALPNS: usize = 16;
/// Longest SNI or ALPN name kept, in octets (longer ones are cut).
pub const MAX_NAME: usize = 255;

/// Extension code points (RFC 8446 §4.2, RFC 6066 §3, RFC 7301 §3.1).
const EXT_SERVER_NAME: u16 = 0;
const EXT_SUPPORTED_GROUPS: u16 = 10;
const EXT_EC_POINT_FORMATS: u16 = 11;
const EXT_SIGNATURE_ALGORITHMS: u16 = 13;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Whether `v` is a GREASE value (RFC 8701 §2).
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// A bounds-checked big-endian reader; every accessor returns `None`
/// instead of reading past the end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Everything not read yet.
    pub(super) fn rest(self) -> &'a [u8] {
        self.buf
    }

    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.buf.split_at_checked(n)?;
        self.buf = rest;
        Some(head)
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.buf.split_first()?;
        self.buf = rest;
        Some(b)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        let (&b, rest) = self.buf.split_first_chunk::<2>()?;
        self.buf = rest;
        Some(u16::from_be_bytes(b))
    }

    pub(super) fn u24(&mut self) -> Option<usize> {
        let (&[a, b, c], rest) = self.buf.split_first_chunk::<3>()?;
        self.buf = rest;
        Some(usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c))
    }

    /// A vector with a one-octet length prefix (RFC 8446 §3.4).
    pub(super) fn vec8(&mut self) -> Option<Reader<'a>> {
        let n = self.u8()?;
        self.take(usize::from(n)).map(Reader::new)
    }

    /// A vector with a two-octet length prefix.
    pub(super) fn vec16(&mut self) -> Option<Reader<'a>> {
        let n = self.u16()?;
        self.take(usize::from(n)).map(Reader::new)
    }

    /// A vector with a three-octet length prefix.
    pub(super) fn vec24(&mut self) -> Option<Reader<'a>> {
        let n = self.u24()?;
        self.take(n).map(Reader::new)
    }

    /// The rest as u16 values, at most [`MAX_LIST`] (an odd trailing octet
    /// is ignored).
    fn u16_list(mut self) -> Vec<u16> {
        let mut out = Vec::new();
        while out.len() < MAX_LIST {
            match self.u16() {
                Some(v) => out.push(v),
                None => break,
            }
        }
        out
    }
}

/// A name cut to [`MAX_NAME`] octets, invalid UTF-8 replaced.
fn name(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes.get(..MAX_NAME).unwrap_or(bytes)).into_owned()
}

/// The values without GREASE.
fn no_grease(v: &[u16]) -> impl Iterator<Item = u16> + '_ {
    v.iter().copied().filter(|&x| !is_grease(x))
}

/// Decimal values joined by `-` (JA3).
fn dash_join(v: impl Iterator<Item = u16>) -> String {
    let mut s = String::new();
    for (i, x) in v.enumerate() {
        if i > 0 {
            s.push('-');
        }
        let _ = write!(s, "{x}");
    }
    s
}

/// Four-hex-digit values joined by `,` (JA4).
fn hex_join(v: impl Iterator<Item = u16>) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(128);
    for (i, x) in v.enumerate() {
        if i > 0 {
            s.push(',');
        }
        for shift in [12, 8, 4, 0] {
            s.push(char::from(HEX[usize::from((x >> shift) & 0xf)]));
        }
    }
    s
}

fn md5_fingerprint(string: String) -> Fingerprint {
    let hash = Md5::digest(string.as_bytes())
        .iter()
        .fold(String::with_capacity(32), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
    Fingerprint { hash, string }
}

/// First 12 hex digits of the SHA-256 of `s`, or twelve zeros for an empty
/// list (JA4).
fn sha256_12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    Sha256::digest(s.as_bytes())
        .iter()
        .take(6)
        .fold(String::with_capacity(12), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Reads the extension block of a hello: `(type, data)` pairs, at most
/// [`MAX_EXTENSIONS`]. `None` when the block is truncated.
fn extensions(r: &mut Reader<'_>) -> Option<Vec<(u16, Vec<u8>)>> {
    if r.is_empty() {
        return Some(Vec::new());
    }
    let mut block = r.vec16()?;
    let mut out = Vec::new();
    while !block.is_empty() && out.len() < MAX_EXTENSIONS {
        let ty = block.u16()?;
        let data = block.vec16()?;
        out.push((ty, data.buf.to_vec()));
    }
    Some(out)
}

/// The fields of a ClientHello (RFC 8446 §4.1.2) that Osprey reports or
/// fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version`.
    pub legacy_version: u16,
    /// Offered cipher suites, in order (GREASE included).
    pub ciphers: Vec<u16>,
    /// Extension types, in order (GREASE included).
    pub extensions: Vec<u16>,
    /// supported_groups (RFC 8446 §4.2.7).
    pub groups: Vec<u16>,
    /// ec_point_formats (RFC 8422 §5.1.2).
    pub point_formats: Vec<u8>,
    /// signature_algorithms (RFC 8446 §4.2.3).
    pub sig_algs: Vec<u16>,
    /// supported_versions (RFC 8446 §4.2.1).
    pub versions: Vec<u16>,
    /// First host_name of server_name (RFC 6066 §3).
    pub sni: Option<String>,
    /// ALPN protocol names (RFC 7301 §3.1); the first one's raw octets are
    /// in `first_alpn` for JA4.
    pub alpns: Vec<String>,
    /// First ALPN name, raw.
    pub first_alpn: Option<Vec<u8>>,
}

impl ClientHello {
    /// Decodes a ClientHello body; `None` if truncated.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let mut ch = ClientHello {
            legacy_version: r.u16()?,
            ..ClientHello::default()
        };
        r.take(32)?; // random
        r.vec8()?; // legacy_session_id
        ch.ciphers = r.vec16()?.u16_list();
        r.vec8()?; // legacy_compression_methods
        for (ty, data) in extensions(&mut r)? {
            ch.extensions.push(ty);
            ch.extension(ty, Reader::new(&data));
        }
        Some(ch)
    }

    /// Decodes one extension's data; malformed data is ignored.
    fn extension(&mut self, ty: u16, mut r: Reader<'_>) {
        match ty {
            EXT_SERVER_NAME => {
                // RFC 6066 §3: ServerNameList of (type, opaque name).
                let Some(mut list) = r.vec16() else { return };
                while let (Some(kind), Some(host)) = (list.u8(), list.vec16()) {
                    if kind == 0 {
                        self.sni = Some(name(host.buf));
                        break;
                    }
                }
            }
            EXT_SUPPORTED_GROUPS => {
                self.groups = r.vec16().map(Reader::u16_list).unwrap_or_default();
            }
            EXT_EC_POINT_FORMATS => {
                let list = r.vec8().map(|l| l.buf).unwrap_or_default();
                self.point_formats = list.to_vec();
            }
            EXT_SIGNATURE_ALGORITHMS => {
                self.sig_algs = r.vec16().map(Reader::u16_list).unwrap_or_default();
            }
            EXT_ALPN => {
                let Some(mut list) = r.vec16() else { return };
                while self.alpns.len() < MAX_ALPNS {
                    let Some(proto) = list.vec8() else { break };
                    if self.first_alpn.is_none() {
                        self.first_alpn = Some(proto.buf.to_vec());
                    }
                    self.alpns.push(name(proto.buf));
                }
            }
            EXT_SUPPORTED_VERSIONS => {
                self.versions = r.vec8().map(Reader::u16_list).unwrap_or_default();
            }
            _ => {}
        }
    }

    /// JA3 string and MD5.
    pub fn ja3(&self) -> Fingerprint {
        let formats = self.point_formats.iter().map(|&f| u16::from(f));
        md5_fingerprint(format!(
            "{},{},{},{},{}",
            self.legacy_version,
            dash_join(no_grease(&self.ciphers)),
            dash_join(no_grease(&self.extensions)),
            dash_join(no_grease(&self.groups)),
            dash_join(formats),
        ))
    }

    /// JA4 fingerprint of a hello sent over TCP (prefix `t`).
    pub fn ja4(&self) -> String {
        self.ja4_with_prefix('t')
    }

    /// JA4 fingerprint of a hello sent in QUIC Initial packets (prefix
    /// `q`; the rest is computed as for TCP).
    pub fn ja4_quic(&self) -> String {
        self.ja4_with_prefix('q')
    }

    /// JA4 with `transport` as its first character.
    fn ja4_with_prefix(&self, transport: char) -> String {
        let version = no_grease(&self.versions)
            .max()
            .unwrap_or(self.legacy_version);
        let version = match version {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let sni = if self.extensions.contains(&EXT_SERVER_NAME) {
            'd'
        } else {
            'i'
        };
        let mut ciphers: Vec<u16> = no_grease(&self.ciphers).collect();
        ciphers.sort_unstable();
        let mut exts: Vec<u16> = no_grease(&self.extensions).collect();
        let ext_count = exts.len().min(99);
        exts.retain(|&e| e != EXT_SERVER_NAME && e != EXT_ALPN);
        exts.sort_unstable();
        let mut ext_str = hex_join(exts.iter().copied());
        let sig_algs = hex_join(no_grease(&self.sig_algs));
        if !ext_str.is_empty() && !sig_algs.is_empty() {
            ext_str.push('_');
            ext_str.push_str(&sig_algs);
        }
        format!(
            "{transport}{version}{sni}{:02}{ext_count:02}{}_{}_{}",
            ciphers.len().min(99),
            alpn_marker(self.first_alpn.as_deref()),
            sha256_12(&hex_join(ciphers.iter().copied())),
            sha256_12(&ext_str),
        )
    }
}

/// JA4's ALPN part: first and last character of the first ALPN name, or of
/// its hex form when either is not ASCII alphanumeric; `00` without one.
fn alpn_marker(first: Option<&[u8]>) -> String {
    match first.and_then(|v| v.first().zip(v.last())) {
        Some((&a, &b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            format!("{}{}", char::from(a), char::from(b))
        }
        // First hex digit of the first octet, last of the last.
        Some((&a, &b)) => format!("{:x}{:x}", a >> 4, b & 0x0f),
        None => "00".into(),
    }
}

/// The fields of a ServerHello (RFC 8446 §4.1.3) that Osprey reports or
/// fingerprints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version` (the version itself before TLS 1.3).
    pub legacy_version: u16,
    /// `random`.
    pub random: [u8; 32],
    /// Selected cipher suite.
    pub cipher: u16,
    /// Extension types, in order.
    pub extensions: Vec<u16>,
    /// supported_versions' selected_version (RFC 8446 §4.2.1).
    pub selected_version: Option<u16>,
    /// Selected ALPN protocol (RFC 7301 §3.1).
    pub alpn: Option<String>,
}

impl ServerHello {
    /// Decodes a ServerHello body; `None` if truncated.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let mut r = Reader::new(body);
        let legacy_version = r.u16()?;
        let random = r.take(32)?.try_into().ok()?;
        // TLS 1.3 drafts before 22 put their version (0x7fNN) here and had
        // neither session id nor compression method
        // (draft-ietf-tls-tls13-18 §4.1.3).
        let draft = legacy_version >> 8 == 0x7f;
        if !draft {
            r.vec8()?; // legacy_session_id_echo
        }
        let mut sh = ServerHello {
            legacy_version,
            random,
            cipher: r.u16()?,
            ..ServerHello::default()
        };
        if !draft {
            r.u8()?; // legacy_compression_method
        }
        for (ty, data) in extensions(&mut r)? {
            sh.extensions.push(ty);
            let mut d = Reader::new(&data);
            match ty {
                EXT_SUPPORTED_VERSIONS => sh.selected_version = d.u16(),
                EXT_ALPN => {
                    sh.alpn = d.vec16().and_then(|mut l| l.vec8()).map(|p| name(p.buf));
                }
                _ => {}
            }
        }
        Some(sh)
    }

    /// Whether this is a HelloRetryRequest (RFC 8446 §4.1.3).
    pub fn is_hello_retry_request(&self) -> bool {
        self.random == HRR_RANDOM
    }

    /// The negotiated version: supported_versions when present (TLS 1.3),
    /// else `legacy_version`.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }

    /// JA3S string and MD5.
    pub fn ja3s(&self) -> Fingerprint {
        md5_fingerprint(format!(
            "{},{},{}",
            self.legacy_version,
            self.cipher,
            dash_join(no_grease(&self.extensions)),
        ))
    }
}
