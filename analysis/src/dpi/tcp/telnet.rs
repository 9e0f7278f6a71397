//! Telnet: option negotiation at the very start of a direction.
//!
//! RFC 854 ("Telnet Protocol Specification", p. 14): commands are
//! `IAC (255)` followed by a command byte; option negotiation is
//! `IAC WILL/WONT/DO/DONT (251–254) option` (RFC 855), subnegotiation is
//! `IAC SB option … IAC SE`. Servers and most clients negotiate before
//! sending any text. One negotiation is three bytes any binary protocol
//! could start with, so a match needs two negotiations, or one followed by
//! text; the option must be an assigned one (IANA "Telnet Options":
//! 0–49, 138–140, 255).

use super::super::{AppProto, Descriptor, Probe};
use super::wire::u8_at;
use crate::flow::Direction;

/// Telnet descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Telnet,
    ports: &[23, 2323],
    probe,
};

/// Interpret As Command.
const IAC: u8 = 255;
/// Subnegotiation begin / end.
const SB: u8 = 250;
const SE: u8 = 240;
/// Longest subnegotiation looked through.
const MAX_SB: usize = 64;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    let mut pos = 0usize;
    let mut negotiations = 0u32;
    loop {
        let Some(b) = u8_at(data, pos) else {
            return Probe::NeedMore;
        };
        if b != IAC {
            // Text after a negotiation (a banner, "login: ").
            let text = b.is_ascii_graphic() || matches!(b, b' ' | b'\r' | b'\n' | b'\t' | 0);
            return if negotiations > 0 && text {
                Probe::Match
            } else {
                Probe::NotMine
            };
        }
        let Some(cmd) = u8_at(data, pos + 1) else {
            return Probe::NeedMore;
        };
        match cmd {
            251..=254 | SB => {
                let Some(opt) = u8_at(data, pos + 2) else {
                    return Probe::NeedMore;
                };
                if !option_assigned(opt) {
                    return Probe::NotMine;
                }
                pos += 3;
                if cmd == SB {
                    match subnegotiation_end(data, pos) {
                        Some(Ok(end)) => pos = end,
                        Some(Err(())) => return Probe::NotMine,
                        None => return Probe::NeedMore,
                    }
                }
                negotiations += 1;
            }
            // NOP, DM, BRK, IP, AO, AYT, EC, EL, GA: only after a
            // negotiation.
            241..=249 if negotiations > 0 => pos += 2,
            _ => return Probe::NotMine,
        }
        if negotiations >= 2 {
            return Probe::Match;
        }
    }
}

/// Offset after the `IAC SE` closing a subnegotiation whose body starts at
/// `from`; `Some(Err)` when it runs past [`MAX_SB`], `None` when it has not
/// ended yet.
fn subnegotiation_end(data: &[u8], from: usize) -> Option<Result<usize, ()>> {
    let body = data.get(from..)?;
    let limit = body.len().min(MAX_SB);
    let window = body.get(..limit)?;
    match window.windows(2).position(|w| w == [IAC, SE]) {
        Some(i) => Some(Ok(from + i + 2)),
        None if body.len() >= MAX_SB => Some(Err(())),
        None => None,
    }
}

/// Assigned Telnet option codes.
fn option_assigned(opt: u8) -> bool {
    matches!(opt, 0..=49 | 138..=140 | 255)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn negotiations_match() {
        // ndpi telnet.pcap client side.
        assert_valid(
            probe,
            Direction::ToServer,
            b"\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb\x20\xff\xfb\x21",
        );
        assert_valid(probe, Direction::ToClient, b"\xff\xfd\x25login: ");
        assert_valid(
            probe,
            Direction::ToClient,
            b"\xff\xfa\x18\x01\xff\xf0\xff\xfb\x01",
        );
    }

    #[test]
    fn lone_negotiation_waits() {
        assert_eq!(probe(Direction::ToClient, b"\xff\xfd\x25"), Probe::NeedMore);
    }

    #[test]
    fn near_misses() {
        assert_not_mine(probe, Direction::ToServer, b"\xff\xfd\x80\xff\xfb\x18");
        assert_not_mine(probe, Direction::ToServer, b"\xff\x00\x01");
        assert_not_mine(probe, Direction::ToServer, b"\xff\xf1\xff\xfd\x01");
        assert_not_mine(probe, Direction::ToServer, b"\xff\xfd\x01\x80");
        assert_not_mine(probe, Direction::ToServer, b"\xff\xffSMB");
        assert_not_mine(probe, Direction::ToServer, b"login: ");
        let mut long_sb = vec![0xff, 0xfa, 0x18];
        long_sb.extend_from_slice(&[b'x'; 80]);
        assert_not_mine(probe, Direction::ToServer, &long_sb);
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
