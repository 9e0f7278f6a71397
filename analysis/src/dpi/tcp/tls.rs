//! TLS: the first record of either side is a handshake record carrying a
//! ClientHello or ServerHello.
//!
//! RFC 8446 §5.1: `TLSPlaintext { type(1) = 22 handshake, legacy_record_version(2),
//! length(2) ≤ 2^14 }`; §4: `Handshake { msg_type(1), length(3), body }`
//! with ClientHello = 1 and ServerHello = 2, whose body starts with a
//! `legacy_version` and a 32-byte random, then a session id of ≤ 32 bytes.
//! The hello must fit in its record (a hello split over records is legal
//! but so rare at the start of a stream that we rather miss it than loosen
//! the check). SSL 3.0 – TLS 1.3 record versions are accepted; the hello
//! version may also be a TLS 1.3 draft (`0x7fNN`, seen in early 1.3
//! ServerHellos).
//!
//! An SSLv2-compatible ClientHello (RFC 6101 appendix E.2, RFC 5246
//! appendix E.2) is recognised with all of its lengths cross-checked.
//!
//! A connection picked up mid-stream starts with encrypted records: an
//! `application_data` record (type 23) of TLS 1.0–1.2 record version (1.3
//! keeps `0x0303`, RFC 8446 §5.1) whose length is at least an AEAD tag and
//! at most [`MAX_RECORD`]; when the next record header is in the buffered
//! bytes it must be a valid one too. nDPI names such flows TLS as well.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u16, be_u24, u8_at, FieldCheck};
use crate::flow::Direction;

/// TLS descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Tls,
    ports: &[
        443, 465, 563, 636, 853, 989, 990, 992, 993, 994, 995, 5061, 8443,
    ],
    probe,
};

/// Largest record: 2^14 plaintext plus the 2048 bytes TLS 1.2 allows for
/// compression/encryption expansion (RFC 5246 §6.2.3).
const MAX_RECORD: u16 = 16384 + 2048;
/// Smallest hello body: version(2) random(32) session_id_len(1) and a
/// cipher suite (2) + compression method (1).
const MIN_HELLO: u32 = 38;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match u8_at(data, 0) {
        None => Probe::NeedMore,
        Some(0x16) => probe_record(data),
        Some(0x17) => probe_app_data(data),
        Some(b) if b & 0x80 != 0 => probe_sslv2(data),
        Some(_) => Probe::NotMine,
    }
}

/// SSL 3.0 / TLS 1.0–1.3 version numbers (`major` 3, `minor` 0..=4).
fn tls_version(v: u16) -> bool {
    (0x0300..=0x0304).contains(&v)
}

fn probe_record(data: &[u8]) -> Probe {
    // Record header: type(1) version(2) length(2).
    let Some(major) = u8_at(data, 1) else {
        return Probe::NeedMore;
    };
    if major != 3 {
        return Probe::NotMine;
    }
    let Some(version) = be_u16(data, 1) else {
        return Probe::NeedMore;
    };
    if !tls_version(version) {
        return Probe::NotMine;
    }
    let Some(rec_len) = be_u16(data, 3) else {
        return Probe::NeedMore;
    };
    if rec_len > MAX_RECORD || u32::from(rec_len) < MIN_HELLO + 4 {
        return Probe::NotMine;
    }
    // Handshake header: msg_type(1) length(3).
    let Some(hs_type) = u8_at(data, 5) else {
        return Probe::NeedMore;
    };
    if hs_type != 1 && hs_type != 2 {
        return Probe::NotMine;
    }
    let Some(hs_len) = be_u24(data, 6) else {
        return Probe::NeedMore;
    };
    if hs_len < MIN_HELLO || hs_len + 4 > u32::from(rec_len) {
        return Probe::NotMine;
    }
    // Hello body: legacy_version(2) random(32) session_id<0..32>.
    let Some(hello_version) = be_u16(data, 9) else {
        return Probe::NeedMore;
    };
    let draft13 = hello_version & 0xff00 == 0x7f00;
    if !tls_version(hello_version) && !draft13 {
        return Probe::NotMine;
    }
    match u8_at(data, 9 + 2 + 32) {
        None => Probe::NeedMore,
        Some(sid_len) if sid_len <= 32 => Probe::Match,
        Some(_) => Probe::NotMine,
    }
}

/// Smallest encrypted record: a 16-byte AEAD tag plus TLS 1.3's inner
/// content type.
const MIN_ENCRYPTED: u16 = 17;

/// Mid-stream pickup: application-data records back to back.
fn probe_app_data(data: &[u8]) -> Probe {
    let mut off = 0usize;
    loop {
        let (Some(kind), Some(version), Some(len)) = (
            u8_at(data, off),
            be_u16(data, off + 1),
            be_u16(data, off + 3),
        ) else {
            // The first header must be whole; a later one cut by the end
            // of the buffer is fine.
            return if off == 0 {
                Probe::NeedMore
            } else {
                Probe::Match
            };
        };
        let valid = (20..=23).contains(&kind)
            && (0x0301..=0x0303).contains(&version)
            && (MIN_ENCRYPTED..=MAX_RECORD).contains(&len);
        if !valid || (off == 0 && kind != 0x17) {
            return Probe::NotMine;
        }
        off += 5 + usize::from(len);
        if off >= data.len() {
            return Probe::Match;
        }
    }
}

/// SSLv2 record header with a 2-byte length (high bit set), then
/// CLIENT-HELLO: msg_type 1, version(2), cipher_specs_len(2),
/// session_id_len(2), challenge_len(2), then the three fields.
fn probe_sslv2(data: &[u8]) -> Probe {
    let Some(len) = be_u16(data, 0) else {
        return Probe::NeedMore;
    };
    let len = u32::from(len & 0x7fff);
    let checks: [FieldCheck<u16>; 4] = [
        (3, |v| v == 0x0002 || tls_version(v)),
        (5, |v| v != 0 && v % 3 == 0),
        (7, |v| v == 0 || v == 16 || v == 32),
        (9, |v| (16..=32).contains(&v)),
    ];
    match u8_at(data, 2) {
        None => return Probe::NeedMore,
        Some(1) => {}
        Some(_) => return Probe::NotMine,
    }
    for (off, ok) in checks {
        match be_u16(data, off) {
            None => return Probe::NeedMore,
            Some(v) if ok(v) => {}
            Some(_) => return Probe::NotMine,
        }
    }
    let field = |off| u32::from(be_u16(data, off).unwrap_or_default());
    if len == 9 + field(5) + field(7) + field(9) {
        Probe::Match
    } else {
        Probe::NotMine
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// arkime tls13.pcap: Chrome ClientHello (first 64 bytes).
    const CLIENT_HELLO: &[u8] =
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03CU\xd4\x02\xc12w\x1a\x93\
      \x86\xb6\xe9\x99J\xe3pi\xe0b\x1a\xf5\x04\xc2fs\xb148C\xc2\x1d\x8d\x00\
      \x00&JJ\x13\x01\x13\x02\x13\x03\xc0+\xc0/\xc0,\xc0";
    /// arkime tls13.pcap: draft-18 ServerHello (version 0x7f12).
    const SERVER_HELLO: &[u8] =
        b"\x16\x03\x01\x00R\x02\x00\x00N\x7f\x12>\xf1`\x9f\xd3\xf4\xfa\x86h\xaa\
      \xc5\x82-P\x0f\xb0c\x9b\"g\x1d\x0f\xb7%\x85\x975W\x95Q\x1b\xf6\x13\x01\
      \x00(\x00(\x00$";
    /// SSLv2-compatible ClientHello (old OpenSSL): 3 suites, 16-byte challenge.
    const SSLV2_HELLO: &[u8] = b"\x80\x22\x01\x03\x01\x00\x09\x00\x00\x00\x10\
      \x00\x00\x04\x00\x00\x05\x00\x00\x0a\
      0123456789abcdef";

    #[test]
    fn hellos_match() {
        assert_valid(probe, Direction::ToServer, CLIENT_HELLO);
        assert_valid(probe, Direction::ToClient, SERVER_HELLO);
        assert_valid(probe, Direction::ToServer, SSLV2_HELLO);
    }

    #[test]
    fn midstream_application_data_matches() {
        // One record header, then a second record whose header is cut.
        let mut recs = b"\x17\x03\x03\x00\x11".to_vec();
        recs.extend([0xa5u8; 17]);
        recs.extend(b"\x17\x03\x03");
        assert_valid(probe, Direction::ToServer, &recs);
        assert_valid(probe, Direction::ToClient, b"\x17\x03\x01\x04\x00");
    }

    #[test]
    fn near_misses() {
        // An alert record first; application data too short for a tag, of
        // SSL 3.0, or followed by something that is not a record.
        assert_not_mine(probe, Direction::ToClient, b"\x15\x03\x03\x00\x02\x02\x28");
        assert_not_mine(probe, Direction::ToClient, b"\x17\x03\x03\x00\x10abcd");
        assert_not_mine(probe, Direction::ToClient, b"\x17\x03\x00\x00\x20abcd");
        let mut two = b"\x17\x03\x03\x00\x11".to_vec();
        two.extend([0u8; 17]);
        two.extend(b"GET / HTTP/1.1\r\n");
        // (Its first 22 bytes alone would match: records end there.)
        assert_eq!(probe(Direction::ToServer, &two), Probe::NotMine);
        // Handshake record with a Finished message / bad version / tiny length.
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x16\x03\x03\x00\x40\x14\x00\x00\x0c",
        );
        assert_not_mine(probe, Direction::ToServer, b"\x16\x03\x09\x00\x40\x01");
        assert_not_mine(probe, Direction::ToServer, b"\x16\x03\x01\x00\x08\x01");
        // Inner length larger than the record.
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x16\x03\x01\x00\x40\x01\x00\x01\x00",
        );
        // Session id longer than 32.
        let mut bad = CLIENT_HELLO.to_vec();
        if let Some(b) = bad.get_mut(43) {
            *b = 33;
        }
        assert_not_mine(probe, Direction::ToServer, &bad);
        // SSLv2 lengths that do not add up.
        let mut bad = SSLV2_HELLO.to_vec();
        if let Some(b) = bad.get_mut(1) {
            *b = 0x23;
        }
        assert_not_mine(probe, Direction::ToServer, &bad);
        assert_not_mine(probe, Direction::ToServer, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
