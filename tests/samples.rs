//! Replays the project's own lab captures (`samples/`): the pcap and the
//! pcapng recording of the same traffic give the same case, and the flow
//! counts agree with tshark.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Flows without their ids' provenance: everything `osprey flows --json`
/// shows.
fn flows_json(case: &Path) -> Vec<serde_json::Value> {
    let out = osprey()
        .arg("flows")
        .arg(case)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn pcap_and_pcapng_recordings_give_the_same_flows() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for (input, case) in [("lab-basic.pcap", &a), ("lab-basic.pcapng", &b)] {
        let out = analyze(&[&sample(input)], case);
        assert!(out.status.success(), "{input}: {}", stderr(&out));
    }
    let (fa, fb) = (flows_json(&a), flows_json(&b));
    assert!(!fa.is_empty());
    assert_eq!(fa, fb);
}

#[test]
fn lab_flow_counts_match_tshark() {
    require("tshark");
    let tmp = tempfile::tempdir().unwrap();
    let input = sample("lab-basic.pcap");
    let case = tmp.path().join("case");
    assert!(analyze(&[&input], &case).status.success());
    let convs = |kind: &str| {
        stdout_of(Command::new("tshark").arg("-r").arg(&input).args([
            "-q",
            "-z",
            &format!("conv,{kind},not icmp"),
        ]))
        .lines()
        .filter(|l| l.contains("<->"))
        .count() as u64
    };
    assert_eq!(flow_count(&case, 6), convs("tcp"));
    assert_eq!(flow_count(&case, 17), convs("udp"));
}

/// The lab ran dnsmasq on :53, an HTTP server on :80 and redis-server on
/// :6379 (samples/README.md); nc on :9000 and a UDP echo on :7777 speak no
/// protocol. Each flow must be named accordingly.
#[test]
fn lab_flows_are_named_by_what_they_speak() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    assert!(analyze(&[&sample("lab-basic.pcap")], &case)
        .status
        .success());
    let flows = flow_rows(&case);
    let mut checked = 0;
    for f in &flows {
        let want = match (f.proto, f.dest_port) {
            (6 | 17, 53) => "dns",
            (6, 80) => "http",
            (6, 6379) => "redis",
            (6, 9000) | (17, 7777) => "unknown",
            _ => continue,
        };
        checked += 1;
        assert_eq!(f.app_proto, want, "flow {} to port {}", f.id, f.dest_port);
    }
    assert!(checked >= 10, "only {checked} lab flows checked");
}
