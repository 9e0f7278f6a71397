//! Application-protocol identification against nDPI's own regression
//! results (`*.ndpi.out` beside the corpus captures): every flow nDPI
//! assigns to a protocol Osprey identifies is compared at the wire-protocol
//! level (nDPI's `HTTP.Google` is `http`, its `TLS.YouTube` is `tls`).
//! Flows nDPI only guessed from their port are left out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The wire protocol under an Osprey name: gRPC is HTTP/2 to nDPI.
fn wire(app_proto: &str) -> &str {
    match app_proto {
        "grpc" => "http2",
        other => other,
    }
}

/// nDPI's wire-protocol name (first part of `proto: N/NAME.SERVICE`) to
/// Osprey's `app_proto`. nDPI names without a counterpart here are protocols
/// Osprey does not identify; their flows are not compared.
fn osprey_name(ndpi: &str) -> Option<&'static str> {
    Some(match ndpi {
        "HTTP" | "HTTP_Proxy" => "http",
        "HTTP2" => "http2",
        "TLS" => "tls",
        "DNS" | "LLMNR" | "MDNS" => "dns",
        "SSH" => "ssh",
        "SMTP" => "smtp",
        "FTP_CONTROL" => "ftp",
        "SMBv1" | "SMBv23" => "smb",
        "PostgreSQL" => "pgsql",
        "MySQL" => "mysql",
        "Redis" => "redis",
        "MongoDB" => "mongodb",
        "Kafka" => "kafka",
        "Cassandra" => "cassandra",
        "MsSQL-TDS" => "tds",
        "Memcached" => "memcached",
        "AMQP" => "amqp",
        "MQTT" => "mqtt",
        "Zookeeper" => "zookeeper",
        "QUIC" => "quic",
        "DHCP" | "DHCPV6" => "dhcp",
        "NTP" => "ntp",
        "SNMP" => "snmp",
        "Kerberos" => "krb5",
        "Telnet" => "telnet",
        _ => return None,
    })
}

/// One flow line of an `.ndpi.out` file.
struct NdpiFlow {
    proto: u8,
    a: (IpAddr, u16),
    b: (IpAddr, u16),
    name: String,
}

/// `1.2.3.4:80` or `[2001:db8::1]:80`. Addresses are compared parsed:
/// nDPI and Osprey spell some IPv6 addresses differently.
fn endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (ip, port) = s.rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Some((ip.parse().ok()?, port.parse().ok()?))
}

fn parse_ndpi_out(text: &str) -> Vec<NdpiFlow> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(n), Some(proto), Some(a), Some("<->"), Some(b)) = (
            words.next(),
            words.next(),
            words.next(),
            words.next(),
            words.next(),
        ) else {
            continue;
        };
        if n.parse::<u32>().is_err() {
            continue;
        }
        let proto = match proto {
            "TCP" => 6,
            "UDP" => 17,
            _ => continue,
        };
        let Some(rest) = line.split("[proto: ").nth(1) else {
            continue;
        };
        let Some(full) = rest.split(']').next().and_then(|p| p.split('/').nth(1)) else {
            continue;
        };
        // Only flows nDPI identified from their bytes: "Match by port" is
        // a guess, not an identification (scans, empty connections).
        if !line.contains("[Confidence: DPI") {
            continue;
        }
        let (Some(a), Some(b)) = (endpoint(a), endpoint(b)) else {
            continue;
        };
        out.push(NdpiFlow {
            proto,
            a,
            b,
            name: full.split('.').next().unwrap_or(full).to_string(),
        });
    }
    out
}

#[test]
fn app_proto_agrees_with_ndpi_regression_results() {
    let files = corpus_files();
    if files.is_empty() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (mut compared, mut agree) = (0usize, 0usize);
    let mut per_proto: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut missed = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let expected = file.with_file_name(format!(
            "{}.ndpi.out",
            file.file_name().unwrap().to_string_lossy()
        ));
        let Ok(text) = std::fs::read_to_string(&expected) else {
            continue;
        };
        let ndpi: Vec<NdpiFlow> = parse_ndpi_out(&text)
            .into_iter()
            .filter(|f| osprey_name(&f.name).is_some())
            .collect();
        if ndpi.is_empty() {
            continue;
        }
        let case = tmp.path().join(format!("c{i}"));
        let out = analyze(&[file], &case);
        assert!(out.status.success(), "{}: {}", file.display(), stderr(&out));
        let ours = flow_rows(&case);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        for f in &ndpi {
            let want = osprey_name(&f.name).unwrap();
            let same = |r: &&FlowRow| {
                let src = (r.src_ip.parse::<IpAddr>().ok(), r.src_port);
                let dst = (r.dest_ip.parse::<IpAddr>().ok(), r.dest_port);
                let (a, b) = ((Some(f.a.0), f.a.1), (Some(f.b.0), f.b.1));
                r.proto == f.proto && ((src == a && dst == b) || (src == b && dst == a))
            };
            let matching: Vec<&FlowRow> = ours.iter().filter(same).collect();
            let entry = per_proto.entry(want).or_default();
            entry.0 += 1;
            compared += 1;
            let flow = format!("{name}: {}:{} <-> {}:{}", f.a.0, f.a.1, f.b.0, f.b.1);
            if matching.is_empty() {
                missed.push(format!("{flow}: nDPI {}, no such flow in osprey", f.name));
            } else if matching.iter().any(|r| wire(&r.app_proto) == want) {
                agree += 1;
                entry.1 += 1;
            } else if matching.iter().all(|r| r.app_proto == "unknown") {
                missed.push(format!("{flow}: nDPI {}, osprey unknown", f.name));
            } else {
                let got: Vec<&str> = matching.iter().map(|r| r.app_proto.as_str()).collect();
                wrong.push(format!("{flow}: nDPI {}, osprey {got:?}", f.name));
            }
        }
    }
    eprintln!(
        "agreement with nDPI: {agree}/{compared} flows ({:.1}%)",
        100.0 * agree as f64 / compared.max(1) as f64
    );
    for (p, (n, ok)) in &per_proto {
        eprintln!("  {p:<10} {ok}/{n}");
    }
    for m in &missed {
        eprintln!("unidentified: {m}");
    }
    assert!(compared > 0, "no nDPI results were compared");
    assert!(
        agree * 100 >= compared * 97,
        "agreement {agree}/{compared} is under 97%"
    );
    assert!(
        wrong.is_empty(),
        "Osprey names a different protocol than nDPI:\n{}",
        wrong.join("\n")
    );
}
