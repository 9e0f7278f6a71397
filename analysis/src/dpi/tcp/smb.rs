//! SMB 1/2/3 over NetBIOS session service or direct TCP.
//!
//! RFC 1002 §4.3.1 / MS-SMB2 §2.1: each message is framed by a 4-byte
//! header, type `0x00` (session message) and a 24-bit length (direct TCP,
//! port 445, uses the same framing). The message starts with the protocol
//! id `\xffSMB` (SMB1, MS-CIFS §2.2.3.1), `\xfeSMB` (SMB2/3, MS-SMB2
//! §2.2.1, whose StructureSize is 64) or `\xfdSMB` (SMB3 transform,
//! MS-SMB2 §2.2.41). On port 139 the client first sends a session request
//! (type `0x81`, RFC 1002 §4.3.2) with two first-level-encoded NetBIOS
//! names (RFC 1001 §14.1: length 32, letters `A`–`P`), which is decisive;
//! the server's positive response (`0x82`) is skipped.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u24, u8_at};
use crate::flow::Direction;

/// SMB descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Smb,
    ports: &[445, 139],
    probe,
};

/// NetBIOS session message type.
const SESSION_MESSAGE: u8 = 0x00;
/// NetBIOS session request type.
const SESSION_REQUEST: u8 = 0x81;
/// NetBIOS positive session response: `82 00 00 00`.
const POSITIVE_RESPONSE: &[u8] = b"\x82\x00\x00\x00";

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match u8_at(data, 0) {
        None => Probe::NeedMore,
        Some(SESSION_MESSAGE) => probe_message(data),
        Some(SESSION_REQUEST) => probe_session_request(data),
        Some(0x82) => match super::wire::literal(data, POSITIVE_RESPONSE) {
            Probe::Match => match data.get(POSITIVE_RESPONSE.len()..) {
                Some(rest) if !rest.is_empty() => probe_message(rest),
                _ => Probe::NeedMore,
            },
            other => other,
        },
        Some(_) => Probe::NotMine,
    }
}

/// `00 len(3)` then an SMB header.
fn probe_message(data: &[u8]) -> Probe {
    match u8_at(data, 0) {
        None => return Probe::NeedMore,
        Some(SESSION_MESSAGE) => {}
        Some(_) => return Probe::NotMine,
    }
    let Some(len) = be_u24(data, 1) else {
        return Probe::NeedMore;
    };
    let Some(magic) = u8_at(data, 4) else {
        return Probe::NeedMore;
    };
    let min_len = match magic {
        0xff => 35,
        0xfe => 64,
        0xfd => 52,
        _ => return Probe::NotMine,
    };
    if len < min_len {
        return Probe::NotMine;
    }
    for (i, &want) in b"SMB".iter().enumerate() {
        match u8_at(data, 5 + i) {
            None => return Probe::NeedMore,
            Some(b) if b == want => {}
            Some(_) => return Probe::NotMine,
        }
    }
    if magic != 0xfe {
        return Probe::Match;
    }
    // SMB2 StructureSize, little-endian 64.
    match (u8_at(data, 8), u8_at(data, 9)) {
        (Some(64), Some(0)) => Probe::Match,
        (Some(64), None) | (None, _) => Probe::NeedMore,
        _ => Probe::NotMine,
    }
}

/// `81 00 len(2)`, then called and calling names, each `0x20`, 32 letters
/// `A`–`P`, then a scope (we require the empty scope `0x00`).
fn probe_session_request(data: &[u8]) -> Probe {
    for (off, want) in [(1usize, 0u8), (4, 0x20)] {
        match u8_at(data, off) {
            None => return Probe::NeedMore,
            Some(b) if b == want => {}
            Some(_) => return Probe::NotMine,
        }
    }
    match super::wire::be_u16(data, 2) {
        Some(len) if len < 68 => return Probe::NotMine,
        _ => {}
    }
    for off in 5..37 {
        match u8_at(data, off) {
            None => return Probe::NeedMore,
            Some(b'A'..=b'P') => {}
            Some(_) => return Probe::NotMine,
        }
    }
    match u8_at(data, 37) {
        None => Probe::NeedMore,
        Some(0) => Probe::Match,
        Some(_) => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// ndpi smbv1.pcap: SMB1 NEGOTIATE request (first 48 bytes).
    const SMB1_NEGOTIATE: &[u8] =
        b"\x00\x00\x00\x85\xffSMBr\x00\x00\x00\x00\x18S\xc0\x00\x00\x00\x00\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xfe\x00\x00@\x00\x00b\x00\x02PC NETWO";
    /// suricata smb2-06.pcap: SMB2 NEGOTIATE response (first 24 bytes).
    const SMB2_NEGOTIATE: &[u8] =
        b"\x00\x00\x00\xf8\xfeSMB@\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00";

    #[test]
    fn messages_match() {
        assert_valid(probe, Direction::ToServer, SMB1_NEGOTIATE);
        assert_valid(probe, Direction::ToClient, SMB2_NEGOTIATE);
        let mut after_session = POSITIVE_RESPONSE.to_vec();
        after_session.extend_from_slice(SMB1_NEGOTIATE);
        assert_valid(probe, Direction::ToClient, &after_session);
        let mut request = b"\x81\x00\x00\x44\x20".to_vec();
        request.extend_from_slice(b"CKFDENECFDEFFCFGEFFCCACACACACACA\x00");
        request.extend_from_slice(b"\x20EMEPEDEBEMEIEPFDFECACACACACACAAA\x00");
        assert_valid(probe, Direction::ToServer, &request);
    }

    #[test]
    fn near_misses() {
        assert_not_mine(probe, Direction::ToServer, b"\x00\x00\x00\x85\xffSMC");
        assert_not_mine(probe, Direction::ToServer, b"\x00\x00\x00\x10\xffSMB");
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\xf8\xfeSMB\x41\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x2c\x00\x00\x00\x00",
        );
        assert_not_mine(probe, Direction::ToServer, b"\x81\x00\x00\x44\x20CKF\x01");
        assert_not_mine(probe, Direction::ToClient, b"\x83\x00\x00\x01\x82");
        assert_not_mine(probe, Direction::ToClient, b"\x82\x00\x00\x00\x01\x02");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
