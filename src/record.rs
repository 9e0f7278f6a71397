//! `osprey record`: headless recording on a node. Every frame of every
//! interface goes to a rotating pcapng ring in `DIR` (the raw evidence,
//! each interface with its own IDB naming the pod behind it), and the same
//! frames through the analysis pipeline into the case `DIR/case`.

use crate::live::{self, LiveOpts};
use anyhow::{Context, Result};
use osprey_analysis::live::RingSink;
use osprey_analysis::pipeline::AnalyzeConfig;
use osprey_analysis::store::StoreWriter;
use osprey_capture::ring::{Ring, RingConfig, RingIface};
use std::path::Path;

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
            .map(|(c, (_, label))| RingIface::of(c, label.clone(), live_cfg.snaplen))
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
        Ok(RingSink::new(ring))
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
