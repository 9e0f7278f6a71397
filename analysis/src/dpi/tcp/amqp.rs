//! AMQP: the client's protocol header, or the server's Connection.Start.
//!
//! AMQP 0-9-1 §4.2.2: the client opens with `"AMQP" 0 0 9 1`; older peers
//! send `"AMQP" 1 1 0 9` (0-9) or `"AMQP" 1 1 8 0` (0-8). AMQP 1.0 §2.2:
//! `"AMQP" id 1 0 0` with protocol id 0 (AMQP), 2 (TLS) or 3 (SASL). The
//! server's first frame in 0-9-1 (§4.2.3) is a method frame (type 1) on
//! channel 0 carrying Connection.Start (class 10, method 10) with
//! version-major 0, version-minor 9.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{any_of, be_u32, literal};
use crate::flow::Direction;

/// AMQP descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Amqp,
    ports: &[5672, 5671],
    probe,
};

/// Protocol headers clients open with.
const HEADERS: &[&[u8]] = &[
    b"AMQP\x00\x00\x09\x01",
    b"AMQP\x01\x01\x00\x09",
    b"AMQP\x01\x01\x08\x00",
    b"AMQP\x00\x01\x00\x00",
    b"AMQP\x02\x01\x00\x00",
    b"AMQP\x03\x01\x00\x00",
];

/// Largest Connection.Start frame accepted.
const MAX_START: u32 = 65_536;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => HEADERS
            .iter()
            .map(|h| literal(data, h))
            .fold(Probe::NotMine, any_of),
        Direction::ToClient => probe_start(data),
    }
}

/// `01 | 00 00 | size(4) | 00 0a 00 0a | 00 09`.
fn probe_start(data: &[u8]) -> Probe {
    match literal(data, b"\x01\x00\x00") {
        Probe::Match => {}
        other => return other,
    }
    let Some(size) = be_u32(data, 3) else {
        return Probe::NeedMore;
    };
    if !(6..=MAX_START).contains(&size) {
        return Probe::NotMine;
    }
    literal(
        data.get(7..).unwrap_or_default(),
        b"\x00\x0a\x00\x0a\x00\x09",
    )
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn headers_match() {
        assert_valid(probe, Direction::ToServer, b"AMQP\x00\x00\x09\x01");
        assert_valid(probe, Direction::ToServer, b"AMQP\x03\x01\x00\x00\x00\x00");
        assert_valid(
            probe,
            Direction::ToClient,
            b"\x01\x00\x00\x00\x00\x01\x9c\x00\x0a\x00\x0a\x00\x09\x00\x00\x01",
        );
    }

    #[test]
    fn near_misses() {
        assert_not_mine(probe, Direction::ToServer, b"AMQP\x00\x00\x09\x02");
        assert_not_mine(probe, Direction::ToServer, b"AMQX");
        assert_not_mine(probe, Direction::ToClient, b"AMQP\x00\x00\x09\x01");
        assert_not_mine(probe, Direction::ToClient, b"\x01\x00\x01\x00\x00\x01\x9c");
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x01\x00\x00\x00\x00\x01\x9c\x00\x0a\x00\x0b",
        );
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
