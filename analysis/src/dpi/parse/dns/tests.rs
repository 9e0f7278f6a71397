//! Tests with real captures and hand-made messages for the types, escapes
//! and attacks the captures lack.
//!
//! The real messages are read at test time from the shared public corpus
//! in `../shared/pcaps` (never copied into the repository): UDP datagrams
//! by frame number (`testutil::shared_payload`, the bytes of `tshark -T
//! fields -e udp.payload`), DNS over TCP as the reassembled stream of one
//! direction of the conversation to port 53 (`testutil::shared_convo`).
//! Expected values are from `tshark -V`. The hand-made messages are built
//! in code from RFC 1035 and its successors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{self, shared_payload};

/// The messages among the records (malformed messages give anomaly
/// records instead, checked by the tests about them).
fn dns(records: Vec<AppRecord>) -> Vec<DnsMessage> {
    records
        .into_iter()
        .filter_map(|r| match r {
            AppRecord::Dns(m) => Some(m),
            AppRecord::Anomaly(_) => None,
            other => panic!("not dns: {other:?}"),
        })
        .collect()
}

#[test]
fn malformed_messages_are_reported_as_anomalies() {
    // Question name: a pointer to itself (the loop-pointer attack).
    let mut msg = vec![
        0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1,
    ];
    let mut p = DnsParser::new(false);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &msg, &mut out);
    assert_eq!(
        out,
        vec![AppRecord::Anomaly(crate::dpi::parser::AppAnomaly::new(
            crate::dpi::AppProto::Dns,
            "dns_forward_pointer"
        ))]
    );
    msg.truncate(13);
    out.clear();
    p.data(Direction::ToServer, &msg, &mut out);
    assert!(matches!(&out[..], [AppRecord::Anomaly(a)] if a.event == "dns_truncated"));
}

fn udp(datagrams: &[(Direction, &[u8])]) -> (Vec<DnsMessage>, DnsParser) {
    let mut p = DnsParser::new(false);
    let mut out = Vec::new();
    for (d, b) in datagrams {
        p.data(*d, b, &mut out);
    }
    p.finish(&mut out);
    (dns(out), p)
}

fn one(bytes: &[u8]) -> DnsMessage {
    parse_message(bytes).unwrap()
}

fn ans(rrname: &str, rrtype: &str, ttl: u32, rdata: Option<&str>) -> DnsAnswer {
    DnsAnswer {
        rrname: rrname.into(),
        rrtype: rrtype.into(),
        ttl,
        rdata: rdata.map(Into::into),
    }
}

#[test]
fn ndpi_query_and_responses() {
    let m = one(&ndpi_1());
    assert_eq!(m.kind, "answer");
    assert_eq!(m.id, 0xdca2);
    assert_eq!(m.flags, "8180");
    assert_eq!(m.rrname.as_deref(), Some("www.l.google.com"));
    assert_eq!(m.rrtype.as_deref(), Some("AAAA"));
    assert_eq!(m.rcode.as_deref(), Some("NOERROR"));
    assert!(m.answers.is_empty());

    let q = one(&ndpi_4());
    assert_eq!(q.kind, "query");
    assert_eq!((q.id, q.flags.as_str()), (0x7843, "0100"));
    assert_eq!(q.rrname.as_deref(), Some("e7.whatsapp.net"));
    assert_eq!(q.rrtype.as_deref(), Some("A"));
    assert_eq!(q.rcode, None);

    let r = one(&ndpi_5());
    assert_eq!((r.id, r.flags.as_str()), (0x7843, "8180"));
    let addrs = [
        "169.45.219.235",
        "169.47.40.142",
        "169.45.248.121",
        "108.168.176.234",
        "169.45.248.189",
        "169.45.248.180",
        "169.53.81.79",
        "169.45.219.232",
    ];
    let want: Vec<_> = addrs
        .iter()
        .map(|a| ans("e7.whatsapp.net", "A", 491, Some(a)))
        .collect();
    assert_eq!(r.answers, want);
}

#[test]
fn arkime_cname_chain_and_edns_query() {
    let r = one(&arkime_2());
    assert_eq!((r.id, r.flags.as_str()), (0xe039, "8180"));
    assert_eq!(r.rrname.as_deref(), Some("www.github.com"));
    // Answer section only: the NS and A records after it are not answers.
    assert_eq!(
        r.answers,
        vec![
            ans("www.github.com", "CNAME", 1980, Some("github.com")),
            ans("github.com", "A", 4, Some("192.30.252.128")),
        ]
    );

    let q = one(&arkime_5());
    assert_eq!((q.kind, q.id, q.flags.as_str()), ("query", 0xcaa6, "0010"));
    assert_eq!(q.rrname.as_deref(), Some("10.100.10.10.in-addr.arpa"));
    assert_eq!(q.rrtype.as_deref(), Some("ANY"));
}

#[test]
fn zeek_txt_over_ipv6() {
    let q = one(&zeek_1());
    assert_eq!((q.kind, q.id, q.flags.as_str()), ("query", 0x0f3f, "0100"));
    let name = "txtpadding_323.n1.netalyzr.icsi.berkeley.edu";
    assert_eq!(q.rrname.as_deref(), Some(name));
    assert_eq!(q.rrtype.as_deref(), Some("TXT"));

    let r = one(&zeek_2());
    assert_eq!((r.kind, r.flags.as_str()), ("answer", "8500"));
    assert_eq!(r.answers.len(), 1);
    let a = &r.answers[0];
    assert_eq!(
        (a.rrname.as_str(), a.rrtype.as_str(), a.ttl),
        (name, "TXT", 1)
    );
    // tshark: strings of 33, 21 and 136 octets.
    let text = a.rdata.as_deref().unwrap();
    let want = format!(
        "This TXT record should be ignoredAs it is just padding{}",
        "X".repeat(136)
    );
    assert_eq!(text, want);
}

#[test]
fn udp_keeps_going_after_malformed_datagram() {
    let good = ndpi_4();
    let bad = &good[..good.len() - 3];
    let (msgs, p) = udp(&[
        (Direction::ToServer, bad),
        (Direction::ToServer, &good),
        (Direction::ToClient, &ndpi_5()),
    ]);
    assert_eq!(msgs.len(), 2);
    assert_eq!(p.dirs[0].malformed, 1);
    assert_eq!((p.dirs[0].emitted, p.dirs[1].emitted), (1, 1));
    // A gap means nothing for UDP.
    let mut p = DnsParser::new(false);
    let mut out = Vec::new();
    p.gap(Direction::ToServer);
    p.data(Direction::ToServer, &good, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn truncation_at_every_offset_never_panics() {
    let mut axfr = axfr_to_client();
    axfr.drain(..2);
    for b in [ndpi_1(), ndpi_5(), arkime_2(), arkime_5(), zeek_2(), axfr] {
        for cut in 0..b.len() {
            let _ = parse_message(&b[..cut]);
            let (_, p) = udp(&[(Direction::ToClient, &b[..cut])]);
            assert!(p.dirs[1].emitted <= 1);
        }
        // Every single-byte corruption is handled too.
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0xff;
            let _ = parse_message(&c);
        }
    }
    // Cuts inside the question section are always malformed.
    let b = ndpi_4();
    for cut in 0..b.len() {
        assert!(parse_message(&b[..cut]).is_err(), "cut {cut}");
    }
}

/// Feeds `stream` to a fresh TCP parser in chunks cut at `cuts`.
fn tcp_feed(dir: Direction, stream: &[u8], cuts: &[usize]) -> (Vec<DnsMessage>, DnsParser) {
    let mut p = DnsParser::new(true);
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
        p.data(dir, &stream[at..c], &mut out);
        at = c;
    }
    p.finish(&mut out);
    (dns(out), p)
}

#[test]
fn tcp_google_both_directions() {
    let (q, _) = tcp_feed(Direction::ToServer, &google_to_server(), &[]);
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].kind, q[0].id, q[0].flags.as_str()),
        ("query", 0x5f78, "0120")
    );
    assert_eq!(q[0].rrname.as_deref(), Some("www.google.com"));
    assert_eq!(q[0].rrtype.as_deref(), Some("A"));

    let (r, _) = tcp_feed(Direction::ToClient, &google_to_client(), &[]);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].kind, r[0].flags.as_str()), ("answer", "8180"));
    let last = [244, 224, 238, 210, 230, 223, 245, 231, 251, 237, 217, 216];
    let want: Vec<_> = last
        .iter()
        .map(|o| ans("www.google.com", "A", 8, Some(&format!("216.197.242.{o}"))))
        .collect();
    // The trailing OPT record is in the additional section, never an answer.
    assert_eq!(r[0].answers, want);
}

#[test]
fn tcp_axfr_split_across_segments() {
    let up = axfr_to_server();
    // As captured: the 2-octet prefix alone in frame 4, the query in frame 6.
    let (q, _) = tcp_feed(Direction::ToServer, &up, &[2]);
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].id, q[0].flags.as_str()), (7, "0100"));
    assert_eq!(q[0].rrname.as_deref(), Some("contoso.local"));
    assert_eq!(q[0].rrtype.as_deref(), Some("AXFR"));

    let (r, _) = tcp_feed(Direction::ToClient, &axfr_to_client(), &[]);
    assert_eq!(r.len(), 1);
    let a = &r[0].answers;
    assert_eq!(a.len(), 21);
    let dns3 = Some("dns3.contoso.local");
    assert_eq!(a[0], ans("contoso.local", "SOA", 3600, dns3));
    assert_eq!(a[1], ans("contoso.local", "A", 600, Some("172.16.16.139")));
    assert_eq!(a[2], ans("contoso.local", "NS", 3600, dns3));
    let msdcs = Some("csanders-9ceae1.contoso.local");
    assert_eq!(a[3], ans("_msdcs.contoso.local", "NS", 3600, msdcs));
    let gc = "_gc._tcp.Default-First-Site-Name._sites.contoso.local";
    assert_eq!(a[4], ans(gc, "SRV", 600, dns3));
    assert_eq!(
        a[13],
        ans("dns3.contoso.local", "A", 1200, Some("172.16.16.139"))
    );
    assert_eq!(a[20].rrtype, "SOA");
}

#[test]
fn tcp_identical_records_for_any_split() {
    // Two directions' worth of messages glued into one stream, so splits
    // also fall between messages.
    let mut stream = axfr_to_client();
    stream.extend(google_to_client());
    stream.extend(axfr_to_server());
    let (whole, _) = tcp_feed(Direction::ToClient, &stream, &[]);
    assert_eq!(whole.len(), 3);
    let bytewise: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(tcp_feed(Direction::ToClient, &stream, &bytewise).0, whole);
    for cut in 1..stream.len() {
        assert_eq!(
            tcp_feed(Direction::ToClient, &stream, &[cut]).0,
            whole,
            "cut {cut}"
        );
    }
    // Two cuts: every first cut with a second one 1..=3 bytes later.
    for cut in 1..stream.len() - 3 {
        for d in 1..=3 {
            let got = tcp_feed(Direction::ToClient, &stream, &[cut, cut + d]).0;
            assert_eq!(got, whole, "cuts {cut} +{d}");
        }
    }
}

#[test]
fn tcp_gap_stops_direction_only() {
    let q = google_to_server();
    let r = google_to_client();
    let mut p = DnsParser::new(true);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &q[..10], &mut out);
    p.gap(Direction::ToServer);
    assert!(p.dirs[0].buf.is_empty());
    p.data(Direction::ToServer, &q, &mut out);
    assert!(out.is_empty());
    p.data(Direction::ToClient, &r, &mut out);
    assert_eq!(out.len(), 1);
}

#[test]
fn tcp_buffer_is_capped_and_bad_frames_skipped() {
    let mut p = DnsParser::new(true);
    let mut out = Vec::new();
    // A zero-length frame, then the start of a 65,535-octet one whose
    // header claims 65,535 questions.
    let mut s = vec![0, 0, 0xff, 0xff];
    s.extend([0xff; 100]);
    p.data(Direction::ToServer, &s, &mut out);
    assert_eq!((p.dirs[0].malformed, p.dirs[0].buf.len()), (1, 102));
    // Completing it, and starting another from the same call.
    p.data(Direction::ToServer, &[0xff; 70_000], &mut out);
    assert!(
        out.iter().all(|r| matches!(r, AppRecord::Anomaly(_))),
        "{out:?}"
    );
    assert_eq!(p.dirs[0].malformed, 2);
    assert_eq!(p.dirs[0].buf.len(), 70_000 - (65_535 - 100));
    assert!(p.dirs[0].buf.len() <= MAX_TCP_BUFFER);
    // The end of the flow drops the partial message.
    out.clear();
    p.finish(&mut out);
    assert!(out.is_empty() && p.dirs[0].buf.is_empty());
}

#[test]
fn message_cap_per_direction() {
    let q = ndpi_4();
    let mut p = DnsParser::new(false);
    let mut out = Vec::new();
    for _ in 0..100 {
        p.data(Direction::ToServer, &q, &mut out);
    }
    assert_eq!(out.len(), MAX_MESSAGES_PER_DIRECTION as usize);
    assert!(p.dirs[0].stopped);
    // TCP: 100 framed queries in one call.
    let framed = google_to_server();
    let stream: Vec<u8> = framed
        .iter()
        .copied()
        .cycle()
        .take(framed.len() * 100)
        .collect();
    let (msgs, p) = tcp_feed(Direction::ToServer, &stream, &[]);
    assert_eq!(msgs.len(), 64);
    assert!(p.dirs[0].stopped && p.dirs[0].buf.is_empty());
}

/// Builds a response with one question `q` and the given raw answer RRs.
fn response(flags: u16, q: &[u8], answers: &[Vec<u8>]) -> Vec<u8> {
    let mut m = vec![0x12, 0x34];
    m.extend(flags.to_be_bytes());
    m.extend([0, 1]);
    m.extend((answers.len() as u16).to_be_bytes());
    m.extend([0, 0, 0, 0]);
    m.extend(q);
    m.extend([0, 1, 0, 1]);
    for a in answers {
        m.extend(a);
    }
    m
}

/// An RR owned by the question name (pointer to offset 12).
fn rr(rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = vec![0xc0, 12];
    r.extend(rtype.to_be_bytes());
    r.extend([0, 1]);
    r.extend(ttl.to_be_bytes());
    r.extend((rdata.len() as u16).to_be_bytes());
    r.extend(rdata);
    r
}

const EXAMPLE: &[u8] = b"\x07example\x03com\x00";

#[test]
fn handmade_types_and_unknown_values() {
    let aaaa = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let mut mx: Vec<u8> = vec![0, 10, 4, b'm', b'a', b'i', b'l', 0xc0, 12];
    let ptr = b"\x03foo\xc0\x0c".to_vec();
    let srv = [&[0, 1, 0, 2, 0x01, 0xbb][..], b"\x03sip\xc0\x0c"].concat();
    let txt = b"\x02a\\\x03b\x01c\x00".to_vec();
    let answers = vec![
        rr(28, 60, &aaaa),
        rr(15, 61, &mx),
        rr(12, 62, &ptr),
        rr(33, 63, &srv),
        rr(16, 64, &txt),
        rr(999, 65, &[1, 2, 3]),
        rr(41, 0, &[]),
        rr(257, 66, &[0, 5]),
        rr(1, 67, &[1, 2, 3]),
    ];
    // QR=1, RCODE 11 (unassigned).
    let m = one(&response(0x818b, EXAMPLE, &answers));
    assert_eq!(m.rcode.as_deref(), Some("11"));
    assert_eq!(m.flags, "818b");
    let ex = "example.com";
    assert_eq!(
        m.answers,
        vec![
            ans(ex, "AAAA", 60, Some("2001:db8::1")),
            ans(ex, "MX", 61, Some("10 mail.example.com")),
            ans(ex, "PTR", 62, Some("foo.example.com")),
            ans(ex, "SRV", 63, Some("sip.example.com")),
            ans(ex, "TXT", 64, Some("a\\\\b\\001c")),
            ans(ex, "999", 65, None),
            ans(ex, "CAA", 66, None),
            // Bad A RDATA: the record stays, without rdata.
            ans(ex, "A", 67, None),
        ]
    );
    // A name in RDATA may not run past RDLENGTH (here into the next RR).
    mx.truncate(5);
    let m = one(&response(
        0x8180,
        EXAMPLE,
        &[rr(15, 1, &mx), rr(1, 2, b"il\0\0")],
    ));
    assert_eq!(m.answers[0], ans(ex, "MX", 1, None));
    assert_eq!(m.answers[1], ans(ex, "A", 2, Some("105.108.0.0")));
    // NXDOMAIN, no question.
    let mut m = response(0x8183, EXAMPLE, &[]);
    m[5] = 0;
    m.truncate(12);
    let m = one(&m);
    assert_eq!(
        (m.rcode.as_deref(), m.rrname, m.rrtype),
        (Some("NXDOMAIN"), None, None)
    );
}

#[test]
fn names_escaped_root_and_caps() {
    // Root question, escaped label bytes.
    let m = one(&response(0x0100, b"\x00", &[]));
    assert_eq!(m.rrname.as_deref(), Some("<root>"));
    let m = one(&response(0x0100, b"\x04a.b\\\x03\x20\xff\x7f\x00", &[]));
    assert_eq!(m.rrname.as_deref(), Some("a\\.b\\\\.\\032\\255\\127"));

    // 63-octet labels: 4 of them make 4 * 64 + 1 = 257 > 255 octets.
    let label = [&[63u8][..], &[b'x'; 63]].concat();
    let ok = [label.repeat(3), vec![61], vec![b'y'; 61], vec![0]].concat();
    assert_eq!(ok.len(), MAX_NAME_LEN);
    assert!(parse_message(&response(0x0100, &ok, &[])).is_ok());
    let long = [label.repeat(3), vec![62], vec![b'y'; 62], vec![0]].concat();
    assert_eq!(
        parse_message(&response(0x0100, &long, &[])),
        Err(DnsError::NameTooLong)
    );

    // Reserved label types 01 and 10.
    for t in [0x40, 0x80] {
        let e = parse_message(&response(0x0100, &[t, 0], &[]));
        assert_eq!(e, Err(DnsError::BadLabelType));
    }

    // More than 40 answers: 32 kept.
    let many: Vec<_> = (0..40).map(|i| rr(1, i, &[10, 0, 0, i as u8])).collect();
    let m = one(&response(0x8180, EXAMPLE, &many));
    assert_eq!(m.answers.len(), MAX_ANSWERS);
    assert_eq!(m.answers[31].rdata.as_deref(), Some("10.0.0.31"));
}

#[test]
fn pointer_loops_and_forward_pointers_rejected() {
    // Self-pointer in the question name.
    let m = response(0x0100, &[0xc0, 12], &[]);
    assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));
    // Forward pointer to a valid name later in the message.
    let mut m = response(0x0100, &[0xc0, 18], &[]);
    m.extend(EXAMPLE);
    assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));
    // A loop of backwards pointers: the label at 12 is followed by a
    // pointer back to it (a pointer into its own label run).
    let m = response(0x0100, b"\x01a\xc0\x0c", &[]);
    assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));
    // The same loop reached from an answer's owner name.
    let mut m = response(0x8180, b"\x01a\xc0\x0c", &[]);
    m[7] = 1;
    m.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0]);
    assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));

    // A chain of strictly backwards pointers, each to the one before it,
    // ending at a root label at offset 12.
    let mut m = vec![0, 1, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    let mut target = 12u16;
    for k in 0..40u16 {
        m.extend((0xc000 | target).to_be_bytes());
        target = 13 + 2 * k;
    }
    let at = |k: usize| 13 + 2 * k;
    // Starting at pointer k takes k + 1 jumps.
    assert_eq!(
        read_name(&m, at(31)).unwrap(),
        ("<root>".to_owned(), at(31) + 2)
    );
    assert_eq!(read_name(&m, at(32)), Err(DnsError::TooManyPointers));
    // A pointer beyond the end of the message.
    let m = response(0x0100, &[0xc0, 0xff], &[]);
    assert_eq!(parse_message(&m), Err(DnsError::ForwardPointer));
}

const NDPI: &str = "ndpi__dns.pcap";
const ARKIME: &str = "arkime__dns-udp.pcap";
const ZEEK: &str = "zeek__ipv6-fragmented-dns.pcap";
const GOOGLE: &str = "suricata__dns_dns-tcp-www-google-com.pcap";
const AXFR: &str = "chrissanders__dns_axfr.pcapng";

/// ndpi__dns.pcap frame 1: AAAA response, no answers.
fn ndpi_1() -> Vec<u8> {
    shared_payload(NDPI, 1)
}

/// ndpi__dns.pcap frame 4: A query.
fn ndpi_4() -> Vec<u8> {
    shared_payload(NDPI, 4)
}

/// ndpi__dns.pcap frame 5: A response, 8 answers.
fn ndpi_5() -> Vec<u8> {
    shared_payload(NDPI, 5)
}

/// arkime__dns-udp.pcap frame 2: CNAME + A, NS and A in later sections.
fn arkime_2() -> Vec<u8> {
    shared_payload(ARKIME, 2)
}

/// arkime__dns-udp.pcap frame 5: ANY PTR-name query with EDNS.
fn arkime_5() -> Vec<u8> {
    shared_payload(ARKIME, 5)
}

/// zeek__ipv6-fragmented-dns.pcap frame 1: TXT query over IPv6 with EDNS.
fn zeek_1() -> Vec<u8> {
    shared_payload(ZEEK, 1)
}

/// zeek__ipv6-fragmented-dns.pcap frame 2: TXT response (3 strings).
fn zeek_2() -> Vec<u8> {
    shared_payload(ZEEK, 2)
}

/// One direction of the capture's TCP conversation to port 53.
fn tcp_stream(name: &str, dir: Direction) -> Vec<u8> {
    testutil::stream(&testutil::shared_convo(name, 6, 53), dir)
}

/// suricata__dns_dns-tcp-www-google-com.pcap client stream (frame 4).
fn google_to_server() -> Vec<u8> {
    tcp_stream(GOOGLE, Direction::ToServer)
}

/// suricata__dns_dns-tcp-www-google-com.pcap server stream (frame 6).
fn google_to_client() -> Vec<u8> {
    tcp_stream(GOOGLE, Direction::ToClient)
}

/// chrissanders__dns_axfr.pcapng client stream, frames 4 and 6: the
/// 2-octet prefix, then the query.
fn axfr_to_server() -> Vec<u8> {
    tcp_stream(AXFR, Direction::ToServer)
}

/// chrissanders__dns_axfr.pcapng server stream, frame 7: the whole zone
/// in one message.
fn axfr_to_client() -> Vec<u8> {
    tcp_stream(AXFR, Direction::ToClient)
}
