//! Live capture from the GUI: which interfaces there are (veths with the
//! pod or network namespace behind each), and a run of the live pipeline
//! on the chosen ones.
//!
//! A run is `osprey analyze --live` on a thread of its own: the capture's
//! frames go through `osprey_analysis::live::analyze_live` into a durable
//! case (readable while it is written). Between two batches, on that
//! thread, the case is re-read at most every [`LIVE_REFRESH`] and sent to
//! the UI as a `WorkerEvent::LiveUpdate`; reading there, never from another
//! thread, means no reader holds the case file when the run ends and
//! renames it. A full event queue drops the update (the next one carries
//! everything): the UI never waits for it, and it never waits for the UI.
//!
//! Where frames come from is a [`LiveBackend`]: [`SystemBackend`] opens
//! interfaces with [`start_capture`] (the one place to switch to another
//! capture process); tests give a fake one.

use crate::command::{CaseData, WorkerEvent};
use crossbeam_channel::{Receiver, Sender};
use osprey_analysis::live::{self as alive, LiveOptions, LiveSource, LiveSummary, RingSink};
use osprey_analysis::pipeline::{AnalyzeConfig, Progress};
use osprey_analysis::store::CaseReader;
use osprey_capture::live::LiveConfig;
use osprey_capture::privsep::HelperCapture;
use osprey_capture::ring::{Ring, RingConfig, RingIface};
use osprey_capture::{iface, workload, RawFrame};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Shortest time between two snapshots of a running case.
pub const LIVE_REFRESH: Duration = Duration::from_millis(250);

/// An interface the user can capture on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfaceRow {
    /// Interface name.
    pub name: String,
    /// Who is behind it: `namespace/pod`, the netns name, or processes.
    pub label: Option<String>,
    /// Kind (veth, bridge, physical, ...).
    pub kind: String,
    /// Link is up.
    pub up: bool,
}

/// A started capture.
pub struct Started {
    /// Frame batches, until every capture thread has ended.
    pub frames: Receiver<Vec<RawFrame>>,
    /// The interfaces, in the frames' `source` order.
    pub sources: Vec<LiveSource>,
    /// The same, as the pcapng ring the frames are kept in describes them.
    pub ring_ifaces: Vec<RingIface>,
    /// Set to stop the capture.
    pub stop: Arc<AtomicBool>,
    /// Keeps the capture alive; ended after the run.
    pub guard: Box<dyn CaptureGuard>,
}

/// What keeps a capture running, ended once the pipeline is done with it.
pub trait CaptureGuard: Send {
    /// Stops the capture and waits for it; why it failed, if it did.
    fn end(self: Box<Self>) -> Result<(), String>;
}

impl CaptureGuard for HelperCapture {
    fn end(mut self: Box<Self>) -> Result<(), String> {
        self.stop();
        match self.error() {
            Some(e) => Err(format!(
                "{e}: capture stopped early; every frame read before is kept"
            )),
            None => Ok(()),
        }
    }
}

impl CaptureGuard for JoinHandle<()> {
    fn end(self: Box<Self>) -> Result<(), String> {
        self.join()
            .map_err(|_| "the capture thread panicked".to_string())
    }
}

/// Where the GUI's interfaces and frames come from.
pub trait LiveBackend: Send + Sync {
    /// The interfaces, sorted by name.
    fn interfaces(&self) -> Result<Vec<IfaceRow>, String>;
    /// Starts capturing on `ifaces`.
    fn start(&self, ifaces: &[IfaceRow]) -> Result<Started, String>;
}

/// This machine's interfaces, captured with libpcap.
pub struct SystemBackend;

impl LiveBackend for SystemBackend {
    fn interfaces(&self) -> Result<Vec<IfaceRow>, String> {
        let mut rows: Vec<IfaceRow> = iface::discover()
            .map_err(|e| format!("listing interfaces: {e}"))?
            .iter()
            .map(|i| IfaceRow {
                name: i.name.clone(),
                label: workload::label(i),
                kind: format!("{:?}", i.kind).to_lowercase(),
                up: i.up,
            })
            .collect();
        rows.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(rows)
    }

    fn start(&self, ifaces: &[IfaceRow]) -> Result<Started, String> {
        start_capture(ifaces, &LiveConfig::default())
    }
}

/// Opens `ifaces` for capture through the privilege-split capture helper
/// (`osprey capture-helper`, the only process that needs `CAP_NET_RAW`;
/// `$OSPREY_CAPTURE_HELPER` names it, else this executable).
pub fn start_capture(ifaces: &[IfaceRow], cfg: &LiveConfig) -> Result<Started, String> {
    let names: Vec<String> = ifaces.iter().map(|i| i.name.clone()).collect();
    let (capture, frames) = HelperCapture::start(&names, cfg).map_err(|e| e.to_string())?;
    let sources = capture
        .interfaces()
        .iter()
        .zip(ifaces)
        .map(|(c, row)| LiveSource {
            name: c.name.clone(),
            label: row.label.clone(),
            counters: c.counters.clone(),
        })
        .collect();
    let ring_ifaces = capture
        .interfaces()
        .iter()
        .zip(ifaces)
        .map(|(c, row)| RingIface::of(c, row.label.clone(), cfg.snaplen))
        .collect();
    Ok(Started {
        frames,
        sources,
        ring_ifaces,
        stop: capture.stop_flag(),
        guard: Box::new(capture),
    })
}

/// Where a live run keeps its frames, inside the case directory.
pub const FRAMES_DIR: &str = "frames";
/// Size of one ring file of a live run's frames.
const RING_FILE_BYTES: u64 = 100 << 20;
/// Ring files kept (the oldest go: 2 GB of frames at most).
const RING_FILES: u32 = 20;

/// A live run in progress.
pub struct LiveRun {
    /// Where its case goes.
    pub case_dir: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<LiveSummary, String>>>,
}

impl LiveRun {
    /// Starts capturing on `ifaces` with `backend` and analysing into
    /// `case_dir`; snapshots go to `tx`, each followed by `wake`.
    pub fn spawn(
        backend: &dyn LiveBackend,
        ifaces: &[IfaceRow],
        case_dir: &Path,
        tx: Sender<WorkerEvent>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<LiveRun, String> {
        if ifaces.is_empty() {
            return Err("choose at least one interface".into());
        }
        let started = backend.start(ifaces)?;
        let stop = started.stop.clone();
        let dir = case_dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("osprey-gui-live".into())
            .spawn(move || run(started, &dir, &tx, &*wake));
        match thread {
            Ok(t) => Ok(LiveRun {
                case_dir: case_dir.to_path_buf(),
                stop,
                thread: Some(t),
            }),
            Err(e) => {
                stop.store(true, Ordering::SeqCst);
                Err(format!("cannot start the live thread: {e}"))
            }
        }
    }

    /// Stops the capture and waits for the case to be finished.
    pub fn stop(mut self) -> Result<LiveSummary, String> {
        self.stop.store(true, Ordering::SeqCst);
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err("the live analysis thread panicked".into()),
            None => Err("the live run was already stopped".into()),
        }
    }
}

impl Drop for LiveRun {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The run's thread: the live pipeline, with snapshots between batches.
fn run(
    started: Started,
    case_dir: &Path,
    tx: &Sender<WorkerEvent>,
    wake: &(dyn Fn() + Send + Sync),
) -> Result<LiveSummary, String> {
    let Started {
        frames,
        sources,
        ring_ifaces,
        stop,
        guard,
    } = started;
    // Every frame is kept in a pcapng ring inside the case directory, and
    // the case's packet index points there: drill-down and export read
    // the frames back from it.
    let ring = Ring::open(RingConfig {
        dir: case_dir.join(FRAMES_DIR),
        file_bytes: RING_FILE_BYTES,
        files: RING_FILES,
        interfaces: ring_ifaces,
    });
    let mut sink = match ring {
        Ok((ring, _)) => RingSink::new(ring),
        Err(e) => {
            stop.store(true, Ordering::SeqCst);
            let _ = guard.end();
            return Err(format!("cannot keep the frames: {e}"));
        }
    };
    let mut last: Option<Instant> = None;
    let mut progress = |p: &Progress| {
        if last.is_some_and(|t| t.elapsed() < LIVE_REFRESH) {
            return;
        }
        last = Some(Instant::now());
        match snapshot(case_dir) {
            Ok(case) => {
                // The next snapshot carries everything this one had.
                let _ = tx.try_send(WorkerEvent::LiveUpdate {
                    case: Arc::new(case),
                    packets: p.packets,
                });
                wake();
            }
            Err(e) => tracing::debug!("reading the running case: {e}"),
        }
    };
    let result = alive::analyze_live(
        frames,
        &sources,
        &stop,
        LiveOptions {
            attribute: true,
            durable: true,
        },
        case_dir,
        &AnalyzeConfig::default(),
        &mut sink,
        &mut progress,
    );
    let ended = guard.end();
    let result = result.map_err(|e| format!("live analysis: {e}"));
    // A capture that failed midway still leaves a finished case of what it
    // read; the failure is shown.
    if let Some(e) = result.as_ref().err().or(ended.as_ref().err()) {
        let _ = tx.try_send(WorkerEvent::LiveFailed(e.clone()));
        wake();
    }
    result
}

/// What the running case holds so far.
fn snapshot(case_dir: &Path) -> Result<CaseData, String> {
    let case = CaseReader::open_running(case_dir).map_err(|e| e.to_string())?;
    CaseData::read(&case, case_dir.to_path_buf())
}
