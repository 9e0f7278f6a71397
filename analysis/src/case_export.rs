//! Reading a case's frames back from the original captures, and exporting
//! them byte-identical to pcap or pcapng. Shared by `osprey export` and
//! the GUI, so both write exactly the same files.

use crate::store::query::{CaseReader, PacketLocation};
use crate::store::StoreError;
use osprey_capture::{read_frame_at, LinkType, PcapWriter, PcapngWriter};
use std::collections::HashMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Why frames could not be read or exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The case database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No flow with this id.
    #[error("no flow {0} in the case")]
    NoFlow(u64),
    /// No alert with this id.
    #[error("no alert {0} in the case")]
    NoAlert(u64),
    /// A frame refers to a capture the case does not list.
    #[error("capture {0} missing from the case")]
    MissingCapture(u32),
    /// Reading an original capture failed.
    #[error("reading {path}: {source}")]
    Read {
        /// The capture.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing the output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Classic pcap holds one link type.
    #[error("these packets mix link types; export to a .pcapng file instead")]
    MixedLinkTypes,
}

/// What to export; the union of all parts, each frame once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Whole flows.
    pub flows: Vec<u64>,
    /// Alerts: their evidence flows whole and their evidence frames.
    pub alerts: Vec<u64>,
    /// Keep only frames with `start_ns <= ts_ns <= end_ns`.
    pub time_range: Option<(i64, i64)>,
}

/// What an export wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportSummary {
    /// Frames written.
    pub packets: usize,
    /// Distinct flows whose frames were selected.
    pub flows: usize,
}

/// Reads frames from the case's original captures, keeping each capture
/// file open between reads.
pub struct FrameReader {
    captures: HashMap<u32, PathBuf>,
    files: HashMap<u32, File>,
}

impl FrameReader {
    /// A reader over the captures of `case`.
    pub fn new(case: &CaseReader) -> Result<Self, ExportError> {
        Ok(FrameReader {
            captures: case.captures()?,
            files: HashMap::new(),
        })
    }

    /// The captured bytes of one frame.
    pub fn read(&mut self, p: &PacketLocation) -> Result<Vec<u8>, ExportError> {
        let path = self
            .captures
            .get(&p.capture_id)
            .ok_or(ExportError::MissingCapture(p.capture_id))?;
        let file = match self.files.entry(p.capture_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(File::open(path).map_err(|source| ExportError::Read {
                    path: path.clone(),
                    source,
                })?)
            }
        };
        read_frame_at(file, p.data_offset, p.caplen).map_err(|source| ExportError::Read {
            path: path.clone(),
            source,
        })
    }
}

/// The frames of `sel`, located, each once, in capture order.
pub fn select_packets(
    case: &CaseReader,
    sel: &Selection,
) -> Result<(Vec<PacketLocation>, usize), ExportError> {
    let mut flow_ids = sel.flows.clone();
    let mut extra: Vec<u64> = Vec::new();
    if !sel.alerts.is_empty() {
        let alerts = case.alerts()?;
        for id in &sel.alerts {
            let a = alerts
                .iter()
                .find(|a| a.id == *id)
                .ok_or(ExportError::NoAlert(*id))?;
            flow_ids.extend(a.evidence_flows.iter().copied());
            extra.extend(a.evidence_packets.iter().copied());
        }
    }
    flow_ids.sort_unstable();
    flow_ids.dedup();
    let mut nos = extra;
    for id in &flow_ids {
        if !case.has_flow(*id)? {
            return Err(ExportError::NoFlow(*id));
        }
        nos.extend(case.flow_packet_numbers(*id)?.into_iter().map(|(n, _)| n));
    }
    let mut packets = case.locate(&nos)?;
    if let Some((start, end)) = sel.time_range {
        packets.retain(|p| p.ts_ns >= start && p.ts_ns <= end);
    }
    Ok((packets, flow_ids.len()))
}

/// Writes the frames of `sel` to `output` (pcapng when it ends in
/// `.pcapng`, else classic pcap), byte-identical with original timestamps.
pub fn export(
    case: &CaseReader,
    sel: &Selection,
    output: &Path,
) -> Result<ExportSummary, ExportError> {
    let (packets, flows) = select_packets(case, sel)?;
    let mut frames = FrameReader::new(case)?;
    let pcapng = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
    let werr = |source: std::io::Error| ExportError::Write {
        path: output.to_path_buf(),
        source,
    };
    let link = packets
        .first()
        .map_or(LinkType::ETHERNET, |p| LinkType(p.link_type));
    if !pcapng && packets.iter().any(|p| p.link_type != link.0) {
        return Err(ExportError::MixedLinkTypes);
    }
    let out = BufWriter::new(File::create(output).map_err(werr)?);
    if pcapng {
        let mut w = PcapngWriter::new(out).map_err(werr)?;
        for p in &packets {
            let data = frames.read(p)?;
            w.write(LinkType(p.link_type), p.ts_ns, p.orig_len, &data)
                .map_err(werr)?;
        }
        w.finish().map_err(werr)?;
    } else {
        let nanos = packets.iter().any(|p| p.ts_ns % 1000 != 0);
        let mut w = PcapWriter::new(out, link, nanos, 262_144).map_err(werr)?;
        for p in &packets {
            let data = frames.read(p)?;
            w.write(p.ts_ns, p.orig_len, &data).map_err(werr)?;
        }
        w.finish().map_err(werr)?;
    }
    Ok(ExportSummary {
        packets: packets.len(),
        flows,
    })
}
