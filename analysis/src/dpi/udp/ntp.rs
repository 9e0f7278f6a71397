//! NTP (RFC 5905 §7.3; versions 1–3 share the 48-byte header, RFC 1305
//! appendix A).
//!
//! Contract: `Match` when the datagram is an NTP header of 48 bytes,
//! optionally followed by extension fields and/or a MAC (§7.5) in whole
//! 32-bit words up to [`MAX_LEN`], whose
//! - VN is 1–4 and Mode 1–5 (symmetric active/passive, client, server,
//!   broadcast; control and private modes 6–7 have another format);
//! - Stratum is 0–16 (§7.3: 0 unspecified/kiss-o'-death, 16 unsynchronised);
//!   a server reply with stratum 0 is a kiss-o'-death and needs an ASCII
//!   kiss code (§7.4);
//! - Poll is 0 (SNTP clients, RFC 4330 §5) or 3–17 (§7.3: MINPOLL 4 by
//!   default, 3 allowed by ntpd, MAXPOLL 17);
//! - Precision is −32…−1 (log2 seconds): a clock states it; only a
//!   stratum-0 packet, whose clock fields are unset, may leave it 0;
//! - a stratum-1 packet names its reference clock in ASCII (§7.3);
//! - Root Delay and Root Dispersion are below 256 s (their top byte is 0);
//! - Transmit Timestamp is non-zero (a client sets it so the reply can be
//!   matched, §8; RFC 4330 §5); a server or broadcast packet also has a
//!   non-zero Receive/Transmit time in a plausible era (after 1970 in era
//!   0, or era 1 up to 2070).
//!
//! Reasons: NTP has no magic number, so only field ranges identify it;
//! together they leave about one random 48-byte datagram in 10^8 and
//! refuse the zero-filled payloads other protocols send on port 123.
//! Client requests with a non-zero stratum are accepted because ntpd
//! sends its own stratum in client mode (seen in real captures).

use super::be32;
use crate::dpi::{AppProto, Descriptor, Probe};
use crate::flow::Direction;

/// The NTP descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Ntp,
    ports: &[123],
    probe,
};

/// NTP header length (RFC 5905 §7.3).
const HEADER_LEN: usize = 48;
/// Longest datagram accepted: header plus a few extension fields (NTS,
/// RFC 8915, stays well below this).
const MAX_LEN: usize = 1024;
/// Smallest non-zero poll exponent accepted (ntpd's floor; RFC 5905 §7.2
/// MINPOLL is 4).
const MIN_POLL: u8 = 3;
/// Largest poll exponent (RFC 5905 §7.2, MAXPOLL).
const MAX_POLL: u8 = 17;
/// Smallest precision exponent accepted (2^-32 s, finer than any clock).
const MIN_PRECISION: i8 = -32;
/// NTP seconds at the Unix epoch (1970-01-01, RFC 5905 §6).
const UNIX_EPOCH: u32 = 2_208_988_800;
/// NTP era-1 seconds around 2070: later timestamps are implausible.
const ERA1_LIMIT: u32 = 0x4000_0000;

/// Field offsets (RFC 5905 figure 8).
mod field {
    pub const STRATUM: usize = 1;
    pub const POLL: usize = 2;
    pub const PRECISION: usize = 3;
    pub const ROOT_DELAY: usize = 4;
    pub const ROOT_DISPERSION: usize = 8;
    pub const REFERENCE_ID: usize = 12;
    pub const RECEIVE_TS: usize = 32;
    pub const TRANSMIT_TS: usize = 40;
}

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    Probe::decided(matches(data))
}

fn matches(data: &[u8]) -> bool {
    if data.len() < HEADER_LEN || data.len() > MAX_LEN || data.len() & 3 != 0 {
        return false;
    }
    let (Some(&first), Some(&stratum), Some(&poll), Some(&precision)) = (
        data.first(),
        data.get(field::STRATUM),
        data.get(field::POLL),
        data.get(field::PRECISION),
    ) else {
        return false;
    };
    let version = (first >> 3) & 0x7;
    let mode = first & 0x7;
    let precision = i8::from_ne_bytes([precision]);
    if !(1..=4).contains(&version) || !(1..=5).contains(&mode) {
        return false;
    }
    let poll_ok = poll == 0 || (MIN_POLL..=MAX_POLL).contains(&poll);
    let precision_ok = (MIN_PRECISION..0).contains(&precision) || (precision == 0 && stratum == 0);
    if stratum > 16 || !poll_ok || !precision_ok {
        return false;
    }
    let (Some(delay), Some(dispersion), Some(refid), Some(rx), Some(tx)) = (
        be32(data, field::ROOT_DELAY),
        be32(data, field::ROOT_DISPERSION),
        be32(data, field::REFERENCE_ID),
        be32(data, field::RECEIVE_TS),
        be32(data, field::TRANSMIT_TS),
    ) else {
        return false;
    };
    if delay >> 24 != 0 || dispersion >> 24 != 0 || tx == 0 {
        return false;
    }
    if stratum == 1 && !ascii_code(refid) {
        return false;
    }
    match mode {
        // Server (4) or broadcast (5): the server's own clock is read.
        4 | 5 => {
            if stratum == 0 {
                // Kiss-o'-death: an ASCII kiss code such as RATE (§7.4).
                refid
                    .to_be_bytes()
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || *b == 0)
                    && refid >> 24 != 0
            } else {
                (mode == 5 || plausible(rx)) && plausible(tx)
            }
        }
        _ => true,
    }
}

/// True for a left-justified, zero-padded ASCII identifier such as `GPS`,
/// `PPS` or the kiss code `RATE` (RFC 5905 §7.3, §7.4).
fn ascii_code(refid: u32) -> bool {
    let b = refid.to_be_bytes();
    let text = b.iter().take_while(|&&c| c != 0).count();
    text > 0
        && b.iter()
            .take(text)
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && b.iter().skip(text).all(|&c| c == 0)
}

/// True when an NTP timestamp's seconds fall after 1970 in era 0, or
/// before ~2070 in era 1 (RFC 5905 §6).
fn plausible(secs: u32) -> bool {
    secs >= UNIX_EPOCH || (secs != 0 && secs < ERA1_LIMIT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::udp::test_util::{assert_prefixes_rejected, hex};

    /// `ndpi/1kxun.pcap` frame 993: ntpd v4 client request, stratum 2.
    const NTPD_CLIENT: &str =
        "230206ec000026200000f6c911fd1a7ddb4a7e8f3d3ee739db4a8184a643c768db4a8184\
        b424877edb4a81ec3f779f2c";
    /// `stopddos/amp.dns.RRSIG.fragmented.pcap` frame 2081: SNTP-style v4
    /// client request (LI 3, stratum 0).
    const SNTP_CLIENT: &str =
        "e30004fa000100000001000000000000000000000000000000000000000000000000000000\
        000000c54f234b71b152f3";
    /// A v4 server reply: stratum 2, refid 192.0.2.1, answering the
    /// request above.
    const SERVER: &str = "240206e9000001b20000029ac0000201c54f230000000000c54f234b71b152f3c54f234b\
        80000000c54f234b80100000";
    /// A RATE kiss-o'-death (§7.4).
    const KOD: &str = "e40004fa0000000000000000524154450000000000000000000000000000000000000000\
        00000000c54f234b71b152f3";

    #[test]
    fn matches_requests_and_replies() {
        assert_eq!(probe(Direction::ToServer, &hex(NTPD_CLIENT)), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &hex(SNTP_CLIENT)), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &hex(SERVER)), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &hex(KOD)), Probe::Match);
        // With a 20-byte MAC (key id + MD5, §7.5).
        let mut d = hex(NTPD_CLIENT);
        d.extend([0u8, 0, 0, 1].iter().chain([0x5a; 16].iter()));
        assert_eq!(probe(Direction::ToServer, &d), Probe::Match);
    }

    #[test]
    fn truncations_are_rejected() {
        for d in [NTPD_CLIENT, SNTP_CLIENT, SERVER, KOD] {
            assert_prefixes_rejected(probe, &hex(d));
        }
    }

    #[test]
    fn near_misses_are_rejected() {
        let client = hex(NTPD_CLIENT);
        let cases: [(usize, u8); 11] = [
            (0, 0x03), // version 0
            (0, 0x2e), // mode 6 (control)
            (0, 0x20), // mode 0
            (1, 17),   // stratum 17
            (2, 18),   // poll 18
            (2, 1),    // poll 1
            (3, 0x00), // precision 0 with a stratum
            (3, 0x20), // precision +32
            (4, 0x01), // root delay 2^24 s
            (8, 0x80), // root dispersion
            (0, 0x3b), // version 7
        ];
        for (at, v) in cases {
            let mut d = client.clone();
            d[at] = v;
            assert_eq!(
                probe(Direction::ToServer, &d),
                Probe::NotMine,
                "byte {at} = {v:#x}"
            );
        }
        // No transmit timestamp.
        let mut d = client.clone();
        d[40..48].fill(0);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // Lengths that are not whole words, or far too long.
        let mut d = client.clone();
        d.push(0);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        let mut d = client.clone();
        d.resize(1028, 0);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // A server reply with a 1940 receive time, and a KoD with a binary
        // code.
        let mut d = hex(SERVER);
        d[32] = 0x60;
        assert_eq!(probe(Direction::ToClient, &d), Probe::NotMine);
        let mut d = hex(KOD);
        d[12] = 0x01;
        assert_eq!(probe(Direction::ToClient, &d), Probe::NotMine);
        // A stratum-1 server with a binary reference ID.
        let mut d = hex(SERVER);
        d[1] = 1;
        assert_eq!(probe(Direction::ToClient, &d), Probe::NotMine);
        d[12..16].copy_from_slice(b"GPS\0");
        assert_eq!(probe(Direction::ToClient, &d), Probe::Match);
        // A DNS query (`ndpi/bad-dns-traffic.pcap`) whose header happens
        // to fit NTP's first byte and stratum: RD makes poll 1.
        let mut d = hex("0b01010000010000000000003c3064373630316664663533313332343139353533");
        d.resize(64, 0x61);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // The zero-filled 123 → 137 datagram of `zeek/ipv4_fragmented-1`.
        let mut d = vec![0u8; 296];
        d[10..].fill(0x58);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
    }
}
