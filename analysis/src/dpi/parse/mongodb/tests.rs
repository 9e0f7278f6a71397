//! Tests: the real `ndpi__mongodb.pcap` (client requests only; ground
//! truth from `tshark -d tcp.port==30000,mongo -T fields -e
//! mongo.full_collection_name -e mongo.element.name -e mongo.request_id`)
//! and hand-made OP_MSG exchanges built from the wire protocol spec.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, shared_convos, whole, Convo};

fn txs(r: Vec<AppRecord>) -> Vec<MongodbTx> {
    r.into_iter()
        .map(|r| match r {
            AppRecord::Mongodb(t) => t,
            o => panic!("{o:?}"),
        })
        .collect()
}

/// A BSON document of (type, key, value bytes).
fn doc(elems: &[(u8, &str, Vec<u8>)]) -> Vec<u8> {
    let mut d = vec![0; 4];
    for (t, k, v) in elems {
        d.push(*t);
        d.extend(k.as_bytes());
        d.push(0);
        d.extend(v);
    }
    d.push(0);
    let n = d.len() as u32;
    d[..4].copy_from_slice(&n.to_le_bytes());
    d
}

fn s(v: &str) -> (u8, Vec<u8>) {
    let mut b = ((v.len() + 1) as u32).to_le_bytes().to_vec();
    b.extend(v.as_bytes());
    b.push(0);
    (2, b)
}

fn el(k: &str, (t, v): (u8, Vec<u8>)) -> (u8, &str, Vec<u8>) {
    (t, k, v)
}

fn dbl(v: f64) -> (u8, Vec<u8>) {
    (1, v.to_le_bytes().to_vec())
}

fn bin(v: &[u8]) -> (u8, Vec<u8>) {
    let mut b = (v.len() as u32).to_le_bytes().to_vec();
    b.push(0);
    b.extend(v);
    (5, b)
}

fn msg(id: u32, to: u32, op: u32, body: &[u8]) -> Vec<u8> {
    let mut m = ((16 + body.len()) as u32).to_le_bytes().to_vec();
    for v in [id, to, op] {
        m.extend(v.to_le_bytes());
    }
    m.extend(body);
    m
}

fn op_msg(id: u32, to: u32, flags: u32, d: &[u8]) -> Vec<u8> {
    let mut b = flags.to_le_bytes().to_vec();
    b.push(0);
    b.extend(d);
    msg(id, to, 2013, &b)
}

fn convo(parts: &[(Direction, Vec<u8>)]) -> Convo {
    parts.to_vec()
}

#[test]
fn real_capture_op_query() {
    let convos = shared_convos("ndpi__mongodb.pcap", 6);
    let mut got = Vec::new();
    for (_, c) in &convos {
        for t in txs(check_segmentation(new_parser, c)) {
            got.push((t.request_id, t.database.unwrap(), t.command.unwrap()));
            assert_eq!(t.opcode, Some(Opcode::Query));
            assert!(t.ok.is_none());
        }
    }
    let want = [
        (0x4d6e3698, "admin", "ismaster"),
        (0, "abtest", "getnonce"),
        (0x44c, "admin", "isMaster"),
        (0, "admin", "isMaster"),
        (0x9187, "InactiveUserIdentity", "getnonce"),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(i, d, c)| (*i, d.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn op_msg_find_and_error_reply() {
    let find = doc(&[
        el("find", s("users")),
        el("filter", (3, doc(&[]))),
        el("$db", s("shop")),
    ]);
    let err = doc(&[
        el("ok", dbl(0.0)),
        el("errmsg", s("not authorized on shop")),
        (0x10, "code", 13u32.to_le_bytes().to_vec()),
    ]);
    let c = convo(&[
        (Direction::ToServer, op_msg(7, 0, 0, &find)),
        (Direction::ToClient, op_msg(100, 7, 0, &err)),
    ]);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].command.as_deref(), Some("find"));
    assert_eq!(t[0].collection.as_deref(), Some("users"));
    assert_eq!(t[0].database.as_deref(), Some("shop"));
    assert_eq!(t[0].ok, Some(0.0));
    assert_eq!(t[0].code, Some(13));
    assert_eq!(t[0].error.as_deref(), Some("not authorized on shop"));
    let j = serde_json::to_value(&t[0]).unwrap();
    assert_eq!(j["opcode"], "OP_MSG");
}

#[test]
fn sasl_plain_and_scram() {
    let plain = doc(&[
        (0x10, "saslStart", 1u32.to_le_bytes().to_vec()),
        el("mechanism", s("PLAIN")),
        el("payload", bin(b"\0alice\0secret")),
        el("$db", s("$external")),
    ]);
    let fail = doc(&[
        el("ok", dbl(0.0)),
        el("errmsg", s("Authentication failed.")),
    ]);
    let scram = doc(&[
        (0x10, "saslStart", 1u32.to_le_bytes().to_vec()),
        el("payload", bin(b"n,,n=bob,r=abc")),
        el("mechanism", s("SCRAM-SHA-256")),
        el("$db", s("admin")),
    ]);
    let cont = doc(&[el("ok", dbl(1.0)), (8, "done", vec![0])]);
    let c2 = doc(&[
        (0x10, "saslContinue", 1u32.to_le_bytes().to_vec()),
        el("$db", s("admin")),
    ]);
    let done = doc(&[el("ok", dbl(1.0)), (8, "done", vec![1])]);
    let mut c: Convo = Vec::new();
    c.extend(convo(&[
        (Direction::ToServer, op_msg(1, 0, 0, &plain)),
        (Direction::ToClient, op_msg(2, 1, 0, &fail)),
        (Direction::ToServer, op_msg(3, 0, 0, &scram)),
        (Direction::ToClient, op_msg(4, 3, 0, &cont)),
        (Direction::ToServer, op_msg(5, 0, 0, &c2)),
        (Direction::ToClient, op_msg(6, 5, 0, &done)),
    ]));
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].user.as_deref(), Some("alice"));
    assert!(t[0].password_seen);
    assert_eq!(t[0].auth_success, Some(false));
    let j = serde_json::to_string(&t[0]).unwrap();
    assert!(!j.contains("secret"), "{j}");
    assert_eq!(t[1].user.as_deref(), Some("bob"));
    assert_eq!(t[1].mechanism.as_deref(), Some("SCRAM-SHA-256"));
    assert!(!t[1].password_seen);
    assert_eq!(t[1].auth_success, None);
    assert_eq!(t[2].command.as_deref(), Some("saslContinue"));
    assert_eq!(t[2].auth_success, Some(true));
}

#[test]
fn more_to_come_unknown_opcode_and_lone_reply() {
    let ins = doc(&[el("insert", s("logs")), el("$db", s("d"))]);
    let c = convo(&[
        (Direction::ToServer, op_msg(1, 0, 2, &ins)),
        (Direction::ToServer, msg(2, 0, 4242, b"abcd")),
        (
            Direction::ToClient,
            op_msg(9, 77, 0, &doc(&[el("ok", dbl(1.0))])),
        ),
    ]);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].collection.as_deref(), Some("logs"));
    assert_eq!(t[1].request_id, 77);
    assert_eq!(t[1].ok, Some(1.0));
    assert_eq!(t[2].opcode, Some(Opcode::Unknown(4242)));
    assert_eq!(
        serde_json::to_value(&t[2]).unwrap()["opcode"],
        "Unknown(4242)"
    );
}

#[test]
fn oversized_message_read_from_its_head() {
    let big = "x".repeat(MAX_MSG * 2);
    let d = doc(&[el("insert", s("big")), el("v", s(&big)), el("$db", s("d"))]);
    let c = convo(&[
        (Direction::ToServer, op_msg(1, 0, 0, &d)),
        (
            Direction::ToClient,
            op_msg(2, 1, 0, &doc(&[el("ok", dbl(1.0))])),
        ),
    ]);
    let t = txs(whole(new_parser, &c));
    assert_eq!(t.len(), 1);
    assert!(t[0].truncated);
    assert_eq!(t[0].collection.as_deref(), Some("big"));
    assert_eq!(t[0].ok, Some(1.0));
}

#[test]
fn garbage_and_huge_lengths() {
    let noise = crate::dpi::parse::testutil::noise(12345, 5000);
    for c in [
        convo(&[
            (Direction::ToServer, noise.clone()),
            (Direction::ToClient, noise),
        ]),
        convo(&[(Direction::ToServer, vec![0xff, 0xff, 0xff, 0x7f, 1, 2, 3])]),
        convo(&[(
            Direction::ToServer,
            msg(1, 0, 2013, &[0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]),
        )]),
    ] {
        let r = check_segmentation(new_parser, &c);
        assert!(r.len() <= 1);
    }
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &op_msg(1, 0, 0, &doc(&[])), &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
}

#[test]
fn query_wrapper_and_gap() {
    // OP_QUERY on admin.$cmd with {$query: {saslStart: 1, mechanism:
    // "PLAIN", ...}}.
    let inner = doc(&[
        (0x10, "saslStart", 1u32.to_le_bytes().to_vec()),
        el("mechanism", s("PLAIN")),
        el("payload", bin(b"\0u\0p")),
    ]);
    let wrapped = doc(&[(3, "$query", inner), (3, "$readPreference", doc(&[]))]);
    let mut body = 0u32.to_le_bytes().to_vec();
    body.extend(b"admin.$cmd\0");
    body.extend([0; 8]);
    body.extend(&wrapped);
    let req = msg(5, 0, 2004, &body);
    let t = txs(check_segmentation(
        new_parser,
        &convo(&[(Direction::ToServer, req.clone())]),
    ));
    assert_eq!(t[0].command.as_deref(), Some("saslStart"));
    assert_eq!(t[0].user.as_deref(), Some("u"));
    assert!(t[0].password_seen);

    // A gap stops the direction; what was pending is still emitted.
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &req, &mut out);
    p.data(Direction::ToServer, &req[..10], &mut out);
    p.gap(Direction::ToServer);
    p.data(Direction::ToServer, &req, &mut out);
    p.finish(&mut out);
    assert_eq!(out.len(), 1);
}
