//! Google QUIC (Q024–Q043) client hellos: the legacy public header and
//! the cleartext CHLO handshake message of the crypto stream.
//!
//! # Contract
//! - [`parse_chlo`] takes one datagram from the client and returns its
//!   version and connection ID, plus `sni` and `ua` when the packet's
//!   first STREAM frame is on the crypto stream (stream 1) and starts a
//!   CHLO; `None` when the datagram is not a legacy public header with
//!   a version.
//! - Layout (Chromium's `quic_framer.cc`, documented in the gQUIC wire
//!   specification): public flags (0x01 version, 0x02 reset, 0x08 eight-
//!   octet connection ID, 0x30 packet-number length), connection ID,
//!   version tag, packet number; before Q044 a 12-octet hash of the
//!   unencrypted packet follows, and before Q034 a private-flags octet.
//!   Frame fields are little-endian before Q039, big-endian after; the
//!   handshake message is always little-endian: tag, entry count, two
//!   padding octets, `(tag, end offset)` entries, then the values.
//! - Only a CHLO contained in the first packet is read (no reassembly
//!   over packets): real clients send it in one padded datagram. Values
//!   are cut at [`MAX_VALUE`] octets.

/// Longest SNI or UAID value kept, in octets.
pub const MAX_VALUE: usize = 255;
/// Most CHLO tag entries walked.
const MAX_TAGS: usize = 128;

/// Public flags (gQUIC wire specification, "Public Header").
const FLAG_VERSION: u8 = 0x01;
const FLAG_RESET: u8 = 0x02;
const FLAG_CID8: u8 = 0x08;

/// What a client's first gQUIC packet tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chlo {
    /// Version tag as a number (`Q025` = 0x51303235).
    pub version: u32,
    /// Connection ID.
    pub cid: Vec<u8>,
    /// `SNI` tag value.
    pub sni: Option<String>,
    /// `UAID` tag value (user agent).
    pub ua: Option<String>,
}

/// The two-digit number of a `Q0dd` version tag.
fn q_number(version: [u8; 4]) -> Option<u8> {
    match version {
        [b'Q', b'0', a, b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some((a - b'0') * 10 + (b - b'0'))
        }
        _ => None,
    }
}

/// An unsigned integer of `n` ≤ 8 octets at `pos`.
fn uint(d: &[u8], pos: usize, n: usize, little: bool) -> Option<(u64, usize)> {
    let bytes = d.get(pos..pos.checked_add(n)?)?;
    let fold = |v: u64, &b: &u8| v << 8 | u64::from(b);
    let v = if little {
        bytes.iter().rev().fold(0, fold)
    } else {
        bytes.iter().fold(0, fold)
    };
    Some((v, pos + n))
}

/// Parses a client's legacy gQUIC packet; see the module documentation.
pub fn parse_chlo(d: &[u8]) -> Option<Chlo> {
    let flags = *d.first()?;
    if flags & 0x80 != 0
        || flags & FLAG_VERSION == 0
        || flags & FLAG_RESET != 0
        || flags & FLAG_CID8 == 0
    {
        return None;
    }
    let cid = d.get(1..9)?;
    let tag: [u8; 4] = d.get(9..13)?.try_into().ok()?;
    let n = q_number(tag)?;
    let mut chlo = Chlo {
        version: u32::from_be_bytes(tag),
        cid: cid.to_vec(),
        ..Chlo::default()
    };
    let pn_len = match (flags >> 4) & 0x3 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => 6,
    };
    let mut pos = 13 + pn_len;
    if n <= 43 {
        pos += 12; // message authentication hash of the null encryption
    }
    if n < 34 {
        pos += 1; // private flags
    }
    if let Some((sni, ua)) = first_stream_chlo(d, pos, n < 39) {
        chlo.sni = sni;
        chlo.ua = ua;
    }
    Some(chlo)
}

/// Reads the frames from `pos` up to the first STREAM frame; when it is on
/// stream 1 and starts a CHLO, returns its SNI and UAID values.
fn first_stream_chlo(
    d: &[u8],
    mut pos: usize,
    little: bool,
) -> Option<(Option<String>, Option<String>)> {
    let ty = *d.get(pos)?;
    pos += 1;
    // STREAM frame type `1fdooossB` (top bit set).
    if ty & 0x80 == 0 {
        return None;
    }
    let has_len = ty & 0x20 != 0;
    let off_len = match (ty >> 2) & 0x7 {
        0 => 0,
        o => usize::from(o) + 1,
    };
    let sid_len = usize::from(ty & 0x3) + 1;
    let (stream, p) = uint(d, pos, sid_len, little)?;
    let (_offset, p) = uint(d, p, off_len, little)?;
    let data = if has_len {
        let (len, p) = uint(d, p, 2, little)?;
        d.get(p..p.checked_add(usize::try_from(len).ok()?)?)?
    } else {
        d.get(p..)?
    };
    if stream != 1 {
        return None;
    }
    chlo_values(data)
}

/// The SNI and UAID values of a CHLO handshake message.
fn chlo_values(msg: &[u8]) -> Option<(Option<String>, Option<String>)> {
    if msg.get(..4)? != b"CHLO" {
        return None;
    }
    let (count, _) = uint(msg, 4, 2, true)?;
    let count = usize::try_from(count).ok()?.min(MAX_TAGS);
    let values_at = 8 + count * 8;
    let values = msg.get(values_at..).unwrap_or_default();
    let (mut sni, mut ua) = (None, None);
    let mut start = 0usize;
    for i in 0..count {
        let at = 8 + i * 8;
        let Some(tag) = msg.get(at..at + 4) else {
            break;
        };
        let Some((end, _)) = uint(msg, at + 4, 4, true) else {
            break;
        };
        let Ok(end) = usize::try_from(end) else { break };
        let value = values.get(start..end);
        start = end;
        let Some(value) = value else { continue };
        let text = || String::from_utf8_lossy(value.get(..MAX_VALUE).unwrap_or(value)).into_owned();
        match tag {
            b"SNI\0" => sni = Some(text()),
            b"UAID" => ua = Some(text()),
            _ => {}
        }
    }
    Some((sni, ua))
}
