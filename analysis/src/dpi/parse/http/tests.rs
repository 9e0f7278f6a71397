//! Tests of the HTTP parser: real conversations, read at test time from
//! the public captures in `../shared/pcaps` (never copied into the
//! repository) and reassembled by Osprey's own TCP reassembler, fed in
//! every segmentation; and synthetic edge cases.
//!
//! Each real test takes one whole conversation (tshark's `tcp.stream`
//! number in brackets): `arkime__http-simple-get.pcap` [0],
//! `arkime__http-post-upload.pcap` [0], `arkime__http-basicauth.pcap` [0],
//! `ndpi__http.pcapng` [0], `zeek__http_get.pcap` [0] and
//! `zeek__http_cooper-grill-dvwa.pcapng` [1].

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

use crate::dpi::parse::testutil;

fn http(records: Vec<AppRecord>) -> Vec<HttpTx> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Http(tx) => tx,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn run(convo: &[(Direction, &[u8])]) -> Vec<HttpTx> {
    http(testutil::run(new_parser, convo))
}

/// The first conversation of `../shared/pcaps/<pcap>` to TCP port `port`
/// that carries data, whole.
fn shared(pcap: &str, port: u16) -> testutil::Convo {
    testutil::shared_convos(pcap, 6)
        .into_iter()
        .find(|(p, c)| *p == port && !c.is_empty())
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("{pcap}: no data to port {port}"))
}

/// The transactions of that conversation, the same in every segmentation.
fn real(pcap: &str, port: u16) -> Vec<HttpTx> {
    http(testutil::check_segmentation(
        new_parser,
        &shared(pcap, port),
    ))
}

#[test]
fn arkime_simple_get() {
    let txs = real("arkime__http-simple-get.pcap", 80);
    assert_eq!(txs.len(), 1);
    let t = &txs[0];
    assert_eq!(t.hostname.as_deref(), Some("xxxxxxxxxxxxx.xxx.com"));
    assert_eq!(t.url, "/");
    assert_eq!(t.http_method, "GET");
    assert_eq!(t.protocol, "HTTP/1.1");
    assert_eq!(t.status, Some(403));
    assert_eq!(t.length, Some(5039));
    assert_eq!(
        t.http_user_agent.as_deref(),
        Some("curl/7.24.0 (x86_64-apple-darwin12.0) libcurl/7.24.0 OpenSSL/0.9.8y zlib/1.2.5")
    );
    assert_eq!(
        t.http_content_type.as_deref(),
        Some("text/html; charset=UTF-8")
    );
    assert_eq!(t.request_body_length, None);
}

#[test]
fn arkime_post_upload() {
    let txs = real("arkime__http-post-upload.pcap", 8080);
    let summary: Vec<_> = txs
        .iter()
        .map(|t| (t.http_method.as_str(), t.url.as_str(), t.status, t.length))
        .collect();
    assert_eq!(
        summary,
        [
            ("GET", "/fileupload/", Some(200), Some(468)),
            ("GET", "/fileupload/", Some(200), Some(468)),
            (
                "POST",
                "/fileupload/servlet/UploadHandleServlet",
                Some(200),
                Some(144)
            ),
        ]
    );
    assert_eq!(txs[2].request_body_length, Some(449));
    assert_eq!(txs[2].hostname.as_deref(), Some("192.168.57.14"));
    assert_eq!(
        txs[2].http_refer.as_deref(),
        Some("http://192.168.57.14:8080/fileupload/")
    );
}

#[test]
fn arkime_basicauth_304() {
    let txs = real("arkime__http-basicauth.pcap", 2082);
    assert_eq!(txs.len(), 1);
    let t = &txs[0];
    assert_eq!(t.hostname.as_deref(), Some("10.000.000.001"));
    assert_eq!(
        t.url,
        "/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/xxx/xxxxxxxxxxxxxxxxxxxx.js"
    );
    assert_eq!((t.status, t.length), (Some(304), Some(0)));
    assert_eq!(
        t.http_user_agent.as_deref(),
        Some("Mozilla/5.0 (Windows NT 5.1; rv:32.0) Gecko/20100101 Firefox/32.0")
    );
    assert!(t.http_refer.as_deref().unwrap().ends_with("/index.html"));
}

#[test]
fn ndpi_http_301() {
    let txs = real("ndpi__http.pcapng", 80);
    assert_eq!(txs.len(), 1);
    let t = &txs[0];
    assert_eq!(t.hostname.as_deref(), Some("google.com"));
    assert_eq!(t.http_user_agent.as_deref(), Some("curl/7.68.0"));
    assert_eq!((t.status, t.length), (Some(301), Some(219)));
}

#[test]
fn zeek_get() {
    let txs = real("zeek__http_get.pcap", 80);
    assert_eq!(txs.len(), 1);
    let t = &txs[0];
    assert_eq!(t.hostname.as_deref(), Some("bro.org"));
    assert_eq!(t.url, "/download/CHANGES.bro-aux.txt");
    assert_eq!(
        t.http_user_agent.as_deref(),
        Some("Wget/1.14 (darwin12.2.0)")
    );
    assert_eq!((t.status, t.length), (Some(200), Some(4705)));
    assert_eq!(
        t.http_content_type.as_deref(),
        Some("text/plain; charset=UTF-8")
    );
}

#[test]
fn zeek_dvwa_chunked() {
    // The capture's first conversation to port 80 (tcp.stream 0) is the
    // payload-less end of an earlier connection: the one used is stream 1.
    let txs = real("zeek__http_cooper-grill-dvwa.pcapng", 80);
    assert_eq!(txs.len(), 1);
    let t = &txs[0];
    assert!(t.url.starts_with("/dvwa/vulnerabilities/sqli/?id=1%27+OR"));
    assert_eq!(t.status, Some(200));
    assert_eq!(t.length, Some(0x1234)); // one 4660-byte chunk, then 0
    assert_eq!(
        t.http_content_type.as_deref(),
        Some("text/html;charset=utf-8")
    );
}

fn synth(parts: &[(Direction, &str)]) -> Vec<HttpTx> {
    let c: testutil::Convo = parts
        .iter()
        .map(|(d, s)| (*d, s.as_bytes().to_vec()))
        .collect();
    http(testutil::check_segmentation(new_parser, &c))
}

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

#[test]
fn pipelined_head_304_and_close_delimited() {
    let txs = synth(&[
        (
            C,
            "GET /a HTTP/1.1\r\nHost: h:81\r\n\r\nHEAD /b HTTP/1.1\r\nhost: H\r\n\r\n\
             GET /c HTTP/1.1\r\n\r\nGET /d HTTP/1.0\r\n\r\n",
        ),
        (
            S,
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc\
             HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n\
             HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n\
             HTTP/1.0 200 OK\r\nContent-Type: x/y\r\n\r\nuntil close",
        ),
    ]);
    let got: Vec<_> = txs
        .iter()
        .map(|t| (t.url.as_str(), t.hostname.as_deref(), t.status, t.length))
        .collect();
    assert_eq!(
        got,
        [
            ("/a", Some("h"), Some(200), Some(3)),
            ("/b", Some("h"), Some(200), Some(0)),
            ("/c", None, Some(304), Some(0)),
            ("/d", None, Some(200), Some(11)),
        ]
    );
    assert_eq!(txs[3].protocol, "HTTP/1.0");
}

#[test]
fn chunked_with_extensions_trailers_and_continue() {
    let txs = synth(&[
        (
            C,
            "POST /up HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        ),
        (S, "HTTP/1.1 100 Continue\r\n\r\n"),
        (
            C,
            "5;a=b\r\nhello\r\n10 ; x=\"y\"\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n",
        ),
        (
            S,
            "HTTP/1.1 201 Created\r\ntransfer-encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        ),
    ]);
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].request_body_length, Some(21));
    assert_eq!((txs[0].status, txs[0].length), (Some(201), Some(3)));
}

#[test]
fn cl_and_te_conflict_uses_chunked() {
    let txs = synth(&[
        (
            C,
            "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
             2\r\nab\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n",
        ),
        (
            S,
            "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n",
        ),
    ]);
    let got: Vec<_> = txs.iter().map(|t| (t.url.as_str(), t.status)).collect();
    assert_eq!(got, [("/", Some(204)), ("/next", Some(404))]);
    assert_eq!(txs[0].request_body_length, Some(2));
}

#[test]
fn lenient_syntax() {
    let txs = synth(&[
        (
            C,
            "\r\nGET /x  HTTP/1.1\nHost: a\n X-Fold: b\nContent-Length: 2, 2\n\nzz",
        ),
        (S, "HTTP/1.1 200\nContent-Length: 1\n\n!"),
    ]);
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].request_body_length, Some(2));
    assert_eq!((txs[0].status, txs[0].length), (Some(200), Some(1)));
}

#[test]
fn garbage_stops_direction() {
    let txs = synth(&[
        (C, "\x16\x03\x01\x02\x00\x01\x00\x01\x7c\x03\x03"),
        (S, "\x16\x03\x03\x00\x5d"),
    ]);
    assert!(txs.is_empty());
    // A bad request after a good one: the good one survives.
    let txs = synth(&[
        (C, "GET / HTTP/1.1\r\n\r\nGET / HTTP/9.9\r\n\r\n"),
        (S, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nnot http"),
    ]);
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].status, Some(200));
    // Bad chunk size: the response stops, the request is still emitted.
    let txs = synth(&[
        (C, "GET / HTTP/1.1\r\n\r\n"),
        (
            S,
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ),
    ]);
    assert_eq!((txs[0].status, txs[0].length), (Some(200), None));
    // Conflicting Content-Length in a request: recorded, then stop.
    let txs = synth(&[(
        C,
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    )]);
    assert_eq!(txs.len(), 1);
}

#[test]
fn no_response_and_gaps() {
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(
        C,
        b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
        &mut out,
    );
    p.data(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
        &mut out,
    );
    p.gap(S);
    p.data(S, b"67890HTTP/1.1 200 OK\r\n\r\n", &mut out);
    p.gap(C);
    p.data(C, b"GET /3 HTTP/1.1\r\n\r\n", &mut out);
    assert!(out.is_empty());
    p.finish(&mut out);
    let got: Vec<_> = out
        .iter()
        .map(|r| match r {
            AppRecord::Http(t) => (t.url.clone(), t.status, t.length),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        got,
        [("/1".into(), Some(200), None), ("/2".into(), None, None)]
    );
    p.finish(&mut out);
    assert_eq!(out.len(), 2);
}

#[test]
fn upgrade_and_connect_leave_http() {
    let txs = synth(&[
        (
            C,
            "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x01\x05hello",
        ),
        (S, "HTTP/1.1 101 Switching Protocols\r\n\r\n\x01\x02hi"),
    ]);
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].status, Some(101));
    let txs = synth(&[
        (C, "CONNECT a:443 HTTP/1.1\r\n\r\n\x16\x03\x01"),
        (S, "HTTP/1.1 200 OK\r\n\r\n\x16\x03\x03"),
    ]);
    assert_eq!((txs[0].url.as_str(), txs[0].status), ("a:443", Some(200)));
}

#[test]
fn caps() {
    // Header section too large: that direction stops.
    let big = format!(
        "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
        "a".repeat(MAX_HEADER_BYTES)
    );
    assert!(run(&[(C, big.as_bytes())]).is_empty());
    let many = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        "A: b\r\n".repeat(MAX_HEADER_FIELDS + 1)
    );
    assert!(run(&[(C, many.as_bytes())]).is_empty());
    let ok = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        "A: b\r\n".repeat(MAX_HEADER_FIELDS)
    );
    assert_eq!(run(&[(C, ok.as_bytes())]).len(), 1);
    // Long strings are capped on character boundaries.
    let long = format!(
        "GET /{} HTTP/1.1\r\nUser-Agent: {}\r\n\r\n",
        "u".repeat(5000),
        "é".repeat(400)
    );
    let t = &run(&[(C, long.as_bytes())])[0];
    assert_eq!(t.url.len(), MAX_URL_LEN);
    assert_eq!(t.http_user_agent.as_ref().unwrap().len(), MAX_FIELD_LEN);
    // Pending requests and transactions per flow.
    let req = "GET / HTTP/1.1\r\n\r\n";
    assert_eq!(run(&[(C, req.repeat(100).as_bytes())]).len(), MAX_PENDING);
    let resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let mut convo = Vec::new();
    for _ in 0..300 {
        convo.push((C, req.as_bytes()));
        convo.push((S, resp.as_bytes()));
    }
    assert_eq!(run(&convo).len(), MAX_RECORDS_PER_FLOW as usize);
}

#[test]
fn udp_is_ignored() {
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(C, b"GET / HTTP/1.1\r\n\r\n", &mut out);
    p.gap(C);
    p.finish(&mut out);
    assert!(out.is_empty());
}

/// An HTTP/2 frame (RFC 9113 §4.1).
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend([kind, flags]);
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

fn hpack(enc: &mut loona_hpack::Encoder, fields: &[(&str, &str)]) -> Vec<u8> {
    enc.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
}

#[test]
fn h2c_upgrade_hands_over_to_http2() {
    use crate::dpi::parse::http2::Http2Tx;
    let (mut ce, mut se) = (loona_hpack::Encoder::new(), loona_hpack::Encoder::new());
    let settings = b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64";
    let req =
        b"GET /index HTTP/1.1\r\nHost: Example.org:8080\r\nConnection: Upgrade, HTTP2-Settings\r\n\
Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nUser-Agent: curl/8.5.0\r\n\r\n";
    let mut s1 =
        b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n".to_vec();
    s1.extend(settings);
    let resp = hpack(
        &mut se,
        &[(":status", "200"), ("content-type", "text/plain")],
    );
    s1.extend(h2_frame(1, 0x4, 1, &resp));
    s1.extend(h2_frame(0, 0x1, 1, b"hello"));
    // RFC 7540 §3.2: the client sends the preface after the 101.
    let mut c2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    c2.extend(settings);
    c2.extend(h2_frame(4, 0x1, 0, b""));
    let second = hpack(
        &mut ce,
        &[
            (":method", "GET"),
            (":path", "/second"),
            (":authority", "example.org:8080"),
            (":scheme", "http"),
        ],
    );
    c2.extend(h2_frame(1, 0x5, 3, &second));
    let s2 = h2_frame(1, 0x5, 3, &hpack(&mut se, &[(":status", "404")]));
    let c: testutil::Convo = vec![(C, req.to_vec()), (S, s1), (C, c2), (S, s2)];
    let records = testutil::check_segmentation(new_parser, &c);
    assert_eq!(records.len(), 3, "{records:?}");
    let AppRecord::Http(h1) = &records[0] else {
        panic!("{records:?}")
    };
    assert_eq!((h1.url.as_str(), h1.status), ("/index", Some(101)));
    let h2: Vec<&Http2Tx> = records[1..]
        .iter()
        .map(|r| match r {
            AppRecord::Http2(t) => t,
            other => panic!("{other:?}"),
        })
        .collect();
    let summary: Vec<_> = h2
        .iter()
        .map(|t| {
            (
                t.stream_id,
                t.http_method.as_deref(),
                t.url.as_deref(),
                t.status,
                t.length,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, Some("GET"), Some("/index"), Some(200), Some(5)),
            (3, Some("GET"), Some("/second"), Some(404), Some(0)),
        ]
    );
    assert_eq!(h2[0].hostname.as_deref(), Some("example.org"));
    assert_eq!(h2[0].http_user_agent.as_deref(), Some("curl/8.5.0"));
    assert_eq!(h2[0].http_content_type.as_deref(), Some("text/plain"));
    // The flow becomes HTTP/2; a websocket 101 does not.
    let mut p = new_parser(true);
    let mut out = Vec::new();
    for (d, b) in &c {
        p.data(*d, b, &mut out);
    }
    assert_eq!(p.refined(), Some(crate::dpi::AppProto::Http2));
    p.gap(S);
    p.finish(&mut out);
    let mut p = new_parser(true);
    p.data(C, b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", &mut out);
    p.data(
        S,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
        &mut out,
    );
    assert_eq!(p.refined(), None);
}

#[test]
fn elasticsearch_service_hint() {
    let txs = synth(&[
        (
            C,
            "GET / HTTP/1.1\r\nHost: es:9200\r\n\r\n\
POST /products/_search?typed_keys=true HTTP/1.1\r\nHost: es:9200\r\nContent-Length: 2\r\n\r\n{}\
GET /index.html HTTP/1.1\r\nHost: web\r\n\r\n",
        ),
        (
            S,
            "HTTP/1.1 200 OK\r\nX-elastic-product: Elasticsearch\r\ncontent-length: 2\r\n\r\n{}\
HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n\
HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        ),
    ]);
    let services: Vec<_> = txs.iter().map(|t| (t.url.as_str(), t.service)).collect();
    assert_eq!(
        services,
        [
            ("/", Some("elasticsearch")),
            ("/products/_search?typed_keys=true", Some("elasticsearch")),
            ("/index.html", None),
        ]
    );
    let json = serde_json::to_string(&txs[0]).unwrap();
    assert!(json.contains(r#""service":"elasticsearch""#), "{json}");
    assert!(!serde_json::to_string(&txs[2]).unwrap().contains("service"));
}

#[test]
fn detection_inputs_headers_body_and_length_conflicts() {
    let req = |head: &str, body: &[u8]| {
        let mut b = head.as_bytes().to_vec();
        b.extend_from_slice(body);
        run(&[(Direction::ToServer, &b)])
    };
    let txs = req(
        "POST /login HTTP/1.1\r\nHost: a\r\nAuthorization: Basic dXNlcjpwdw==\r\nCookie: id=1\r\nContent-Length: 11\r\n\r\n",
        b"user=x&pw=y",
    );
    let i = txs[0].inspect.as_deref().unwrap();
    assert_eq!(i.body, b"user=x&pw=y");
    assert_eq!(i.auth_scheme.as_deref(), Some("basic"));
    assert!(
        i.headers.iter().all(|(n, _)| n != "authorization"),
        "credentials never kept"
    );
    assert!(i.headers.contains(&("cookie".into(), "id=1".into())));
    assert_eq!(i.length_conflict, None);
    for (head, want) in [
        (
            "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
            "te_and_cl",
        ),
        (
            "POST / HTTP/1.1\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
            "cl_conflict",
        ),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "te_not_chunked",
        ),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked\r\n\r\n",
            "te_obfuscated",
        ),
    ] {
        let txs = req(head, b"0\r\n\r\n");
        let got = txs[0].inspect.as_deref().and_then(|i| i.length_conflict);
        assert_eq!(got, Some(want), "{head:?}");
    }
    // The body kept is capped; the length counts every byte.
    let big = vec![b'a'; HttpInspect::MAX_BODY * 2];
    let txs = req(
        &format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", big.len()),
        &big,
    );
    assert_eq!(
        txs[0].inspect.as_deref().unwrap().body.len(),
        HttpInspect::MAX_BODY
    );
    assert_eq!(txs[0].request_body_length, Some(big.len() as u64));
}

#[test]
fn an_unfinished_request_head_is_reported_at_the_end() {
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(
        Direction::ToServer,
        b"GET / HTTP/1.1\r\nHost: a\r\n",
        &mut out,
    );
    p.data(Direction::ToServer, b"X-a: b\r\n", &mut out);
    assert!(out.is_empty());
    p.finish(&mut out);
    assert!(
        matches!(&out[..], [AppRecord::Anomaly(a)] if a.event == "request_head_incomplete"),
        "{out:?}"
    );
    // A complete request is not.
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(
        Direction::ToServer,
        b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        &mut out,
    );
    p.finish(&mut out);
    assert!(
        out.iter().all(|r| matches!(r, AppRecord::Http(_))),
        "{out:?}"
    );
}
