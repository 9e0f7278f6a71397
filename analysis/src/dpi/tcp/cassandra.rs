//! Cassandra CQL native protocol v3–v5: the first frame of either side.
//!
//! CQL binary protocol v4 spec §2: a 9-byte header `version` (0x03–0x05
//! for requests, with the 0x80 bit for responses), `flags` (only 0x01–0x10
//! defined), `int16 stream`, `opcode`, `int32 length`. A client opens with
//! OPTIONS (0x05, empty body) or STARTUP (0x01, a `[string map]` such as
//! `{CQL_VERSION: 3.0.0}`, §4.1.1); a server answers READY (0x02, empty),
//! AUTHENTICATE (0x03, the authenticator class name) or SUPPORTED (0x06, a
//! `[string multimap]`, §4.2.4). Bodies are checked up to their first key.
//! (v5's framing only starts after STARTUP, so openings are the same.)

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u16, be_u32, u8_at};
use crate::flow::Direction;

/// Cassandra descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Cassandra,
    ports: &[9042, 9142],
    probe,
};

const STARTUP: u8 = 0x01;
const READY: u8 = 0x02;
const AUTHENTICATE: u8 = 0x03;
const OPTIONS: u8 = 0x05;
const SUPPORTED: u8 = 0x06;
/// Header length (v3+).
const HEADER: usize = 9;
/// Largest opening body accepted.
const MAX_BODY: u32 = 65_536;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    let response = match (dir, u8_at(data, 0)) {
        (_, None) => return Probe::NeedMore,
        (Direction::ToServer, Some(0x03..=0x05)) => false,
        (Direction::ToClient, Some(0x83..=0x85)) => true,
        _ => return Probe::NotMine,
    };
    match u8_at(data, 1) {
        None => return Probe::NeedMore,
        Some(flags) if flags & 0xe0 != 0 => return Probe::NotMine,
        Some(_) => {}
    }
    let (Some(opcode), Some(len)) = (u8_at(data, 4), be_u32(data, 5)) else {
        // The opcode alone can already decide.
        return match u8_at(data, 4) {
            Some(op) if !opcode_ok(op, response) => Probe::NotMine,
            _ => Probe::NeedMore,
        };
    };
    if !opcode_ok(opcode, response) {
        return Probe::NotMine;
    }
    let body = data.get(HEADER..).unwrap_or_default();
    match opcode {
        OPTIONS | READY if len == 0 => Probe::Match,
        STARTUP | SUPPORTED if (4..=MAX_BODY).contains(&len) => first_key(body),
        AUTHENTICATE if (3..=MAX_BODY).contains(&len) => string(body, 0, 256, |b| {
            b.is_ascii_alphanumeric() || b == b'.' || b == b'$' || b == b'_'
        }),
        _ => Probe::NotMine,
    }
}

fn opcode_ok(op: u8, response: bool) -> bool {
    if response {
        matches!(op, READY | AUTHENTICATE | SUPPORTED)
    } else {
        matches!(op, STARTUP | OPTIONS)
    }
}

/// `[string map]` / `[string multimap]`: `int16 n` ≥ 1, then the first key
/// (`CQL_VERSION`, `COMPRESSION`, `DRIVER_NAME`, …).
fn first_key(body: &[u8]) -> Probe {
    match be_u16(body, 0) {
        None => Probe::NeedMore,
        Some(1..=32) => string(body, 2, 64, |b| b.is_ascii_uppercase() || b == b'_'),
        Some(_) => Probe::NotMine,
    }
}

/// A `[string]` (`int16 length` + bytes) at `off`, 1..=`max` long, every
/// byte satisfying `ok`.
fn string(body: &[u8], off: usize, max: u16, ok: fn(u8) -> bool) -> Probe {
    let Some(len) = be_u16(body, off) else {
        return Probe::NeedMore;
    };
    if len == 0 || len > max {
        return Probe::NotMine;
    }
    let s = body.get(off + 2..).unwrap_or_default();
    let want = usize::from(len);
    if !s.iter().take(want).all(|&b| ok(b)) {
        Probe::NotMine
    } else if s.len() < want {
        Probe::NeedMore
    } else {
        Probe::Match
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    const OPTIONS_V4: &[u8] = b"\x04\x00\x00\x00\x05\x00\x00\x00\x00";
    const STARTUP_V4: &[u8] =
        b"\x04\x00\x00\x01\x01\x00\x00\x00\x16\x00\x01\x00\x0bCQL_VERSION\x00\x053.0.0";
    const READY_V4: &[u8] = b"\x84\x00\x00\x01\x02\x00\x00\x00\x00";
    const AUTHENTICATE_V4: &[u8] = b"\x84\x00\x00\x01\x03\x00\x00\x00\x31\x00\x2f\
      org.apache.cassandra.auth.PasswordAuthenticator";

    #[test]
    fn frames_match() {
        assert_valid(probe, Direction::ToServer, OPTIONS_V4);
        assert_valid(probe, Direction::ToServer, STARTUP_V4);
        assert_valid(probe, Direction::ToClient, READY_V4);
        assert_valid(probe, Direction::ToClient, AUTHENTICATE_V4);
    }

    #[test]
    fn near_misses() {
        // Wrong direction, v2, OPTIONS with a body, QUERY opcode, bad flags,
        // lowercase key.
        assert_not_mine(probe, Direction::ToClient, OPTIONS_V4);
        assert_not_mine(probe, Direction::ToServer, READY_V4);
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x02\x00\x00\x05\x00\x00\x00\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x04\x00\x00\x00\x05\x00\x00\x00\x01",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x04\x00\x00\x00\x07\x00\x00\x00\x10",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x04\x80\x00\x00\x05\x00\x00\x00\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x04\x00\x00\x01\x01\x00\x00\x00\x16\x00\x01\x00\x0bcql_version",
        );
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
