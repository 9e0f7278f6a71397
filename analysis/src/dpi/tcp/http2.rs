//! HTTP/2 with prior knowledge (h2c): the client connection preface, or a
//! server that opens with a plausible SETTINGS frame.
//!
//! RFC 9113 §3.4: the client's first bytes are the 24-octet preface
//! `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n` (decisive on its own). The server's
//! preface is a SETTINGS frame (§6.5: type 0x4, stream 0, payload a
//! multiple of 6 octets), which is only a weak signal, so it is accepted
//! only from the server side, without the ACK flag, with 1–16 settings
//! whose identifiers are the ones defined (§6.5.2, RFC 8441 §3,
//! RFC 9218 §2.1) and whose values are legal. HTTP/2 over TLS is TLS.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u16, be_u24, be_u32, literal, u8_at};
use crate::flow::Direction;

/// HTTP/2 descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Http2,
    ports: &[80, 8080, 50051],
    probe,
};

/// RFC 9113 §3.4 client connection preface.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Frame header length (RFC 9113 §4.1).
const FRAME_HEADER: usize = 9;
/// SETTINGS frame type (RFC 9113 §6.5).
const SETTINGS: u8 = 0x4;
/// Most settings accepted in the server's first frame.
const MAX_SETTINGS: u32 = 16;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => literal(data, PREFACE),
        Direction::ToClient => probe_server_settings(data),
    }
}

fn probe_server_settings(data: &[u8]) -> Probe {
    let Some(len) = be_u24(data, 0) else {
        return Probe::NeedMore;
    };
    if len == 0 || len % 6 != 0 || len / 6 > MAX_SETTINGS {
        return Probe::NotMine;
    }
    // type(1) flags(1) R+stream(4): SETTINGS, no ACK, stream 0.
    for (off, want) in [(3, SETTINGS), (4, 0)] {
        match u8_at(data, off) {
            None => return Probe::NeedMore,
            Some(b) if b == want => {}
            Some(_) => return Probe::NotMine,
        }
    }
    match be_u32(data, 5) {
        None => return Probe::NeedMore,
        Some(0) => {}
        Some(_) => return Probe::NotMine,
    }
    let count = usize::try_from(len / 6).unwrap_or_default();
    for i in 0..count {
        let off = FRAME_HEADER + i * 6;
        let (Some(id), Some(value)) = (be_u16(data, off), be_u32(data, off + 2)) else {
            return Probe::NeedMore;
        };
        if !setting_ok(id, value) {
            return Probe::NotMine;
        }
    }
    Probe::Match
}

/// Defined settings with legal values (RFC 9113 §6.5.2).
fn setting_ok(id: u16, value: u32) -> bool {
    match id {
        // HEADER_TABLE_SIZE, MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE.
        0x1 | 0x3 | 0x6 => true,
        // ENABLE_PUSH, ENABLE_CONNECT_PROTOCOL, NO_RFC7540_PRIORITIES.
        0x2 | 0x8 | 0x9 => value <= 1,
        // INITIAL_WINDOW_SIZE.
        0x4 => value <= 0x7fff_ffff,
        // MAX_FRAME_SIZE.
        0x5 => (16_384..=16_777_215).contains(&value),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// grpc-go server: SETTINGS { MAX_FRAME_SIZE = 16384 }.
    const GRPC_SETTINGS: &[u8] = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x05\x00\x00\x40\x00";

    #[test]
    fn preface_and_settings_match() {
        assert_valid(
            probe,
            Direction::ToServer,
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00",
        );
        assert_valid(probe, Direction::ToClient, GRPC_SETTINGS);
    }

    #[test]
    fn near_misses() {
        // The preface is a client thing; a SETTINGS frame from the client
        // side without it is not enough.
        assert_not_mine(probe, Direction::ToServer, GRPC_SETTINGS);
        assert_not_mine(probe, Direction::ToServer, b"PRI * HTTP/1.1\r\n");
        assert_not_mine(probe, Direction::ToClient, b"PRI * HTTP/2.0\r\n");
        // SETTINGS ACK, empty SETTINGS, length not a multiple of 6,
        // non-zero stream, unknown identifier, bad MAX_FRAME_SIZE.
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x00\x00\x00\x04\x01\x00\x00\x00\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x00\x00\x07\x04\x00\x00\x00\x00\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x01",
        );
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x07\x00\x00\x00\x01",
        );
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x01",
        );
        assert_not_mine(probe, Direction::ToClient, b"HTTP/1.1 200 OK\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
