//! `osprey flows` and `osprey export` as a user meets them: the JSON lines
//! and the table agree with the case database, and mistakes (no case, an
//! unknown flow id) fail with a message instead of output.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

/// Keys each `--json` line carries (the README's list).
const JSON_KEYS: &[&str] = &[
    "id",
    "community_id",
    "proto",
    "src_ip",
    "src_port",
    "dest_ip",
    "dest_port",
    "app_proto",
    "pkts_toserver",
    "pkts_toclient",
    "bytes_toserver",
    "bytes_toclient",
    "start_ns",
    "end_ns",
    "state",
    "vlan",
    "tunnel",
];

fn flows_cmd(case: &Path, json: bool) -> Output {
    let mut cmd = osprey();
    cmd.arg("flows").arg(case);
    if json {
        cmd.arg("--json");
    }
    cmd.output().expect("run osprey flows")
}

/// Cases to list: the committed sample plus a few corpus captures with
/// IPv6, VLAN and tunnel flows when the corpus is there.
fn cases(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut inputs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/lab-basic.pcap")];
    for name in [
        "ndpi__http_ipv6.pcap",
        "ndpi__vxlan.pcap",
        "ndpi__mongodb.pcap",
        "ndpi__1kxun.pcap",
        "zeek__icmp_5-pings.pcap",
    ] {
        let p = corpus_dir().join(name);
        if p.is_file() {
            inputs.push(p);
        }
    }
    inputs
        .into_iter()
        .filter(|p| p.is_file())
        .enumerate()
        .map(|(i, p)| {
            let case = dir.join(format!("case{i}"));
            let out = analyze(&[&p], &case);
            assert!(
                out.status.success(),
                "analyze {}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            (p.file_name().unwrap().to_string_lossy().into_owned(), case)
        })
        .collect()
}

#[test]
fn json_lines_match_the_flows_table() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases(tmp.path());
    assert!(!cases.is_empty(), "no input to analyse");
    for (name, case) in cases {
        let out = flows_cmd(&case, true);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("UTF-8 output");
        let rows = flow_rows(&case);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), rows.len(), "{name}: one JSON line per flow");
        println!("{name}: {} flows", rows.len());
        for (line, row) in lines.iter().zip(&rows) {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line}"));
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("{name}: not an object: {line}"));
            for k in JSON_KEYS {
                assert!(obj.contains_key(*k), "{name}: key {k} missing: {line}");
            }
            let want = row.to_json();
            for k in JSON_KEYS {
                assert_eq!(obj[*k], want[*k], "{name}: flow {} key {k}", row.id);
            }
        }
    }
}

#[test]
fn table_has_a_header_and_one_line_per_flow() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, case) in cases(tmp.path()) {
        let out = flows_cmd(&case, false);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).expect("UTF-8 output");
        let rows = flow_rows(&case);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            rows.len() + 1,
            "{name}: header + one line per flow"
        );
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header.first(), Some(&"id"), "{name}: header {:?}", lines[0]);
        assert!(header.contains(&"proto"), "{name}: header {:?}", lines[0]);
        for (line, row) in lines[1..].iter().zip(&rows) {
            let first = line.split_whitespace().next();
            assert_eq!(first, Some(row.id.to_string().as_str()), "{name}: {line}");
            for ip in [&row.src_ip, &row.dest_ip] {
                assert!(
                    line.contains(ip.as_str()),
                    "{name}: flow {} line lacks {ip}: {line}",
                    row.id
                );
            }
            for n in [
                row.pkts_toserver,
                row.pkts_toclient,
                row.bytes_toserver,
                row.bytes_toclient,
            ] {
                assert!(
                    line.split_whitespace().any(|t| t == n.to_string()),
                    "{name}: flow {} line lacks counter {n}: {line}",
                    row.id
                );
            }
        }
    }
}

/// A failed command: non-zero exit, nothing on stdout, a message on stderr
/// that mentions `needle`.
fn assert_fails_with(what: &str, out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{what}: expected failure, got {:?}",
        out.status
    );
    assert_ne!(out.status.code(), None, "{what}: killed by a signal: {err}");
    assert!(
        out.stdout.is_empty(),
        "{what}: printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!err.trim().is_empty(), "{what}: no message");
    assert!(!err.contains("panicked"), "{what}: panic: {err}");
    assert!(
        err.contains(needle),
        "{what}: message should mention {needle:?}: {err}"
    );
}

#[test]
fn flows_of_a_missing_or_non_case_directory_fail_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    assert_fails_with(
        "flows /nonexistent",
        &flows_cmd(Path::new("/nonexistent"), false),
        "/nonexistent",
    );
    assert_fails_with(
        "flows --json /nonexistent",
        &flows_cmd(Path::new("/nonexistent"), true),
        "/nonexistent",
    );
    // An existing directory that holds no case.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert_fails_with("flows on an empty dir", &flows_cmd(&empty, false), "empty");
    // A file where a directory is expected.
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    assert_fails_with("flows on a file", &flows_cmd(&file, false), "plain-file");
}

#[test]
fn export_of_an_unknown_flow_fails_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/lab-basic.pcap");
    let case = tmp.path().join("case");
    let out = analyze(&[&sample], &case);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let max = flow_rows(&case).iter().map(|f| f.id).max().unwrap_or(0);
    assert!(max > 0, "the sample has flows");
    let unknown = max + 1000;
    let dest = tmp.path().join("out.pcap");
    assert_fails_with(
        "export of an unknown flow",
        &export(&case, &[unknown], &dest),
        &unknown.to_string(),
    );
    assert!(!dest.exists(), "a failed export leaves no output file");
    // A known flow with an unknown one: still refused as a whole.
    assert_fails_with(
        "export of a known and an unknown flow",
        &export(&case, &[1, unknown], &dest),
        &unknown.to_string(),
    );
    assert!(!dest.exists(), "a failed export leaves no output file");
    // Flow 0 is never a flow id (ids are 1-based).
    assert_fails_with("export of flow 0", &export(&case, &[0], &dest), "0");
    // Export from a directory that is no case.
    assert_fails_with(
        "export from /nonexistent",
        &export(Path::new("/nonexistent"), &[1], &dest),
        "/nonexistent",
    );
}
