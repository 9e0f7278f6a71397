//! Decoder tests: layers, overlays, malformed input, robustness, and the
//! shared sample captures (skipped when /work/shared/pcaps is absent).

use std::net::IpAddr;

use super::testutil::*;
use super::*;

fn packet(d: Decoded) -> PacketMeta {
    match d {
        Decoded::Packet(m) => m,
        other => panic!("expected Packet, got {other:?}"),
    }
}

fn decode1(f: &RawFrame) -> PacketMeta {
    packet(Decoder::default().decode(f, 1))
}

fn syn_with_mss() -> Vec<u8> {
    tcp(40000, 443, 0x02, &[2, 4, 0x05, 0xB4, 1, 1, 4, 2], b"hi")
}

#[test]
fn tcp_over_ethernet() {
    let f = eth_frame(eth(0x0800, &V4::new(6).build(&syn_with_mss())));
    let m = decode1(&f);
    let ip = m.ip.unwrap_or_else(|| panic!("no ip"));
    assert_eq!(ip.src, IpAddr::V4(A4));
    assert_eq!(ip.dst, IpAddr::V4(B4));
    assert_eq!((ip.proto, ip.ttl), (6, 64));
    let Some(Transport::Tcp(t)) = m.transport else {
        panic!("no tcp: {m:?}");
    };
    assert_eq!(
        (t.src_port, t.dst_port, t.seq, t.ack),
        (40000, 443, 1000, 2000)
    );
    assert!(t.has(TcpMeta::SYN) && !t.has(TcpMeta::ACK));
    assert_eq!((t.window, t.mss), (0xFFFF, Some(1460)));
    assert_eq!(&f.data[m.payload.clone()], b"hi");
    // The common path allocates nothing.
    assert!(m.anomalies.is_empty());
    assert_eq!(m.anomalies.capacity(), 0);
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut data = eth(0x0800, &V4::new(17).build(&udp(5000, 53, b"q")));
    data.resize(60, 0xEE);
    let f = eth_frame(data);
    let m = decode1(&f);
    assert_eq!(&f.data[m.payload.clone()], b"q");
    assert!(m.anomalies.is_empty());
}

#[test]
fn ipv4_length_problems() {
    // Total length larger than captured: decode what is there.
    let mut ip = V4::new(17).build(&udp(1, 2, b"abcdef"));
    ip[2..4].copy_from_slice(&200u16.to_be_bytes());
    let f = eth_frame(eth(0x0800, &ip));
    let m = decode1(&f);
    assert_eq!(m.anomalies, [DecodeAnomaly::Ipv4Truncated]);
    assert!(matches!(
        m.transport,
        Some(Transport::Udp { dst_port: 2, .. })
    ));
    assert_eq!(&f.data[m.payload.clone()], b"abcdef");

    // Total length below the header (TSO captures write 0): flagged, then
    // the captured length is used.
    let mut ip = V4::new(17).build(&udp(1, 2, b"xy"));
    ip[2..4].copy_from_slice(&0u16.to_be_bytes());
    let f = eth_frame(eth(0x0800, &ip));
    let m = decode1(&f);
    assert_eq!(m.anomalies, [DecodeAnomaly::Ipv4Malformed]);
    assert_eq!(&f.data[m.payload.clone()], b"xy");

    // IHL < 5: nothing trustworthy.
    let mut ip = V4::new(17).build(&udp(1, 2, b""));
    ip[0] = 0x44;
    let m = decode1(&eth_frame(eth(0x0800, &ip)));
    assert_eq!(m.anomalies, [DecodeAnomaly::Ipv4Malformed]);
    assert!(m.ip.is_none());

    // Header cut by the capture.
    let ip = V4::new(17).build(&[]);
    let m = decode1(&eth_frame(eth(0x0800, &ip[..12])));
    assert_eq!(m.anomalies, [DecodeAnomaly::Ipv4Truncated]);
}

#[test]
fn transport_problems() {
    let mut t = tcp(1, 2, 0x10, &[], b"");
    t[12] = 0x40; // data offset 4
    let m = decode1(&eth_frame(eth(0x0800, &V4::new(6).build(&t))));
    assert_eq!(m.anomalies, [DecodeAnomaly::TcpMalformed]);
    assert!(m.transport.is_none());
    assert!(m.ip.is_some());

    // Options cut off: ports and flags still count, MSS unknown.
    let t = syn_with_mss();
    let m = decode1(&eth_frame(eth(0x0800, &V4::new(6).build(&t[..24]))));
    assert_eq!(m.anomalies, [DecodeAnomaly::TcpMalformed]);
    assert!(matches!(
        m.transport,
        Some(Transport::Tcp(TcpMeta { mss: None, .. }))
    ));

    let mut u = udp(1, 2, b"abc");
    u[4..6].copy_from_slice(&50u16.to_be_bytes());
    let m = decode1(&eth_frame(eth(0x0800, &V4::new(17).build(&u))));
    assert_eq!(m.anomalies, [DecodeAnomaly::UdpMalformed]);
    let m = decode1(&eth_frame(eth(0x0800, &V4::new(17).build(&u[..5]))));
    assert_eq!(m.anomalies, [DecodeAnomaly::UdpMalformed]);
    assert!(m.transport.is_none());

    let echo = [8, 0, 0, 0, 0, 1, 0, 1, b'p'];
    let f = eth_frame(eth(0x0800, &V4::new(1).build(&echo)));
    let m = decode1(&f);
    assert_eq!(
        m.transport,
        Some(Transport::Icmp {
            icmp_type: 8,
            code: 0
        })
    );
    assert_eq!(&f.data[m.payload.clone()], b"p");
    let m = decode1(&eth_frame(eth(0x0800, &V4::new(1).build(&echo[..3]))));
    assert_eq!(m.anomalies, [DecodeAnomaly::IcmpMalformed]);

    let m = decode1(&eth_frame(eth(0x0800, &V4::new(132).build(b"sctp"))));
    assert_eq!(m.transport, Some(Transport::Other(132)));
}

#[test]
fn ipv6_extension_chains() {
    let icmp6 = [128, 0, 0, 0, 0, 1, 0, 1];
    // Hop-by-hop, routing, destination options, then ICMPv6.
    let mut p = ext6(43);
    p.extend(ext6(60));
    p.extend(ext6(58));
    p.extend_from_slice(&icmp6);
    let m = decode1(&eth_frame(eth(0x86DD, &ipv6(0, &p))));
    assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
    assert_eq!(m.ip.map(|i| i.proto), Some(58));
    assert_eq!(
        m.transport,
        Some(Transport::Icmpv6 {
            icmp_type: 128,
            code: 0
        })
    );

    // Hop-by-hop after another header (RFC 8200 §4.3).
    let mut p = ext6(0);
    p.extend(ext6(58));
    p.extend_from_slice(&icmp6);
    let m = decode1(&eth_frame(eth(0x86DD, &ipv6(60, &p))));
    assert_eq!(m.anomalies, [DecodeAnomaly::Ipv6ExtHeader]);
    assert!(m.transport.is_some());

    // Longer than the cap.
    let mut p = Vec::new();
    for _ in 0..MAX_IPV6_EXT_HEADERS {
        p.extend(ext6(60));
    }
    p.extend(ext6(58));
    p.extend_from_slice(&icmp6);
    let m = decode1(&eth_frame(eth(0x86DD, &ipv6(60, &p))));
    assert_eq!(m.anomalies, [DecodeAnomaly::Ipv6ExtHeader]);
    assert!(m.transport.is_none());

    // Truncated extension header.
    let m = decode1(&eth_frame(eth(0x86DD, &ipv6(60, &[17, 1, 0, 0]))));
    assert!(m.anomalies.contains(&DecodeAnomaly::Ipv6ExtHeader));

    // Atomic fragment (RFC 6946): a whole packet.
    let mut p = frag6(17, 0, false, 9);
    p.extend(udp(1, 2, b"a"));
    let m = decode1(&eth_frame(eth(0x86DD, &ipv6(44, &p))));
    assert!(matches!(m.transport, Some(Transport::Udp { .. })), "{m:?}");
}

#[test]
fn link_types() {
    let ip4 = V4::new(17).build(&udp(1, 2, b"z"));
    let ip6 = ipv6(17, &udp(1, 2, b"z"));
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00];
    sll.extend_from_slice(&ip4);
    let mut sll2 = vec![
        0x86, 0xDD, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0,
    ];
    sll2.extend_from_slice(&ip6);
    let mut null = vec![2, 0, 0, 0];
    null.extend_from_slice(&ip4);
    let mut lo = vec![0, 0, 0, 24];
    lo.extend_from_slice(&ip6);
    let cases = [
        (113, sll),
        (276, sll2),
        (0, null),
        (108, lo),
        (101, ip6.clone()),
        (12, ip4.clone()),
        (14, ip6.clone()),
        (228, ip4.clone()),
        (229, ip6.clone()),
    ];
    for (lt, data) in cases {
        let f = frame_at(lt, data, 0);
        let m = decode1(&f);
        assert!(m.anomalies.is_empty(), "link {lt}: {:?}", m.anomalies);
        assert_eq!(&f.data[m.payload.clone()], b"z", "link {lt}");
    }
    let m = decode1(&frame_at(147, ip4, 0));
    assert_eq!(m.anomalies, [DecodeAnomaly::UnsupportedLinkType(147)]);
    assert_eq!(m.anomalies[0].name(), "unsupported_link_type");
    let m = decode1(&frame_at(113, vec![0; 10], 0));
    assert_eq!(m.anomalies, [DecodeAnomaly::TruncatedLink]);
}

#[test]
fn ethernet_encapsulations() {
    let ip6 = ipv6(17, &udp(1, 2, b"z"));
    // 802.1ad + 802.1Q + a third tag.
    let mut q = vec![
        0x00, 100, 0x81, 0x00, 0x00, 200, 0x81, 0x00, 0x01, 0x2C, 0x86, 0xDD,
    ];
    q.extend_from_slice(&ip6);
    let m = decode1(&eth_frame(eth(0x88A8, &q)));
    assert_eq!(
        m.vlans,
        VlanStack {
            ids: [100, 200],
            len: 2
        }
    );
    assert!(m.transport.is_some());
    // PPPoE session carrying IPv6.
    let mut p = vec![0x11, 0, 0, 1];
    p.extend_from_slice(&u16::try_from(ip6.len() + 2).unwrap_or(0).to_be_bytes());
    p.extend_from_slice(&[0x00, 0x57]);
    p.extend_from_slice(&ip6);
    let m = decode1(&eth_frame(eth(0x8864, &p)));
    assert!(matches!(m.transport, Some(Transport::Udp { .. })), "{m:?}");
    // MPLS, two labels.
    let mut l = vec![0, 0, 0x10, 0x40, 0, 0, 0x21, 0x40];
    l.extend_from_slice(&ip6);
    let m = decode1(&eth_frame(eth(0x8847, &l)));
    assert!(matches!(m.transport, Some(Transport::Udp { .. })), "{m:?}");
    // ARP: not IP, not an anomaly.
    let m = decode1(&eth_frame(eth(0x0806, &[0, 1, 8, 0, 6, 4, 0, 1])));
    assert!(m.ip.is_none() && m.anomalies.is_empty());
    let m = decode1(&eth_frame(eth(0x0800, &[])[..10].to_vec()));
    assert_eq!(m.anomalies, [DecodeAnomaly::TruncatedLink]);
}

fn outer_udp(dport: u16, payload: &[u8]) -> RawFrame {
    let outer = V4 {
        src: "192.0.2.1".parse().unwrap_or(A4),
        dst: "192.0.2.2".parse().unwrap_or(B4),
        ..V4::new(17)
    };
    eth_frame(eth(0x0800, &outer.build(&udp(55555, dport, payload))))
}

#[test]
fn vxlan_decapsulates_to_inner_tcp() {
    let inner = eth(0x0800, &V4::new(6).build(&tcp(1234, 80, 0x18, &[], b"GET")));
    let f = outer_udp(4789, &vxlan(42, &inner));
    let m = decode1(&f);
    assert!(m.anomalies.is_empty(), "{:?}", m.anomalies);
    assert_eq!(m.ip.map(|i| i.src), Some(IpAddr::V4(A4)));
    assert!(matches!(
        m.transport,
        Some(Transport::Tcp(TcpMeta { dst_port: 80, .. }))
    ));
    let t = m.tunnel.unwrap_or_else(|| panic!("no tunnel"));
    assert_eq!(t.kind, TunnelKind::Vxlan);
    assert_eq!(t.vni, 42);
    assert_eq!(t.outer_src.to_string(), "192.0.2.1");
    assert_eq!(m.tunnel_udp, Some((55555, 4789)));
    assert_eq!(&f.data[m.payload.clone()], b"GET");
}

#[test]
fn vxlan_with_bad_inner_keeps_outer_udp() {
    let mut bad = V4::new(6).build(&tcp(1, 2, 0, &[], b""));
    bad[0] = 0x43;
    let f = outer_udp(4789, &vxlan(7, &eth(0x0800, &bad)));
    let m = decode1(&f);
    assert_eq!(m.anomalies, [DecodeAnomaly::TunnelMalformed]);
    assert!(m.tunnel.is_none() && m.tunnel_udp.is_none());
    assert_eq!(m.ip.map(|i| i.proto), Some(17));
    assert!(matches!(
        m.transport,
        Some(Transport::Udp { dst_port: 4789, .. })
    ));
    // Truncated inner Ethernet, and a truncated VXLAN header.
    let m = decode1(&outer_udp(8472, &vxlan(7, &[0; 6])));
    assert_eq!(m.anomalies, [DecodeAnomaly::TunnelMalformed]);
    let m = decode1(&outer_udp(4789, &[0x08, 0, 0]));
    assert_eq!(m.anomalies, [DecodeAnomaly::TunnelMalformed]);
    // Inner ARP: fine, but the outer flow is all there is.
    let m = decode1(&outer_udp(4789, &vxlan(7, &eth(0x0806, &[0; 28]))));
    assert!(m.anomalies.is_empty() && m.tunnel.is_none());
    assert!(matches!(
        m.transport,
        Some(Transport::Udp { dst_port: 4789, .. })
    ));
}

#[test]
fn geneve_gre_and_ip_in_ip() {
    let inner6 = ipv6(17, &udp(7, 8, b"g"));
    let mut gen = vec![0x02, 0, 0x86, 0xDD, 0, 0, 9, 0];
    gen.extend_from_slice(&[0u8; 8]);
    gen.extend_from_slice(&inner6);
    let f = outer_udp(6081, &gen);
    let m = decode1(&f);
    assert_eq!(
        m.tunnel.map(|t| (t.kind, t.vni)),
        Some((TunnelKind::Geneve, 9))
    );
    assert_eq!(&f.data[m.payload.clone()], b"g");

    // GRE with a key, IPv4 inside.
    let mut gre = vec![0x20, 0, 0x08, 0x00, 0, 0, 0, 77];
    gre.extend_from_slice(&V4::new(17).build(&udp(7, 8, b"k")));
    let f = eth_frame(eth(0x0800, &V4::new(47).build(&gre)));
    let m = decode1(&f);
    assert_eq!(
        m.tunnel.map(|t| (t.kind, t.vni)),
        Some((TunnelKind::Gre, 77))
    );
    assert!(m.tunnel_udp.is_none());
    assert_eq!(&f.data[m.payload.clone()], b"k");

    // Bad GRE version: outer packet only.
    let m = decode1(&eth_frame(eth(
        0x0800,
        &V4::new(47).build(&[0, 3, 8, 0, 0x45]),
    )));
    assert_eq!(m.anomalies, [DecodeAnomaly::TunnelMalformed]);
    assert_eq!(m.transport, Some(Transport::Other(47)));

    // 6in4 and a bad inner header under proto 4.
    let f = eth_frame(eth(0x0800, &V4::new(41).build(&inner6)));
    let m = decode1(&f);
    assert_eq!(m.tunnel.map(|t| t.kind), Some(TunnelKind::IpInIp));
    assert!(matches!(m.ip.map(|i| i.src), Some(IpAddr::V6(_))));
    let m = decode1(&eth_frame(eth(0x0800, &V4::new(4).build(&[0x45, 0, 0]))));
    assert_eq!(m.anomalies, [DecodeAnomaly::TunnelMalformed]);
    assert_eq!(m.transport, Some(Transport::Other(4)));
    assert!(m.tunnel.is_none());
}

#[test]
fn tunnel_depth_is_capped() {
    let mut p = V4::new(17).build(&udp(1, 2, b"deep"));
    for _ in 0..4 {
        p = V4::new(4).build(&p);
    }
    let m = decode1(&eth_frame(eth(0x0800, &p)));
    assert_eq!(m.anomalies, [DecodeAnomaly::TunnelTooDeep]);
    assert_eq!(m.transport, Some(Transport::Other(4)));
    // Exactly three levels are fine.
    let mut p = V4::new(17).build(&udp(1, 2, b"deep"));
    for _ in 0..3 {
        p = V4::new(4).build(&p);
    }
    let f = eth_frame(eth(0x0800, &p));
    let m = decode1(&f);
    assert!(m.anomalies.is_empty());
    assert_eq!(&f.data[m.payload.clone()], b"deep");
}

/// xorshift64*: deterministic noise without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n.max(1) as u64).unwrap_or(0)
    }
}

/// Valid frames of every shape the decoder knows, fragments included.
fn corpus() -> Vec<RawFrame> {
    let big: Vec<u8> = (0..64u8).collect();
    let mut v = vec![
        eth_frame(eth(0x0800, &V4::new(6).build(&syn_with_mss()))),
        eth_frame(eth(0x86DD, &ipv6(0, &[ext6(6), syn_with_mss()].concat()))),
        outer_udp(4789, &vxlan(1, &eth(0x86DD, &ipv6(17, &udp(1, 2, b"x"))))),
        outer_udp(
            6081,
            &[
                &[0u8, 0, 0x65, 0x58, 0, 0, 1, 0][..],
                &eth(0x0800, &V4::new(1).build(&[8; 8])),
            ]
            .concat(),
        ),
        eth_frame(eth(
            0x0800,
            &V4::new(47).build(
                &[
                    &[
                        0x30u8, 0x81, 0x88, 0x0B, 0, 8, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x21,
                    ][..],
                    &V4::new(17).build(&udp(1, 2, b"p")),
                ]
                .concat(),
            ),
        )),
        eth_frame(eth(
            0x8864,
            &[
                &[0x11u8, 0, 0, 1, 0, 40, 0, 0x21][..],
                &V4::new(17).build(&udp(1, 2, b"p")),
            ]
            .concat(),
        )),
        eth_frame(eth(
            0x8847,
            &[
                &[0u8, 0, 0x11, 0x40][..],
                &V4::new(17).build(&udp(1, 2, b"m")),
            ]
            .concat(),
        )),
        frame_at(
            276,
            [
                &[0x08u8, 0][..],
                &[0; 18],
                &V4::new(17).build(&udp(1, 2, b"s")),
            ]
            .concat(),
            0,
        ),
        frame_at(
            0,
            [
                &[2u8, 0, 0, 0][..],
                &V4::new(4).build(&V4::new(17).build(&udp(1, 2, b"i"))),
            ]
            .concat(),
            0,
        ),
    ];
    for (off8, mf, part) in [(0u16, true, &big[..32]), (4, false, &big[32..])] {
        let ip = V4::new(17).frag(7, off8, mf).build(part);
        v.push(eth_frame(eth(0x0800, &ip)));
        let mut p = frag6(17, off8, mf, 7);
        p.extend_from_slice(part);
        v.push(eth_frame(eth(0x86DD, &ipv6(44, &p))));
    }
    v
}

#[test]
fn never_panics_on_truncated_or_mangled_frames() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut d = Decoder::new(DefragConfig {
        max_trains: 64,
        max_bytes: 1 << 16,
        ..DefragConfig::default()
    });
    let mut n = 0u64;
    for f in corpus() {
        for len in 0..=f.data.len() {
            let mut t = f.clone();
            t.data.truncate(len);
            n += 1;
            let _ = d.decode(&t, n);
        }
        for _ in 0..400 {
            let mut t = f.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(t.data.len());
                if let Some(b) = t.data.get_mut(i) {
                    *b ^= 1 << rng.below(8);
                }
            }
            if rng.below(4) == 0 {
                let cut = rng.below(t.data.len() + 1);
                t.data.truncate(cut);
            }
            n += 1;
            t.ts_ns = i64::try_from(n).unwrap_or(0) * 1_000_000;
            let _ = d.decode(&t, n);
        }
    }
    for lt in [0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 999] {
        for _ in 0..300 {
            let len = rng.below(120);
            let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            n += 1;
            let _ = d.decode(&frame_at(lt, data, 0), n);
        }
    }
    let _ = d.expire(i64::MAX);
    assert_eq!(d.stats().bytes_held, 0);
    assert_eq!(d.stats().trains_held, 0);
}

/// Every shared sample capture decodes without a panic; the common case
/// carries no anomaly.
#[test]
fn all_samples_decode() {
    let Ok(dir) = std::fs::read_dir("/work/shared/pcaps") else {
        return;
    };
    let mut files: Vec<_> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    let (mut frames, mut clean) = (0usize, 0usize);
    for p in &files {
        for d in decode_all(&read_frames(p)) {
            frames += 1;
            clean += usize::from(anomalies(&d).is_empty());
        }
    }
    assert!(
        frames == 0 || clean * 100 / frames >= 99,
        "{clean}/{frames}"
    );
}

#[test]
fn sample_overlays_and_links() {
    // (file, frames with a tunnel, frames with vlans.len == 2)
    let cases = [
        ("ndpi__vxlan.pcap", TunnelKind::Vxlan),
        ("ndpi__gre.pcapng", TunnelKind::Gre),
        ("ndpi__6in4tunnel.pcap", TunnelKind::IpInIp),
    ];
    for (name, kind) in cases {
        let Some(p) = sample(name) else { continue };
        let out = decode_all(&read_frames(&p));
        assert!(!out.is_empty(), "{name}");
        let tunneled = out
            .iter()
            .filter(|d| d.meta().tunnel.map(|t| t.kind) == Some(kind))
            .count();
        assert!(tunneled > 0, "{name}: no {kind:?}");
        for d in &out {
            assert!(anomalies(d).is_empty(), "{name}: {:?}", anomalies(d));
        }
    }
    if let Some(p) = sample("ndpi__gre.pcapng") {
        let out = decode_all(&read_frames(&p));
        let m = out[0].meta();
        assert!(matches!(
            m.transport,
            Some(Transport::Udp {
                src_port: 5060,
                dst_port: 5060
            })
        ));
        assert_eq!(m.vlans.len, 1);
    }
    if let Some(p) = sample("zeek__q-in-q.pcap") {
        let out = decode_all(&read_frames(&p));
        assert!(out.iter().any(|d| d.meta().vlans.len == 2));
    }
    if let Some(p) = sample("grpcbook__Unary.pcapng") {
        let out = decode_all(&read_frames(&p));
        let v6_tcp = out
            .iter()
            .filter(|d| {
                matches!(d.meta().ip.map(|i| i.src), Some(IpAddr::V6(_)))
                    && matches!(d.meta().transport, Some(Transport::Tcp(_)))
            })
            .count();
        assert!(v6_tcp > 0);
    }
}
