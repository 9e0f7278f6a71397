//! SMTP: the server's `220` greeting naming SMTP (or answered with `250`),
//! or the client's `EHLO`/`HELO`.
//!
//! RFC 5321 §3.1 / §4.1.1.1: the server opens with `220 domain text`, the
//! client's first command is `EHLO domain` (or `HELO`). FTP servers also
//! open with `220`, so the server side is told apart by [`reply::classify`]
//! and stays `NeedMore` until it can be. Commands are case-insensitive
//! (RFC 5321 §2.4).

use super::super::{AppProto, Descriptor, Probe};
use super::reply::{self, Server};
use super::wire::{any_of, literal_ci, u8_at};
use crate::flow::Direction;

/// SMTP descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Smtp,
    ports: &[25, 587, 2525],
    probe,
};

fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToClient => match reply::classify(data) {
            Server::Smtp => Probe::Match,
            Server::Undecided => Probe::NeedMore,
            Server::Ftp | Server::Neither => Probe::NotMine,
        },
        Direction::ToServer => probe_hello(data),
    }
}

/// `EHLO` / `HELO` SP, then the first character of a domain or address
/// literal.
fn probe_hello(data: &[u8]) -> Probe {
    match any_of(literal_ci(data, b"EHLO "), literal_ci(data, b"HELO ")) {
        Probe::Match => match u8_at(data, 5) {
            None => Probe::NeedMore,
            Some(b) if b.is_ascii_alphanumeric() || b == b'[' => Probe::Match,
            Some(_) => Probe::NotMine,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn both_sides_match() {
        assert_valid(probe, Direction::ToServer, b"EHLO delta.peach.mil\r\n");
        assert_valid(probe, Direction::ToServer, b"helo [192.0.2.1]\r\n");
        assert_valid(
            probe,
            Direction::ToClient,
            b"220 pigeon.eyrie.af.mil ESMTP Sendmail 8.8.7/8.8.7; Sat, 7 Aug 1999\r\n",
        );
        assert_valid(
            probe,
            Direction::ToClient,
            b"220-mx.aol.com ESMTP MUA/Third Party Client Interface\r\n220-AOL\r\n220 x\r\n",
        );
        assert_valid(
            probe,
            Direction::ToClient,
            b"220 mx.example.com\r\n250-mx Hello\r\n",
        );
    }

    #[test]
    fn ftp_and_others_are_not_mine() {
        assert_not_mine(probe, Direction::ToClient, b"220 (vsFTPd 3.0.3)\r\n");
        assert_not_mine(
            probe,
            Direction::ToClient,
            b"220 Welcome\r\n331 Password\r\n",
        );
        assert_not_mine(probe, Direction::ToClient, b"+OK POP3 server ready\r\n");
        assert_not_mine(probe, Direction::ToServer, b"USER anonymous\r\n");
        assert_not_mine(probe, Direction::ToServer, b"EHLO \r\n");
        assert_not_mine(probe, Direction::ToServer, b"EHLOx\r\n");
        assert_not_mine(probe, Direction::ToServer, b"HELP\r\n");
    }

    #[test]
    fn bare_greeting_waits() {
        assert_eq!(
            probe(Direction::ToClient, b"220 Welcome\r\n"),
            Probe::NeedMore
        );
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
