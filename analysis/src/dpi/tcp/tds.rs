//! Microsoft SQL Server TDS: the PRELOGIN exchange (or a bare LOGIN7).
//!
//! MS-TDS §2.2.3.1: an 8-byte packet header `type`, `status` (0x01 = end of
//! message), `uint16 BE length` (header included), `SPID`, `PacketID`,
//! `Window` (0). The client opens with PRELOGIN (type 0x12, §2.2.6.5):
//! option tokens `type(1) offset(2) length(2)` ending with 0xFF, the
//! first being VERSION (0x00, 6 bytes), token types ascending, data
//! inside the packet. The server answers with the same token list in a
//! tabular-result packet (type 0x04). Pre-7.1 clients may open with LOGIN7
//! (type 0x10, §2.2.6.4), whose own length field must equal the packet's
//! payload and whose TDSVersion must be a known one.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u16, le_u32, u8_at};
use crate::flow::Direction;

/// TDS descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Tds,
    ports: &[1433, 1434],
    probe,
};

const PRELOGIN: u8 = 0x12;
const LOGIN7: u8 = 0x10;
const TABULAR_RESULT: u8 = 0x04;
/// Packet header length.
const HEADER: usize = 8;
/// Largest opening packet (the default negotiated packet size is 4096).
const MAX_PACKET: u16 = 8192;
/// Highest PRELOGIN token type (NONCEOPT).
const MAX_TOKEN: u8 = 0x08;
/// LOGIN7 TDSVersion values (MS-TDS §2.2.6.4), as read little-endian.
const TDS_VERSIONS: &[u32] = &[
    0x7000_0000,
    0x7100_0000,
    0x7100_0001,
    0x7209_0002,
    0x730a_0003,
    0x730b_0003,
    0x7400_0004,
];

fn probe(dir: Direction, data: &[u8]) -> Probe {
    let Some(kind) = u8_at(data, 0) else {
        return Probe::NeedMore;
    };
    let ok_kind = match dir {
        Direction::ToServer => kind == PRELOGIN || kind == LOGIN7,
        Direction::ToClient => kind == TABULAR_RESULT,
    };
    if !ok_kind {
        return Probe::NotMine;
    }
    match u8_at(data, 1) {
        None => return Probe::NeedMore,
        Some(0x01) => {}
        Some(_) => return Probe::NotMine,
    }
    let Some(len) = be_u16(data, 2) else {
        return Probe::NeedMore;
    };
    if usize::from(len) < HEADER + 6 || len > MAX_PACKET {
        return Probe::NotMine;
    }
    match u8_at(data, 7) {
        None => return Probe::NeedMore,
        Some(0) => {}
        Some(_) => return Probe::NotMine,
    }
    let payload_len = usize::from(len) - HEADER;
    let payload = data.get(HEADER..).unwrap_or_default();
    if kind == LOGIN7 {
        probe_login7(payload, payload_len)
    } else {
        probe_prelogin(payload, payload_len)
    }
}

/// PRELOGIN option tokens up to the 0xFF terminator.
fn probe_prelogin(payload: &[u8], payload_len: usize) -> Probe {
    let mut prev: Option<u8> = None;
    let mut off = 0usize;
    loop {
        let Some(token) = u8_at(payload, off) else {
            return Probe::NeedMore;
        };
        if token == 0xff {
            return if prev.is_some() {
                Probe::Match
            } else {
                Probe::NotMine
            };
        }
        let in_order = match prev {
            None => token == 0x00,
            Some(p) => token > p && token <= MAX_TOKEN,
        };
        if !in_order {
            return Probe::NotMine;
        }
        let (Some(at), Some(n)) = (be_u16(payload, off + 1), be_u16(payload, off + 3)) else {
            return Probe::NeedMore;
        };
        let end = usize::from(at) + usize::from(n);
        if end > payload_len || usize::from(at) < off + 6 || (token == 0x00 && n != 6) {
            return Probe::NotMine;
        }
        prev = Some(token);
        off += 5;
    }
}

/// LOGIN7: `uint32 LE Length` (= payload) and `TDSVersion`.
fn probe_login7(payload: &[u8], payload_len: usize) -> Probe {
    let Some(length) = le_u32(payload, 0) else {
        return Probe::NeedMore;
    };
    if usize::try_from(length).ok() != Some(payload_len) {
        return Probe::NotMine;
    }
    match le_u32(payload, 4) {
        None => Probe::NeedMore,
        Some(v) if TDS_VERSIONS.contains(&v) => Probe::Match,
        Some(_) => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// PRELOGIN: VERSION, ENCRYPTION, INSTOPT, THREADID, MARS.
    const PRELOGIN_REQ: &[u8] = b"\x12\x01\x00\x2f\x00\x00\x01\x00\
      \x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21\x00\x01\
      \x03\x00\x22\x00\x04\x04\x00\x26\x00\x01\xff\
      \x09\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
    /// Server PRELOGIN response (SQL Server 2019, encryption required).
    const PRELOGIN_RESP: &[u8] = b"\x04\x01\x00\x25\x00\x00\x01\x00\
      \x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x01\
      \x03\x00\x1d\x00\x00\xff\x0f\x00\x07\xd0\x00\x00\x02\x00";
    /// LOGIN7 header for TDS 7.1, 0x80-byte payload.
    const LOGIN7_REQ: &[u8] = b"\x10\x01\x00\x88\x00\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x71";

    #[test]
    fn packets_match() {
        assert_valid(probe, Direction::ToServer, PRELOGIN_REQ);
        assert_valid(probe, Direction::ToClient, PRELOGIN_RESP);
        assert_valid(probe, Direction::ToServer, LOGIN7_REQ);
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
        assert_not_mine(probe, Direction::ToClient, PRELOGIN_REQ);
        // Not end-of-message, window set, first token not VERSION, token
        // offset outside the packet, tokens out of order, bad LOGIN7 length
        // and version.
        assert_not_mine(probe, Direction::ToServer, &set(PRELOGIN_REQ, 1, 0x00));
        assert_not_mine(probe, Direction::ToServer, &set(PRELOGIN_REQ, 7, 0x01));
        assert_not_mine(probe, Direction::ToServer, &set(PRELOGIN_REQ, 8, 0x01));
        assert_not_mine(probe, Direction::ToServer, &set(PRELOGIN_REQ, 10, 0x7f));
        assert_not_mine(probe, Direction::ToServer, &set(PRELOGIN_REQ, 18, 0x00));
        assert_not_mine(probe, Direction::ToServer, &set(LOGIN7_REQ, 8, 0x81));
        assert_not_mine(probe, Direction::ToServer, &set(LOGIN7_REQ, 15, 0x75));
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x12\x01\x00\x2f\x00\x00\x01\x00\xff",
        );
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
