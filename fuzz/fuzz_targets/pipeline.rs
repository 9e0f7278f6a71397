//! The whole engine (decode, flows, reassembly, identification, parsers,
//! detection, case store) on a capture made of the input: any bytes give
//! a case or a clear error. Slow per input (it writes a case), so it is
//! the breadth target; the others go deep.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::pipeline::{analyze, AnalyzeConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let input = dir.path().join("in.pcap");
    if std::fs::write(&input, data).is_err() {
        return;
    }
    let _ = analyze(
        &[input],
        &dir.path().join("case"),
        &AnalyzeConfig::default(),
        &mut |_| {},
    );
});
