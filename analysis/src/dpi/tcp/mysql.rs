//! MySQL / MariaDB: the server's initial handshake packet.
//!
//! MySQL client/server protocol, "Protocol::HandshakeV10": a packet header
//! (`int<3> payload_length`, `int<1> sequence_id` = 0), then
//! `protocol_version` = 10, a NUL-terminated human-readable
//! `server_version` (starts with a digit: `5.7.29`, `8.0.36`,
//! `5.5.5-10.6.12-MariaDB…`), `thread_id` (4), 8 bytes of
//! `auth-plugin-data-part-1` and a `0x00` filler. The client speaks only
//! after that and its HandshakeResponse has no fixed marker, so only the
//! server side is probed.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{le_u24, u8_at};
use crate::flow::Direction;

/// MySQL descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Mysql,
    ports: &[3306, 3307, 33060],
    probe,
};

/// Protocol version of HandshakeV10.
const PROTOCOL_10: u8 = 10;
/// Longest server version string accepted.
const MAX_VERSION: usize = 64;
/// Largest greeting payload accepted.
const MAX_GREETING: u32 = 1024;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    if dir == Direction::ToServer {
        return Probe::NotMine;
    }
    let Some(len) = le_u24(data, 0) else {
        return Probe::NeedMore;
    };
    if !(32..=MAX_GREETING).contains(&len) {
        return Probe::NotMine;
    }
    for (off, ok) in [
        (3usize, 0u8..=0),
        (4, PROTOCOL_10..=PROTOCOL_10),
        (5, b'1'..=b'9'),
    ] {
        match u8_at(data, off) {
            None => return Probe::NeedMore,
            Some(b) if ok.contains(&b) => {}
            Some(_) => return Probe::NotMine,
        }
    }
    let version = data.get(5..).unwrap_or_default();
    let Some(nul) = version.iter().take(MAX_VERSION + 1).position(|&b| b == 0) else {
        let printable = version
            .iter()
            .take(MAX_VERSION + 1)
            .all(u8::is_ascii_graphic);
        return if printable && version.len() <= MAX_VERSION {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    let head = version.get(..nul).unwrap_or_default();
    if !head.iter().all(u8::is_ascii_graphic) {
        return Probe::NotMine;
    }
    // thread_id(4) auth-plugin-data-part-1(8) filler(1) = 0.
    let filler = 5 + nul + 1 + 4 + 8;
    if u32::try_from(filler).unwrap_or(u32::MAX) > len + 4 {
        return Probe::NotMine;
    }
    match u8_at(data, filler) {
        None => Probe::NeedMore,
        Some(0) => Probe::Match,
        Some(_) => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;
    use crate::dpi::parse::testutil::shared_payload;

    /// ndpi mysql.pcapng frame 4: MariaDB greeting (first 64 bytes), read
    /// from the capture.
    fn mariadb() -> Vec<u8> {
        let mut b = shared_payload("ndpi__mysql.pcapng", 4);
        b.truncate(64);
        b
    }
    /// zeek mysql.pcap: MySQL 5.0.54 greeting.
    const MYSQL5: &[u8] = b"4\x00\x00\x00\x0a5.0.54\x00^\x00\x00\x00>~$4uth,\x00,\xa2!\x02\x00\x00";

    #[test]
    fn greetings_match() {
        assert_valid(probe, Direction::ToClient, &mariadb());
        assert_valid(probe, Direction::ToClient, MYSQL5);
    }

    #[test]
    fn near_misses() {
        assert_not_mine(probe, Direction::ToServer, MYSQL5);
        // Protocol 9, sequence 1, non-digit version, missing filler.
        assert_not_mine(probe, Direction::ToClient, b"4\x00\x00\x00\x095.0.54\x00");
        assert_not_mine(probe, Direction::ToClient, b"4\x00\x00\x01\x0a5.0.54\x00");
        assert_not_mine(probe, Direction::ToClient, b"4\x00\x00\x00\x0ax.0.54\x00");
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"4\x00\x00\x00\x0a5.0.54\x00^\x00\x00\x00>~$4uth,\x01",
        );
        // Error packet greeting ("Too many connections") is declined.
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x17\x00\x00\x00\xff\x10\x04Too many",
        );
        assert_not_mine(probe, Direction::ToClient, b"4\x00\x00\x00\x0a5.0\x01");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
