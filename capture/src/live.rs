//! Live capture: libpcap on several interfaces at once, one thread each,
//! all feeding one bounded channel of frame batches.
//!
//! Contract:
//! - Every interface is opened (and its BPF filter compiled) on the
//!   calling thread by [`LiveCapture::start`], so a missing interface, a
//!   missing privilege or a bad filter is an error before anything runs.
//! - libpcap runs in its default (not immediate) mode, which on Linux is a
//!   TPACKET_V3 memory-mapped ring: the kernel hands over blocks of frames,
//!   at the latest every [`LiveConfig::timeout_ms`]. Reads are non-blocking
//!   (an idle thread sleeps 2 ms), so the stop flag is always seen.
//!   Timestamps are asked for in nanoseconds.
//! - Capture never blocks on the consumer: a batch that does not fit the
//!   channel is dropped and counted ([`IfaceCounters::queue_drops`]), so a
//!   slow pipeline shows as Osprey's drops, never as kernel drops hidden
//!   behind it. The kernel's own counters (`pcap_stats`: ring full, and
//!   interface drops) are read every second and at the end.
//! - For every interface, once stopped: frames delivered by libpcap =
//!   frames sent on the channel + `queue_drops`, and the kernel saw
//!   delivered + `kernel_drops` frames. That is the sum rule the recorder
//!   is tested against.
//! - [`LiveCapture::stop`] asks the threads to end; each drains what the
//!   kernel holds (until nothing came for two block timeouts), sends its last batch
//!   (waiting at most a second for room), takes final statistics and
//!   closes. The channel disconnects when the last thread is gone.

use crate::frame::{LinkType, RawFrame};
use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Frames per batch sent to the pipeline.
const BATCH_FRAMES: usize = 256;
/// Longest a frame waits in a partial batch before it is sent.
const BATCH_WAIT: Duration = Duration::from_millis(20);
/// How often the kernel counters are read while running.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// Longest a stopping thread goes on reading a busy interface.
const STOP_LIMIT: Duration = Duration::from_secs(1);
/// Sleep between reads that find nothing.
const IDLE_SLEEP: Duration = Duration::from_millis(2);
/// Batches the channel holds per interface, and at least (a queue that
/// rides out the pipeline being descheduled for a while on a busy node).
const QUEUE_BATCHES_PER_IFACE: usize = 64;
const QUEUE_BATCHES_MIN: usize = 256;

/// How interfaces are opened.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Bytes kept of each frame.
    pub snaplen: u32,
    /// Promiscuous mode (needs CAP_NET_ADMIN; useless on a veth, whose
    /// peer only sends frames meant for the pod or the bridge).
    pub promisc: bool,
    /// BPF filter (tcpdump syntax), when any.
    pub filter: Option<String>,
    /// Kernel ring size per interface, in bytes.
    pub buffer_bytes: u32,
    /// Longest the kernel holds a partly filled block, in milliseconds.
    pub timeout_ms: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            snaplen: 262_144,
            promisc: false,
            filter: None,
            buffer_bytes: 32 << 20,
            timeout_ms: 20,
        }
    }
}

/// Why live capture could not start.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// libpcap refused to open or configure an interface.
    #[error("interface {iface}: {error}")]
    Pcap {
        /// Interface name.
        iface: String,
        /// libpcap's error (in the message, so not also a `source`).
        error: pcap::Error,
    },
    /// A value does not fit what libpcap takes.
    #[error("interface {iface}: {what}")]
    Config {
        /// Interface name.
        iface: String,
        /// What is wrong.
        what: String,
    },
    /// A capture thread could not be started.
    #[error("starting capture thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Counters of one interface, updated by its capture thread.
#[derive(Debug, Default)]
pub struct IfaceCounters {
    /// Frames libpcap delivered.
    pub delivered: AtomicU64,
    /// Captured bytes libpcap delivered.
    pub delivered_bytes: AtomicU64,
    /// Frames dropped because the pipeline's queue was full.
    pub queue_drops: AtomicU64,
    /// Frames the kernel saw (`ps_recv`: includes its drops).
    pub kernel_received: AtomicU64,
    /// Frames dropped because the kernel ring was full (`ps_drop`).
    pub kernel_drops: AtomicU64,
    /// Frames dropped by the interface or driver (`ps_ifdrop`).
    pub if_drops: AtomicU64,
}

/// A snapshot of an interface's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfaceStats {
    /// Frames libpcap delivered.
    pub delivered: u64,
    /// Captured bytes libpcap delivered.
    pub delivered_bytes: u64,
    /// Frames dropped on Osprey's queue.
    pub queue_drops: u64,
    /// Frames the kernel saw.
    pub kernel_received: u64,
    /// Kernel ring drops.
    pub kernel_drops: u64,
    /// Interface drops.
    pub if_drops: u64,
}

impl IfaceCounters {
    /// The current values.
    pub fn snapshot(&self) -> IfaceStats {
        IfaceStats {
            delivered: self.delivered.load(Ordering::Relaxed),
            delivered_bytes: self.delivered_bytes.load(Ordering::Relaxed),
            queue_drops: self.queue_drops.load(Ordering::Relaxed),
            kernel_received: self.kernel_received.load(Ordering::Relaxed),
            kernel_drops: self.kernel_drops.load(Ordering::Relaxed),
            if_drops: self.if_drops.load(Ordering::Relaxed),
        }
    }
}

/// One interface being captured.
#[derive(Debug, Clone)]
pub struct LiveIface {
    /// Interface name.
    pub name: String,
    /// Its link type.
    pub link_type: LinkType,
    /// Its counters.
    pub counters: Arc<IfaceCounters>,
}

/// Capture threads on several interfaces, feeding one channel.
///
/// Frames carry `source` = the interface's position in
/// [`LiveCapture::interfaces`].
pub struct LiveCapture {
    interfaces: Vec<LiveIface>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl LiveCapture {
    /// Opens every interface in `names` and starts capturing. Returns the
    /// capture and the channel its frame batches arrive on.
    pub fn start(
        names: &[String],
        cfg: &LiveConfig,
    ) -> Result<(LiveCapture, Receiver<Vec<RawFrame>>), LiveError> {
        let mut opened = Vec::with_capacity(names.len());
        for name in names {
            opened.push(open(name, cfg)?);
        }
        let depth = (QUEUE_BATCHES_PER_IFACE * names.len()).max(QUEUE_BATCHES_MIN);
        let (tx, rx) = bounded(depth);
        let stop = Arc::new(AtomicBool::new(false));
        let mut live = LiveCapture {
            interfaces: Vec::with_capacity(opened.len()),
            threads: Vec::with_capacity(opened.len()),
            stop: stop.clone(),
        };
        for (i, (name, cap)) in names.iter().zip(opened).enumerate() {
            let iface = LiveIface {
                name: name.clone(),
                link_type: LinkType(cap.get_datalink().0 as u32),
                counters: Arc::new(IfaceCounters::default()),
            };
            let worker = Worker {
                cap,
                source: i as u32,
                link_type: iface.link_type,
                counters: iface.counters.clone(),
                tx: tx.clone(),
                stop: stop.clone(),
                drain: Duration::from_millis(u64::from(cfg.timeout_ms.max(1)) * 2 + 10),
            };
            let thread = std::thread::Builder::new()
                .name(format!("osprey-cap-{name}"))
                .spawn(move || worker.run());
            match thread {
                Ok(t) => live.threads.push(t),
                Err(e) => {
                    live.stop();
                    return Err(e.into());
                }
            }
            live.interfaces.push(iface);
        }
        Ok((live, rx))
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

    /// Stops every thread and waits for them (see the module contract).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            // A panicked thread has nothing left to give; its counters
            // stay as they were.
            let _ = t.join();
        }
    }
}

impl Drop for LiveCapture {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open(name: &str, cfg: &LiveConfig) -> Result<pcap::Capture<pcap::Active>, LiveError> {
    let pcap_err = |error| LiveError::Pcap {
        iface: name.to_string(),
        error,
    };
    let int = |v: u32, what: &str| {
        i32::try_from(v).map_err(|_| LiveError::Config {
            iface: name.to_string(),
            what: format!("{what} {v} is too large"),
        })
    };
    let mut cap = pcap::Capture::from_device(name)
        .map_err(pcap_err)?
        .snaplen(int(cfg.snaplen, "snaplen")?)
        .promisc(cfg.promisc)
        .buffer_size(int(cfg.buffer_bytes, "buffer size")?)
        .timeout(int(cfg.timeout_ms.max(1), "timeout")?)
        .precision(pcap::Precision::Nano)
        .open()
        .map_err(pcap_err)?;
    if let Some(f) = &cfg.filter {
        cap.filter(f, true).map_err(pcap_err)?;
    }
    // Non-blocking: with TPACKET_V3 libpcap's poll() waits for the kernel
    // to retire a block, which an idle interface never does, so a blocking
    // read would never see the stop flag.
    cap.setnonblock().map_err(pcap_err)
}

struct Worker {
    cap: pcap::Capture<pcap::Active>,
    source: u32,
    link_type: LinkType,
    counters: Arc<IfaceCounters>,
    tx: Sender<Vec<RawFrame>>,
    stop: Arc<AtomicBool>,
    /// Quiet time after which a stopping thread has drained the kernel.
    drain: Duration,
}

impl Worker {
    fn run(mut self) {
        let mut batch: Vec<RawFrame> = Vec::with_capacity(BATCH_FRAMES);
        let mut batch_started = Instant::now();
        let mut last_stats = Instant::now();
        let mut idle_since: Option<Instant> = None;
        let mut stop_seen: Option<Instant> = None;
        loop {
            if stop_seen.is_none() && self.stop.load(Ordering::Relaxed) {
                stop_seen = Some(Instant::now());
            }
            // Traffic that never pauses still ends a stopping thread.
            if stop_seen.is_some_and(|t| t.elapsed() >= STOP_LIMIT) {
                break;
            }
            let stopping = stop_seen.is_some();
            let idle = match self.cap.next_packet() {
                Ok(p) => {
                    // time_t and suseconds_t are 32-bit on some targets.
                    #[allow(clippy::useless_conversion)]
                    let ts_ns = i64::from(p.header.ts.tv_sec)
                        .saturating_mul(1_000_000_000)
                        .saturating_add(i64::from(p.header.ts.tv_usec));
                    if batch.is_empty() {
                        batch_started = Instant::now();
                    }
                    self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                    self.counters
                        .delivered_bytes
                        .fetch_add(p.data.len() as u64, Ordering::Relaxed);
                    batch.push(RawFrame {
                        ts_ns,
                        link_type: self.link_type,
                        orig_len: p.header.len,
                        data: p.data.to_vec(),
                        source: self.source,
                        interface: 0,
                        data_offset: 0,
                    });
                    false
                }
                // Non-blocking read, nothing there.
                Err(pcap::Error::TimeoutExpired) => true,
                Err(e) => {
                    tracing::warn!(source = self.source, error = %e, "capture ended");
                    break;
                }
            };
            let full = batch.len() >= BATCH_FRAMES;
            let old = !batch.is_empty() && batch_started.elapsed() >= BATCH_WAIT;
            if full || old || (idle && !batch.is_empty()) {
                self.offer(&mut batch);
            }
            if last_stats.elapsed() >= STATS_EVERY {
                last_stats = Instant::now();
                self.read_stats();
            }
            if idle {
                let since = *idle_since.get_or_insert_with(Instant::now);
                // Stopping: the kernel is drained once nothing came for two
                // block timeouts (the last partly filled block is retired).
                if stopping && since.elapsed() >= self.drain {
                    break;
                }
                std::thread::sleep(IDLE_SLEEP);
            } else {
                idle_since = None;
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            match self.tx.send_timeout(batch, Duration::from_secs(1)) {
                Ok(()) => {}
                Err(SendTimeoutError::Timeout(_) | SendTimeoutError::Disconnected(_)) => {
                    self.counters.queue_drops.fetch_add(n, Ordering::Relaxed);
                }
            }
        }
        self.read_stats();
    }

    /// Hands the batch over, or drops and counts it if the queue is full.
    fn offer(&mut self, batch: &mut Vec<RawFrame>) {
        let full = std::mem::replace(batch, Vec::with_capacity(BATCH_FRAMES));
        match self.tx.try_send(full) {
            Ok(()) => {}
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => {
                self.counters
                    .queue_drops
                    .fetch_add(b.len() as u64, Ordering::Relaxed);
            }
        }
    }

    fn read_stats(&mut self) {
        match self.cap.stats() {
            Ok(s) => {
                // libpcap keeps 32-bit running totals; they wrap after 4G
                // frames, which a ring recorder can reach: widen them.
                widen(&self.counters.kernel_received, s.received);
                widen(&self.counters.kernel_drops, s.dropped);
                widen(&self.counters.if_drops, s.if_dropped);
            }
            Err(e) => tracing::debug!(error = %e, "pcap_stats"),
        }
    }
}

/// Stores a wrapping 32-bit total into a 64-bit counter that keeps
/// counting past the wrap.
fn widen(counter: &AtomicU64, now: u32) {
    let old = counter.load(Ordering::Relaxed);
    let low = old as u32;
    let mut high = old & !0xFFFF_FFFF;
    if now < low {
        high += 1 << 32;
    }
    counter.store(high | u64::from(now), Ordering::Relaxed);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn widened_counters_keep_counting_past_the_wrap() {
        let c = AtomicU64::new(0);
        widen(&c, 10);
        assert_eq!(c.load(Ordering::Relaxed), 10);
        widen(&c, u32::MAX);
        assert_eq!(c.load(Ordering::Relaxed), u64::from(u32::MAX));
        widen(&c, 5);
        assert_eq!(c.load(Ordering::Relaxed), (1u64 << 32) + 5);
        widen(&c, 7);
        assert_eq!(c.load(Ordering::Relaxed), (1u64 << 32) + 7);
    }

    #[test]
    fn a_missing_interface_is_an_error_before_any_thread_runs() {
        let e = LiveCapture::start(&["osprey-no-such-if0".to_string()], &LiveConfig::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("osprey-no-such-if0"), "{e}");
    }
}
