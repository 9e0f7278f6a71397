//! The content detectors over real traffic from `../shared/pcaps` (read at
//! test time, never copied): attack captures must fire, every capture of
//! the manifest not tagged as an attack must stay silent. Also truncation
//! at every offset and hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::http::{inspect_request, Finding, InputMatch, Inspectors, RequestView};
use super::{dlp, dns, rce, sqli, xss};
use crate::dpi::parse::testutil::{shared_convos, shared_pcap, stream};
use crate::flow::Direction;

/// One HTTP request read minimally from a client stream.
struct Req {
    uri: Vec<u8>,
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
}

impl Req {
    fn inspect(&self, max: usize) -> Vec<InputMatch> {
        let headers: Vec<(&[u8], &[u8])> =
            self.headers.iter().map(|(n, v)| (&n[..], &v[..])).collect();
        inspect_request(
            &RequestView {
                uri: &self.uri,
                headers: &headers,
                body: &self.body,
            },
            max,
            Inspectors::ALL,
        )
    }
}

/// Requests of a client stream: request line, headers, body by
/// Content-Length; stops at the first thing that is not a request.
fn requests(mut s: &[u8]) -> Vec<Req> {
    let mut out = Vec::new();
    loop {
        while s.first().is_some_and(|b| b.is_ascii_whitespace()) {
            s = &s[1..];
        }
        let Some(end) = s.windows(4).position(|w| w == b"\r\n\r\n") else {
            break;
        };
        let head = &s[..end];
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let line = lines.next().unwrap_or_default();
        let parts: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
        let method_ok = parts
            .first()
            .is_some_and(|m| !m.is_empty() && m.iter().all(u8::is_ascii_uppercase));
        if parts.len() < 3 || !method_ok || !parts[parts.len() - 1].starts_with(b"HTTP/") {
            break;
        }
        let uri = parts[1..parts.len() - 1].join(&b' ');
        let mut headers = Vec::new();
        let mut len = 0usize;
        for l in lines {
            if let Some(p) = l.iter().position(|&b| b == b':') {
                let (n, v) = (&l[..p], l[p + 1..].trim_ascii());
                if n.eq_ignore_ascii_case(b"content-length") {
                    len = std::str::from_utf8(v)
                        .ok()
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0);
                }
                headers.push((n.to_vec(), v.to_vec()));
            }
        }
        let body_end = (end + 4 + len).min(s.len());
        out.push(Req {
            uri,
            headers,
            body: s[end + 4..body_end].to_vec(),
        });
        s = &s[body_end..];
    }
    out
}

/// Every HTTP request of a capture.
fn capture_requests(name: &str) -> Vec<Req> {
    shared_convos(name, 6)
        .iter()
        .flat_map(|(_, c)| requests(&stream(c, Direction::ToServer)))
        .collect()
}

/// Captures of the manifest whose tags name no attack (nor card data).
fn benign_captures() -> Vec<String> {
    let manifest = std::fs::read_to_string(shared_pcap("MANIFEST.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let tags = cols.get(7)?;
            let bad = ["attack", "sqli", "xss", "rce", "creditcard"];
            (!bad.iter().any(|b| tags.contains(b))).then(|| cols[0].to_string())
        })
        .collect()
}

fn uri(r: &Req) -> String {
    String::from_utf8_lossy(&r.uri).into_owned()
}

/// Flags every request of `name` for which `attack` holds, with a finding
/// `kind` accepts; returns (flagged, attack requests, all requests).
fn check_attacks(
    name: &str,
    attack: impl Fn(&str) -> bool,
    kind: impl Fn(&Finding) -> bool,
) -> (usize, usize, usize) {
    let reqs = capture_requests(name);
    let mut flagged = 0;
    let mut attacks = 0;
    for r in &reqs {
        let m = r.inspect(8);
        if !m.is_empty() {
            flagged += 1;
        }
        if attack(&uri(r)) {
            attacks += 1;
            assert!(
                m.iter().any(|m| kind(&m.finding)),
                "{name}: missed {}",
                uri(r)
            );
        }
    }
    println!(
        "{name}: {flagged} of {} requests flagged, {attacks} known attacks all caught",
        reqs.len()
    );
    (flagged, attacks, reqs.len())
}

#[test]
fn sqli_captures_fire() {
    let is_sqli = |f: &Finding| matches!(f, Finding::Sqli(_));
    let (f, a, _) = check_attacks("ndpi__sql_injection.pcap", |u| u.contains("UNION"), is_sqli);
    assert!(f >= 1 && a == 1);
    // all but the lone-quote probe `id=1%27`
    let (_, a, _) = check_attacks(
        "ndpi__WebattackSQLinj.pcap",
        |u| u.contains("sqli/?id=1%27+"),
        is_sqli,
    );
    assert_eq!(a, 7);
    let (_, a, _) = check_attacks(
        "zeek__http_cooper-grill-dvwa.pcapng",
        |u| u.contains("sqli/?id=") && u.contains("%27"),
        is_sqli,
    );
    assert_eq!(a, 3);
}

#[test]
fn xss_capture_fires() {
    let (_, a, _) = check_attacks(
        "ndpi__xss.pcap",
        |u| u.contains("%3Cscript"),
        |f| matches!(f, Finding::Xss(_)),
    );
    assert_eq!(a, 1);
}

#[test]
fn rce_capture_fires() {
    let markers = [
        "etc/passwd",
        "etc/shadow",
        "phpinfo()",
        "%70%61%73%73%74%68%72%75",
        "system32/cmd.exe",
        "|dir",
        "%60id%20%60",
        "system\\('id'",
    ];
    let (f, a, n) = check_attacks(
        "ndpi__WebattackRCE.pcap",
        |u| markers.iter().any(|m| u.contains(m)),
        |f| matches!(f, Finding::Rce(_)),
    );
    assert!(a >= 40, "{a}");
    assert!(f >= a && f < n / 2, "{f} of {n}");
}

#[test]
fn benign_http_stays_silent() {
    let mut requests = 0;
    let mut captures = 0;
    let mut hits = Vec::new();
    for name in benign_captures() {
        let reqs = capture_requests(&name);
        if !reqs.is_empty() {
            captures += 1;
        }
        for r in &reqs {
            requests += 1;
            for m in r.inspect(8) {
                hits.push(format!(
                    "{name}: {} {} {:?}",
                    uri(r),
                    m.input.location(),
                    m.finding
                ));
            }
        }
    }
    println!(
        "benign: {requests} HTTP requests in {captures} captures, {} findings",
        hits.len()
    );
    assert!(requests > 100, "{requests}");
    assert!(hits.is_empty(), "{hits:#?}");
}

#[test]
fn dlp_finds_cards_and_stays_silent_on_benign_payloads() {
    let mut cards = Vec::new();
    for (_, c) in shared_convos("sethhall-cc__credit-cards.pcap", 6) {
        let body = stream(&c, Direction::ToClient);
        cards.extend(dlp::scan(&body, usize::MAX, 100));
    }
    println!(
        "credit-cards: {} numbers: {:?}",
        cards.len(),
        cards
            .iter()
            .map(|m| (&m.masked, m.kind))
            .collect::<Vec<_>>()
    );
    assert!(cards.len() >= 10, "{}", cards.len());
    assert!(cards
        .iter()
        .all(|m| matches!(m.kind, dlp::DlpKind::Card(_))));

    let (mut payloads, mut bytes, mut hits) = (0usize, 0usize, Vec::new());
    for name in benign_captures() {
        for proto in [6, 17] {
            for (_, c) in shared_convos(&name, proto) {
                for (_, p) in &c {
                    payloads += 1;
                    bytes += p.len();
                    for m in dlp::scan(p, usize::MAX, 8) {
                        let ctx =
                            &p[m.offset.saturating_sub(20)..(m.offset + m.len + 20).min(p.len())];
                        hits.push(format!("{name}: {m:?} {:?}", String::from_utf8_lossy(ctx)));
                    }
                }
            }
        }
    }
    println!(
        "benign DLP: {payloads} payloads, {bytes} bytes, {} matches",
        hits.len()
    );
    assert!(hits.is_empty(), "{hits:#?}");
}

/// MySQL `COM_QUERY` and PostgreSQL simple/extended query texts of a
/// client stream.
fn sql_queries(port: u16, s: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if port == 3306 {
        let mut i = 0;
        while i + 4 <= s.len() {
            let len = usize::from(s[i]) | usize::from(s[i + 1]) << 8 | usize::from(s[i + 2]) << 16;
            let body = &s[i + 4..(i + 4 + len).min(s.len())];
            if body.first() == Some(&3) {
                out.push(body[1..].to_vec());
            }
            i += 4 + len;
        }
    } else if port == 5432 && s.len() >= 8 {
        let first = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
        let mut i = first;
        while i + 5 <= s.len() {
            let t = s[i];
            let len = u32::from_be_bytes([s[i + 1], s[i + 2], s[i + 3], s[i + 4]]) as usize;
            let body = &s[(i + 5).min(s.len())..(i + 1 + len).min(s.len())];
            let text = match t {
                b'Q' => body.split(|&b| b == 0).next(),
                b'P' => body.split(|&b| b == 0).nth(1),
                _ => None,
            };
            if let Some(q) = text.filter(|q| !q.is_empty()) {
                out.push(q.to_vec());
            }
            i += 1 + len.max(4);
        }
    }
    out
}

#[test]
fn benign_database_queries_stay_silent() {
    let mut n = 0;
    for name in benign_captures() {
        for (port, c) in shared_convos(&name, 6) {
            for q in sql_queries(port, &stream(&c, Direction::ToServer)) {
                n += 1;
                assert_eq!(
                    sqli::in_sql_query(&q),
                    None,
                    "{name}: {}",
                    String::from_utf8_lossy(&q)
                );
            }
        }
    }
    println!("benign SQL: {n} queries, 0 findings");
    assert!(n >= 10, "{n}");
}

const ATTACKS: &[&str] = &[
    "1' UNION SELECT NULL, version() #",
    "x'; DROP TABLE users; --",
    "<svg/onload=alert(document.cookie)>",
    "java\tscript:alert(1)",
    "${${env:X:-j}ndi${::-:}ldap://x/a}",
    "%{(#_memberAccess=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}",
    "..%c0%af..%c0%af../etc/passwd",
    ";cat /etc/passwd",
    "O:8:\"stdClass\":1:{}",
    "&#x3c;script&#x3e;",
    "4111-1111-1111-1111 123-45-6789",
    "a.b.c.example.co.uk",
];

fn all_detectors(b: &[u8]) {
    let _ = sqli::in_http_value(b);
    let _ = sqli::in_sql_query(b);
    let _ = xss::in_http_value(b);
    let _ = rce::in_http_value(b);
    let _ = dlp::scan(b, usize::MAX, 16);
    let _ = dns::features(b);
    let headers: &[(&[u8], &[u8])] = &[
        (b"Cookie", b),
        (b"User-Agent", b),
        (b"Content-Type", b"application/x-www-form-urlencoded"),
    ];
    let _ = inspect_request(
        &RequestView {
            uri: b,
            headers,
            body: b,
        },
        usize::MAX,
        Inspectors::ALL,
    );
}

#[test]
fn truncation_at_every_offset() {
    for a in ATTACKS {
        let b = a.as_bytes();
        for cut in 0..=b.len() {
            all_detectors(&b[..cut]);
            all_detectors(&b[cut..]);
        }
    }
}

#[test]
fn hostile_input_is_bounded() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let inputs: Vec<Vec<u8>> = vec![
        random,
        b"'".repeat(100_000),
        b"\"'".repeat(50_000),
        b"${".repeat(50_000),
        b"${lower:".repeat(12_000),
        b"((((".repeat(25_000),
        b"/*".repeat(50_000),
        b"%25".repeat(33_000),
        b"<a onload".repeat(10_000),
        b"1 ".repeat(50_000),
        b"4".repeat(100_000),
        b"1-".repeat(50_000),
        b"; id".repeat(25_000),
        b"../".repeat(33_000),
        b"&#".repeat(50_000),
        b"a=1&".repeat(25_000),
    ];
    let mut worst = 0;
    for i in &inputs {
        let t = std::time::Instant::now();
        all_detectors(i);
        let ms = t.elapsed().as_millis();
        worst = worst.max(ms);
        assert!(
            ms < 2000,
            "{ms} ms on {:?}",
            String::from_utf8_lossy(&i[..16])
        );
    }
    println!(
        "hostile: {} inputs of ~100 KB, worst {worst} ms",
        inputs.len()
    );
}

#[test]
#[ignore = "diagnostic listing"]
fn list_rce_capture_findings() {
    for r in capture_requests("ndpi__WebattackRCE.pcap") {
        for m in r.inspect(1) {
            let k = match &m.finding {
                Finding::Sqli(s) => format!("sqli {:?}", s.rule),
                Finding::Xss(x) => format!("xss {:?}", x.rule),
                Finding::Rce(x) => format!("rce {:?}", x.kind),
            };
            println!("FIND {k} {} {}", m.input.location(), uri(&r));
        }
    }
}

/// The question name of a DNS message (no compression in questions).
fn qname(p: &[u8]) -> Option<Vec<u8>> {
    let mut i = 12;
    let mut labels = Vec::new();
    while let Some(&n) = p.get(i) {
        if n == 0 {
            return Some(labels.join(&b'.'));
        }
        let l = p.get(i + 1..i + 1 + usize::from(n))?;
        labels.push(l.to_vec());
        i += 1 + usize::from(n);
    }
    None
}

/// Per capture: names queried to port 53, the mean of their longest
/// label, subdomain length, odd-byte fraction and hex-label fraction.
#[derive(Debug, Default)]
struct DnsStats {
    names: usize,
    longest_label: f64,
    subdomain_len: f64,
    odd_byte_frac: f64,
    hex_label_frac: f64,
}

fn dns_stats(name: &str) -> DnsStats {
    let mut v = Vec::new();
    for (port, c) in shared_convos(name, 17) {
        for (d, p) in &c {
            if port == 53 && *d == Direction::ToServer {
                if let Some(q) = qname(p) {
                    v.push(dns::features(&q));
                }
            }
        }
    }
    let n = v.len().max(1) as f64;
    let mean = |f: &dyn Fn(&dns::NameFeatures) -> f64| v.iter().map(f).sum::<f64>() / n;
    DnsStats {
        names: v.len(),
        longest_label: mean(&|f| f.longest_label as f64),
        subdomain_len: mean(&|f| f.subdomain_len as f64),
        odd_byte_frac: mean(&|f| f.odd_byte_frac),
        hex_label_frac: mean(&|f| f.hex_label_frac),
    }
}

/// iodine (raw binary labels) and `ndpi__bad-dns-traffic.pcap` (tagged
/// `malformed`, not `attack`, but nDPI's "suspicious DNS traffic" sample:
/// dnscat-like hex labels) against every other DNS capture.
#[test]
fn dns_tunnel_names_stand_out() {
    let iodine = dns_stats("ndpi__dns-tunnel-iodine.pcap");
    let hexdns = dns_stats("ndpi__bad-dns-traffic.pcap");
    let manifest = std::fs::read_to_string(shared_pcap("MANIFEST.tsv")).unwrap();
    let mut base = DnsStats::default();
    for name in benign_captures() {
        let dns_tag = manifest.lines().any(|l| {
            l.starts_with(&format!("{name}\t"))
                && l.split('\t').nth(7).is_some_and(|t| t.contains("dns"))
        });
        if dns_tag && name != "ndpi__bad-dns-traffic.pcap" {
            let s = dns_stats(&name);
            println!("baseline {name}: {s:?}");
            base.names += s.names;
            base.longest_label = base.longest_label.max(s.longest_label);
            base.subdomain_len = base.subdomain_len.max(s.subdomain_len);
            base.odd_byte_frac = base.odd_byte_frac.max(s.odd_byte_frac);
            base.hex_label_frac = base.hex_label_frac.max(s.hex_label_frac);
        }
    }
    println!(
        "iodine: {iodine:?}\nhex tunnel: {hexdns:?}\nbaseline (max of capture means): {base:?}"
    );
    assert!(iodine.names > 100 && hexdns.names > 100 && base.names > 30);
    // iodine's many short handshake names dilute its means
    assert!(iodine.subdomain_len > base.subdomain_len);
    assert!(iodine.odd_byte_frac > 0.05 && base.odd_byte_frac == 0.0);
    assert!(hexdns.longest_label > 3.0 * base.longest_label);
    assert!(hexdns.hex_label_frac > 0.5 && base.hex_label_frac < 0.2);
}

/// Values real users and clients send, run through every HTTP detector.
#[test]
fn hand_written_negatives_stay_silent() {
    let values = [
        "select a product",
        "O'Reilly",
        "Tom's or Jerry's",
        "rock 'n' roll or jazz",
        "it's 5 o'clock",
        "McDonald's & Wendy's",
        "I'm here; select me",
        "Joes' #1",
        "user's #1 choice",
        "don't drop the table, please",
        "\"Hello\" or \"Hi\"",
        "Where is the union station? Select the best route",
        "SELECT your plan - 1 or 2 = 3 options",
        "Sleep well (and eat)",
        "a -- b",
        "x = y OR z",
        "{\"query\":\"select\",\"ids\":[1,2,3],\"note\":\"it's ok\"}",
        "[{\"a\":null},{\"b\":true}]",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "dGhpcyBpcyBiYXNlNjQ/Kw==",
        "2024-01-01 12:00:00",
        "2024-01-01T12:00:00.000+01:00",
        "+1 (555) 123-4567",
        "ORD-2024-000123",
        "/images/2024/01/photo_01.jpg",
        "https://example.com/a/b?c=d&e=f#top",
        "utm_source=newsletter&utm_medium=email",
        "en-US,en;q=0.9",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
        "curl/7.46.0",
        "Wget/1.21.2",
        "python-requests/2.31.0",
        "203.0.113.7, 198.51.100.2",
        "1 < 2 and 3 > 2",
        "C:\\Users\\me\\Documents",
        "a|b|c",
        "echo chamber",
        "cat; dog; bird",
        "$5 & up",
        "The <b>bold</b> move",
        "100% sure",
        "what does 1=1 mean",
        "${HOME}",
        "javascript: the definitive guide",
        "alert(s) and prompt(s) in UX",
    ];
    for v in values {
        let input = super::http::Input {
            source: super::http::InputSource::Uri,
            name: "q".into(),
            value: v.as_bytes().to_vec(),
            sql: true,
        };
        assert_eq!(
            super::http::inspect_input(&input, Inspectors::ALL),
            None,
            "{v}"
        );
    }
}

#[test]
fn disabled_inspectors_do_not_run() {
    let req = RequestView {
        uri: b"/item?id=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        headers: &[],
        body: b"",
    };
    let found = |on| {
        inspect_request(&req, 4, on)
            .into_iter()
            .map(|m| matches!(m.finding, Finding::Sqli(_)))
            .collect::<Vec<_>>()
    };
    assert_eq!(found(Inspectors::ALL), [true]);
    let no_sqli = Inspectors {
        sqli: false,
        ..Inspectors::ALL
    };
    assert!(found(no_sqli).is_empty());
    let none = Inspectors {
        sqli: false,
        xss: false,
        rce: false,
    };
    assert!(!none.any() && found(none).is_empty());
}
