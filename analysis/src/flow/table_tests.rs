//! Flow-table behaviour on hand-built packets.

use super::*;
use crate::decode::meta::{TcpMeta, Transport, VlanStack};
use crate::flow::key::{Endpoint, PacketKey};
use std::net::{IpAddr, Ipv4Addr};

const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

fn key(src: (IpAddr, u16), dst: (IpAddr, u16), proto: u8) -> PacketKey {
    PacketKey::new(
        proto,
        Endpoint {
            ip: src.0,
            port: src.1,
        },
        Endpoint {
            ip: dst.0,
            port: dst.1,
        },
        VlanStack::default(),
        None,
    )
}

fn tcp(src: u16, dst: u16, flags: u8, seq: u32, ack: u32) -> Transport {
    Transport::Tcp(TcpMeta {
        src_port: src,
        dst_port: dst,
        seq,
        ack,
        flags,
        window: 1000,
        mss: None,
        sack_permitted: false,
    })
}

const SYN: u8 = TcpMeta::SYN;
const SYNACK: u8 = TcpMeta::SYN | TcpMeta::ACK;
const ACK: u8 = TcpMeta::ACK;
const FIN: u8 = TcpMeta::FIN | TcpMeta::ACK;
const RST: u8 = TcpMeta::RST;

struct Run {
    table: FlowTable,
    ended: Vec<Flow>,
    data: Vec<(u64, Direction, Vec<u8>)>,
}

impl Run {
    fn new(cfg: FlowConfig) -> Self {
        Run {
            table: FlowTable::new(cfg),
            ended: Vec::new(),
            data: Vec::new(),
        }
    }

    /// Sends a TCP segment from A:1000 → B:80 (`to_server`) or back.
    fn seg(
        &mut self,
        to_server: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        payload: &[u8],
        ts: i64,
    ) -> PacketVerdict {
        let (s, d, sp, dp) = if to_server {
            (A, B, 1000, 80)
        } else {
            (B, A, 80, 1000)
        };
        let pk = key((s, sp), (d, dp), 6);
        let t = tcp(sp, dp, flags, seq, ack);
        let data = &mut self.data;
        let mut sink = |id: u64, dir: Direction, ev: StreamEvent<'_>| {
            if let StreamEvent::Data { bytes, .. } = ev {
                data.push((id, dir, bytes.to_vec()));
            }
        };
        self.table.packet(
            &pk,
            Some(&t),
            ts,
            Wire {
                frames: &[(0, 60 + payload.len() as u32)],
            },
            payload,
            &mut self.ended,
            &mut sink,
        )
    }

    fn udp(&mut self, from_a: bool, ts: i64) -> PacketVerdict {
        let (s, d) = if from_a {
            ((A, 5353), (B, 53))
        } else {
            ((B, 53), (A, 5353))
        };
        let pk = key(s, d, 17);
        let t = Transport::Udp {
            src_port: s.1,
            dst_port: d.1,
        };
        let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
        self.table.packet(
            &pk,
            Some(&t),
            ts,
            Wire { frames: &[(0, 80)] },
            &[],
            &mut self.ended,
            &mut sink,
        )
    }

    fn drain(&mut self) -> Vec<Flow> {
        let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
        while self.table.drain(7, &mut self.ended, &mut sink) {}
        std::mem::take(&mut self.ended)
    }
}

#[test]
fn handshake_sets_client_server_state_and_counters() {
    let mut r = Run::new(FlowConfig::default());
    let v = r.seg(true, SYN, 100, 0, b"", 0);
    assert_eq!(v.dir, Direction::ToServer);
    assert_eq!(
        r.seg(false, SYNACK, 500, 101, b"", 1).dir,
        Direction::ToClient
    );
    r.seg(true, ACK, 101, 501, b"", 2);
    r.seg(true, ACK | TcpMeta::PSH, 101, 501, b"GET /", 3);
    let flows = r.drain();
    assert_eq!(flows.len(), 1);
    let f = &flows[0];
    assert_eq!((f.client.port, f.server.port), (1000, 80));
    assert_eq!(f.pkts, [3, 1]);
    assert_eq!(f.bytes, [60 + 60 + 65, 60]);
    assert_eq!(f.tcp_state, TcpState::Established);
    assert_eq!(f.state_name(), "established");
    assert_eq!(r.data, vec![(1, Direction::ToServer, b"GET /".to_vec())]);
}

#[test]
fn syn_ack_first_makes_its_sender_the_server() {
    let mut r = Run::new(FlowConfig::default());
    assert_eq!(
        r.seg(false, SYNACK, 500, 101, b"", 0).dir,
        Direction::ToClient
    );
    let flows = r.drain();
    assert_eq!((flows[0].client.ip, flows[0].server.ip), (A, B));
}

#[test]
fn midstream_first_packet_sender_is_client() {
    let mut r = Run::new(FlowConfig::default());
    r.seg(false, ACK, 500, 101, b"data", 0);
    r.seg(true, ACK, 101, 504, b"", 1);
    let flows = r.drain();
    assert_eq!(flows[0].client.ip, B);
    assert_eq!(flows[0].tcp_state, TcpState::Established);
}

#[test]
fn syn_retransmission_stays_in_the_flow() {
    let mut r = Run::new(FlowConfig::default());
    let a = r.seg(true, SYN, 100, 0, b"", 0).flow_id;
    let b = r.seg(true, SYN, 100, 0, b"", 1).flow_id;
    assert_eq!(a, b);
    assert_eq!(r.table.stats().port_reuse, 0);
}

#[test]
fn new_syn_with_other_isn_starts_a_new_flow() {
    let mut r = Run::new(FlowConfig::default());
    let first = r.seg(true, SYN, 100, 0, b"", 0).flow_id;
    r.seg(false, SYNACK, 500, 101, b"", 1);
    r.seg(true, FIN, 101, 501, b"", 2);
    r.seg(false, FIN, 501, 102, b"", 3);
    r.seg(true, ACK, 102, 502, b"", 4);
    let second = r.seg(true, SYN, 9000, 0, b"", 5).flow_id;
    assert_ne!(first, second);
    assert_eq!(r.ended.len(), 1);
    assert_eq!(r.ended[0].end_reason, EndReason::PortReuse);
    assert_eq!(r.ended[0].tcp_state, TcpState::Closed);
    assert_eq!(r.ended[0].pkts, [3, 2]);
}

#[test]
fn late_original_syn_after_midstream_start_is_not_port_reuse() {
    // Wireshark's base_seq rule: a SYN whose ISN matches what the flow
    // already implies (first data seq - 1) belongs to the same stream.
    let mut r = Run::new(FlowConfig::default());
    let a = r.seg(false, SYNACK, 500, 101, b"", 0).flow_id;
    r.seg(true, ACK, 101, 501, b"", 1);
    let b = r.seg(true, SYN, 100, 0, b"", 2).flow_id;
    assert_eq!(a, b);
}

#[test]
fn rst_closes() {
    let mut r = Run::new(FlowConfig::default());
    r.seg(true, SYN, 100, 0, b"", 0);
    r.seg(false, RST | ACK, 0, 101, b"", 1);
    let f = r.drain();
    assert_eq!(f[0].tcp_state, TcpState::Closed);
    assert_eq!(f[0].state_name(), "closed");
}

#[test]
fn idle_timeouts_follow_protocol_and_state() {
    let s = 1_000_000_000i64;
    let mut r = Run::new(FlowConfig::default());
    r.udp(true, 0);
    // One-way UDP: 30 s.
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    r.table.expire(29 * s, &mut r.ended, &mut sink);
    assert!(r.ended.is_empty());
    r.table.expire(31 * s, &mut r.ended, &mut sink);
    assert_eq!(r.ended.len(), 1);
    assert_eq!(r.ended[0].end_reason, EndReason::Timeout);
    // Two-way UDP: 300 s, counted from the last packet.
    r.ended.clear();
    r.udp(true, 100 * s);
    r.udp(false, 110 * s);
    r.table.expire(400 * s, &mut r.ended, &mut sink);
    assert!(r.ended.is_empty());
    r.table.expire(411 * s, &mut r.ended, &mut sink);
    assert_eq!(r.ended.len(), 1);
    assert_eq!(r.table.stats().timed_out, 2);
}

#[test]
fn without_idle_timeouts_flows_only_end_at_drain() {
    let s = 1_000_000_000i64;
    let mut r = Run::new(FlowConfig::default().without_idle_timeouts());
    r.udp(true, 0);
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    r.table.expire(i64::MAX - s, &mut r.ended, &mut sink);
    assert!(r.ended.is_empty());
    assert_eq!(r.drain().len(), 1);
}

#[test]
fn table_cap_evicts_the_flow_nearest_its_timeout_first() {
    let s = 1_000_000_000i64;
    let cfg = FlowConfig {
        max_flows: 2,
        ..FlowConfig::default()
    };
    let mut r = Run::new(cfg);
    // An established UDP conversation (300 s) and a one-way probe (30 s).
    r.udp(true, 0);
    r.udp(false, s);
    let probe = key((A, 7), (B, 7), 17);
    let t = Transport::Udp {
        src_port: 7,
        dst_port: 7,
    };
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    let probe_id = r
        .table
        .packet(
            &probe,
            Some(&t),
            2 * s,
            Wire { frames: &[(0, 60)] },
            &[],
            &mut r.ended,
            &mut sink,
        )
        .flow_id;
    let third = key((A, 9), (B, 9), 17);
    r.table.packet(
        &third,
        Some(&t),
        3 * s,
        Wire { frames: &[(0, 60)] },
        &[],
        &mut r.ended,
        &mut sink,
    );
    assert_eq!(r.table.len(), 2);
    assert_eq!(r.ended.len(), 1);
    assert_eq!(r.ended[0].id, probe_id);
    assert_eq!(r.ended[0].end_reason, EndReason::Evicted);
    assert_eq!(r.table.stats().evicted, 1);
}

#[test]
fn flood_of_distinct_flows_stays_within_the_cap() {
    let cfg = FlowConfig {
        max_flows: 1000,
        ..FlowConfig::default()
    };
    let mut r = Run::new(cfg);
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    for i in 0..50_000u32 {
        let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let pk = key((src, 4000), (B, 80), 6);
        let t = tcp(4000, 80, SYN, i, 0);
        r.table.packet(
            &pk,
            Some(&t),
            i64::from(i),
            Wire { frames: &[(0, 60)] },
            &[],
            &mut r.ended,
            &mut sink,
        );
        assert!(r.table.len() <= 1000);
    }
    assert_eq!(r.table.stats().evicted, 49_000);
    assert_eq!(r.table.stats().peak_flows, 1000);
}

#[test]
fn reassembly_delivers_in_order_and_reports_conflicting_overlap() {
    let mut r = Run::new(FlowConfig::default());
    r.seg(true, SYN, 100, 0, b"", 0);
    r.seg(false, SYNACK, 500, 101, b"", 1);
    r.seg(true, ACK, 106, 501, b"world", 2); // out of order
    r.seg(true, ACK, 101, 501, b"hello", 3);
    let v = r.seg(true, ACK, 101, 501, b"HELLO", 4); // conflicting retransmission
    assert!(v.overlap_conflict);
    let delivered: Vec<u8> = r.data.iter().flat_map(|d| d.2.clone()).collect();
    assert_eq!(delivered, b"helloworld");
    let f = r.drain();
    assert_eq!(f[0].stream.overlap_conflicts, [1, 0]);
    assert_eq!(f[0].anomalies, 1);
}

#[test]
fn long_flows_hand_out_their_frame_list_in_pieces() {
    let mut r = Run::new(FlowConfig::default());
    let pk = key((A, 5353), (B, 53), 17);
    let t = Transport::Udp {
        src_port: 5353,
        dst_port: 53,
    };
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    let n = FLOW_LIST_MAX as u64 + 904;
    for i in 1..=n {
        r.table.packet(
            &pk,
            Some(&t),
            i as i64,
            Wire { frames: &[(i, 60)] },
            &[],
            &mut r.ended,
            &mut sink,
        );
    }
    let mut pieces = Vec::new();
    r.table.move_output(&mut Vec::new(), &mut pieces);
    assert_eq!(pieces.len(), 1);
    assert_eq!((pieces[0].seq, pieces[0].entries.len()), (0, FLOW_LIST_MAX));
    assert_eq!(pieces[0].entries[0], 1);
    let f = r.drain();
    assert_eq!(f[0].packets_seq, 1);
    assert_eq!(f[0].packets.len(), 904);
    assert_eq!(f[0].packets.last(), Some(&n));
    assert_eq!(f[0].pkts, [n, 0]);
}

/// A TCP segment of connection `n` (client 10.1.x.y:4000 → B:80).
fn conn_seg(r: &mut Run, n: u32, flags: u8, seq: u32, payload: &[u8], ts: i64) {
    let src = IpAddr::V4(Ipv4Addr::from(0x0a01_0000 + n));
    let pk = key((src, 4000), (B, 80), 6);
    let t = tcp(4000, 80, flags, seq, 0);
    let data = &mut r.data;
    let mut sink = |id: u64, dir: Direction, ev: StreamEvent<'_>| {
        if let StreamEvent::Data { bytes, .. } = ev {
            data.push((id, dir, bytes.to_vec()));
        }
    };
    r.table.packet(
        &pk,
        Some(&t),
        ts,
        Wire {
            frames: &[(0, 60 + payload.len() as u32)],
        },
        payload,
        &mut r.ended,
        &mut sink,
    );
}

#[test]
fn emergency_mode_enters_at_high_water_shortens_expiry_and_leaves_below_low_water() {
    let s = 1_000_000_000i64;
    let mut r = Run::new(FlowConfig {
        max_flows: 20,
        ..FlowConfig::default()
    });
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    for n in 0..3 {
        conn_seg(&mut r, n, SYN, 1, b"", 0);
    }
    for n in 3..18 {
        conn_seg(&mut r, n, SYN, 1, b"", s);
    }
    // 18 of 20 flows: 90 %, under the 95 % mark.
    assert!(!r.table.in_emergency());
    r.table.expire(3 * s, &mut r.ended, &mut sink);
    assert!(r.ended.is_empty());
    conn_seg(&mut r, 18, SYN, 1, b"", s);
    assert!(r.table.in_emergency());
    assert_eq!(r.table.stats().emergency_entered, 1);
    // Emergency: a SYN-only flow lasts 5 s instead of 60 s.
    r.table.expire(5 * s + s / 2, &mut r.ended, &mut sink);
    assert_eq!(r.ended.len(), 3);
    assert!(r.ended.iter().all(|f| f.end_reason == EndReason::Timeout));
    // 16 of 20 (80 %) is above the 70 % low-water mark: still in.
    assert!(r.table.in_emergency());
    r.table.expire(6 * s + s / 2, &mut r.ended, &mut sink);
    assert_eq!(r.table.len(), 0);
    assert!(!r.table.in_emergency());
    let st = r.table.stats();
    assert_eq!((st.emergency_entered, st.emergency_left), (1, 1));
    assert_eq!(st.emergency_ns, (6 * s + s / 2 - s) as u64);
    // Back to normal timeouts: a new SYN flow outlives 5 s.
    conn_seg(&mut r, 30, SYN, 1, b"", 10 * s);
    r.table.expire(20 * s, &mut r.ended, &mut sink);
    assert_eq!(r.table.len(), 1);
}

#[test]
fn without_pressure_there_is_no_emergency() {
    let s = 1_000_000_000i64;
    let mut r = Run::new(FlowConfig::default());
    for n in 0..100 {
        conn_seg(&mut r, n, SYN, 1, b"", 0);
    }
    let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
    r.table.expire(30 * s, &mut r.ended, &mut sink);
    assert!(r.ended.is_empty());
    assert_eq!(r.table.stats().emergency_entered, 0);
}

#[test]
fn flow_byte_budget_evicts_like_the_flow_count() {
    let mut r = Run::new(FlowConfig {
        memcap_bytes: 10 * FLOW_BYTES,
        ..FlowConfig::default()
    });
    for n in 0..100 {
        conn_seg(&mut r, n, SYN, 1, b"", i64::from(n));
        assert!(r.table.len() <= 10);
    }
    // Each flow also pays for its frame list: 9 fit, not 10.
    let st = r.table.stats();
    assert!(st.evicted >= 90, "{st:?}");
    assert!(st.peak_flow_bytes <= (10 * FLOW_BYTES) as u64 + 4096);
}

#[test]
fn global_reassembly_budget_sheds_the_oldest_holey_streams() {
    let mut r = Run::new(FlowConfig {
        stream_memcap_bytes: 10_000,
        ..FlowConfig::default()
    });
    let data = [b'x'; 2000];
    for n in 0..20u32 {
        let ts = i64::from(n);
        conn_seg(&mut r, n, SYN, 1000, b"", ts);
        // Bytes 0..100 never come: 2,000 bytes wait behind the hole.
        conn_seg(&mut r, n, ACK, 1101, &data, ts);
    }
    let st = r.table.stats();
    assert_eq!(st.stream_memcap_sheds, 15);
    assert!(st.peak_stream_bytes <= 12_000);
    // The shed streams delivered their data after a gap, oldest first.
    let delivered: Vec<u64> = r.data.iter().map(|d| d.0).collect();
    assert_eq!(delivered, (1..=15).collect::<Vec<u64>>());
    assert!(r.data.iter().all(|d| d.2.len() == 2000));
    // Streams keep going after a shed: in-order data flows straight on.
    conn_seg(&mut r, 0, ACK, 3101, b"more", 30);
    let first: Vec<&[u8]> = r
        .data
        .iter()
        .filter(|d| d.0 == 1)
        .map(|d| d.2.as_slice())
        .collect();
    assert_eq!(first, [&data[..], b"more"]);
}

#[test]
fn dpi_budget_ends_probing_of_the_oldest_flows() {
    let mut r = Run::new(FlowConfig {
        dpi_memcap_bytes: 200,
        ..FlowConfig::default()
    });
    for n in 0..20u32 {
        conn_seg(&mut r, n, SYN, 1000, b"", i64::from(n));
        // Too short to name a protocol: the probe waits for more.
        conn_seg(&mut r, n, ACK, 1001, b"G", i64::from(n));
    }
    let st = r.table.stats();
    assert!(st.dpi_memcap_sheds > 0, "{st:?}");
    assert!(st.peak_dpi_bytes <= 300, "{st:?}");
    // A flow whose probing was shed stays unknown, even when the rest of
    // a request follows.
    conn_seg(
        &mut r,
        0,
        ACK,
        1002,
        b"ET / HTTP/1.1\r\nHost: a\r\n\r\n",
        30,
    );
    conn_seg(
        &mut r,
        19,
        ACK,
        1002,
        b"ET / HTTP/1.1\r\nHost: a\r\n\r\n",
        30,
    );
    let ended = r.drain();
    let app = |id: u64| ended.iter().find(|f| f.id == id).map(|f| f.app_proto);
    assert_eq!(app(1), Some("unknown"));
    assert_eq!(app(20), Some("http"));
}
