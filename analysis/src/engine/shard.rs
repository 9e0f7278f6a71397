//! A shard: one flow table (flows, reassembly, DPI) and what it reports
//! for each packet, expiry round and end of input, for the engine's back
//! to replay in frame order.

use crate::decode::meta::{PacketMeta, Transport};
use crate::dpi::AppProto;
use crate::flow::table::{AppEvent, FlowPackets, PacketVerdict, StreamEvent, Usage, Wire};
use crate::flow::{Direction, Endpoint, Flow, FlowConfig, FlowStats, FlowTable, PacketKey};
use std::ops::Range;

/// What a shard did with one packet.
#[derive(Default)]
pub(crate) struct PacketOut {
    /// The outer (tunnel) UDP flow's verdict.
    pub(crate) outer: Option<PacketVerdict>,
    /// The packet's own flow's verdict.
    pub(crate) inner: Option<PacketVerdict>,
    /// The packet's own flow key's source and destination.
    pub(crate) inner_ends: Option<(Endpoint, Endpoint)>,
    /// Cleartext stream bytes for detection, in the order the table
    /// delivered them: (flow, direction, range in `bytes`).
    pub(crate) stream: Vec<(u64, Direction, Range<usize>)>,
    /// The bytes `stream` points into.
    pub(crate) bytes: Vec<u8>,
    /// Flows the packet ended (port reuse, eviction).
    pub(crate) ended: Vec<Flow>,
    /// Frame-list pieces handed out.
    pub(crate) pieces: Vec<FlowPackets>,
    /// Application-layer records completed.
    pub(crate) app_events: Vec<AppEvent>,
    /// The table's use after the packet.
    pub(crate) usage: Usage,
    /// Its highest use measured during the packet.
    pub(crate) peak: Usage,
}

impl PacketOut {
    fn clear(&mut self) {
        self.outer = None;
        self.inner = None;
        self.inner_ends = None;
        self.stream.clear();
        self.bytes.clear();
        self.ended.clear();
        self.pieces.clear();
        self.app_events.clear();
    }
}

/// A flow that ended in an expiry round or at the end of input, with the
/// records its end completed.
pub(crate) struct Ended {
    pub(crate) flow: Flow,
    pub(crate) app_events: Vec<AppEvent>,
}

/// One flow table and the options of what it reports.
pub(crate) struct Shard {
    table: FlowTable,
    /// Record cleartext for detection.
    inspect: bool,
}

impl Shard {
    pub(crate) fn new(cfg: FlowConfig, inspect: bool) -> Self {
        Shard {
            table: FlowTable::new(cfg),
            inspect,
        }
    }

    /// Counters so far (the peaks are per packet: see
    /// [`FlowTable::restart_peaks`]).
    pub(crate) fn stats(&self) -> FlowStats {
        self.table.stats()
    }

    /// Accounts a decoded packet made of `frames` (frame number, wire
    /// length) with transport payload `payload` to its flows.
    pub(crate) fn packet(
        &mut self,
        meta: &PacketMeta,
        payload: &[u8],
        ts_ns: i64,
        frames: &[(u64, u32)],
        out: &mut PacketOut,
    ) {
        out.clear();
        self.table.restart_peaks();
        let wire = Wire { frames };
        let table = &mut self.table;
        let mut none = |_: u64, _: Direction, _: StreamEvent<'_>| {};
        out.outer = PacketKey::outer_udp(meta).map(|pk| {
            let udp = Transport::Udp {
                src_port: pk.src.port,
                dst_port: pk.dst.port,
            };
            table.packet(&pk, Some(&udp), ts_ns, wire, &[], &mut out.ended, &mut none)
        });
        let inspect = self.inspect;
        let (stream, bytes) = (&mut out.stream, &mut out.bytes);
        let mut record = |flow_id: u64, dir: Direction, ev: StreamEvent<'_>| {
            // Encrypted streams carry no cleartext to inspect.
            let encrypted = |a| matches!(a, Some(AppProto::Tls | AppProto::Ssh));
            if let StreamEvent::Data { bytes: b, app, .. } = ev {
                if inspect && !encrypted(app) {
                    let start = bytes.len();
                    bytes.extend_from_slice(b);
                    stream.push((flow_id, dir, start..bytes.len()));
                }
            }
        };
        out.inner = PacketKey::inner(meta).map(|pk| {
            out.inner_ends = Some((pk.src, pk.dst));
            table.packet(
                &pk,
                meta.transport.as_ref(),
                ts_ns,
                wire,
                payload,
                &mut out.ended,
                &mut record,
            )
        });
        table.move_output(&mut out.app_events, &mut out.pieces);
        out.usage = table.usage();
        out.peak = table.peaks();
    }

    /// Ends the flows idle past their timeouts at `now_ns`; returns them
    /// and the records their ends completed (each flow's together, in the
    /// flows' order).
    pub(crate) fn expire(&mut self, now_ns: i64) -> (Vec<Flow>, Vec<AppEvent>) {
        let mut ended = Vec::new();
        self.table
            .expire(now_ns, &mut ended, &mut |_, _, _: StreamEvent<'_>| {});
        let mut events = Vec::new();
        let mut pieces = Vec::new();
        self.table.move_output(&mut events, &mut pieces);
        debug_assert!(pieces.is_empty(), "ending flows hand out no pieces");
        (ended, events)
    }

    /// Ends up to `max` of the remaining flows (end of input) in flow-id
    /// order; the flag tells whether flows remain.
    pub(crate) fn drain(&mut self, max: usize) -> (Vec<Ended>, bool) {
        let mut ended = Vec::new();
        let more = self
            .table
            .drain(max, &mut ended, &mut |_, _, _: StreamEvent<'_>| {});
        (self.group(ended), more)
    }

    /// The flows held now.
    pub(crate) fn open_flows(&self) -> impl Iterator<Item = &Flow> {
        self.table.open_flows()
    }

    /// What the table holds now.
    pub(crate) fn usage(&self) -> Usage {
        self.table.usage()
    }

    /// Pairs ended flows with the records their ends completed (the
    /// table made them flow after flow, in the same order).
    fn group(&mut self, ended: Vec<Flow>) -> Vec<Ended> {
        let mut events = Vec::new();
        let mut pieces = Vec::new();
        self.table.move_output(&mut events, &mut pieces);
        debug_assert!(pieces.is_empty(), "ending flows hand out no pieces");
        let mut events = events.into_iter().peekable();
        ended
            .into_iter()
            .map(|flow| {
                let mut app_events = Vec::new();
                while let Some(e) = events.next_if(|e| e.flow_id == flow.id) {
                    app_events.push(e);
                }
                Ended { flow, app_events }
            })
            .collect()
    }
}

/// The shard of a packet among `n`: a symmetric hash of its outermost
/// address pair (the tunnel's, else the IP header's), so both directions
/// of a conversation, all fragments of a datagram, and a tunnel with the
/// conversations inside it land in the same shard.
pub(crate) fn shard_of(meta: &PacketMeta, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let pair = match (meta.tunnel, meta.ip) {
        (Some(t), _) => Some((t.outer_src, t.outer_dst)),
        (None, Some(ip)) => Some((ip.src, ip.dst)),
        (None, None) => None,
    };
    let Some((a, b)) = pair else {
        return 0;
    };
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    // FNV-1a: fixed, so the split does not change from run to run.
    let mut pair = [0u8; 32];
    for (half, ip) in pair.chunks_exact_mut(16).zip([lo, hi]) {
        half.copy_from_slice(&match ip {
            std::net::IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(v) => v.octets(),
        });
    }
    let mut h = crate::hash::fnv1a(&pair);
    // FNV's low bits depend on the inputs' low bits only: mix them all in
    // (MurmurHash3's finaliser) before taking the remainder.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h % n as u64) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::meta::{IpMeta, TunnelCtx, TunnelKind};
    use std::net::IpAddr;

    fn meta(src: &str, dst: &str) -> PacketMeta {
        PacketMeta {
            ip: Some(IpMeta {
                src: src.parse().unwrap(),
                dst: dst.parse().unwrap(),
                proto: 6,
                ttl: 64,
            }),
            ..PacketMeta::default()
        }
    }

    #[test]
    fn both_directions_land_in_the_same_shard_and_pairs_spread() {
        let mut seen = [0usize; 4];
        for i in 1..=200u8 {
            let (a, b) = (format!("10.0.0.{i}"), format!("fd00::{i:x}"));
            let there = shard_of(&meta(&a, &b), 4);
            assert_eq!(there, shard_of(&meta(&b, &a), 4));
            seen[there] += 1;
        }
        // 200 pairs over 4 shards: each gets a fair share.
        assert!(seen.iter().all(|&n| n > 20), "{seen:?}");
        assert_eq!(shard_of(&meta("10.0.0.1", "10.0.0.2"), 1), 0);
        assert_eq!(shard_of(&PacketMeta::default(), 4), 0);
    }

    #[test]
    fn a_tunnel_and_its_inner_conversations_share_the_outer_pair_shard() {
        let outer = |m: &mut PacketMeta, a: &str, b: &str| {
            m.tunnel = Some(TunnelCtx {
                kind: TunnelKind::Vxlan,
                outer_src: a.parse::<IpAddr>().unwrap(),
                outer_dst: b.parse::<IpAddr>().unwrap(),
                vni: 1,
            });
        };
        let node = shard_of(&meta("192.168.1.1", "192.168.1.2"), 8);
        for i in 1..=50u8 {
            let mut m = meta(&format!("10.244.0.{i}"), "10.244.1.9");
            outer(&mut m, "192.168.1.2", "192.168.1.1");
            assert_eq!(shard_of(&m, 8), node);
        }
    }
}
