//! Tests with hand-made frames built from native_protocol_v4.spec: the
//! public corpus has no CQL capture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, Convo};

use Direction::{ToClient, ToServer};

fn txs(r: Vec<AppRecord>) -> Vec<CassandraTx> {
    r.into_iter()
        .map(|r| match r {
            AppRecord::Cassandra(t) => t,
            o => panic!("{o:?}"),
        })
        .collect()
}

fn frame(v: u8, flags: u8, stream: i16, op: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![v, flags];
    f.extend(stream.to_be_bytes());
    f.push(op);
    f.extend((body.len() as u32).to_be_bytes());
    f.extend(body);
    f
}

fn s16(s: &[u8]) -> Vec<u8> {
    let mut b = (s.len() as u16).to_be_bytes().to_vec();
    b.extend(s);
    b
}

fn s32(s: &[u8]) -> Vec<u8> {
    let mut b = (s.len() as u32).to_be_bytes().to_vec();
    b.extend(s);
    b
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

/// A v4 session: STARTUP → AUTHENTICATE, bad password then good one, a
/// USE, a query with an error, a compressed query.
fn session() -> Convo {
    let startup = cat(&[
        vec![0, 2],
        s16(b"CQL_VERSION"),
        s16(b"3.0.0"),
        s16(b"COMPRESSION"),
        s16(b"lz4"),
    ]);
    let auth = s16(b"org.apache.cassandra.auth.PasswordAuthenticator");
    let bad = s32(b"\0cassandra\0wrong");
    let good = s32(b"\0cassandra\0cassandra");
    let q = |s: &str| cat(&[s32(s.as_bytes()), vec![0, 1, 0]]);
    let err = cat(&[
        0x2200u32.to_be_bytes().to_vec(),
        s16(b"unconfigured table users"),
    ]);
    let bad_creds = cat(&[
        0x0100u32.to_be_bytes().to_vec(),
        s16(b"Provided username cassandra and/or password are incorrect"),
    ]);
    vec![
        (ToServer, frame(4, 0, 0, 0x01, &startup)),
        (ToClient, frame(0x84, 0, 0, 0x03, &auth)),
        (ToServer, frame(4, 0, 1, 0x0F, &bad)),
        (ToClient, frame(0x84, 0, 1, 0x00, &bad_creds)),
        (ToServer, frame(4, 0, 2, 0x0F, &good)),
        (ToClient, frame(0x84, 0, 2, 0x10, &s32(b""))),
        (ToServer, frame(4, 0, 3, 0x07, &q("USE shop"))),
        (
            ToClient,
            frame(
                0x84,
                0x02,
                3,
                0x08,
                &cat(&[vec![7; 16], 3u32.to_be_bytes().to_vec(), s16(b"shop")]),
            ),
        ),
        (
            ToServer,
            frame(
                4,
                0,
                4,
                0x07,
                &q("SELECT * FROM users WHERE id = '1' OR '1'='1'"),
            ),
        ),
        (ToClient, frame(0x84, 0, 4, 0x00, &err)),
        (
            ToServer,
            frame(4, 0x01, 5, 0x07, b"\x00\x00\x00\x10compressed.."),
        ),
        (
            ToServer,
            frame(4, 0, 6, 0x0A, &cat(&[s16(&[0xde, 0xad]), vec![0, 1, 0]])),
        ),
        (ToClient, frame(0x84, 0, -1, 0x0C, &s16(b"TOPOLOGY_CHANGE"))),
    ]
}

#[test]
fn hand_made_session() {
    let t = txs(check_segmentation(new_parser, &session()));
    assert_eq!(t.len(), 7);
    assert_eq!(t[0].opcode, Opcode::Startup);
    assert_eq!(t[0].cql_version.as_deref(), Some("3.0.0"));
    assert_eq!(t[0].compression.as_deref(), Some("lz4"));
    assert_eq!(t[0].response, Some(Opcode::Authenticate));
    assert_eq!(
        t[0].authenticator.as_deref(),
        Some("org.apache.cassandra.auth.PasswordAuthenticator")
    );
    assert_eq!(t[1].user.as_deref(), Some("cassandra"));
    assert!(t[1].password_seen);
    assert_eq!(t[1].auth_success, Some(false));
    assert_eq!(t[1].error_code, Some(0x0100));
    assert_eq!(t[2].auth_success, Some(true));
    assert_eq!(t[3].keyspace.as_deref(), Some("shop"));
    assert_eq!(t[3].result_kind, Some(3));
    assert_eq!(
        t[4].query.as_deref(),
        Some("SELECT * FROM users WHERE id = '1' OR '1'='1'")
    );
    assert_eq!(t[4].error_code, Some(0x2200));
    assert_eq!(
        t[4].error_message.as_deref(),
        Some("unconfigured table users")
    );
    assert!(t[5].compressed && t[5].query.is_none() && t[5].response.is_none());
    assert_eq!(t[6].prepared_id.as_deref(), Some("dead"));
    let j = serde_json::to_string(&t[1]).unwrap();
    assert!(!j.contains("wrong"), "{j}");
    assert!(j.contains("\"opcode\":\"AUTH_RESPONSE\""), "{j}");
}

#[test]
fn unknown_opcode_v2_header_and_long_query() {
    let long = "x".repeat(MAX_QUERY + 10);
    let mut q = s32(long.as_bytes());
    q.extend([0, 1]);
    let c: Convo = vec![
        // v2: one-byte stream, 8-byte header.
        (ToServer, vec![2, 0, 5, 0x33, 0, 0, 0, 2, 0xaa, 0xbb]),
        (ToClient, vec![0x82, 0, 5, 0x44, 0, 0, 0, 0]),
        (ToServer, frame(4, 0, 9, 0x09, &q)),
    ];
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].opcode, Opcode::Unknown(0x33));
    assert_eq!(t[0].response, Some(Opcode::Unknown(0x44)));
    assert_eq!(
        serde_json::to_value(&t[0]).unwrap()["opcode"],
        "Unknown(51)"
    );
    assert_eq!(t[1].opcode, Opcode::Prepare);
    assert!(t[1].query_truncated);
    assert_eq!(t[1].query.as_ref().unwrap().len(), MAX_QUERY);
}

#[test]
fn garbage_and_huge_lengths() {
    let noise = crate::dpi::parse::testutil::noise(99, 5000);
    for c in [
        vec![(ToServer, noise.clone()), (ToClient, noise)],
        vec![(ToServer, vec![4, 0, 0, 1, 7, 0x7f, 0xff, 0xff, 0xff, 1])],
        vec![(ToServer, frame(4, 0, 1, 0x01, &[0xff, 0xff, 0, 1, b'a']))],
        // Response bit in the client's direction.
        vec![(ToServer, frame(0x84, 0, 1, 0x07, &[]))],
    ] {
        assert!(check_segmentation(new_parser, &c).len() <= 1);
    }
}
