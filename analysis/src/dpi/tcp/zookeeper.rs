//! ZooKeeper: the session handshake (ConnectRequest / ConnectResponse).
//!
//! ZooKeeper's jute records (`zookeeper.jute`), each framed by an `int32`
//! length: `ConnectRequest { int protocolVersion; long lastZxidSeen; int
//! timeOut; long sessionId; buffer passwd }` and `ConnectResponse { int
//! protocolVersion; int timeOut; long sessionId; buffer passwd }`, both
//! optionally followed by a `bool readOnly` (3.4+). Clients send
//! protocolVersion 0 and a 16-byte password (all zero for a new
//! session), so the frame length is 44/45 (request) or 36/37 (response),
//! and the timeout is a positive number of milliseconds.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u32, u8_at, FieldCheck};
use crate::flow::Direction;

/// ZooKeeper descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Zookeeper,
    ports: &[2181, 2182],
    probe,
};

/// Password length.
const PASSWD: u32 = 16;
/// Longest session timeout accepted (ms).
const MAX_TIMEOUT_MS: u32 = 3_600_000;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    // Field offsets after the length: (timeOut, passwd length).
    let (base, timeout_at, passwd_at) = match dir {
        Direction::ToServer => (44, 16, 28),
        Direction::ToClient => (36, 8, 20),
    };
    let Some(len) = be_u32(data, 0) else {
        return if data.iter().take(3).all(|&b| b == 0) {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    if len != base && len != base + 1 {
        return Probe::NotMine;
    }
    let checks: [FieldCheck<u32>; 3] = [
        (4, |v| v == 0),
        (timeout_at, |v| (1..=MAX_TIMEOUT_MS).contains(&v)),
        (passwd_at, |v| v == PASSWD),
    ];
    for (off, ok) in checks {
        match be_u32(data, off) {
            None => return Probe::NeedMore,
            Some(v) if ok(v) => {}
            Some(_) => return Probe::NotMine,
        }
    }
    if len == base {
        return Probe::Match;
    }
    // readOnly flag after the password.
    let read_only = usize::try_from(base).unwrap_or_default() + 4;
    match u8_at(data, read_only) {
        None => Probe::NeedMore,
        Some(0 | 1) => Probe::Match,
        Some(_) => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// New-session ConnectRequest, 30 s timeout.
    const REQUEST: &[u8] = b"\x00\x00\x00\x2c\x00\x00\x00\x00\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x75\x30\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    /// ConnectResponse with readOnly = false.
    const RESPONSE: &[u8] = b"\x00\x00\x00\x25\x00\x00\x00\x00\x00\x00\x75\x30\
      \x01\x00\x00\x0a\x8f\x7c\x00\x00\x00\x00\x00\x10\
      ZZZZZZZZZZZZZZZZ\x00";

    #[test]
    fn handshakes_match() {
        assert_valid(probe, Direction::ToServer, REQUEST);
        assert_valid(probe, Direction::ToClient, RESPONSE);
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
        assert_not_mine(probe, Direction::ToClient, REQUEST);
        assert_not_mine(probe, Direction::ToServer, &set(REQUEST, 3, 0x2e));
        assert_not_mine(probe, Direction::ToServer, &set(REQUEST, 7, 0x01));
        assert_not_mine(probe, Direction::ToServer, &set(REQUEST, 16, 0xff));
        assert_not_mine(probe, Direction::ToServer, &set(REQUEST, 31, 0x08));
        assert_not_mine(probe, Direction::ToClient, &set(RESPONSE, 40, 0x02));
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
