//! `osprey analyze --live`: the analysis pipeline on live interfaces, and
//! the pieces `osprey record` shares with it (interface patterns, sizes,
//! durations, signals, the capture summary).

use anyhow::{bail, Context, Result};
use osprey_analysis::live::{self as alive, LiveSink, LiveSource, LiveSummary, NoSink};
use osprey_analysis::pipeline::AnalyzeConfig;
use osprey_capture::iface;
use osprey_capture::live::{LiveConfig, LiveIface};
use osprey_capture::privsep::HelperCapture;
use osprey_capture::workload;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options both live commands take.
pub struct LiveOpts {
    /// Interface names or glob patterns (`veth*`).
    pub patterns: Vec<String>,
    /// BPF filter.
    pub filter: Option<String>,
    /// Snap length.
    pub snaplen: u32,
    /// Promiscuous mode.
    pub promisc: bool,
    /// Kernel buffer per interface, in bytes.
    pub buffer_bytes: u32,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Read who holds which IP (pods, namespaces) while capturing.
    pub attribute: bool,
}

/// Interfaces matching the patterns, with who is behind each.
pub fn resolve(patterns: &[String]) -> Result<Vec<(String, Option<String>)>> {
    if patterns.is_empty() {
        bail!("no interface to capture: give one or more -i IFACE");
    }
    let known = iface::discover().context("listing interfaces")?;
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for p in patterns {
        let wild = p.contains(['*', '?']);
        let mut hit = false;
        for i in &known {
            if (wild && glob(p, &i.name)) || (!wild && *p == i.name) {
                hit = true;
                if !out.iter().any(|(n, _)| *n == i.name) {
                    out.push((i.name.clone(), workload::label(i)));
                }
            }
        }
        if !hit && !wild {
            // Not listed (e.g. `any`): libpcap decides.
            out.push((p.clone(), None));
        } else if !hit {
            bail!("no interface matches {p:?}");
        }
    }
    Ok(out)
}

/// `*` and `?` wildcards.
fn glob(pat: &str, name: &str) -> bool {
    fn m(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], n) || (!n.is_empty() && m(p, &n[1..])),
            (Some(b'?'), Some(_)) => m(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &n[1..]),
            _ => false,
        }
    }
    m(pat.as_bytes(), name.as_bytes())
}

/// `100MiB`, `10MB`, `512k`, `4096`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad size {s:?}"))?;
    let mult: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(format!("bad size unit in {s:?}")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// `500ms`, `30s`, `10m`, `1h`, `45` (seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("bad duration {s:?}"))?;
    Ok(match unit {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("bad duration unit in {s:?}")),
    })
}

/// Sets `stop` on SIGINT/SIGTERM, and after `duration`.
fn arm_stop(stop: &Arc<AtomicBool>, duration: Option<Duration>) -> Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handler")?;
    }
    if let Some(d) = duration {
        let stop = stop.clone();
        let deadline = Instant::now() + d;
        std::thread::Builder::new()
            .name("osprey-timer".into())
            .spawn(move || {
                while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                stop.store(true, Ordering::SeqCst);
            })
            .context("starting timer")?;
    }
    Ok(())
}

/// Opens the interfaces, runs the live pipeline into `case_dir` with
/// `make_sink` given the capture's interfaces, and returns the summary.
pub fn run<S: LiveSink>(
    opts: &LiveOpts,
    case_dir: &Path,
    cfg: &AnalyzeConfig,
    make_sink: impl FnOnce(&[(String, Option<String>)], &[LiveIface], &LiveConfig) -> Result<S>,
) -> Result<(Result<LiveSummary>, S)> {
    let ifaces = resolve(&opts.patterns)?;
    let live_cfg = LiveConfig {
        snaplen: opts.snaplen,
        promisc: opts.promisc,
        filter: opts.filter.clone(),
        buffer_bytes: opts.buffer_bytes,
        ..LiveConfig::default()
    };
    let names: Vec<String> = ifaces.iter().map(|(n, _)| n.clone()).collect();
    let (capture, rx) = HelperCapture::start(&names, &live_cfg)?;
    let stop = capture.stop_flag();
    let sink = match make_sink(&ifaces, capture.interfaces(), &live_cfg) {
        Ok(s) => s,
        Err(e) => {
            stop.store(true, Ordering::SeqCst);
            return Err(e);
        }
    };
    arm_stop(&stop, opts.duration)?;
    let sources: Vec<LiveSource> = capture
        .interfaces()
        .iter()
        .zip(&ifaces)
        .map(|(c, (_, label))| LiveSource {
            name: c.name.clone(),
            label: label.clone(),
            counters: c.counters.clone(),
        })
        .collect();
    eprintln!(
        "osprey: capturing on {} (SIGINT/SIGTERM to stop)",
        ifaces
            .iter()
            .map(|(n, l)| l.as_ref().map_or(n.clone(), |l| format!("{n} ({l})")))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut sink = StopsCapture { sink, capture };
    let summary = alive::analyze_live(
        rx,
        &sources,
        &stop,
        alive::LiveOptions {
            attribute: opts.attribute,
            // Readable while capturing, and kept when the process is killed.
            durable: true,
        },
        case_dir,
        cfg,
        &mut sink,
        &mut |_| {},
    );
    let StopsCapture { sink, mut capture } = sink;
    capture.stop();
    let summary = match capture.error() {
        // What was captured before is in the case (and the sink).
        Some(e) => Err(anyhow::anyhow!(
            "{e}: capture stopped early; every frame read before is kept"
        )),
        None => summary.map_err(anyhow::Error::from),
    };
    Ok((summary, sink))
}

/// The sink, and the capture it stops once the frames have ended: a
/// helper that died or sent garbage is then the sink's error, so the
/// case's captures are marked `stopped` with the reason.
struct StopsCapture<S> {
    sink: S,
    capture: HelperCapture,
}

impl<S: LiveSink> LiveSink for StopsCapture<S> {
    fn frames(
        &mut self,
        frames: &[osprey_capture::RawFrame],
        stored: &mut Vec<Option<osprey_capture::ring::Stored>>,
    ) -> Result<(), String> {
        self.sink.frames(frames, stored)
    }

    fn file_path(&self, file: u64) -> std::path::PathBuf {
        self.sink.file_path(file)
    }

    fn idle(&mut self) -> Result<(), String> {
        self.sink.idle()
    }

    fn finish(&mut self) -> Result<(), String> {
        let r = self.sink.finish();
        self.capture.stop();
        match self.capture.error() {
            Some(e) => r.and(Err(e.to_string())),
            None => r,
        }
    }
}

/// `osprey analyze --live`.
pub fn analyze(
    opts: &LiveOpts,
    case_dir: &Path,
    mut cfg: AnalyzeConfig,
    rules: Option<&Path>,
) -> Result<()> {
    if let Some(path) = rules {
        cfg.rules = Some(osprey_analysis::detect::RuleSet::with_overrides(path)?);
    }
    let s = run(opts, case_dir, &cfg, |_, _, _| Ok(NoSink))?.0?;
    let _ = crate::print_summary(case_dir, &s.summary);
    let _ = print_interfaces(&s);
    Ok(())
}

/// The per-interface capture counters.
pub fn print_interfaces(s: &LiveSummary) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<16} {:>10} {:>12} {:>10} {:>9} {:>11} {:>10}",
        "interface", "packets", "bytes", "kern_drop", "if_drop", "queue_drop", "duplicate"
    )?;
    for (name, st, dup) in &s.interfaces {
        writeln!(
            out,
            "{:<16} {:>10} {:>12} {:>10} {:>9} {:>11} {:>10}",
            name,
            st.delivered,
            st.delivered_bytes,
            st.kernel_drops,
            st.if_drops,
            st.queue_drops,
            dup
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("veth*", "veth-web"));
        assert!(glob("v?th*", "veth0"));
        assert!(!glob("veth*", "eth0"));
        assert!(glob("*", ""));
        assert!(!glob("a?", "a"));
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("100MiB"), Ok(100 << 20));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("12XB").is_err());
        assert!(parse_size("MiB").is_err());
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3d").is_err());
    }
}
