//! MongoDB wire protocol: a message header and the start of its body.
//!
//! MongoDB Wire Protocol, "Standard Message Header": four little-endian
//! int32s `messageLength` (≥ 16, ≤ 48 MB = maxMessageSizeBytes),
//! `requestID`, `responseTo`, `opCode`. A 16-byte header is little to go
//! on, so the body is checked too, down to the first BSON element of the
//! first document (BSON spec: `int32 size ≥ 5`, element type byte, key as
//! a cstring):
//! - `OP_QUERY` (2004): flags, `fullCollectionName` cstring with a `.`,
//!   skip, return, then a document — handshakes use `admin.$cmd`;
//! - `OP_MSG` (2013): `flagBits` with only defined bits, then a kind-0
//!   section holding a document;
//! - `OP_REPLY` (1): flags, cursorID, startingFrom, numberReturned, then a
//!   document;
//! - `OP_COMPRESSED` (2012): a known original opCode and compressor id.
//!
//! Other (legacy, deprecated) opcodes never open a connection and are
//! declined.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{le_u32, u8_at};
use crate::flow::Direction;

/// MongoDB descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Mongodb,
    ports: &[27017, 27018, 27019],
    probe,
};

const OP_REPLY: u32 = 1;
const OP_COMPRESSED: u32 = 2012;
const OP_QUERY: u32 = 2004;
const OP_MSG: u32 = 2013;
/// Header length.
const HEADER: usize = 16;
/// maxMessageSizeBytes.
const MAX_MESSAGE: u32 = 48_000_000;
/// Longest collection name or BSON key looked at.
const MAX_NAME: usize = 128;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let Some(len) = le_u32(data, 0) else {
        return Probe::NeedMore;
    };
    if !(HEADER as u32 + 5..=MAX_MESSAGE).contains(&len) {
        return Probe::NotMine;
    }
    let Some(op) = le_u32(data, 12) else {
        return Probe::NeedMore;
    };
    let body = data.get(HEADER..).unwrap_or_default();
    let room = len - HEADER as u32;
    match op {
        OP_QUERY => probe_query(body, room),
        OP_MSG => probe_msg(body, room),
        OP_REPLY => document(body, 20, room),
        OP_COMPRESSED => probe_compressed(body),
        _ => Probe::NotMine,
    }
}

/// flags(4) fullCollectionName numberToSkip(4) numberToReturn(4) query.
fn probe_query(body: &[u8], room: u32) -> Probe {
    match le_u32(body, 0) {
        None => return Probe::NeedMore,
        // Bits 0 and 8..31 are reserved / must be zero.
        Some(flags) if flags & !0xfe != 0 => return Probe::NotMine,
        Some(_) => {}
    }
    let name = body.get(4..).unwrap_or_default();
    let Some(nul) = name.iter().take(MAX_NAME).position(|&b| b == 0) else {
        return if name.len() < MAX_NAME && name.iter().all(|&b| name_char(b)) {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    let coll = name.get(..nul).unwrap_or_default();
    if nul < 3 || !coll.iter().all(|&b| name_char(b)) || !coll.contains(&b'.') {
        return Probe::NotMine;
    }
    document(body, 4 + nul + 1 + 8, room)
}

/// flagBits(4) then section kind 0 with a document.
fn probe_msg(body: &[u8], room: u32) -> Probe {
    match le_u32(body, 0) {
        None => return Probe::NeedMore,
        // checksumPresent, moreToCome, exhaustAllowed.
        Some(flags) if flags & !0x0001_0003 != 0 => return Probe::NotMine,
        Some(_) => {}
    }
    match u8_at(body, 4) {
        None => Probe::NeedMore,
        Some(0) => document(body, 5, room),
        Some(_) => Probe::NotMine,
    }
}

/// originalOpcode(4) uncompressedSize(4) compressorId(1).
fn probe_compressed(body: &[u8]) -> Probe {
    match le_u32(body, 0) {
        None => return Probe::NeedMore,
        Some(OP_QUERY | OP_MSG | OP_REPLY) => {}
        Some(_) => return Probe::NotMine,
    }
    match (le_u32(body, 4), u8_at(body, 8)) {
        (Some(size), _) if !(5..=MAX_MESSAGE).contains(&size) => Probe::NotMine,
        (Some(_), Some(0..=3)) => Probe::Match,
        (Some(_), Some(_)) => Probe::NotMine,
        _ => Probe::NeedMore,
    }
}

/// A BSON document at `off` in `body`: size within the message, then an
/// element type and a printable key.
fn document(body: &[u8], off: usize, room: u32) -> Probe {
    let Some(size) = le_u32(body, off) else {
        return Probe::NeedMore;
    };
    if size < 5 || size > room {
        return Probe::NotMine;
    }
    let element_type = match u8_at(body, off + 4) {
        None => return Probe::NeedMore,
        Some(t) => t,
    };
    // An empty document is legal but says little.
    if !matches!(element_type, 0x01..=0x13 | 0x7f | 0xff) {
        return Probe::NotMine;
    }
    let key = body.get(off + 5..).unwrap_or_default();
    match key.iter().take(MAX_NAME).position(|&b| b == 0) {
        Some(n) if n > 0 && key.iter().take(n).all(|&b| name_char(b)) => Probe::Match,
        Some(_) => Probe::NotMine,
        None if key.len() < MAX_NAME && key.iter().all(|&b| name_char(b)) => Probe::NeedMore,
        None => Probe::NotMine,
    }
}

/// Characters of collection names and BSON keys in handshakes.
fn name_char(b: u8) -> bool {
    b.is_ascii_graphic()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// ndpi mongodb.pcap: OP_QUERY admin.$cmd { getnonce: 1 }.
    const QUERY: &[u8] = b";\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xd4\x07\x00\x00\
      \x00\x00\x00\x00abtest.$cmd\x00\x00\x00\x00\x00\xff\xff\xff\xff\
      \x13\x00\x00\x00\x10getnonce\x00\x01\x00\x00\x00\x00";
    /// OP_MSG { hello: 1, $db: "admin" } (MongoDB 6 driver handshake).
    const MSG: &[u8] = b"\x38\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00\
      \x00\x00\x00\x00\x00\x23\x00\x00\x00\x10hello\x00\x01\x00\x00\x00\
      \x02$db\x00\x06\x00\x00\x00admin\x00\x00";
    /// OP_REPLY with { ok: 1.0 }.
    const REPLY: &[u8] = b"\x35\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\
      \x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\
      \x11\x00\x00\x00\x01ok\x00\x00\x00\x00\x00\x00\x00\xf0\x3f\x00";

    #[test]
    fn messages_match() {
        assert_valid(probe, Direction::ToServer, QUERY);
        assert_valid(probe, Direction::ToServer, MSG);
        assert_valid(probe, Direction::ToClient, REPLY);
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
        // Unknown opcode, length too short, collection without '.', bad
        // BSON size, bad element type, OP_MSG kind 2.
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 12, 0xd5));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 0, 0x08));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 26, b'x'));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 43, 0x7f));
        assert_not_mine(probe, Direction::ToServer, &set(QUERY, 44, 0x20));
        assert_not_mine(probe, Direction::ToServer, &set(MSG, 20, 2));
        assert_not_mine(probe, Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
