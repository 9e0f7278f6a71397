//! Live capture on a lab of network namespaces as pods (needs root,
//! iproute2, tcpdump, ping, curl, hping3, python3; CI runs as root and
//! `make deps` installs them). Every namespace is named after this test
//! process and deleted by a guard, also when a test fails; no traffic
//! leaves the namespaces.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::lab::*;
use common::*;
use osprey_capture::RawFrame;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `count` SYNs from namespace `ns` to 10.77.0.10 on `port` (hping3's
/// syntax: `++2000` walks up from 2000), 500 a second.
fn hping_syns(ns: &str, port: &str, count: &str) {
    let st = Command::new("ip")
        .args(["netns", "exec", ns, "hping3", "-q", "-S", "-p", port])
        .args(["-c", count, "-i", "u2000", "10.77.0.10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    // hping3 exits 1 when some probes got no answer
    assert!(st.success() || st.code() == Some(1), "hping3: {st}");
}

#[test]
fn record_finds_the_packets_tcpdump_finds_and_names_the_pods() {
    for t in ["tcpdump", "ping", "curl", "hping3", "python3", "ip"] {
        require(t);
    }
    let t = tag();
    let (node, web, client) = (
        format!("olv{t}-node"),
        format!("olv{t}-web"),
        format!("olv{t}-client"),
    );
    let (vw, vc, br) = (format!("vw{t}"), format!("vc{t}"), format!("br{t}"));
    let mut lab = Lab::new();
    lab.ns(&node);
    in_ns(
        &node,
        &[
            "ip",
            "link",
            "add",
            &br,
            "type",
            "bridge",
            "stp_state",
            "0",
            "mcast_snooping",
            "0",
        ],
    );
    in_ns(&node, &["ip", "link", "set", &br, "up"]);
    lab.pod(&node, &web, &vw, "10.77.0.10", Some(&br));
    lab.pod(&node, &client, &vc, "10.77.0.20", Some(&br));
    lab.spawn(
        &web,
        &[
            "python3",
            "-m",
            "http.server",
            "--bind",
            "10.77.0.10",
            "8080",
        ],
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ring = d.join("ring");
    let mut dumps = Vec::new();
    for v in [&vw, &vc] {
        let pcap = d.join(format!("{v}.pcap"));
        dumps.push(spawn_logged(
            &node,
            d,
            &format!("tcpdump-{v}"),
            &[
                "tcpdump",
                "-n",
                "-U",
                "-s",
                "262144",
                "-i",
                v,
                "-w",
                pcap.to_str().unwrap(),
            ],
        ));
    }
    let rec = spawn_osprey(
        &node,
        d,
        "record",
        &[
            "record",
            "-i",
            &format!("v?{t}"),
            "-o",
            ring.to_str().unwrap(),
            "--ring-size",
            "4MiB",
            "--ring-files",
            "50",
        ],
    );
    for v in [&vw, &vc] {
        wait_for(&d.join(format!("tcpdump-{v}.err")), "listening on");
    }
    wait_for(&d.join("record.err"), "capturing on");
    // Let the server listen before the first request.
    std::thread::sleep(Duration::from_millis(500));

    in_ns(
        &client,
        &["ping", "-c", "5", "-i", "0.2", "-q", "10.77.0.10"],
    );
    for _ in 0..3 {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &client,
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "http://10.77.0.10:8080/",
            ])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200");
    }
    hping_syns(&client, "8080", "300");
    // A short scan (40 ports), for an alert between the two pods.
    hping_syns(&client, "++2000", "40");
    // tcpdump's kernel blocks are handed over after its 1 s timeout.
    std::thread::sleep(Duration::from_millis(1500));

    signal(&rec, "TERM");
    let rec_out = rec.wait_with_output().unwrap();
    assert!(
        rec_out.status.success(),
        "record: {}",
        std::fs::read_to_string(d.join("record.err")).unwrap()
    );
    for c in &dumps {
        signal(c, "INT");
    }
    for c in dumps {
        c.wait_with_output().unwrap();
    }

    // The same packets, per interface: counts, bytes, and contents.
    let files = readable_ring_files(&ring);
    assert!(!files.is_empty());
    let mut ours: Vec<Vec<RawFrame>> = vec![Vec::new(), Vec::new()];
    for f in &files {
        for fr in read_frames(f) {
            ours[fr.interface as usize].push(fr);
        }
    }
    let mut total = 0;
    for (i, v) in [&vw, &vc].iter().enumerate() {
        let theirs = read_frames(&d.join(format!("{v}.pcap")));
        let bytes = |fs: &[RawFrame]| fs.iter().map(|f| f.data.len() as u64).sum::<u64>();
        assert_eq!(
            ours[i].len(),
            theirs.len(),
            "{v}: packets, osprey vs tcpdump"
        );
        assert_eq!(bytes(&ours[i]), bytes(&theirs), "{v}: bytes");
        let mut a: Vec<&Vec<u8>> = ours[i].iter().map(|f| &f.data).collect();
        let mut b: Vec<&Vec<u8>> = theirs.iter().map(|f| &f.data).collect();
        a.sort();
        b.sort();
        assert!(a == b, "{v}: different frames");
        assert!(theirs.len() > 300, "{v}: only {} frames", theirs.len());
        total += theirs.len() as u64;
        eprintln!(
            "{v}: {} packets, {} bytes, same in both",
            theirs.len(),
            bytes(&theirs)
        );
    }

    let db = open_db(&ring.join("case"));
    // 0 kernel drops where tcpdump has 0.
    for v in [&vw, &vc] {
        let (drops, qdrops): (i64, i64) = db
            .query_row(
                "SELECT kernel_drops, queue_drops FROM capture_stats WHERE iface = ?1",
                [v.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if tcpdump_drops(&d.join(format!("tcpdump-{v}.err"))) == 0 {
            assert_eq!((drops, qdrops), (0, 0), "{v}");
        }
    }
    // Pod-to-pod frames crossed both veths: counted once in the case.
    let (dups, labels): (i64, String) = db
        .query_row(
            "SELECT SUM(duplicates), GROUP_CONCAT(label) FROM capture_stats",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(
        labels.contains(&web) && labels.contains(&client),
        "{labels}"
    );
    let case_packets: i64 = db
        .query_row(
            "SELECT SUM(packets) FROM captures WHERE kind = 'interface'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(dups > 300, "{dups} duplicates");
    assert_eq!(case_packets + dups, total as i64);
    // The ring files hold every frame, duplicates too.
    let ring_packets: i64 = db
        .query_row(
            "SELECT SUM(packets) FROM captures WHERE kind = 'ring'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(ring_packets, total as i64);
    let dup_rows: i64 = db
        .query_row("SELECT COUNT(*) FROM duplicate_frames", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dup_rows, dups);
    // Pod names on the flows.
    let (src, dst): (String, String) = db
        .query_row(
            "SELECT w.src_workload, w.dest_workload FROM flows f JOIN flow_workloads w ON w.flow_id = f.id WHERE f.dest_port = 8080 AND f.app_proto = 'http' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (src.as_str(), dst.as_str()),
        (client.as_str(), web.as_str())
    );
    // The evidence exports from the ring files the case points into: the
    // HTTP flow's frames, byte for byte and with their times, as recorded.
    let (http, pkts): (i64, i64) = db
        .query_row(
            "SELECT id, pkts_toserver + pkts_toclient FROM flows WHERE dest_port = 8080 AND app_proto = 'http' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let out = d.join("http.pcapng");
    let exported = export(&ring.join("case"), &[http as u64], &out);
    assert!(
        exported.status.success(),
        "export: {}",
        String::from_utf8_lossy(&exported.stderr)
    );
    let recorded: std::collections::HashSet<(i64, &[u8])> = ours
        .iter()
        .flatten()
        .map(|f| (f.ts_ns, f.data.as_slice()))
        .collect();
    let got = read_frames(&out);
    assert_eq!(got.len() as i64, pkts, "every frame of the flow");
    assert!(
        got.iter()
            .all(|f| recorded.contains(&(f.ts_ns, f.data.as_slice()))),
        "exported frames are recorded frames"
    );
    if have("tshark") {
        tshark_reads_ok(&out).unwrap();
    }
    let icmp: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM flows f JOIN flow_workloads w ON w.flow_id = f.id WHERE f.proto = 1 AND w.src_workload = ?1 AND w.dest_workload = ?2",
            [&client, &web],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(icmp, 1);
    // And on the alerts.
    let (src, dst): (String, String) = db
        .query_row(
            "SELECT w.src_workload, w.dest_workload FROM alerts a JOIN alert_workloads w ON w.alert_id = a.id WHERE a.category = 'port_scan'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (src.as_str(), dst.as_str()),
        (client.as_str(), web.as_str())
    );
}

/// Sends `count` UDP frames to port 9 out of `iface` as fast as it can
/// (AF_PACKET), then prints how many the kernel accepted.
const SENDER: &str = r#"
import socket, struct, sys
iface, count = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
eth = b'\x02\x00\x00\x00\x00\x02' + b'\x02\x00\x00\x00\x00\x01' + b'\x08\x00'
ip = bytes.fromhex('4500002e00004000401100000a4e00010a636363')
udp = struct.pack('!HHHH', 40000, 9, 26, 0)
sent = 0
for i in range(count):
    try:
        s.send(eth + ip + udp + struct.pack('!Q', i) + b'\x00' * 10)
        sent += 1
    except OSError:
        pass
print(sent)
"#;

#[test]
fn sent_equals_written_plus_kernel_and_queue_drops_with_the_recorder_frozen() {
    require("python3");
    let (_lab, node, veth) = node_and_pod("s", 78);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ring = d.join("ring");
    let rec = spawn_osprey(
        &node,
        d,
        "record",
        &[
            "record",
            "-i",
            &veth,
            "--filter",
            "udp dst port 9",
            "--buffer-size",
            "1MiB",
            "-o",
            ring.to_str().unwrap(),
            "--ring-size",
            "64MiB",
            "--ring-files",
            "4",
            "--no-attribution",
            "--no-detect",
        ],
    );
    wait_for(&d.join("record.err"), "capturing on");
    let sender = Command::new("ip")
        .args([
            "netns", "exec", &node, "python3", "-c", SENDER, &veth, "400000",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    signal(&rec, "STOP");
    std::thread::sleep(Duration::from_secs(1));
    signal(&rec, "CONT");
    let out = sender.wait_with_output().unwrap();
    let sent: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    signal(&rec, "TERM");
    let st = rec.wait_with_output().unwrap();
    assert!(
        st.status.success(),
        "{}",
        std::fs::read_to_string(d.join("record.err")).unwrap()
    );

    let written: u64 = ring_files(&ring)
        .iter()
        .map(|f| read_frames(f).len() as u64)
        .sum();
    let db = open_db(&ring.join("case"));
    let (kernel, queue, received): (i64, i64, i64) = db
        .query_row(
            "SELECT kernel_drops, queue_drops, kernel_received FROM capture_stats",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let (kernel, queue) = (kernel as u64, queue as u64);
    eprintln!("sent {sent} = written {written} + kernel drops {kernel} + queue drops {queue} (kernel saw {received})");
    assert!(kernel + queue > 0, "the freeze forced no drop");
    assert_eq!(sent, written + kernel + queue);
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// One pod namespace behind a veth in a node namespace (`10.N.0.2`, the
/// node `10.N.0.1`); names carry `letter` and a per-run tag. Returns the
/// lab, the node namespace and the veth.
fn node_and_pod(letter: &str, n: u8) -> (Lab, String, String) {
    let t = tag();
    let (node, pod, veth) = (
        format!("ol{letter}{t}-node"),
        format!("ol{letter}{t}-pod"),
        format!("v{letter}{t}"),
    );
    let mut lab = Lab::new();
    lab.ns(&node);
    lab.pod(&node, &pod, &veth, &format!("10.{n}.0.2"), None);
    let node_ip = format!("10.{n}.0.1/24");
    in_ns(&node, &["ip", "addr", "add", &node_ip, "dev", &veth]);
    (lab, node, veth)
}

/// [`node_and_pod`], the pod pinged from the node 500 times a second with
/// `size` bytes of payload.
fn pinged_pod(letter: char, n: u8, size: &str) -> (Lab, String, String) {
    require("tcpdump");
    require("ping");
    let (mut lab, node, veth) = node_and_pod(&letter.to_string(), n);
    let pod_ip = format!("10.{n}.0.2");
    lab.spawn(&node, &["ping", "-q", "-i", "0.002", "-s", size, &pod_ip]);
    (lab, node, veth)
}

#[test]
fn sigkill_during_rotation_leaves_valid_files_and_the_open_one_is_repaired() {
    // Steady traffic: 500 echo requests and replies a second.
    let (_lab, node, veth) = pinged_pod('k', 79, "200");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ring = d.join("ring");
    let mut checked = 0;
    let mut losses_ms = Vec::new();
    let mut nothing_yet = 0;
    let mut rotations = 0;
    // Whether the last killed run left a file open.
    let mut left_open = false;
    let mut repaired = 0;
    for round in 0..=20 {
        let name = format!("record{round}");
        let rec = spawn_osprey(
            &node,
            d,
            &name,
            &[
                "record",
                "-i",
                &veth,
                "-o",
                ring.to_str().unwrap(),
                "--ring-size",
                "16KiB",
                "--ring-files",
                "1000",
                "--no-detect",
                "--no-attribution",
            ],
        );
        wait_for(&d.join(format!("{name}.err")), "capturing on");
        if left_open {
            let err = std::fs::read_to_string(d.join(format!("{name}.err"))).unwrap();
            assert!(err.contains("repaired"), "round {round}: {err}");
            repaired += 1;
        }
        if round == 20 {
            signal(&rec, "TERM");
            assert!(rec.wait_with_output().unwrap().status.success());
            break;
        }
        let before = ring_files(&ring).len();
        std::thread::sleep(Duration::from_millis(300 + (round * 37 % 400) as u64));
        let mut rec = rec;
        let kill_ns = now_ns();
        rec.kill().unwrap();
        rec.wait().unwrap();
        let files = ring_files(&ring);
        rotations += files.len() - before;
        // Every closed file reads.
        for f in &files[checked.min(files.len())..] {
            assert_tcpdump_reads(f);
        }
        checked = files.len();
        let open: Vec<PathBuf> = std::fs::read_dir(&ring)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".open"))
            .collect();
        assert!(open.len() <= 1);
        left_open = !open.is_empty();
        // The loss: traffic after the last whole frame kept, up to the
        // kill (the open file read as the restart will repair it).
        let mut last = None;
        if let Some(o) = open.first() {
            let probe = d.join("probe.pcapng.open");
            std::fs::copy(o, &probe).unwrap();
            let r = osprey_capture::ring::repair(&probe).unwrap();
            if r.kept_bytes > 0 {
                last = read_frames(&r.path).last().map(|x| x.ts_ns);
                std::fs::remove_file(&r.path).unwrap();
            }
        }
        let last = last.or_else(|| {
            files
                .iter()
                .rev()
                .find_map(|f| read_frames(f).last().map(|x| x.ts_ns))
        });
        // Under a heavily loaded machine the first kill can come before
        // any frame was captured: no loss to measure then.
        match last {
            Some(last) => losses_ms.push((kill_ns - last) as f64 / 1e6),
            None => nothing_yet += 1,
        }
    }
    assert!(nothing_yet <= 5, "{nothing_yet} kills before any frame");
    assert!(rotations >= 20, "only {rotations} rotations");
    readable_ring_files(&ring);
    assert!(repaired >= 15, "only {repaired} kills left a file open");
    // Each killed run's case was kept, a valid database.
    let kept: Vec<PathBuf> = std::fs::read_dir(ring.join("case"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("interrupted-")
                && p.extension().is_some_and(|e| e == "sqlite")
        })
        .collect();
    assert_eq!(kept.len(), 20, "{kept:?}");
    let mut indexed = 0;
    for k in &kept {
        let db = rusqlite::Connection::open(k).unwrap();
        let ok: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "{}", k.display());
        let n: i64 = db
            .query_row(
                "SELECT COALESCE(SUM(count), 0) FROM packet_chunks",
                [],
                |r| r.get(0),
            )
            .unwrap();
        indexed += n;
    }
    // Committed as it went (every 250 ms): the killed runs left frames in
    // the index.
    assert!(indexed > 0, "no killed run's case holds a frame");
    let max = losses_ms.iter().cloned().fold(0.0, f64::max);
    let mean = losses_ms.iter().sum::<f64>() / losses_ms.len() as f64;
    eprintln!("loss per kill (ms of traffic after the last frame kept): max {max:.1}, mean {mean:.1}; {rotations} rotations in 20 runs");
    assert!(max < 400.0, "{losses_ms:?}");
}

/// Unmounts a tmpfs on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_recording_with_a_clear_error_and_keeps_valid_files() {
    let (_lab, node, veth) = pinged_pod('d', 80, "1200");
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    sh(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "size=400k",
        "osprey-test",
        small.to_str().unwrap(),
    ]);
    let _mount = Mount(small.clone());
    let ring = small.join("ring");
    let base = osprey_in(&node);
    let t0 = Instant::now();
    let out = Command::new(&base[0])
        .args(&base[1..])
        .args([
            "record",
            "-i",
            &veth,
            "-o",
            ring.to_str().unwrap(),
            "--ring-size",
            "64KiB",
            "--ring-files",
            "100",
            "--duration",
            "20s",
            "--no-detect",
            "--no-attribution",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    eprintln!("{err}");
    assert!(!out.status.success(), "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "did not stop at the full disk"
    );
    assert!(
        err.contains("No space left on device") && err.contains(ring.to_str().unwrap()),
        "{err}"
    );
    let files = readable_ring_files(&ring);
    assert!(files.len() >= 2, "{files:?}");
}

/// A recording in progress shows what is still going on: a slow SYN scan
/// from the node to a pod (hping3, 50 ports a second, for as long as the
/// test needs) is listed as open flows and an open `port_scan` alert whose
/// count grows, from the running case; once the recorder stops, the same
/// alert is closed and nothing is left open.
#[test]
fn a_running_recording_shows_open_flows_and_a_growing_open_alert() {
    require("hping3");
    let (mut lab, node, veth) = node_and_pod("o", 79);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ring = d.join("ring");
    let rec = spawn_osprey(
        &node,
        d,
        "record",
        &[
            "record",
            "-i",
            &veth,
            "-o",
            ring.to_str().unwrap(),
            "--no-attribution",
        ],
    );
    wait_for(&d.join("record.err"), "capturing on");
    lab.spawn(
        &node,
        &[
            "hping3",
            "-q",
            "-S",
            "-p",
            "++1000",
            "-i",
            "u20000",
            "10.79.0.2",
        ],
    );
    let case = ring.join("case");
    // (port_scan count, open flows from the node to the pod) while running.
    let running = || -> Option<(u64, usize)> {
        let r = osprey_analysis::store::CaseReader::open_running(&case).ok()?;
        let scan = r
            .alerts()
            .ok()?
            .into_iter()
            .find(|a| a.category == "port_scan" && a.open)?;
        let open_flows: i64 = r
            .connection()
            .query_row(
                "SELECT count(*) FROM active_flows WHERE src_ip = '10.79.0.1' AND dest_ip = '10.79.0.2'",
                [],
                |row| row.get(0),
            )
            .ok()?;
        let listed = r
            .flows()
            .ok()?
            .iter()
            .filter(|f| f.dest_ip == "10.79.0.2")
            .count();
        (open_flows > 0 && listed as i64 >= open_flows).then_some((scan.count, open_flows as usize))
    };
    let until = |what: &str, ok: &dyn Fn((u64, usize)) -> bool| -> (u64, usize) {
        let t0 = Instant::now();
        loop {
            if let Some(v) = running().filter(|v| ok(*v)) {
                return v;
            }
            assert!(t0.elapsed() < Duration::from_secs(30), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let (first, flows) = until("an open port_scan alert and open flows", &|_| true);
    eprintln!("open while recording: port_scan count {first}, {flows} open flows");
    let (later, _) = until("the open alert's count growing", &|(n, _)| n > first);
    signal(&rec, "TERM");
    let out = rec.wait_with_output().unwrap();
    assert!(out.status.success(), "record: {:?}", out.status);
    let r = osprey_analysis::store::CaseReader::open(&case).unwrap();
    let scans: Vec<_> = r
        .alerts()
        .unwrap()
        .into_iter()
        .filter(|a| a.category == "port_scan")
        .collect();
    assert_eq!(scans.len(), 1, "one port scan");
    assert!(
        !scans[0].open && scans[0].count >= later,
        "closed, with the evidence seen live"
    );
    for table in ["active_flows", "active_alerts"] {
        let left: i64 = r
            .connection()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(left, 0, "{table} empty at the end");
    }
}
