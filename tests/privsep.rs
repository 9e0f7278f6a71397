//! The privilege split on a lab of network namespaces (needs root,
//! iproute2, tcpdump, ping, setpriv, setcap, python3): the recorder runs as
//! `nobody` with no capability, only the capture helper (a copy with
//! `setcap cap_net_raw+ep`) holds `CAP_NET_RAW`, and the frames are
//! tcpdump's. A helper that dies or sends garbage ends the recording with
//! a clear error and valid files. Namespaces are deleted by a guard; no
//! traffic leaves them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::lab::*;
use common::*;
use osprey_capture::RawFrame;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// `CAP_NET_RAW` as a capability mask.
const NET_RAW: u64 = 1 << 13;
/// `nobody` / `nogroup` on Debian.
const NOBODY: &str = "65534";

/// One pod behind a veth in a node namespace (`10.N.0.2`, the node
/// `10.N.0.1` on the veth).
fn pod_lab(letter: char, n: u8) -> (Lab, String, String, String) {
    for t in ["tcpdump", "ping", "ip"] {
        require(t);
    }
    let t = tag();
    let (node, pod, veth) = (
        format!("op{letter}{t}-node"),
        format!("op{letter}{t}-pod"),
        format!("vp{letter}{t}"),
    );
    let mut lab = Lab::new();
    lab.ns(&node);
    lab.pod(&node, &pod, &veth, &format!("10.{n}.0.2"), None);
    in_ns(
        &node,
        &["ip", "addr", "add", &format!("10.{n}.0.1/24"), "dev", &veth],
    );
    (lab, node, pod, veth)
}

/// A capability mask line of `/proc/PID/status` (`CapEff`, `CapPrm`, …).
fn cap_mask(pid: u32, field: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = s
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

fn status_field(pid: u32, field: &str) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The children of `pid` running `osprey capture-helper`.
fn helpers(pid: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/status"))
                .is_ok_and(|s| s.lines().any(|l| l == format!("PPid:\t{pid}")))
                && std::fs::read(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == b"capture-helper"))
        })
        .collect()
}

/// The one child of `pid` (the capture helper).
fn helper_of(pid: u32) -> u32 {
    let c = helpers(pid);
    assert_eq!(c.len(), 1, "children of {pid}: {c:?}");
    c[0]
}

fn tcpdump(node: &str, d: &Path, veth: &str) -> (Child, PathBuf) {
    let pcap = d.join(format!("{veth}.pcap"));
    let c = spawn_logged(
        node,
        d,
        &format!("tcpdump-{veth}"),
        &[
            "tcpdump",
            "-n",
            "-U",
            "-s",
            "262144",
            "-i",
            veth,
            "-w",
            pcap.to_str().unwrap(),
            // Not the neighbour probes, which come at any time.
            "icmp",
        ],
    );
    wait_for(&d.join(format!("tcpdump-{veth}.err")), "listening on");
    (c, pcap)
}

/// Every frame of the ring files, each file checked by tcpdump.
fn ring_frames(ring: &Path) -> Vec<RawFrame> {
    readable_ring_files(ring)
        .iter()
        .flat_map(|f| read_frames(f))
        .collect()
}

#[test]
fn record_as_nobody_with_a_setcap_helper_keeps_what_tcpdump_keeps() {
    require("setpriv");
    require("setcap");
    let (_lab, node, pod, veth) = pod_lab('n', 81);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The recorder as nobody may read no root-only file: its own copy.
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let main = bin.join("osprey");
    let helper = bin.join("osprey-capture-helper");
    for b in [&main, &helper] {
        std::fs::copy(env!("CARGO_BIN_EXE_osprey"), b).unwrap();
        std::fs::set_permissions(b, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    sh(&["setcap", "cap_net_raw+ep", helper.to_str().unwrap()]);
    let ring = d.join("ring");
    std::fs::create_dir(&ring).unwrap();
    sh(&[
        "chown",
        &format!("{NOBODY}:{NOBODY}"),
        ring.to_str().unwrap(),
    ]);

    let (dump, pcap) = tcpdump(&node, d, &veth);
    // `ip netns exec` and `setpriv` exec: the child is the recorder.
    let rec = Command::new("ip")
        .args(["netns", "exec", &node, "setpriv"])
        .args([&format!("--reuid={NOBODY}"), &format!("--regid={NOBODY}")])
        .arg("--clear-groups")
        .arg(&main)
        .args(["record", "-i", &veth, "-o", ring.to_str().unwrap()])
        .args([
            "--filter",
            "icmp",
            "--ring-size",
            "1MiB",
            "--ring-files",
            "50",
        ])
        .env("OSPREY_CAPTURE_HELPER", &helper)
        .stdout(std::fs::File::create(d.join("record.out")).unwrap())
        .stderr(std::fs::File::create(d.join("record.err")).unwrap())
        .spawn()
        .unwrap();
    wait_for(&d.join("record.err"), "capturing on");
    let rec_pid = rec.id();
    let helper_pid = helper_of(rec_pid);
    assert_eq!(status_field(rec_pid, "Uid"), NOBODY);
    assert_eq!(status_field(helper_pid, "Uid"), NOBODY);
    let (main_eff, main_prm) = (cap_mask(rec_pid, "CapEff"), cap_mask(rec_pid, "CapPrm"));
    let helper_caps: Vec<u64> = ["CapEff", "CapPrm", "CapInh", "CapAmb"]
        .iter()
        .map(|f| cap_mask(helper_pid, f))
        .collect();
    eprintln!(
        "recorder {rec_pid}: CapEff {main_eff:016x} CapPrm {main_prm:016x}; helper {helper_pid}: CapEff/Prm/Inh/Amb {helper_caps:016x?}"
    );
    assert_eq!(
        (main_eff, main_prm),
        (0, 0),
        "the recorder holds capabilities"
    );
    assert_eq!(helper_caps, vec![NET_RAW, NET_RAW, 0, 0]);

    // 600 echo requests and their replies, plus a few large ones.
    in_ns(
        &pod,
        &["ping", "-q", "-c", "600", "-i", "0.005", "10.81.0.1"],
    );
    in_ns(
        &pod,
        &[
            "ping",
            "-q",
            "-c",
            "5",
            "-i",
            "0.2",
            "-s",
            "3000",
            "10.81.0.1",
        ],
    );
    // tcpdump's kernel blocks are handed over after its 1 s timeout.
    std::thread::sleep(Duration::from_millis(1500));
    signal(&rec, "TERM");
    let out = rec.wait_with_output().unwrap();
    let err = std::fs::read_to_string(d.join("record.err")).unwrap();
    assert!(out.status.success(), "record: {err}");
    signal(&dump, "INT");
    dump.wait_with_output().unwrap();

    let ours = ring_frames(&ring);
    let theirs = read_frames(&pcap);
    assert!(theirs.len() >= 1200, "tcpdump saw only {}", theirs.len());
    let show = |x: &[RawFrame], y: &[RawFrame]| {
        x.iter()
            .filter(|f| !y.iter().any(|g| g.data == f.data))
            .map(|f| format!("{} {:02x?}", f.ts_ns, &f.data[..f.data.len().min(48)]))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ours.len(),
        theirs.len(),
        "frames, osprey vs tcpdump; only osprey: {:?}; only tcpdump: {:?}",
        show(&ours, &theirs),
        show(&theirs, &ours)
    );
    let mut a: Vec<(i64, &Vec<u8>)> = ours.iter().map(|f| (f.ts_ns, &f.data)).collect();
    let mut b: Vec<(i64, &Vec<u8>)> = theirs.iter().map(|f| (f.ts_ns, &f.data)).collect();
    a.sort();
    b.sort();
    // The same bytes; timestamps within the µs of tcpdump's pcap.
    assert!(
        a.iter().zip(&b).all(|(x, y)| x.1 == y.1),
        "different frames"
    );
    eprintln!("{} frames, the same as tcpdump's", ours.len());
    // The counters crossed the pipe: delivered = written, no drop.
    let db = open_db(&ring.join("case"));
    let (delivered, kdrops, qdrops): (i64, i64, i64) = db
        .query_row(
            "SELECT delivered, kernel_drops, queue_drops FROM capture_stats",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (delivered, kdrops, qdrops),
        (ours.len() as i64, 0, 0),
        "capture_stats"
    );
}

/// A recorder on `veth` with steady traffic, run as root (the helper is
/// this binary, which drops every capability but `CAP_NET_RAW`).
fn root_recorder(node: &str, d: &Path, veth: &str, extra_env: Option<(&str, &Path)>) -> Child {
    let ring = d.join("ring");
    let base = osprey_in(node);
    let mut cmd = Command::new(&base[0]);
    cmd.args(&base[1..])
        .args(["record", "-i", veth, "-o", ring.to_str().unwrap()])
        .args(["--ring-size", "64KiB", "--ring-files", "1000"])
        .args(["--no-attribution"])
        .stdout(std::fs::File::create(d.join("record.out")).unwrap())
        .stderr(std::fs::File::create(d.join("record.err")).unwrap());
    if let Some((k, v)) = extra_env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Waits for `c` to exit, at most `limit`.
fn wait_exit(c: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(s) = c.try_wait().unwrap() {
            return s;
        }
        assert!(t0.elapsed() < limit, "did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_helper_ends_the_recording_with_a_clear_error_and_valid_files() {
    let (mut lab, node, _pod, veth) = pod_lab('k', 82);
    lab.spawn(
        &node,
        &["ping", "-q", "-i", "0.002", "-s", "200", "10.82.0.2"],
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rec = root_recorder(&node, d, &veth, None);
    wait_for(&d.join("record.err"), "capturing on");
    let helper = helper_of(rec.id());
    // Root's helper keeps only CAP_NET_RAW, in every set it may have.
    assert_eq!(cap_mask(helper, "CapEff"), NET_RAW);
    assert_eq!(cap_mask(helper, "CapPrm"), NET_RAW);
    assert_eq!(cap_mask(helper, "CapBnd"), NET_RAW);
    std::thread::sleep(Duration::from_millis(1500));
    sh(&["kill", "-KILL", &helper.to_string()]);
    let t0 = Instant::now();
    let st = wait_exit(&mut rec, Duration::from_secs(15));
    let err = std::fs::read_to_string(d.join("record.err")).unwrap();
    eprintln!(
        "{err}(exit {st} {:.2} s after the kill)",
        t0.elapsed().as_secs_f64()
    );
    assert!(!st.success(), "{err}");
    assert!(
        err.contains("capture helper ended without finishing its stream")
            && err.contains("SIGKILL")
            && err.contains("every frame read before is kept"),
        "{err}"
    );
    let frames = ring_frames(&d.join("ring"));
    assert!(frames.len() > 500, "only {} frames kept", frames.len());
    let db = open_db(&d.join("ring").join("case"));
    let ok: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let packets: i64 = db
        .query_row(
            "SELECT SUM(packets) FROM captures WHERE kind = 'interface'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(packets, frames.len() as i64, "case vs ring");
    // The case says why its capture stopped.
    let (status, warning): (String, String) = db
        .query_row(
            "SELECT status, warning FROM captures WHERE kind = 'interface'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "stopped");
    assert!(warning.contains("SIGKILL"), "{warning}");
}

/// A fake helper: a hello for the interface it is asked for, `GOOD`
/// frames, then a record of an unknown kind, then it waits.
const FAKE_HELPER: &str = r#"#!/usr/bin/env python3
import struct, sys, time
name = next(a.split('=', 1)[1] for a in sys.argv if a.startswith('--interface='))
out = sys.stdout.buffer
def rec(kind, body):
    out.write(struct.pack('<B3xI', kind, len(body)) + body)
n = name.encode()
rec(1, b'OSPRYCAP' + struct.pack('<HHIIH', 1, 1, 1, 262144, len(n)) + n)
for i in range(GOOD):
    data = bytes(14) + struct.pack('<Q', i) + bytes(50)
    rec(2, struct.pack('<IqII', 0, 1_700_000_000_000_000_000 + i, len(data), len(data)) + data)
rec(9, b'')
out.flush()
time.sleep(30)
"#;

#[test]
fn a_helper_sending_garbage_ends_the_recording_and_keeps_the_frames_before() {
    require("python3");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let fake = d.join("fake-helper");
    std::fs::write(&fake, FAKE_HELPER.replace("GOOD", "40")).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ring = d.join("ring");
    let t0 = Instant::now();
    let out = osprey()
        .args(["record", "-i", "osprey-fake0", "-o", ring.to_str().unwrap()])
        .args(["--no-attribution", "--duration", "20s"])
        .env("OSPREY_CAPTURE_HELPER", &fake)
        .output()
        .unwrap();
    let err = stderr(&out);
    eprintln!("{err}");
    assert!(!out.status.success(), "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "waited for the duration"
    );
    assert!(
        err.contains("capture helper sent a bad stream") && err.contains("unknown record kind 9"),
        "{err}"
    );
    let frames = ring_frames(&ring);
    assert_eq!(frames.len(), 40);
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(f.data[14..22], (i as u64).to_le_bytes());
    }
}
