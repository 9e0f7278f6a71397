//! Apache Kafka: the client's first request.
//!
//! Kafka protocol guide, "Common Request and Response Structure": every
//! request is `int32 size`, then the request header `int16 api_key`,
//! `int16 api_version`, `int32 correlation_id`, `nullable string
//! client_id` (`int16 length` + bytes; still non-compact in header v2).
//! Clients open with ApiVersions (18) or Metadata (3) and always name
//! themselves (`rdkafka`, `consumer-1`, `producer-1`, …), so the client id
//! must be present, printable and fit in the request. Responses carry only
//! a size and a correlation id and are not probed.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u16, be_u32, FieldCheck};
use crate::flow::Direction;

/// Kafka descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Kafka,
    ports: &[9092, 9093, 9094],
    probe,
};

/// Highest api_key defined (Kafka 3.x).
const MAX_API_KEY: u16 = 74;
/// Highest api_version accepted.
const MAX_API_VERSION: u16 = 20;
/// socket.request.max.bytes default.
const MAX_REQUEST: u32 = 100 * 1024 * 1024;
/// Longest client id accepted.
const MAX_CLIENT_ID: u16 = 255;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    if dir == Direction::ToClient {
        return Probe::NotMine;
    }
    let Some(size) = be_u32(data, 0) else {
        // size ≤ MAX_REQUEST: the first byte is 0..=6.
        return match data.first() {
            Some(&b) if b > 6 => Probe::NotMine,
            _ => Probe::NeedMore,
        };
    };
    if !(12..=MAX_REQUEST).contains(&size) {
        return Probe::NotMine;
    }
    let fields: [FieldCheck<u16>; 3] = [
        (4, |k| k <= MAX_API_KEY),
        (6, |v| v <= MAX_API_VERSION),
        // correlation_id high half: non-negative.
        (8, |c| c < 0x8000),
    ];
    for (off, ok) in fields {
        match be_u16(data, off) {
            None => return Probe::NeedMore,
            Some(v) if ok(v) => {}
            Some(_) => return Probe::NotMine,
        }
    }
    let Some(id_len) = be_u16(data, 12) else {
        return Probe::NeedMore;
    };
    if id_len == 0 || id_len > MAX_CLIENT_ID || u32::from(id_len) + 10 > size {
        return Probe::NotMine;
    }
    let id = data.get(14..).unwrap_or_default();
    let want = usize::from(id_len);
    if !id.iter().take(want).all(u8::is_ascii_graphic) {
        Probe::NotMine
    } else if id.len() < want {
        Probe::NeedMore
    } else {
        Probe::Match
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// ndpi kafka.pcapng: ApiVersions v0 from librdkafka.
    const API_VERSIONS: &[u8] =
        b"\x00\x00\x00\x15\x00\x12\x00\x00\x00\x00\x00\x81\x00\x07rdkafka\x00\x00\x00\x00";
    /// ndpi kafka.pcapng: Metadata v2.
    const METADATA: &[u8] = b"\x00\x00\x00(\x00\x03\x00\x02\x00\x00\x00\x8e\x00\x07rdkafka\x00\x00\
      \x00\x01\x00\x11LB_MAIN_LOG_INPUT";

    #[test]
    fn requests_match() {
        assert_valid(probe, Direction::ToServer, API_VERSIONS);
        assert_valid(probe, Direction::ToServer, METADATA);
    }

    #[test]
    fn near_misses() {
        assert_not_mine(probe, Direction::ToClient, API_VERSIONS);
        let set = |at: usize, b: u8| {
            let mut v = API_VERSIONS.to_vec();
            if let Some(x) = v.get_mut(at) {
                *x = b;
            }
            v
        };
        // api_key 0x4b, version 0x21, negative correlation id, empty or
        // oversized client id, non-printable client id.
        assert_not_mine(probe, Direction::ToServer, &set(5, 0x4b));
        assert_not_mine(probe, Direction::ToServer, &set(7, 0x21));
        assert_not_mine(probe, Direction::ToServer, &set(8, 0x80));
        assert_not_mine(probe, Direction::ToServer, &set(13, 0x00));
        assert_not_mine(probe, Direction::ToServer, &set(13, 0x20));
        assert_not_mine(probe, Direction::ToServer, &set(15, 0x01));
        // Zookeeper connect: client id length 0.
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x2c\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
        );
        assert_not_mine(probe, Direction::ToServer, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
