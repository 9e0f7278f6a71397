//! MQTT: the client's CONNECT packet.
//!
//! MQTT 3.1.1 §3.1 / 5.0 §3.1: fixed header `0x10` (CONNECT, flags 0), a
//! Remaining Length varint (1–4 bytes, §2.2.3), then the protocol name
//! `00 04 "MQTT"` with level 4 (3.1.1) or 5 (5.0), or `00 06 "MQIsdp"`
//! with level 3 (3.1), then the connect flags whose reserved bit 0 must be
//! zero (§3.1.2.3). The server's CONNACK is only four bytes and is not
//! probed.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{literal, u8_at};
use crate::flow::Direction;

/// MQTT descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Mqtt,
    ports: &[1883, 8883],
    probe,
};

/// CONNECT packet type with its zero flags.
const CONNECT: u8 = 0x10;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    if dir == Direction::ToClient {
        return Probe::NotMine;
    }
    match u8_at(data, 0) {
        None => return Probe::NeedMore,
        Some(CONNECT) => {}
        Some(_) => return Probe::NotMine,
    }
    // Remaining Length: continuation bit 0x80, at most 4 bytes.
    let mut off = 1usize;
    let mut remaining: u32 = 0;
    loop {
        let Some(b) = u8_at(data, off) else {
            return Probe::NeedMore;
        };
        remaining |= u32::from(b & 0x7f) << (7 * (off - 1));
        off += 1;
        if b & 0x80 == 0 {
            break;
        }
        if off > 4 {
            return Probe::NotMine;
        }
    }
    // Variable header: name(2+4|2+6) level(1) flags(1) keepalive(2).
    if remaining < 10 {
        return Probe::NotMine;
    }
    let rest = data.get(off..).unwrap_or_default();
    let (name_len, level) = match literal(rest, b"\x00\x04MQTT") {
        Probe::Match => (6, 4..=5),
        Probe::NeedMore => return Probe::NeedMore,
        Probe::NotMine => match literal(rest, b"\x00\x06MQIsdp") {
            Probe::Match => (8, 3..=3),
            other => return other,
        },
    };
    match u8_at(rest, name_len) {
        None => return Probe::NeedMore,
        Some(l) if level.contains(&l) => {}
        Some(_) => return Probe::NotMine,
    }
    match u8_at(rest, name_len + 1) {
        None => Probe::NeedMore,
        Some(flags) if flags & 0x01 == 0 => Probe::Match,
        Some(_) => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn connects_match() {
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x10\x1a\x00\x04MQTT\x04\x02\x00\x3c\x00\x0emosqpub|1234-h",
        );
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x10\x24\x00\x06MQIsdp\x03\x02\x00\x3c",
        );
        // Two-byte remaining length, MQTT 5.
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x10\x80\x01\x00\x04MQTT\x05\xc2\x00\x3c",
        );
    }

    #[test]
    fn near_misses() {
        for bytes in [
            &b"\x10\x1a\x00\x04MQTT\x06\x02"[..],
            b"\x10\x1a\x00\x04MQTT\x04\x03",
            b"\x10\x1a\x00\x04MQTX",
            b"\x10\x1a\x00\x06MQIsdp\x04\x02",
            b"\x10\x05\x00\x04MQTT\x04\x02",
            b"\x10\xff\xff\xff\xff\x01",
            b"\x20\x02\x00\x00",
            b"\x12\x1a\x00\x04MQTT\x04\x02",
        ] {
            assert_not_mine(probe, Direction::ToServer, bytes);
        }
        assert_not_mine(probe, Direction::ToClient, b"\x10\x1a\x00\x04MQTT\x04\x02");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
