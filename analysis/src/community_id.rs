//! Community ID v1 flow hashing (<https://github.com/corelight/community-id-spec>).
//!
//! The same flow gets the same id in Osprey, Suricata, Zeek and Arkime, so an
//! analyst can pivot between tools. The input is the SHA-1 of
//! `seed(2, BE) | addr_lo | addr_hi | proto(1) | 0(1) | port_lo(2) | port_hi(2)`
//! with the endpoints ordered so the smaller (address, port) comes first; ICMP
//! types map to port equivalents (echo ↔ echo reply, …) and one-way ICMP
//! messages are never reordered, exactly as the reference implementation does.

use base64::Engine;
use sha1::{Digest, Sha1};
use std::net::IpAddr;

const PROTO_ICMP: u8 = 1;
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_ICMPV6: u8 = 58;
const PROTO_SCTP: u8 = 132;

/// Counterpart of an ICMPv4 type (request ↔ reply), per the reference table.
fn icmp4_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        8 => 0,
        0 => 8,
        13 => 14,
        14 => 13,
        15 => 16,
        16 => 15,
        10 => 9,
        17 => 18,
        18 => 17,
        _ => return None,
    })
}

/// Counterpart of an ICMPv6 type (request ↔ reply), per the reference table.
fn icmp6_counterpart(t: u8) -> Option<u8> {
    Some(match t {
        128 => 129,
        129 => 128,
        133 => 134,
        134 => 133,
        135 => 136,
        136 => 135,
        130 => 131,
        131 => 130,
        139 => 140,
        140 => 139,
        144 => 145,
        145 => 144,
        _ => return None,
    })
}

fn addr_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Community ID v1 of one packet's (or flow's) tuple, seed 0.
///
/// For ICMP/ICMPv6, `src_port` is the ICMP type and `dst_port` the code.
/// For protocols without ports, the ports are ignored.
pub fn community_id_v1(
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    src_port: u16,
    dst_port: u16,
) -> String {
    community_id_v1_seeded(0, src, dst, proto, src_port, dst_port)
}

/// Community ID v1 with an explicit seed.
pub fn community_id_v1_seeded(
    seed: u16,
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    src_port: u16,
    dst_port: u16,
) -> String {
    let (sa, da) = (addr_bytes(&src), addr_bytes(&dst));
    let has_ports = matches!(
        proto,
        PROTO_TCP | PROTO_UDP | PROTO_SCTP | PROTO_ICMP | PROTO_ICMPV6
    );
    let (mut sp, mut dp, mut one_way) = (src_port, dst_port, false);
    if proto == PROTO_ICMP || proto == PROTO_ICMPV6 {
        let t = u8::try_from(src_port).unwrap_or(u8::MAX);
        let counterpart = if proto == PROTO_ICMP {
            icmp4_counterpart(t)
        } else {
            icmp6_counterpart(t)
        };
        match counterpart {
            Some(c) => dp = u16::from(c),
            None => one_way = true,
        }
        sp = u16::from(t);
    }
    if !has_ports {
        (sp, dp) = (0, 0);
    }
    let ordered = (sa.as_slice(), sp) < (da.as_slice(), dp);
    let (a, b, pa, pb) = if one_way || ordered {
        (&sa, &da, sp, dp)
    } else {
        (&da, &sa, dp, sp)
    };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(a);
    h.update(b);
    h.update([proto, 0]);
    if has_ports {
        h.update(pa.to_be_bytes());
        h.update(pb.to_be_bytes());
    }
    format!(
        "1:{}",
        base64::engine::general_purpose::STANDARD.encode(h.finalize())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (proto, source, destination, ports, expected id).
    type Vector = (
        u8,
        &'static str,
        &'static str,
        Option<(u16, u16)>,
        &'static str,
    );

    /// Vectors from community-id-spec `baseline/baseline_deflt.json`.
    #[test]
    fn published_baseline_vectors() {
        let cases: &[Vector] = &[
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "fe80::260:97ff:fe07:69ea",
                Some((135, 136)),
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "fe80::200:86ff:fe05:80da",
                Some((136, 135)),
                "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "fe80::200:86ff:fe05:80da",
                Some((135, 136)),
                "1:zavyT/cezQr1fmImYCwYnMXbgck=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "fe80::260:97ff:fe07:69ea",
                Some((136, 135)),
                "1:zavyT/cezQr1fmImYCwYnMXbgck=",
            ),
            (
                58,
                "3ffe:501:1800:2345::2",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                Some((3, 0)),
                "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=",
            ),
            (
                58,
                "3ffe:501:410:0:2c0:dfff:fe47:33e",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                Some((1, 4)),
                "1:hLZd0XGWojozrvxqE0dWB1iM6R0=",
            ),
            (
                58,
                "3ffe:507:0:1:200:86ff:fe05:80da",
                "3ffe:501:0:1001::2",
                Some((128, 129)),
                "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=",
            ),
            (
                58,
                "3ffe:501:0:1001::2",
                "3ffe:507:0:1:200:86ff:fe05:80da",
                Some((129, 128)),
                "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=",
            ),
            (
                58,
                "fe80::200:86ff:fe05:80da",
                "ff02::2",
                Some((133, 134)),
                "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=",
            ),
            (
                58,
                "fe80::260:97ff:fe07:69ea",
                "ff02::1",
                Some((134, 133)),
                "1:pkvHqCL88/tg1k4cPigmZXUtL00=",
            ),
            (
                1,
                "192.168.0.89",
                "192.168.0.1",
                Some((8, 0)),
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "192.168.0.1",
                "192.168.0.89",
                Some((0, 8)),
                "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
            ),
            (
                1,
                "10.0.0.1",
                "10.0.0.2",
                Some((11, 0)),
                "1:YHxtAirCG//0OzkcVAukqKQN9xM=",
            ),
            (
                6,
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                "2607:f8b0:400c:c03::1a",
                Some((63943, 25)),
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                6,
                "2607:f8b0:400c:c03::1a",
                "2001:470:e5bf:dead:4957:2174:e82c:4887",
                Some((25, 63943)),
                "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=",
            ),
            (
                132,
                "192.168.170.8",
                "192.168.170.56",
                Some((7, 7)),
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
            (
                132,
                "192.168.170.56",
                "192.168.170.8",
                Some((7, 7)),
                "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=",
            ),
            (
                6,
                "128.232.110.120",
                "66.35.250.204",
                Some((34855, 80)),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                6,
                "66.35.250.204",
                "128.232.110.120",
                Some((80, 34855)),
                "1:LQU9qZlK+B5F3KDmev6m5PMibrg=",
            ),
            (
                17,
                "192.168.1.52",
                "8.8.8.8",
                Some((54585, 53)),
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                17,
                "8.8.8.8",
                "192.168.1.52",
                Some((53, 54585)),
                "1:d/FP5EW3wiY1vCndhwleRRKHowQ=",
            ),
            (
                46,
                "10.1.12.1",
                "10.1.12.2",
                None,
                "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            ),
            (
                46,
                "10.1.12.2",
                "10.1.12.1",
                None,
                "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=",
            ),
        ];
        for (proto, s, d, ports, want) in cases {
            let (sp, dp) = ports.unwrap_or((0, 0));
            let got = community_id_v1(s.parse().unwrap(), d.parse().unwrap(), *proto, sp, dp);
            assert_eq!(&got, want, "{proto} {s} {d} {ports:?}");
        }
    }
}
