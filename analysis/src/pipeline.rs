//! The offline pipeline: files → decode → flows/reassembly → case store.
//!
//! Threads (each owns its state; bounded channels between them):
//! 1. `osprey-reader` merges the inputs in timestamp order and sends frame
//!    batches. Files block on a full channel, so no frame is ever dropped.
//! 2. The calling thread decodes, defragments, tracks flows and reassembles
//!    streams. It is single-threaded on purpose: flow ids and every row are
//!    then identical from run to run.
//! 3. `osprey-detect` ([`crate::stage`]) runs detection over the facts the
//!    engine hands it, in the engine's order, and forwards the engine's
//!    store messages with the alerts in place (absent with `--no-detect`).
//! 4. `osprey-store` owns SQLite and the EVE writer and writes in batches.

use crate::decode::meta::{PacketMeta, Transport};
use crate::decode::{Decoded, Decoder, DefragConfig};
use crate::detect::{Detector, FlowEnd, FlowFacts, PacketFacts, RuleError, RuleSet, Side};
use crate::dpi::AppProto;
use crate::flow::table::{StreamEvent, Wire};
use crate::flow::{Direction, Flow, FlowConfig, FlowStats, FlowTable, PacketKey};
use crate::model::{AnomalyKind, AnomalyRow, PacketRow, Tuple};
use crate::stage::DetectStage;
use crate::store::{Batch, CaptureRow, StoreError, StoreMsg, StoreWriter};
use crossbeam_channel::{bounded, Receiver, Sender};
use osprey_capture::file::FileSource;
use osprey_capture::merge::MergedSource;
use osprey_capture::{CaptureError, FrameSource, RawFrame};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames per reader batch.
const FRAME_BATCH: usize = 512;
/// Packet rows per store batch.
const ROW_BATCH: usize = 8_192;
/// Ended flows per store batch.
const FLOW_BATCH: usize = 2_048;
/// Ended fragment trains held before an early expiry round hands them out.
const ENDED_TRAINS_MAX: usize = 1_024;

/// Engine configuration.
#[derive(Debug, Clone, Default)]
pub struct AnalyzeConfig {
    /// Flow table and reassembly limits.
    pub flow: FlowConfig,
    /// IP defragmentation limits.
    pub defrag: DefragConfig,
    /// Detection rules; `None` uses the compiled-in defaults.
    pub rules: Option<RuleSet>,
    /// Skip detection (identification and parsing still run), e.g. to
    /// measure what detection costs.
    pub no_detect: bool,
    /// Policy every ended flow is checked against (`policy_violation`
    /// alerts); needs detection.
    pub policy: Option<std::sync::Arc<crate::policy::check::PolicyChecker>>,
    /// Set to true (from another thread) to stop the run: it then ends
    /// with `AnalyzeError::Cancelled` and leaves no case behind.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Progress report, a few times a second.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Input bytes consumed so far.
    pub bytes_read: u64,
    /// Total input bytes.
    pub bytes_total: u64,
    /// Frames processed.
    pub packets: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Frames read.
    pub packets: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// Flows written, by protocol name.
    pub flows_by_proto: BTreeMap<String, u64>,
    /// Anomalies, by event name.
    pub anomalies: BTreeMap<&'static str, u64>,
    /// Flow-table counters.
    pub flow_stats: FlowStats,
    /// Configured memory budgets in bytes, by name ([`crate::memcap`]).
    pub memcap_budgets: Vec<(&'static str, u64)>,
    /// Cap and emergency-mode counters, by name ([`crate::memcap`]).
    pub memcap_counters: Vec<(&'static str, u64)>,
    /// Application-layer records written (EVE http/dns/tls/ssh events).
    pub app_records: u64,
    /// Alerts written, by category.
    pub alerts: BTreeMap<&'static str, u64>,
    /// Warnings (truncated inputs).
    pub warnings: Vec<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Summary {
    /// Frames per second of wall time.
    pub fn packets_per_sec(&self) -> f64 {
        self.packets as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// An input is unreadable or not a capture (exit code 2).
    #[error("{0}")]
    Input(#[from] CaptureError),
    /// The case could not be written.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A worker thread died.
    #[error("internal error: {0} thread panicked")]
    Worker(&'static str),
    /// The detection rules are invalid.
    #[error("{0}")]
    Rules(#[from] RuleError),
    /// `AnalyzeConfig::cancel` was set.
    #[error("cancelled")]
    Cancelled,
}

enum ReaderMsg {
    Frames(Vec<RawFrame>, u64),
    Warning(CaptureError),
    Fatal(CaptureError),
}

/// Analyses `inputs` into a new case in `case_dir`.
pub fn analyze(
    inputs: &[PathBuf],
    case_dir: &Path,
    cfg: &AnalyzeConfig,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, AnalyzeError> {
    let started = Instant::now();
    let rules = match &cfg.rules {
        Some(r) => r.clone(),
        None => RuleSet::defaults()?,
    };
    let mut sources: Vec<Box<dyn FrameSource + Send>> = Vec::with_capacity(inputs.len());
    let mut captures = Vec::with_capacity(inputs.len());
    let mut bytes_total = 0;
    for (i, path) in inputs.iter().enumerate() {
        let src = FileSource::open(path, i as u32)?;
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        bytes_total += size.unwrap_or(0);
        captures.push(CaptureRow {
            id: i as u32 + 1,
            path: std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string(),
            kind: "file",
            size_bytes: size,
            packets: 0,
            bytes: 0,
            first_ts_ns: None,
            last_ts_ns: None,
            status: "complete",
            warning: None,
        });
        sources.push(Box::new(src));
    }
    let store = StoreWriter::create(case_dir)?;
    let (store_tx, store_rx) = bounded::<StoreMsg>(crate::stage::store_queue(cfg.no_detect));
    let store_thread = std::thread::Builder::new()
        .name("osprey-store".into())
        .spawn(move || store_loop(store, store_rx))
        .map_err(StoreError::Io)?;
    let (frame_tx, frame_rx) = bounded::<ReaderMsg>(8);
    // Used batches go back to the reader, which reuses their allocations.
    let (recycle_tx, recycle_rx) = bounded::<Vec<RawFrame>>(8);
    let sizes: Vec<u64> = captures.iter().map(|c| c.size_bytes.unwrap_or(0)).collect();
    let reader = std::thread::Builder::new()
        .name("osprey-reader".into())
        .spawn(move || reader_loop(sources, sizes, frame_tx, recycle_rx))
        .map_err(StoreError::Io)?;

    let budgets = crate::memcap::budgets(&cfg.flow, &cfg.defrag, rules.limits.max_tracked_keys);
    let mut engine = Engine::new(cfg, rules, store_tx).map_err(StoreError::Io)?;
    let mut summary = Summary::default();
    let mut fatal = None;
    let mut cancelled = false;
    let mut last_progress = Instant::now();
    for msg in frame_rx.iter() {
        if cfg
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            cancelled = true;
            break;
        }
        match msg {
            ReaderMsg::Frames(frames, pos) => {
                for frame in &frames {
                    let c = &mut captures[frame.source as usize];
                    c.packets += 1;
                    c.bytes += frame.data.len() as u64;
                    c.first_ts_ns.get_or_insert(frame.ts_ns);
                    c.last_ts_ns = Some(frame.ts_ns);
                    engine.frame(frame);
                }
                // A full recycling queue only means a fresh allocation.
                let _ = recycle_tx.try_send(frames);

                if last_progress.elapsed() >= Duration::from_millis(200) {
                    last_progress = Instant::now();
                    progress(&Progress {
                        bytes_read: pos,
                        bytes_total,
                        packets: engine.pkt_no,
                    });
                }
            }
            ReaderMsg::Warning(e) => {
                if let Some(i) = inputs.iter().position(|p| p.as_path() == e.path()) {
                    captures[i].status = "truncated";
                    captures[i].warning = Some(e.to_string());
                }
                summary.warnings.push(e.to_string());
            }
            ReaderMsg::Fatal(e) => {
                fatal = Some(e);
                break;
            }
        }
    }
    drop(frame_rx);
    tracing::debug!(elapsed = ?started.elapsed(), "input read");
    let reader_ok = reader.join().is_ok();
    if fatal.is_none() && !cancelled {
        engine.finish();
        tracing::debug!(elapsed = ?started.elapsed(), "flows drained");
        engine.send(StoreMsg::Captures(captures.clone()));
        summary.memcap_counters = engine.memcap_counters();
        summary.memcap_budgets = budgets;
        engine.send(StoreMsg::Memcap {
            budgets: summary.memcap_budgets.clone(),
            counters: summary.memcap_counters.clone(),
        });
    }
    let stats = engine.table.stats();
    let anomalies = std::mem::take(&mut engine.anomaly_counts);
    let flows_by_proto = std::mem::take(&mut engine.flows_by_proto);
    let alert_counts = std::mem::take(&mut engine.alert_counts);
    let packets = engine.pkt_no;
    let detection_failed = engine.detection_failed;
    drop(engine);
    let store = store_thread
        .join()
        .map_err(|_| AnalyzeError::Worker("store"))?;
    let store = match (store, fatal, reader_ok) {
        (Ok(s), None, true) if !cancelled && !detection_failed => s,
        (Ok(s), fatal, _) => {
            s.abandon();
            if cancelled {
                return Err(AnalyzeError::Cancelled);
            }
            if detection_failed {
                return Err(AnalyzeError::Worker("detection"));
            }
            // Not a clean end: an input failed, or the reader died.
            return Err(fatal.map_or(AnalyzeError::Worker("reader"), AnalyzeError::Input));
        }
        (Err(e), _, _) => return Err(e.into()),
    };
    tracing::debug!(elapsed = ?started.elapsed(), "store thread done");
    let written = store.finish()?;
    summary.app_records = written.app_events;
    tracing::debug!(elapsed = ?started.elapsed(), "case finished");
    summary.packets = packets;
    summary.bytes = captures.iter().map(|c| c.bytes).sum();
    summary.flows_by_proto = flows_by_proto;
    summary.alerts = alert_counts;
    summary.anomalies = anomalies;
    summary.flow_stats = stats;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

pub(crate) fn store_loop(
    mut store: StoreWriter,
    rx: Receiver<StoreMsg>,
) -> Result<StoreWriter, StoreError> {
    for msg in rx.iter() {
        if let Err(e) = store.write(msg) {
            store.abandon();
            return Err(e);
        }
    }
    Ok(store)
}

fn reader_loop(
    sources: Vec<Box<dyn FrameSource + Send>>,
    sizes: Vec<u64>,
    tx: Sender<ReaderMsg>,
    recycled: Receiver<Vec<RawFrame>>,
) {
    let mut merged = MergedSource::new(sources);
    // The next batch: a used one given back by the engine (its frames'
    // buffers go back to the source), or a new one.
    let fresh_batch = |merged: &mut MergedSource| match recycled.try_recv() {
        Ok(mut used) => {
            for f in used.drain(..) {
                merged.recycle(f.data);
            }
            used
        }
        Err(_) => Vec::with_capacity(FRAME_BATCH),
    };
    let mut batch = fresh_batch(&mut merged);
    let mut pos = vec![0u64; sizes.len()];
    loop {
        match merged.next_frame() {
            Ok(Some(frame)) => {
                if let Some(p) = pos.get_mut(frame.source as usize) {
                    *p = frame.data_offset + frame.data.len() as u64;
                }
                batch.push(frame);
                if batch.len() == FRAME_BATCH {
                    let full = std::mem::replace(&mut batch, fresh_batch(&mut merged));
                    if tx.send(ReaderMsg::Frames(full, pos.iter().sum())).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(e) if e.is_truncation() => {
                if !batch.is_empty() {
                    let full = std::mem::take(&mut batch);
                    if tx.send(ReaderMsg::Frames(full, pos.iter().sum())).is_err() {
                        return;
                    }
                }
                if tx.send(ReaderMsg::Warning(e)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = tx.send(ReaderMsg::Fatal(e));
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.send(ReaderMsg::Frames(batch, sizes.iter().sum()));
    }
}

/// The per-packet stage: decode, defragment, flows, reassembly (also
/// driven by the live pipeline, `crate::live`).
pub(crate) struct Engine {
    decoder: Decoder,
    pub(crate) table: FlowTable,
    store: Sender<StoreMsg>,
    pub(crate) pkt_no: u64,
    rows: Vec<PacketRow>,
    anomalies: Vec<AnomalyRow>,
    ended: Vec<Flow>,
    /// Ended flows waiting for the next batch.
    flows: Vec<Flow>,
    /// Wire lengths of fragments held by the defragmenter, by frame number.
    held: HashMap<u64, u32>,
    pub(crate) anomaly_counts: BTreeMap<&'static str, u64>,
    pub(crate) flows_by_proto: BTreeMap<String, u64>,
    last_expire_ns: i64,
    /// The detection thread; `None` when detection is off (or once
    /// finished).
    detector: Option<DetectStage>,
    pub(crate) alert_counts: BTreeMap<&'static str, u64>,
    /// The detection thread panicked: the case is incomplete.
    pub(crate) detection_failed: bool,
    /// Keys the detection windows dropped at their caps (set by `finish`).
    detect_window_drops: u64,
}

impl Engine {
    pub(crate) fn new(
        cfg: &AnalyzeConfig,
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
        Ok(Engine {
            detector,
            alert_counts: BTreeMap::new(),
            detection_failed: false,
            detect_window_drops: 0,
            decoder: Decoder::new(cfg.defrag),
            table: FlowTable::new(cfg.flow.clone()),
            store,
            pkt_no: 0,
            rows: Vec::with_capacity(ROW_BATCH),
            anomalies: Vec::new(),
            ended: Vec::new(),
            flows: Vec::new(),
            held: HashMap::new(),
            anomaly_counts: BTreeMap::new(),
            flows_by_proto: BTreeMap::new(),
            last_expire_ns: i64::MIN,
        })
    }

    /// Cap and emergency counters so far ([`crate::memcap::counters`]);
    /// the detection windows' drops are known once detection finished.
    pub(crate) fn memcap_counters(&self) -> Vec<(&'static str, u64)> {
        crate::memcap::counters(
            &self.table.stats(),
            &self.decoder.stats(),
            self.detect_window_drops,
        )
    }

    /// Sends `msg` to the store, through the detection stage when it runs
    /// (which keeps it in its place among the alerts).
    pub(crate) fn send(&mut self, msg: StoreMsg) {
        match self.detector.as_mut() {
            Some(d) => d.store(msg),
            // The store thread only hangs up after a write error, which it
            // reports itself when joined.
            None => {
                let _ = self.store.send(msg);
            }
        }
    }

    pub(crate) fn frame(&mut self, frame: &RawFrame) {
        self.pkt_no += 1;
        let pkt_no = self.pkt_no;
        self.rows.push(PacketRow {
            pkt_no,
            capture_id: frame.source + 1,
            interface: frame.interface,
            data_offset: frame.data_offset,
            ts_ns: frame.ts_ns,
            caplen: frame.data.len() as u32,
            orig_len: frame.orig_len,
            link_type: frame.link_type.0,
        });
        if frame.ts_ns > self.last_expire_ns.saturating_add(1_000_000_000)
            || self.decoder.ended_pending() >= ENDED_TRAINS_MAX
        {
            self.expire(frame.ts_ns);
        }
        match self.decoder.decode(frame, pkt_no) {
            Decoded::Packet(meta) => {
                self.account(&meta, &frame.data, frame.ts_ns, &[(pkt_no, frame.orig_len)]);
            }
            Decoded::FragmentHeld(meta) => {
                self.note_anomalies(&meta, frame.ts_ns, pkt_no, None);
                self.held.insert(pkt_no, frame.orig_len);
            }
            Decoded::Reassembled {
                meta,
                datagram,
                fragments,
            } => {
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
                self.account(&meta, &datagram, frame.ts_ns, &frames);
            }
        }
        if self.rows.len() >= ROW_BATCH {
            self.flush_rows();
        }
    }

    fn expire(&mut self, now_ns: i64) {
        self.last_expire_ns = now_ns;
        for train in self.decoder.expire(now_ns) {
            for n in &train.fragments {
                self.held.remove(n);
            }
            for a in &train.anomalies {
                self.push_anomaly(AnomalyRow {
                    ts_ns: now_ns,
                    pkt_no: train.fragments.first().copied().unwrap_or(0),
                    flow_id: None,
                    kind: AnomalyKind::Decode,
                    event: a.name(),
                    tuple: None,
                });
            }
        }
        let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
        self.table.expire(now_ns, &mut self.ended, &mut sink);
        self.flush_ended();
        if let Some(d) = self.detector.as_mut() {
            d.tick(now_ns);
        }
    }

    /// Accounts a decoded packet made of `frames` (frame number, wire
    /// length) to its flows.
    fn account(&mut self, meta: &PacketMeta, buf: &[u8], ts_ns: i64, frames: &[(u64, u32)]) {
        let wire = Wire { frames };
        let payload = buf.get(meta.payload.clone()).unwrap_or(&[]);
        let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
        let outer = PacketKey::outer_udp(meta).map(|pk| {
            let udp = Transport::Udp {
                src_port: pk.src.port,
                dst_port: pk.dst.port,
            };
            self.table.packet(
                &pk,
                Some(&udp),
                ts_ns,
                wire,
                &[],
                &mut self.ended,
                &mut sink,
            )
        });
        let mut detector = self.detector.as_mut();
        let mut inspect = |flow_id: u64, dir: Direction, ev: StreamEvent<'_>| {
            // Encrypted streams carry no cleartext to inspect.
            let encrypted = |a| matches!(a, Some(AppProto::Tls | AppProto::Ssh));
            match (ev, detector.as_deref_mut()) {
                (StreamEvent::Data { bytes, app, .. }, Some(d)) if !encrypted(app) => {
                    d.payload(flow_id, dir, ts_ns, bytes);
                }
                _ => {}
            }
        };
        let inner = PacketKey::inner(meta).map(|pk| {
            let v = self.table.packet(
                &pk,
                meta.transport.as_ref(),
                ts_ns,
                wire,
                payload,
                &mut self.ended,
                &mut inspect,
            );
            (v, pk.src, pk.dst)
        });
        let verdict = inner.map(|(v, src, dst)| {
            let Some(d) = self.detector.as_mut() else {
                return v;
            };
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
            v
        });
        let first_flow = outer.map(|v| v.flow_id);
        let flow_id = verdict.map(|v| v.flow_id).or(first_flow);
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
        if !self.ended.is_empty() {
            self.flush_ended();
        }
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

    pub(crate) fn flush_rows(&mut self) {
        let mut batch = Batch {
            packets: std::mem::replace(&mut self.rows, Vec::with_capacity(ROW_BATCH)),
            pieces: self.table.take_pieces(),
            app_events: self.table.take_app_events(),
            flows: std::mem::take(&mut self.flows),
        };
        // With detection on, the stage reads the application records
        // first, then strips them.
        if self.detector.is_none() {
            crate::stage::strip_inspection(&mut batch);
        }
        self.send(StoreMsg::Batch(batch));
    }

    pub(crate) fn finish(&mut self) {
        self.held.clear();
        let mut sink = |_: u64, _: Direction, _: StreamEvent<'_>| {};
        while self.table.drain(FLOW_BATCH, &mut self.ended, &mut sink) {
            self.flush_ended();
            self.flush_rows();
        }
        self.flush_ended();
        self.flush_rows();
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
