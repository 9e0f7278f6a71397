//! `osprey record`: headless recording on a node. Every frame of every
//! interface goes to a rotating pcapng ring in `DIR` (the raw evidence,
//! each interface with its own IDB naming the pod behind it), and the same
//! frames through the analysis pipeline into the case `DIR/case`.

use crate::live::{self, LiveOpts};
use anyhow::{Context, Result};
use osprey_analysis::live::LiveSink;
use osprey_analysis::pipeline::AnalyzeConfig;
use osprey_analysis::store::StoreWriter;
use osprey_capture::ring::{Ring, RingConfig, RingError, RingIface};
use osprey_capture::RawFrame;
use std::path::Path;

/// The ring as the live pipeline's sink; keeps its first error.
struct RingSink {
    ring: Ring,
    error: Option<String>,
}

impl RingSink {
    fn keep<T>(&mut self, r: Result<T, RingError>) -> Result<T, String> {
        r.map_err(|e| self.error.get_or_insert(e.to_string()).clone())
    }
}

impl LiveSink for RingSink {
    fn frames(&mut self, frames: &[RawFrame]) -> Result<(), String> {
        for f in frames {
            let r = self.ring.write(f);
            self.keep(r)?;
        }
        let r = self.ring.tick();
        self.keep(r)
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

/// Records until the duration ends or a signal comes.
pub fn run(
    opts: &LiveOpts,
    dir: &Path,
    file_bytes: u64,
    files: u32,
    cfg: &AnalyzeConfig,
) -> Result<()> {
    let case_dir = dir.join("case");
    if let Some(p) = StoreWriter::salvage(&case_dir).context("keeping an interrupted case")? {
        eprintln!(
            "osprey: kept the case of an interrupted recording as {}",
            p.display()
        );
    }
    let (s, sink) = live::run(opts, &case_dir, cfg, |ifaces, captured, live_cfg| {
        let interfaces = captured
            .iter()
            .zip(ifaces)
            .map(|(c, (_, label))| RingIface {
                name: c.name.clone(),
                description: label.clone(),
                link_type: c.link_type,
                snaplen: live_cfg.snaplen,
            })
            .collect();
        let (ring, repairs) = Ring::open(RingConfig {
            dir: dir.to_path_buf(),
            file_bytes,
            files,
            interfaces,
        })
        .context("opening the ring")?;
        for r in &repairs {
            eprintln!(
                "osprey: repaired {} left open by an earlier run: kept {} packets ({} bytes), cut {} bytes",
                r.path.display(),
                r.packets,
                r.kept_bytes,
                r.cut_bytes
            );
        }
        Ok(RingSink { ring, error: None })
    })?;
    println!(
        "ring:      {} packets written, {} files closed, in {}",
        sink.ring.packets,
        sink.ring.files_closed,
        dir.display()
    );
    if let Some(e) = &sink.error {
        // The ring's error first: a full disk fails the case too.
        let case = s.err().map(|e| format!("; case: {e}")).unwrap_or_default();
        anyhow::bail!("{e} (recording stopped; the files written so far are kept){case}");
    }
    let s = s?;
    let _ = crate::print_summary(&case_dir, &s.summary);
    let _ = live::print_interfaces(&s);
    Ok(())
}
