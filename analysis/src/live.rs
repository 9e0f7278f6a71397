//! The live pipeline: capture threads → (sink, dedupe, engine) → store.
//!
//! The same [`Engine`](crate::engine) as offline analysis runs on the
//! calling thread; what differs is where frames come from and what else
//! happens to them:
//! - Frames arrive as batches from [`osprey_capture::live::LiveCapture`],
//!   whose threads never block (a full queue is their counted drop).
//! - Every batch is first handed to a [`LiveSink`] (the recorder's pcapng
//!   ring), untouched: the ring keeps every frame of every interface.
//! - A frame seen on a second interface within [`DEDUP_WINDOW_NS`] (a
//!   pod-to-pod packet crosses two veths of one bridge) is counted and
//!   stored once; the second sighting goes to `duplicate_frames`.
//! - A thread re-reads which workload holds which IP every
//!   [`WORKLOAD_POLL`]; the spans go to `workloads`, so a case opened later
//!   names each flow's endpoints as they were at the time (`flow_workloads`).
//! - The run ends when the capture's threads are gone (the caller sets the
//!   stop flag: signal, duration, or the sink failing, e.g. on a full disk).

use crate::detect::RuleSet;
use crate::engine::Engine;
use crate::pipeline::{store_loop, AnalyzeConfig, AnalyzeError, Progress, Summary};
use crate::store::live_rows::{CaptureStatRow, DuplicateRow, LiveRows, WorkloadRow};
use crate::store::{CaptureRow, StoreError, StoreMsg, StoreWriter};
use crossbeam_channel::{bounded, Receiver, RecvTimeoutError};
use osprey_capture::live::{IfaceCounters, IfaceStats};
use osprey_capture::ring::{Ring, RingError, Stored};
use osprey_capture::workload::{self, WorkloadAddr};
use osprey_capture::RawFrame;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Two sightings of the same bytes on different interfaces this close in
/// time are one packet.
pub const DEDUP_WINDOW_NS: i64 = 50_000_000;
/// How long (by arrival) a frame's hash is remembered: capture threads
/// deliver up to a block timeout plus a batch wait late, so well beyond
/// the window.
const DEDUP_MEMORY: Duration = Duration::from_secs(1);
/// How often workloads are re-read.
pub const WORKLOAD_POLL: Duration = Duration::from_secs(2);
/// Longest the loop waits for frames before the sink's `idle` call.
const IDLE_TICK: Duration = Duration::from_millis(50);

/// Where every captured frame goes before analysis (the recorder's ring).
pub trait LiveSink {
    /// Takes a batch, in arrival order, and says where each frame was
    /// stored (`stored[i]` for `frames[i]`; left empty by a sink that
    /// keeps no copy). The case's packet index then points there, so
    /// drill-down and `osprey export` read the frames back from the sink's
    /// files. An error stops the capture.
    fn frames(
        &mut self,
        frames: &[RawFrame],
        stored: &mut Vec<Option<Stored>>,
    ) -> Result<(), String>;
    /// The path of a file of [`Stored::file`].
    fn file_path(&self, file: u64) -> PathBuf;
    /// Called at least every 50 ms (flush deadlines).
    fn idle(&mut self) -> Result<(), String>;
    /// Called once at the end, after the last frame.
    fn finish(&mut self) -> Result<(), String>;
}

/// A sink that keeps nothing (`osprey analyze --live`).
pub struct NoSink;

impl LiveSink for NoSink {
    fn frames(&mut self, _: &[RawFrame], _: &mut Vec<Option<Stored>>) -> Result<(), String> {
        Ok(())
    }
    fn file_path(&self, _: u64) -> PathBuf {
        PathBuf::new()
    }
    fn idle(&mut self) -> Result<(), String> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// A pcapng ring as the live pipeline's sink (`osprey record`, the GUI's
/// live source): every frame is kept, and the case's packet index points
/// into the ring files. Keeps its first error.
pub struct RingSink {
    /// The ring.
    pub ring: Ring,
    /// Its first error; the capture stopped there.
    pub error: Option<String>,
}

impl RingSink {
    /// A sink writing to `ring`.
    pub fn new(ring: Ring) -> Self {
        RingSink { ring, error: None }
    }

    fn keep<T>(&mut self, r: Result<T, RingError>) -> Result<T, String> {
        r.map_err(|e| self.error.get_or_insert(e.to_string()).clone())
    }
}

impl LiveSink for RingSink {
    fn frames(
        &mut self,
        frames: &[RawFrame],
        stored: &mut Vec<Option<Stored>>,
    ) -> Result<(), String> {
        for f in frames {
            let r = self.ring.write(f);
            stored.push(self.keep(r)?);
        }
        let r = self.ring.tick();
        self.keep(r)
    }

    fn file_path(&self, file: u64) -> PathBuf {
        self.ring.file_path(file)
    }

    fn idle(&mut self) -> Result<(), String> {
        let r = self.ring.tick();
        self.keep(r)
    }

    fn finish(&mut self) -> Result<(), String> {
        let r = self.ring.close();
        self.keep(r)
    }
}

/// One captured interface as the live pipeline sees it.
#[derive(Debug, Clone)]
pub struct LiveSource {
    /// Interface name.
    pub name: String,
    /// Who is behind it (pod or netns name), when known.
    pub label: Option<String>,
    /// Its capture counters.
    pub counters: Arc<IfaceCounters>,
}

/// What a live run did, beyond the offline [`Summary`].
#[derive(Debug, Clone, Default)]
pub struct LiveSummary {
    /// Flows, alerts, packets (duplicates not counted).
    pub summary: Summary,
    /// Per interface: name, final counters, duplicates.
    pub interfaces: Vec<(String, IfaceStats, u64)>,
    /// Why the sink stopped the run, when it did.
    pub sink_error: Option<String>,
}

/// How a live run keeps its case.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveOptions {
    /// Read who holds which IP every [`WORKLOAD_POLL`].
    pub attribute: bool,
    /// Commit the case as it goes so a killed run keeps it
    /// ([`StoreWriter::create_durable`]), flushing at least every
    /// [`DURABLE_FLUSH`].
    pub durable: bool,
}

/// How often a durable run hands what it has to the store.
pub const DURABLE_FLUSH: Duration = Duration::from_millis(250);

/// How often a durable run also writes the flows and alerts still open and
/// the workload spans so far (`active_flows`, `active_alerts`,
/// `workloads`), for the live view.
pub const OPEN_SNAPSHOT: Duration = Duration::from_secs(1);

/// Most open flows in one snapshot (the most recently active ones).
pub const OPEN_SNAPSHOT_MAX: usize = 20_000;

/// Runs the engine over live frames until the capture ends, writing a
/// case into `case_dir`. `stop` is the capture's stop flag: set here when
/// the sink fails.
#[allow(clippy::too_many_arguments)]
pub fn analyze_live(
    rx: Receiver<Vec<RawFrame>>,
    sources: &[LiveSource],
    stop: &Arc<AtomicBool>,
    opts: LiveOptions,
    case_dir: &Path,
    cfg: &AnalyzeConfig,
    sink: &mut dyn LiveSink,
    progress: &mut dyn FnMut(&Progress),
) -> Result<LiveSummary, AnalyzeError> {
    let started = Instant::now();
    let run_start_ns = now_ns();
    let rules = match &cfg.rules {
        Some(r) => r.clone(),
        None => RuleSet::defaults()?,
    };
    let store = if opts.durable {
        StoreWriter::create_durable(case_dir)?
    } else {
        StoreWriter::create(case_dir)?
    };
    let (store_tx, store_rx) = bounded::<StoreMsg>(crate::stage::store_queue(cfg.no_detect));
    let store_thread = std::thread::Builder::new()
        .name("osprey-store".into())
        .spawn(move || store_loop(store, store_rx))
        .map_err(StoreError::Io)?;
    let workloads_rx = if opts.attribute {
        Some(spawn_workload_poller(stop.clone()).map_err(StoreError::Io)?)
    } else {
        None
    };
    let budgets = crate::memcap::budgets(&cfg.flow, &cfg.defrag, rules.limits.max_tracked_keys);
    let mut engine = Engine::new(cfg, 1, rules, store_tx).map_err(StoreError::Io)?;
    let mut captures: Vec<CaptureRow> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| CaptureRow::new(i as u32 + 1, s.name.clone(), "interface", None))
        .collect();
    let mut dedup = Dedup::new(sources.len() > 1);
    let mut stored = Vec::new();
    let mut files = SinkFiles::default();
    let mut duplicates = vec![0u64; sources.len()];
    let mut dup_rows = Vec::new();
    let mut spans = Spans::default();
    let mut sink_error = None;
    let mut last_progress = Instant::now();
    let mut last_flush = Instant::now();
    let mut last_snapshot = Instant::now();
    loop {
        let msg = rx.recv_timeout(IDLE_TICK);
        if let Some(wrx) = &workloads_rx {
            while let Ok((ts, snap)) = wrx.try_recv() {
                spans.update(ts, run_start_ns, snap);
            }
        }
        if opts.durable && last_flush.elapsed() >= DURABLE_FLUSH {
            last_flush = Instant::now();
            engine.flush_rows();
            if last_snapshot.elapsed() >= OPEN_SNAPSHOT {
                last_snapshot = Instant::now();
                engine.write_open(OPEN_SNAPSHOT_MAX);
                if workloads_rx.is_some() {
                    engine.send(StoreMsg::Live(spans.rows_until(now_ns())));
                }
            }
        }
        let frames = match msg {
            Ok(f) => f,
            Err(RecvTimeoutError::Timeout) => {
                if sink_error.is_none() {
                    if let Err(e) = sink.idle() {
                        stop.store(true, Ordering::SeqCst);
                        sink_error = Some(e);
                    }
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        stored.clear();
        if sink_error.is_none() {
            if let Err(e) = sink.frames(&frames, &mut stored) {
                stop.store(true, Ordering::SeqCst);
                sink_error = Some(e);
            }
        }
        for (i, frame) in frames.iter().enumerate() {
            // The ring file holds the frame, duplicate or not.
            let at = stored.get(i).copied().flatten().map(|at| {
                let (id, new) = files.row(at.file, &*sink, sources.len());
                if let Some(row) = new {
                    engine.send(StoreMsg::Captures(vec![row]));
                }
                if let Some(c) = files.rows.get_mut(id as usize - sources.len() - 1) {
                    c.count(frame);
                }
                (id, at.data_offset)
            });
            let src = frame.source as usize;
            if let Some(kept) = dedup.seen(frame, engine.pkt_no + 1) {
                if let Some(d) = duplicates.get_mut(src) {
                    *d += 1;
                }
                dup_rows.push(DuplicateRow {
                    pkt_no: kept,
                    capture_id: frame.source + 1,
                    ts_ns: frame.ts_ns,
                });
                continue;
            }
            if let Some(c) = captures.get_mut(src) {
                c.count(frame);
            }
            engine.frame_at(frame, at);
        }
        if dup_rows.len() >= 4096 {
            engine.send(StoreMsg::Live(LiveRows::Duplicates(std::mem::take(
                &mut dup_rows,
            ))));
        }
        if last_progress.elapsed() >= Duration::from_millis(200) {
            last_progress = Instant::now();
            progress(&Progress {
                bytes_read: captures.iter().map(|c| c.bytes).sum(),
                bytes_total: 0,
                packets: engine.pkt_no,
            });
        }
    }
    if let Err(e) = sink.finish() {
        sink_error.get_or_insert(e);
    }
    engine.finish();
    if opts.durable {
        // Every flow and alert has ended now.
        engine.send(StoreMsg::Live(LiveRows::ActiveFlows(Vec::new())));
        engine.send(StoreMsg::Live(LiveRows::ActiveAlerts(Vec::new())));
    }
    let end_ns = now_ns();
    if let Some(wrx) = &workloads_rx {
        while let Ok((ts, snap)) = wrx.try_recv() {
            spans.update(ts, run_start_ns, snap);
        }
    }
    let iface_stats: Vec<IfaceStats> = sources.iter().map(|s| s.counters.snapshot()).collect();
    if sink_error.is_some() {
        for c in &mut captures {
            c.status = "stopped";
            c.warning.clone_from(&sink_error);
        }
    }
    engine.send(StoreMsg::Captures(captures.clone()));
    if !files.rows.is_empty() {
        engine.send(StoreMsg::Captures(std::mem::take(&mut files.rows)));
    }
    let memcap_counters = engine.memcap_counters();
    engine.send(StoreMsg::Memcap {
        budgets: budgets.clone(),
        counters: memcap_counters.clone(),
    });
    if !dup_rows.is_empty() {
        engine.send(StoreMsg::Live(LiveRows::Duplicates(dup_rows)));
    }
    let stat_rows = sources
        .iter()
        .zip(&iface_stats)
        .enumerate()
        .map(|(i, (s, st))| CaptureStatRow {
            capture_id: i as u32 + 1,
            iface: s.name.clone(),
            label: s.label.clone(),
            delivered: st.delivered,
            kernel_received: st.kernel_received,
            kernel_drops: st.kernel_drops,
            if_drops: st.if_drops,
            queue_drops: st.queue_drops,
            duplicates: duplicates.get(i).copied().unwrap_or(0),
        })
        .collect();
    engine.send(StoreMsg::Live(LiveRows::CaptureStats(stat_rows)));
    let closed = spans.close(end_ns);
    if !closed.is_empty() {
        engine.send(StoreMsg::Live(LiveRows::Workloads {
            closed,
            open: Vec::new(),
        }));
    }
    let stats = engine.flow_stats();
    let (anomalies, flows_by_proto, alerts) = engine.take_counts();
    let mut summary = Summary {
        anomalies,
        flows_by_proto,
        alerts,
        packets: engine.pkt_no,
        bytes: captures.iter().map(|c| c.bytes).sum(),
        flow_stats: stats,
        memcap_budgets: budgets,
        memcap_counters,
        ..Summary::default()
    };
    let failed = engine.failed;
    drop(engine);
    let store = store_thread
        .join()
        .map_err(|_| AnalyzeError::Worker("store"))??;
    if let Some(who) = failed {
        store.abandon();
        return Err(AnalyzeError::Worker(who));
    }
    let written = store.finish()?;
    summary.app_records = written.app_events;
    summary.elapsed = started.elapsed();
    Ok(LiveSummary {
        summary,
        interfaces: sources
            .iter()
            .zip(iface_stats)
            .zip(duplicates)
            .map(|((s, st), d)| (s.name.clone(), st, d))
            .collect(),
        sink_error,
    })
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Re-reads the IP → workload map every [`WORKLOAD_POLL`] until `stop`.
fn spawn_workload_poller(
    stop: Arc<AtomicBool>,
) -> std::io::Result<Receiver<(i64, Vec<WorkloadAddr>)>> {
    let (tx, rx) = bounded(4);
    std::thread::Builder::new()
        .name("osprey-workloads".into())
        .spawn(move || loop {
            let ts = now_ns();
            // A full queue only delays attribution to the next poll.
            let _ = tx.try_send((ts, workload::snapshot()));
            let next = Instant::now() + WORKLOAD_POLL;
            while Instant::now() < next {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })?;
    Ok(rx)
}

/// Open and closed spans of the IP → workload map.
#[derive(Default)]
struct Spans {
    open: BTreeMap<String, WorkloadRow>,
    /// Closed since the last [`Spans::rows_until`] (or the run's start).
    closed: Vec<WorkloadRow>,
    polls: u64,
}

impl Spans {
    /// Folds in a snapshot taken at `ts`. The first snapshot's spans start
    /// at the run's start: it describes the network the capture opened on.
    fn update(&mut self, ts: i64, run_start_ns: i64, snap: Vec<WorkloadAddr>) {
        let first_ns = if self.polls == 0 { run_start_ns } else { ts };
        self.polls += 1;
        let mut now: BTreeMap<String, WorkloadAddr> = BTreeMap::new();
        for w in snap {
            now.entry(w.ip.to_string()).or_insert(w);
        }
        let gone: Vec<String> = self
            .open
            .keys()
            .filter(|ip| !now.contains_key(*ip))
            .cloned()
            .collect();
        for ip in gone {
            if let Some(s) = self.open.remove(&ip) {
                self.closed.push(s);
            }
        }
        for (ip, w) in now {
            let same = self
                .open
                .get(&ip)
                .is_some_and(|s| s.name == w.name && s.iface == w.iface && s.pod_uid == w.pod_uid);
            if same {
                if let Some(s) = self.open.get_mut(&ip) {
                    s.last_ns = ts;
                }
                continue;
            }
            if let Some(old) = self.open.remove(&ip) {
                self.closed.push(old);
            }
            self.open.insert(
                ip.clone(),
                WorkloadRow {
                    ip,
                    name: w.name,
                    namespace: w.namespace,
                    container: w.container,
                    pod_uid: w.pod_uid,
                    iface: w.iface,
                    first_ns,
                    last_ns: ts,
                },
            );
        }
    }

    /// The spans closed since the last call, and the open ones as if they
    /// ended at `now_ns`.
    fn rows_until(&mut self, now_ns: i64) -> LiveRows {
        LiveRows::Workloads {
            closed: std::mem::take(&mut self.closed),
            open: self
                .open
                .values()
                .map(|s| WorkloadRow {
                    last_ns: s.last_ns.max(now_ns),
                    ..s.clone()
                })
                .collect(),
        }
    }

    /// The spans not returned by [`Spans::rows_until`] yet, the ones still
    /// open extended to `end_ns`.
    fn close(mut self, end_ns: i64) -> Vec<WorkloadRow> {
        for (_, mut s) in std::mem::take(&mut self.open) {
            s.last_ns = s.last_ns.max(end_ns);
            self.closed.push(s);
        }
        self.closed
            .sort_by(|a, b| (&a.ip, a.first_ns).cmp(&(&b.ip, b.first_ns)));
        self.closed
    }
}

/// The sink's files as `captures` rows (`kind` `ring`), numbered after the
/// interfaces in the order the run first stored a frame in them.
#[derive(Default)]
struct SinkFiles {
    ids: HashMap<u64, u32>,
    rows: Vec<CaptureRow>,
}

impl SinkFiles {
    /// The capture id of sink file `file`, and its new row when the run
    /// had not stored in it before.
    fn row(&mut self, file: u64, sink: &dyn LiveSink, ifaces: usize) -> (u32, Option<CaptureRow>) {
        if let Some(&id) = self.ids.get(&file) {
            return (id, None);
        }
        let id = (ifaces + self.rows.len() + 1) as u32;
        let row = CaptureRow::new(id, sink.file_path(file).display().to_string(), "ring", None);
        self.ids.insert(file, id);
        self.rows.push(row.clone());
        (id, Some(row))
    }
}

/// Remembers recent frames by content to spot the second sighting of a
/// frame on another interface.
struct Dedup {
    on: bool,
    hasher: foldhash::fast::FixedState,
    /// Hash → (ts, source, packet number kept, when remembered).
    seen: HashMap<u64, (i64, u32, u64, Instant)>,
    /// Arrival order, to forget old hashes.
    order: VecDeque<(Instant, u64)>,
}

impl Dedup {
    fn new(on: bool) -> Self {
        Dedup {
            on,
            hasher: foldhash::fast::FixedState::with_seed(0x05f3_e7a1),
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The packet number of the earlier sighting when `frame` is one on
    /// another interface; otherwise remembers it as packet `pkt_no`.
    fn seen(&mut self, frame: &RawFrame, pkt_no: u64) -> Option<u64> {
        if !self.on {
            return None;
        }
        let now = Instant::now();
        while let Some(&(t, h)) = self.order.front() {
            if now.duration_since(t) < DEDUP_MEMORY {
                break;
            }
            self.order.pop_front();
            // Only if not remembered again since.
            if self.seen.get(&h).is_some_and(|e| e.3 == t) {
                self.seen.remove(&h);
            }
        }
        let h = self
            .hasher
            .hash_one((frame.orig_len, frame.data.as_slice()));
        if let Some(&(ts, src, kept, _)) = self.seen.get(&h) {
            if src != frame.source && (frame.ts_ns - ts).abs() <= DEDUP_WINDOW_NS {
                return Some(kept);
            }
        }
        self.seen
            .insert(h, (frame.ts_ns, frame.source, pkt_no, now));
        self.order.push_back((now, h));
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use osprey_capture::LinkType;

    fn frame(source: u32, ts_ns: i64, byte: u8) -> RawFrame {
        RawFrame {
            ts_ns,
            link_type: LinkType::ETHERNET,
            orig_len: 60,
            data: vec![byte; 60],
            source,
            interface: 0,
            data_offset: 0,
        }
    }

    #[test]
    fn a_frame_on_a_second_interface_is_a_duplicate_only_within_the_window() {
        let mut d = Dedup::new(true);
        assert_eq!(d.seen(&frame(0, 1_000, 1), 1), None);
        // Same bytes on the other veth 30 µs later: the same packet.
        assert_eq!(d.seen(&frame(1, 31_000, 1), 2), Some(1));
        // Same bytes again on the first interface: a new packet (a resend).
        assert_eq!(d.seen(&frame(0, 40_000, 1), 2), None);
        // Other bytes: new.
        assert_eq!(d.seen(&frame(1, 41_000, 2), 3), None);
        // Outside the window: new.
        assert_eq!(d.seen(&frame(1, 41_000 + DEDUP_WINDOW_NS + 1, 2), 4), None);
        // Off (one interface): never.
        let mut off = Dedup::new(false);
        assert_eq!(off.seen(&frame(0, 1, 1), 1), None);
        assert_eq!(off.seen(&frame(1, 2, 1), 2), None);
    }

    fn addr(ip: &str, name: &str) -> WorkloadAddr {
        WorkloadAddr {
            ip: ip.parse().unwrap(),
            name: name.into(),
            namespace: None,
            container: None,
            pod_uid: None,
            iface: format!("veth-{name}"),
        }
    }

    #[test]
    fn a_reused_ip_gets_a_new_span() {
        let mut s = Spans::default();
        s.update(
            100,
            50,
            vec![addr("10.0.0.5", "web-1"), addr("10.0.0.6", "db")],
        );
        s.update(
            200,
            50,
            vec![addr("10.0.0.5", "web-1"), addr("10.0.0.6", "db")],
        );
        // web-1 is gone, its IP now belongs to cart-7.
        s.update(
            300,
            50,
            vec![addr("10.0.0.5", "cart-7"), addr("10.0.0.6", "db")],
        );
        let got = |rows: &[WorkloadRow]| -> Vec<(String, String, i64, i64)> {
            rows.iter()
                .map(|r| (r.ip.clone(), r.name.clone(), r.first_ns, r.last_ns))
                .collect()
        };
        let row = |ip: &str, name: &str, first, last| (ip.into(), name.into(), first, last);
        // A live run's snapshot: the span that closed, then the open ones
        // so far.
        let LiveRows::Workloads { closed, open } = s.rows_until(350) else {
            unreachable!()
        };
        assert_eq!(got(&closed), vec![row("10.0.0.5", "web-1", 50, 200)]);
        assert_eq!(
            got(&open),
            vec![
                row("10.0.0.5", "cart-7", 300, 350),
                row("10.0.0.6", "db", 50, 350)
            ]
        );
        // The end: what the snapshot had not closed yet.
        assert_eq!(
            got(&s.close(400)),
            vec![
                row("10.0.0.5", "cart-7", 300, 400),
                row("10.0.0.6", "db", 50, 400),
            ]
        );
    }
}
