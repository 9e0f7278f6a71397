//! `AnalyzeConfig::cancel`: a cancelled run ends with `Cancelled` and
//! leaves no complete case behind.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use osprey_analysis::pipeline::{analyze, AnalyzeConfig, AnalyzeError};
use osprey_analysis::store::CaseReader;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[test]
fn cancelled_run_leaves_no_case() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/lab-basic.pcap");
    let cfg = AnalyzeConfig {
        cancel: Some(Arc::new(AtomicBool::new(true))),
        ..AnalyzeConfig::default()
    };
    let r = analyze(std::slice::from_ref(&sample), &case, &cfg, &mut |_| {});
    assert!(matches!(r, Err(AnalyzeError::Cancelled)), "{r:?}");
    assert!(CaseReader::open(&case).is_err());
    // Not cancelled: the same run completes.
    let cfg = AnalyzeConfig {
        cancel: Some(Arc::new(AtomicBool::new(false))),
        ..AnalyzeConfig::default()
    };
    analyze(&[sample], &case, &cfg, &mut |_| {}).unwrap();
    assert!(CaseReader::open(&case).is_ok());
}
