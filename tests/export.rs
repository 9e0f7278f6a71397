//! `osprey export` against an independent oracle: for every corpus capture,
//! each plain TCP/UDP flow's export must hold exactly the frames that
//! `tcpdump -w` selects from the original capture with a BPF filter for the
//! flow's 5-tuple, byte for byte, with the same timestamps and wire lengths.
//!
//! Principled differences, each handled explicitly:
//! - IP fragments: a non-first fragment carries no ports, so a BPF port
//!   filter cannot select it (nor an IPv6 first fragment, whose ports sit
//!   behind the Fragment header), while the flow owns the whole datagram.
//!   Our export may hold extra frames only if every extra frame is an IP
//!   fragment, checked on the frame's own bytes.
//! - Flows that share a 5-tuple (port reuse, timeouts): tcpdump cannot tell
//!   them apart, so the whole group is exported at once and compared.
//! - Flows with `vlan` or `tunnel` set are not tested (a plain BPF filter
//!   does not look into tags or inner headers). PPPoE and MPLS frames get
//!   libpcap's `pppoes` / `mpls` prefix, read from the frame bytes.
//! - Captures tcpdump cannot filter (several link types in one pcapng,
//!   BPF errors) are skipped with the reason printed.
//!
//! Large captures are sampled: at most `MAX_GROUPS` evenly spaced 5-tuples
//! per capture, so the test stays well under three minutes in debug builds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Most 5-tuples compared per capture.
const MAX_GROUPS: usize = 40;

type Frame = (i64, u32, Vec<u8>);

/// What happened to one capture.
enum Outcome {
    /// Compared `groups` of `eligible` 5-tuples (`frag_extra` frames were
    /// fragment-only extras); failures listed.
    Compared {
        groups: usize,
        eligible: usize,
        frag_extra: usize,
        failures: Vec<String>,
    },
    Skipped(String),
}

/// A 5-tuple as an unordered pair of endpoints.
type TupleKey = (u8, (String, u16), (String, u16));

fn tuple_key(f: &FlowRow) -> TupleKey {
    let a = (f.src_ip.clone(), f.src_port);
    let b = (f.dest_ip.clone(), f.dest_port);
    if a <= b {
        (f.proto, a, b)
    } else {
        (f.proto, b, a)
    }
}

/// libpcap prefix for the encapsulation between the link header and IP
/// (`pppoes and `, `mpls and ` per label), read from a frame's bytes.
fn encap_prefix(link_type: u32, data: &[u8]) -> String {
    let mut prefix = String::new();
    if link_type != 1 || data.len() < 14 {
        return prefix;
    }
    let mut ethertype = u16::from_be_bytes([data[12], data[13]]);
    let mut rest = &data[14..];
    loop {
        match ethertype {
            0x8864 if rest.len() >= 8 => {
                prefix.push_str("pppoes and ");
                return prefix;
            }
            0x8847 => {
                while rest.len() >= 4 {
                    prefix.push_str("mpls and ");
                    let bottom = rest[2] & 1 == 1;
                    rest = &rest[4..];
                    if bottom {
                        break;
                    }
                }
                return prefix;
            }
            0x8100 | 0x88a8 | 0x9100 if rest.len() >= 4 => {
                prefix.push_str("vlan and ");
                ethertype = u16::from_be_bytes([rest[2], rest[3]]);
                rest = &rest[4..];
            }
            _ => return prefix,
        }
    }
}

/// Exact BPF filter for one 5-tuple in both directions. Written with
/// `src`/`dst` so that A == B or P == Q cannot widen it to other flows.
fn bpf_for(key: &TupleKey) -> String {
    let (proto, (a, p), (b, q)) = key;
    let l3 = if a.contains(':') { "ip6" } else { "ip" };
    let l4 = if *proto == 6 { "tcp" } else { "udp" };
    format!(
        "{l3} and {l4} and ((src host {a} and src port {p} and dst host {b} and dst port {q}) \
         or (src host {b} and src port {q} and dst host {a} and dst port {p}))"
    )
}

/// Compares our export with tcpdump's selection. `Ok(n)` = equal except
/// for `n` extra frames that are all IP fragments.
fn compare(link_type: u32, ours: &[Frame], theirs: &[Frame]) -> Result<usize, String> {
    let mut j = 0;
    let mut extra_frag = 0;
    let mut extra_other = Vec::new();
    for (i, f) in ours.iter().enumerate() {
        if j < theirs.len() && *f == theirs[j] {
            j += 1;
        } else if is_ip_fragment(link_type, &f.2) {
            extra_frag += 1;
        } else {
            extra_other.push(i + 1);
        }
    }
    let missing = theirs.len() - j;
    if extra_other.is_empty() && missing == 0 {
        return Ok(extra_frag);
    }
    let describe = |f: &Frame| format!("ts_ns {} orig_len {} caplen {}", f.0, f.1, f.2.len());
    let mut msg = format!(
        "export has {} frames, tcpdump {}; ",
        ours.len(),
        theirs.len()
    );
    if !extra_other.is_empty() {
        let shown: Vec<String> = extra_other
            .iter()
            .take(5)
            .map(|&i| format!("#{i} ({})", describe(&ours[i - 1])))
            .collect();
        msg += &format!(
            "{} extra non-fragment frame(s) in export: {}; ",
            extra_other.len(),
            shown.join(", ")
        );
    }
    if missing > 0 {
        msg += &format!(
            "{missing} tcpdump frame(s) missing from export, first: tcpdump #{} ({})",
            j + 1,
            describe(&theirs[j])
        );
    }
    Err(msg)
}

/// Analyses one capture and compares the exports of its plain TCP/UDP flows.
fn check_capture(file: &Path, work: &Path) -> Outcome {
    let case = work.join("case");
    let out = analyze(&[file], &case);
    if !out.status.success() {
        return Outcome::Skipped(format!(
            "analyze exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let links: Vec<u32> = indexed_frames(&case)
        .iter()
        .map(|f| f.link_type)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if links.len() != 1 {
        return Outcome::Skipped(format!(
            "link types {links:?}: tcpdump reads one link type per file"
        ));
    }
    let link = links[0];
    let mut groups: BTreeMap<TupleKey, Vec<FlowRow>> = BTreeMap::new();
    for f in flow_rows(&case) {
        if matches!(f.proto, 6 | 17) && f.vlan.is_none() && f.tunnel.is_none() {
            groups.entry(tuple_key(&f)).or_default().push(f);
        }
    }
    let eligible = groups.len();
    if eligible == 0 {
        return Outcome::Skipped("no TCP/UDP flow without vlan/tunnel".into());
    }
    let step = eligible.div_ceil(MAX_GROUPS);
    let mut failures = Vec::new();
    let mut frag_extra = 0;
    let mut compared = 0;
    for (n, (key, flows)) in groups.iter().enumerate() {
        if n % step != 0 {
            continue;
        }
        let ids: Vec<u64> = flows.iter().map(|f| f.id).collect();
        let ours_path = work.join(format!("ours{n}.pcap"));
        let e = export(&case, &ids, &ours_path);
        if !e.status.success() {
            failures.push(format!(
                "flows {ids:?} {key:?}: export exit {:?}: {}",
                e.status.code(),
                String::from_utf8_lossy(&e.stderr).trim()
            ));
            continue;
        }
        let ours = frames(&ours_path);
        // The flow counters count a defragmented datagram once, while the
        // export holds each of its fragment frames: only fragments may make
        // up the surplus (the exact counter/index relation is in case.rs).
        let want: u64 = flows
            .iter()
            .map(|f| f.pkts_toserver + f.pkts_toclient)
            .sum();
        let frag_frames = ours.iter().filter(|f| is_ip_fragment(link, &f.2)).count() as u64;
        let have = ours.len() as u64;
        if have < want || have - want > frag_frames {
            failures.push(format!(
                "flows {ids:?} {key:?}: export has {have} frames ({frag_frames} fragments), \
                 flows table counts {want} packets"
            ));
        }
        if compared == 0 {
            if let Err(e) = tshark_reads_ok(&ours_path) {
                failures.push(format!("flows {ids:?}: tshark cannot read the export: {e}"));
            }
        }
        let prefix = ours
            .first()
            .map_or(String::new(), |f| encap_prefix(link, &f.2));
        if prefix.contains("vlan") {
            // A frame is tagged although the flow has no `vlan`: the filter
            // would need `vlan`, which the flow record says is absent.
            failures.push(format!(
                "flows {ids:?} {key:?}: VLAN-tagged frames but the flow has no vlan"
            ));
            continue;
        }
        let filter = format!("{prefix}{}", bpf_for(key));
        let theirs_path = work.join(format!("theirs{n}.pcap"));
        if let Err(e) = tcpdump_select(file, &filter, &theirs_path) {
            return Outcome::Skipped(format!("tcpdump cannot filter it: {e}"));
        }
        let theirs = frames(&theirs_path);
        match compare(link, &ours, &theirs) {
            Ok(n) => frag_extra += n,
            Err(e) => failures.push(format!("flows {ids:?} {key:?}: {e} [filter: {filter}]")),
        }
        compared += 1;
    }
    Outcome::Compared {
        groups: compared,
        eligible,
        frag_extra,
        failures,
    }
}

#[test]
fn export_equals_tcpdump_selection_for_every_corpus_capture() {
    let files = corpus_files();
    if files.is_empty() {
        return;
    }
    require("tcpdump");
    require("tshark");
    let tmp = tempfile::tempdir().unwrap();
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(file) = files.get(i) else { break };
                let work = tmp.path().join(format!("c{i}"));
                std::fs::create_dir_all(&work).unwrap();
                let outcome = check_capture(file, &work);
                std::fs::remove_dir_all(&work).ok();
                results.lock().unwrap().push((i, outcome));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(i, _)| *i);
    let (mut captures, mut groups_total, mut frag_total) = (0, 0, 0);
    let mut failures = Vec::new();
    for (i, outcome) in &results {
        let name = files[*i].file_name().unwrap().to_string_lossy();
        match outcome {
            Outcome::Skipped(why) => println!("skip {name}: {why}"),
            Outcome::Compared {
                groups,
                eligible,
                frag_extra,
                failures: f,
            } => {
                println!(
                    "{name}: {groups}/{eligible} 5-tuples compared, {frag_extra} fragment-only \
                     extra frames, {} failure(s)",
                    f.len()
                );
                captures += 1;
                groups_total += groups;
                frag_total += frag_extra;
                failures.extend(f.iter().map(|m| format!("{name}: {m}")));
            }
        }
    }
    println!("{captures} captures, {groups_total} 5-tuples compared, {frag_total} fragment extras");
    assert!(
        captures >= 30,
        "only {captures} captures could be compared with tcpdump"
    );
    assert!(
        failures.is_empty(),
        "{} export(s) differ from tcpdump's selection:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Analyses `name` from the corpus into `dir/case`, or `None` without corpus.
fn corpus_case(name: &str, dir: &Path) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let file = corpus_dir().join(name);
    if !file.is_file() {
        eprintln!("note: {} missing; test skipped", file.display());
        return None;
    }
    let case = dir.join("case");
    let out = analyze(&[&file], &case);
    assert!(
        out.status.success(),
        "analyze {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((file, case))
}

/// Plain TCP/UDP flows of a case, one per 5-tuple (the first), by id.
fn plain_flows(case: &Path) -> Vec<FlowRow> {
    let mut seen = BTreeMap::new();
    for f in flow_rows(case) {
        if matches!(f.proto, 6 | 17) && f.vlan.is_none() && f.tunnel.is_none() {
            seen.entry(tuple_key(&f)).or_insert(f);
        }
    }
    let mut v: Vec<FlowRow> = seen.into_values().collect();
    v.sort_by_key(|f| f.id);
    v
}

#[test]
fn pcapng_export_has_the_same_frames_as_tcpdump_and_tshark_reads_it() {
    require("tcpdump");
    require("tshark");
    let tmp = tempfile::tempdir().unwrap();
    let Some((file, case)) = corpus_case("ndpi__1kxun.pcap", tmp.path()) else {
        return;
    };
    let flow = plain_flows(&case)
        .into_iter()
        .max_by_key(|f| (f.pkts_toserver + f.pkts_toclient, std::cmp::Reverse(f.id)))
        .expect("a TCP/UDP flow");
    let ng = tmp.path().join("flow.pcapng");
    let e = export(&case, &[flow.id], &ng);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let magic = std::fs::read(&ng).unwrap();
    assert_eq!(
        magic.get(..4),
        Some(&[0x0a, 0x0d, 0x0d, 0x0a][..]),
        "a .pcapng export starts with a Section Header Block"
    );
    tshark_reads_ok(&ng).unwrap();
    let theirs_path = tmp.path().join("theirs.pcap");
    tcpdump_select(&file, &bpf_for(&tuple_key(&flow)), &theirs_path).unwrap();
    let theirs = frames(&theirs_path);
    assert!(!theirs.is_empty());
    // The frames are fragments-free here, so no extras are allowed.
    assert_eq!(compare(1, &frames(&ng), &theirs), Ok(0), "flow {flow:?}");
    // tshark agrees on the frame count of the pcapng export.
    let n = stdout_of(std::process::Command::new("tshark").arg("-r").arg(&ng))
        .lines()
        .count();
    assert_eq!(n, theirs.len(), "tshark frame count of the pcapng export");
}

#[test]
fn exporting_two_flows_gives_the_union_in_capture_order() {
    require("tcpdump");
    let tmp = tempfile::tempdir().unwrap();
    let Some((file, case)) = corpus_case("ndpi__1kxun.pcap", tmp.path()) else {
        return;
    };
    // Two flows whose packets interleave in time, so order matters.
    let flows = plain_flows(&case);
    let (a, b) = flows
        .iter()
        .flat_map(|a| flows.iter().map(move |b| (a, b)))
        .find(|(a, b)| {
            a.id < b.id
                && b.start_ns < a.end_ns
                && a.pkts_toserver + a.pkts_toclient >= 3
                && b.pkts_toserver + b.pkts_toclient >= 3
        })
        .expect("two overlapping flows");
    let ours_path = tmp.path().join("two.pcap");
    // Given in reverse id order: the output is still in capture order.
    let e = export(&case, &[b.id, a.id], &ours_path);
    assert!(e.status.success(), "{}", String::from_utf8_lossy(&e.stderr));
    let filter = format!(
        "({}) or ({})",
        bpf_for(&tuple_key(a)),
        bpf_for(&tuple_key(b))
    );
    let theirs_path = tmp.path().join("theirs.pcap");
    tcpdump_select(&file, &filter, &theirs_path).unwrap();
    let (ours, theirs) = (frames(&ours_path), frames(&theirs_path));
    assert_eq!(
        ours.len() as u64,
        a.pkts_toserver + a.pkts_toclient + b.pkts_toserver + b.pkts_toclient
    );
    assert_eq!(
        compare(1, &ours, &theirs),
        Ok(0),
        "flows {} and {}",
        a.id,
        b.id
    );
    // Union of the single-flow exports, merged by time, is the same list.
    let one = |f: &FlowRow| {
        let p = tmp.path().join(format!("one{}.pcap", f.id));
        assert!(export(&case, &[f.id], &p).status.success());
        frames(&p)
    };
    let mut union = one(a);
    union.extend(one(b));
    union.sort_by_key(|f| f.0);
    let ts: Vec<i64> = ours.iter().map(|f| f.0).collect();
    assert_eq!(ts, union.iter().map(|f| f.0).collect::<Vec<_>>());
    // The same flow twice is exported once.
    let dup = tmp.path().join("dup.pcap");
    assert!(export(&case, &[a.id, a.id], &dup).status.success());
    assert_eq!(
        frames(&dup).len() as u64,
        a.pkts_toserver + a.pkts_toclient,
        "a flow given twice is written once"
    );
}
