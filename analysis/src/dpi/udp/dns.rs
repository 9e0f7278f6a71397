//! DNS over UDP, including multicast DNS (RFC 6762) and LLMNR (RFC 4795),
//! which share the DNS message format (RFC 1035 §4.1).
//!
//! Contract: `Match` when the datagram is a DNS message whose
//! - header (§4.1.1) has an assigned opcode (0 QUERY, 1 IQUERY, 2 STATUS,
//!   4 NOTIFY RFC 1996, 5 UPDATE RFC 2136, 6 DSO RFC 8490), the reserved Z
//!   bit clear (AD and CD, RFC 4035 §3.2, may be set), an assigned RCODE
//!   (0–11) and RCODE 0 in a query;
//! - counts are sane: QDCOUNT ≤ [`MAX_QDCOUNT`], and the smallest possible
//!   encoding of all counted questions (5 bytes) and records (11 bytes)
//!   fits in the datagram;
//! - every question (§4.1.2) has a well-formed name, a non-zero QTYPE and
//!   a QCLASS of IN, CH, HS or ANY (IN may carry the mDNS unicast-response
//!   bit, RFC 6762 §5.4); only a response may have no question (mDNS
//!   announcements, RFC 6762 §6), and then its first answer needs a
//!   non-zero TYPE and CLASS IN (cache-flush bit allowed, RFC 6762 §10.2);
//! - every counted resource record (§4.1.3) has a well-formed name and
//!   its RDATA in the datagram, and the last one ends the datagram exactly.
//!
//! The exact end is what makes the probe strict (a random header that
//! passes the count checks almost never tiles the datagram), at the cost
//! of refusing responses cut by a capture snap length; the query of such
//! a flow is short and still identifies it.
//!
//! Names (§4.1.4, RFC 1035 §2.3.4): labels ≤ 63 bytes without control
//! characters, at most 255 bytes in all, compression pointers only to
//! earlier offsets inside the message body; other label types (`0x40`,
//! `0x80`, RFC 6891 §5) are refused.
//!
//! NetBIOS Name Service (RFC 1002 §4.2) reuses this header too, but its
//! questions are 32-letter `A`–`P` encoded names of type NB/NBSTAT: those
//! are refused, since NBNS is not DNS.

use super::be16;
use crate::dpi::dns_name::{walk_name, NameWalk};
use crate::dpi::{AppProto, Descriptor, Probe};
use crate::flow::Direction;

/// The DNS descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Dns,
    ports: &[53, 5353, 5355],
    probe,
};

/// DNS header length (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// Most questions accepted in one message. Unicast queries carry one, but
/// mDNS service browsing asks many at once (18 in a macOS capture).
const MAX_QDCOUNT: u16 = 64;
/// Smallest question: root name, QTYPE, QCLASS.
const MIN_QUESTION: usize = 5;
/// Smallest resource record: root name, TYPE, CLASS, TTL, RDLENGTH.
const MIN_RR: usize = 11;
/// Most compression pointers followed in one name.
const MAX_POINTERS: usize = 32;

/// Header flag bits (RFC 1035 §4.1.1).
const QR: u16 = 0x8000;
const Z: u16 = 0x0040;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    Probe::decided(matches(data))
}

fn matches(data: &[u8]) -> bool {
    let (Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) = (
        be16(data, 2),
        be16(data, 4),
        be16(data, 6),
        be16(data, 8),
        be16(data, 10),
    ) else {
        return false;
    };
    let opcode = (flags >> 11) & 0xf;
    let rcode = flags & 0xf;
    let response = flags & QR != 0;
    if opcode > 6 || opcode == 3 || flags & Z != 0 || rcode > 11 || (!response && rcode != 0) {
        return false;
    }
    if qd > MAX_QDCOUNT {
        return false;
    }
    let rrs = usize::from(an) + usize::from(ns) + usize::from(ar);
    let min_len = HEADER_LEN + usize::from(qd) * MIN_QUESTION + rrs * MIN_RR;
    if min_len > data.len() {
        return false;
    }
    if qd == 0 && !(response && an > 0) {
        return false;
    }
    let mut pos = HEADER_LEN;
    for i in 0..qd {
        let Some(end) = name_end(data, pos) else {
            return false;
        };
        let (Some(qtype), Some(qclass)) = (be16(data, end), be16(data, end + 2)) else {
            return false;
        };
        if qtype == 0 || !matches!(qclass, 1 | 3 | 4 | 255 | 0x8001) {
            return false;
        }
        if i == 0 && is_netbios(data, pos, qtype) {
            return false;
        }
        pos = end + 4;
    }
    // Every counted record must parse, and the last one must end the
    // datagram: nothing is missing and nothing follows.
    for i in 0..rrs {
        let Some(end) = record_end(data, pos, qd == 0 && i == 0) else {
            return false;
        };
        pos = end;
    }
    pos == data.len()
}

/// Walks the resource record at `pos` (RFC 1035 §4.1.3); returns the
/// offset past its RDATA. The first answer of a question-less response
/// (mDNS announcement, RFC 6762 §6) must also have CLASS IN (cache-flush
/// bit allowed, RFC 6762 §10.2) and a non-zero TYPE, since it is the only
/// structure such a message has beyond its header.
fn record_end(data: &[u8], pos: usize, first_of_answers: bool) -> Option<usize> {
    let end = name_end(data, pos)?;
    let rtype = be16(data, end)?;
    let class = be16(data, end + 2)?;
    let rdlen = usize::from(be16(data, end + 8)?);
    if first_of_answers && (rtype == 0 || class & 0x7fff != 1) {
        return None;
    }
    let next = end + 10 + rdlen;
    (next <= data.len()).then_some(next)
}

/// Walks the name at `pos`; returns the offset just past it (past the
/// first pointer if it is compressed), or `None` if it is malformed.
fn name_end(data: &[u8], pos: usize) -> Option<usize> {
    match walk_name(data, pos, MAX_POINTERS, |b| b >= 0x20 && b != 0x7f) {
        // A hostile pointer is still DNS: the parser reports it.
        NameWalk::End(end) | NameWalk::BadPointer(end) => Some(end),
        NameWalk::Truncated | NameWalk::Malformed => None,
    }
}

/// True for an NBNS question: one 32-byte label of `A`–`P` (RFC 1001
/// §14.1 first-level encoding) with QTYPE NB (0x20) or NBSTAT (0x21).
fn is_netbios(data: &[u8], pos: usize, qtype: u16) -> bool {
    if !matches!(qtype, 0x20 | 0x21) || data.get(pos) != Some(&32) {
        return false;
    }
    data.get(pos + 1..pos + 33)
        .is_some_and(|l| l.iter().all(|b| (b'A'..=b'P').contains(b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::parse::testutil::shared_payload;
    use crate::dpi::udp::test_util::{assert_prefixes_rejected, hex};

    /// `ndpi/dns.pcap` frame 2: AAAA query for www.example.com.
    const QUERY: &str = "bc1f0100000100000000000003777777076578616d706c6503636f6d00001c0001";
    /// Frame 3: its (empty) response.
    const RESPONSE: &str = "bc1f8180000100000000000003777777076578616d706c6503636f6d00001c0001";
    /// `ndpi/1kxun.pcap`: mDNS PTR query for _googlecast._tcp.local.
    const MDNS_QUERY: &str =
        "0000000000010000000000000b5f676f6f676c6563617374045f746370056c6f63616c00000c0001";
    /// `arkime/v6-http.pcap` frame 7: mDNS announcement, no questions, four
    /// answers with the cache-flush bit and compression pointers; read
    /// from the capture.
    fn mdns_announce() -> Vec<u8> {
        shared_payload("arkime__v6-http.pcap", 7)
    }
    /// `ndpi/1kxun.pcap`: LLMNR ANY query for jason-PC.
    const LLMNR_QUERY: &str = "e6a100000001000000000000086a61736f6e2d50430000ff0001";
    /// `ndpi/1kxun.pcap`: NBNS name query (broadcast) — not DNS.
    const NBNS_QUERY: &str =
        "b1e6011000010000000000002046484641454245454341434143414341434143414341\
        434143414341434141410000200001";

    fn valid() -> [Vec<u8>; 5] {
        [
            hex(QUERY),
            hex(RESPONSE),
            hex(MDNS_QUERY),
            mdns_announce(),
            hex(LLMNR_QUERY),
        ]
    }

    #[test]
    fn matches_dns_mdns_llmnr() {
        assert_eq!(probe(Direction::ToServer, &hex(QUERY)), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &hex(RESPONSE)), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &hex(MDNS_QUERY)), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &mdns_announce()), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &hex(LLMNR_QUERY)), Probe::Match);
    }

    #[test]
    fn truncations_are_rejected() {
        for d in valid() {
            assert_prefixes_rejected(probe, &d);
        }
    }

    #[test]
    fn netbios_is_not_dns() {
        assert_eq!(probe(Direction::ToServer, &hex(NBNS_QUERY)), Probe::NotMine);
    }

    #[test]
    fn near_misses_are_rejected() {
        let q = hex(QUERY);
        let cases: [(usize, u8); 7] = [
            (2, 0x19), // opcode 3 (unassigned)
            (2, 0x39), // opcode 7
            (3, 0x40), // Z bit
            (3, 0x05), // RCODE in a query
            (4, 0x01), // QDCOUNT 257
            (5, 0x00), // no question in a query
            (7, 0x03), // 3 answers cannot fit
        ];
        for (at, v) in cases {
            let mut d = q.clone();
            d[at] = v;
            assert_eq!(
                probe(Direction::ToServer, &d),
                Probe::NotMine,
                "byte {at} = {v:#x}"
            );
        }
        // QTYPE 0, QCLASS 2 (CSNET, obsolete), QCLASS 0x8003.
        for (at, v) in [(30, 0x00), (32, 0x02), (31, 0x80)] {
            let mut d = q.clone();
            d[at] = v;
            if at == 31 {
                d[32] = 3;
            }
            assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine, "byte {at}");
        }
        // A trailing byte after the last section.
        let mut d = q.clone();
        d.push(0);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // Label too long for the datagram, label type 0x40, control byte.
        for (at, v) in [(12, 0x3f), (12, 0x43), (14, 0x01)] {
            let mut d = q.clone();
            d[at] = v;
            assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine, "byte {at}");
        }
    }

    #[test]
    fn pointers_must_lead_backwards() {
        // Root-name question: valid.
        let root = hex("1234010000010000000000000000010001");
        assert_eq!(probe(Direction::ToServer, &root), Probe::Match);
        // Same length with the name a pointer: to itself, forwards, into
        // the header.
        for target in [12u8, 14, 2] {
            let d = hex(&format!("12340100000100000000000000c0{target:02x}00010001"));
            assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine, "{target}");
        }
        // A response whose answer points back at the question: valid.
        let d = hex("12348180000100010000000003616263000001000 1c00c000100010000003c00040a000001");
        assert_eq!(probe(Direction::ToClient, &d), Probe::Match);
    }

    #[test]
    fn long_names_are_bounded() {
        // 5 labels of 63 bytes: 320 bytes, over the 255 limit.
        let mut d = hex("123401000001000000000000");
        for _ in 0..5 {
            d.push(63);
            d.extend(std::iter::repeat_n(b'a', 63));
        }
        d.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // 3 labels (192 bytes + root) are fine.
        let mut d = hex("123401000001000000000000");
        for _ in 0..3 {
            d.push(63);
            d.extend(std::iter::repeat_n(b'a', 63));
        }
        d.extend_from_slice(&[0, 0, 1, 0, 1]);
        assert_eq!(probe(Direction::ToServer, &d), Probe::Match);
    }
}
