//! Network namespaces as pods for the live-capture tests (root): a guard
//! that deletes them, and helpers to run tools and `osprey` inside.

use osprey_capture::{FileSource, FrameSource, RawFrame};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Namespaces of one test; deleted (their processes killed first) on drop.
pub struct Lab {
    namespaces: Vec<String>,
    children: Vec<Child>,
}

impl Lab {
    pub fn new() -> Lab {
        Lab {
            namespaces: Vec::new(),
            children: Vec::new(),
        }
    }

    pub fn ns(&mut self, name: &str) {
        sh(&["ip", "netns", "add", name]);
        self.namespaces.push(name.to_string());
        in_ns(name, &["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
        in_ns(
            name,
            &["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
        );
        in_ns(name, &["ip", "link", "set", "lo", "up"]);
    }

    /// A pod namespace `pod` with `ip`/24 on its eth0, joined to `node` by
    /// the host-side veth `veth` (on `bridge` when given).
    pub fn pod(&mut self, node: &str, pod: &str, veth: &str, ip: &str, bridge: Option<&str>) {
        self.ns(pod);
        in_ns(
            node,
            &[
                "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod,
            ],
        );
        if let Some(br) = bridge {
            in_ns(node, &["ip", "link", "set", veth, "master", br]);
        }
        in_ns(node, &["ip", "link", "set", veth, "up"]);
        in_ns(
            pod,
            &["ip", "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
        );
        in_ns(pod, &["ip", "link", "set", "eth0", "up"]);
        // Offloads off: frames as on the wire, the same for every tap.
        let _ = Command::new("ip")
            .args([
                "netns", "exec", pod, "ethtool", "-K", "eth0", "tx", "off", "tso", "off", "gso",
                "off",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    pub fn spawn(&mut self, ns: &str, args: &[&str]) {
        let c = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(c);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in self.namespaces.iter().rev() {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

pub fn sh(args: &[&str]) {
    let st = Command::new(args[0]).args(&args[1..]).status().unwrap();
    assert!(st.success(), "{args:?}");
}

pub fn in_ns(ns: &str, args: &[&str]) {
    let mut v = vec!["ip", "netns", "exec", ns];
    v.extend_from_slice(args);
    sh(&v);
}

pub fn tag() -> u32 {
    std::process::id() % 100_000
}

/// A child in `ns` (stdout/stderr to files in `dir`, named `name`).
pub fn spawn_logged(ns: &str, dir: &Path, name: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdout(std::fs::File::create(dir.join(format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).unwrap())
        .spawn()
        .unwrap()
}

pub fn signal(c: &Child, sig: &str) {
    sh(&["kill", &format!("-{sig}"), &c.id().to_string()]);
}

/// `ip netns exec` execs the command, so the child's pid is the command's.
pub fn osprey_in(ns: &str) -> Vec<String> {
    vec![
        "ip".into(),
        "netns".into(),
        "exec".into(),
        ns.into(),
        env!("CARGO_BIN_EXE_osprey").into(),
    ]
}

pub fn spawn_osprey(ns: &str, dir: &Path, name: &str, args: &[&str]) -> Child {
    let base = osprey_in(ns);
    let mut cmd = Command::new(&base[0]);
    cmd.args(&base[1..]).args(args);
    cmd.stdout(std::fs::File::create(dir.join(format!("{name}.out"))).unwrap())
        .stderr(std::fs::File::create(dir.join(format!("{name}.err"))).unwrap());
    cmd.spawn().unwrap()
}

/// Waits until `file` contains `text` (a process says it is ready).
pub fn wait_for(file: &Path, text: &str) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if std::fs::read_to_string(file).is_ok_and(|s| s.contains(text)) {
            // libpcap opened; give the ring a moment to be mapped.
            std::thread::sleep(Duration::from_millis(200));
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{} never said {text:?}", file.display());
}

pub fn read_frames(path: &Path) -> Vec<RawFrame> {
    let mut src = FileSource::open(path, 0).unwrap();
    let mut out = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        out.push(f);
    }
    out
}

/// Fails unless `tcpdump -r` reads `file` to its end without an error.
pub fn assert_tcpdump_reads(file: &Path) {
    let st = Command::new("tcpdump")
        .arg("-r")
        .arg(file)
        .arg("-w")
        .arg("/dev/null")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "tcpdump cannot read {}", file.display());
}

/// The closed ring files of `dir`, oldest first, after checking that
/// tcpdump reads each and that no file was left open (`.open`).
pub fn readable_ring_files(dir: &Path) -> Vec<PathBuf> {
    let files = ring_files(dir);
    for f in &files {
        assert_tcpdump_reads(f);
    }
    let open = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .to_string_lossy()
                .ends_with(".open")
        })
        .count();
    assert_eq!(open, 0, "a ring file was left open in {}", dir.display());
    files
}

/// Closed ring files, oldest first.
pub fn ring_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
        .collect();
    v.sort();
    v
}

pub fn tcpdump_drops(err: &Path) -> u64 {
    let s = std::fs::read_to_string(err).unwrap();
    s.lines()
        .find(|l| l.contains("dropped by kernel"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no drop count in {s}"))
}
