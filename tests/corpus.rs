#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Replays every capture of the public corpus (`../shared/pcaps`) through
//! `osprey analyze` and compares flows with tshark and exports with tcpdump.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Packets whose TCP/UDP header sits inside an ICMP error are quotes of
/// another packet, not conversations: Osprey does not count them, so the
/// oracle leaves them out too.
const NOT_IN_ICMP: &str = "not icmp and not icmpv6";

/// tshark's `tcp.stream` count: distinct stream indexes.
fn tshark_tcp_streams(file: &Path) -> u64 {
    let out = stdout_of(Command::new("tshark").arg("-r").arg(file).args([
        "-Y",
        NOT_IN_ICMP,
        "-T",
        "fields",
        "-e",
        "tcp.stream",
    ]));
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
    let out = stdout_of(Command::new("tshark").arg("-r").arg(file).args([
        "-q",
        "-z",
        &format!("conv,udp,{NOT_IN_ICMP}"),
    ]));
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
/// with the reason, keyed by file name. Differences explained by idle
/// timeouts (tshark has none) are not listed: the test proves those by
/// re-running with `--no-idle-timeout`.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "ndpi__mongodb.pcap",
        "each packet is captured twice, on VLAN 300 and VLAN 50; Osprey keys flows by VLAN \
         (as Suricata does), tshark's conversations ignore VLANs",
    ),
    (
        "ndpi__badpackets.pcap",
        "first IP fragments of datagrams that never complete: Osprey builds flows from \
         reassembled datagrams only (the fragments are indexed without a flow and logged as \
         frag_timeout), tshark dissects the first fragment's UDP header alone",
    ),
    (
        "zeek__ipv4_fragmented-1.pcap",
        "an overlapping fragment train that does not reassemble (frag_invalid): no flow, \
         as for ndpi__badpackets.pcap",
    ),
    (
        "lwerdna__teardrop.pcap",
        "the teardrop train is invalid (frag_invalid) and never reassembles: no flow for it",
    ),
    (
        "tcpdump__esp_truncated.pcap",
        "a lone first fragment (MF set) of a datagram that never completes: no flow",
    ),
];

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
            assert_eq!(
                stderr.lines().count(),
                1,
                "{name}: one-line message: {stderr}"
            );
            continue;
        }
        let (tcp, udp) = (flow_count(&case, 6), flow_count(&case, 17));
        let (want_tcp, want_udp) = (tshark_tcp_streams(file), tshark_udp_convs(file));
        if (tcp, udp) == (want_tcp, want_udp) {
            continue;
        }
        // Idle timeouts split long silences into several flows; tshark
        // never does. Without them the counts must agree.
        let case2 = tmp.path().join(format!("case{i}-notimeout"));
        let out = osprey()
            .arg("analyze")
            .arg(file)
            .arg("--no-idle-timeout")
            .arg("-o")
            .arg(&case2)
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: rerun failed");
        let (tcp2, udp2) = (flow_count(&case2, 6), flow_count(&case2, 17));
        if (tcp2, udp2) == (want_tcp, want_udp) {
            eprintln!(
                "{name}: idle timeouts split flows (osprey tcp {tcp} udp {udp}; \
                 without timeouts tcp {tcp2} udp {udp2} = tshark)"
            );
            continue;
        }
        mismatches.push(format!(
            "{name}: osprey tcp {tcp2} udp {udp2} (no idle timeout), tshark tcp {want_tcp} udp {want_udp}"
        ));
    }
    for (f, reason) in KNOWN_DIFFERENCES {
        assert!(
            mismatches.iter().any(|m| m.starts_with(&format!("{f}:"))),
            "{f} is listed as a known difference ({reason}) but now matches tshark: remove it"
        );
    }
    let unexplained: Vec<&String> = mismatches
        .iter()
        .filter(|m| {
            !KNOWN_DIFFERENCES
                .iter()
                .any(|(f, _)| m.starts_with(&format!("{f}:")))
        })
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
