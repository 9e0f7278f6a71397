//! Segmentation oracle: the application layer must not depend on how TCP
//! cut the streams, nor on what capturing on a veth does to packets. Every
//! bundled sample (the attack lab's included) and every corpus capture
//! with at most [`MAX_TCP_PAYLOAD`] bytes of TCP payload is rewritten five
//! times — every TCP data segment split into one-byte segments; every pair
//! of back-to-back data segments of one direction swapped; every TCP and
//! UDP checksum made wrong (checksum offload); back-to-back contiguous
//! segments merged into ones of up to 64 KB (segmentation offload); every
//! data segment retransmitted once — and
//! each mutant
//! must give the original's application records (EVE `http`, `dns`, `tls`,
//! … events, without their timestamps and packet numbers), the same
//! alerts (without their evidence times and frames) and the same
//! `app_proto` on every flow.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Captures with more TCP payload than this are left out: the one-byte
/// mutant has one frame per payload byte.
const MAX_TCP_PAYLOAD: usize = 64 * 1024;

/// A frame of a capture: timestamp, wire length, bytes.
type Frame = (i64, u32, Vec<u8>);

/// Where a plain (unfragmented, no IPv6 extension header) TCP segment sits
/// in a frame.
struct Segment {
    ip: usize,
    v6: bool,
    tcp: usize,
    payload: usize,
    flags: u8,
    /// (src ip+port, dst ip+port) bytes, to tell directions apart.
    dir: Vec<u8>,
}

fn tcp_segment(link_type: u32, data: &[u8]) -> Option<Segment> {
    let ip_hdr = ip_header(link_type, data)?;
    let ip = data.len() - ip_hdr.len();
    let v6 = ip_hdr.first()? >> 4 == 6;
    let (tcp, end, dir_addrs) = if v6 {
        if *ip_hdr.get(6)? != 6 {
            return None;
        }
        let plen = usize::from(u16::from_be_bytes([ip_hdr[4], ip_hdr[5]]));
        (ip + 40, ip + 40 + plen, ip_hdr.get(8..40)?)
    } else {
        let ihl = usize::from(ip_hdr[0] & 0x0f) * 4;
        let frag = u16::from_be_bytes([*ip_hdr.get(6)?, *ip_hdr.get(7)?]);
        if *ip_hdr.get(9)? != 6 || frag & 0x3fff != 0 || ihl < 20 {
            return None;
        }
        let tot = usize::from(u16::from_be_bytes([ip_hdr[2], ip_hdr[3]]));
        (ip + ihl, ip + tot, ip_hdr.get(12..20)?)
    };
    if end != data.len() {
        return None; // Ethernet padding or a snapped frame: leave it alone
    }
    let th = data.get(tcp..tcp + 20)?;
    let payload = tcp + usize::from(th[12] >> 4) * 4;
    if payload > end {
        return None;
    }
    let mut dir = dir_addrs.to_vec();
    dir.extend_from_slice(&th[..4]);
    Some(Segment {
        ip,
        v6,
        tcp,
        payload,
        flags: th[13],
        dir,
    })
}

/// Rewrites a segment's frame with `payload` at sequence offset `skip`,
/// keeping FIN/PSH only when `last`.
fn resegment(frame: &Frame, s: &Segment, skip: usize, take: usize, last: bool) -> Frame {
    let (ts, _, data) = frame;
    let mut out = data[..s.payload].to_vec();
    out.extend_from_slice(&data[s.payload + skip..s.payload + skip + take]);
    let seq = u32::from_be_bytes(out[s.tcp + 4..s.tcp + 8].try_into().unwrap());
    out[s.tcp + 4..s.tcp + 8].copy_from_slice(&seq.wrapping_add(skip as u32).to_be_bytes());
    if !last {
        out[s.tcp + 13] &= !0x09; // FIN, PSH
    }
    if s.v6 {
        let plen = (out.len() - s.ip - 40) as u16;
        out[s.ip + 4..s.ip + 6].copy_from_slice(&plen.to_be_bytes());
    } else {
        let tot = (out.len() - s.ip) as u16;
        out[s.ip + 2..s.ip + 4].copy_from_slice(&tot.to_be_bytes());
    }
    (*ts, out.len() as u32, out)
}

/// Every TCP data segment split into one-byte segments (SYN-carrying ones
/// are kept whole: their first byte follows the SYN's sequence number).
fn bytewise(link_type: u32, frames: &[Frame]) -> Vec<Frame> {
    let mut out = Vec::new();
    for f in frames {
        match tcp_segment(link_type, &f.2) {
            Some(s) if s.flags & 0x02 == 0 && f.2.len() - s.payload > 1 => {
                let n = f.2.len() - s.payload;
                out.extend((0..n).map(|i| resegment(f, &s, i, 1, i + 1 == n)));
            }
            _ => out.push(f.clone()),
        }
    }
    out
}

/// Back-to-back data segments of the same direction swapped pairwise; each
/// position keeps its timestamp so time still only moves forward (and
/// only neighbours less than a second apart are swapped). A
/// direction whose SYN is not in the capture starts at its first data
/// segment (as in Wireshark), so that one is never moved.
fn swapped(link_type: u32, frames: &[Frame]) -> Vec<Frame> {
    let mut out: Vec<Frame> = frames.to_vec();
    let mut started: std::collections::HashSet<Vec<u8>> = Default::default();
    let mut i = 0;
    while i < out.len() {
        let Some(s) = tcp_segment(link_type, &out[i].2) else {
            i += 1;
            continue;
        };
        let data = s.payload < out[i].2.len();
        let next = out
            .get(i + 1)
            .and_then(|f| tcp_segment(link_type, &f.2).map(|n| (n, f.2.len())));
        // Neighbours only: packets far apart in time may belong to
        // different flow records (an idle timeout between them).
        let close = out
            .get(i + 1)
            .is_some_and(|f| f.0.saturating_sub(out[i].0) <= 1_000_000_000);
        let swappable = data
            && close
            && s.flags & 0x07 == 0
            && started.contains(&s.dir)
            && next
                .is_some_and(|(n, len)| n.dir == s.dir && n.payload < len && n.flags & 0x07 == 0);
        if s.flags & 0x02 != 0 || data {
            started.insert(s.dir);
        }
        if swappable {
            let (t0, t1) = (out[i].0, out[i + 1].0);
            out.swap(i, i + 1);
            out[i].0 = t0;
            out[i + 1].0 = t1;
            i += 2;
        } else {
            i += 1;
        }
    }
    out
}

/// Every TCP and UDP checksum wrong, as checksum offload leaves them in
/// captures taken on the sending host (veths): nothing may be dropped.
fn bad_checksums(link_type: u32, frames: &[Frame]) -> Vec<Frame> {
    let mut out = frames.to_vec();
    for f in &mut out {
        let at = match tcp_segment(link_type, &f.2) {
            Some(s) => Some(s.tcp + 16),
            None => udp_checksum_at(link_type, &f.2),
        };
        if let Some(at) = at.filter(|a| a + 2 <= f.2.len()) {
            f.2[at] ^= 0xff;
            f.2[at + 1] ^= 0x5a;
        }
    }
    out
}

/// Where the UDP checksum of a plain IPv4/IPv6 UDP datagram sits.
fn udp_checksum_at(link_type: u32, data: &[u8]) -> Option<usize> {
    let ip_hdr = ip_header(link_type, data)?;
    let ip = data.len() - ip_hdr.len();
    let udp = match ip_hdr.first()? >> 4 {
        4 if *ip_hdr.get(9)? == 17 && u16::from_be_bytes([ip_hdr[6], ip_hdr[7]]) & 0x3fff == 0 => {
            ip + usize::from(ip_hdr[0] & 0x0f) * 4
        }
        6 if *ip_hdr.get(6)? == 17 => ip + 40,
        _ => return None,
    };
    Some(udp + 6)
}

/// Back-to-back, contiguous data segments of one direction merged into
/// one of up to 64 KB, as segmentation offload (GRO/TSO) hands them to a
/// capture on a veth.
fn coalesced(link_type: u32, frames: &[Frame]) -> Vec<Frame> {
    const MAX: usize = 65_000;
    let mut out: Vec<Frame> = Vec::new();
    let mut last: Option<(Vec<u8>, u32)> = None; // (direction, next seq)
    for f in frames {
        let seg =
            tcp_segment(link_type, &f.2).filter(|s| s.payload < f.2.len() && s.flags & 0x07 == 0);
        let Some(s) = seg else {
            out.push(f.clone());
            last = None;
            continue;
        };
        let seq = u32::from_be_bytes(f.2[s.tcp + 4..s.tcp + 8].try_into().unwrap());
        let len = f.2.len() - s.payload;
        let near = out
            .last()
            .is_some_and(|p| f.0.saturating_sub(p.0) <= 1_000_000);
        let mergeable = near
            && last
                .as_ref()
                .is_some_and(|(dir, next)| *dir == s.dir && *next == seq);
        let prev = out
            .last_mut()
            .filter(|p| mergeable && p.2.len() + len <= MAX);
        match prev {
            Some(p) => {
                let ps = tcp_segment(link_type, &p.2).unwrap();
                p.2.extend_from_slice(&f.2[s.payload..]);
                p.2[ps.tcp + 13] |= f.2[s.tcp + 13] & 0x08; // PSH of the last
                if ps.v6 {
                    let plen = (p.2.len() - ps.ip - 40) as u16;
                    p.2[ps.ip + 4..ps.ip + 6].copy_from_slice(&plen.to_be_bytes());
                } else {
                    let tot = (p.2.len() - ps.ip) as u16;
                    p.2[ps.ip + 2..ps.ip + 4].copy_from_slice(&tot.to_be_bytes());
                }
                p.1 = p.2.len() as u32;
            }
            None => out.push(f.clone()),
        }
        last = Some((s.dir, seq.wrapping_add(len as u32)));
    }
    out
}

/// Every TCP data segment sent twice (a retransmission right after it).
fn retransmitted(link_type: u32, frames: &[Frame]) -> Vec<Frame> {
    let mut out = Vec::with_capacity(frames.len() * 2);
    for f in frames {
        out.push(f.clone());
        let data = tcp_segment(link_type, &f.2).is_some_and(|s| s.payload < f.2.len());
        if data {
            out.push(f.clone());
        }
    }
    out
}

/// An EVE line without its `alert.count`.
fn drop_alert_count(line: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    if let Some(a) = v.get_mut("alert").and_then(|a| a.as_object_mut()) {
        a.remove("count");
    }
    v.to_string()
}

/// What the application layer said about a capture: each flow's
/// `app_proto` by 5-tuple, and the app records without time or packet
/// numbers, sorted.
fn app_view(file: &Path, dir: &Path) -> (BTreeMap<String, String>, Vec<String>) {
    let case = dir.join("case");
    let out = analyze(&[file], &case);
    assert!(
        out.status.code() == Some(0),
        "analyze {}: {}",
        file.display(),
        stderr(&out)
    );
    let mut flows = BTreeMap::new();
    let mut records = Vec::new();
    for mut ev in eve(&case) {
        let obj = ev.as_object_mut().unwrap();
        let kind = obj["event_type"].as_str().unwrap().to_string();
        match kind.as_str() {
            "flow" => {
                let key = ["proto", "src_ip", "src_port", "dest_ip", "dest_port"]
                    .map(|k| obj.get(k).map(|v| v.to_string()).unwrap_or_default())
                    .join(" ");
                let app = obj
                    .get("app_proto")
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                flows.insert(key, app);
            }
            "anomaly" | "stats" => {}
            _ => {
                for k in ["timestamp", "flow_id", "pcap_cnt"] {
                    obj.remove(k);
                }
                // An alert's times and frames follow the packets that
                // delivered its evidence; what it says must not change.
                if let Some(a) = obj.get_mut("alert").and_then(|a| a.as_object_mut()) {
                    for k in ["first_seen", "last_seen", "evidence"] {
                        a.remove(k);
                    }
                }
                records.push(ev.to_string());
            }
        }
    }
    records.sort();
    std::fs::remove_dir_all(&case).unwrap();
    (flows, records)
}

fn write_pcap(path: &Path, link_type: u32, frames: &[Frame]) {
    let mut w = osprey_capture::PcapWriter::create(
        path,
        osprey_capture::LinkType(link_type),
        true,
        262_144,
    )
    .unwrap();
    for (ts, len, data) in frames {
        w.write(*ts, *len, data).unwrap();
    }
    w.finish().unwrap();
}

/// The captures the oracle runs on, with their link type and frames.
fn inputs() -> Vec<(PathBuf, u32, Vec<Frame>)> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files: Vec<PathBuf> = [samples.clone(), samples.join("attacks")]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng"))
        .collect();
    files.sort();
    files.extend(corpus_files());
    let mut out = Vec::new();
    for f in files {
        use osprey_capture::FrameSource;
        let Ok(mut src) = osprey_capture::FileSource::open(&f, 0) else {
            continue;
        };
        let mut frames = Vec::new();
        while let Ok(Some(fr)) = src.next_frame() {
            frames.push((fr.ts_ns, fr.orig_len, fr.data));
        }
        let [link] = src.link_types()[..] else {
            continue;
        };
        let link = link.0;
        let payload: usize = frames
            .iter()
            .filter_map(|fr| tcp_segment(link, &fr.2).map(|s| fr.2.len() - s.payload))
            .sum();
        if payload > 0 && payload <= MAX_TCP_PAYLOAD {
            out.push((f, link, frames));
        }
    }
    out
}

#[test]
fn app_records_do_not_depend_on_segmentation() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs();
    assert!(inputs.len() >= 20, "only {} captures qualify", inputs.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for (file, link, frames) in &inputs {
        let (flows, records) = app_view(file, dir.path());
        for (name, mutant) in [
            ("one-byte segments", bytewise(*link, frames)),
            ("swapped segments", swapped(*link, frames)),
            ("bad checksums", bad_checksums(*link, frames)),
            ("coalesced segments", coalesced(*link, frames)),
            ("retransmitted segments", retransmitted(*link, frames)),
        ] {
            let m = dir.path().join("mutant.pcap");
            write_pcap(&m, *link, &mutant);
            let (mflows, mut mrecords) = app_view(&m, dir.path());
            let mut records = records.clone();
            if name == "retransmitted segments" {
                // A retransmitted packet is one more occurrence of what it
                // carries: alert counts may grow, nothing else may change.
                for r in records.iter_mut().chain(mrecords.iter_mut()) {
                    *r = drop_alert_count(r);
                }
                records.sort();
                mrecords.sort();
            }
            if mflows != flows {
                let diff: Vec<_> = flows
                    .iter()
                    .filter(|(k, v)| mflows.get(*k) != Some(v))
                    .map(|(k, v)| format!("{k}: {v} -> {:?}", mflows.get(k)))
                    .collect();
                failures.push(format!(
                    "{}: {name}: app_proto differs: {diff:?}",
                    file.display()
                ));
            }
            if mrecords != records {
                let only_orig: Vec<_> = records.iter().filter(|r| !mrecords.contains(r)).collect();
                let only_mut: Vec<_> = mrecords.iter().filter(|r| !records.contains(r)).collect();
                failures.push(format!(
                    "{}: {name}: records differ\n  original only: {only_orig:?}\n  mutant only: {only_mut:?}",
                    file.display()
                ));
            }
        }
        checked += usize::from(!records.is_empty());
    }
    eprintln!("{} captures, {checked} with app records", inputs.len());
    assert!(checked >= 10, "only {checked} captures had app records");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn mutants_are_what_they_claim() {
    // A two-segment stream: client sends "ab" then "cd".
    let frame = |seq: u32, flags: u8, payload: &[u8]| -> Frame {
        let mut d = vec![0u8; 14];
        d[12] = 0x08;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        let tot = (20 + 20 + payload.len()) as u16;
        ip[2..4].copy_from_slice(&tot.to_be_bytes());
        d.extend(ip);
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&1234u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[12] = 0x50;
        tcp[13] = flags;
        d.extend(tcp);
        d.extend_from_slice(payload);
        (0, d.len() as u32, d)
    };
    let frames = vec![frame(100, 0x18, b"ab"), frame(102, 0x19, b"cd")];
    let bytes = bytewise(1, &frames);
    let seqs: Vec<(u32, u8, u8)> = bytes
        .iter()
        .map(|f| {
            let s = tcp_segment(1, &f.2).unwrap();
            let seq = u32::from_be_bytes(f.2[s.tcp + 4..s.tcp + 8].try_into().unwrap());
            (seq, f.2[s.payload], s.flags)
        })
        .collect();
    assert_eq!(
        seqs,
        vec![
            (100, b'a', 0x10),
            (101, b'b', 0x18),
            (102, b'c', 0x10),
            (103, b'd', 0x19)
        ]
    );
    // After the SYN, the two data segments swap.
    let frames = vec![
        frame(99, 0x02, b""),
        frame(100, 0x18, b"ab"),
        frame(102, 0x18, b"cd"),
    ];
    let sw = swapped(1, &frames);
    assert_eq!(sw[1].2, frames[2].2);
    assert_eq!(sw[2].2, frames[1].2);
    // Without the SYN the first data segment is the stream's start.
    assert_eq!(swapped(1, &frames[1..]), frames[1..].to_vec());
}
