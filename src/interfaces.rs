//! `osprey interfaces`: where a node's pods can be captured.

use anyhow::Result;
use osprey_capture::iface::{self, Interface};
use std::io::Write;

/// Prints this namespace's interfaces, and who sits behind each veth.
pub fn run(json: bool) -> Result<()> {
    let ifaces = iface::discover()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if json {
        for i in &ifaces {
            serde_json::to_writer(&mut out, i)?;
            writeln!(out)?;
        }
        return Ok(out.flush()?);
    }
    writeln!(
        out,
        "{:>5}  {:<16} {:<9} {:<4} {:<12} peer",
        "index", "name", "kind", "up", "master"
    )?;
    for i in &ifaces {
        writeln!(
            out,
            "{:>5}  {:<16} {:<9} {:<4} {:<12} {}",
            i.index,
            i.name,
            format!("{:?}", i.kind).to_lowercase(),
            if i.up { "up" } else { "down" },
            i.master.as_deref().unwrap_or("-"),
            peer(i)
        )?;
    }
    Ok(out.flush()?)
}

fn peer(i: &Interface) -> String {
    let Some(p) = &i.peer else {
        return "-".into();
    };
    let mut s = match (&p.pod, &p.netns_name) {
        (Some(pod), _) => format!("pod {}/{}", pod.namespace, pod.name),
        (None, Some(ns)) => format!("netns {ns}"),
        (None, None) => format!("netns id {}", p.netns_id.unwrap_or(-1)),
    };
    if !p.processes.is_empty() {
        let names: Vec<&str> = p
            .processes
            .iter()
            .map(|x| x.comm.as_str())
            .take(4)
            .collect();
        s.push_str(&format!(" ({})", names.join(", ")));
    }
    s
}
