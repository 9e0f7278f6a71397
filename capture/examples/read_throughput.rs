//! Rough reader throughput check (not a benchmark suite).
//!
//! `cargo run --release -p osprey-capture --example read_throughput [FILE...]`
//! times reading each FILE; with no argument it writes 2 M frames of 400
//! bytes as pcap and as pcapng into a temporary directory and times those.

use std::path::{Path, PathBuf};
use std::time::Instant;

use osprey_capture::{FileSource, FrameSource, LinkType, PcapWriter, PcapngWriter};

fn time_read(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let mut src = FileSource::open(path, 0)?;
    let mut frames = 0u64;
    loop {
        match src.next_frame() {
            Ok(Some(_)) => frames += 1,
            Ok(None) => break,
            Err(e) if e.is_truncation() => {
                eprintln!("warning: {e}");
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{}: {frames} frames, {:.0} MB in {secs:.3} s = {:.2} M frames/s, {:.0} MB/s",
        path.display(),
        src.bytes_read() as f64 / 1e6,
        frames as f64 / secs / 1e6,
        src.bytes_read() as f64 / secs / 1e6,
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if !args.is_empty() {
        for p in &args {
            time_read(p)?;
        }
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let (pcap, ng) = (dir.path().join("gen.pcap"), dir.path().join("gen.pcapng"));
    let frame: Vec<u8> = (0..400u32).map(|i| i as u8).collect();
    let mut w = PcapWriter::create(&pcap, LinkType::ETHERNET, true, 65535)?;
    let mut n = PcapngWriter::create(&ng)?;
    for i in 0..2_000_000i64 {
        w.write(1_700_000_000_000_000_000 + i * 1000, 400, &frame)?;
        n.write(
            LinkType::ETHERNET,
            1_700_000_000_000_000_000 + i * 1000,
            400,
            &frame,
        )?;
    }
    w.finish()?;
    n.finish()?;
    for p in [&pcap, &ng, &pcap, &ng] {
        time_read(p)?;
    }
    Ok(())
}
