//! DHCP (RFC 2131) and DHCPv6 (RFC 8415), both named `dhcp`.
//!
//! Contract, DHCPv4: `Match` when the datagram has the BOOTP fixed header
//! (RFC 2131 §2, figure 1) with op 1 or 2, htype 1 (Ethernet), hlen 6,
//! hops ≤ 16, only the broadcast flag possibly set, a client's `yiaddr`
//! zero, the magic cookie `99.130.83.99` at offset 236 (§3) and then
//! options (RFC 2132 §2) that are well formed up to an End option (§3.2;
//! only padding may follow it); a DHCP message type (option 53) must be one known
//! value that agrees with `op` (RFC 2131 §3.1, table 3).
//!
//! Contract, DHCPv6: `Match` when a client/server message (msg-type 1–11,
//! RFC 8415 §8) or relay message (12–13, §9) is followed by options that
//! tile the datagram exactly (§21.1), with a Client or Server Identifier
//! whose DUID type is 1–4 (§11.1) for client/server messages, or a Relay
//! Message option holding a DHCPv6 message for relay messages.
//!
//! Reasons: the cookie and the exact option tiling are the strong checks;
//! direction is ignored because DHCP flows are often broadcast, so the
//! first sender may well be the server.

use super::{be16, be32};
use crate::dpi::{AppProto, Descriptor, Probe};
use crate::flow::Direction;

/// The DHCP descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Dhcp,
    ports: &[67, 68, 546, 547],
    probe,
};

/// Offset of the magic cookie (RFC 2131 §3).
const COOKIE_AT: usize = 236;
/// The magic cookie 99.130.83.99 (RFC 2132 §2).
const COOKIE: u32 = 0x6382_5363;
/// Most relay hops (RFC 2131 §4.1 suggests 16 as the relay limit).
const MAX_HOPS: u8 = 16;
/// DHCPv6 client/server header: msg-type and transaction-id (§8).
const V6_HEADER: usize = 4;
/// DHCPv6 relay header: msg-type, hop-count, link and peer addresses (§9).
const V6_RELAY_HEADER: usize = 34;
/// Highest DHCPv6 option code accepted (IANA assigns fewer than 200).
const V6_MAX_OPTION: u16 = 200;
/// Most relay hops (HOP_COUNT_LIMIT, RFC 8415 §7.6).
const V6_MAX_HOPS: u8 = 32;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    if dhcpv4(data) || dhcpv6(data, 0) {
        Probe::Match
    } else {
        Probe::NotMine
    }
}

fn dhcpv4(data: &[u8]) -> bool {
    let (Some(&op), Some(&htype), Some(&hlen), Some(&hops)) =
        (data.first(), data.get(1), data.get(2), data.get(3))
    else {
        return false;
    };
    if !matches!(op, 1 | 2) || htype != 1 || hlen != 6 || hops > MAX_HOPS {
        return false;
    }
    let (Some(flags), Some(yiaddr), Some(cookie)) =
        (be16(data, 10), be32(data, 16), be32(data, COOKIE_AT))
    else {
        return false;
    };
    if flags & 0x7fff != 0 || (op == 1 && yiaddr != 0) || cookie != COOKIE {
        return false;
    }
    // Options (RFC 2132 §2): Pad, End, or code/length/value.
    let mut pos = COOKIE_AT + 4;
    let mut msg_type = None;
    loop {
        let Some(&code) = data.get(pos) else {
            // The datagram ended before the End option: cut or garbage.
            return false;
        };
        match code {
            0 => pos += 1,
            255 => break,
            _ => {
                let Some(&len) = data.get(pos + 1) else {
                    return false;
                };
                let value = pos + 2;
                let end = value + usize::from(len);
                if end > data.len() {
                    return false;
                }
                if code == 53 {
                    if len != 1 || msg_type.is_some() {
                        return false;
                    }
                    msg_type = data.get(value).copied();
                }
                pos = end;
            }
        }
    }
    match msg_type {
        // DISCOVER, REQUEST, DECLINE, RELEASE, INFORM come from clients.
        Some(1 | 3 | 4 | 7 | 8) => op == 1,
        // OFFER, ACK, NAK come from servers.
        Some(2 | 5 | 6) => op == 2,
        // FORCERENEW (RFC 3203) and leasequery (RFC 4388, RFC 6926).
        Some(9..=18) => true,
        Some(_) => false,
        // Plain BOOTP (RFC 951) with the vendor cookie.
        None => true,
    }
}

/// A DHCPv6 message at `depth` relay levels.
fn dhcpv6(data: &[u8], depth: u8) -> bool {
    let Some(&msg_type) = data.first() else {
        return false;
    };
    let relay = match msg_type {
        1..=11 => false,
        12 | 13 => true,
        _ => return false,
    };
    let start = if relay {
        if data.get(1).is_none_or(|&h| h > V6_MAX_HOPS) || depth >= V6_MAX_HOPS {
            return false;
        }
        V6_RELAY_HEADER
    } else {
        V6_HEADER
    };
    let mut pos = start;
    let mut identified = false;
    if pos >= data.len() {
        return false;
    }
    while pos < data.len() {
        let (Some(code), Some(len)) = (be16(data, pos), be16(data, pos + 2)) else {
            return false;
        };
        let value = pos + 4;
        let end = value + usize::from(len);
        let Some(body) = data.get(value..end) else {
            return false;
        };
        if code == 0 || code > V6_MAX_OPTION {
            return false;
        }
        match code {
            // Client / Server Identifier: a DUID (§11.1).
            1 | 2 if !relay => {
                if !matches!(be16(body, 0), Some(1..=4)) {
                    return false;
                }
                identified = true;
            }
            // Elapsed Time is exactly 2 bytes (§21.9).
            8 if len != 2 => return false,
            // Relay Message (§21.10): the relayed message itself.
            9 if relay => {
                if !dhcpv6(body, depth + 1) {
                    return false;
                }
                identified = true;
            }
            _ => {}
        }
        pos = end;
    }
    identified
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::udp::test_util::{assert_prefixes_rejected, hex};

    /// 236 bytes of BOOTP header from `ndpi/1kxun.pcap`: the 44 given
    /// bytes, then zero sname/file fields.
    fn bootp(head: &str, opts: &str) -> Vec<u8> {
        let mut d = hex(head);
        d.resize(COOKIE_AT, 0);
        d.extend(hex("63825363"));
        d.extend(hex(opts));
        d
    }

    /// Frame 11: DHCPREQUEST from 70:3e:ac:f0:f0:07.
    fn request() -> Vec<u8> {
        bootp(
            "01010600060fbf5b0000000000000000000000000000000000000000703eacf0f007",
            "3501033707017903060f77fc390205dc3d0701703eacf0f0073204c0a803ed33040076a7000c045368656eff0000\
             0000000000000000000000000000",
        )
    }

    /// Frame 5: DHCPACK from the server (67 → 68), broadcast flag set.
    fn ack() -> Vec<u8> {
        bootp(
            "02010600c091205200008000c0a80524c0a80524c0a877010000000000265ac26355",
            "3501053604c0a8770133040000003c0104ffff00000304c0a877010610a85f010108080808a85fc00108080404\
             2a08a85fc30c7bcc2d74ff00000000",
        )
    }

    /// Frame 12: DHCPv6 INFORMATION-REQUEST (546 → 547).
    const V6_INFO_REQUEST: &str =
        "0b27731d0001000e000100011db8e6fb703eacf0f0070006000400170018000800020000";

    #[test]
    fn matches_dhcp_both_ways() {
        assert_eq!(probe(Direction::ToServer, &request()), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &ack()), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &ack()), Probe::Match);
    }

    #[test]
    fn matches_dhcpv6() {
        let d = hex(V6_INFO_REQUEST);
        assert_eq!(probe(Direction::ToServer, &d), Probe::Match);
        // The same message relayed: Relay-Forw, hop 0, two addresses, then
        // Relay Message (9) holding it.
        let mut relay = vec![12, 0];
        relay.extend([0x20, 0x01, 0x0d, 0xb8].iter().chain([0u8; 12].iter()));
        relay.extend(
            [0xfe, 0x80]
                .iter()
                .chain([0u8; 13].iter())
                .chain([1u8].iter()),
        );
        relay.extend([0, 9, 0, d.len() as u8]);
        relay.extend(&d);
        assert_eq!(probe(Direction::ToServer, &relay), Probe::Match);
    }

    #[test]
    fn truncations_are_rejected() {
        // v4: anything cut before the End option; the padding after it
        // may go.
        for d in [request(), ack()] {
            let end = d.iter().rposition(|&b| b == 0xff).unwrap_or_default();
            assert_prefixes_rejected(probe, &d[..=end]);
            assert_eq!(probe(Direction::ToServer, &d[..=end]), Probe::Match);
        }
        // v6 has no overall length: a cut at an option boundary after the
        // Client Identifier (22, 30) is itself a valid message.
        let v6 = hex(V6_INFO_REQUEST);
        for n in 0..v6.len() {
            let want = if [22, 30].contains(&n) {
                Probe::Match
            } else {
                Probe::NotMine
            };
            assert_eq!(probe(Direction::ToServer, &v6[..n]), want, "{n}");
        }
    }

    #[test]
    fn near_misses_are_rejected() {
        for (at, v) in [
            (0, 3),
            (1, 6),
            (2, 16),
            (3, 17),
            (10, 0x40),
            (236, 0x64),
            (242, 5),
        ] {
            let mut d = request();
            d[at] = v;
            assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine, "byte {at}");
        }
        // A client message offering an address.
        let mut d = request();
        d[16] = 10;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // No End option.
        let d = bootp("01010600060fbf5b", "350101");
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // An option running past the datagram.
        let mut d = request();
        d[244] = 0xf0;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // DHCPv6: unknown msg-type, trailing byte, DUID type 0, short
        // Elapsed Time.
        let v6 = hex(V6_INFO_REQUEST);
        let mut d = v6.clone();
        d[0] = 14;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        let mut d = v6.clone();
        d.push(0);
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        let mut d = v6.clone();
        d[9] = 0;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // Without the Client Identifier nothing names the message.
        let d = hex("0b27731d0006000400170018000800020000");
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
    }
}
