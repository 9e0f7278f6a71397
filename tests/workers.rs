//! Determinism across flow workers (hardening): the same capture analysed
//! with one flow worker and with several (`osprey analyze --workers N`:
//! flow tables on their own threads, packets split by address pair,
//! results merged back in frame order) gives the same EVE file, byte for
//! byte, and the same rows in every case table (the `meta` rows with the
//! memory peaks and cap counters included).
//!
//! Inputs: every capture in `samples/` (the lab's benign and attack
//! recordings), every capture of the `../shared/pcaps` corpus (tunnels,
//! fragments, FTP data channels, many protocols), and a generated node
//! workload with thousands of flows (`../shared/bench/gen_pcap.py`;
//! `OSPREY_WORKERS_MIB` sets its size, 6 MiB by default, the CI size;
//! `make harden` uses 256).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One run: its stdout (for the `workers:` line), EVE file and tables,
/// and the number of address pairs its untunnelled flows have.
struct Run {
    stdout: String,
    eve: Vec<u8>,
    tables: Vec<(String, Vec<String>)>,
    pairs: i64,
}

/// Captures with at least this many address pairs must be split over
/// several workers (all in one of 3 workers: a chance of 3^-7).
const MANY_PAIRS: i64 = 8;

fn run(input: &Path, workers: u32, dir: &Path) -> Option<Run> {
    let case = dir.join(format!("w{workers}"));
    let out = common::osprey()
        .arg("analyze")
        .arg(input)
        .arg("--workers")
        .arg(workers.to_string())
        .arg("-o")
        .arg(&case)
        .output()
        .expect("run osprey analyze");
    // A capture the reader refuses is refused the same way either way.
    if out.status.code() == Some(2) {
        return None;
    }
    assert!(
        out.status.success(),
        "{} with {workers} workers: {}",
        input.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let pairs = common::open_db(&case)
        .query_row(
            "SELECT count(*) FROM (SELECT DISTINCT min(src_ip, dest_ip), \
             max(src_ip, dest_ip) FROM flows WHERE tunnel IS NULL)",
            [],
            |r| r.get(0),
        )
        .expect("address pairs");
    Some(Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        eve: std::fs::read(case.join("eve.jsonl")).expect("eve.jsonl"),
        tables: common::dump_all_tables(&case),
        pairs,
    })
}

/// Packets per worker from the `workers:` line of a summary.
fn worker_packets(stdout: &str) -> Vec<u64> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("workers:"))
        .and_then(|l| l.split_once("(packets "))
        .map(|(_, p)| {
            p.trim_end_matches(')')
                .split(", ")
                .map(|n| n.parse().expect("packet count"))
                .collect()
        })
        .unwrap_or_default()
}

/// Compares `input` with 1 and with `n` workers; returns how many of the
/// `n` workers got packets. A capture with [`MANY_PAIRS`] address pairs
/// must have been split.
fn same_output(input: &Path, n: u32) -> usize {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = run(input, 1, dir.path());
    let many = run(input, n, dir.path());
    let (one, many) = match (one, many) {
        (None, None) => return 0,
        (Some(a), Some(b)) => (a, b),
        _ => panic!("{}: refused with one worker count only", input.display()),
    };
    assert!(
        worker_packets(&one.stdout).is_empty(),
        "one worker prints no split"
    );
    let split = worker_packets(&many.stdout);
    assert_eq!(
        split.len(),
        n as usize,
        "{}: {}",
        input.display(),
        many.stdout
    );
    if one.eve != many.eve {
        let a = String::from_utf8_lossy(&one.eve);
        let b = String::from_utf8_lossy(&many.eve);
        let first = a
            .lines()
            .zip(b.lines())
            .position(|(x, y)| x != y)
            .unwrap_or(a.lines().count().min(b.lines().count()));
        panic!(
            "{}: EVE differs with {n} workers at line {}:\n1: {}\n{n}: {}",
            input.display(),
            first + 1,
            a.lines().nth(first).unwrap_or("<end>"),
            b.lines().nth(first).unwrap_or("<end>")
        );
    }
    for ((ta, ra), (tb, rb)) in one.tables.iter().zip(&many.tables) {
        assert_eq!(ta, tb, "{}: table lists differ", input.display());
        assert!(
            ra == rb,
            "{}: table {ta} differs with {n} workers ({} vs {} rows)",
            input.display(),
            ra.len(),
            rb.len()
        );
    }
    assert_eq!(one.tables.len(), many.tables.len());
    let used = split.iter().filter(|&&p| p > 0).count();
    assert!(
        one.pairs < MANY_PAIRS || used > 1,
        "{}: {} address pairs, all in one worker ({split:?})",
        input.display(),
        one.pairs
    );
    used
}

fn captures_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            captures_under(&p, out);
        } else if matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng" | "cap")
        ) {
            out.push(p);
        }
    }
}

/// Runs `same_output` over `inputs` on two threads; returns the captures
/// whose packets went to more than one worker.
fn compare_all(inputs: &[PathBuf], n: u32) -> usize {
    let next = Mutex::new(0usize);
    let spread = Mutex::new(0usize);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = {
                    let mut g = next.lock().unwrap();
                    *g += 1;
                    *g - 1
                };
                let Some(input) = inputs.get(i) else {
                    break;
                };
                if same_output(input, n) > 1 {
                    *spread.lock().unwrap() += 1;
                }
            });
        }
    });
    spread.into_inner().unwrap()
}

#[test]
fn samples_give_the_same_case_with_one_and_four_workers() {
    let mut inputs = Vec::new();
    captures_under(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("samples"),
        &mut inputs,
    );
    assert!(inputs.len() >= 40, "samples/ has {} captures", inputs.len());
    let spread = compare_all(&inputs, 4);
    eprintln!(
        "{} sample captures identical with 1 and 4 workers; {spread} split over several",
        inputs.len()
    );
    assert!(spread > 0, "no capture was split");
}

#[test]
fn corpus_gives_the_same_case_with_one_and_three_workers() {
    let inputs = common::corpus_files();
    if inputs.is_empty() {
        return;
    }
    let spread = compare_all(&inputs, 3);
    eprintln!(
        "{} corpus captures identical with 1 and 3 workers; {spread} split over several",
        inputs.len()
    );
    assert!(spread > 0, "no capture was split");
}

#[test]
fn generated_node_workload_gives_the_same_case_with_one_two_and_three_workers() {
    let gen = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_pcap.py");
    if !gen.exists() {
        eprintln!("note: {} absent; test skipped", gen.display());
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pcap = dir.path().join("node.pcap");
    let mib = std::env::var("OSPREY_WORKERS_MIB").unwrap_or_else(|_| "6".into());
    let st = std::process::Command::new("python3")
        .arg(&gen)
        .args(["--size-mib", &mib, "--seed", "7", "--workers", "1", "--out"])
        .arg(&pcap)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run gen_pcap.py");
    assert!(st.success(), "gen_pcap.py failed");
    for n in [2, 3] {
        let used = same_output(&pcap, n);
        assert_eq!(used, n as usize, "every worker gets packets");
    }
    // The workload has thousands of flows, many ended in the same
    // expiry round, and alerts (scan, flood): a real test of the merge.
    let case = dir.path().join("check");
    let out = common::analyze(&[&pcap], &case);
    assert!(out.status.success());
    let db = common::open_db(&case);
    let flows: i64 = db
        .query_row("SELECT count(*) FROM flows", [], |r| r.get(0))
        .unwrap();
    let alerts: i64 = db
        .query_row("SELECT count(*) FROM alerts", [], |r| r.get(0))
        .unwrap();
    eprintln!(
        "{mib} MiB node workload identical with 1, 2 and 3 workers: {flows} flows, {alerts} alerts"
    );
    assert!(
        flows > 1_000 && alerts > 0,
        "{flows} flows, {alerts} alerts"
    );
}
