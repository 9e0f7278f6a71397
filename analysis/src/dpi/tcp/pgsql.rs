//! PostgreSQL frontend/backend protocol v3.
//!
//! The client opens (PostgreSQL docs, "Message Formats") with a
//! length-prefixed message without a type byte: `StartupMessage`
//! (`int32 len, int32 196608 = 3.0`, then `name\0value\0` pairs),
//! `SSLRequest` (`len 8, 80877103`), `GSSENCRequest` (`len 8, 80877104`) or
//! `CancelRequest` (`len 16, 80877102`). The server's first bytes are weak
//! (`S`/`N`/`G` after a request, or an `R` authentication message), so
//! the server side only matches a SASL request naming a SCRAM mechanism
//! or `AuthenticationOk` followed by a `ParameterStatus`.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u32, is_text, literal, u8_at};
use crate::flow::Direction;

/// PostgreSQL descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Pgsql,
    ports: &[5432],
    probe,
};

/// Protocol 3.0 in a StartupMessage.
const PROTOCOL_3: u32 = 0x0003_0000;
const SSL_REQUEST: u32 = 80_877_103;
const GSSENC_REQUEST: u32 = 80_877_104;
const CANCEL_REQUEST: u32 = 80_877_102;
/// Largest StartupMessage accepted (the server's own limit is 10000).
const MAX_STARTUP: u32 = 10_000;
/// Longest startup parameter name.
const MAX_PARAM: usize = 64;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => probe_client(data),
        Direction::ToClient => probe_server(data),
    }
}

fn probe_client(data: &[u8]) -> Probe {
    let Some(len) = be_u32(data, 0) else {
        // Every opening is shorter than 64 KiB: the first two bytes are 0.
        return if data.iter().take(2).all(|&b| b == 0) {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    let Some(code) = be_u32(data, 4) else {
        return if (8..=MAX_STARTUP).contains(&len) {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    match (len, code) {
        (8, SSL_REQUEST | GSSENC_REQUEST) | (16, CANCEL_REQUEST) => Probe::Match,
        (9..=MAX_STARTUP, PROTOCOL_3) => probe_first_param(data.get(8..).unwrap_or_default()),
        _ => Probe::NotMine,
    }
}

/// The first parameter name of a StartupMessage: lowercase ASCII
/// identifier (`user`, `database`, `application_name`, `_pq_.…`) then NUL.
fn probe_first_param(params: &[u8]) -> Probe {
    for (i, &b) in params.iter().enumerate().take(MAX_PARAM + 1) {
        match b {
            0 if i > 0 => return Probe::Match,
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | b'.' | b'0'..=b'9' if i < MAX_PARAM => {}
            _ => return Probe::NotMine,
        }
    }
    Probe::NeedMore
}

/// `R` authentication messages the server opens with.
fn probe_server(data: &[u8]) -> Probe {
    match u8_at(data, 0) {
        None => return Probe::NeedMore,
        Some(b'R') => {}
        Some(_) => return Probe::NotMine,
    }
    let (Some(len), Some(code)) = (be_u32(data, 1), be_u32(data, 5)) else {
        return Probe::NeedMore;
    };
    match (len, code) {
        // AuthenticationSASL: mechanism list.
        (10..=1024, 10) => literal(data.get(9..).unwrap_or_default(), b"SCRAM-SHA-256"),
        // AuthenticationOk, then ParameterStatus 'S' len name\0value\0.
        (8, 0) => probe_parameter_status(data.get(9..).unwrap_or_default()),
        _ => Probe::NotMine,
    }
}

fn probe_parameter_status(data: &[u8]) -> Probe {
    match u8_at(data, 0) {
        None => return Probe::NeedMore,
        Some(b'S') => {}
        Some(_) => return Probe::NotMine,
    }
    let Some(len) = be_u32(data, 1) else {
        return Probe::NeedMore;
    };
    if !(6..=1024).contains(&len) {
        return Probe::NotMine;
    }
    let body = data.get(5..).unwrap_or_default();
    match body.iter().position(|&b| b == 0) {
        Some(n) if n > 0 && body.iter().take(n).all(|&b| is_text(b)) => Probe::Match,
        Some(_) => Probe::NotMine,
        None if body.iter().all(|&b| is_text(b)) => Probe::NeedMore,
        None => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn client_openings_match() {
        // ndpi pgsql.pcap StartupMessage.
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00&\x00\x03\x00\x00user\x00oryx\x00database\x00mailstore\x00\x00",
        );
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
        );
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x08\x04\xd2\x16\x30",
        );
        assert_valid(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x10\x04\xd2\x16\x2e\x00\x00\x12\x34\x56\x78\x9a\xbc",
        );
    }

    #[test]
    fn server_openings_match() {
        assert_valid(
            probe,
            Direction::ToClient,
            b"R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00",
        );
        assert_valid(
            probe,
            Direction::ToClient,
            b"R\x00\x00\x00\x08\x00\x00\x00\x00S\x00\x00\x00\x16application_name\x00\x00",
        );
    }

    #[test]
    fn weak_or_foreign_are_not_mine() {
        // MD5 request, bare 'S'/'N' answers to SSLRequest.
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"R\x00\x00\x00\x0c\x00\x00\x00\x05\xadD\xffT",
        );
        assert_not_mine(probe, Direction::ToClient, b"N");
        assert_not_mine(probe, Direction::ToClient, b"S\x16\x03\x03");
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x08\x04\xd2\x16\x31",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x10\x04\xd2\x16\x2f",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x26\x00\x02\x00\x00user\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x26\x00\x03\x00\x00\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x00\x00\x26\x00\x03\x00\x00us\xffr\x00",
        );
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"\x00\x01\x00\x26\x00\x03\x00\x00",
        );
        assert_not_mine(probe, Direction::ToServer, b"GET / HTTP/1.1\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
