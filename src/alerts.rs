//! `osprey alerts`: the alerts of a case.

use anyhow::Result;
use std::io::Write;
use std::path::Path;

/// Prints the alerts of a case as a table or as JSON lines.
pub fn run(case_dir: &Path, json: bool) -> Result<()> {
    let case = crate::open_case(case_dir)?;
    let alerts = case.alerts()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for a in &alerts {
            serde_json::to_writer(&mut out, a)?;
            writeln!(out)?;
        }
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "{:>5}  {:<27} {:>3}  {:<22} {:<45} {:<45} {:>7}  signature",
        "id", "first seen (UTC)", "sev", "category", "source", "destination", "count"
    )?;
    for a in &alerts {
        writeln!(
            out,
            "{:>5}  {:<27} {:>3}  {:<22} {:<45} {:<45} {:>7}  {}",
            a.id,
            osprey_analysis::eve::timestamp(a.ts_ns),
            a.severity,
            a.category,
            side(a.src_ip.as_deref(), a.src_port),
            side(a.dest_ip.as_deref(), a.dest_port),
            a.count,
            a.signature
        )?;
    }
    Ok(out.flush()?)
}

fn side(ip: Option<&str>, port: Option<u16>) -> String {
    match (ip, port) {
        (None, _) => "-".into(),
        (Some(ip), None) => ip.into(),
        (Some(ip), Some(p)) if ip.contains(':') => format!("[{ip}]:{p}"),
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
    }
}
