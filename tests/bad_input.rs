//! Bad input as documented: files that are not captures (or are cut in
//! their header, or declare a record over 256 KiB) are refused with exit 2,
//! a one-line message and no case; captures cut mid-record are salvaged with
//! a warning; malformed packets become anomalies, never failures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

// ---------------------------------------------------------------- bad input

/// Decimal numbers in `line` once `path` is removed from it.
fn numbers_in(line: &str, path: &Path) -> Vec<u64> {
    let line = line.replace(&*path.to_string_lossy(), " ");
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|t| t.parse().ok())
        .collect()
}

/// Asserts the run was refused: exit 2, one stderr line naming the file
/// (and `offset` when given), and nothing of a case left behind.
fn assert_refused(what: &str, out: &Output, file: &Path, case: &Path, offset: Option<u64>) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{what}: exit code; stderr: {err}"
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{what}: one line on stderr, got {err:?}");
    let base = file.file_name().unwrap().to_string_lossy();
    assert!(
        lines[0].contains(&*base),
        "{what}: message names the file: {err}"
    );
    if let Some(off) = offset {
        assert!(
            numbers_in(lines[0], file).contains(&off),
            "{what}: message names offset {off}: {err}"
        );
    }
    if let Ok(rd) = std::fs::read_dir(case) {
        let left: Vec<String> = rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("case.sqlite") || n.starts_with("eve.jsonl"))
            .collect();
        assert!(
            left.is_empty(),
            "{what}: refused run left {left:?} in the case dir"
        );
    }
}

/// Asserts a salvaged run: exit 0, the frames whose records start at
/// `data_offsets` indexed, and (if `warn_offsets` is non-empty) a warning
/// naming the file and one of those offsets, also kept in `captures`.
fn assert_salvaged(
    what: &str,
    out: &Output,
    file: &Path,
    case: &Path,
    data_offsets: &[u64],
    warn_offsets: &[u64],
) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: exit code; stderr: {err}"
    );
    let got: Vec<u64> = indexed_frames(case).iter().map(|f| f.data_offset).collect();
    assert_eq!(got, data_offsets, "{what}: indexed frames (data offsets)");
    let db = open_db(case);
    let (status, warning): (String, Option<String>) = db
        .query_row(
            "SELECT status, warning FROM captures WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let warn_lines: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    if warn_offsets.is_empty() {
        assert!(warn_lines.is_empty(), "{what}: no warning expected: {err}");
        assert_eq!(status, "complete", "{what}: captures.status");
        return;
    }
    let base = file.file_name().unwrap().to_string_lossy();
    assert!(
        warn_lines
            .iter()
            .any(|l| l.contains(&*base)
                && numbers_in(l, file).iter().any(|n| warn_offsets.contains(n))),
        "{what}: a warning line naming the file and offset {warn_offsets:?}: {err}"
    );
    assert_eq!(status, "truncated", "{what}: captures.status");
    let w = warning.unwrap_or_default();
    assert!(
        numbers_in(&w, file)
            .iter()
            .any(|n| warn_offsets.contains(n)),
        "{what}: captures.warning names offset {warn_offsets:?}: {w:?}"
    );
}

/// Records of a little-endian classic pcap: (record start, record end).
fn pcap_records(bytes: &[u8]) -> Vec<(u64, u64)> {
    assert_eq!(
        &bytes[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian µs pcap"
    );
    let mut out = Vec::new();
    let mut off = 24usize;
    while off + 16 <= bytes.len() {
        let caplen = u32::from_le_bytes(bytes[off + 8..off + 12].try_into().unwrap()) as usize;
        out.push((off as u64, (off + 16 + caplen) as u64));
        off += 16 + caplen;
    }
    out
}

/// Blocks of a little-endian pcapng: (block start, block end, is a packet).
fn pcapng_blocks(bytes: &[u8]) -> Vec<(u64, u64, bool)> {
    assert_eq!(
        &bytes[8..12],
        &[0x4d, 0x3c, 0x2b, 0x1a],
        "little-endian pcapng"
    );
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + 8 <= bytes.len() {
        let ty = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap()) as usize;
        out.push((off as u64, (off + len) as u64, ty == 6));
        off += len;
    }
    out
}

#[test]
fn inputs_that_are_not_captures_are_refused_with_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let mut random = vec![0u8; 4096];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in &mut random {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    random[..4].copy_from_slice(b"\x7fELF");
    let cases: [(&str, &[u8]); 3] = [
        ("empty.pcap", b""),
        ("random.pcap", &random),
        (
            "notes.txt",
            b"this is a text file, not a capture\nsecond line\n",
        ),
    ];
    for (name, bytes) in cases {
        let file = tmp.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        let case = tmp.path().join(format!("{name}.case"));
        assert_refused(name, &analyze(&[&file], &case), &file, &case, Some(0));
    }
    // A path that does not exist.
    let file = tmp.path().join("does-not-exist.pcap");
    let case = tmp.path().join("missing.case");
    assert_refused(
        "nonexistent path",
        &analyze(&[&file], &case),
        &file,
        &case,
        None,
    );
    // A good file plus a bad one: the whole run is refused.
    if let Some(good) = corpus("ndpi__pgsql.pcap") {
        let bad = tmp.path().join("notes.txt");
        let case = tmp.path().join("mixed.case");
        assert_refused(
            "good + bad input",
            &analyze(&[&good, &bad], &case),
            &bad,
            &case,
            Some(0),
        );
    }
}

#[test]
fn a_record_over_256_kib_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bytes = pcap_bytes(1, &[]);
    bytes.extend_from_slice(&1_600_000_000u32.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.extend_from_slice(&300_000u32.to_le_bytes());
    bytes.extend_from_slice(&300_000u32.to_le_bytes());
    bytes.resize(bytes.len() + 300_000, 0);
    let file = tmp.path().join("huge-record.pcap");
    std::fs::write(&file, &bytes).unwrap();
    let case = tmp.path().join("case");
    assert_refused(
        "caplen 300000",
        &analyze(&[&file], &case),
        &file,
        &case,
        Some(24),
    );
}

#[test]
fn a_pcap_cut_short_is_refused_in_the_header_and_salvaged_after_it() {
    let Some(src) = corpus("ndpi__pgsql.pcap") else {
        return;
    };
    require("capinfos");
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&src).unwrap();
    let records = pcap_records(&bytes);
    assert!(records.len() > 10);
    assert_eq!(records.last().unwrap().1, bytes.len() as u64);
    // Inside the global header: not a capture.
    for cut in [1usize, 4, 10, 23] {
        let file = tmp.path().join(format!("cut{cut}.pcap"));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let case = tmp.path().join(format!("cut{cut}.case"));
        assert_refused(
            &format!("cut at {cut}"),
            &analyze(&[&file], &case),
            &file,
            &case,
            Some(0),
        );
    }
    // After it: every whole record is kept.
    let (r3, r7) = (records[3], records[7]);
    let cuts = [
        (24, false),                        // header only: an empty capture
        (r3.0 as usize, false),             // on a record boundary
        (24 + 8, true),                     // in the first record header
        (24 + 16 + 5, true),                // in the first record's data
        (r3.0 as usize + 15, true),         // in a record header
        ((r7.0 + r7.1) as usize / 2, true), // in a record's data
        (bytes.len() - 1, true),            // one byte short
    ];
    for (cut, truncated) in cuts {
        let file = tmp.path().join(format!("cut{cut}.pcap"));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let whole: Vec<&(u64, u64)> = records.iter().filter(|r| r.1 <= cut as u64).collect();
        let data_offsets: Vec<u64> = whole.iter().map(|r| r.0 + 16).collect();
        if !truncated {
            assert_eq!(capinfos_count(&file), whole.len() as u64, "capinfos agrees");
        }
        let partial = records
            .iter()
            .find(|r| r.0 < cut as u64 && r.1 > cut as u64);
        let warn: Vec<u64> = partial.map(|r| vec![r.0, cut as u64]).unwrap_or_default();
        assert_eq!(partial.is_some(), truncated);
        let case = tmp.path().join(format!("cut{cut}.case"));
        let out = analyze(&[&file], &case);
        assert_salvaged(
            &format!("cut at {cut}"),
            &out,
            &file,
            &case,
            &data_offsets,
            &warn,
        );
    }
}

#[test]
fn a_pcapng_cut_short_is_refused_in_the_section_header_and_salvaged_after_it() {
    let Some(src) = corpus("ndpi__http.pcapng") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&src).unwrap();
    let blocks = pcapng_blocks(&bytes);
    let shb_end = blocks[0].1 as usize;
    for cut in [3usize, 10, shb_end - 1] {
        let file = tmp.path().join(format!("cut{cut}.pcapng"));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        let case = tmp.path().join(format!("cut{cut}.case"));
        assert_refused(
            &format!("pcapng cut at {cut}"),
            &analyze(&[&file], &case),
            &file,
            &case,
            Some(0),
        );
    }
    let packets: Vec<&(u64, u64, bool)> = blocks.iter().filter(|b| b.2).collect();
    assert!(packets.len() >= 5);
    let p4 = packets[4];
    for cut in [p4.0 as usize + 6, p4.0 as usize + 40, p4.1 as usize - 1] {
        let file = tmp.path().join(format!("cut{cut}.pcapng"));
        std::fs::write(&file, &bytes[..cut]).unwrap();
        // Enhanced Packet Block data starts 28 bytes into the block.
        let data_offsets: Vec<u64> = packets.iter().take(4).map(|b| b.0 + 28).collect();
        let case = tmp.path().join(format!("cut{cut}.case"));
        let out = analyze(&[&file], &case);
        assert_salvaged(
            &format!("pcapng cut at {cut}"),
            &out,
            &file,
            &case,
            &data_offsets,
            &[p4.0, cut as u64],
        );
    }
}

// ---------------------------------------------------------------- malformed packets

fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 header (20 bytes on the wire whatever `ihl` claims) + payload.
fn ipv4(ihl: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x40 | ihl, 0];
    h.extend_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&[0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    h.extend_from_slice(payload);
    h
}

/// TCP SYN 1234 → 80 (20 bytes on the wire whatever `doff` claims).
fn tcp(doff: u8) -> Vec<u8> {
    let mut t = vec![
        0x04,
        0xd2,
        0,
        80,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        doff << 4,
        0x02,
        0xff,
        0xff,
    ];
    t.extend_from_slice(&[0, 0, 0, 0]);
    t
}

/// IPv6 2001:db8::1 → 2001:db8::2 with `next` and `payload`.
fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.extend_from_slice(&[next, 64]);
    for last in [1u8, 2] {
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&[0; 11]);
        h.push(last);
    }
    h.extend_from_slice(payload);
    h
}

#[test]
fn malformed_packets_become_anomalies_not_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let udp = [0x30, 0x39, 0, 53, 0, 12, 0, 0, b'a', b'b', b'c', b'd'];
    // Hop-by-hop (PadN) → Destination Options claiming 24 bytes, 4 present.
    let mut chain = vec![60, 0, 1, 4, 0, 0, 0, 0];
    chain.extend_from_slice(&[17, 2, 1, 0]);
    let frames: Vec<Vec<u8>> = vec![
        ethernet(0x0800, &ipv4(5, 6, &tcp(5))), // 1: good TCP SYN
        ethernet(0x0800, &ipv4(4, 6, &tcp(5))), // 2: IHL 4 (< 5)
        ethernet(0x0800, &ipv4(5, 6, &tcp(3))), // 3: TCP data offset 3 (< 5)
        ethernet(0x86dd, &ipv6(0, &chain)),     // 4: truncated IPv6 header chain
        ethernet(0x86dd, &ipv6(17, &udp)),      // 5: good IPv6 UDP
    ];
    let recs: Vec<(i64, &[u8])> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            (
                1_600_000_000_000_000_000 + i as i64 * 1_000_000,
                f.as_slice(),
            )
        })
        .collect();
    let file = tmp.path().join("malformed.pcap");
    std::fs::write(&file, pcap_bytes(1, &recs)).unwrap();
    if have("tshark") {
        // The oracle agrees these frames are broken where we meant them to be.
        let out = stdout_of(Command::new("tshark").arg("-r").arg(&file).args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "_ws.expert.message",
        ]));
        for n in ["2", "3"] {
            assert!(
                out.lines()
                    .any(|l| l.starts_with(&format!("{n}\t")) && l.len() > 2),
                "tshark sees no problem in frame {n}: {out}"
            );
        }
    }
    let case = tmp.path().join("case");
    let out = analyze(&[&file], &case);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let db = open_db(&case);
    let mut st = db
        .prepare("SELECT pkt_no, type, event FROM anomalies ORDER BY id")
        .unwrap();
    let rows: Vec<(i64, String, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let pkts: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        pkts,
        BTreeSet::from([2, 3, 4]),
        "one or more anomalies for frames 2, 3, 4 and none for the good ones: {rows:?}"
    );
    assert!(
        rows.iter().all(|r| r.1 == "decode" && !r.2.is_empty()),
        "decode anomalies with an event name: {rows:?}"
    );
    let events: Vec<Value> = eve(&case)
        .into_iter()
        .filter(|e| e["event_type"] == "anomaly")
        .collect();
    let mut from_eve: Vec<(i64, String, String)> = events
        .iter()
        .map(|e| {
            (
                e["pcap_cnt"].as_i64().unwrap_or(-1),
                e["anomaly"]["type"].as_str().unwrap_or("").to_owned(),
                e["anomaly"]["event"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let mut want = rows.clone();
    from_eve.sort();
    want.sort();
    assert_eq!(
        from_eve, want,
        "anomaly events in eve.jsonl = anomalies rows"
    );
    // The good frames still make their flows.
    assert!(
        flow_count(&case, 6) >= 1 && flow_count(&case, 17) == 1,
        "flows of frames 1 and 5"
    );
}
