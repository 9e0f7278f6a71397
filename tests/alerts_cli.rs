//! `osprey alerts` and `osprey export --alert`: alerts are listed with
//! their evidence, and an alert's evidence exports as a capture tshark
//! reads whose frames are byte-identical copies (with their original
//! timestamps) of the evidence flows' frames and evidence frames.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;

fn lab(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/attacks")
        .join(name)
}

#[test]
fn alerts_list_and_export_their_evidence() {
    require("tshark");
    let tmp = tempfile::tempdir().unwrap();
    for (capture, category) in [
        ("nmap-syn-scan.pcap", "port_scan"),
        ("sqlmap.pcap", "sql_injection"),
    ] {
        let file = lab(capture);
        let case = tmp.path().join(capture);
        let out = analyze(&[&file], &case);
        assert!(out.status.success(), "{}", stderr(&out));
        let table = stdout_of(osprey().arg("alerts").arg(&case));
        assert!(table.contains(category), "{table}");
        let json = stdout_of(osprey().args(["alerts", "--json"]).arg(&case));
        let alerts: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let a = alerts
            .iter()
            .find(|a| a["category"] == category)
            .unwrap_or_else(|| panic!("{capture}: no {category} in {json}"));
        // The EVE alert with the same id says the same.
        let eve_alert = eve(&case)
            .into_iter()
            .find(|e| e["event_type"] == "alert" && e["alert"]["alert_id"] == a["id"])
            .expect("alert in eve.jsonl");
        assert_eq!(eve_alert["alert"]["category"], a["category"]);
        assert_eq!(eve_alert["alert"]["evidence"]["flows"], a["evidence_flows"]);

        // What the export must hold: every frame of the evidence flows and
        // every evidence frame, each once.
        let r = reader(&case);
        let mut want: BTreeSet<u64> = a["evidence_packets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        for f in a["evidence_flows"].as_array().unwrap() {
            want.extend(
                flow_frames(&r, f.as_u64().unwrap())
                    .into_iter()
                    .map(|(n, _)| n),
            );
        }
        assert!(!want.is_empty(), "{capture}: alert without evidence");
        let pcap = tmp.path().join(format!("{capture}.alert.pcap"));
        let id = a["id"].as_u64().unwrap().to_string();
        let out = osprey()
            .arg("export")
            .arg(&case)
            .args(["--alert", &id, "-o"])
            .arg(&pcap)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        tshark_reads_ok(&pcap).unwrap();
        let original = frames(&file);
        let exported = frames(&pcap);
        let expected: Vec<_> = want
            .iter()
            .map(|&n| original[(n - 1) as usize].clone())
            .collect();
        assert_eq!(exported, expected, "{capture}: exported frames");
    }
    // An unknown alert id is refused.
    let case = tmp.path().join("nmap-syn-scan.pcap");
    let out = osprey()
        .arg("export")
        .arg(&case)
        .args(["--alert", "999999", "-o"])
        .arg(tmp.path().join("none.pcap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no alert 999999"), "{}", stderr(&out));
}
