//! Tests of the HTTP/2 parser: real conversations from `../shared/pcaps`
//! (fields checked against `tshark -d tcp.port==P,http2 -T fields -e
//! http2.header.name -e http2.header.value` on the same files), fed in
//! every segmentation, and hand-built frames (RFC 9113 §4.1, HPACK from
//! `loona_hpack::Encoder`) for edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

use crate::dpi::parse::testutil::{self, check_segmentation, shared_convo, Convo};
use loona_hpack::Encoder;

fn txs(records: Vec<AppRecord>) -> Vec<Http2Tx> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Http2(tx) => tx,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn header<'a>(t: &'a Http2Tx, name: &str) -> Option<&'a str> {
    t.request_headers
        .iter()
        .chain(&t.response_headers)
        .find(|h| h.name == name)
        .map(|h| h.value.as_str())
}

/// The records of a conversation, with the parser's refined protocol.
fn whole_refined(c: &Convo) -> (Vec<Http2Tx>, Option<AppProto>) {
    let mut p = new_parser(true);
    let mut out = Vec::new();
    for (d, b) in c {
        p.data(*d, b, &mut out);
    }
    let app = p.refined();
    p.finish(&mut out);
    (txs(out), app)
}

#[test]
fn ndpi_prior_knowledge_post() {
    let c = shared_convo("ndpi__http2.pcapng", 6, 29518);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t.stream_id, 3);
    assert_eq!(t.http_method.as_deref(), Some("POST"));
    assert_eq!(t.url.as_deref(), Some("/namf-comm/v1/subscriptions"));
    assert_eq!(t.hostname.as_deref(), Some("127.0.0.1"));
    assert_eq!(
        t.http_user_agent.as_deref(),
        Some("OpenAPI-Generator/1.0.0/go")
    );
    assert_eq!(t.status, Some(201));
    assert_eq!(t.http_content_type.as_deref(), Some("application/json"));
    assert_eq!(t.version, "2");
    // content-length 135 and 86 in the headers.
    assert_eq!(t.request_body_length, Some(135));
    assert_eq!(t.length, Some(86));
    assert_eq!(
        header(t, "location"),
        Some("http://127.0.0.1:29507/npcf-callback/v1/amfstatus/1")
    );
    assert_eq!(t.grpc_service, None);
    assert_eq!(whole_refined(&c).1, None);
}

/// Like [`check_segmentation`] for a long conversation: whole, byte by
/// byte, and each segment split every `stride` octets.
fn check_strided(c: &Convo, stride: usize) -> Vec<Http2Tx> {
    let expected = testutil::whole(new_parser, c);
    let bytewise: Vec<(Direction, &[u8])> = c
        .iter()
        .flat_map(|(d, b)| b.chunks(1).map(move |x| (*d, x)))
        .collect();
    assert_eq!(testutil::run(new_parser, &bytewise), expected);
    for (i, (_, seg)) in c.iter().enumerate() {
        for cut in (0..=seg.len()).step_by(stride) {
            let mut split: Vec<(Direction, &[u8])> = Vec::new();
            for (j, (d, b)) in c.iter().enumerate() {
                if i == j {
                    split.push((*d, &b[..cut]));
                    split.push((*d, &b[cut..]));
                } else {
                    split.push((*d, b));
                }
            }
            assert_eq!(testutil::run(new_parser, &split), expected, "{i} at {cut}");
        }
    }
    txs(expected)
}

#[test]
fn arkime_continuation_and_push() {
    let c = shared_convo("arkime__http2-nghttp2.pcap", 6, 80);
    let t = check_strided(&c, 61);
    let summary: Vec<_> = t
        .iter()
        .map(|t| {
            (
                t.stream_id,
                t.http_method.as_deref(),
                t.url.as_deref(),
                t.status,
                t.length,
                t.pushed,
            )
        })
        .collect();
    // tshark: stream 13 GET / (HEADERS + CONTINUATION), PUSH_PROMISE of
    // stream 2 /stylesheets/screen.css; content-length 6616 and 39082.
    assert_eq!(
        summary,
        [
            (13, Some("GET"), Some("/"), Some(200), Some(6616), false),
            (
                2,
                Some("GET"),
                Some("/stylesheets/screen.css"),
                Some(200),
                Some(39082),
                true
            ),
        ]
    );
    let t0 = &t[0];
    assert_eq!(t0.hostname.as_deref(), Some("nghttp2.org"));
    assert_eq!(t0.http_user_agent.as_deref(), Some("nghttp2/1.41.0"));
    assert_eq!(t0.http_content_type.as_deref(), Some("text/html"));
    // The six continuation-test headers straddle HEADERS and CONTINUATION.
    let names: Vec<_> = t0.request_headers.iter().map(|h| h.name.as_str()).collect();
    assert!(names.contains(&"continuation-test-6"), "{names:?}");
    assert!(t0
        .request_headers
        .iter()
        .all(|h| h.value.len() <= MAX_FIELD_LEN));
    assert_eq!(header(&t[1], "x-http2-push"), Some("1"));
    assert_eq!(t[1].http_content_type.as_deref(), Some("text/css"));
}

#[test]
fn grpcbook_unary() {
    let c = shared_convo("grpcbook__Unary.pcapng", 6, 50051);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t.http_method.as_deref(), Some("POST"));
    assert_eq!(t.url.as_deref(), Some("/greet.GreetService/Greet"));
    assert_eq!(t.hostname.as_deref(), Some("localhost"));
    assert_eq!(t.http_user_agent.as_deref(), Some("grpc-go/1.50.1"));
    assert_eq!(t.status, Some(200));
    assert_eq!(t.grpc_service.as_deref(), Some("greet.GreetService"));
    assert_eq!(t.grpc_method.as_deref(), Some("Greet"));
    assert_eq!(t.grpc_status, Some(0));
    assert_eq!(t.grpc_message.as_deref(), Some(""));
    assert_eq!(
        (t.grpc_request_messages, t.grpc_response_messages),
        (Some(1), Some(1))
    );
    assert_eq!(t.grpc_product, None);
    // The call carries `authorization: aDummyToken`: flagged, not logged.
    assert!(t.credentials_seen);
    assert_eq!(header(t, "authorization"), Some("[redacted]"));
    assert!(!serde_json::to_string(t).unwrap().contains("aDummyToken"));
    assert_eq!(whole_refined(&c).1, Some(AppProto::Grpc));
}

#[test]
fn grpcbook_server_streaming() {
    let c = shared_convo("grpcbook__Server_Streaming.pcapng", 6, 50051);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t.url.as_deref(), Some("/greet.GreetService/GreetManyTimes"));
    assert_eq!(t.grpc_method.as_deref(), Some("GreetManyTimes"));
    assert_eq!(t.grpc_status, Some(0));
    // tshark: ten DATA frames from the server, one message each.
    assert_eq!(
        (t.grpc_request_messages, t.grpc_response_messages),
        (Some(1), Some(10))
    );
    assert!(!t.credentials_seen);
}

#[test]
fn suricata_dns_over_http2() {
    let c = shared_convo("suricata__dns-over-http2.pcap", 6, 80);
    let t = txs(check_segmentation(new_parser, &c));
    let summary: Vec<_> = t
        .iter()
        .map(|t| (t.stream_id, t.status, t.length, t.rst_stream.as_deref()))
        .collect();
    // Stream 7 is reset by the client (RST_STREAM CANCEL, frame 20)
    // before its response.
    assert_eq!(
        summary,
        [
            (1, Some(200), Some(468), None),
            (3, Some(200), Some(468), None),
            (5, Some(200), Some(468), None),
            (7, None, None, Some("CANCEL")),
        ]
    );
    assert!(t.iter().all(|t| t.hostname.as_deref() == Some("dns.google")
        && t.http_method.as_deref() == Some("GET")
        && t.http_user_agent.as_deref() == Some("Chrome")
        && t.url
            .as_deref()
            .unwrap()
            .starts_with("/dns-query?dns=AAABAAAB")));
    assert_eq!(
        t[0].http_content_type.as_deref(),
        Some("application/dns-message")
    );
}

// ---- Hand-built frames ----

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

fn block(enc: &mut Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
    enc.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

fn grpc_msg(body: &[u8]) -> Vec<u8> {
    let mut m = vec![0];
    m.extend((body.len() as u32).to_be_bytes());
    m.extend(body);
    m
}

const SETTINGS_FRAME: &[u8] = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64";

/// An etcd Range call answered NOT_FOUND in its trailers, with an unknown
/// frame type, PRIORITY, PING and a padded DATA frame along the way.
fn etcd_convo() -> Convo {
    let mut ce = Encoder::new();
    let mut se = Encoder::new();
    let mut c1 = PREFACE.to_vec();
    c1.extend(SETTINGS_FRAME);
    // Unknown frame types are ignored (RFC 9113 §5.5), on any stream.
    c1.extend(frame(0xfa, 0xff, 0, &[0x55; 300]));
    let req = block(
        &mut ce,
        &[
            (":method", "POST"),
            (":scheme", "http"),
            (":path", "/etcdserverpb.KV/Range"),
            (":authority", "etcd-0.etcd:2379"),
            ("content-type", "application/grpc+proto"),
            ("authorization", "Bearer s3cr3t-token"),
            ("user-agent", "etcdctl/3.5"),
        ],
    );
    c1.extend(frame(1, END_HEADERS, 1, &req));
    c1.extend(frame(0xfb, 0, 1, b"ignored"));
    c1.extend(frame(2, 0, 1, b"\x00\x00\x00\x00\x10"));
    c1.extend(frame(6, 0, 0, b"pingping"));
    // PADDED DATA: pad length 4, one message, 4 octets of padding.
    let mut data = vec![4];
    data.extend(grpc_msg(b"\x0a\x03foo"));
    data.extend([0; 4]);
    c1.extend(frame(0, PADDED | END_STREAM, 1, &data));

    let mut s1 = SETTINGS_FRAME.to_vec();
    s1.extend(frame(4, 1, 0, b""));
    let resp = block(
        &mut se,
        &[
            (":status", "200"),
            ("content-type", "application/grpc+proto"),
        ],
    );
    s1.extend(frame(1, END_HEADERS, 1, &resp));
    let mut msgs = grpc_msg(b"abc");
    msgs.extend(grpc_msg(b""));
    s1.extend(frame(0, 0, 1, &msgs));
    let trailers = block(
        &mut se,
        &[("grpc-status", "5"), ("grpc-message", "key%20not%20found")],
    );
    s1.extend(frame(1, END_HEADERS | END_STREAM, 1, &trailers));
    // GOAWAY with debug data: no record.
    s1.extend(frame(7, 0, 0, b"\x00\x00\x00\x01\x00\x00\x00\x00debug"));
    vec![(Direction::ToServer, c1), (Direction::ToClient, s1)]
}

#[test]
fn etcd_grpc_call_with_unknown_frames() {
    let c = etcd_convo();
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 1);
    let t = &t[0];
    assert_eq!(t.hostname.as_deref(), Some("etcd-0.etcd"));
    assert_eq!(t.grpc_service.as_deref(), Some("etcdserverpb.KV"));
    assert_eq!(t.grpc_method.as_deref(), Some("Range"));
    assert_eq!(t.grpc_product, Some("etcd"));
    assert_eq!(t.grpc_status, Some(5));
    assert_eq!(t.grpc_message.as_deref(), Some("key%20not%20found"));
    assert_eq!(
        (t.grpc_request_messages, t.grpc_response_messages),
        (Some(1), Some(2))
    );
    // DATA octets without pad length and padding: 5 + 5, 8 + 5.
    assert_eq!((t.request_body_length, t.length), (Some(10), Some(13)));
    assert_eq!(header(t, "authorization"), Some("Bearer [redacted]"));
    assert!(t.credentials_seen);
    assert_eq!(whole_refined(&c).1, Some(AppProto::Grpc));
    let json = serde_json::to_string(t).unwrap();
    assert!(!json.contains("s3cr3t"), "{json}");
    assert_eq!(AppRecord::Http2(t.clone()).event_type(), "http");
}

#[test]
fn not_http2_and_wrong_frames_stop_the_direction() {
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n", &mut out);
    // CONTINUATION without an open header block (§6.10) stops the server
    // side; nothing after it is read.
    p.data(
        Direction::ToClient,
        &frame(9, END_HEADERS, 1, b"\x88"),
        &mut out,
    );
    p.finish(&mut out);
    assert!(out.is_empty());
    assert!(new_parser(false).refined().is_none());
}

/// Deterministic pseudo-random bytes.
fn noise(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (x >> 16) as u8
        })
        .collect()
}

#[test]
fn garbage_and_huge_lengths() {
    for seed in 0..200 {
        let mut c = PREFACE.to_vec();
        c.extend(noise(seed, 600));
        let s = noise(seed ^ 0xdead, 600);
        let convo = vec![(Direction::ToServer, c), (Direction::ToClient, s)];
        let out = testutil::whole(new_parser, &convo);
        assert!(out.len() <= MAX_STREAMS);
    }
    // A HEADERS frame declaring 16 MiB - 1 octets: only the cap is kept,
    // the rest is skipped by length as it arrives.
    let mut c = PREFACE.to_vec();
    c.extend(b"\xff\xff\xff\x01\x04\x00\x00\x00\x01");
    c.extend(vec![0x41; 100_000]);
    let mut p = Http2Parser::default();
    let mut out = Vec::new();
    p.data(Direction::ToServer, &c, &mut out);
    assert!(p.sides[0].buf.len() <= MAX_HEADER_BLOCK + 256);
    assert!(p.sides[0].buf.capacity() <= 2 * (MAX_HEADER_BLOCK + 256));
    // Invalid HPACK (index 0x7f of an empty table) stops header decoding
    // on that side; the stream is still recorded, without fields.
    let mut c = PREFACE.to_vec();
    c.extend(frame(1, END_HEADERS | END_STREAM, 1, b"\xff\x7f"));
    c.extend(frame(1, END_HEADERS | END_STREAM, 3, b"\x82"));
    let t = txs(testutil::whole(new_parser, &vec![(Direction::ToServer, c)]));
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t.http_method.is_none()));
}

#[test]
fn oversized_header_block_stops_decoding() {
    let mut enc = Encoder::new();
    let mut c = PREFACE.to_vec();
    let big = "x".repeat(MAX_HEADER_BLOCK);
    let b = block(&mut enc, &[(":method", "GET"), ("x-big", &big)]);
    let (first, rest) = b.split_at(16_000);
    c.extend(frame(1, END_STREAM, 1, first));
    for chunk in rest.chunks(16_000) {
        c.extend(frame(9, 0, 1, chunk));
    }
    c.extend(frame(9, END_HEADERS, 1, b""));
    // The next block would refer to the lost dynamic table: not decoded.
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        3,
        &block(&mut enc, &[(":method", "GET")]),
    ));
    let t = txs(testutil::whole(new_parser, &vec![(Direction::ToServer, c)]));
    assert_eq!(t.len(), 2);
    assert!(t.iter().all(|t| t.request_headers.is_empty()), "{t:?}");
}

#[test]
fn stream_and_header_caps() {
    let mut enc = Encoder::new();
    let mut c = PREFACE.to_vec();
    // 200 open streams: 128 tracked; all blocks decoded.
    for i in 0..200u32 {
        let path = format!("/{i}");
        c.extend(frame(
            1,
            END_HEADERS,
            2 * i + 1,
            &block(&mut enc, &[(":method", "GET"), (":path", &path)]),
        ));
    }
    // 100 fields on one more stream: 64 kept.
    let many: Vec<(String, String)> = (0..100).map(|i| (format!("h{i}"), "v".into())).collect();
    let fields: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        1001,
        &block(&mut enc, &fields),
    ));
    let s = frame(3, 0, 1001, b"\x00\x00\x00\x08");
    let t = txs(testutil::whole(
        new_parser,
        &vec![(Direction::ToServer, c), (Direction::ToClient, s)],
    ));
    assert_eq!(t.len(), MAX_STREAMS);
    assert_eq!(t[0].url.as_deref(), Some("/0"));
    assert_eq!(t[MAX_STREAMS - 1].url.as_deref(), Some("/127"));
    // The same 100 fields on a tracked stream: 64 kept, flagged.
    let mut enc = Encoder::new();
    let mut c = PREFACE.to_vec();
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        1,
        &block(&mut enc, &fields),
    ));
    let t = txs(testutil::whole(new_parser, &vec![(Direction::ToServer, c)]));
    assert_eq!(t[0].request_headers.len(), MAX_STORED_HEADERS);
    assert!(t[0].headers_truncated);
    // Ten 2000-octet values: each capped, and the side's byte budget kept.
    let long = "v".repeat(2000);
    let names: Vec<String> = (0..10).map(|i| format!("x-long-{i}")).collect();
    let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), long.as_str())).collect();
    let mut enc = Encoder::new();
    let mut c = PREFACE.to_vec();
    c.extend(frame(
        1,
        END_HEADERS | END_STREAM,
        1,
        &block(&mut enc, &fields),
    ));
    let t = txs(testutil::whole(new_parser, &vec![(Direction::ToServer, c)]));
    let stored: usize = t[0]
        .request_headers
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum();
    assert!(stored <= MAX_STORED_HEADER_BYTES && stored > 0, "{stored}");
    assert!(t[0]
        .request_headers
        .iter()
        .all(|h| h.value.len() == MAX_FIELD_LEN));
    assert!(t[0].headers_truncated);
}

#[test]
fn gap_stops_a_direction_only() {
    let c = etcd_convo();
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &c[0].1, &mut out);
    p.gap(Direction::ToClient);
    p.data(Direction::ToClient, &c[1].1, &mut out);
    p.finish(&mut out);
    let t = txs(out);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].grpc_method.as_deref(), Some("Range"));
    assert_eq!(t[0].status, None);
}
