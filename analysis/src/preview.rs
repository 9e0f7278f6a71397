//! A quick look at the start of a capture, for a first graph while the
//! full analysis runs: the conversations (5-tuples, client = first sender)
//! of the first `max_bytes` of the file, with packet and byte counts. No
//! flow table, reassembly, DPI or detection: the complete case replaces it.

use crate::decode::meta::Transport;
use crate::decode::Decoder;
use crate::store::query::FlowSummary;
use osprey_capture::{CaptureError, FileSource, FrameSource};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

type Key = (IpAddr, u16, IpAddr, u16, u8);

/// Conversations of the first `max_bytes` of `path` (ids in first-seen
/// order, `state` = "preview"). Stops early when `cancel` is set.
pub fn preview_flows(
    path: &Path,
    max_bytes: u64,
    cancel: &AtomicBool,
) -> Result<Vec<FlowSummary>, CaptureError> {
    let mut src = FileSource::open(path, 0)?;
    let mut dec = Decoder::default();
    let mut index: HashMap<Key, usize> = HashMap::new();
    let mut flows: Vec<FlowSummary> = Vec::new();
    let mut n = 0u64;
    while src.bytes_read() < max_bytes {
        n += 1;
        if n.is_multiple_of(4096) && cancel.load(Ordering::Relaxed) {
            break;
        }
        // A damaged tail ends the preview; the full analysis reports it.
        let Ok(Some(frame)) = src.next_frame() else {
            break;
        };
        let meta = dec.decode(&frame, n);
        let meta = meta.meta();
        let Some(ip) = meta.ip else { continue };
        let (sp, dp) = match meta.transport {
            Some(Transport::Tcp(t)) => (t.src_port, t.dst_port),
            Some(Transport::Udp { src_port, dst_port }) => (src_port, dst_port),
            _ => (0, 0),
        };
        let fwd: Key = (ip.src, sp, ip.dst, dp, ip.proto);
        let rev: Key = (ip.dst, dp, ip.src, sp, ip.proto);
        let len = frame.data.len() as u64;
        let (i, to_server) = match (index.get(&fwd), index.get(&rev)) {
            (Some(i), _) => (*i, true),
            (None, Some(i)) => (*i, false),
            (None, None) => {
                index.insert(fwd, flows.len());
                flows.push(FlowSummary {
                    id: flows.len() as u64 + 1,
                    community_id: String::new(),
                    proto: ip.proto,
                    src_ip: ip.src.to_string(),
                    src_port: sp,
                    dest_ip: ip.dst.to_string(),
                    dest_port: dp,
                    app_proto: String::new(),
                    pkts_toserver: 0,
                    pkts_toclient: 0,
                    bytes_toserver: 0,
                    bytes_toclient: 0,
                    start_ns: frame.ts_ns,
                    end_ns: frame.ts_ns,
                    state: "preview".into(),
                    vlan: None,
                    tunnel: None,
                });
                (flows.len() - 1, true)
            }
        };
        if let Some(f) = flows.get_mut(i) {
            if to_server {
                f.pkts_toserver += 1;
                f.bytes_toserver += len;
            } else {
                f.pkts_toclient += 1;
                f.bytes_toclient += len;
            }
            f.end_ns = f.end_ns.max(frame.ts_ns);
        }
    }
    Ok(flows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_of_the_lab_sample() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/lab-basic.pcap");
        let all = preview_flows(&p, u64::MAX, &AtomicBool::new(false)).unwrap();
        let pkts: u64 = all.iter().map(|f| f.pkts_toserver + f.pkts_toclient).sum();
        // 175 frames, 10 of them ARP (samples/lab-basic.pcap.tshark.txt).
        assert_eq!(pkts, 165);
        // tshark: 10 TCP and 8 UDP conversations.
        assert_eq!(all.iter().filter(|f| f.proto == 6).count(), 10);
        assert_eq!(all.iter().filter(|f| f.proto == 17).count(), 8);
        assert!(all.iter().any(|f| f.dest_port == 80 && f.pkts_toclient > 0));
        let head = preview_flows(&p, 2_000, &AtomicBool::new(false)).unwrap();
        assert!(!head.is_empty() && head.len() < all.len());
        assert!(preview_flows(&p, u64::MAX, &AtomicBool::new(true)).is_ok());
    }
}
