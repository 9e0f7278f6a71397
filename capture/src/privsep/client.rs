//! The unprivileged side: [`HelperCapture`] runs `osprey capture-helper`
//! and turns its record stream back into frame batches, with the same
//! shape as [`LiveCapture`](crate::live::LiveCapture).

use super::framing::{FramingError, HelloIface, Record, RecordReader};
use crate::frame::{LinkType, RawFrame};
use crate::live::{IfaceCounters, IfaceStats, LiveConfig, LiveIface};
use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Environment variable naming the helper binary (default: this
/// executable), e.g. a copy with `setcap cap_net_raw+ep`.
pub const HELPER_ENV: &str = "OSPREY_CAPTURE_HELPER";
/// The helper's subcommand.
pub const HELPER_COMMAND: &str = "capture-helper";
/// Frames per batch sent to the pipeline (as `LiveCapture`).
const BATCH_FRAMES: usize = 256;
/// Queue depth, as `LiveCapture`.
const QUEUE_BATCHES_PER_IFACE: usize = 64;
const QUEUE_BATCHES_MIN: usize = 256;
/// How long a stopping helper may take to drain before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How often the supervisor looks at the stop flag and the child.
const SUPERVISE_EVERY: Duration = Duration::from_millis(20);

/// Why helper capture failed, at start or while running.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    /// The helper could not be run.
    #[error("running the capture helper {}: {source}", .path.display())]
    Spawn {
        /// The helper binary.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The helper reported an error (it cannot open an interface, lacks
    /// the privilege, or capture failed).
    #[error("capture helper: {0}")]
    Helper(String),
    /// The helper's stream broke the framing rules.
    #[error("capture helper sent a bad stream: {0}")]
    Stream(#[from] FramingError),
    /// The helper's stream ended without an end record.
    #[error("capture helper ended without finishing its stream ({status})")]
    Died {
        /// How it ended (`signal: 9 (SIGKILL)`, `exit status: 1`, …).
        status: String,
    },
    /// The helper announced other interfaces than asked for.
    #[error("capture helper announced interfaces {got:?}, asked for {want:?}")]
    Mismatch {
        /// Asked for.
        want: Vec<String>,
        /// Announced.
        got: Vec<String>,
    },
    /// A thread could not be started.
    #[error("starting a capture thread: {0}")]
    Thread(std::io::Error),
}

/// The helper binary: `$OSPREY_CAPTURE_HELPER`, else this executable.
pub fn helper_path() -> std::io::Result<PathBuf> {
    match std::env::var_os(HELPER_ENV) {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => std::env::current_exe(),
    }
}

/// The helper's command line after the binary: `capture-helper` and the
/// options that carry `names` and `cfg`.
pub fn helper_args(names: &[String], cfg: &LiveConfig) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![HELPER_COMMAND.into()];
    // `--opt=value`: a value starting with `-` stays a value.
    for n in names {
        let mut arg = OsString::from("--interface=");
        arg.push(n);
        a.push(arg);
    }
    a.push(format!("--snaplen={}", cfg.snaplen).into());
    a.push(format!("--buffer-bytes={}", cfg.buffer_bytes).into());
    a.push(format!("--timeout-ms={}", cfg.timeout_ms).into());
    if cfg.promisc {
        a.push("--promisc".into());
    }
    if let Some(f) = &cfg.filter {
        let mut arg = OsString::from("--filter=");
        arg.push(f);
        a.push(arg);
    }
    a
}

/// Live capture through the capture helper: the same methods as
/// [`LiveCapture`](crate::live::LiveCapture), plus [`HelperCapture::error`].
///
/// Frames carry `source` = the interface's position in
/// [`HelperCapture::interfaces`]. Counters: `delivered`, the kernel's
/// counters and the helper's own queue drops come from the helper's stats
/// records (every second and at the end); this side's queue drops are
/// added to `queue_drops`. So once stopped, for every interface: frames
/// delivered by libpcap = frames sent on the channel + `queue_drops`, the
/// same sum rule as in-process capture.
///
/// Stopping (the stop flag, or [`HelperCapture::stop`]) closes the
/// helper's stdin: it drains, sends its final counters and an end record,
/// and exits; one that takes longer than 5 s is killed. A helper that
/// dies or sends a bad stream ends the channel early (every frame before
/// the damage is delivered), sets the stop flag, and its cause is
/// [`HelperCapture::error`].
pub struct HelperCapture {
    interfaces: Vec<LiveIface>,
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<Outcome>>,
    supervisor: Option<JoinHandle<Option<ExitStatus>>>,
    error: Option<HelperError>,
}

/// How the stream ended.
enum Outcome {
    /// With an end record.
    Clean,
    /// At EOF between records, without an end record.
    NoEnd,
    /// With an error record.
    Helper(String),
    /// With a framing error.
    Stream(FramingError),
}

impl HelperCapture {
    /// Runs the helper ([`helper_path`]) on every interface in `names` and
    /// waits for its hello. Returns the capture and the channel its frame
    /// batches arrive on.
    pub fn start(
        names: &[String],
        cfg: &LiveConfig,
    ) -> Result<(HelperCapture, Receiver<Vec<RawFrame>>), HelperError> {
        let path = helper_path().map_err(|source| HelperError::Spawn {
            path: PathBuf::from(HELPER_COMMAND),
            source,
        })?;
        HelperCapture::start_with(&path, names, cfg)
    }

    /// As [`HelperCapture::start`], with the helper binary `path`.
    pub fn start_with(
        path: &Path,
        names: &[String],
        cfg: &LiveConfig,
    ) -> Result<(HelperCapture, Receiver<Vec<RawFrame>>), HelperError> {
        let mut child = Command::new(path)
            .args(helper_args(names, cfg))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|source| HelperError::Spawn {
                path: path.to_path_buf(),
                source,
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            end_child(&mut child);
            return Err(HelperError::Thread(std::io::Error::other(
                "the helper's pipes are missing",
            )));
        };
        let mut reader = RecordReader::new(stdout);
        let hello = match reader.next_record() {
            Ok(Some(Record::Hello(h))) => h,
            other => {
                drop(stdin);
                drop(reader);
                let status = end_child(&mut child);
                return Err(match other {
                    Ok(Some(Record::Error(m))) => HelperError::Helper(m),
                    Err(e) => HelperError::Stream(e),
                    _ => HelperError::Died { status },
                });
            }
        };
        let got: Vec<String> = hello.iter().map(|h| h.name.clone()).collect();
        if got != names {
            drop(stdin);
            end_child(&mut child);
            return Err(HelperError::Mismatch {
                want: names.to_vec(),
                got,
            });
        }
        let interfaces: Vec<LiveIface> = hello
            .iter()
            .map(|h: &HelloIface| LiveIface {
                name: h.name.clone(),
                link_type: h.link_type,
                counters: Arc::new(IfaceCounters::default()),
            })
            .collect();
        let depth = (QUEUE_BATCHES_PER_IFACE * names.len()).max(QUEUE_BATCHES_MIN);
        let (tx, rx) = bounded(depth);
        let stop = Arc::new(AtomicBool::new(false));
        let supervisor = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("osprey-helper-wait".into())
                .spawn(move || supervise(child, stdin, &stop))
                .map_err(HelperError::Thread)?
        };
        let mut capture = HelperCapture {
            interfaces,
            stop: stop.clone(),
            reader: None,
            supervisor: Some(supervisor),
            error: None,
        };
        let pump = Pump {
            tx,
            link_types: hello.iter().map(|h| h.link_type).collect(),
            counters: capture
                .interfaces
                .iter()
                .map(|i| i.counters.clone())
                .collect(),
            helper_queue_drops: vec![0; names.len()],
            own_queue_drops: vec![0; names.len()],
            stop,
        };
        match std::thread::Builder::new()
            .name("osprey-helper-read".into())
            .spawn(move || pump.run(reader))
        {
            Ok(t) => capture.reader = Some(t),
            Err(e) => {
                capture.stop();
                return Err(HelperError::Thread(e));
            }
        }
        Ok((capture, rx))
    }

    /// The interfaces, in source order.
    pub fn interfaces(&self) -> &[LiveIface] {
        &self.interfaces
    }

    /// A handle that stops the capture when set (e.g. from a signal
    /// handler or a timer).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Stops the helper and waits for it and the reading thread.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let status = self.supervisor.take().and_then(|t| t.join().ok()).flatten();
        let Some(reader) = self.reader.take() else {
            return;
        };
        let status = status.map_or_else(|| "status unknown".to_string(), |s| s.to_string());
        self.error = match reader.join() {
            Ok(Outcome::Clean) => None,
            Ok(Outcome::NoEnd) => Some(HelperError::Died { status }),
            Ok(Outcome::Helper(m)) => Some(HelperError::Helper(m)),
            Ok(Outcome::Stream(e)) => Some(HelperError::Stream(e)),
            Err(_) => Some(HelperError::Died {
                status: "the reading thread panicked".into(),
            }),
        };
    }

    /// Why the capture ended early, once [`HelperCapture::stop`] has run
    /// (`None` for a clean end).
    pub fn error(&self) -> Option<&HelperError> {
        self.error.as_ref()
    }
}

impl Drop for HelperCapture {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Ends a helper that failed to start, and says how it ended.
fn end_child(child: &mut Child) -> String {
    let t0 = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return s.to_string(),
            Ok(None) if t0.elapsed() < STOP_GRACE => std::thread::sleep(SUPERVISE_EVERY),
            Ok(None) => {
                let _ = child.kill();
                return child
                    .wait()
                    .map_or_else(|e| e.to_string(), |s| s.to_string());
            }
            Err(e) => return e.to_string(),
        }
    }
}

/// Waits for the helper; once `stop` is set, closes its stdin (its signal
/// to drain and end) and kills it after [`STOP_GRACE`].
fn supervise(mut child: Child, stdin: ChildStdin, stop: &AtomicBool) -> Option<ExitStatus> {
    let mut stdin = Some(stdin);
    let mut stopping_since: Option<Instant> = None;
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, "waiting for the capture helper");
                return None;
            }
        }
        if stop.load(Ordering::Relaxed) {
            drop(stdin.take());
            let since = *stopping_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= STOP_GRACE {
                tracing::warn!("the capture helper did not stop in time: killing it");
                let _ = child.kill();
                return child.wait().ok();
            }
        }
        std::thread::sleep(SUPERVISE_EVERY);
    }
}

/// The reading thread: records → batches, stats → counters.
struct Pump {
    tx: Sender<Vec<RawFrame>>,
    link_types: Vec<LinkType>,
    counters: Vec<Arc<IfaceCounters>>,
    /// The helper's own queue drops, from its last stats record.
    helper_queue_drops: Vec<u64>,
    /// Frames dropped here because the pipeline's queue was full.
    own_queue_drops: Vec<u64>,
    stop: Arc<AtomicBool>,
}

impl Pump {
    fn run(mut self, mut reader: RecordReader) -> Outcome {
        let mut batch: Vec<RawFrame> = Vec::with_capacity(BATCH_FRAMES);
        let outcome = loop {
            // Hand a partial batch over before a read that may block.
            if batch.len() >= BATCH_FRAMES || (!batch.is_empty() && reader.buffered() == 0) {
                self.offer(&mut batch);
            }
            match reader.next_record() {
                Ok(Some(Record::Frame(f))) => {
                    let link_type = self
                        .link_types
                        .get(f.iface as usize)
                        .copied()
                        .unwrap_or(LinkType(0));
                    batch.push(RawFrame {
                        ts_ns: f.ts_ns,
                        link_type,
                        orig_len: f.orig_len,
                        data: f.data,
                        source: f.iface,
                        interface: 0,
                        data_offset: 0,
                    });
                }
                Ok(Some(Record::Stats { iface, stats })) => self.apply(iface as usize, &stats),
                Ok(Some(Record::End)) => break Outcome::Clean,
                Ok(Some(Record::Error(m))) => break Outcome::Helper(m),
                // The reader refuses a second hello, so only EOF is here.
                Ok(Some(Record::Hello(_)) | None) => break Outcome::NoEnd,
                Err(e) => break Outcome::Stream(e),
            }
        };
        if !matches!(outcome, Outcome::Clean) {
            self.stop.store(true, Ordering::SeqCst);
        }
        // Closes the helper's stdout: a helper still writing gets EPIPE.
        drop(reader);
        if !batch.is_empty() {
            match self.tx.send_timeout(batch, Duration::from_secs(1)) {
                Ok(()) => {}
                Err(SendTimeoutError::Timeout(b) | SendTimeoutError::Disconnected(b)) => {
                    count_drops(&b, &mut self.own_queue_drops);
                    for i in 0..self.counters.len() {
                        self.publish_queue_drops(i);
                    }
                }
            }
        }
        outcome
    }

    /// Hands the batch over, or drops and counts it if the queue is full.
    fn offer(&mut self, batch: &mut Vec<RawFrame>) {
        let full = std::mem::replace(batch, Vec::with_capacity(BATCH_FRAMES));
        match self.tx.try_send(full) {
            Ok(()) => {}
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => {
                count_drops(&b, &mut self.own_queue_drops);
                for i in 0..self.counters.len() {
                    self.publish_queue_drops(i);
                }
            }
        }
    }

    fn apply(&mut self, i: usize, s: &IfaceStats) {
        let Some(c) = self.counters.get(i) else {
            return;
        };
        c.delivered.store(s.delivered, Ordering::Relaxed);
        c.delivered_bytes
            .store(s.delivered_bytes, Ordering::Relaxed);
        c.kernel_received
            .store(s.kernel_received, Ordering::Relaxed);
        c.kernel_drops.store(s.kernel_drops, Ordering::Relaxed);
        c.if_drops.store(s.if_drops, Ordering::Relaxed);
        if let Some(q) = self.helper_queue_drops.get_mut(i) {
            *q = s.queue_drops;
        }
        self.publish_queue_drops(i);
    }

    fn publish_queue_drops(&self, i: usize) {
        let helper = self.helper_queue_drops.get(i).copied().unwrap_or(0);
        let own = self.own_queue_drops.get(i).copied().unwrap_or(0);
        if let Some(c) = self.counters.get(i) {
            c.queue_drops
                .store(helper.saturating_add(own), Ordering::Relaxed);
        }
    }
}

fn count_drops(batch: &[RawFrame], drops: &mut [u64]) {
    for f in batch {
        if let Some(d) = drops.get_mut(f.source as usize) {
            *d += 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn start_err(path: &str) -> HelperError {
        HelperCapture::start_with(Path::new(path), &["lo".into()], &LiveConfig::default())
            .err()
            .unwrap()
    }

    #[test]
    fn a_helper_that_cannot_run_or_says_nothing_is_a_clear_error() {
        let e = start_err("/nonexistent/osprey-helper");
        assert!(matches!(e, HelperError::Spawn { .. }), "{e}");
        assert!(e.to_string().contains("/nonexistent/osprey-helper"), "{e}");
        // Exits 1 without a hello.
        let e = start_err("/bin/false");
        assert!(matches!(e, HelperError::Died { .. }), "{e}");
        assert!(e.to_string().contains("exit status: 1"), "{e}");
    }

    #[test]
    fn a_helper_capture_moves_to_another_thread() {
        fn send<T: Send>() {}
        send::<HelperCapture>();
    }
}
