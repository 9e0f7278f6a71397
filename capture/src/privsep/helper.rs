//! The privileged side: `osprey capture-helper`.
//!
//! It drops every capability but the ones capture needs
//! ([`drop_capabilities`], before any thread exists, since capabilities
//! are per thread and threads inherit them), opens the interfaces with
//! [`LiveCapture`], and copies libpcap's bytes into records on its output
//! ([`serve`]). It decodes nothing.

use super::framing::{HelloIface, RecordWriter};
use crate::live::{LiveCapture, LiveConfig, LiveError};
pub use caps::Capability;
use caps::{CapSet, CapsHashSet};
use crossbeam_channel::RecvTimeoutError;
use std::io::{self, BufWriter, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the counters are sent while running.
const STATS_EVERY: Duration = Duration::from_secs(1);
/// Longest the loop waits for a batch before it looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);
/// Output buffer; flushed after every batch.
const OUT_BUF_BYTES: usize = 256 * 1024;

/// Why the helper stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Capture could not start (sent to the reader as an error record too).
    #[error(transparent)]
    Start(#[from] LiveError),
    /// Writing the stream failed (the reader went away: EPIPE).
    #[error("writing the capture stream: {0}")]
    Write(#[from] io::Error),
}

/// Drops every capability (effective, permitted, inheritable, ambient,
/// and the bounding set when the process may change it) but those of
/// `keep` the process holds. Call it before starting any thread. Returns
/// the capabilities kept.
pub fn drop_capabilities(keep: &[Capability]) -> Result<CapsHashSet, caps::errors::CapsError> {
    let permitted = caps::read(None, CapSet::Permitted)?;
    let kept: CapsHashSet = keep
        .iter()
        .copied()
        .filter(|c| permitted.contains(c))
        .collect();
    if permitted.contains(&Capability::CAP_SETPCAP) {
        for c in caps::runtime::thread_all_supported() {
            if !kept.contains(&c) {
                caps::drop(None, CapSet::Bounding, c)?;
            }
        }
    }
    if caps::runtime::ambient_set_supported().is_ok() {
        caps::clear(None, CapSet::Ambient)?;
    }
    caps::clear(None, CapSet::Inheritable)?;
    caps::set(None, CapSet::Effective, &kept)?;
    caps::set(None, CapSet::Permitted, &kept)?;
    Ok(kept)
}

/// Sets `stop` once `input` ends (the reader closed the helper's stdin,
/// or died), from a thread of its own.
pub fn stop_on_eof(mut input: impl Read + Send + 'static, stop: Arc<AtomicBool>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("osprey-helper-stdin".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            loop {
                match input.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
            stop.store(true, Ordering::SeqCst);
        })
        .map(drop)
}

/// Captures `names` and writes the record stream to `out` until `stop`
/// is set (then drains, as [`LiveCapture::stop`] does) or every capture
/// thread ended: hello, frames and stats every second, final stats, end.
/// A capture that cannot start is written as an error record.
pub fn serve(
    names: &[String],
    cfg: &LiveConfig,
    out: impl Write,
    stop: &AtomicBool,
) -> Result<(), ServeError> {
    let mut w = RecordWriter::new(BufWriter::with_capacity(OUT_BUF_BYTES, out));
    let (mut live, rx) = match LiveCapture::start(names, cfg) {
        Ok(x) => x,
        Err(e) => {
            // The reader may be gone already; the error is returned anyway.
            let _ = w.error(&e.to_string()).and_then(|()| w.flush());
            return Err(e.into());
        }
    };
    let hello: Vec<HelloIface> = live
        .interfaces()
        .iter()
        .map(|i| HelloIface {
            name: i.name.clone(),
            link_type: i.link_type,
            snaplen: cfg.snaplen,
        })
        .collect();
    w.hello(&hello)?;
    w.flush()?;
    let capture_stop = live.stop_flag();
    let mut last_stats = Instant::now();
    let pumped = (|| -> io::Result<()> {
        loop {
            if stop.load(Ordering::Relaxed) {
                // The capture threads drain and end; the channel then
                // disconnects.
                capture_stop.store(true, Ordering::SeqCst);
            }
            match rx.recv_timeout(POLL) {
                Ok(batch) => {
                    for f in &batch {
                        w.frame(f.source, f.ts_ns, f.orig_len, &f.data)?;
                    }
                    w.flush()?;
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            if last_stats.elapsed() >= STATS_EVERY {
                last_stats = Instant::now();
                write_stats(&mut w, &live)?;
                w.flush()?;
            }
        }
    })();
    // Joins the threads, which take their final kernel statistics.
    live.stop();
    pumped?;
    write_stats(&mut w, &live)?;
    w.end()?;
    w.flush()?;
    Ok(())
}

fn write_stats<W: Write>(w: &mut RecordWriter<W>, live: &LiveCapture) -> io::Result<()> {
    for (i, iface) in live.interfaces().iter().enumerate() {
        w.stats(i as u32, &iface.counters.snapshot())?;
    }
    Ok(())
}
