//! `osprey flows`: the conversation table of a case.

use anyhow::Result;
use osprey_analysis::filter::{Filter, FlowAlerts};
use std::io::Write;
use std::path::Path;

/// Prints the flows of a case (those passing `filter`, when given) as a
/// table or as JSON lines.
pub fn run(case_dir: &Path, json: bool, filter: Option<&str>) -> Result<()> {
    let case = crate::open_case(case_dir)?;
    let mut flows = case.flows()?;
    if let Some(expr) = filter {
        let f = Filter::parse(expr)?;
        let alerts = FlowAlerts::new(&case.alerts()?);
        flows.retain(|x| f.matches(x, &alerts));
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for f in &flows {
            serde_json::to_writer(&mut out, f)?;
            writeln!(out)?;
        }
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "{:>6}  {:<5} {:<45} {:<45} {:>8} {:>10} {:>8} {:>10} {:>20} {:>12}  app",
        "id",
        "proto",
        "client",
        "server",
        "pkts >",
        "bytes >",
        "pkts <",
        "bytes <",
        "start",
        "duration"
    )?;
    let base = flows.iter().map(|f| f.start_ns).min().unwrap_or(0);
    for f in &flows {
        let rel = (f.start_ns - base) as f64 / 1e9;
        let dur = (f.end_ns - f.start_ns) as f64 / 1e9;
        writeln!(
            out,
            "{:>6}  {:<5} {:<45} {:<45} {:>8} {:>10} {:>8} {:>10} {:>20.9} {:>12.4}  {}",
            f.id,
            osprey_analysis::eve::proto_name(f.proto),
            endpoint(&f.src_ip, f.src_port),
            endpoint(&f.dest_ip, f.dest_port),
            f.pkts_toserver,
            f.bytes_toserver,
            f.pkts_toclient,
            f.bytes_toclient,
            rel,
            dur,
            f.app_proto
        )?;
    }
    Ok(out.flush()?)
}

fn endpoint(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}
