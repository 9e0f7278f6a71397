//! Evasion (hardening): a SQL injection sent with the classic IDS
//! evasions (Ptacek & Newsham 1998) — overlapping TCP segments with
//! different data in either order, insertion of a decoy segment the host
//! would drop (bad checksum, or a TTL that expires before the host), and
//! overlapping IP fragments with different data. Hosts disagree on which
//! copy wins, so Osprey cannot know what the server saw; the bar is that
//! it never misses silently: either the attack is detected, or the flow
//! carries an overlap anomaly (`flows.overlap_conflicts`, or a
//! `frag_overlap` alert for fragments). Controls: the same attack sent
//! plainly is detected, and a plain benign request raises nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use etherparse::PacketBuilder;
use std::collections::BTreeMap;

const CLIENT: [u8; 4] = [10, 9, 0, 2];
const SERVER: [u8; 4] = [10, 9, 0, 80];
const ATTACK: &[u8] =
    b"GET /item?id=1%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1\r\nHost: shop\r\n\r\n";
/// A benign request of the same length (the decoy for the overlaps).
fn benign() -> Vec<u8> {
    let mut b = b"GET /item?id=1".to_vec();
    let tail = b" HTTP/1.1\r\nHost: shop\r\n\r\n";
    b.resize(ATTACK.len() - tail.len(), b'a');
    b.extend_from_slice(tail);
    assert_eq!(b.len(), ATTACK.len());
    b
}

struct Seg<'a> {
    seq_off: u32,
    data: &'a [u8],
    ttl: u8,
    bad_checksum: bool,
}

fn seg(seq_off: u32, data: &[u8]) -> Seg<'_> {
    Seg {
        seq_off,
        data,
        ttl: 64,
        bad_checksum: false,
    }
}

/// One TCP frame client→server (`to_server`) or back.
fn tcp_frame(
    (client, port): ([u8; 4], u16),
    to_server: bool,
    seq: u32,
    ack: Option<u32>,
    flags: &str,
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    let (src, dst, sp, dp) = if to_server {
        (client, SERVER, port, 80)
    } else {
        (SERVER, client, 80, port)
    };
    let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, ttl)
        .tcp(sp, dp, seq, 64_240);
    if let Some(a) = ack {
        b = b.ack(a);
    }
    if flags.contains('S') {
        b = b.syn();
    }
    if flags.contains('P') {
        b = b.psh();
    }
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// A connection whose request is sent as `segs` (offsets from the first
/// payload byte); returns its frames.
fn connection(client: [u8; 4], port: u16, segs: &[Seg<'_>]) -> Vec<Vec<u8>> {
    let (c0, s0) = (1_000u32, 5_000u32);
    let mut f = vec![
        tcp_frame((client, port), true, c0, None, "S", 64, b""),
        tcp_frame((client, port), false, s0, Some(c0 + 1), "S", 64, b""),
        tcp_frame((client, port), true, c0 + 1, Some(s0 + 1), "", 64, b""),
    ];
    for s in segs {
        let mut fr = tcp_frame(
            (client, port),
            true,
            c0 + 1 + s.seq_off,
            Some(s0 + 1),
            "P",
            s.ttl,
            s.data,
        );
        if s.bad_checksum {
            // TCP checksum: Ethernet 14 + IPv4 20 + 16
            fr[14 + 20 + 16] ^= 0x5a;
        }
        f.push(fr);
    }
    f.push(tcp_frame(
        (client, port),
        false,
        s0 + 1,
        Some(c0 + 1 + ATTACK.len() as u32),
        "",
        64,
        b"",
    ));
    f
}

fn ipv4_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The request segment of a connection sent as IP fragments: the rest
/// of the payload twice at the same offset (the decoy first), then the
/// TCP header and the first 16 payload bytes.
fn fragmented(client: [u8; 4], port: u16, first: &[u8], second: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = connection(client, port, &[]);
    let last_ack = frames.pop().unwrap();
    let whole = tcp_frame((client, port), true, 1_001, Some(5_001), "P", 64, first);
    let decoy_tcp = &whole[14 + 20..];
    let real = tcp_frame((client, port), true, 1_001, Some(5_001), "P", 64, second);
    let real_tcp = &real[14 + 20..];
    let frag = |data: &[u8], off: usize, more: bool| {
        let mut ip = whole[14..14 + 20].to_vec();
        ip[2..4].copy_from_slice(&((20 + data.len()) as u16).to_be_bytes());
        let fo = (off / 8) as u16 | if more { 0x2000 } else { 0 };
        ip[6..8].copy_from_slice(&fo.to_be_bytes());
        ip[10..12].copy_from_slice(&[0, 0]);
        let c = ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut f = whole[..14].to_vec();
        f.extend_from_slice(&ip);
        f.extend_from_slice(data);
        f
    };
    let cut = 20 + 16; // TCP header + 16 payload bytes, a multiple of 8
                       // tails first, so both copies are held before the head completes
                       // the datagram
    frames.push(frag(&decoy_tcp[cut..], cut, false));
    frames.push(frag(&real_tcp[cut..], cut, false));
    frames.push(frag(&decoy_tcp[..cut], 0, true));
    frames.push(last_ack);
    frames
}

#[test]
fn evasions_are_detected_or_flagged_never_missed_silently() {
    let decoy = benign();
    let half = (ATTACK.len() / 2) as u32;
    type Scenario = (&'static str, [u8; 4], u16, Vec<Vec<u8>>);
    let mut scenarios: Vec<Scenario> = Vec::new();
    let mut add = |name, client, port, frames| scenarios.push((name, client, port, frames));
    add(
        "control: attack sent plainly",
        CLIENT,
        40_001,
        connection(CLIENT, 40_001, &[seg(0, ATTACK)]),
    );
    add(
        "control: benign request",
        CLIENT,
        40_002,
        connection(CLIENT, 40_002, &[seg(0, &decoy)]),
    );
    add(
        "overlap, decoy first",
        CLIENT,
        40_003,
        connection(CLIENT, 40_003, &[seg(0, &decoy), seg(0, ATTACK)]),
    );
    add(
        "overlap, attack first",
        CLIENT,
        40_004,
        connection(CLIENT, 40_004, &[seg(0, ATTACK), seg(0, &decoy)]),
    );
    add(
        "partial overlap, decoy head then attack",
        CLIENT,
        40_005,
        connection(
            CLIENT,
            40_005,
            &[
                seg(0, &decoy[..half as usize + 8]),
                seg(half, &ATTACK[half as usize..]),
                seg(0, &ATTACK[..half as usize]),
            ],
        ),
    );
    add(
        "insertion: decoy with a bad TCP checksum",
        CLIENT,
        40_006,
        connection(
            CLIENT,
            40_006,
            &[
                Seg {
                    bad_checksum: true,
                    ..seg(0, &decoy)
                },
                seg(0, ATTACK),
            ],
        ),
    );
    add(
        "insertion: decoy with TTL 1",
        CLIENT,
        40_007,
        connection(
            CLIENT,
            40_007,
            &[
                Seg {
                    ttl: 1,
                    ..seg(0, &decoy)
                },
                seg(0, ATTACK),
            ],
        ),
    );
    let frag_client = [10, 9, 0, 3];
    add(
        "IP fragments overlapping, decoy first",
        frag_client,
        40_008,
        fragmented(frag_client, 40_008, &decoy, ATTACK),
    );

    let mut frames = Vec::new();
    let mut ts = 1_700_000_000_000_000_000i64;
    for (_, _, _, fs) in &scenarios {
        for f in fs {
            ts += 1_000_000;
            frames.push((ts, f.clone()));
        }
    }
    let refs: Vec<(i64, &[u8])> = frames.iter().map(|(t, f)| (*t, f.as_slice())).collect();
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("evasion.pcap");
    std::fs::write(&pcap, common::pcap_bytes(1, &refs)).unwrap();
    let case = dir.path().join("case");
    let out = common::analyze(&[&pcap], &case);
    assert!(out.status.success(), "{out:?}");

    let db = common::open_db(&case);
    // by client port: sql_injection alerts and the flow's overlap count
    let mut sqli: BTreeMap<i64, u32> = BTreeMap::new();
    let mut st = db
        .prepare(
            "SELECT f.src_port FROM alerts a JOIN flows f ON f.id = a.flow_id \
             WHERE a.category = 'sql_injection'",
        )
        .unwrap();
    for p in st.query_map([], |r| r.get::<_, i64>(0)).unwrap() {
        *sqli.entry(p.unwrap()).or_default() += 1;
    }
    let conflicts: BTreeMap<i64, i64> = db
        .prepare("SELECT src_port, overlap_conflicts FROM flows WHERE proto = 6")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let frag_alerts: Vec<String> = db
        .prepare("SELECT src_ip FROM alerts WHERE category IN ('frag_overlap', 'teardrop')")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let benign_alerts: i64 = db
        .query_row(
            "SELECT count(*) FROM alerts a JOIN flows f ON f.id = a.flow_id WHERE f.src_port = 40002",
            [],
            |r| r.get(0),
        )
        .unwrap();

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (name, client, port, _) in &scenarios {
        let p = i64::from(*port);
        let detected = sqli.contains_key(&p);
        let overlap = conflicts.get(&p).copied().unwrap_or(0) > 0;
        let ip = std::net::Ipv4Addr::from(*client).to_string();
        let frag = *client != CLIENT && frag_alerts.contains(&ip);
        report.push(format!(
            "{name}: sql_injection={detected} overlap_conflicts={overlap} frag_overlap={frag}"
        ));
        let ok = match *name {
            "control: attack sent plainly" => detected && !overlap,
            "control: benign request" => !detected && !overlap,
            _ => detected || overlap || frag,
        };
        if !ok {
            failures.push(*name);
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        failures.is_empty(),
        "failed: {failures:?}\n{}",
        report.join("\n")
    );
    // the benign control raised nothing at all
    assert_eq!(benign_alerts, 0);
}
