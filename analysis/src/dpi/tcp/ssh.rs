//! SSH: the identification string either side sends first.
//!
//! RFC 4253 §4.2: `SSH-protoversion-softwareversion SP comments CR LF`,
//! protoversion `2.0` (or `1.99` for servers that also speak 1.x, and `1.5`
//! for SSH-1, RFC 4253 §5.1); softwareversion is printable US-ASCII without
//! spaces or minus signs. The RFC lets a server send other lines before
//! the version line; we only look at the first line (such banners are
//! rare and a miss is better than a guess).

use super::super::{AppProto, Descriptor, Probe};
use super::wire::literal;
use crate::flow::Direction;

/// SSH descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Ssh,
    ports: &[22, 2222],
    probe,
};

/// Longest protoversion looked at (`1.99` is the longest in use).
const MAX_PROTO: usize = 8;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let rest = match literal(data, b"SSH-") {
        Probe::Match => data.get(4..).unwrap_or_default(),
        other => return other,
    };
    // protoversion: DIGITS "." DIGITS "-"
    let mut seen_dot = false;
    let mut digits = 0usize;
    for (i, &b) in rest.iter().enumerate() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' if !seen_dot && digits > 0 => {
                seen_dot = true;
                digits = 0;
            }
            b'-' if seen_dot && digits > 0 => {
                return match rest.get(i + 1) {
                    None => Probe::NeedMore,
                    Some(&c) if c.is_ascii_graphic() && c != b'-' => Probe::Match,
                    Some(_) => Probe::NotMine,
                };
            }
            _ => return Probe::NotMine,
        }
        if i >= MAX_PROTO {
            return Probe::NotMine;
        }
    }
    Probe::NeedMore
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn version_lines_match() {
        assert_valid(probe, Direction::ToClient, b"SSH-2.0-OpenSSH_5.3\r\n");
        assert_valid(
            probe,
            Direction::ToServer,
            b"SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11\r\n",
        );
        assert_valid(probe, Direction::ToClient, b"SSH-1.99-Cisco-1.25\r\n");
        assert_valid(probe, Direction::ToServer, b"SSH-2.0-APACHE-SSHD-2.5.0\r\n");
    }

    #[test]
    fn near_misses() {
        for bytes in [
            &b"SSH 2.0 hi\r\n"[..],
            b"SSH-2.0 hi",
            b"SSH-x.0-a",
            b"SSH-2-a",
            b"SSH-2.0--",
            b"SSH-.0-a",
            b"SSH-2.0- ",
            b"SSH-123456789.0-a",
            b"ssh-2.0-OpenSSH",
            b"HTTP/1.1 200 OK\r\n",
        ] {
            assert_not_mine(probe, Direction::ToClient, bytes);
        }
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
