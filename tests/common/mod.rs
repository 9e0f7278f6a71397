//! Helpers shared by the integration tests: the corpus location, running
//! the `osprey` binary, and peers (tshark, tcpdump).

#![allow(dead_code)] // each test binary uses a different subset
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod lab;

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
        eprintln!(
            "note: {} has no MANIFEST.tsv; corpus tests skipped",
            dir.display()
        );
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
        .query_row(
            "SELECT COUNT(*) FROM flows WHERE proto = ?1",
            [proto],
            |r| r.get::<_, i64>(0),
        )
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

/// One row of the `flows` table: the columns `osprey flows --json` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRow {
    pub id: u64,
    pub community_id: String,
    pub proto: u8,
    pub src_ip: String,
    pub src_port: u16,
    pub dest_ip: String,
    pub dest_port: u16,
    pub app_proto: String,
    pub pkts_toserver: u64,
    pub pkts_toclient: u64,
    pub bytes_toserver: u64,
    pub bytes_toclient: u64,
    pub start_ns: i64,
    pub end_ns: i64,
    pub state: String,
    pub vlan: Option<String>,
    pub tunnel: Option<String>,
}

impl FlowRow {
    /// The row as the JSON object `osprey flows --json` is documented to print.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "community_id": self.community_id,
            "proto": self.proto,
            "src_ip": self.src_ip,
            "src_port": self.src_port,
            "dest_ip": self.dest_ip,
            "dest_port": self.dest_port,
            "app_proto": self.app_proto,
            "pkts_toserver": self.pkts_toserver,
            "pkts_toclient": self.pkts_toclient,
            "bytes_toserver": self.bytes_toserver,
            "bytes_toclient": self.bytes_toclient,
            "start_ns": self.start_ns,
            "end_ns": self.end_ns,
            "state": self.state,
            "vlan": self.vlan,
            "tunnel": self.tunnel,
        })
    }
}

/// Every row of a case's `flows` table, by id, read straight from SQLite.
pub fn flow_rows(case: &Path) -> Vec<FlowRow> {
    let db = open_db(case);
    let mut st = db
        .prepare(
            "SELECT id, community_id, proto, src_ip, src_port, dest_ip, dest_port, app_proto, \
             pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, start_ns, end_ns, \
             state, vlan, tunnel FROM flows ORDER BY id",
        )
        .expect("prepare flows query");
    let rows = st
        .query_map([], |r| {
            Ok(FlowRow {
                id: r.get::<_, i64>(0)? as u64,
                community_id: r.get(1)?,
                proto: r.get(2)?,
                src_ip: r.get(3)?,
                src_port: r.get(4)?,
                dest_ip: r.get(5)?,
                dest_port: r.get(6)?,
                app_proto: r.get(7)?,
                pkts_toserver: r.get::<_, i64>(8)? as u64,
                pkts_toclient: r.get::<_, i64>(9)? as u64,
                bytes_toserver: r.get::<_, i64>(10)? as u64,
                bytes_toclient: r.get::<_, i64>(11)? as u64,
                start_ns: r.get(12)?,
                end_ns: r.get(13)?,
                state: r.get(14)?,
                vlan: r.get(15)?,
                tunnel: r.get(16)?,
            })
        })
        .expect("query flows");
    rows.collect::<Result<_, _>>().expect("read flows")
}

/// Runs `osprey export CASE --flow ID... -o OUT`.
pub fn export(case: &Path, ids: &[u64], out: &Path) -> Output {
    let mut cmd = osprey();
    cmd.arg("export").arg(case);
    for id in ids {
        cmd.arg("--flow").arg(id.to_string());
    }
    cmd.arg("-o").arg(out);
    cmd.output().expect("run osprey export")
}

/// `tcpdump -r ORIG -w OUT FILTER` with nanosecond timestamps (so pcapng
/// inputs with ns resolution keep them); `Err` holds tcpdump's stderr.
pub fn tcpdump_select(orig: &Path, filter: &str, out: &Path) -> Result<(), String> {
    let o = Command::new("tcpdump")
        .arg("--time-stamp-precision=nano")
        .arg("-r")
        .arg(orig)
        .arg("-w")
        .arg(out)
        .arg(filter)
        .output()
        .map_err(|e| format!("running tcpdump: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_owned())
    }
}

/// True when tshark reads the whole file without complaint.
pub fn tshark_reads_ok(file: &Path) -> Result<(), String> {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .output()
        .map_err(|e| format!("running tshark: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&o.stderr).trim().to_owned())
    }
}

/// The IP header (v4 or v6) of a frame of the given LINKTYPE_, looking
/// through VLAN tags, PPPoE session and MPLS labels; `None` for non-IP.
pub fn ip_header(link_type: u32, data: &[u8]) -> Option<&[u8]> {
    let (mut ethertype, mut rest) = match link_type {
        // LINKTYPE_ETHERNET
        1 => (
            u16::from_be_bytes([*data.get(12)?, *data.get(13)?]),
            data.get(14..)?,
        ),
        // LINKTYPE_LINUX_SLL
        113 => (
            u16::from_be_bytes([*data.get(14)?, *data.get(15)?]),
            data.get(16..)?,
        ),
        // LINKTYPE_LINUX_SLL2
        276 => (
            u16::from_be_bytes([*data.first()?, *data.get(1)?]),
            data.get(20..)?,
        ),
        // LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6 (and DLT_RAW aliases)
        12 | 14 | 101 | 228 | 229 => return Some(data),
        // LINKTYPE_NULL (host order) and LINKTYPE_LOOP (network order)
        0 | 108 => {
            let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
            let fam = u32::from_le_bytes(b).min(u32::from_be_bytes(b));
            let ethertype = match fam {
                2 => 0x0800,
                24 | 28 | 30 => 0x86dd,
                _ => return None,
            };
            (ethertype, data.get(4..)?)
        }
        _ => return None,
    };
    loop {
        match ethertype {
            0x0800 | 0x86dd => return Some(rest),
            0x8100 | 0x88a8 | 0x9100 => {
                ethertype = u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?]);
                rest = rest.get(4..)?;
            }
            0x8864 => {
                ethertype = match u16::from_be_bytes([*rest.get(6)?, *rest.get(7)?]) {
                    0x0021 => 0x0800,
                    0x0057 => 0x86dd,
                    _ => return None,
                };
                rest = rest.get(8..)?;
            }
            0x8847 => {
                // Skip labels to the bottom of the stack, then guess v4/v6.
                while rest.get(2)? & 1 == 0 {
                    rest = rest.get(4..)?;
                }
                rest = rest.get(4..)?;
                ethertype = if rest.first()? >> 4 == 6 {
                    0x86dd
                } else {
                    0x0800
                };
            }
            _ => return None,
        }
    }
}

/// True when the frame carries an IP fragment: IPv4 with MF set or a
/// non-zero offset (RFC 791 §3.1), or IPv6 with a Fragment header anywhere
/// in its extension header chain (RFC 8200 §4.5).
pub fn is_ip_fragment(link_type: u32, data: &[u8]) -> bool {
    let Some(ip) = ip_header(link_type, data) else {
        return false;
    };
    match ip.first().map(|b| b >> 4) {
        Some(4) => ip
            .get(6..8)
            .is_some_and(|f| u16::from_be_bytes([f[0], f[1]]) & 0x3fff != 0),
        Some(6) => {
            let mut next = ip.get(6).copied();
            let mut off = 40usize;
            while let Some(nh) = next {
                match nh {
                    44 => return true,
                    0 | 43 | 60 => {
                        let Some(len) = ip.get(off + 1) else {
                            return false;
                        };
                        next = ip.get(off).copied();
                        off += (*len as usize + 1) * 8;
                    }
                    51 => {
                        let Some(len) = ip.get(off + 1) else {
                            return false;
                        };
                        next = ip.get(off).copied();
                        off += (*len as usize + 2) * 4;
                    }
                    _ => return false,
                }
            }
            false
        }
        _ => false,
    }
}

/// Bytes of a classic little-endian microsecond pcap (snaplen 262144) with
/// the given frames, built by hand so tests do not depend on our writer.
pub fn pcap_bytes(link_type: u32, frames: &[(i64, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend_from_slice(&link_type.to_le_bytes());
    for (ts_ns, data) in frames {
        out.extend_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((ts_ns % 1_000_000_000 / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out
}

/// Opens a case through the library's reader, the same way `osprey export`
/// does (the packet index is stored in a compact form only it decodes).
pub fn reader(case: &Path) -> osprey_analysis::store::CaseReader {
    osprey_analysis::store::CaseReader::open(case).expect("open case")
}

/// Every frame of the packet index, pkt_no 1..=N, where N is the number of
/// frames the `captures` table says were read: each read frame is indexed.
pub fn indexed_frames(case: &Path) -> Vec<osprey_analysis::store::PacketLocation> {
    let n: i64 = open_db(case)
        .query_row("SELECT COALESCE(SUM(packets), 0) FROM captures", [], |r| {
            r.get(0)
        })
        .expect("sum captures.packets");
    let nos: Vec<u64> = (1..=n as u64).collect();
    reader(case).locate(&nos).expect("locate every frame read")
}

/// (pkt_no, direction) of every frame of a flow, from the packet index.
pub fn flow_frames(r: &osprey_analysis::store::CaseReader, id: u64) -> Vec<(u64, u8)> {
    r.flow_packet_numbers(id).expect("frames of a flow")
}

/// Every table of the case database, each row as text, rows ordered by all
/// columns: a schema-agnostic dump for comparing two runs.
pub fn dump_all_tables(case: &Path) -> Vec<(String, Vec<String>)> {
    let db = open_db(case);
    let mut st = db
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .expect("list tables");
    let tables: Vec<String> = st
        .query_map([], |r| r.get(0))
        .expect("list tables")
        .collect::<Result<_, _>>()
        .expect("list tables");
    tables
        .into_iter()
        .map(|t| {
            let st = db
                .prepare(&format!("SELECT * FROM \"{t}\""))
                .expect("select");
            let n = st.column_count();
            let order: Vec<String> = (1..=n).map(|i| i.to_string()).collect();
            let mut st = db
                .prepare(&format!(
                    "SELECT * FROM \"{t}\" ORDER BY {}",
                    order.join(", ")
                ))
                .expect("select");
            let rows = st
                .query_map([], |r| {
                    (0..n)
                        .map(|i| r.get_ref(i).map(|v| format!("{v:?}")))
                        .collect::<Result<Vec<_>, _>>()
                        .map(|v| v.join("|"))
                })
                .expect("dump table")
                .collect::<Result<_, _>>()
                .expect("dump table");
            (t, rows)
        })
        .collect()
}

/// The corpus file `name`, or `None` (with a note) when it is absent.
pub fn corpus(name: &str) -> Option<PathBuf> {
    let p = corpus_dir().join(name);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("note: {} missing; part skipped", p.display());
        None
    }
}

/// A command's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses every line of `eve.jsonl`.
pub fn eve(case: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(case.join("eve.jsonl")).expect("read eve.jsonl");
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("eve.jsonl line {}: {e}: {l}", i + 1))
        })
        .collect()
}

/// Frames in a capture according to capinfos.
pub fn capinfos_count(file: &Path) -> u64 {
    let out = stdout_of(Command::new("capinfos").args(["-c", "-M"]).arg(file));
    out.lines()
        .find_map(|l| l.strip_prefix("Number of packets:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("capinfos -c {}: {out}", file.display()))
}

/// splitmix64: a small deterministic generator, so what a test generated
/// is rebuilt from its seed alone.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
