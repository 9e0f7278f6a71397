//! The per-packet engine: decode, defragment, flows, reassembly and DPI,
//! and what detection and the store get from them (driven by offline
//! analysis, [`crate::pipeline`], and the live pipeline, [`crate::live`]).
//!
//! Three parts, in frame order:
//! - the **front** ([`Engine::frame`]) numbers frames, decodes and
//!   defragments them, and decides when flows expire;
//! - **shards** ([`shard::Shard`]) each own a flow table (flows, TCP
//!   reassembly, DPI) and report what it did;
//! - the **back** ([`Back`]) replays those reports: run-wide flow ids,
//!   facts and cleartext for detection, anomaly rows, and store batches.
//!
//! With one worker all three run on the calling thread, with one shard.
//! With `N` workers ([`crate::pipeline::AnalyzeConfig::workers`]) packets go
//! to `N` shard threads by a hash of their outermost address pair
//! ([`shard::shard_of`]), and a merge thread replays the shards' reports in
//! frame order, in the order one table would have made them: flow ids,
//! rows, alerts and EVE lines are the same as with one worker
//! (`tests/workers.rs`). The exceptions are documented on
//! [`crate::pipeline::AnalyzeConfig::workers`].

mod ids;
mod shard;
mod workers;

use crate::decode::meta::{PacketMeta, Transport};
use crate::decode::{Decoded, Decoder};
use crate::detect::{Detector, FlowEnd, FlowFacts, PacketFacts, RuleSet, Side};
use crate::flow::table::{AppEvent, FlowPackets, Usage};
use crate::flow::{Direction, Flow, FlowConfig, FlowStats};
use crate::model::{AnomalyKind, AnomalyRow, PacketRow, Tuple};
use crate::pipeline::AnalyzeConfig;
use crate::stage::DetectStage;
use crate::store::live_rows::LiveRows;
use crate::store::{Batch, StoreMsg};
use crossbeam_channel::Sender;
use ids::Ids;
use osprey_capture::RawFrame;
use shard::{Ended, PacketOut, Shard};
use std::collections::{BTreeMap, HashMap};

/// Packet rows per store batch.
const ROW_BATCH: usize = 8_192;
/// Ended flows per store batch.
const FLOW_BATCH: usize = 2_048;
/// Ended fragment trains held before an early expiry round hands them out.
const ENDED_TRAINS_MAX: usize = 1_024;

/// The engine: a front, one shard or `N` shard threads, and a back.
pub(crate) struct Engine {
    decoder: Decoder,
    pub(crate) pkt_no: u64,
    /// Wire lengths of fragments held by the defragmenter, by frame number.
    held: HashMap<u64, u32>,
    last_expire_ns: i64,
    /// The back; `None` while a merge thread owns it.
    back: Option<Back>,
    run: Run,
    /// Counters of the shards' tables, once finished.
    shard_stats: Vec<FlowStats>,
    /// A worker thread died (its name): the case is incomplete.
    pub(crate) failed: Option<&'static str>,
    /// Packets each flow worker got (empty with one worker).
    pub(crate) worker_packets: Vec<u64>,
}

enum Run {
    Inline(Box<Shard>, Box<PacketOut>),
    Workers(workers::Workers),
    Finished,
}

impl Engine {
    /// An engine with `workers` flow workers (see
    /// [`AnalyzeConfig::workers`]).
    pub(crate) fn new(
        cfg: &AnalyzeConfig,
        workers: usize,
        rules: RuleSet,
        store: Sender<StoreMsg>,
    ) -> std::io::Result<Self> {
        let detector = if cfg.no_detect {
            None
        } else {
            let mut d = Detector::new(rules);
            if let Some(p) = &cfg.policy {
                d.set_policy(p.clone());
            }
            Some(DetectStage::spawn(d, store.clone())?)
        };
        let n = workers.max(1);
        let back = Back::new(store, detector, n);
        let inspect = !cfg.no_detect;
        let (back, run) = if n == 1 {
            let shard = Shard::new(cfg.flow.clone(), inspect);
            (Some(back), Run::Inline(Box::new(shard), Box::default()))
        } else {
            let shard_cfg = split(&cfg.flow, n);
            (
                None,
                Run::Workers(workers::Workers::spawn(back, n, &shard_cfg, inspect)?),
            )
        };
        Ok(Engine {
            decoder: Decoder::new(cfg.defrag),
            pkt_no: 0,
            held: HashMap::new(),
            last_expire_ns: i64::MIN,
            back,
            run,
            shard_stats: Vec::new(),
            failed: None,
            worker_packets: Vec::new(),
        })
    }

    /// Flow-table counters, all shards together (the peaks run-wide).
    pub(crate) fn flow_stats(&self) -> FlowStats {
        let Some(back) = self.back.as_ref() else {
            return FlowStats::default();
        };
        let live: Vec<FlowStats>;
        let stats = match &self.run {
            Run::Inline(shard, _) => {
                live = vec![shard.stats()];
                &live
            }
            _ => &self.shard_stats,
        };
        back.flow_stats(stats)
    }

    /// Anomalies, flows by protocol and alerts by category, counted so far.
    #[allow(clippy::type_complexity)]
    pub(crate) fn take_counts(
        &mut self,
    ) -> (
        BTreeMap<&'static str, u64>,
        BTreeMap<String, u64>,
        BTreeMap<&'static str, u64>,
    ) {
        self.back.as_mut().map_or_else(Default::default, |b| {
            (
                std::mem::take(&mut b.anomaly_counts),
                std::mem::take(&mut b.flows_by_proto),
                std::mem::take(&mut b.alert_counts),
            )
        })
    }

    /// Cap and emergency counters so far ([`crate::memcap::counters`]);
    /// the detection windows' drops are known once detection finished.
    pub(crate) fn memcap_counters(&self) -> Vec<(&'static str, u64)> {
        let drops = self.back.as_ref().map_or(0, |b| b.detect_window_drops);
        crate::memcap::counters(&self.flow_stats(), &self.decoder.stats(), drops)
    }

    /// Sends `msg` to the store, after everything before it (through the
    /// detection stage when it runs).
    pub(crate) fn send(&mut self, msg: StoreMsg) {
        if let Some(b) = self.back.as_mut() {
            b.send(msg);
        }
    }

    /// Has the store write what is still open (live runs, which use one
    /// worker): the `max` most recently active open flows and, through
    /// detection, the open alerts, as they are so far.
    pub(crate) fn write_open(&mut self, max: usize) {
        let open = self.open_flows(max);
        if let Some(b) = self.back.as_mut() {
            b.send(StoreMsg::Live(LiveRows::ActiveFlows(open)));
            if let Some(d) = b.detector.as_mut() {
                d.open_alerts();
            }
        }
    }

    /// The `max` most recently active open flows, as they are so far.
    fn open_flows(&self, max: usize) -> Vec<crate::store::FlowSummary> {
        let Run::Inline(shard, _) = &self.run else {
            return Vec::new();
        };
        let mut open: Vec<&Flow> = shard.open_flows().collect();
        if open.len() > max {
            open.select_nth_unstable_by_key(max, |f| std::cmp::Reverse(f.last_ts_ns));
            open.truncate(max);
        }
        open.sort_unstable_by_key(|f| f.id);
        open.into_iter()
            .map(crate::store::FlowSummary::of_open)
            .collect()
    }

    /// Hands the rows so far to the store (live runs, between frames).
    pub(crate) fn flush_rows(&mut self) {
        if let Some(b) = self.back.as_mut() {
            b.flush_rows();
        }
    }

    /// One frame, indexed where its source has it.
    pub(crate) fn frame(&mut self, frame: &RawFrame) {
        self.frame_at(frame, None);
    }

    /// One frame; `stored` (capture id, data offset), when given, is where
    /// the packet index says it is instead (a live run's ring file).
    pub(crate) fn frame_at(&mut self, frame: &RawFrame, stored: Option<(u32, u64)>) {
        self.pkt_no += 1;
        let pkt_no = self.pkt_no;
        let (capture_id, data_offset) = stored.unwrap_or((frame.source + 1, frame.data_offset));
        let row = PacketRow {
            pkt_no,
            capture_id,
            interface: frame.interface,
            data_offset,
            ts_ns: frame.ts_ns,
            caplen: frame.data.len() as u32,
            orig_len: frame.orig_len,
            link_type: frame.link_type.0,
        };
        let expire = (frame.ts_ns > self.last_expire_ns.saturating_add(1_000_000_000)
            || self.decoder.ended_pending() >= ENDED_TRAINS_MAX)
            .then(|| self.expire_trains(frame.ts_ns));
        match self.decoder.decode(frame, pkt_no) {
            Decoded::Packet(meta) => {
                let this = [(pkt_no, frame.orig_len)];
                self.packet(row, expire, &meta, &frame.data, frame.ts_ns, &this);
            }
            Decoded::FragmentHeld(meta) => {
                self.held.insert(pkt_no, frame.orig_len);
                match &mut self.run {
                    Run::Inline(shard, _) => {
                        if let Some(b) = self.back.as_mut() {
                            b.row(row);
                            if let Some((now, anomalies)) = expire {
                                b.expire(now, anomalies, vec![shard.expire(now)]);
                            }
                            b.held(&meta, frame.ts_ns, pkt_no);
                        }
                    }
                    Run::Workers(w) => w.held(row, expire, meta, frame.ts_ns, pkt_no),
                    Run::Finished => {}
                }
            }
            Decoded::Reassembled {
                meta,
                datagram,
                fragments,
            } => {
                // Every frame the datagram came in, with its wire length.
                let frames: Vec<(u64, u32)> = fragments
                    .iter()
                    .filter_map(|&n| {
                        if n == pkt_no {
                            Some((n, frame.orig_len))
                        } else {
                            self.held.remove(&n).map(|len| (n, len))
                        }
                    })
                    .collect();
                self.packet(row, expire, &meta, &datagram, frame.ts_ns, &frames);
            }
        }
    }

    /// A decoded packet (`buf`: the bytes `meta` indexes) made of `frames`,
    /// through its shard and the back.
    fn packet(
        &mut self,
        row: PacketRow,
        expire: Option<(i64, Vec<AnomalyRow>)>,
        meta: &PacketMeta,
        buf: &[u8],
        ts_ns: i64,
        frames: &[(u64, u32)],
    ) {
        let payload = buf.get(meta.payload.clone()).unwrap_or(&[]);
        match &mut self.run {
            Run::Inline(shard, out) => {
                let Some(b) = self.back.as_mut() else {
                    return;
                };
                b.row(row);
                if let Some((now, anomalies)) = expire {
                    b.expire(now, anomalies, vec![shard.expire(now)]);
                }
                shard.packet(meta, payload, ts_ns, frames, out);
                b.packet(0, meta, payload, ts_ns, frames, out);
            }
            Run::Workers(w) => w.packet(row, expire, meta.clone(), payload, ts_ns, frames.to_vec()),
            Run::Finished => {}
        }
    }

    /// Expires fragment trains at `now_ns`; returns the time and the
    /// trains' anomaly rows, for the flows' expiry round that follows.
    fn expire_trains(&mut self, now_ns: i64) -> (i64, Vec<AnomalyRow>) {
        self.last_expire_ns = now_ns;
        let mut rows = Vec::new();
        for train in self.decoder.expire(now_ns) {
            for n in &train.fragments {
                self.held.remove(n);
            }
            for a in &train.anomalies {
                rows.push(AnomalyRow {
                    ts_ns: now_ns,
                    pkt_no: train.fragments.first().copied().unwrap_or(0),
                    flow_id: None,
                    kind: AnomalyKind::Decode,
                    event: a.name(),
                    tuple: None,
                });
            }
        }
        (now_ns, rows)
    }

    /// End of input: ends every flow, hands out what is left and waits
    /// for detection.
    pub(crate) fn finish(&mut self) {
        self.held.clear();
        match std::mem::replace(&mut self.run, Run::Finished) {
            Run::Inline(mut shard, _) => {
                if let Some(b) = self.back.as_mut() {
                    b.drain(&mut |_| Some(shard.drain(FLOW_BATCH)), 1);
                }
                self.shard_stats = vec![shard.stats()];
            }
            Run::Workers(w) => {
                self.worker_packets = w.packets().to_vec();
                match w.finish() {
                    Ok((back, stats)) => {
                        self.back = Some(back);
                        self.shard_stats = stats;
                    }
                    Err(who) => {
                        self.failed = Some(who);
                        return;
                    }
                }
            }
            Run::Finished => {}
        }
        if let Some(b) = self.back.as_mut() {
            b.finish();
            if b.detection_failed {
                self.failed = Some("detection");
            }
        }
    }
}

/// The flow-table limits of one of `n` shards: the budgets split evenly.
fn split(cfg: &FlowConfig, n: usize) -> FlowConfig {
    let mut c = cfg.clone();
    c.max_flows = (cfg.max_flows / n).max(1);
    c.memcap_bytes = (cfg.memcap_bytes / n).max(1);
    c.stream_memcap_bytes = (cfg.stream_memcap_bytes / n).max(1);
    c.dpi_memcap_bytes = (cfg.dpi_memcap_bytes / n).max(1);
    c
}

/// The back: replays the shards' reports in frame order into detection
/// and store batches.
struct Back {
    store: Sender<StoreMsg>,
    /// The detection thread; `None` when detection is off (or once
    /// finished).
    detector: Option<DetectStage>,
    ids: Ids,
    rows: Vec<PacketRow>,
    anomalies: Vec<AnomalyRow>,
    ended: Vec<Flow>,
    /// Ended flows waiting for the next batch.
    flows: Vec<Flow>,
    pieces: Vec<FlowPackets>,
    app_events: Vec<AppEvent>,
    /// Each shard's use after its last report.
    usage: Vec<Usage>,
    /// Run-wide peaks, all shards together.
    peaks: Usage,
    anomaly_counts: BTreeMap<&'static str, u64>,
    flows_by_proto: BTreeMap<String, u64>,
    alert_counts: BTreeMap<&'static str, u64>,
    /// The detection thread panicked: the case is incomplete.
    detection_failed: bool,
    /// Keys the detection windows dropped at their caps (set by `finish`).
    detect_window_drops: u64,
    /// The merge thread stopped early (a shard died or broke the order).
    broken: bool,
}

impl Back {
    fn new(store: Sender<StoreMsg>, detector: Option<DetectStage>, shards: usize) -> Self {
        Back {
            store,
            detector,
            ids: Ids::new(shards),
            rows: Vec::with_capacity(ROW_BATCH),
            anomalies: Vec::new(),
            ended: Vec::new(),
            flows: Vec::new(),
            pieces: Vec::new(),
            app_events: Vec::new(),
            usage: vec![Usage::default(); shards],
            peaks: Usage::default(),
            anomaly_counts: BTreeMap::new(),
            flows_by_proto: BTreeMap::new(),
            alert_counts: BTreeMap::new(),
            detection_failed: false,
            detect_window_drops: 0,
            broken: false,
        }
    }

    /// The shards' counters summed, with the run-wide peaks.
    fn flow_stats(&self, shards: &[FlowStats]) -> FlowStats {
        let mut t = FlowStats::default();
        for s in shards {
            t.created += s.created;
            t.timed_out += s.timed_out;
            t.evicted += s.evicted;
            t.port_reuse += s.port_reuse;
            t.overlap_conflicts += s.overlap_conflicts;
            t.expectations_dropped += s.expectations_dropped;
            t.gaps += s.gaps;
            t.stream_memcap_sheds += s.stream_memcap_sheds;
            t.dpi_memcap_sheds += s.dpi_memcap_sheds;
            t.emergency_entered += s.emergency_entered;
            t.emergency_left += s.emergency_left;
            t.emergency_ns += s.emergency_ns;
        }
        t.expectations_dropped += self.ids.announcers_dropped;
        t.peak_flows = self.peaks.flows;
        t.peak_flow_bytes = self.peaks.flow_bytes;
        t.peak_stream_bytes = self.peaks.stream_bytes;
        t.peak_dpi_bytes = self.peaks.dpi_bytes;
        t
    }

    /// Sends `msg` to the store, through the detection stage when it runs
    /// (which keeps it in its place among the alerts).
    fn send(&mut self, msg: StoreMsg) {
        match self.detector.as_mut() {
            Some(d) => d.store(msg),
            // The store thread only hangs up after a write error, which it
            // reports itself when joined.
            None => {
                let _ = self.store.send(msg);
            }
        }
    }

    fn row(&mut self, row: PacketRow) {
        self.rows.push(row);
    }

    /// An expiry round at `now_ns`: the fragment trains' anomalies, then
    /// the flows every shard ended (with the records their ends
    /// completed), in flow-id order.
    fn expire(
        &mut self,
        now_ns: i64,
        anomalies: Vec<AnomalyRow>,
        shards: Vec<(Vec<Flow>, Vec<AppEvent>)>,
    ) {
        for a in anomalies {
            self.push_anomaly(a);
        }
        // Moved, not copied: a round can end a flood's worth of flows.
        let (mut flows, mut events) = (Vec::new(), Vec::new());
        for (s, (mut f, mut e)) in shards.into_iter().enumerate() {
            for ev in &mut e {
                ev.flow_id = self.ids.id(s, ev.flow_id);
            }
            for fl in &mut f {
                self.ids.ended(s, fl);
            }
            if flows.is_empty() {
                (flows, events) = (f, e);
            } else {
                flows.append(&mut f);
                events.append(&mut e);
            }
        }
        flows.sort_unstable_by_key(|f| f.id);
        // Stable: each flow's records stay together and in their order.
        events.sort_by_key(|e| e.flow_id);
        self.app_events.append(&mut events);
        if self.ended.is_empty() {
            self.ended = flows;
        } else {
            self.ended.append(&mut flows);
        }
        self.flush_ended();
        if let Some(d) = self.detector.as_mut() {
            d.tick(now_ns);
        }
        self.ids.expire(now_ns);
    }

    /// Gives an ended flow and its records run-wide ids.
    fn renumber(&mut self, shard: usize, e: &mut Ended) {
        let local = e.flow.id;
        self.ids.ended(shard, &mut e.flow);
        for ev in &mut e.app_events {
            if ev.flow_id == local {
                ev.flow_id = e.flow.id;
            }
        }
    }

    /// A fragment the defragmenter holds: its anomalies only.
    fn held(&mut self, meta: &PacketMeta, ts_ns: i64, pkt_no: u64) {
        self.note_anomalies(meta, ts_ns, pkt_no, None);
        self.end_frame();
    }

    fn end_frame(&mut self) {
        if self.rows.len() >= ROW_BATCH {
            self.flush_rows();
        }
    }

    /// Replays what shard `shard` did with a packet.
    fn packet(
        &mut self,
        shard: usize,
        meta: &PacketMeta,
        payload: &[u8],
        ts_ns: i64,
        frames: &[(u64, u32)],
        out: &mut PacketOut,
    ) {
        // Run-wide peaks: the other shards held what they last reported.
        let others = self.usage.iter().fold(Usage::default(), |a, u| a.plus(*u));
        let others = others.minus(self.usage[shard]);
        self.peaks = self.peaks.max(others.plus(out.peak));
        self.usage[shard] = out.usage;
        // Flows made by the packet, in the order the table made them.
        for v in [out.outer.as_mut(), out.inner.as_mut()]
            .into_iter()
            .flatten()
        {
            if v.new_flow {
                self.ids.created(shard, v.flow_id, v.parent_id);
            }
            v.flow_id = self.ids.id(shard, v.flow_id);
        }
        let verdict = out.inner;
        if let Some(d) = self.detector.as_mut() {
            for (flow, dir, range) in &out.stream {
                let bytes = out.bytes.get(range.clone()).unwrap_or(&[]);
                d.payload(self.ids.id(shard, *flow), *dir, ts_ns, bytes);
            }
        }
        if let (Some(v), Some((src, dst)), Some(d)) =
            (verdict, out.inner_ends, self.detector.as_mut())
        {
            if matches!(meta.transport, Some(Transport::Udp { .. })) {
                d.datagram(v.flow_id, v.dir, ts_ns, payload);
            }
            let (a, b) = (
                Side {
                    ip: src.ip,
                    port: Some(src.port),
                },
                Side {
                    ip: dst.ip,
                    port: Some(dst.port),
                },
            );
            let (client, server) = if v.dir == Direction::ToServer {
                (a, b)
            } else {
                (b, a)
            };
            d.payload_endpoints(v.flow_id, client, server);
        }
        let flow_id = verdict.map(|v| v.flow_id).or(out.outer.map(|v| v.flow_id));
        let pkt_no = frames.last().map_or(0, |f| f.0);
        if let (Some(ip), Some(d)) = (&meta.ip, self.detector.as_mut()) {
            let (tcp, dst_port, icmp) = match &meta.transport {
                Some(Transport::Tcp(t)) => (Some(t), Some(t.dst_port), None),
                Some(Transport::Udp { dst_port, .. }) => (None, Some(*dst_port), None),
                Some(
                    Transport::Icmp { icmp_type, code } | Transport::Icmpv6 { icmp_type, code },
                ) => (None, None, Some((*icmp_type, *code))),
                _ => (None, None, None),
            };
            let flow = verdict.map(|v| FlowFacts {
                id: v.flow_id,
                dir: v.dir,
                new_flow: v.new_flow,
                established: v.established,
                closed: v.closed,
            });
            if let Some(f) = flow.filter(|f| f.new_flow && ip.proto == 6) {
                d.flow_started(ip.src, ts_ns, f.id);
            }
            d.packet(PacketFacts {
                ts_ns,
                pkt_no,
                src: ip.src,
                dst: ip.dst,
                proto: ip.proto,
                tcp: tcp.copied(),
                dst_port,
                icmp,
                payload_len: payload.len(),
                flow,
            });
        }
        self.note_anomalies(meta, ts_ns, pkt_no, flow_id);
        if verdict.is_some_and(|v| v.overlap_conflict) {
            self.push_anomaly(AnomalyRow {
                ts_ns,
                pkt_no,
                flow_id,
                kind: AnomalyKind::Stream,
                event: "reassembly_overlap_different_data",
                tuple: tuple_of(meta),
            });
        }
        for p in &mut out.pieces {
            p.flow_id = self.ids.id(shard, p.flow_id);
        }
        self.pieces.append(&mut out.pieces);
        for ev in &mut out.app_events {
            if ev.record.data_channel().is_some() {
                self.ids.announced(shard, ev.flow_id);
            }
            ev.flow_id = self.ids.id(shard, ev.flow_id);
        }
        self.app_events.append(&mut out.app_events);
        for mut f in out.ended.drain(..) {
            self.ids.ended(shard, &mut f);
            self.ended.push(f);
        }
        if !self.ended.is_empty() {
            self.flush_ended();
        }
        self.end_frame();
    }

    fn note_anomalies(&mut self, meta: &PacketMeta, ts_ns: i64, pkt_no: u64, flow_id: Option<u64>) {
        let ends = meta.ip.as_ref().map(|ip| (ip.src, ip.dst));
        for a in &meta.anomalies {
            if let Some(d) = self.detector.as_mut() {
                d.decode_anomaly(*a, ts_ns, pkt_no, flow_id, ends);
            }
            self.push_anomaly(AnomalyRow {
                ts_ns,
                pkt_no,
                flow_id,
                kind: AnomalyKind::Decode,
                event: a.name(),
                tuple: tuple_of(meta),
            });
        }
    }

    fn push_anomaly(&mut self, a: AnomalyRow) {
        *self.anomaly_counts.entry(a.event).or_default() += 1;
        self.anomalies.push(a);
        if self.anomalies.len() >= 1024 {
            let batch = std::mem::take(&mut self.anomalies);
            self.send(StoreMsg::Anomalies(batch));
        }
    }

    /// Moves ended flows to the outgoing batch (they are sent after the
    /// packet rows that precede them, so the store sees a flow's packets
    /// before its record).
    fn flush_ended(&mut self) {
        for f in &self.ended {
            let Some(d) = self.detector.as_mut() else {
                break;
            };
            d.flow_ended(FlowEnd {
                id: f.id,
                client: (f.client.ip, f.client.port),
                server: (f.server.ip, f.server.port),
                proto: f.key.proto,
                app_proto: f.app_proto,
                first_ts_ns: f.first_ts_ns,
                last_ts_ns: f.last_ts_ns,
                pkts: f.pkts,
                bytes: f.bytes,
                payload_bytes: f.stream.length,
            });
        }
        for f in &self.ended {
            *self
                .flows_by_proto
                .entry(crate::eve::proto_name(f.key.proto))
                .or_default() += 1;
        }
        self.flows.append(&mut self.ended);
        if self.flows.len() >= FLOW_BATCH {
            self.flush_rows();
        }
    }

    fn flush_rows(&mut self) {
        let mut batch = Batch {
            packets: std::mem::replace(&mut self.rows, Vec::with_capacity(ROW_BATCH)),
            pieces: std::mem::take(&mut self.pieces),
            app_events: std::mem::take(&mut self.app_events),
            flows: std::mem::take(&mut self.flows),
        };
        // With detection on, the stage reads the application records
        // first, then strips them.
        if self.detector.is_none() {
            crate::stage::strip_inspection(&mut batch);
        }
        self.send(StoreMsg::Batch(batch));
    }

    /// End of input: ends the shards' remaining flows in flow-id order, in
    /// store batches of [`FLOW_BATCH`] flows. `next(s)` gives shard `s`'s
    /// next slice, in its id order, and whether more follow.
    fn drain(&mut self, next: &mut dyn FnMut(usize) -> Option<(Vec<Ended>, bool)>, shards: usize) {
        let mut heads: Vec<std::collections::VecDeque<Ended>> =
            (0..shards).map(|_| Default::default()).collect();
        let mut more = vec![true; shards];
        loop {
            let mut n = 0;
            while n < FLOW_BATCH {
                // Refill empty heads, then take the lowest id.
                for s in 0..shards {
                    while heads[s].is_empty() && more[s] {
                        match next(s) {
                            Some((slice, m)) => {
                                more[s] = m;
                                for mut e in slice {
                                    self.renumber(s, &mut e);
                                    heads[s].push_back(e);
                                }
                            }
                            None => more[s] = false,
                        }
                    }
                }
                let lowest = (0..shards)
                    .filter_map(|s| heads[s].front().map(|e| (e.flow.id, s)))
                    .min();
                let Some(e) = lowest.and_then(|(_, s)| heads[s].pop_front()) else {
                    break;
                };
                self.app_events.extend(e.app_events);
                self.ended.push(e.flow);
                n += 1;
            }
            let remaining = heads.iter().any(|h| !h.is_empty()) || more.iter().any(|&m| m);
            if !remaining {
                break;
            }
            self.flush_ended();
            self.flush_rows();
        }
        self.flush_ended();
        self.flush_rows();
    }

    /// Hands out the last anomalies and waits for detection.
    fn finish(&mut self) {
        if !self.anomalies.is_empty() {
            let batch = std::mem::take(&mut self.anomalies);
            self.send(StoreMsg::Anomalies(batch));
        }
        if let Some(d) = self.detector.take() {
            match d.finish() {
                Some(done) => {
                    self.alert_counts = done.alerts;
                    self.detect_window_drops = done.window_drops;
                }
                None => self.detection_failed = true,
            }
        }
    }
}

fn tuple_of(meta: &PacketMeta) -> Option<Tuple> {
    let ip = meta.ip?;
    let (src_port, dest_port) = match meta.transport {
        Some(Transport::Tcp(t)) => (t.src_port, t.dst_port),
        Some(Transport::Udp { src_port, dst_port }) => (src_port, dst_port),
        _ => (0, 0),
    };
    Some(Tuple {
        src_ip: ip.src,
        src_port,
        dest_ip: ip.dst,
        dest_port,
        proto: ip.proto,
    })
}
