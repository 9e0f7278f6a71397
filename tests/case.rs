//! The case a run leaves behind: deterministic, EVE flow events consistent
//! with the database (and Community IDs with tshark's), and several inputs
//! merged in time order. Bad input is in `bad_input.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------- helpers

fn analyze_ok(inputs: &[&Path], case: &Path) {
    let out = analyze(inputs, case);
    assert!(
        out.status.success(),
        "analyze {inputs:?}: exit {:?}: {}",
        out.status.code(),
        stderr(&out)
    );
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Suricata's EVE time form, `YYYY-MM-DDTHH:MM:SS.ffffff+0000`, UTC,
/// microseconds truncated (Suricata prints `tv_usec`).
fn suricata_ts(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let micros = ns.rem_euclid(1_000_000_000) / 1000;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// True for `YYYY-MM-DDTHH:MM:SS.ffffff+0000` (shape only).
fn is_suricata_ts(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 31
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            26 => *c == b'+',
            _ => c.is_ascii_digit(),
        })
        && s.ends_with("+0000")
}

/// Community ID v1: `1:` + base64 of a SHA-1 digest (28 chars, one `=`).
fn is_community_id(s: &str) -> bool {
    let Some(b64) = s.strip_prefix("1:") else {
        return false;
    };
    b64.len() == 28
        && b64.ends_with('=')
        && b64[..27]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'+' || c == b'/')
}

/// Packets and wire bytes per (flow id, direction) in the packet index.
fn index_counts(case: &Path, flows: &[u64]) -> BTreeMap<(u64, u8), (u64, u64)> {
    let frames = indexed_frames(case);
    let r = reader(case);
    let mut out = BTreeMap::new();
    for id in flows {
        for (pkt_no, dir) in flow_frames(&r, *id) {
            let e: &mut (u64, u64) = out.entry((*id, dir)).or_default();
            e.0 += 1;
            e.1 += frames
                .get(pkt_no as usize - 1)
                .map_or(0, |f| u64::from(f.orig_len));
        }
    }
    out
}

/// Problems with one case's EVE file, checked against its database.
fn eve_problems(case: &Path) -> Vec<String> {
    let mut bad = Vec::new();
    let flows: BTreeMap<u64, FlowRow> = flow_rows(case).into_iter().map(|f| (f.id, f)).collect();
    let index = index_counts(case, &flows.keys().copied().collect::<Vec<_>>());
    let mut seen = BTreeSet::new();
    let mut anomaly_events = 0;
    let mut applayer_events = 0;
    for ev in eve(case) {
        match ev["event_type"].as_str() {
            Some("flow") => {}
            Some("anomaly") => {
                // Decode/stream anomalies are the `anomalies` table;
                // parsers' (`applayer`) ones are app records.
                if ev["anomaly"]["type"] == "applayer" {
                    applayer_events += 1;
                } else {
                    anomaly_events += 1;
                }
                let a = &ev["anomaly"];
                if !a["type"].is_string() || !a["event"].is_string() {
                    bad.push(format!("anomaly event without anomaly.type/event: {ev}"));
                }
                continue;
            }
            Some(_) => continue,
            None => {
                bad.push(format!("event without event_type: {ev}"));
                continue;
            }
        }
        let Some(id) = ev["flow_id"].as_u64() else {
            bad.push(format!("flow event without integer flow_id: {ev}"));
            continue;
        };
        if !seen.insert(id) {
            bad.push(format!("flow {id}: two flow events"));
        }
        let Some(row) = flows.get(&id) else {
            bad.push(format!(
                "flow {id}: in eve.jsonl but not in the flows table"
            ));
            continue;
        };
        let mut check = |what: &str, ok: bool| {
            if !ok {
                bad.push(format!("flow {id}: {what}: {ev}"));
            }
        };
        let ts = ev["timestamp"].as_str().unwrap_or("");
        check("timestamp form", is_suricata_ts(ts));
        check("timestamp = flow start", ts == suricata_ts(row.start_ns));
        let cid = ev["community_id"].as_str().unwrap_or("");
        check("community_id form", is_community_id(cid));
        check("community_id = table", cid == row.community_id);
        check("src_ip", ev["src_ip"].as_str() == Some(row.src_ip.as_str()));
        check(
            "dest_ip",
            ev["dest_ip"].as_str() == Some(row.dest_ip.as_str()),
        );
        let proto = ev["proto"].as_str().unwrap_or("");
        let want_proto = match row.proto {
            1 => Some("ICMP"),
            6 => Some("TCP"),
            17 => Some("UDP"),
            58 => Some("IPv6-ICMP"),
            _ => None,
        };
        check(
            "proto name",
            match want_proto {
                Some(p) => proto == p,
                None => !proto.is_empty() && !["TCP", "UDP", "ICMP", "IPv6-ICMP"].contains(&proto),
            },
        );
        if matches!(row.proto, 6 | 17) {
            check(
                "src_port",
                ev["src_port"].as_u64() == Some(u64::from(row.src_port)),
            );
            check(
                "dest_port",
                ev["dest_port"].as_u64() == Some(u64::from(row.dest_port)),
            );
        }
        check(
            "app_proto",
            ev["app_proto"].as_str() == Some(row.app_proto.as_str()),
        );
        let f = &ev["flow"];
        let n = |k: &str| f[k].as_u64();
        check(
            "flow.pkts_toserver",
            n("pkts_toserver") == Some(row.pkts_toserver),
        );
        check(
            "flow.pkts_toclient",
            n("pkts_toclient") == Some(row.pkts_toclient),
        );
        check(
            "flow.bytes_toserver",
            n("bytes_toserver") == Some(row.bytes_toserver),
        );
        check(
            "flow.bytes_toclient",
            n("bytes_toclient") == Some(row.bytes_toclient),
        );
        let start = f["start"].as_str().unwrap_or("");
        let end = f["end"].as_str().unwrap_or("");
        check("flow.start form", is_suricata_ts(start));
        check("flow.end form", is_suricata_ts(end));
        check("flow.start = start_ns", start == suricata_ts(row.start_ns));
        check("flow.end = end_ns", end == suricata_ts(row.end_ns));
        let state = f["state"].as_str().unwrap_or("");
        check(
            "flow.state in {new, established, closed}",
            ["new", "established", "closed"].contains(&state),
        );
        check("flow.state = table", state == row.state);
        // The counters agree with the packet index, per direction.
        let (p0, b0) = index.get(&(id, 0)).copied().unwrap_or_default();
        let (p1, b1) = index.get(&(id, 1)).copied().unwrap_or_default();
        if (row.pkts_toserver, row.pkts_toclient) != (p0, p1) {
            bad.push(format!(
                "flow {id}: pkts toserver/toclient {}/{} but the packet index has {p0}/{p1} rows",
                row.pkts_toserver, row.pkts_toclient
            ));
        }
        if (row.bytes_toserver, row.bytes_toclient) != (b0, b1) {
            bad.push(format!(
                "flow {id}: bytes toserver/toclient {}/{} but the packet index sums {b0}/{b1}",
                row.bytes_toserver, row.bytes_toclient
            ));
        }
    }
    for id in flows.keys() {
        if !seen.contains(id) {
            bad.push(format!("flow {id}: no flow event in eve.jsonl"));
        }
    }
    let anomalies: i64 = open_db(case)
        .query_row("SELECT COUNT(*) FROM anomalies", [], |r| r.get(0))
        .unwrap();
    let anomalies = anomalies as usize;
    let applayer: i64 = open_db(case)
        .query_row(
            "SELECT COUNT(*) FROM app_events WHERE event_type = 'anomaly'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    if applayer as usize != applayer_events {
        bad.push(format!(
            "{applayer_events} applayer anomaly events in eve.jsonl, {applayer} in app_events"
        ));
    }
    if anomalies != anomaly_events {
        bad.push(format!(
            "{anomaly_events} anomaly events in eve.jsonl, {anomalies} rows in anomalies"
        ));
    }
    bad
}

// ---------------------------------------------------------------- determinism

#[test]
fn analysing_the_same_input_twice_gives_identical_cases() {
    let names = [
        "ndpi__1kxun.pcap",
        "ndpi__dns_fragmented.pcap",
        "stopddos__amp.dns.RRSIG.fragmented.pcap",
        "ndpi__vxlan.pcap",
        "suricata__ipv6-evasion_ipv6-malformed-fragments-1.pcap",
        "ndpi__synscan.pcap",
    ];
    let tmp = tempfile::tempdir().unwrap();
    for name in names {
        let Some(file) = corpus(name) else { continue };
        let (a, b) = (
            tmp.path().join(format!("{name}.a")),
            tmp.path().join(format!("{name}.b")),
        );
        analyze_ok(&[&file], &a);
        analyze_ok(&[&file], &b);
        let (da, db) = (dump_all_tables(&a), dump_all_tables(&b));
        let names_a: Vec<&String> = da.iter().map(|t| &t.0).collect();
        let names_b: Vec<&String> = db.iter().map(|t| &t.0).collect();
        assert_eq!(names_a, names_b, "{name}: tables");
        for ((table, ra), (_, rb)) in da.iter().zip(&db) {
            if let Some(i) = (0..ra.len().max(rb.len())).find(|&i| ra.get(i) != rb.get(i)) {
                panic!(
                    "{name}: table {table} differs between two runs ({} vs {} rows); first at row {}:\n  {:?}\n  {:?}",
                    ra.len(),
                    rb.len(),
                    i + 1,
                    ra.get(i),
                    rb.get(i)
                );
            }
        }
        let (ea, eb) = (
            std::fs::read_to_string(a.join("eve.jsonl")).unwrap(),
            std::fs::read_to_string(b.join("eve.jsonl")).unwrap(),
        );
        if let Some((i, (la, lb))) = ea
            .lines()
            .zip(eb.lines())
            .enumerate()
            .find(|(_, (la, lb))| la != lb)
        {
            panic!(
                "{name}: eve.jsonl differs at line {}:\n  {la}\n  {lb}",
                i + 1
            );
        }
        assert_eq!(ea, eb, "{name}: eve.jsonl differs between two runs");
    }
}

// ---------------------------------------------------------------- EVE

#[test]
fn eve_flow_events_are_valid_and_match_the_database() {
    let files = corpus_files();
    if files.is_empty() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (i, file) in files.iter().enumerate() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let case = tmp.path().join(format!("case{i}"));
        if !analyze(&[file], &case).status.success() {
            continue; // refusals are corpus.rs's business
        }
        checked += 1;
        problems.extend(
            eve_problems(&case)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
        std::fs::remove_dir_all(&case).ok();
    }
    assert!(checked > 0);
    assert!(
        problems.is_empty(),
        "{} EVE problem(s) in {checked} cases (first 40):\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// tshark 4.0 has the `communityid` post-dissector (off by default): enabled
/// with `--enable-protocol communityid`, it prints `-e communityid` per frame.
/// It hashes only the innermost tuple of a frame, so the outer flow of a
/// VXLAN/Geneve tunnel has no tshark counterpart: such captures are not
/// listed here, and decapsulated (`tunnel`) flows are left out.
#[test]
fn community_ids_of_tcp_udp_and_icmp_flows_match_tshark() {
    require("tshark");
    let tmp = tempfile::tempdir().unwrap();
    let mut compared = 0;
    for name in [
        "ndpi__1kxun.pcap",
        "ndpi__http_ipv6.pcap",
        "zeek__http_bro.org.pcap",
        "suricata__ssh-hassh.pcap",
        "zeek__icmp_5-pings.pcap",
        "tcpdump__icmpv6.pcap",
    ] {
        let Some(file) = corpus(name) else { continue };
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&file)
            .args([
                "--enable-protocol",
                "communityid",
                "-T",
                "fields",
                "-e",
                "communityid",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "tshark: {}", stderr(&out));
        let theirs: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .flat_map(|l| l.split(','))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        assert!(!theirs.is_empty(), "{name}: tshark printed no communityid");
        let case = tmp.path().join(name);
        analyze_ok(&[&file], &case);
        for f in flow_rows(&case) {
            if !matches!(f.proto, 1 | 6 | 17 | 58) || f.tunnel.is_some() {
                continue;
            }
            compared += 1;
            assert!(
                theirs.contains(&f.community_id),
                "{name}: flow {} {} {}:{} -> {}:{} community_id {} is not one tshark computes",
                f.id,
                f.proto,
                f.src_ip,
                f.src_port,
                f.dest_ip,
                f.dest_port,
                f.community_id
            );
        }
    }
    println!("{compared} community ids compared with tshark");
}

// ---------------------------------------------------------------- merging

/// Checks a merged run against the single-file run of the same frames.
fn assert_merged_like_single(name: &str, single: &Path, merged: &Path, parts: &[PathBuf]) {
    // Captures are listed in the order given, each with its frame count.
    let db = open_db(merged);
    let mut st = db
        .prepare("SELECT path, packets FROM captures ORDER BY id")
        .unwrap();
    let caps: Vec<(String, u64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        caps.len(),
        parts.len(),
        "{name}: one captures row per input"
    );
    for ((path, n), part) in caps.iter().zip(parts) {
        let part_name = part.file_name().unwrap().to_string_lossy();
        assert!(
            path.ends_with(&*part_name),
            "{name}: captures order: {path} vs {part_name}"
        );
        assert_eq!(
            *n,
            capinfos_count(part),
            "{name}: frames read from {part_name}"
        );
    }
    // Frame numbers follow time.
    let ts: Vec<(u64, i64)> = indexed_frames(merged)
        .iter()
        .map(|f| (f.pkt_no, f.ts_ns))
        .collect();
    let total: u64 = parts.iter().map(|p| capinfos_count(p)).sum();
    assert_eq!(ts.len() as u64, total, "{name}: every frame indexed once");
    assert!(
        ts.iter().enumerate().all(|(i, (n, _))| *n == i as u64 + 1),
        "{name}: pkt_no runs 1..=N"
    );
    if let Some(w) = ts.windows(2).find(|w| w[1].1 < w[0].1) {
        panic!(
            "{name}: pkt_no {} at {} ns follows pkt_no {} at {} ns",
            w[1].0, w[1].1, w[0].0, w[0].1
        );
    }
    // Same flows as the single-file run.
    for proto in [1u8, 6, 17, 58] {
        assert_eq!(
            flow_count(merged, proto),
            flow_count(single, proto),
            "{name}: proto {proto} flow count, merged vs single file"
        );
    }
    let key = |f: &FlowRow| {
        let mut j = f.to_json();
        j.as_object_mut().unwrap().remove("id");
        j.to_string()
    };
    let a: BTreeSet<String> = flow_rows(single).iter().map(key).collect();
    let b: BTreeSet<String> = flow_rows(merged).iter().map(key).collect();
    let only_single: Vec<&String> = a.difference(&b).take(3).collect();
    let only_merged: Vec<&String> = b.difference(&a).take(3).collect();
    assert!(
        only_single.is_empty() && only_merged.is_empty(),
        "{name}: flows differ (ids aside).\nonly single-file run: {only_single:#?}\nonly merged run: {only_merged:#?}"
    );
}

#[test]
fn several_inputs_are_merged_in_timestamp_order() {
    require("editcap");
    require("capinfos");
    require("tcpdump");
    let Some(file) = corpus("ndpi__1kxun.pcap") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let single = tmp.path().join("single");
    analyze_ok(&[&file], &single);

    // 1. Consecutive chunks (`editcap -c`), given last chunk first.
    let chunks = tmp.path().join("chunks");
    std::fs::create_dir(&chunks).unwrap();
    let st = Command::new("editcap")
        .args(["-c", "700"])
        .arg(&file)
        .arg(chunks.join("part.pcap"))
        .status()
        .unwrap();
    assert!(st.success(), "editcap -c");
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&chunks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    parts.sort();
    assert!(parts.len() >= 2, "editcap made {} parts", parts.len());
    parts.reverse();
    let merged = tmp.path().join("merged");
    let refs: Vec<&Path> = parts.iter().map(PathBuf::as_path).collect();
    analyze_ok(&refs, &merged);
    assert_merged_like_single("editcap -c chunks, reversed", &single, &merged, &parts);

    // 2. Interleaved in time: TCP frames in one file, the rest in another.
    let (tcp, rest) = (tmp.path().join("tcp.pcap"), tmp.path().join("rest.pcap"));
    tcpdump_select(&file, "tcp", &tcp).unwrap();
    tcpdump_select(&file, "not tcp", &rest).unwrap();
    let parts = vec![rest, tcp];
    let merged = tmp.path().join("interleaved");
    analyze_ok(&[&parts[0], &parts[1]], &merged);
    assert_merged_like_single("tcp / not tcp split", &single, &merged, &parts);
}
