//! Tests with real captures (bytes from `tshark -T fields -e udp.payload`
//! / `-e tcp.payload`; expected values from `tshark -V`) and hand-made
//! messages for the types, escapes and attacks the captures lack.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

fn dns(records: Vec<AppRecord>) -> Vec<DnsMessage> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Dns(m) => m,
            other => panic!("not dns: {other:?}"),
        })
        .collect()
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
    let m = one(&hex(NDPI_1));
    assert_eq!(m.kind, "answer");
    assert_eq!(m.id, 0xdca2);
    assert_eq!(m.flags, "8180");
    assert_eq!(m.rrname.as_deref(), Some("www.l.google.com"));
    assert_eq!(m.rrtype.as_deref(), Some("AAAA"));
    assert_eq!(m.rcode.as_deref(), Some("NOERROR"));
    assert!(m.answers.is_empty());

    let q = one(&hex(NDPI_4));
    assert_eq!(q.kind, "query");
    assert_eq!((q.id, q.flags.as_str()), (0x7843, "0100"));
    assert_eq!(q.rrname.as_deref(), Some("e7.whatsapp.net"));
    assert_eq!(q.rrtype.as_deref(), Some("A"));
    assert_eq!(q.rcode, None);

    let r = one(&hex(NDPI_5));
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
    let r = one(&hex(ARKIME_2));
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

    let q = one(&hex(ARKIME_5));
    assert_eq!((q.kind, q.id, q.flags.as_str()), ("query", 0xcaa6, "0010"));
    assert_eq!(q.rrname.as_deref(), Some("10.100.10.10.in-addr.arpa"));
    assert_eq!(q.rrtype.as_deref(), Some("ANY"));
}

#[test]
fn zeek_txt_over_ipv6() {
    let q = one(&hex(ZEEK_1));
    assert_eq!((q.kind, q.id, q.flags.as_str()), ("query", 0x0f3f, "0100"));
    let name = "txtpadding_323.n1.netalyzr.icsi.berkeley.edu";
    assert_eq!(q.rrname.as_deref(), Some(name));
    assert_eq!(q.rrtype.as_deref(), Some("TXT"));

    let r = one(&hex(ZEEK_2));
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
    let good = hex(NDPI_4);
    let bad = &good[..good.len() - 3];
    let (msgs, p) = udp(&[
        (Direction::ToServer, bad),
        (Direction::ToServer, &good),
        (Direction::ToClient, &hex(NDPI_5)),
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
    for fx in [NDPI_1, NDPI_5, ARKIME_2, ARKIME_5, ZEEK_2, AXFR_TO_CLIENT] {
        let mut b = hex(fx);
        if fx == AXFR_TO_CLIENT {
            b.drain(..2);
        }
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
    let b = hex(NDPI_4);
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
    let (q, _) = tcp_feed(Direction::ToServer, &hex(GOOGLE_TO_SERVER), &[]);
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].kind, q[0].id, q[0].flags.as_str()),
        ("query", 0x5f78, "0120")
    );
    assert_eq!(q[0].rrname.as_deref(), Some("www.google.com"));
    assert_eq!(q[0].rrtype.as_deref(), Some("A"));

    let (r, _) = tcp_feed(Direction::ToClient, &hex(GOOGLE_TO_CLIENT), &[]);
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
    let up = hex(AXFR_TO_SERVER);
    // As captured: the 2-octet prefix alone in frame 4, the query in frame 6.
    let (q, _) = tcp_feed(Direction::ToServer, &up, &[2]);
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].id, q[0].flags.as_str()), (7, "0100"));
    assert_eq!(q[0].rrname.as_deref(), Some("contoso.local"));
    assert_eq!(q[0].rrtype.as_deref(), Some("AXFR"));

    let (r, _) = tcp_feed(Direction::ToClient, &hex(AXFR_TO_CLIENT), &[]);
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
    let mut stream = hex(AXFR_TO_CLIENT);
    stream.extend(hex(GOOGLE_TO_CLIENT));
    stream.extend(hex(AXFR_TO_SERVER));
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
    let q = hex(GOOGLE_TO_SERVER);
    let r = hex(GOOGLE_TO_CLIENT);
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
    assert!(out.is_empty());
    assert_eq!(p.dirs[0].malformed, 2);
    assert_eq!(p.dirs[0].buf.len(), 70_000 - (65_535 - 100));
    assert!(p.dirs[0].buf.len() <= MAX_TCP_BUFFER);
    // The end of the flow drops the partial message.
    p.finish(&mut out);
    assert!(out.is_empty() && p.dirs[0].buf.is_empty());
}

#[test]
fn message_cap_per_direction() {
    let q = hex(NDPI_4);
    let mut p = DnsParser::new(false);
    let mut out = Vec::new();
    for _ in 0..100 {
        p.data(Direction::ToServer, &q, &mut out);
    }
    assert_eq!(out.len(), MAX_MESSAGES_PER_DIRECTION as usize);
    assert!(p.dirs[0].stopped);
    // TCP: 100 framed queries in one call.
    let framed = hex(GOOGLE_TO_SERVER);
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

/// ndpi__dns.pcap frame 1: AAAA response, no answers.
const NDPI_1: &str = "dca28180000100000000000003777777016c06676f6f676c6503636f6d00001c0001";

/// ndpi__dns.pcap frame 4: A query.
const NDPI_4: &str = "784301000001000000000000026537087768617473617070036e65740000010001";

/// ndpi__dns.pcap frame 5: A response, 8 answers.
const NDPI_5: &str = concat!(
    "784381800001000800000000026537087768617473617070036e65740000010001c00c00010001000001eb00",
    "04a92ddbebc00c00010001000001eb0004a92f288ec00c00010001000001eb0004a92df879c00c0001000100",
    "0001eb00046ca8b0eac00c00010001000001eb0004a92df8bdc00c00010001000001eb0004a92df8b4c00c00",
    "010001000001eb0004a935514fc00c00010001000001eb0004a92ddbe8",
);

/// arkime__dns-udp.pcap frame 2: CNAME + A, NS and A in later sections.
const ARKIME_2: &str = concat!(
    "e03981800001000200040004037777770667697468756203636f6d0000010001c00c00050001000007bc0002",
    "c010c01000010001000000040004c01efc80c01000020001000001480014036e7333037031360664796e6563",
    "74036e657400c01000020001000001480006036e7332c04ec01000020001000001480006036e7334c04ec010",
    "00020001000001480006036e7331c04ec06a0001000100000e1000040a025f0cc04a0001000100000e100004",
    "0a025f0cc08e0001000100000e1000040a025f0cc07c0001000100000e1000040a025f0c",
);

/// arkime__dns-udp.pcap frame 5: ANY PTR-name query with EDNS.
const ARKIME_5: &str = concat!(
    "caa6001000010000000000010231300331303002313002313007696e2d6164647204617270610000ff000100",
    "00290200000080000000",
);

/// zeek__ipv6-fragmented-dns.pcap frame 1: TXT query over IPv6 with EDNS.
const ZEEK_1: &str = concat!(
    "0f3f010000010000000000010e74787470616464696e675f333233026e31086e6574616c797a720469637369",
    "086265726b656c65790365647500001000010000291000000080000000",
);

/// zeek__ipv6-fragmented-dns.pcap frame 2: TXT response (3 strings).
const ZEEK_2: &str = concat!(
    "0f3f850000010001000100020e74787470616464696e675f333233026e31086e6574616c797a720469637369",
    "086265726b656c6579036564750000100001c00c001000010000000100c1215468697320545854207265636f",
    "72642073686f756c642062652069676e6f726564154173206974206973206a7573742070616464696e678858",
    "5858585858585858585858585858585858585858585858585858585858585858585858585858585858585858",
    "5858585858585858585858585858585858585858585858585858585858585858585858585858585858585858",
    "5858585858585858585858585858585858585858585858585858585858585858585858585858585858585858",
    "585858c01b0002000100000064001106726f6c616e640469636972036f7267000000291000000080000000c1",
    "1700010001000000640004c096bb1f",
);

/// suricata__dns_dns-tcp-www-google-com.pcap frame 4 (client stream).
const GOOGLE_TO_SERVER: &str = concat!(
    "00375f78012000010000000000010377777706676f6f676c6503636f6d000001000100002910000000000000",
    "0c000a00085a760730fb2b37d5",
);

/// suricata__dns_dns-tcp-www-google-com.pcap frame 6 (server stream).
const GOOGLE_TO_CLIENT: &str = concat!(
    "00eb5f7881800001000c000000010377777706676f6f676c6503636f6d0000010001c00c0001000100000008",
    "0004d8c5f2f4c00c00010001000000080004d8c5f2e0c00c00010001000000080004d8c5f2eec00c00010001",
    "000000080004d8c5f2d2c00c00010001000000080004d8c5f2e6c00c00010001000000080004d8c5f2dfc00c",
    "00010001000000080004d8c5f2f5c00c00010001000000080004d8c5f2e7c00c00010001000000080004d8c5",
    "f2fbc00c00010001000000080004d8c5f2edc00c00010001000000080004d8c5f2d9c00c0001000100000008",
    "0004d8c5f2d80000290200000000000000",
);

/// chrissanders__dns_axfr.pcapng frames 4 and 6: prefix, then query.
const AXFR_TO_SERVER: &str =
    "002100070100000100000000000007636f6e746f736f056c6f63616c0000fc00014d53";

/// chrissanders__dns_axfr.pcapng frame 7: the whole zone in one message.
const AXFR_TO_CLIENT: &str = concat!(
    "048200078180000100150000000007636f6e746f736f056c6f63616c0000fc0001c00c0006000100000e1000",
    "2704646e7333c00c0a686f73746d6173746572000000004700000384000002580001518000000e10c00c0001",
    "0001000002580004ac10108bc00c0002000100000e10000704646e7333c00c065f6d73646373c00c00020001",
    "00000e1000120f6373616e646572732d396365616531c00c035f6763045f7463701744656661756c742d4669",
    "7273742d536974652d4e616d65065f7369746573c00c0021000100000258001a000000640cc404646e733307",
    "636f6e746f736f056c6f63616c00095f6b65726265726f73045f7463701744656661756c742d46697273742d",
    "536974652d4e616d65065f7369746573c00c0021000100000258001a00000064005804646e733307636f6e74",
    "6f736f056c6f63616c00055f6c646170045f7463701744656661756c742d46697273742d536974652d4e616d",
    "65065f7369746573c00c0021000100000258001a00000064018504646e733307636f6e746f736f056c6f6361",
    "6c00035f6763045f746370c00c0021000100000258001a000000640cc404646e733307636f6e746f736f056c",
    "6f63616c00095f6b65726265726f73045f746370c00c0021000100000258001a00000064005804646e733307",
    "636f6e746f736f056c6f63616c00085f6b706173737764045f746370c00c0021000100000258001a00000064",
    "01d004646e733307636f6e746f736f056c6f63616c00055f6c646170045f746370c00c002100010000025800",
    "1a00000064018504646e733307636f6e746f736f056c6f63616c00095f6b65726265726f73045f756470c00c",
    "0021000100000258001a00000064005804646e733307636f6e746f736f056c6f63616c00085f6b7061737377",
    "64045f756470c00c0021000100000258001a0000006401d004646e733307636f6e746f736f056c6f63616c00",
    "04646e7333c00c00010001000004b00004ac10108b0e446f6d61696e446e735a6f6e6573c00c000100010000",
    "02580004ac10108b055f6c646170045f7463701744656661756c742d46697273742d536974652d4e616d6506",
    "5f73697465730e446f6d61696e446e735a6f6e6573c00c0021000100000258001a00000064018504646e7333",
    "07636f6e746f736f056c6f63616c00055f6c646170045f7463700e446f6d61696e446e735a6f6e6573c00c00",
    "21000100000258001a00000064018504646e733307636f6e746f736f056c6f63616c000e466f72657374446e",
    "735a6f6e6573c00c00010001000002580004ac10108b055f6c646170045f7463701744656661756c742d4669",
    "7273742d536974652d4e616d65065f73697465730e466f72657374446e735a6f6e6573c00c00210001000002",
    "58001a00000064018504646e733307636f6e746f736f056c6f63616c00055f6c646170045f7463700e466f72",
    "657374446e735a6f6e6573c00c0021000100000258001a00000064018504646e733307636f6e746f736f056c",
    "6f63616c00c00c0006000100000e10002704646e7333c00c0a686f73746d6173746572000000004700000384",
    "000002580001518000000e10",
);
