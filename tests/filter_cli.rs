//! `osprey flows --filter` and `osprey export --filter`: the filter picks
//! the flows an independent predicate picks, the export holds exactly
//! their frames, and a bad expression fails with its column.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;

#[test]
fn flows_and_export_filter() {
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/lab-basic.pcap");
    assert!(analyze(&[&sample], &case).status.success());
    let all = flow_rows(&case);
    let want: Vec<u64> = all
        .iter()
        .filter(|f| {
            f.app_proto == "dns" || (f.proto == 6 && f.bytes_toserver + f.bytes_toclient > 1000)
        })
        .map(|f| f.id)
        .collect();
    assert!(!want.is_empty() && want.len() < all.len());
    let expr = "app == dns || (proto == tcp && bytes > 1000)";
    let out = stdout_of(
        osprey()
            .arg("flows")
            .arg(&case)
            .arg("--json")
            .arg("--filter")
            .arg(expr),
    );
    let got: Vec<u64> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(got, want);

    let pcap = dir.path().join("f.pcap");
    let o = osprey()
        .arg("export")
        .arg(&case)
        .arg("--filter")
        .arg(expr)
        .arg("-o")
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r = reader(&case);
    let mut nos: Vec<u64> = want
        .iter()
        .flat_map(|id| {
            r.flow_packet_numbers(*id)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
        })
        .collect();
    nos.sort_unstable();
    nos.dedup();
    let original = frames(&sample);
    let exported = frames(&pcap);
    assert_eq!(exported.len(), nos.len());
    for (n, e) in nos.iter().zip(&exported) {
        assert_eq!(&original[*n as usize - 1], e);
    }

    let bad = osprey()
        .arg("flows")
        .arg(&case)
        .arg("--filter")
        .arg("port == x")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("column 9") && err.contains("'x' is not a number"),
        "{err}"
    );
}
