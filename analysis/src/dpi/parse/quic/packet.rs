//! QUIC long headers (RFC 9000 §17.2, RFC 8999 §5.1), Initial-packet
//! frames (RFC 9000 §19) and the reassembly of the CRYPTO stream.
//!
//! # Contract
//! - [`LongHeader::parse`] never reads past its input; it returns `None`
//!   for a short header, a truncated header or a Length that overruns the
//!   datagram (RFC 9000 §17.2).
//! - [`walk_frames`] accepts only the frame types allowed in Initial
//!   packets (RFC 9000 §12.4, Table 3) and stops at any other.
//! - [`CryptoStream`] keeps at most [`MAX_CRYPTO`] octets from stream
//!   offset 0 and at most [`MAX_FRAGMENTS`] out-of-order fragments; data
//!   beyond the cap is dropped (counted by the caller through the return
//!   value).

use super::crypto::V2;

/// Longest connection ID of the known versions (RFC 9000 §17.2).
const MAX_CID: usize = 20;
/// Longest CRYPTO stream prefix kept per direction, in octets.
pub const MAX_CRYPTO: usize = 64 * 1024;
/// Most out-of-order CRYPTO fragments held per direction.
pub const MAX_FRAGMENTS: usize = 64;

/// A QUIC variable-length integer (RFC 9000 §16) at `pos`: value and the
/// offset after it.
pub fn varint(data: &[u8], pos: usize) -> Option<(u64, usize)> {
    let first = *data.get(pos)?;
    let len = 1usize << (first >> 6);
    let bytes = data.get(pos..pos.checked_add(len)?)?;
    let v = bytes
        .iter()
        .skip(1)
        .fold(u64::from(first & 0x3f), |v, &b| v << 8 | u64::from(b));
    Some((v, pos + len))
}

/// A varint as a `usize` offset or length.
fn varint_usize(data: &[u8], pos: usize) -> Option<(usize, usize)> {
    let (v, p) = varint(data, pos)?;
    Some((usize::try_from(v).ok()?, p))
}

/// Long-header packet types (RFC 9000 §17.2, Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// Initial (§17.2.2).
    Initial,
    /// 0-RTT (§17.2.3).
    ZeroRtt,
    /// Handshake (§17.2.4).
    Handshake,
    /// Retry (§17.2.5).
    Retry,
}

impl PacketType {
    /// The type from the two type bits of a known-layout version; v2
    /// rotates them (RFC 9369 §3.2).
    fn from_bits(version: u32, bits: u8) -> PacketType {
        let bits = if version == V2 {
            bits.wrapping_sub(1) & 0x3
        } else {
            bits & 0x3
        };
        match bits {
            0 => PacketType::Initial,
            1 => PacketType::ZeroRtt,
            2 => PacketType::Handshake,
            _ => PacketType::Retry,
        }
    }
}

/// Whether a version uses the RFC 9000 long-header layout (v1, v2, IETF
/// drafts 23–34, mvfst); for any other only the invariants (RFC 8999
/// §5.1) are read.
pub fn known_layout(version: u32) -> bool {
    matches!(
        version,
        1 | V2 | 0xff00_0017..=0xff00_0022 | 0xface_b001..=0xface_b00f
    )
}

/// A parsed long header; slices borrow the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongHeader<'a> {
    /// Version (0 = Version Negotiation, RFC 9000 §17.2.1).
    pub version: u32,
    /// Destination Connection ID.
    pub dcid: &'a [u8],
    /// Source Connection ID.
    pub scid: &'a [u8],
    /// Packet type; `None` for Version Negotiation and versions of unknown
    /// layout.
    pub ty: Option<PacketType>,
    /// Offset of the packet-number field (Initial, 0-RTT, Handshake).
    pub pn_offset: usize,
    /// Offset just past this packet in the datagram: the next coalesced
    /// packet starts here (RFC 9000 §12.2).
    pub end: usize,
}

impl<'a> LongHeader<'a> {
    /// Parses the long header of the packet that starts `data`.
    pub fn parse(data: &'a [u8]) -> Option<LongHeader<'a>> {
        let first = *data.first()?;
        if first & 0x80 == 0 {
            return None;
        }
        let version = u32::from_be_bytes(*data.get(1..5)?.first_chunk::<4>()?);
        if (0x5130_3436..=0x5130_3439).contains(&version) {
            // Google Q046–Q049 pack both connection-ID lengths in one
            // octet, before the invariants existed: only the version is
            // read.
            return Some(LongHeader {
                version,
                dcid: &[],
                scid: &[],
                ty: None,
                pn_offset: 0,
                end: data.len(),
            });
        }
        let known = known_layout(version);
        // RFC 8999 §5.1: connection IDs of up to 255 octets in general;
        // the known versions cap them at 20 (RFC 9000 §17.2).
        let max_cid = if known { MAX_CID } else { usize::from(u8::MAX) };
        let dcil = usize::from(*data.get(5)?);
        let dcid = data.get(6..6 + dcil)?;
        let scil = usize::from(*data.get(6 + dcil)?);
        let scid_at = 7 + dcil;
        let scid = data.get(scid_at..scid_at + scil)?;
        if dcil > max_cid || scil > max_cid {
            return None;
        }
        let mut h = LongHeader {
            version,
            dcid,
            scid,
            ty: None,
            pn_offset: 0,
            end: data.len(),
        };
        if version == 0 || !known {
            return Some(h);
        }
        let ty = PacketType::from_bits(version, first >> 4);
        h.ty = Some(ty);
        let mut pos = scid_at + scil;
        match ty {
            PacketType::Retry => return Some(h),
            PacketType::Initial => {
                let (token_len, p) = varint_usize(data, pos)?;
                pos = p.checked_add(token_len)?;
            }
            PacketType::ZeroRtt | PacketType::Handshake => {}
        }
        let (len, p) = varint_usize(data, pos)?;
        h.pn_offset = p;
        h.end = p.checked_add(len)?;
        (h.end <= data.len()).then_some(h)
    }
}

/// Frame types allowed in Initial packets (RFC 9000 §19, §12.4).
const FRAME_PADDING: u64 = 0x00;
const FRAME_PING: u64 = 0x01;
const FRAME_ACK: u64 = 0x02;
const FRAME_ACK_ECN: u64 = 0x03;
const FRAME_CRYPTO: u64 = 0x06;
const FRAME_CLOSE_QUIC: u64 = 0x1c;
const FRAME_CLOSE_APP: u64 = 0x1d;

/// Most ACK ranges walked in one ACK frame; more means a hostile frame.
const MAX_ACK_RANGES: u64 = 256;

/// Walks the frames of a decrypted Initial payload, passing each CRYPTO
/// frame's `(offset, data)` to `on_crypto`. Returns `false` when the
/// payload ends in a malformed frame or holds a frame type not allowed in
/// Initial packets (the frames before it were still delivered).
pub fn walk_frames(payload: &[u8], on_crypto: &mut dyn FnMut(u64, &[u8])) -> bool {
    let mut pos = 0;
    while pos < payload.len() {
        let Some((ty, p)) = varint(payload, pos) else {
            return false;
        };
        pos = p;
        let next = match ty {
            FRAME_PADDING | FRAME_PING => Some(pos),
            FRAME_ACK | FRAME_ACK_ECN => skip_ack(payload, pos, ty == FRAME_ACK_ECN),
            FRAME_CRYPTO => (|| {
                let (offset, p) = varint(payload, pos)?;
                let (len, p) = varint_usize(payload, p)?;
                let data = payload.get(p..p.checked_add(len)?)?;
                on_crypto(offset, data);
                Some(p + len)
            })(),
            FRAME_CLOSE_QUIC | FRAME_CLOSE_APP => (|| {
                let (_code, mut p) = varint(payload, pos)?;
                if ty == FRAME_CLOSE_QUIC {
                    p = varint(payload, p)?.1; // frame type
                }
                let (len, p) = varint_usize(payload, p)?;
                let end = p.checked_add(len)?;
                (end <= payload.len()).then_some(end)
            })(),
            _ => None,
        };
        match next {
            Some(n) => pos = n,
            None => return false,
        }
    }
    true
}

/// Skips an ACK frame's body (RFC 9000 §19.3).
fn skip_ack(payload: &[u8], pos: usize, ecn: bool) -> Option<usize> {
    let (_largest, p) = varint(payload, pos)?;
    let (_delay, p) = varint(payload, p)?;
    let (ranges, p) = varint(payload, p)?;
    let (_first, mut p) = varint(payload, p)?;
    if ranges > MAX_ACK_RANGES {
        return None;
    }
    for _ in 0..ranges * 2 {
        p = varint(payload, p)?.1;
    }
    if ecn {
        for _ in 0..3 {
            p = varint(payload, p)?.1;
        }
    }
    Some(p)
}

/// The CRYPTO stream of one direction at the Initial level, reassembled
/// by offset from frames that may arrive out of order, duplicated or
/// overlapping (RFC 9000 §19.6). First-received octets win.
#[derive(Debug, Default)]
pub struct CryptoStream {
    /// Contiguous octets from offset 0 (≤ [`MAX_CRYPTO`]).
    contig: Vec<u8>,
    /// Fragments beyond `contig`, in arrival order.
    pending: Vec<(usize, Vec<u8>)>,
    /// Octets held in `pending`.
    pending_len: usize,
}

impl CryptoStream {
    /// The contiguous prefix received so far.
    pub fn contiguous(&self) -> &[u8] {
        &self.contig
    }

    /// Adds a fragment; returns `false` when (part of) it was dropped by
    /// the caps.
    pub fn insert(&mut self, offset: u64, data: &[u8]) -> bool {
        let Ok(offset) = usize::try_from(offset) else {
            return false;
        };
        if offset >= MAX_CRYPTO {
            return data.is_empty();
        }
        let room = MAX_CRYPTO - offset;
        let kept = data.get(..room).unwrap_or(data);
        let complete = kept.len() == data.len();
        if offset <= self.contig.len() {
            self.append(offset, kept);
            self.drain_pending();
            complete
        } else if self.pending.len() < MAX_FRAGMENTS && self.pending_len + kept.len() <= MAX_CRYPTO
        {
            self.pending_len += kept.len();
            self.pending.push((offset, kept.to_vec()));
            complete
        } else {
            false
        }
    }

    /// Appends the part of `data` (at `offset` ≤ contig length) beyond the
    /// contiguous prefix.
    fn append(&mut self, offset: usize, data: &[u8]) {
        let skip = self.contig.len() - offset;
        if let Some(new) = data.get(skip..) {
            self.contig.extend_from_slice(new);
        }
    }

    /// Moves every pending fragment that now touches the prefix into it.
    fn drain_pending(&mut self) {
        while let Some(i) = self
            .pending
            .iter()
            .position(|(off, _)| *off <= self.contig.len())
        {
            let (off, data) = self.pending.swap_remove(i);
            self.pending_len -= data.len();
            self.append(off, &data);
        }
    }
}
