//! `osprey export`: copies the exact frames of flows from the original
//! captures, found through the packet index (no rescan of the capture).

use anyhow::{bail, Context, Result};
use osprey_capture::{read_frame_at, LinkType, PcapWriter, PcapngWriter};
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Writes the frames of `flow_ids` and the evidence of `alert_ids` (their
/// flows whole, and their evidence frames) to `output` (pcapng when it
/// ends in `.pcapng`, else classic pcap), byte-identical with original
/// timestamps, each frame once, in capture order.
pub fn run(case_dir: &Path, flow_ids: &[u64], alert_ids: &[u64], output: &Path) -> Result<()> {
    let case = crate::open_case(case_dir)?;
    for id in flow_ids {
        if !case.has_flow(*id)? {
            bail!("no flow {id} in case {}", case_dir.display());
        }
    }
    let mut flow_ids = flow_ids.to_vec();
    let mut extra_frames: Vec<u64> = Vec::new();
    if !alert_ids.is_empty() {
        let alerts = case.alerts()?;
        for id in alert_ids {
            let Some(a) = alerts.iter().find(|a| a.id == *id) else {
                bail!("no alert {id} in case {}", case_dir.display());
            };
            flow_ids.extend(a.evidence_flows.iter().copied());
            extra_frames.extend(a.evidence_packets.iter().copied());
        }
    }
    flow_ids.sort_unstable();
    flow_ids.dedup();
    let mut nos: Vec<u64> = Vec::new();
    for id in &flow_ids {
        nos.extend(case.flow_packet_numbers(*id)?.into_iter().map(|(n, _)| n));
    }
    nos.extend(extra_frames);
    let packets = case.locate(&nos)?;
    let captures = case.captures()?;
    let pcapng = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
    let out = BufWriter::new(
        File::create(output).with_context(|| format!("creating {}", output.display()))?,
    );
    let mut files: HashMap<u32, File> = HashMap::new();
    let mut frame = |capture_id: u32, offset: u64, caplen: u32| -> Result<Vec<u8>> {
        let file = match files.entry(capture_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let path = captures
                    .get(&capture_id)
                    .with_context(|| format!("capture {capture_id} missing from case"))?;
                v.insert(
                    File::open(path)
                        .with_context(|| format!("opening original capture {}", path.display()))?,
                )
            }
        };
        read_frame_at(file, offset, caplen)
            .with_context(|| format!("reading frame at offset {offset} of capture {capture_id}"))
    };
    if pcapng {
        let mut w = PcapngWriter::new(out)?;
        for p in &packets {
            let data = frame(p.capture_id, p.data_offset, p.caplen)?;
            w.write(LinkType(p.link_type), p.ts_ns, p.orig_len, &data)?;
        }
        w.finish()?;
    } else {
        let link = packets
            .first()
            .map_or(LinkType::ETHERNET, |p| LinkType(p.link_type));
        if packets.iter().any(|p| p.link_type != link.0) {
            bail!("these flows mix link types; export to a .pcapng file instead");
        }
        let nanos = packets.iter().any(|p| p.ts_ns % 1000 != 0);
        let mut w = PcapWriter::new(out, link, nanos, 262_144)?;
        for p in &packets {
            let data = frame(p.capture_id, p.data_offset, p.caplen)?;
            w.write(p.ts_ns, p.orig_len, &data)?;
        }
        w.finish()?;
    }
    eprintln!(
        "osprey: wrote {} packets of {} flow(s) to {}",
        packets.len(),
        flow_ids.len(),
        output.display()
    );
    Ok(())
}
