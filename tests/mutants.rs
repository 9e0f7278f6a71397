//! Mutated captures (hardening): the project's own sample captures are
//! mutated with Wireshark's tools (`editcap -E`, random bit errors in
//! packet data; `randpkt`, random packets of many protocols) and by
//! whole-file mutations (bytes flipped anywhere, headers included;
//! truncation; a range duplicated; a range zeroed), and each mutant is
//! analysed by the real binary twice. Every run must:
//! - end by itself within 25 s (no hang),
//! - exit 0 (analysed, damage counted) or 2 (input refused with an
//!   error), never a panic or a signal,
//! - stay under 512 MiB of peak RSS (`/usr/bin/time -f %M`),
//! - and the second run must give the same EVE file and the same case
//!   rows, byte for byte.
//!
//! `OSPREY_MUTANTS` sets the number of mutants (1,000 by default, the CI
//! size; `make harden` runs 10,000).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Rng;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

const TIMEOUT_S: u32 = 25;
const MAX_RSS_KIB: u64 = 512 * 1024;
const RANDPKT_TYPES: &[&str] = &[
    "eth",
    "ip",
    "ipv6",
    "tcp",
    "udp",
    "dns",
    "icmp",
    "arp",
    "sctp",
    "syslog",
    "tr",
    "usb-linux",
];

fn samples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("attacks")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Writes mutant `n` into `dir` and says how it was made.
fn make_mutant(n: usize, sources: &[PathBuf], dir: &Path) -> (PathBuf, String) {
    let mut rng = Rng(n as u64);
    let src = &sources[rng.below(sources.len())];
    let name = src.file_name().unwrap().to_string_lossy().to_string();
    let out = dir.join(format!("mutant-{n}.pcap"));
    let ok = |st: std::process::ExitStatus| assert!(st.success(), "mutating {name}: {st}");
    let how = match n % 6 {
        0 | 1 => {
            // random bit errors in packet data (Wireshark's fuzz-test tool)
            ok(Command::new("editcap")
                .args(["-E", "0.02", "--seed", &n.to_string()])
                .arg(src)
                .arg(&out)
                .status()
                .unwrap());
            format!("editcap -E 0.02 --seed {n} {name}")
        }
        2 => {
            let t = RANDPKT_TYPES[rng.below(RANDPKT_TYPES.len())];
            ok(Command::new("randpkt")
                .args(["-b", "1600", "-c", "200", "-t", t])
                .arg(&out)
                .status()
                .unwrap());
            format!("randpkt -t {t}")
        }
        k => {
            let mut b = std::fs::read(src).unwrap();
            let how = match k {
                3 => {
                    // bytes flipped anywhere, the file and record headers too
                    let flips = 1 + rng.below(16);
                    for _ in 0..flips {
                        let at = rng.below(b.len());
                        b[at] ^= 1 << rng.below(8);
                    }
                    format!("{flips} bit flips in {name}")
                }
                4 => {
                    let at = rng.below(b.len());
                    b.truncate(at);
                    format!("{name} cut at {at}")
                }
                _ => {
                    let from = rng.below(b.len());
                    let len = rng.below(256).min(b.len() - from);
                    if rng.below(2) == 0 {
                        let copy = b[from..from + len].to_vec();
                        let at = rng.below(b.len());
                        b.splice(at..at, copy);
                        format!("{name}: {len} bytes from {from} duplicated at {at}")
                    } else {
                        b[from..from + len].fill(0);
                        format!("{name}: {len} bytes zeroed at {from}")
                    }
                }
            };
            std::fs::write(&out, b).unwrap();
            how
        }
    };
    (out, how)
}

/// Every row of every case table, in row order, as text.
fn case_rows(case: &Path) -> String {
    let db = common::open_db(case);
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = String::new();
    for t in tables {
        // the captures table names the input file, the same in both runs
        let mut st = db.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let cols = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            out.push_str(&t);
            for c in 0..cols {
                out.push_str(&format!("|{:?}", r.get_ref(c).unwrap()));
            }
            out.push('\n');
        }
    }
    out
}

/// One run: `Err` says what went wrong; `Ok` carries the outputs to
/// compare (None when the input was refused).
fn run_once(input: &Path, case: &Path) -> Result<Option<(Vec<u8>, String)>, String> {
    let _ = std::fs::remove_dir_all(case);
    let out = Command::new("timeout")
        .args(["-s", "KILL", &TIMEOUT_S.to_string()])
        .args(["/usr/bin/time", "-f", "rss_kib=%M"])
        .arg(env!("CARGO_BIN_EXE_osprey"))
        .arg("analyze")
        .arg(input)
        .arg("-o")
        .arg(case)
        .output()
        .map_err(|e| format!("spawn: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code();
    if code.is_none() || code == Some(137) || code == Some(124) {
        return Err(format!("no exit within {TIMEOUT_S} s ({:?})", out.status));
    }
    // /usr/bin/time reports the child's signal/exit itself
    let rss: u64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("rss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no rss in {stderr}"))?;
    if rss > MAX_RSS_KIB {
        return Err(format!("peak RSS {rss} KiB over the 512 MiB limit"));
    }
    match code {
        Some(0) => {
            let eve = std::fs::read(case.join("eve.jsonl")).map_err(|e| format!("eve: {e}"))?;
            Ok(Some((eve, case_rows(case))))
        }
        Some(2) => Ok(None),
        _ => Err(format!("exit {:?}: {}", out.status, stderr.trim())),
    }
}

#[test]
fn mutated_captures_never_panic_hang_or_grow_and_replay_identically() {
    for tool in ["editcap", "randpkt", "timeout"] {
        common::require(tool);
    }
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time missing (make deps)"
    );
    let total: usize = std::env::var("OSPREY_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let sources = samples();
    assert!(
        sources.len() >= 10,
        "samples/ has {} captures",
        sources.len()
    );
    let dir = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let (analysed, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for w in 0..2 {
            let (dir, sources, next, failures) = (dir.path(), &sources, &next, &failures);
            let (analysed, refused) = (&analysed, &refused);
            s.spawn(move || loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let (input, how) = make_mutant(n, sources, dir);
                let case = dir.join(format!("case-{w}"));
                let verdict = run_once(&input, &case).and_then(|first| {
                    let second = run_once(&input, &case)?;
                    match (&first, &second) {
                        (Some(a), Some(b)) if a.0 != b.0 => Err("EVE differs between runs".into()),
                        (Some(a), Some(b)) if a.1 != b.1 => {
                            Err("case rows differ between runs".into())
                        }
                        (Some(_), None) | (None, Some(_)) => {
                            Err("accepted once, refused once".into())
                        }
                        _ => Ok(first.is_some()),
                    }
                });
                match verdict {
                    Ok(true) => {
                        analysed.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(false) => {
                        refused.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        // keep the input for a rerun by hand
                        let keep = std::env::temp_dir().join(format!("osprey-mutant-{n}.pcap"));
                        let _ = std::fs::copy(&input, &keep);
                        failures.lock().unwrap().push(format!(
                            "mutant {n} ({how}, kept as {}): {e}",
                            keep.display()
                        ));
                    }
                }
                let _ = std::fs::remove_file(&input);
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "mutants: {total} tried, {} analysed, {} refused with an error, {} failed",
        analysed.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // the mutants must exercise both paths, or the test proves little
    assert!(analysed.load(Ordering::Relaxed) > total / 2);
    assert!(refused.load(Ordering::Relaxed) > 0);
}
