//! Replays every capture of the public corpus (`../shared/pcaps`) through
//! `osprey analyze` and compares flows with tshark and exports with tcpdump.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// tshark's `tcp.stream` count: distinct stream indexes.
fn tshark_tcp_streams(file: &Path) -> u64 {
    let out = stdout_of(
        Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args(["-T", "fields", "-e", "tcp.stream"]),
    );
    let set: BTreeSet<&str> = out
        .lines()
        .flat_map(|l| l.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    set.len() as u64
}

/// tshark's `-z conv,udp` conversation count.
fn tshark_udp_convs(file: &Path) -> u64 {
    let out = stdout_of(
        Command::new("tshark")
            .arg("-r")
            .arg(file)
            .args(["-q", "-z", "conv,udp"]),
    );
    out.lines().filter(|l| l.contains("<->")).count() as u64
}

/// Captures tshark itself cannot read (not a capture, or cut mid-header).
fn tshark_reads(file: &Path) -> bool {
    Command::new("capinfos")
        .arg("-c")
        .arg(file)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Flow-count differences with tshark that follow from a principled choice,
/// with the reason. Keyed by file name; (tcp, udp) counts Osprey reports
/// instead of tshark's.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

#[test]
fn every_corpus_capture_analyses_and_flow_counts_match_tshark() {
    let files = corpus_files();
    if files.is_empty() {
        return;
    }
    require("tshark");
    require("capinfos");
    let tmp = tempfile::tempdir().unwrap();
    let mut mismatches = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let case = tmp.path().join(format!("case{i}"));
        let out = analyze(&[file], &case);
        let code = out.status.code();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            code == Some(0) || code == Some(2),
            "{name}: exit {code:?} (panic or crash)\n{stderr}"
        );
        if code == Some(2) {
            assert!(
                !case.join("case.sqlite").exists(),
                "{name}: failed run left a case behind"
            );
            assert!(
                !tshark_reads(file),
                "{name}: tshark reads it but osprey refused: {stderr}"
            );
            assert_eq!(stderr.lines().count(), 1, "{name}: one-line message: {stderr}");
            continue;
        }
        let (tcp, udp) = (flow_count(&case, 6), flow_count(&case, 17));
        let (want_tcp, want_udp) = (tshark_tcp_streams(file), tshark_udp_convs(file));
        if (tcp, udp) != (want_tcp, want_udp) {
            mismatches.push(format!(
                "{name}: osprey tcp {tcp} udp {udp}, tshark tcp {want_tcp} udp {want_udp}"
            ));
        }
    }
    let unexplained: Vec<&String> = mismatches
        .iter()
        .filter(|m| !KNOWN_DIFFERENCES.iter().any(|(f, _)| m.starts_with(&format!("{f}:"))))
        .collect();
    for m in &mismatches {
        eprintln!("{m}");
    }
    assert!(
        unexplained.is_empty(),
        "{} captures differ from tshark without a listed reason:\n{}",
        unexplained.len(),
        unexplained
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
