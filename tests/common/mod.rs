//! Helpers shared by the integration tests: the corpus location, running
//! the `osprey` binary, and peers (tshark, tcpdump).

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/pcaps` beside the checkout (never copied into the repo).
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps")
}

/// Capture files listed in the corpus MANIFEST, or an empty list (with a
/// note) when the corpus is absent.
pub fn corpus_files() -> Vec<PathBuf> {
    let dir = corpus_dir();
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        eprintln!("note: {} has no MANIFEST.tsv; corpus tests skipped", dir.display());
        return Vec::new();
    };
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|f| !f.is_empty())
        .map(|f| dir.join(f))
        .collect()
}

/// Path of the built `osprey` binary.
pub fn osprey() -> Command {
    Command::new(env!("CARGO_BIN_EXE_osprey"))
}

/// Runs `osprey analyze INPUT -o CASE`.
pub fn analyze(inputs: &[&Path], case: &Path) -> Output {
    let mut cmd = osprey();
    cmd.arg("analyze");
    for i in inputs {
        cmd.arg(i);
    }
    cmd.arg("-o").arg(case);
    cmd.output().expect("run osprey analyze")
}

/// True when `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool} >/dev/null"))
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Panics unless `tool` exists: CI installs every peer, so a missing one is
/// a set-up failure, not a reason to pass silently.
pub fn require(tool: &str) {
    assert!(have(tool), "{tool} is required (make deps installs it)");
}

/// Runs a command and returns stdout as text.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run peer");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Opens a case database.
pub fn open_db(case: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(
        case.join("case.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("open case.sqlite")
}

/// Count of flows with this IP protocol in a case.
pub fn flow_count(case: &Path, proto: u8) -> u64 {
    open_db(case)
        .query_row("SELECT COUNT(*) FROM flows WHERE proto = ?1", [proto], |r| {
            r.get::<_, i64>(0)
        })
        .expect("count flows") as u64
}

/// Every frame of a capture as (timestamp ns, wire length, bytes).
pub fn frames(file: &Path) -> Vec<(i64, u32, Vec<u8>)> {
    use osprey_capture::FrameSource;
    let mut src = osprey_capture::FileSource::open(file, 0).expect("open capture");
    let mut out = Vec::new();
    while let Ok(Some(f)) = src.next_frame() {
        out.push((f.ts_ns, f.orig_len, f.data));
    }
    out
}
