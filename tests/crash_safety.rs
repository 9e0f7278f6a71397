//! Crash safety of the case (hardening): `osprey analyze` killed with
//! SIGKILL at 100 random moments while it re-analyses into a directory
//! that already holds a finished case. A new case is built under a
//! temporary name and replaces the old one in one rename, so after every
//! kill the directory holds a whole case (the old one, or the new one if
//! the kill came after the rename): `PRAGMA integrity_check` is `ok`, its
//! status is `complete`, and it has every alert of the reference run (no
//! acknowledged alert lost). A last uninterrupted run over the leftovers
//! of the killed ones gives the reference case again.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: u64 = 100;

fn inputs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/attacks");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    v.sort();
    v
}

fn analyze_cmd(inputs: &[PathBuf], case: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_osprey"));
    c.arg("analyze")
        .args(inputs)
        .arg("-o")
        .arg(case)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

/// (integrity_check, status, alert rows) of the case in `case`.
fn inspect(case: &Path) -> (String, String, Vec<String>) {
    let db = common::open_db(case);
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let status: String = db
        .query_row("SELECT value FROM meta WHERE key = 'status'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let alerts = db
        .prepare(
            "SELECT category, signature, src_ip, dest_ip, ts_ns, count FROM alerts ORDER BY id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok(format!(
                "{}|{}|{:?}|{:?}|{}|{}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (integrity, status, alerts)
}

#[test]
fn a_case_survives_sigkill_at_any_moment_of_a_rerun() {
    let inputs = inputs();
    assert!(inputs.len() >= 20);
    let dir = tempfile::tempdir().unwrap();
    let case = dir.path().join("case");

    let t0 = Instant::now();
    let st = analyze_cmd(&inputs, &case).status().unwrap();
    assert!(st.success());
    let run_time = t0.elapsed();
    let (integrity, status, reference) = inspect(&case);
    assert_eq!((integrity.as_str(), status.as_str()), ("ok", "complete"));
    assert!(
        reference.len() >= 20,
        "the attack samples give alerts: {reference:?}"
    );

    // kill moments spread over the whole run, rename included
    let span_us = (run_time.as_micros() as u64).max(1_000) * 11 / 10;
    let mut seed = 0x5eed_u64;
    let mut finished = 0;
    for k in 0..KILLS {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let at = Duration::from_micros((seed >> 33) % span_us);
        let mut child = analyze_cmd(&inputs, &case).spawn().unwrap();
        std::thread::sleep(at);
        let _ = child.kill(); // SIGKILL
        let st = child.wait().unwrap();
        if st.success() {
            finished += 1;
        }
        assert!(
            case.join("case.sqlite").exists(),
            "kill {k} at {at:?} left no case"
        );
        let (integrity, status, alerts) = inspect(&case);
        assert_eq!(integrity, "ok", "kill {k} at {at:?}");
        assert_eq!(status, "complete", "kill {k} at {at:?}");
        assert_eq!(alerts, reference, "kill {k} at {at:?}: alerts differ");
    }
    eprintln!(
        "crash safety: {KILLS} kills over a {run_time:?} run ({finished} runs finished first), \
         a whole case after every kill"
    );
    // the leftovers of killed runs do not disturb the next one
    assert!(analyze_cmd(&inputs, &case).status().unwrap().success());
    let (integrity, status, alerts) = inspect(&case);
    assert_eq!((integrity.as_str(), status.as_str()), ("ok", "complete"));
    assert_eq!(alerts, reference);
    // besides the case (and the WAL sidecars of this test's reads), only
    // the killed runs' temporary files, which never look like a case
    let names: Vec<String> = std::fs::read_dir(&case)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("case.sqlite")
            || n == "eve.jsonl"
            || n.starts_with(".case.sqlite.partial")
            || n == ".eve.jsonl.partial"),
        "{names:?}"
    );
}
