//! Defragmentation through the public `Decoder`: orderings, duplicates,
//! overlaps, teardrop, oversize, timeouts, caps, IPv6 extension headers,
//! and the shared fragment captures.

use std::net::IpAddr;

use crate::decode::testutil::*;
use crate::decode::*;

/// A UDP datagram to port 53 with `n` payload bytes.
fn udp_datagram(n: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
    udp(1053, 53, &payload)
}

/// IPv4 fragments of `l4` (proto 17), `chunk` bytes each (a multiple of 8).
fn v4_frags(id: u16, l4: &[u8], chunk: usize) -> Vec<RawFrame> {
    l4.chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let off8 = u16::try_from(i * chunk / 8).unwrap_or(0);
            let mf = (i + 1) * chunk < l4.len();
            eth_frame(eth(0x0800, &V4::new(17).frag(id, off8, mf).build(part)))
        })
        .collect()
}

/// IPv6 fragments of `l4` (next header 17), with `pre` extension headers
/// (already chained to 44) before the Fragment header.
fn v6_frags(id: u32, first_nh: u8, pre: &[u8], l4: &[u8], chunk: usize) -> Vec<RawFrame> {
    l4.chunks(chunk)
        .enumerate()
        .map(|(i, part)| {
            let off8 = u16::try_from(i * chunk / 8).unwrap_or(0);
            let mf = (i + 1) * chunk < l4.len();
            let mut p = pre.to_vec();
            p.extend(frag6(17, off8, mf, id));
            p.extend_from_slice(part);
            eth_frame(eth(0x86DD, &ipv6(first_nh, &p)))
        })
        .collect()
}

/// Feed `order` (indexes into `frames`, pkt_no = index + 1) and return the
/// outcomes in feed order.
fn feed(d: &mut Decoder, frames: &[RawFrame], order: &[usize]) -> Vec<Decoded> {
    order
        .iter()
        .map(|&i| d.decode(&frames[i], i as u64 + 1))
        .collect()
}

/// The reassembled outcome of `out`, checked to be the last one.
fn reassembled(out: &[Decoded]) -> (PacketMeta, Vec<u8>, Vec<u64>) {
    for d in &out[..out.len() - 1] {
        assert!(matches!(d, Decoded::FragmentHeld(_)), "{d:?}");
    }
    match out.last() {
        Some(Decoded::Reassembled {
            meta,
            datagram,
            fragments,
        }) => (meta.clone(), datagram.clone(), fragments.clone()),
        other => panic!("not reassembled: {other:?}"),
    }
}

#[test]
fn in_order_reversed_and_shuffled() {
    let l4 = udp_datagram(100);
    let frames = v4_frags(1, &l4, 32);
    assert_eq!(frames.len(), 4);
    let orders: [&[usize]; 4] = [&[0, 1, 2, 3], &[3, 2, 1, 0], &[2, 0, 3, 1], &[1, 3, 0, 2]];
    for order in orders {
        let mut d = Decoder::default();
        let out = feed(&mut d, &frames, order);
        let (meta, datagram, fragments) = reassembled(&out);
        assert_eq!(fragments, [1, 2, 3, 4]);
        assert!(meta.anomalies.is_empty(), "{:?}", meta.anomalies);
        assert!(matches!(
            meta.transport,
            Some(Transport::Udp { dst_port: 53, .. })
        ));
        assert_eq!(
            datagram[..20],
            V4::new(17).frag(1, 0, false).build(&l4)[..20]
        );
        assert_eq!(&datagram[20..], &l4[..]);
        assert_eq!(&datagram[meta.payload.clone()], &l4[8..]);
        let s = d.stats();
        assert_eq!(
            (s.trains, s.completed, s.bytes_held, s.trains_held),
            (1, 1, 0, 0)
        );
    }
    // Held fragments expose their data range.
    let mut d = Decoder::default();
    match d.decode(&frames[1], 2) {
        Decoded::FragmentHeld(m) => {
            assert_eq!(m.payload.len(), 32);
            assert_eq!(m.ip.map(|i| i.proto), Some(17));
            assert!(m.transport.is_none());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn many_random_orders() {
    let l4 = udp_datagram(400);
    let frames = v4_frags(2, &l4, 24);
    let n = frames.len();
    let mut seed = 0x1234_5678_9ABC_DEF1u64;
    for _ in 0..50 {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let out = feed(&mut Decoder::default(), &frames, &order);
        let (_, datagram, fragments) = reassembled(&out);
        assert_eq!(&datagram[20..], &l4[..]);
        assert_eq!(fragments.len(), n);
    }
}

#[test]
fn duplicates_and_same_data_overlaps_are_quiet() {
    let l4 = udp_datagram(56);
    let frames = v4_frags(3, &l4, 32);
    // A 16-byte fragment at offset 16 repeating the same bytes.
    let same = eth_frame(eth(
        0x0800,
        &V4::new(17).frag(3, 2, true).build(&l4[16..32]),
    ));
    let mut d = Decoder::default();
    let a = d.decode(&frames[0], 1);
    let b = d.decode(&frames[0], 2);
    let c = d.decode(&same, 3);
    assert!([&a, &b, &c].iter().all(|x| anomalies(x).is_empty()));
    let out = d.decode(&frames[1], 4);
    let (meta, datagram, fragments) = reassembled(&[out]);
    assert!(meta.anomalies.is_empty());
    assert_eq!(&datagram[20..], &l4[..]);
    assert_eq!(fragments, [1, 2, 3, 4]);
    assert_eq!(d.stats().overlaps, 0);
}

#[test]
fn differing_overlap_first_wins() {
    let l4 = udp_datagram(56);
    let frames = v4_frags(4, &l4, 32);
    let evil = eth_frame(eth(
        0x0800,
        &V4::new(17).frag(4, 2, true).build(&[0xEE; 16]),
    ));
    let mut d = Decoder::default();
    let _ = d.decode(&frames[0], 1);
    let held = d.decode(&evil, 2);
    assert!(matches!(held, Decoded::FragmentHeld(_)));
    assert_eq!(anomalies(&held), [DecodeAnomaly::FragOverlap]);
    let (meta, datagram, _) = reassembled(&[d.decode(&frames[1], 3)]);
    assert!(meta.anomalies.is_empty());
    assert_eq!(&datagram[20..], &l4[..], "first copy kept");
    assert_eq!(d.stats().overlaps, 1);

    // The overlap can also arrive on the completing frame.
    let mut d = Decoder::default();
    let evil_tail = eth_frame(eth(
        0x0800,
        &V4::new(17).frag(4, 2, false).build(&[0xEE; 48]),
    ));
    let _ = d.decode(&frames[0], 1);
    let (meta, datagram, _) = reassembled(&[d.decode(&evil_tail, 2)]);
    assert_eq!(meta.anomalies, [DecodeAnomaly::FragOverlap]);
    assert_eq!(&datagram[20..52], &l4[..32]);
    assert_eq!(&datagram[52..], &[0xEE; 32][..]);
}

#[test]
fn teardrop_and_reshaping_are_invalid() {
    let l4 = udp_datagram(56);
    let mut d = Decoder::default();
    // 0..40 MF, then a last fragment 24..28 inside it (classic teardrop).
    let first = eth_frame(eth(0x0800, &V4::new(17).frag(5, 0, true).build(&l4[..40])));
    let tear = eth_frame(eth(
        0x0800,
        &V4::new(17).frag(5, 3, false).build(&l4[24..28]),
    ));
    assert!(matches!(d.decode(&first, 1), Decoded::FragmentHeld(_)));
    let out = d.decode(&tear, 2);
    assert!(matches!(out, Decoded::Packet(_)));
    assert_eq!(anomalies(&out), [DecodeAnomaly::FragInvalid]);
    // A proper last fragment still completes the train.
    let last = eth_frame(eth(0x0800, &V4::new(17).frag(5, 5, false).build(&l4[40..])));
    let (_, datagram, fragments) = reassembled(&[d.decode(&last, 3)]);
    assert_eq!(&datagram[20..], &l4[..]);
    assert_eq!(fragments, [1, 3]);

    // Last fragment first, then one reaching past its end, then a second
    // "last" fragment with another end.
    let mut d = Decoder::default();
    let end = eth_frame(eth(
        0x0800,
        &V4::new(17).frag(6, 2, false).build(&l4[16..24]),
    ));
    let past = eth_frame(eth(0x0800, &V4::new(17).frag(6, 0, true).build(&l4[..32])));
    let other_end = eth_frame(eth(
        0x0800,
        &V4::new(17).frag(6, 1, false).build(&l4[8..16]),
    ));
    assert!(matches!(d.decode(&end, 1), Decoded::FragmentHeld(_)));
    for (i, f) in [past, other_end].iter().enumerate() {
        let out = d.decode(f, i as u64 + 2);
        assert_eq!(anomalies(&out), [DecodeAnomaly::FragInvalid], "case {i}");
    }
    assert_eq!(d.stats().invalid, 2);

    // Non-last fragment of 12 bytes: IPv4 keeps 0..8 (so a fragment at 8
    // completes it), IPv6 discards it.
    let mut d = Decoder::default();
    let odd = eth_frame(eth(0x0800, &V4::new(17).frag(7, 0, true).build(&l4[..12])));
    let rest = eth_frame(eth(0x0800, &V4::new(17).frag(7, 1, false).build(&l4[8..])));
    assert!(matches!(d.decode(&odd, 1), Decoded::FragmentHeld(_)));
    let (_, datagram, _) = reassembled(&[d.decode(&rest, 2)]);
    assert_eq!(&datagram[20..], &l4[..]);
    let mut p = frag6(17, 0, true, 7);
    p.extend_from_slice(&l4[..12]);
    let out = Decoder::default().decode(&eth_frame(eth(0x86DD, &ipv6(44, &p))), 1);
    assert_eq!(anomalies(&out), [DecodeAnomaly::FragInvalid]);
}

#[test]
fn oversized_datagram_is_flagged_and_dropped() {
    let mut d = Decoder::default();
    let first = eth_frame(eth(0x0800, &V4::new(1).frag(7, 0, true).build(&[8; 64])));
    // Offset 65,520 + 24 bytes + 20-byte header > 65,535.
    let pod = eth_frame(eth(
        0x0800,
        &V4::new(1).frag(7, 8190, false).build(&[0; 24]),
    ));
    let _ = d.decode(&first, 1);
    let out = d.decode(&pod, 2);
    assert!(matches!(out, Decoded::Packet(_)));
    assert_eq!(anomalies(&out), [DecodeAnomaly::FragTooLarge]);
    let gone = d.expire(0);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].fragments, [1]);
    assert_eq!(gone[0].anomalies, [DecodeAnomaly::FragTooLarge]);
    assert_eq!(d.stats().too_large, 1);
    assert_eq!(d.stats().bytes_held, 0);
}

#[test]
fn largest_legal_datagram_reassembles() {
    // 65,515 bytes of payload + 20-byte header = 65,535.
    let l4 = udp_datagram(65_515 - 8);
    let frames = v4_frags(8, &l4, 64);
    assert_eq!(frames.len(), 1024);
    let order: Vec<usize> = (0..frames.len()).collect();
    let out = feed(&mut Decoder::default(), &frames, &order);
    let (meta, datagram, fragments) = reassembled(&out);
    assert_eq!(datagram.len(), 65_535);
    assert_eq!(fragments.len(), 1024);
    assert!(meta.anomalies.is_empty());
}

#[test]
fn trains_time_out() {
    let frames = v4_frags(9, &udp_datagram(40), 24);
    let cfg = DefragConfig {
        timeout_ns: 1_000,
        ..DefragConfig::default()
    };
    let mut d = Decoder::new(cfg);
    let mut f0 = frames[0].clone();
    f0.ts_ns = 100;
    let _ = d.decode(&f0, 1);
    assert!(d.expire(1_099).is_empty());
    let gone = d.expire(1_100);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].fragments, [1]);
    assert_eq!(gone[0].anomalies, [DecodeAnomaly::FragTimeout]);
    assert_eq!(gone[0].ip.src, IpAddr::V4(A4));
    assert_eq!(d.stats().timed_out, 1);

    // A late fragment never joins a stale train: the sweep on arrival
    // retires the old one, and the newcomer starts afresh.
    let mut d = Decoder::new(cfg);
    let _ = d.decode(&f0, 1);
    let mut f1 = frames[1].clone();
    f1.ts_ns = 5_000;
    assert!(matches!(d.decode(&f1, 2), Decoded::FragmentHeld(_)));
    let gone = d.expire(5_000);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].fragments, [1]);
    assert_eq!(d.stats().trains_held, 1);
}

#[test]
fn caps_evict_the_oldest_train() {
    let l4 = udp_datagram(40);
    let mut d = Decoder::new(DefragConfig {
        max_trains: 2,
        ..DefragConfig::default()
    });
    for id in 0..3u16 {
        let f = &v4_frags(100 + id, &l4, 24)[0];
        let out = d.decode(f, u64::from(id) + 1);
        assert!(matches!(out, Decoded::FragmentHeld(_)));
        assert!(anomalies(&out).is_empty());
    }
    let gone = d.expire(0);
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].fragments, [1]);
    assert_eq!(gone[0].anomalies, [DecodeAnomaly::FragCapReached]);
    assert_eq!(d.stats().evicted_by_cap, 1);
    assert_eq!(d.stats().trains_held, 2);

    // Byte cap: two trains of 24 + 20 bytes fit in 100, a third does not.
    let mut d = Decoder::new(DefragConfig {
        max_bytes: 100,
        ..DefragConfig::default()
    });
    for id in 0..3u16 {
        let _ = d.decode(&v4_frags(200 + id, &l4, 24)[0], u64::from(id) + 1);
    }
    assert_eq!(d.expire(0).len(), 1);
    assert!(d.stats().bytes_held <= 100);

    // Fragment cap: the train itself is dropped.
    let mut d = Decoder::new(DefragConfig {
        max_frags_per_train: 2,
        ..DefragConfig::default()
    });
    let frames = v4_frags(300, &udp_datagram(100), 24);
    let _ = d.decode(&frames[0], 1);
    let _ = d.decode(&frames[1], 2);
    let out = d.decode(&frames[2], 3);
    assert_eq!(anomalies(&out), [DecodeAnomaly::FragCapReached]);
    let gone = d.expire(0);
    assert_eq!(gone[0].fragments, [1, 2]);
}

#[test]
fn contexts_do_not_mix() {
    let l4 = udp_datagram(40);
    let frames = v4_frags(11, &l4, 24);
    let tagged = |f: &RawFrame, vid: u8| {
        let mut data = f.data[..12].to_vec();
        data.extend_from_slice(&[0x81, 0x00, 0x00, vid]);
        data.extend_from_slice(&f.data[12..]);
        eth_frame(data)
    };
    let mut d = Decoder::default();
    let _ = d.decode(&tagged(&frames[0], 1), 1);
    assert!(matches!(
        d.decode(&tagged(&frames[1], 2), 2),
        Decoded::FragmentHeld(_)
    ));
    let (meta, _, fragments) = reassembled(&[d.decode(&tagged(&frames[1], 1), 3)]);
    assert_eq!(fragments, [1, 3]);
    assert_eq!(meta.vlans.ids[0], 1);
}

#[test]
fn ipv6_with_extension_headers_before_fragment() {
    let l4 = udp_datagram(100);
    // Hop-by-hop then destination options, then the Fragment header.
    let mut pre = ext6(60);
    pre.extend(ext6(44));
    let frames = v6_frags(0xABCD, 0, &pre, &l4, 48);
    let out = feed(&mut Decoder::default(), &frames, &[2, 0, 1]);
    let (meta, datagram, fragments) = reassembled(&out);
    assert_eq!(fragments, [1, 2, 3]);
    assert!(meta.anomalies.is_empty(), "{:?}", meta.anomalies);
    assert!(matches!(
        meta.transport,
        Some(Transport::Udp { dst_port: 53, .. })
    ));
    assert_eq!(datagram.len(), 40 + 16 + l4.len());
    assert_eq!(u16::from_be_bytes([datagram[4], datagram[5]]), 124);
    assert_eq!(datagram[6], 0, "hop-by-hop still first");
    assert_eq!(datagram[48], 17, "destination options now name UDP");
    assert_eq!(&datagram[56..], &l4[..]);
    assert_eq!(&datagram[meta.payload.clone()], &l4[8..]);
}

#[test]
fn fragments_inside_vxlan_keep_the_tunnel() {
    let l4 = udp_datagram(40);
    let inner = v4_frags(12, &l4, 24);
    let wrap = |f: &RawFrame| {
        let outer = V4::new(17).build(&udp(999, 4789, &vxlan(5, &f.data)));
        eth_frame(eth(0x0800, &outer))
    };
    let mut d = Decoder::default();
    match d.decode(&wrap(&inner[0]), 1) {
        Decoded::FragmentHeld(m) => assert_eq!(m.tunnel.map(|t| t.vni), Some(5)),
        other => panic!("{other:?}"),
    }
    let (meta, datagram, _) = reassembled(&[d.decode(&wrap(&inner[1]), 2)]);
    assert_eq!(meta.tunnel.map(|t| t.vni), Some(5));
    assert_eq!(meta.tunnel_udp, Some((999, 4789)));
    assert_eq!(&datagram[20..], &l4[..]);
}

#[test]
fn fragmented_outer_packet_is_decapsulated_after_reassembly() {
    let inner = eth(0x0800, &V4::new(6).build(&tcp(1, 80, 0x02, &[], b"")));
    let outer_l4 = udp(999, 4789, &vxlan(6, &inner));
    let frames = v4_frags(13, &outer_l4, 32);
    assert_eq!(frames.len(), 3);
    let out = feed(&mut Decoder::default(), &frames, &[1, 2, 0]);
    let (meta, _, _) = reassembled(&out);
    assert_eq!(meta.tunnel.map(|t| t.kind), Some(TunnelKind::Vxlan));
    assert!(matches!(
        meta.transport,
        Some(Transport::Tcp(TcpMeta { dst_port: 80, .. }))
    ));
}

// ---- shared sample captures (skipped when absent) ----

fn sample_outcomes(name: &str) -> Option<Vec<Decoded>> {
    sample(name).map(|p| decode_all(&read_frames(&p)))
}

fn reassembled_count(out: &[Decoded]) -> usize {
    out.iter()
        .filter(|d| matches!(d, Decoded::Reassembled { .. }))
        .count()
}

#[test]
fn sample_icmp_echo_in_three_fragments() {
    let Some(out) = sample_outcomes("chrissanders__ip_frag_source.pcapng") else {
        return;
    };
    assert_eq!(out.len(), 6);
    assert_eq!(reassembled_count(&out), 2);
    for d in &out {
        assert!(anomalies(d).is_empty());
        if let Decoded::Reassembled {
            meta, fragments, ..
        } = d
        {
            assert_eq!(fragments.len(), 3);
            assert!(matches!(meta.transport, Some(Transport::Icmp { .. })));
        }
    }
}

#[test]
fn sample_suricata_defrag_bugs() {
    if let Some(out) = sample_outcomes("suricata__defrag_bug-6887-defrag-ipv4-tcp-syn.pcap") {
        let last = out.last().map(Decoded::meta);
        assert!(
            matches!(last.and_then(|m| m.transport), Some(Transport::Tcp(t)) if t.has(TcpMeta::SYN))
        );
        assert_eq!(reassembled_count(&out), 1);
    }
    if let Some(out) = sample_outcomes("suricata__defrag_bug-6887-defrag-ipv6-tcp.pcap") {
        assert_eq!(reassembled_count(&out), 1);
    }
    if let Some(out) =
        sample_outcomes("suricata__defrag_bug-6942-6887-defrag-eth-ip-gre-ppp-ip-udp-data.pcap")
    {
        assert_eq!(out.len(), 1024);
        let Some(Decoded::Reassembled {
            meta,
            datagram,
            fragments,
        }) = out.last()
        else {
            panic!("last frame did not complete: {:?}", out.last());
        };
        assert_eq!(datagram.len(), 65_535);
        assert_eq!(fragments.len(), 1024);
        assert_eq!(meta.tunnel.map(|t| t.kind), Some(TunnelKind::Gre));
        assert!(matches!(
            meta.transport,
            Some(Transport::Udp {
                src_port: 11111,
                dst_port: 9999
            })
        ));
    }
}

#[test]
fn sample_ipv6_overlap_raises_one_anomaly() {
    let Some(out) = sample_outcomes("suricata__ipv6-evasion_ipv6-malformed-fragments-1.pcap")
    else {
        return;
    };
    let overlaps: usize = out
        .iter()
        .map(|d| {
            anomalies(d)
                .iter()
                .filter(|a| **a == DecodeAnomaly::FragOverlap)
                .count()
        })
        .sum();
    assert_eq!(overlaps, 1);
    assert_eq!(reassembled_count(&out), 1);
}

#[test]
fn sample_teardrop_and_zeek_inconsistencies() {
    if let Some(out) = sample_outcomes("lwerdna__teardrop.pcap") {
        assert_eq!(anomalies(&out[8]), [DecodeAnomaly::FragInvalid]);
    }
    // 0..18 MF (18 is not a multiple of 8: kept as 0..16), 48..164 last,
    // then 0..304 MF, which reaches past the known end.
    if let Some(out) = sample_outcomes("zeek__ipv4_fragmented-1.pcap") {
        assert!(matches!(out[1], Decoded::FragmentHeld(_)));
        assert_eq!(anomalies(&out[2]), [DecodeAnomaly::FragInvalid]);
        assert_eq!(reassembled_count(&out), 0);
    }
    // The same, but the third frame repeats the first byte for byte: a
    // quiet duplicate under first-wins (Zeek reports any overlap), and the
    // train still has a hole.
    if let Some(out) = sample_outcomes("zeek__ipv4_fragmented-2.pcap") {
        assert!(out.iter().all(|d| matches!(d, Decoded::FragmentHeld(_))));
        assert!(out.iter().all(|d| anomalies(d).is_empty()));
    }
}

#[test]
fn sample_fragmented_dns() {
    if let Some(out) = sample_outcomes("zeek__ipv6-fragmented-dns.pcap") {
        assert!(reassembled_count(&out) >= 1);
        for d in &out {
            if let Decoded::Reassembled { meta, .. } = d {
                assert!(matches!(meta.transport, Some(Transport::Udp { .. })));
            }
        }
    }
    if let Some(out) = sample_outcomes("ndpi__dns_fragmented.pcap") {
        assert!(reassembled_count(&out) >= 1);
        assert!(out
            .iter()
            .all(|d| !anomalies(d).contains(&DecodeAnomaly::FragOverlap)));
    }
    if let Some(out) = sample_outcomes("stopddos__amp.dns.RRSIG.fragmented.pcap") {
        assert!(reassembled_count(&out) >= 1);
    }
}
