//! Tests: the real `ndpi__kafka.pcapng` (ground truth from `tshark -d
//! tcp.port==9092,kafka -T fields -e kafka.request_key -e
//! kafka.api_version -e kafka.correlation_id -e kafka.client_id -e
//! kafka.topic_name -e kafka.error`) and hand-made requests built from the
//! Kafka protocol guide.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, shared_convos, whole, Convo};

fn txs(r: Vec<AppRecord>) -> Vec<KafkaTx> {
    r.into_iter()
        .map(|r| match r {
            AppRecord::Kafka(t) => t,
            o => panic!("{o:?}"),
        })
        .collect()
}

/// Ground truth per request, from tshark: (api key, version, correlation
/// id, topics, response seen, error code).
type Want = (
    &'static str,
    u16,
    i32,
    &'static [&'static str],
    bool,
    Option<i16>,
);

#[test]
fn real_capture() {
    const T: &[&str] = &["LB_MAIN_LOG_INPUT"];
    let want: &[Want] = &[
        ("ApiVersions", 0, 129, &[], true, Some(0)),
        ("Metadata", 2, 130, T, true, None),
        ("Metadata", 2, 164, T, true, None),
        ("ApiVersions", 0, 168, &[], true, Some(0)),
        ("Produce", 3, 2, T, true, None),
        ("Produce", 3, 3, T, true, None),
        ("Metadata", 2, 212, T, false, None),
        ("ApiVersions", 0, 4, &[], false, None),
        ("ApiVersions", 0, 15, &[], false, None),
        ("ApiVersions", 3, 3, &[], true, Some(0)),
        ("InitProducerId", 4, 4, &[], true, Some(0)),
        // Flexible versions: no topics (tshark: `sampleTopic`, `[ Null ]`);
        // Metadata's errors are per topic (tshark: 0), not read.
        ("Metadata", 12, 5, &[], true, None),
        ("Produce", 9, 6, &[], true, None),
    ];
    let mut got = Vec::new();
    let convos = shared_convos("ndpi__kafka.pcapng", 6);
    for (port, c) in &convos {
        let r = txs(check_segmentation(new_parser, c));
        if *port != 9092 {
            // Joined mid-stream with the broker speaking first: the test
            // helper takes the broker for the client; nothing parses.
            assert!(r.is_empty());
            continue;
        }
        for t in r {
            let client = t.client_id.as_deref().unwrap();
            assert!(client == "rdkafka" || client == "console-producer");
            got.push((
                t.api_key.to_string(),
                t.api_version,
                t.correlation_id,
                t.topics.clone(),
                t.response,
                t.error_code,
            ));
        }
    }
    let want: Vec<_> = want
        .iter()
        .map(|(k, v, c, t, r, e)| {
            (
                k.to_string(),
                *v,
                *c,
                t.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                *r,
                *e,
            )
        })
        .collect();
    assert_eq!(got, want);
}

fn req(key: u16, ver: u16, corr: i32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend(key.to_be_bytes());
    m.extend(ver.to_be_bytes());
    m.extend(corr.to_be_bytes());
    m.extend(3u16.to_be_bytes());
    m.extend(b"cli");
    m.extend(body);
    let mut f = (m.len() as u32).to_be_bytes().to_vec();
    f.extend(m);
    f
}

fn resp(corr: i32, body: &[u8]) -> Vec<u8> {
    let mut f = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    f.extend(corr.to_be_bytes());
    f.extend(body);
    f
}

fn s16(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u16).to_be_bytes().to_vec();
    b.extend(s.as_bytes());
    b
}

#[test]
fn sasl_plain_failure_and_raw_token() {
    let token = b"\0alice\0hunter2";
    let mut auth = (token.len() as u32).to_be_bytes().to_vec();
    auth.extend(token);
    let c: Convo = vec![
        (Direction::ToServer, req(17, 1, 1, &s16("PLAIN"))),
        (Direction::ToClient, resp(1, &[0, 0])),
        (Direction::ToServer, req(36, 1, 2, &auth)),
        (
            Direction::ToClient,
            resp(2, &[0, 58, 0, 4, b'b', b'a', b'd', b'!']),
        ),
    ];
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(t[0].error_code, Some(0));
    assert_eq!(t[1].user.as_deref(), Some("alice"));
    assert!(t[1].password_seen);
    assert_eq!(t[1].error_code, Some(58));
    assert_eq!(t[1].auth_success, Some(false));
    assert_eq!(t[1].error_message.as_deref(), Some("bad!"));
    assert!(!serde_json::to_string(&t[1]).unwrap().contains("hunter2"));

    // SaslHandshake v0: then a raw token and a raw (empty) reply.
    let mut raw = (token.len() as u32).to_be_bytes().to_vec();
    raw.extend(token);
    let c: Convo = vec![
        (Direction::ToServer, req(17, 0, 1, &s16("PLAIN"))),
        (Direction::ToClient, resp(1, &[0, 0])),
        (Direction::ToServer, raw),
        (Direction::ToClient, vec![0, 0, 0, 0]),
        (Direction::ToServer, req(18, 0, 2, &[])),
    ];
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 3);
    assert_eq!(t[1].api_key, ApiKey(36));
    assert_eq!(t[1].correlation_id, -1);
    assert_eq!(t[1].user.as_deref(), Some("alice"));
    assert_eq!(t[1].auth_success, Some(true));
    assert_eq!(t[2].api_key.to_string(), "ApiVersions");
}

#[test]
fn fetch_topics_and_unknown_key() {
    // Fetch v4: replica, max_wait, min_bytes, max_bytes, isolation, topics.
    let mut b = vec![0; 17];
    b.extend(2u32.to_be_bytes());
    for name in ["alpha", "beta"] {
        b.extend(s16(name));
        b.extend(1u32.to_be_bytes());
        b.extend([0; 16]);
    }
    let c: Convo = vec![
        (Direction::ToServer, req(1, 4, 7, &b)),
        (Direction::ToServer, req(999, 0, 8, b"??")),
        (Direction::ToClient, resp(8, &[])),
    ];
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].api_key, ApiKey(999));
    assert_eq!(
        serde_json::to_value(&t[0]).unwrap()["api_key"],
        "Unknown(999)"
    );
    assert!(t[0].response);
    assert_eq!(t[1].topics, ["alpha", "beta"]);
    assert!(!t[1].response);
}

#[test]
fn garbage_and_huge_counts() {
    let noise = crate::dpi::parse::testutil::noise(7, 5000);
    // Metadata v1 with a topic count of 2^31-1: bounded by the bytes.
    let huge = req(3, 1, 1, &[0x7f, 0xff, 0xff, 0xff, 0, 1, b'a']);
    for c in [
        vec![
            (Direction::ToServer, noise.clone()),
            (Direction::ToClient, noise),
        ],
        vec![(Direction::ToServer, huge)],
        vec![(
            Direction::ToServer,
            vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        )],
    ] {
        let r = txs(check_segmentation(new_parser, &c));
        assert!(r.len() <= 1);
        assert!(r.iter().all(|t| t.topics.len() <= 1));
    }
    // Many requests without responses: bounded pending queue.
    let many: Vec<u8> = (0..200).flat_map(|i| req(18, 0, i, &[])).collect();
    let r = whole(new_parser, &vec![(Direction::ToServer, many)]);
    assert_eq!(r.len(), 200);
}
