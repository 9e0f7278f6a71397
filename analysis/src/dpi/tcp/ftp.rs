//! FTP control channel: the server's `220` greeting naming FTP (or
//! answered with an FTP-only reply), or the client's opening commands.
//!
//! RFC 959 §4.2 / §5.4: the server opens with `220`, as SMTP servers do,
//! so the server side is told apart by [`reply::classify`]. On the client
//! side `AUTH TLS`/`AUTH SSL` (RFC 4217 §4), `FEAT` (RFC 2389 §3) and
//! `OPTS UTF8` decide at once. `USER` does not: POP3 clients send
//! `USER`/`PASS` too (RFC 1939 §7), so after `USER` the probe reads on
//! until a command only FTP has (`SYST`, `PWD`, `TYPE`, `PASV`, …);
//! a POP3-only command or anything else declines. Commands are
//! case-insensitive (RFC 959 §5.3).

use super::super::{AppProto, Descriptor, Probe};
use super::reply::{self, Server};
use super::wire::{any_of, is_text, line, literal_ci};
use crate::flow::Direction;

/// FTP descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Ftp,
    ports: &[21, 2121],
    probe,
};

/// Client openings that are FTP on their own.
const DECISIVE: &[&[u8]] = &[
    b"AUTH TLS",
    b"AUTH SSL",
    b"FEAT\r\n",
    b"FEAT\n",
    b"OPTS UTF8",
];
/// Commands only FTP has, after `USER`.
const FTP_ONLY: &[&[u8]] = &[
    b"SYST", b"PWD", b"XPWD", b"TYPE", b"PASV", b"EPSV", b"PORT", b"EPRT", b"CWD", b"CDUP",
    b"FEAT", b"OPTS", b"MLSD", b"MLST", b"NLST", b"SIZE", b"MDTM", b"STOR", b"MKD", b"REST",
    b"PBSZ", b"PROT", b"CLNT", b"SITE", b"MODE", b"STRU",
];
/// Commands FTP shares with POP3: keep reading.
const SHARED: &[&[u8]] = &[
    b"USER", b"PASS", b"ACCT", b"QUIT", b"NOOP", b"STAT", b"LIST", b"RETR", b"DELE", b"HELP",
];

fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToClient => match reply::classify(data) {
            Server::Ftp => Probe::Match,
            Server::Undecided => Probe::NeedMore,
            Server::Smtp | Server::Neither => Probe::NotMine,
        },
        Direction::ToServer => {
            let decisive = DECISIVE
                .iter()
                .map(|lit| literal_ci(data, lit))
                .fold(Probe::NotMine, any_of);
            any_of(decisive, probe_login(data))
        }
    }
}

/// `USER name` then commands, up to one only FTP has.
fn probe_login(data: &[u8]) -> Probe {
    match literal_ci(data, b"USER ") {
        Probe::Match => {}
        other => return other,
    }
    let mut rest = data;
    while !rest.is_empty() {
        let Some((cmd, after)) = line(rest) else {
            // An unterminated command line: fine while it is text.
            return if rest.iter().all(|&b| b == b'\r' || is_text(b)) {
                Probe::NeedMore
            } else {
                Probe::NotMine
            };
        };
        if !cmd.iter().all(|&b| is_text(b)) {
            return Probe::NotMine;
        }
        let word = cmd.split(|&b| b == b' ').next().unwrap_or_default();
        let is = |set: &[&[u8]]| set.iter().any(|c| c.eq_ignore_ascii_case(word));
        if is(FTP_ONLY) {
            return Probe::Match;
        }
        if !is(SHARED) {
            return Probe::NotMine;
        }
        rest = after;
    }
    Probe::NeedMore
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;
    use crate::dpi::parse::testutil::shared_payload;

    #[test]
    fn server_greetings_match() {
        assert_valid(probe, Direction::ToClient, b"220 (vsFTPd 3.0.3)\r\n");
        // A 69-byte banner: zeek__ftp_bruteforce.pcap frame 4, read from
        // the capture.
        let redmint = shared_payload("zeek__ftp_bruteforce.pcap", 4);
        assert_valid(probe, Direction::ToClient, &redmint);
        assert_valid(
            probe,
            Direction::ToClient,
            b"220 Welcome\r\n331 Please specify the password.\r\n",
        );
    }

    #[test]
    fn client_commands_match() {
        assert_valid(probe, Direction::ToServer, b"AUTH TLS\r\n");
        assert_valid(probe, Direction::ToServer, b"feat\r\n");
        assert_valid(
            probe,
            Direction::ToServer,
            b"USER anonymous\r\nPASS a@b\r\nSYST\r\n",
        );
        assert_valid(probe, Direction::ToServer, b"USER bro\r\nPASS x\r\nPWD\r\n");
        // USER alone could still be POP3.
        assert_eq!(
            probe(Direction::ToServer, b"USER anonymous\r\n"),
            Probe::NeedMore
        );
    }

    #[test]
    fn others_are_not_mine() {
        assert_not_mine(
            probe,
            Direction::ToServer,
            b"USER bob\r\nPASS x\r\nUIDL\r\n",
        );
        assert_not_mine(probe, Direction::ToServer, b"USER bob\r\nCAPA\r\n");
        assert_not_mine(probe, Direction::ToServer, b"USER \x01\r\n");
        assert_not_mine(probe, Direction::ToServer, b"AUTH PLAIN\r\n");
        assert_not_mine(probe, Direction::ToServer, b"EHLO x\r\n");
        assert_not_mine(probe, Direction::ToClient, b"220 mail ESMTP Postfix\r\n");
        assert_not_mine(probe, Direction::ToClient, b"220 Welcome\r\n250 OK\r\n");
        assert_not_mine(probe, Direction::ToClient, b"+OK ready\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
