//! QUIC long-header packets (RFC 9000 §17.2, RFC 8999 §5.1) and legacy
//! Google QUIC public headers.
//!
//! Contract: `Match` when the datagram starts with
//! - a long header (form bit 1, fixed bit 1, RFC 9000 §17.2) of a known
//!   version: 1 (RFC 9000), `0x6b3343cf` (v2, RFC 9369 §3.1), IETF drafts
//!   23–34 (`0xff000017`–`0xff000022`), mvfst (`0xfaceb00X`) or Google
//!   `Q0dd`/`T0dd`; for IETF-style versions the connection IDs are ≤ 20
//!   bytes (§17.2) and the packet's Length field fits the datagram. A
//!   client Initial must come in a datagram of at least 1200 bytes
//!   (§14.1) and a server Initial must carry no token (§17.2.2);
//! - a Version Negotiation packet (version 0, §17.2.1) listing at least one
//!   known version, in a whole number of 4-byte entries;
//! - a legacy gQUIC public header (flags with the version bit and an
//!   8-byte connection ID, top bit clear) followed by `Q0dd`.
//!
//! Reasons: the 32-bit version is the only unencrypted constant of QUIC,
//! so the version list is closed; short-header packets carry nothing
//! recognisable and are never matched (the handshake that precedes them
//! identifies the flow). QUIC bit greasing (RFC 9287) is not accepted.

use super::be32;
use crate::dpi::{AppProto, Descriptor, Probe};
use crate::flow::Direction;

/// The QUIC descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Quic,
    ports: &[443, 80, 8443],
    probe,
};

/// Longest connection ID in QUIC v1 and v2 (RFC 9000 §17.2).
const MAX_CID: usize = 20;
/// Smallest UDP payload carrying a client Initial (RFC 9000 §14.1).
const MIN_CLIENT_INITIAL: usize = 1200;
/// Smallest Length field: a 1-byte packet number plus the 16-byte AEAD
/// tag and header-protection sample room (RFC 9001 §5.4.2).
const MIN_PAYLOAD: u64 = 20;
/// QUIC v2 (RFC 9369).
const V2: u32 = 0x6b33_43cf;

/// The wire layout a known version uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    /// RFC 9000 invariants with v1 packet types (v1, drafts, mvfst).
    V1,
    /// RFC 9369: same layout, packet types rotated (§3.2).
    V2,
    /// Google QUIC with IETF-style connection-ID lengths (Q050, T0xx).
    GoogleIetf,
    /// Google QUIC Q046–Q049: one byte of two 4-bit connection-ID lengths.
    GoogleNibble,
}

/// Classifies a version number.
fn family(version: u32) -> Option<Family> {
    match version {
        1 => Some(Family::V1),
        V2 => Some(Family::V2),
        0xff00_0017..=0xff00_0022 => Some(Family::V1),
        0xface_b001..=0xface_b00f => Some(Family::V1),
        _ => {
            let [a, b, c, d] = version.to_be_bytes();
            if !(matches!(a, b'Q' | b'T') && b == b'0' && c.is_ascii_digit() && d.is_ascii_digit())
            {
                return None;
            }
            let n = (c - b'0') * 10 + (d - b'0');
            match (a, n) {
                (b'Q', 46..=49) => Some(Family::GoogleNibble),
                (b'Q', 50..=99) | (b'T', 48..=99) => Some(Family::GoogleIetf),
                _ => None,
            }
        }
    }
}

fn probe(dir: Direction, data: &[u8]) -> Probe {
    let ok = match data.first() {
        Some(&b) if b & 0x80 != 0 => long_header(dir, b, data),
        Some(&b) => legacy_gquic(b, data),
        None => false,
    };
    if ok {
        Probe::Match
    } else {
        Probe::NotMine
    }
}

/// A long-header packet (RFC 9000 §17.2).
fn long_header(dir: Direction, first: u8, data: &[u8]) -> bool {
    let Some(version) = be32(data, 1) else {
        return false;
    };
    if version == 0 {
        return version_negotiation(data);
    }
    if first & 0x40 == 0 {
        return false;
    }
    let Some(fam) = family(version) else {
        return false;
    };
    if fam == Family::GoogleNibble {
        // DCIL/SCIL nibbles, each 0 or 3 + n (8 in practice).
        let Some(&cil) = data.get(5) else {
            return false;
        };
        let cid = |n: u8| if n == 0 { 0 } else { usize::from(n) + 3 };
        return data.len() > 6 + cid(cil >> 4) + cid(cil & 0xf);
    }
    let Some(pos) = skip_cids(data, 5, MAX_CID) else {
        return false;
    };
    if fam == Family::GoogleIetf {
        return pos < data.len();
    }
    // Packet type bits (RFC 9000 §17.2; RFC 9369 §3.2 rotates them in v2).
    let raw = (first >> 4) & 0x3;
    let kind = if fam == Family::V2 {
        raw.wrapping_sub(1) & 0x3
    } else {
        raw
    };
    match kind {
        // Initial (§17.2.2).
        0 => {
            let Some((token_len, p)) = varint(data, pos) else {
                return false;
            };
            if dir == Direction::ToServer && data.len() < MIN_CLIENT_INITIAL {
                return false;
            }
            if dir == Direction::ToClient && token_len != 0 {
                return false;
            }
            let Some(p) = usize::try_from(token_len)
                .ok()
                .and_then(|t| p.checked_add(t))
            else {
                return false;
            };
            length_fits(data, p)
        }
        // 0-RTT (client only) or Handshake (§17.2.3, §17.2.4).
        1 => dir == Direction::ToServer && length_fits(data, pos),
        2 => length_fits(data, pos),
        // Retry (§17.2.5): a token and a 16-byte integrity tag.
        _ => data.len() > pos + 16,
    }
}

/// True when the Length varint at `pos` is plausible and fits the datagram
/// (coalesced packets may follow it, §12.2).
fn length_fits(data: &[u8], pos: usize) -> bool {
    match varint(data, pos) {
        Some((len, p)) => len >= MIN_PAYLOAD && len <= data.len().saturating_sub(p) as u64,
        None => false,
    }
}

/// Skips the DCID and SCID (length-prefixed, each ≤ `max`) starting at
/// `pos`, returning the offset after them.
fn skip_cids(data: &[u8], pos: usize, max: usize) -> Option<usize> {
    let dcil = usize::from(*data.get(pos)?);
    if dcil > max {
        return None;
    }
    let scil_at = pos + 1 + dcil;
    let scil = usize::from(*data.get(scil_at)?);
    if scil > max {
        return None;
    }
    let end = scil_at + 1 + scil;
    (end <= data.len()).then_some(end)
}

/// Version Negotiation (RFC 8999 §6, RFC 9000 §17.2.1): connection IDs up
/// to 255 bytes, then a list of supported versions.
fn version_negotiation(data: &[u8]) -> bool {
    let Some(pos) = skip_cids(data, 5, 255) else {
        return false;
    };
    let list = data.get(pos..).unwrap_or_default();
    if list.is_empty() || list.len() & 3 != 0 {
        return false;
    }
    list.chunks_exact(4).any(|v| {
        <[u8; 4]>::try_from(v)
            .ok()
            .and_then(|b| family(u32::from_be_bytes(b)))
            .is_some()
    })
}

/// Legacy gQUIC public header (Q043 and older): flags, 8-byte connection
/// ID, then the version tag when the version flag is set.
fn legacy_gquic(flags: u8, data: &[u8]) -> bool {
    // 0x01 version, 0x02 public reset, 0x08 (or old 0x0c) 8-byte CID.
    if flags & 0x01 == 0 || flags & 0x02 != 0 || flags & 0x08 == 0 || flags & 0xc0 != 0 {
        return false;
    }
    match data.get(9..13) {
        Some(&[b'Q', b'0', c, d]) => c.is_ascii_digit() && d.is_ascii_digit(),
        _ => false,
    }
}

/// A QUIC variable-length integer (RFC 9000 §16): value and next offset.
fn varint(data: &[u8], pos: usize) -> Option<(u64, usize)> {
    let first = *data.get(pos)?;
    let len = 1usize << (first >> 6);
    let bytes = data.get(pos..pos + len)?;
    let mut v = u64::from(first & 0x3f);
    for &b in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(b);
    }
    Some((v, pos + len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::parse::testutil::shared_payload;
    use crate::dpi::udp::test_util::{assert_prefixes_rejected, hex};

    /// `ndpi/quic-29.pcap` frame 1: client Initial, draft-29, 1252-byte
    /// UDP payload (header shown; the encrypted rest is filler here).
    const D29_CLIENT_INITIAL: &str = "c2ff00001d12f36e07bf0b7088ef28c71d488acaaff39ffc1143944eda18beb7e548b38d375bf3c2a3bc0044b7";
    /// Frame 2: the server's Retry (117 bytes), read from the capture.
    fn d29_retry() -> Vec<u8> {
        shared_payload("ndpi__quic-29.pcap", 2)
    }
    /// Frame 4: the server's Initial (126 bytes), read from the capture.
    fn d29_server_initial() -> Vec<u8> {
        shared_payload("ndpi__quic-29.pcap", 4)
    }
    /// `ndpi/http_ipv6.pcap` frame 5: gQUIC Q025 CHLO (public header).
    const Q025_CHLO: &str =
        "0d49bee2d3f0edccd65130323501d8697e21ab650d33f17a3cf300a001000443484c4f1700";

    fn padded(h: &str, len: usize) -> Vec<u8> {
        let mut d = hex(h);
        d.resize(len, 0xa5);
        d
    }

    #[test]
    fn matches_draft29_handshake() {
        assert_eq!(
            probe(Direction::ToServer, &padded(D29_CLIENT_INITIAL, 1252)),
            Probe::Match
        );
        assert_eq!(probe(Direction::ToClient, &d29_retry()), Probe::Match);
        assert_eq!(
            probe(Direction::ToClient, &d29_server_initial()),
            Probe::Match
        );
    }

    #[test]
    fn matches_gquic() {
        assert_eq!(
            probe(Direction::ToServer, &padded(Q025_CHLO, 1350)),
            Probe::Match
        );
        // A Q046 long header (nibble CIDs: DCID 8, no SCID).
        let d = padded("c3513034365001020304050607080001", 1350);
        assert_eq!(probe(Direction::ToServer, &d), Probe::Match);
    }

    #[test]
    fn client_initial_must_be_padded() {
        assert_eq!(
            probe(Direction::ToServer, &padded(D29_CLIENT_INITIAL, 1199)),
            Probe::NotMine
        );
    }

    #[test]
    fn matches_v1_v2_and_negotiation() {
        // v1 client Initial: DCID 8, SCID 0, token 0, Length 1182.
        let v1 = padded("c000000001088394c8f03e5157080000449e", 1200);
        assert_eq!(probe(Direction::ToServer, &v1), Probe::Match);
        // v2 Initial uses type bits 01 (RFC 9369 §3.2).
        let mut v2 = v1.clone();
        v2[0] = 0xd0;
        v2[1..5].copy_from_slice(&V2.to_be_bytes());
        assert_eq!(probe(Direction::ToServer, &v2), Probe::Match);
        // Version Negotiation listing a grease version and v1.
        let vn = hex("8000000000 08 0102030405060708 00 0a1a2a3a 00000001");
        assert_eq!(probe(Direction::ToClient, &vn), Probe::Match);
        // ...listing only unknown versions.
        let vn = hex("8000000000 08 0102030405060708 00 0a1a2a3a");
        assert_eq!(probe(Direction::ToClient, &vn), Probe::NotMine);
    }

    #[test]
    fn truncations_never_panic_or_match_wrongly() {
        let c = padded(D29_CLIENT_INITIAL, 1252);
        for n in 0..c.len() {
            assert_eq!(probe(Direction::ToServer, &c[..n]), Probe::NotMine, "{n}");
        }
        // The server Initial's Length field (81) stops fitting once cut.
        assert_prefixes_rejected(probe, &d29_server_initial());
        // A Retry is recognisable down to its integrity tag.
        let r = d29_retry();
        for n in 0..r.len() {
            let _ = probe(Direction::ToClient, &r[..n]);
        }
        assert_eq!(probe(Direction::ToClient, &r[..58]), Probe::NotMine);
        let g = padded(Q025_CHLO, 1350);
        for n in 0..13 {
            assert_eq!(probe(Direction::ToServer, &g[..n]), Probe::NotMine, "{n}");
        }
    }

    #[test]
    fn near_misses_are_rejected() {
        let c = padded(D29_CLIENT_INITIAL, 1252);
        // Drafts 22 and 35, fixed bit clear, DCID of 21 bytes.
        for (at, v) in [(4, 0x16), (4, 0x23), (0, 0x82), (5, 21)] {
            let mut d = c.clone();
            d[at] = v;
            assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine, "byte {at}");
        }
        // A server Initial carrying a token.
        let mut s = d29_server_initial();
        s[42] = 0x01;
        assert_eq!(probe(Direction::ToClient, &s), Probe::NotMine);
        // gQUIC with the reset flag, or a non-digit version.
        let mut g = padded(Q025_CHLO, 1350);
        g[0] |= 0x02;
        assert_eq!(probe(Direction::ToServer, &g), Probe::NotMine);
        let mut g = padded(Q025_CHLO, 1350);
        g[11] = b'x';
        assert_eq!(probe(Direction::ToServer, &g), Probe::NotMine);
    }
}
