//! Bounded memory under floods (issue #8, point 4): a generated capture
//! floods the engine, then a real attack follows; the real `osprey
//! analyze` must stay within the sum of its memory budgets plus 64 MiB of
//! peak RSS, show the caps biting in the case's counters, and still
//! detect the late attack.
//!
//! Floods (deterministic, written to a temporary directory at test time):
//! - `syn`: spoofed SYNs from random sources to one server;
//! - `frag`: first fragments of UDP datagrams whose rest never comes;
//! - `holes`: established TCP streams whose data always has holes (every
//!   eighth segment is missing, and no ACK ever passes a hole);
//! - `all`: the three, one after the other.
//!
//! Each is followed by `samples/attacks/sqlmap.pcap` (`sql_injection`,
//! needs reassembly and HTTP parsing) and `nmap-syn-scan.pcap`
//! (`port_scan`), shifted to one second after the flood.
//!
//! Sizes: CI by default (200 k SYNs, 100 k fragments, 2,000 holey streams,
//! small budgets on the command line so every cap bites). With
//! `OSPREY_FLOOD_FULL=1` (`make harden`): 5 M SYNs, 1 M fragments, 20,000
//! holey streams, default budgets. `OSPREY_BIN` picks the binary (the
//! release build for figures); default is the test's own build.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Rng;
use osprey_analysis::store::query::CaseReader;
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

const SLACK_MIB: u64 = 64;
/// Capture time between flood packets: 100,000 packets/s.
const GAP_US: u64 = 10;
const ATTACKER: &str = "10.244.0.66";

struct Sizes {
    syns: u64,
    frags: u64,
    streams: u32,
    segs_per_stream: u32,
    seg_bytes: usize,
    /// Budget flags for `osprey analyze`.
    caps: &'static [&'static str],
    /// `[limits] max_tracked_keys` of the detection windows.
    max_tracked_keys: u32,
}

fn sizes() -> Sizes {
    if std::env::var("OSPREY_FLOOD_FULL").is_ok_and(|v| v == "1") {
        Sizes {
            syns: 5_000_000,
            frags: 1_000_000,
            streams: 20_000,
            segs_per_stream: 40,
            seg_bytes: 512,
            caps: &[],
            max_tracked_keys: 65_536,
        }
    } else {
        Sizes {
            syns: 200_000,
            frags: 100_000,
            streams: 2_000,
            segs_per_stream: 24,
            seg_bytes: 512,
            caps: &[
                "--flow-memcap=8MiB",
                "--stream-memcap=8MiB",
                "--dpi-memcap=2MiB",
                "--defrag-memcap=1MiB",
            ],
            max_tracked_keys: 4096,
        }
    }
}

/// A flood's spoofed sources.
trait Spoofed {
    /// A unicast address outside 10.0.0.0/8 (the attack's network).
    fn addr(&mut self) -> [u8; 4];
}

impl Spoofed for Rng {
    fn addr(&mut self) -> [u8; 4] {
        let v = (self.next() as u32).to_be_bytes();
        [100 + v[0] % 100, v[1], v[2], v[3].max(1)]
    }
}

/// A classic pcap writer (Ethernet, microseconds).
struct Pcap {
    w: BufWriter<std::fs::File>,
    ts_us: u64,
    packets: u64,
    frame: Vec<u8>,
}

impl Pcap {
    fn create(path: &Path, start_us: u64) -> Pcap {
        let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
        let mut hdr = Vec::new();
        hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        hdr.extend_from_slice(&2u16.to_le_bytes());
        hdr.extend_from_slice(&4u16.to_le_bytes());
        hdr.extend_from_slice(&[0; 8]);
        hdr.extend_from_slice(&65535u32.to_le_bytes());
        hdr.extend_from_slice(&1u32.to_le_bytes());
        w.write_all(&hdr).unwrap();
        Pcap {
            w,
            ts_us: start_us,
            packets: 0,
            frame: Vec::with_capacity(2048),
        }
    }

    fn record(&mut self, ts_us: u64, data: &[u8]) {
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&((ts_us / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((ts_us % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(data.len() as u32).to_le_bytes());
        self.w.write_all(&rec).unwrap();
        self.w.write_all(data).unwrap();
        self.packets += 1;
    }

    /// Writes the frame built in `self.frame`, `GAP_US` after the last.
    fn emit(&mut self) {
        self.ts_us += GAP_US;
        let frame = std::mem::take(&mut self.frame);
        self.record(self.ts_us, &frame);
        self.frame = frame;
    }

    /// Builds Ethernet + IPv4 (+ `l4`) into `self.frame`.
    fn ipv4(&mut self, src: [u8; 4], dst: [u8; 4], proto: u8, id: u16, frag: u16, l4: &[u8]) {
        let f = &mut self.frame;
        f.clear();
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let total = (20 + l4.len()) as u16;
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip[4..6].copy_from_slice(&id.to_be_bytes());
        ip[6..8].copy_from_slice(&frag.to_be_bytes());
        ip[8] = 64;
        ip[9] = proto;
        ip[12..16].copy_from_slice(&src);
        ip[16..20].copy_from_slice(&dst);
        let sum = checksum(&ip, 0);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(l4);
    }

    fn tcp(
        &mut self,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) {
        let mut seg = Vec::with_capacity(20 + payload.len());
        seg.extend_from_slice(&src.1.to_be_bytes());
        seg.extend_from_slice(&dst.1.to_be_bytes());
        seg.extend_from_slice(&seq.to_be_bytes());
        seg.extend_from_slice(&ack.to_be_bytes());
        seg.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        seg.extend_from_slice(payload);
        let mut pseudo = 0u32;
        for pair in [src.0, dst.0] {
            pseudo += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
            pseudo += u32::from(u16::from_be_bytes([pair[2], pair[3]]));
        }
        pseudo += 6 + seg.len() as u32;
        let sum = checksum(&seg, pseudo);
        seg[16..18].copy_from_slice(&sum.to_be_bytes());
        self.ipv4(src.0, dst.0, 6, 0, 0x4000, &seg);
        self.emit();
    }

    fn finish(mut self) -> u64 {
        self.w.flush().unwrap();
        self.packets
    }
}

/// RFC 1071 checksum of `data`, starting from `initial`.
fn checksum(data: &[u8], initial: u32) -> u16 {
    let mut sum = initial;
    for c in data.chunks(2) {
        let hi = u32::from(c[0]) << 8;
        sum += hi | c.get(1).map_or(0, |&b| u32::from(b));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const SYNACK: u8 = 0x12;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Flood {
    Syn,
    Frag,
    Holes,
}

fn write_flood(p: &mut Pcap, flood: Flood, s: &Sizes, rng: &mut Rng) {
    match flood {
        Flood::Syn => {
            let server = ([192, 0, 2, 10], 80);
            for _ in 0..s.syns {
                let src = (rng.addr(), 1024 + (rng.next() % 60_000) as u16);
                let seq = rng.next() as u32;
                p.tcp(src, server, seq, 0, SYN, &[]);
            }
        }
        Flood::Frag => {
            let payload = [0x5au8; 256];
            for i in 0..s.frags {
                // More Fragments set, offset 0: the rest never comes.
                let src = rng.addr();
                p.ipv4(src, [192, 0, 2, 30], 17, i as u16, 0x2000, &payload);
                p.emit();
            }
        }
        Flood::Holes => {
            let server = ([192, 0, 2, 20], 8080);
            let client = |n: u32| {
                (
                    [172, 16, (n >> 8) as u8, n as u8],
                    40_000 + (n % 20_000) as u16,
                )
            };
            for n in 0..s.streams {
                let c = client(n);
                p.tcp(c, server, 1000, 0, SYN, &[]);
                p.tcp(server, c, 5000, 1001, SYNACK, &[]);
                p.tcp(c, server, 1001, 5001, ACK, &[]);
            }
            let data = vec![b'h'; s.seg_bytes];
            for r in 0..s.segs_per_stream {
                if r % 8 == 0 {
                    continue; // the hole
                }
                for n in 0..s.streams {
                    let seq = 1001 + r * s.seg_bytes as u32;
                    p.tcp(client(n), server, seq, 5001, ACK, &data);
                }
            }
        }
    }
}

/// Appends a sample capture's packets, shifted to start at `start_us`.
fn append_pcap(p: &mut Pcap, path: &Path, start_us: u64) -> u64 {
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .read_to_end(&mut buf)
        .unwrap();
    assert_eq!(
        &buf[..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian µs pcap"
    );
    assert_eq!(u32::from_le_bytes(buf[20..24].try_into().unwrap()), 1);
    let mut at = 24;
    let mut first = None;
    let mut last = start_us;
    while at + 16 <= buf.len() {
        let u = |o: usize| {
            u64::from(u32::from_le_bytes(
                buf[at + o..at + o + 4].try_into().unwrap(),
            ))
        };
        let ts = u(0) * 1_000_000 + u(4);
        let len = u(8) as usize;
        let data = &buf[at + 16..at + 16 + len];
        let base = *first.get_or_insert(ts);
        last = start_us + (ts - base);
        p.record(last, data);
        at += 16 + len;
    }
    last
}

struct Figures {
    name: String,
    packets: u64,
    rss_mib: f64,
    budget_mib: f64,
    pps: f64,
    counters: BTreeMap<String, u64>,
}

fn run(dir: &Path, name: &str, floods: &[Flood], s: &Sizes) -> Figures {
    let pcap = dir.join(format!("{name}.pcap"));
    let case = dir.join(format!("{name}.case"));
    let mut rng = Rng(0x05b7_e1ee);
    let mut p = Pcap::create(&pcap, 1_800_000_000_000_000);
    for &f in floods {
        write_flood(&mut p, f, s, &mut rng);
    }
    let attacks = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/attacks");
    let start = p.ts_us + 1_000_000;
    let end = append_pcap(&mut p, &attacks.join("sqlmap.pcap"), start);
    append_pcap(&mut p, &attacks.join("nmap-syn-scan.pcap"), end + 1_000_000);
    let packets = p.finish();

    let rules = dir.join("limits.toml");
    std::fs::write(
        &rules,
        format!("[limits]\nmax_tracked_keys = {}\n", s.max_tracked_keys),
    )
    .unwrap();
    let bin = std::env::var_os("OSPREY_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_osprey")),
        PathBuf::from,
    );
    let out = Command::new("/usr/bin/time")
        .args(["-f", "rss_kib=%M"])
        .arg(&bin)
        .arg("analyze")
        .arg(&pcap)
        .arg("-o")
        .arg(&case)
        .arg("--rules")
        .arg(&rules)
        .args(s.caps)
        .output()
        .expect("run osprey");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{name}: {stdout}\n{stderr}");
    std::fs::remove_file(&pcap).unwrap();
    let rss_kib: u64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("rss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .expect("rss from /usr/bin/time");
    let pps: f64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("speed:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("speed line");

    let reader = CaseReader::open(&case).unwrap();
    let counters = reader.memcap_counters().unwrap();
    let budget: u64 = reader
        .connection()
        .prepare("SELECT value FROM meta WHERE key LIKE 'memcap.%'")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|v| v.unwrap().parse::<u64>().unwrap())
        .sum();
    let alerts = reader.alerts().unwrap();
    for category in ["sql_injection", "port_scan"] {
        assert!(
            alerts
                .iter()
                .any(|a| a.category == category && a.src_ip.as_deref() == Some(ATTACKER)),
            "{name}: late {category} attack missed; alerts: {:?}",
            alerts.iter().map(|a| &a.category).collect::<Vec<_>>()
        );
    }
    let limit_kib = budget / 1024 + SLACK_MIB * 1024;
    assert!(
        rss_kib <= limit_kib,
        "{name}: peak RSS {rss_kib} KiB over the budgets' sum + {SLACK_MIB} MiB ({limit_kib} KiB)"
    );
    drop(reader);
    std::fs::remove_dir_all(&case).unwrap();
    Figures {
        name: name.to_string(),
        packets,
        rss_mib: rss_kib as f64 / 1024.0,
        budget_mib: budget as f64 / f64::from(1 << 20),
        pps,
        counters,
    }
}

#[test]
fn floods_stay_within_the_memory_budgets_and_the_late_attack_is_detected() {
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time missing (make deps)"
    );
    let s = sizes();
    let dir = tempfile::tempdir().unwrap();
    let runs: [(&str, &[Flood]); 4] = [
        ("syn", &[Flood::Syn]),
        ("frag", &[Flood::Frag]),
        ("holes", &[Flood::Holes]),
        ("all", &[Flood::Syn, Flood::Frag, Flood::Holes]),
    ];
    let mut figures = Vec::new();
    for (name, floods) in runs {
        let f = run(dir.path(), name, floods, &s);
        let c = |k: &str| f.counters.get(k).copied().unwrap_or(0);
        if floods.contains(&Flood::Syn) {
            assert!(c("flow_evicted") > 0, "{name}: {:?}", f.counters);
            assert!(c("emergency_entered") > 0, "{name}: {:?}", f.counters);
            assert!(c("detect_window_drops") > 0, "{name}: {:?}", f.counters);
        }
        if floods.contains(&Flood::Frag) {
            assert!(c("defrag_evicted") > 0, "{name}: {:?}", f.counters);
        }
        if floods.contains(&Flood::Holes) {
            assert!(c("stream_memcap_sheds") > 0, "{name}: {:?}", f.counters);
        }
        figures.push(f);
    }
    println!("| flood | packets | peak RSS MiB | budgets MiB (+64) | packets/s | counters |");
    println!("|---|---|---|---|---|---|");
    for f in &figures {
        let bit: Vec<String> = f
            .counters
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {} |",
            f.name,
            f.packets,
            f.rss_mib,
            f.budget_mib,
            f.pps,
            bit.join(", ")
        );
    }
}
