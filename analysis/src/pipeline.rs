//! The offline pipeline: files → decode → flows/reassembly → case store.
//!
//! Threads (each owns its state; bounded channels between them):
//! 1. `osprey-reader` merges the inputs in timestamp order and sends frame
//!    batches. Files block on a full channel, so no frame is ever dropped.
//! 2. The calling thread runs the [`crate::engine`]: it decodes and
//!    defragments, and tracks flows, reassembles streams and identifies
//!    protocols itself, or with `--workers N` hands that to N flow threads
//!    (`osprey-flows-*`) whose results a merge thread (`osprey-merge`)
//!    replays in frame order. Flow ids and every row are the same from run
//!    to run and whatever the number of workers.
//! 3. `osprey-detect` ([`crate::stage`]) runs detection over the facts the
//!    engine hands it, in the engine's order, and forwards the engine's
//!    store messages with the alerts in place (absent with `--no-detect`).
//! 4. `osprey-store` owns SQLite and the EVE writer and writes in batches.

use crate::decode::DefragConfig;
use crate::detect::{RuleError, RuleSet};
use crate::engine::Engine;
use crate::flow::{FlowConfig, FlowStats};
use crate::store::{CaptureRow, StoreError, StoreMsg, StoreWriter};
use crossbeam_channel::{bounded, Receiver, Sender};
use osprey_capture::file::FileSource;
use osprey_capture::merge::MergedSource;
use osprey_capture::{CaptureError, FrameSource, RawFrame};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Frames per reader batch.
const FRAME_BATCH: usize = 512;

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
    /// Flow workers (0 or 1: flows are tracked on the engine's thread).
    /// With `N` > 1, packets go to `N` flow tables on their own threads by
    /// a hash of their outermost address pair, and their results are
    /// merged back in frame order ([`crate::engine`]): flow ids, case rows,
    /// alerts and EVE lines are the same as with one worker. Two
    /// exceptions: the flow-table budgets are split evenly among the
    /// workers, so once a budget bites (eviction, shedding, emergency
    /// mode; the `counter.*` rows say so) the results can differ; and an
    /// FTP data connection announced for a third address (neither end of
    /// the control connection) is linked to its control connection only
    /// when both pairs land in the same worker. Live capture uses one.
    pub workers: usize,
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
    /// Packets each flow worker got (empty with one worker).
    pub worker_packets: Vec<u64>,
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
        let path_text = std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.clone())
            .display()
            .to_string();
        captures.push(CaptureRow::new(i as u32 + 1, path_text, "file", size));
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
    let mut engine = Engine::new(cfg, cfg.workers, rules, store_tx).map_err(StoreError::Io)?;
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
                    captures[frame.source as usize].count(frame);
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
    let stats = engine.flow_stats();
    let (anomalies, flows_by_proto, alert_counts) = engine.take_counts();
    let packets = engine.pkt_no;
    let failed = engine.failed;
    summary.worker_packets = std::mem::take(&mut engine.worker_packets);
    drop(engine);
    let store = store_thread
        .join()
        .map_err(|_| AnalyzeError::Worker("store"))?;
    let store = match (store, fatal, reader_ok) {
        (Ok(s), None, true) if !cancelled && failed.is_none() => s,
        (Ok(s), fatal, _) => {
            s.abandon();
            if cancelled {
                return Err(AnalyzeError::Cancelled);
            }
            if let Some(who) = failed {
                return Err(AnalyzeError::Worker(who));
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
