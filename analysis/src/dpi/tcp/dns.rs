//! DNS over TCP: a length-prefixed message whose header and first
//! question parse.
//!
//! RFC 1035 §4.2.2: each message is preceded by a two-byte length. The
//! header (§4.1.1) must be plausible for the side: a query from the
//! client (QR 0, RCODE 0, no answers), a response from the server (QR 1);
//! OPCODE 0–2, 4 (NOTIFY, RFC 1996) or 5 (UPDATE, RFC 2136); the Z bit
//! clear; exactly one question; record counts that fit in the message.
//! The question name (§4.1.2) is then walked label by label: lengths
//! ≤ 63, total ≤ 255 octets (§2.3.4), printable label bytes, and
//! compression pointers (§4.1.4) only backwards, inside the message, and
//! at most [`MAX_POINTERS`] of them. The question must end with a QCLASS
//! of IN, CH, HS, NONE or ANY.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::be_u16;
use crate::dpi::dns_name::{walk_name, NameWalk};
use crate::flow::Direction;

/// DNS descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Dns,
    ports: &[53, 5353],
    probe,
};

/// The length prefix.
const PREFIX: usize = 2;
/// Header length.
const HEADER: usize = 12;
/// Compression pointers followed before giving up.
pub(super) const MAX_POINTERS: usize = 16;
/// Smallest resource record: root name, type, class, TTL, rdlength.
const MIN_RR: usize = 11;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    let Some(len) = be_u16(data, 0) else {
        return Probe::NeedMore;
    };
    let len = usize::from(len);
    // Header plus the smallest question (root, type, class).
    if len < HEADER + 5 {
        return Probe::NotMine;
    }
    let msg = data.get(PREFIX..).unwrap_or_default();
    let msg = msg.get(..len.min(msg.len())).unwrap_or_default();
    let Some(flags) = be_u16(msg, 2) else {
        return Probe::NeedMore;
    };
    let response = flags & 0x8000 != 0;
    let opcode = (flags >> 11) & 0xf;
    let rcode = flags & 0xf;
    let side_ok = match dir {
        Direction::ToServer => !response && rcode == 0,
        Direction::ToClient => response,
    };
    if !side_ok || !matches!(opcode, 0 | 1 | 2 | 4 | 5) || flags & 0x0040 != 0 {
        return Probe::NotMine;
    }
    let counts = [
        be_u16(msg, 4),
        be_u16(msg, 6),
        be_u16(msg, 8),
        be_u16(msg, 10),
    ];
    let [Some(qd), Some(an), Some(ns), Some(ar)] = counts else {
        return Probe::NeedMore;
    };
    // Plain queries carry no answers (UPDATE/NOTIFY reuse the sections).
    let query_with_answers = !response && opcode == 0 && (an != 0 || ns != 0);
    let records = usize::from(an) + usize::from(ns) + usize::from(ar);
    if qd != 1 || query_with_answers || HEADER + 5 + records * MIN_RR > len {
        return Probe::NotMine;
    }
    let end = match name_end(msg, HEADER) {
        Ok(end) => end,
        Err(p) => return p,
    };
    if end + 4 > len {
        return Probe::NotMine;
    }
    let (Some(qtype), Some(qclass)) = (be_u16(msg, end), be_u16(msg, end + 2)) else {
        return Probe::NeedMore;
    };
    if qtype != 0 && matches!(qclass, 1 | 3 | 4 | 254 | 255) {
        Probe::Match
    } else {
        Probe::NotMine
    }
}

/// Walks the name starting at `start` in `msg` (offsets count from the
/// DNS header) and returns the offset just after it in the original
/// position (after the first pointer, if any). `Err(NeedMore)` when the
/// name runs past the bytes seen, `Err(NotMine)` when it is malformed.
pub(super) fn name_end(msg: &[u8], start: usize) -> Result<usize, Probe> {
    match walk_name(msg, start, MAX_POINTERS, |c| c.is_ascii_graphic()) {
        NameWalk::End(end) | NameWalk::BadPointer(end) => Ok(end),
        NameWalk::Truncated => Err(Probe::NeedMore),
        NameWalk::Malformed => Err(Probe::NotMine),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// suricata dns-tcp-www-google-com.pcap: query with EDNS.
    const QUERY: &[u8] = b"\x007_x\x01\x20\x00\x01\x00\x00\x00\x00\x00\x01\x03www\x06google\x03com\
      \x00\x00\x01\x00\x01\x00\x00)\x10\x00\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x08Zv\
      \x070\xfb+7\xd5";
    /// The response (first 48 bytes).
    const RESPONSE: &[u8] =
        b"\x00\xeb_x\x81\x80\x00\x01\x00\x0c\x00\x00\x00\x01\x03www\x06google\x03com\
      \x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\x00\x04\xd8\xc5\xf2\xf4";
    /// chrissanders dns_axfr.pcapng: AXFR response header and question.
    const AXFR: &[u8] = b"\x04\x82\x00\x07\x81\x80\x00\x01\x00\x15\x00\x00\x00\x00\
      \x07contoso\x05local\x00\x00\xfc\x00\x01";

    #[test]
    fn messages_match() {
        assert_valid(probe, Direction::ToServer, QUERY);
        assert_valid(probe, Direction::ToClient, RESPONSE);
        assert_valid(probe, Direction::ToClient, AXFR);
    }

    #[test]
    fn near_misses() {
        let set = |src: &[u8], at: usize, b: u8| {
            let mut v = src.to_vec();
            if let Some(x) = v.get_mut(at) {
                *x = b;
            }
            v
        };
        // Response sent as a query and vice versa.
        assert_not_mine(probe, Direction::ToClient, QUERY);
        assert_not_mine(probe, Direction::ToServer, RESPONSE);
        // Opcode 3, Z bit, two questions, answers in a query, a label of
        // 64, a non-printable label, a forward pointer, class 2, too many
        // records for the length, a length too small.
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 4, 0x19));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 5, 0x60));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 7, 0x02));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 9, 0x01));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 14, 0x40));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 15, 0x01));
        assert_not_mine(
            probe,
            Direction::ToServer,
            &set(set(QUERY, 14, 0xc0).as_slice(), 15, 0x20),
        );
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 33, 0x02));
        assert_not_mine(probe, Direction::ToClient, &set(RESPONSE, 9, 0xff));
        assert_not_mine(probe, Direction::ToServer, b"\x00\x10\x00\x00\x00\x00");
        assert_not_mine(probe, Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn pointers_are_bounded() {
        // A pointer to itself is a hostile name in a DNS message (the
        // parser reports it); a pointer into the header is not DNS.
        let mut msg = [0u8; 14];
        if let Some(p) = msg.get_mut(12..14) {
            p.copy_from_slice(&[0xc0, 12]);
        }
        assert_eq!(name_end(&msg, 12), Ok(14));
        if let Some(p) = msg.get_mut(12..14) {
            p.copy_from_slice(&[0xc0, 2]);
        }
        assert_eq!(name_end(&msg, 12), Err(Probe::NotMine));
        // Backward pointer to a name.
        let msg = b"012345678901\x01a\x00\xc0\x0c";
        assert_eq!(name_end(msg, 15), Ok(17));
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
