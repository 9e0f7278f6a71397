use super::*;

fn flow(
    id: u64,
    (src, sport): (&str, u16),
    (dst, dport): (&str, u16),
    proto: u8,
    app: &str,
    bytes: u64,
) -> FlowSummary {
    FlowSummary {
        id,
        community_id: format!("1:cid{id}="),
        proto,
        src_ip: src.into(),
        src_port: sport,
        dest_ip: dst.into(),
        dest_port: dport,
        app_proto: app.into(),
        pkts_toserver: 3,
        pkts_toclient: 2,
        bytes_toserver: bytes / 2,
        bytes_toclient: bytes - bytes / 2,
        start_ns: 0,
        end_ns: 1,
        state: "closed".into(),
        vlan: None,
        tunnel: None,
    }
}

fn alert(id: u64, severity: u8, flow_id: Option<u64>, evidence: Vec<u64>) -> AlertSummary {
    AlertSummary {
        id,
        ts_ns: 0,
        ts_last_ns: 0,
        severity,
        category: "scan".into(),
        signature: "s".into(),
        signature_id: 1,
        src_ip: None,
        src_port: None,
        dest_ip: None,
        dest_port: None,
        proto: None,
        count: 1,
        flow_id,
        evidence_packets: vec![],
        evidence_flows: evidence,
        metadata: serde_json::Value::Null,
        open: false,
    }
}

fn flows() -> Vec<FlowSummary> {
    vec![
        flow(
            1,
            ("10.244.0.5", 40000),
            ("10.244.1.7", 80),
            6,
            "http",
            5000,
        ),
        flow(2, ("10.244.0.6", 53000), ("10.96.0.10", 53), 17, "dns", 200),
        flow(3, ("fd00::1", 40001), ("fd00::2", 443), 6, "tls", 900),
        flow(4, ("192.168.1.1", 1234), ("10.244.0.5", 22), 6, "", 100),
    ]
}

fn ids(expr: &str) -> Vec<u64> {
    let alerts = FlowAlerts::new(&[alert(1, 2, Some(1), vec![]), alert(2, 1, None, vec![4])]);
    let f = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
    flows()
        .iter()
        .filter(|x| f.matches(x, &alerts))
        .map(|x| x.id)
        .collect()
}

#[test]
fn issue_example() {
    assert_eq!(
        ids("ip.addr == 10.244.0.5 && app == http && bytes > 1000"),
        vec![1]
    );
}

#[test]
fn address_fields() {
    assert_eq!(ids("ip.addr == 10.244.0.5"), vec![1, 4]);
    assert_eq!(ids("ip.src == 10.244.0.5"), vec![1]);
    assert_eq!(ids("ip.dst == 10.244.0.5"), vec![4]);
    assert_eq!(ids("ip.addr != 10.244.0.5"), vec![2, 3]);
    assert_eq!(ids("ip.addr == 10.244.0.0/16"), vec![1, 2, 4]);
    assert_eq!(ids("ip.addr == fd00::/8"), vec![3]);
    assert_eq!(ids("ip.addr == 0.0.0.0/0"), vec![1, 2, 4]);
    assert_eq!(ids("ip.src contains 192.168"), vec![4]);
}

#[test]
fn ports_and_protocols() {
    assert_eq!(ids("port == 53"), vec![2]);
    assert_eq!(ids("tcp.port == 53"), Vec::<u64>::new());
    assert_eq!(ids("udp.port == 53"), vec![2]);
    assert_eq!(ids("dst.port < 100"), vec![1, 2, 4]);
    assert_eq!(ids("src.port >= 40001"), vec![2, 3]);
    assert_eq!(ids("port != 80"), vec![2, 3, 4]);
    assert_eq!(ids("proto == udp"), vec![2]);
    assert_eq!(ids("proto == 6"), vec![1, 3, 4]);
    assert_eq!(ids("proto contains TC"), vec![1, 3, 4]);
}

#[test]
fn text_numbers_and_truth_tests() {
    assert_eq!(ids("app == HTTP"), vec![1]);
    assert_eq!(ids("app contains t"), vec![1, 3]);
    assert_eq!(ids("!app"), vec![4]);
    assert_eq!(ids("bytes <= 200"), vec![2, 4]);
    assert_eq!(ids("packets == 5"), vec![1, 2, 3, 4]);
    assert_eq!(ids("id > 2"), vec![3, 4]);
    assert_eq!(ids("community_id == \"1:cid3=\""), vec![3]);
    assert_eq!(ids("state == closed && id == 1"), vec![1]);
}

#[test]
fn alerts_and_severity() {
    assert_eq!(ids("alert"), vec![1, 4]);
    assert_eq!(ids("not alert"), vec![2, 3]);
    assert_eq!(ids("severity == high"), vec![4]);
    assert_eq!(ids("severity <= 2"), vec![1, 4]);
    assert_eq!(ids("severity > 1"), vec![1]);
}

#[test]
fn precedence_and_grouping() {
    assert_eq!(ids("port == 53 || port == 443 && app == tls"), vec![2, 3]);
    assert_eq!(ids("(port == 53 || port == 443) && app == dns"), vec![2]);
    assert_eq!(ids("!(port == 53) and not app == tls"), vec![1, 4]);
    assert_eq!(ids("port == 80 or port == 22"), vec![1, 4]);
}

#[test]
fn errors_carry_columns() {
    let e = |s: &str| Filter::parse(s).err().map(|e| (e.column, e.message));
    assert_eq!(e("ip.adr == 1.2.3.4").map(|x| x.0), Some(1));
    assert!(e("ip.adr == 1.2.3.4").is_some_and(|x| x.1.contains("unknown field 'ip.adr'")));
    assert_eq!(e("port == x").map(|x| x.0), Some(9));
    assert_eq!(e("port = 1").map(|x| x.0), Some(6));
    assert_eq!(e("(port == 1").map(|x| x.0), Some(11));
    assert_eq!(e("port == 1 )").map(|x| x.0), Some(11));
    assert_eq!(e("port ==").map(|x| x.0), Some(8));
    assert_eq!(e("").map(|x| x.0), Some(1));
    assert_eq!(e("ip.src == 10.0.0.0/33").map(|x| x.0), Some(11));
    assert_eq!(e("app == \"http").map(|x| x.0), Some(8));
    assert_eq!(e("a & b").map(|x| x.0), Some(3));
    assert!(e("ip.addr > 1.2.3.4").is_some());
    assert!(e("alert == 1").is_some());
    assert!(e("bytes contains 1").is_some());
}

#[test]
fn hostile_input_never_panics() {
    let deep = "(".repeat(10_000) + "port == 1" + &")".repeat(10_000);
    assert!(Filter::parse(&deep).is_err());
    let nots = "!".repeat(10_000) + "alert";
    assert!(Filter::parse(&nots).is_err());
    let alphabet = [
        "(", ")", "!", "=", "<", ">", "&", "|", "\"", "\\", "port", " ", "1", "ü", "::", "/",
        "ip.addr", "and", "contains",
    ];
    // Every sequence of up to 4 tokens from the alphabet: parse returns.
    let n = alphabet.len();
    for a in 0..n {
        for b in 0..n {
            for c in 0..n {
                for d in 0..n {
                    let s = format!(
                        "{}{}{}{}",
                        alphabet[a], alphabet[b], alphabet[c], alphabet[d]
                    );
                    if let Ok(f) = Filter::parse(&s) {
                        let _ = f.matches(&flows()[0], &FlowAlerts::default());
                    }
                }
            }
        }
    }
}
