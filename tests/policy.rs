//! Policy: learn from the lab's benign captures, monitor the attack
//! captures and a synthesised unexpected connection, the CI gate's JUnit
//! and SARIF reports against their schemas, and the exported Kubernetes
//! and Cilium policies against the upstream object structure.
//!
//! The oracle for "which flows are new edges" is the test's own: the
//! lab's address → group table (samples/lab/groups.yaml, restated here)
//! applied to the flows `osprey flows --json` lists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

const BENIGN: [&str; 3] = [
    "benign-mixed.pcap",
    "benign-http-burst.pcap",
    "benign-dlp-control.pcap",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn lab(name: &str) -> PathBuf {
    root().join("samples/attacks").join(name)
}

fn groups_file() -> PathBuf {
    root().join("samples/lab/groups.yaml")
}

/// The test's own grouping of the lab's addresses.
fn group_of(ip: &str) -> String {
    match ip {
        "10.244.0.2" => "dns".into(),
        "10.244.0.10" => "shop".into(),
        "10.244.0.30" | "10.244.0.31" => "clients".into(),
        ip if ip.starts_with("10.") || ip.starts_with("192.168.") => ip.into(),
        _ => "external".into(),
    }
}

type EdgeKey = (String, String, u8, Option<u16>);

fn flows(case: &Path) -> Vec<Value> {
    stdout_of(osprey().args(["flows", "--json"]).arg(case))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn alerts(case: &Path) -> Vec<Value> {
    stdout_of(osprey().args(["alerts", "--json"]).arg(case))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn edge_of(f: &Value) -> EdgeKey {
    let proto = f["proto"].as_u64().unwrap() as u8;
    let port = matches!(proto, 6 | 17 | 132).then(|| f["dest_port"].as_u64().unwrap() as u16);
    (
        group_of(f["src_ip"].as_str().unwrap()),
        group_of(f["dest_ip"].as_str().unwrap()),
        proto,
        port,
    )
}

fn known_app(f: &Value) -> Option<String> {
    let a = f["app_proto"].as_str().unwrap_or("");
    (!matches!(a, "" | "unknown" | "failed")).then(|| a.to_string())
}

fn run_ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Analyses the benign captures and learns a policy from them.
fn learn_benign(tmp: &Path) -> (PathBuf, Vec<PathBuf>) {
    let mut cases = Vec::new();
    for b in BENIGN {
        let case = tmp.join(format!("case-{b}"));
        run_ok(analyze(&[&lab(b)], &case));
        cases.push(case);
    }
    let policy = tmp.join("policy.yaml");
    let mut cmd = osprey();
    cmd.args(["policy", "learn"]).args(&cases);
    cmd.arg("--groups")
        .arg(groups_file())
        .arg("-o")
        .arg(&policy);
    run_ok(cmd.output().unwrap());
    (policy, cases)
}

fn check(captures: &[PathBuf], policy: &Path, dir: &Path) -> (Output, Value, String) {
    let (junit, sarif) = (dir.join("junit.xml"), dir.join("results.sarif"));
    let out = osprey()
        .arg("check")
        .args(captures)
        .arg("--policy")
        .arg(policy)
        .arg("--junit")
        .arg(&junit)
        .arg("--sarif")
        .arg(&sarif)
        .output()
        .unwrap();
    validate_junit(&junit);
    let log = validate_sarif(&sarif);
    (out, log, std::fs::read_to_string(&junit).unwrap())
}

/// SARIF 2.1.0 schema check (the official OASIS schema, vendored).
fn validate_sarif(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(root().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap();
    // The official schema's `run.language` pattern has a stray `]`, a
    // literal in ECMA-262's lenient reading that the validator's
    // meta-schema check (`format: regex`) refuses: escaped, same meaning.
    let stray = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(text.contains(stray));
    let text = text.replace(stray, r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}\\]?$""#);
    let schema: Value = serde_json::from_str(&text).unwrap();
    let log: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF invalid: {errors:#?}");
    // The schema bites: a level SARIF does not define is refused.
    let mut bad = log.clone();
    bad["runs"][0]["results"] = serde_json::json!([{"message": {"text": "x"}, "level": "fatal"}]);
    assert!(!validator.is_valid(&bad));
    log
}

/// JUnit XSD check with xmllint (Makefile APT_PKGS: libxml2-utils).
fn validate_junit(path: &Path) {
    require("xmllint");
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(root().join("tests/schemas/junit-10.xsd"))
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "JUnit invalid: {}", stderr(&out));
    // The schema bites: a testsuite without its counts is refused.
    let bad = path.with_extension("bad.xml");
    std::fs::write(&bad, "<testsuites><testsuite name=\"x\"/></testsuites>").unwrap();
    let out = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(root().join("tests/schemas/junit-10.xsd"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

fn sarif_results(log: &Value) -> Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap().clone()
}

#[test]
fn learn_then_check_the_same_benign_captures_is_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let (policy, _) = learn_benign(tmp.path());
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.starts_with("# Osprey policy"), "{text}");
    assert!(text.contains("from: clients"), "{text}");
    let captures: Vec<PathBuf> = BENIGN.iter().map(|b| lab(b)).collect();
    let (out, log, junit) = check(&captures, &policy, tmp.path());
    let results = sarif_results(&log);
    let violations: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "policy_violation")
        .collect();
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        junit.contains("tests=\"6\" failures=\"0\" errors=\"0\""),
        "{junit}"
    );

    // The other lab (samples/lab-basic.pcap): the same holds.
    let basic = root().join("samples/lab-basic.pcap");
    let case = tmp.path().join("case-basic");
    run_ok(analyze(&[&basic], &case));
    let policy = tmp.path().join("basic.yaml");
    let mut cmd = osprey();
    cmd.args(["policy", "learn"])
        .arg(&case)
        .arg("--groups")
        .arg(groups_file());
    run_ok(cmd.arg("-o").arg(&policy).output().unwrap());
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(
        text.contains("from: basic-web") && text.contains("to: basic-db"),
        "{text}"
    );
    let dir = tmp.path().join("basic-check");
    std::fs::create_dir(&dir).unwrap();
    let (out, log, _) = check(&[basic], &policy, &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(sarif_results(&log)
        .iter()
        .all(|r| r["ruleId"] != "policy_violation"));
}

#[test]
fn every_new_edge_of_the_attack_captures_is_a_violation_and_no_benign_flow_is() {
    let tmp = tempfile::tempdir().unwrap();
    let (policy, benign_cases) = learn_benign(tmp.path());
    // The allowed graph by the test's own grouping.
    let mut allowed: BTreeMap<EdgeKey, BTreeSet<String>> = BTreeMap::new();
    for c in &benign_cases {
        for f in flows(c) {
            let apps = allowed.entry(edge_of(&f)).or_default();
            apps.extend(known_app(&f));
        }
    }
    let mut attacks: Vec<PathBuf> = std::fs::read_dir(root().join("samples/attacks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".pcap") && !name.starts_with("benign-")
        })
        .collect();
    attacks.sort();
    assert!(attacks.len() >= 30, "{attacks:?}");
    let (mut new_edges, mut benign_flows) = (0, 0);
    for capture in &attacks {
        let case = tmp.path().join(capture.file_name().unwrap());
        let mut cmd = osprey();
        cmd.arg("analyze").arg(capture).arg("-o").arg(&case);
        run_ok(cmd.arg("--policy").arg(&policy).output().unwrap());
        // Expected: the edges (or application protocols on them) the
        // benign captures never showed.
        let case_flows = flows(&case);
        let mut expected = BTreeSet::new();
        for f in &case_flows {
            let key = edge_of(f);
            let new = match allowed.get(&key) {
                None => true,
                Some(apps) => known_app(f).is_some_and(|a| !apps.is_empty() && !apps.contains(&a)),
            };
            if new {
                expected.insert(key);
            } else {
                benign_flows += 1;
            }
        }
        let edge_by_flow: BTreeMap<u64, EdgeKey> = case_flows
            .iter()
            .map(|f| (f["id"].as_u64().unwrap(), edge_of(f)))
            .collect();
        let mut got = BTreeSet::new();
        for a in alerts(&case) {
            if a["category"] != "policy_violation" || a["metadata"]["reason"] == "pci_card_data" {
                continue;
            }
            let m = &a["metadata"];
            let proto = match m["proto"].as_str().unwrap() {
                "tcp" => 6,
                "udp" => 17,
                "icmp" => 1,
                "icmpv6" => 58,
                p => p.parse().unwrap(),
            };
            let key = (
                m["src_group"].as_str().unwrap().to_string(),
                m["dest_group"].as_str().unwrap().to_string(),
                proto,
                m["port"].as_str().map(|p| p.parse::<u16>().unwrap()),
            );
            // The alert's flows are flows of its edge.
            for id in a["evidence_flows"].as_array().unwrap() {
                assert_eq!(edge_by_flow[&id.as_u64().unwrap()], key, "{a}");
            }
            assert!(got.insert(key), "one alert per edge: {a}");
        }
        assert_eq!(got, expected, "{}", capture.display());
        new_edges += expected.len();
    }
    eprintln!(
        "{} attack captures: {new_edges} new (client group, server group, proto, port) edges, {benign_flows} flows on benign edges",
        attacks.len()
    );
    assert!(
        new_edges > 100 && benign_flows > 0,
        "{new_edges} {benign_flows}"
    );
}

#[test]
fn built_in_checks_name_pci_and_dns_resolver_violations() {
    let tmp = tempfile::tempdir().unwrap();
    let (policy, _) = learn_benign(tmp.path());
    let mut by_capture = BTreeMap::new();
    for capture in [
        "dlp-credit-card.pcap",
        "dns-iodine.pcap",
        "nmap-syn-scan.pcap",
    ] {
        let case = tmp.path().join(capture);
        let mut cmd = osprey();
        cmd.arg("analyze").arg(lab(capture)).arg("-o").arg(&case);
        run_ok(cmd.arg("--policy").arg(&policy).output().unwrap());
        let v: Vec<(String, u64)> = alerts(&case)
            .into_iter()
            .filter(|a| a["category"] == "policy_violation")
            .map(|a| {
                (
                    a["metadata"]["reason"].as_str().unwrap().to_string(),
                    a["severity"].as_u64().unwrap(),
                )
            })
            .collect();
        by_capture.insert(capture, v);
    }
    // The order app echoes the card numbers: they leave the PCI group.
    assert!(
        by_capture["dlp-credit-card.pcap"].contains(&("pci_card_data".into(), 1)),
        "{by_capture:?}"
    );
    // iodine's queries go to a resolver that is not the cluster's.
    assert!(
        by_capture["dns-iodine.pcap"].contains(&("dns_resolver".into(), 2)),
        "{by_capture:?}"
    );
    // A client reaching the cloud metadata address.
    let pcap = tmp.path().join("metadata.pcap");
    handshake(&pcap, [169, 254, 169, 254], 80);
    let case = tmp.path().join("metadata");
    let mut cmd = osprey();
    cmd.arg("analyze").arg(&pcap).arg("-o").arg(&case);
    run_ok(cmd.arg("--policy").arg(&policy).output().unwrap());
    let v: Vec<Value> = alerts(&case);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0]["metadata"]["reason"], "cloud_metadata");
    assert_eq!(v[0]["metadata"]["dest_group"], "cloud-metadata");
    assert_eq!(v[0]["severity"], 1);
    // The scanner (no group) probing the PCI group: segmentation, high.
    let scan = &by_capture["nmap-syn-scan.pcap"];
    assert_eq!(scan.len(), 200, "{scan:?}");
    assert!(
        scan.iter().all(|v| *v == ("pci_segmentation".into(), 1)),
        "{scan:?}"
    );
}

#[test]
fn learning_leaves_out_flows_of_attack_alerts() {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("scan");
    run_ok(analyze(&[&lab("nmap-syn-scan.pcap")], &case));
    let policy = tmp.path().join("p.yaml");
    let mut cmd = osprey();
    cmd.args(["policy", "learn"])
        .arg(&case)
        .arg("--groups")
        .arg(groups_file());
    let out = run_ok(cmd.arg("-o").arg(&policy).output().unwrap());
    let p: Value = serde_norway::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    let from_attacker: Vec<&Value> = p["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["from"] == "10.244.0.66")
        .collect();
    assert!(from_attacker.is_empty(), "{out}\n{from_attacker:#?}");
    assert!(out.contains("left out"), "{out}");
}

/// One TCP handshake client1 → shop:5432, a port the lab never used.
fn unexpected_connection(path: &Path) {
    handshake(path, [10, 244, 0, 10], 5432);
}

/// One TCP handshake from client1 to `server:port`.
fn handshake(path: &Path, server: [u8; 4], port: u16) {
    use etherparse::PacketBuilder;
    let mut w =
        osprey_capture::PcapWriter::create(path, osprey_capture::LinkType::ETHERNET, false, 65535)
            .unwrap();
    let (c, s) = ([10, 244, 0, 30], server);
    let (cm, sm) = ([2, 0x42, 10, 244, 0, 30], [2, 0x42, 10, 244, 0, 1]);
    let t0 = 1_764_000_000_000_000_000i64;
    let mut buf = Vec::new();
    PacketBuilder::ethernet2(cm, sm)
        .ipv4(c, s, 64)
        .tcp(40000, port, 1000, 64240)
        .syn()
        .write(&mut buf, &[])
        .unwrap();
    let mut frames = vec![buf];
    let mut b2 = Vec::new();
    PacketBuilder::ethernet2(sm, cm)
        .ipv4(s, c, 64)
        .tcp(port, 40000, 5000, 64240)
        .syn()
        .ack(1001)
        .write(&mut b2, &[])
        .unwrap();
    frames.push(b2);
    let mut b3 = Vec::new();
    PacketBuilder::ethernet2(cm, sm)
        .ipv4(c, s, 64)
        .tcp(40000, port, 1001, 64240)
        .ack(5001)
        .write(&mut b3, &[])
        .unwrap();
    frames.push(b3);
    for (i, f) in frames.iter().enumerate() {
        w.write(t0 + i as i64 * 1_000_000, f.len() as u32, f)
            .unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn check_fails_on_a_new_connection_with_valid_junit_and_sarif() {
    let tmp = tempfile::tempdir().unwrap();
    let (policy, _) = learn_benign(tmp.path());
    let pcap = tmp.path().join("unexpected.pcap");
    unexpected_connection(&pcap);
    let captures = vec![lab("benign-mixed.pcap"), pcap];
    let (out, log, junit) = check(&captures, &policy, tmp.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{}", stderr(&out));
    let results = sarif_results(&log);
    let v: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "policy_violation")
        .collect();
    assert_eq!(v.len(), 1, "{results:#?}");
    let text = v[0]["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("pci_segmentation: clients -> shop tcp/5432"),
        "{text}"
    );
    assert_eq!(v[0]["level"], "error");
    assert!(
        v[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("unexpected.pcap")
    );
    // benign-mixed passes, the new connection fails the policy case.
    assert!(
        junit.contains("tests=\"4\" failures=\"1\" errors=\"0\""),
        "{junit}"
    );
    assert!(
        stdout.contains("PASS") && stdout.contains("FAIL"),
        "{stdout}"
    );

    // Alerts at or above the chosen severity fail without a policy too.
    let out = osprey()
        .arg("check")
        .arg(lab("sqlmap.pcap"))
        .args(["--fail-on", "high"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = osprey()
        .arg("check")
        .arg(lab("sqlmap.pcap"))
        .args(["--fail-on", "violation"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

fn yaml_docs(dir: &Path) -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            let v: Value = serde_norway::from_str(&text).unwrap();
            (f.file_name().unwrap().to_string_lossy().into_owned(), v)
        })
        .collect()
}

/// Kubernetes' NetworkPolicy schema (strict), vendored.
fn validate_network_policy(v: &Value) {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/schemas/networkpolicy-networking-v1.json"))
            .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "NetworkPolicy invalid: {errors:#?}\n{v:#}"
    );
    let name = v["metadata"]["name"].as_str().unwrap();
    assert!(is_dns_label(name), "{name}");
    assert!(v["metadata"]["namespace"].is_string(), "{v:#}");
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn keys_within(v: &Value, allowed: &[&str], what: &str) {
    let o = v
        .as_object()
        .unwrap_or_else(|| panic!("{what}: not an object: {v}"));
    for k in o.keys() {
        assert!(
            allowed.contains(&k.as_str()),
            "{what}: unknown field `{k}`: {v}"
        );
    }
}

fn check_selector(v: &Value, what: &str) {
    keys_within(v, &["matchLabels", "matchExpressions"], what);
    for (k, l) in v["matchLabels"].as_object().unwrap() {
        assert!(!k.is_empty() && l.is_string(), "{what}: label {k}: {l}");
    }
}

fn check_cidr(c: &Value) {
    let c = c.as_str().unwrap();
    let (ip, len) = c.split_once('/').unwrap();
    let ip: std::net::IpAddr = ip.parse().unwrap();
    let len: u8 = len.parse().unwrap();
    assert!(len <= if ip.is_ipv4() { 32 } else { 128 }, "{c}");
}

/// The fields of the cilium.io/v2 CiliumNetworkPolicy CRD this export
/// may use, with their types.
fn check_cilium(v: &Value) {
    keys_within(v, &["apiVersion", "kind", "metadata", "spec"], "object");
    assert_eq!(v["apiVersion"], "cilium.io/v2");
    assert_eq!(v["kind"], "CiliumNetworkPolicy");
    keys_within(&v["metadata"], &["name", "namespace", "labels"], "metadata");
    assert!(is_dns_label(v["metadata"]["name"].as_str().unwrap()));
    assert!(v["metadata"]["namespace"].is_string());
    let spec = &v["spec"];
    keys_within(
        spec,
        &["endpointSelector", "ingress", "egress", "description"],
        "spec",
    );
    check_selector(&spec["endpointSelector"], "endpointSelector");
    for (section, peers) in [
        (
            "ingress",
            &["fromEndpoints", "fromCIDR", "fromEntities", "toPorts"][..],
        ),
        (
            "egress",
            &["toEndpoints", "toCIDR", "toEntities", "toFQDNs", "toPorts"][..],
        ),
    ] {
        for rule in spec[section].as_array().unwrap() {
            keys_within(rule, peers, section);
            for k in ["fromEndpoints", "toEndpoints"] {
                for s in rule[k].as_array().into_iter().flatten() {
                    check_selector(s, k);
                }
            }
            for k in ["fromCIDR", "toCIDR"] {
                rule[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .for_each(check_cidr);
            }
            for f in rule["toFQDNs"].as_array().into_iter().flatten() {
                keys_within(f, &["matchName", "matchPattern"], "toFQDNs");
                assert_eq!(f.as_object().unwrap().len(), 1, "{f}");
            }
            for tp in rule["toPorts"].as_array().into_iter().flatten() {
                keys_within(tp, &["ports", "rules"], "toPorts");
                let mut dns_port = false;
                for p in tp["ports"].as_array().unwrap() {
                    keys_within(p, &["port", "protocol", "endPort"], "ports");
                    let port: u16 = p["port"].as_str().unwrap().parse().unwrap();
                    assert!(port > 0);
                    dns_port |= port == 53;
                    let proto = p["protocol"].as_str().unwrap();
                    assert!(["TCP", "UDP", "SCTP", "ANY"].contains(&proto), "{p}");
                }
                if tp.get("rules").is_none() {
                    continue;
                }
                keys_within(&tp["rules"], &["http", "dns"], "rules");
                for h in tp["rules"]["http"].as_array().into_iter().flatten() {
                    keys_within(h, &["method", "path", "host", "headers"], "rules.http");
                    assert!(h["path"].as_str().unwrap().starts_with('^'));
                }
                if let Some(dns) = tp["rules"]["dns"].as_array() {
                    // DNS rules: egress to port 53 only.
                    assert!(section == "egress" && dns_port, "{rule}");
                    for d in dns {
                        keys_within(d, &["matchName", "matchPattern"], "rules.dns");
                    }
                }
            }
        }
    }
}

#[test]
fn exported_policies_follow_the_upstream_schemas() {
    let tmp = tempfile::tempdir().unwrap();
    let (policy, _) = learn_benign(tmp.path());
    // Peers the lab does not show: an external server with a DNS name,
    // an address-named group, another namespace, ICMP.
    let mut p: Value = serde_norway::from_str(&std::fs::read_to_string(&policy).unwrap()).unwrap();
    let extra: Value = serde_norway::from_str(
        "- {from: clients, to: external, proto: tcp, port: 443, app_proto: tls, to_addrs: [93.184.216.34], to_names: [example.com]}\n\
         - {from: shop, to: external, proto: tcp, port: 80, to_addrs: [2001:db8::1]}\n\
         - {from: 10.244.0.66, to: shop, proto: tcp, port: 80}\n\
         - {from: basic-client, to: shop, proto: tcp, port: 80}\n\
         - {from: clients, to: shop, proto: icmp}\n",
    )
    .unwrap();
    p["edges"]
        .as_array_mut()
        .unwrap()
        .extend(extra.as_array().unwrap().iter().cloned());
    let policy = tmp.path().join("policy-plus.yaml");
    std::fs::write(&policy, serde_norway::to_string(&p).unwrap()).unwrap();

    let export = |format: &str| {
        let dir = tmp.path().join(format);
        let mut cmd = osprey();
        cmd.args(["policy", "export"]).arg(&policy);
        cmd.args(["--format", format, "-o"]).arg(&dir);
        run_ok(cmd.output().unwrap());
        yaml_docs(&dir)
    };
    let k8s = export("k8s");
    let names: Vec<&str> = k8s.iter().map(|(n, _)| n.as_str()).collect();
    // Groups with edges only (the basic lab's others have none).
    assert_eq!(
        names,
        [
            "osprey-basic-client.yaml",
            "osprey-clients.yaml",
            "osprey-dns.yaml",
            "osprey-shop.yaml"
        ]
    );
    // The schema bites: an unknown field is refused.
    let mut bad = k8s[0].1.clone();
    bad["spec"]["bogus"] = Value::from(1);
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/schemas/networkpolicy-networking-v1.json"))
            .unwrap(),
    )
    .unwrap();
    assert!(!jsonschema::is_valid(&schema, &bad));
    for (_, v) in &k8s {
        validate_network_policy(v);
        assert_eq!(
            v["spec"]["policyTypes"],
            serde_json::json!(["Ingress", "Egress"])
        );
    }
    let shop = &k8s[3].1;
    assert_eq!(shop["spec"]["podSelector"]["matchLabels"]["app"], "shop");
    let ingress = shop["spec"]["ingress"].as_array().unwrap();
    let peers: Vec<String> = ingress.iter().map(|r| r["from"][0].to_string()).collect();
    assert!(
        peers.iter().any(|p| p.contains("10.244.0.66/32")),
        "{peers:?}"
    );
    assert!(
        peers
            .iter()
            .any(|p| p.contains("namespaceSelector") && p.contains("basic")),
        "{peers:?}"
    );
    let egress = shop["spec"]["egress"].to_string();
    assert!(egress.contains("2001:db8::1/128"), "{egress}");
    let ports: BTreeSet<u64> = ingress
        .iter()
        .map(|r| r["ports"][0]["port"].as_u64().unwrap())
        .collect();
    assert_eq!(ports, BTreeSet::from([22, 80, 4433, 6379, 8080]));
    // ICMP cannot be expressed: a comment says so, no rule allows it.
    let text = std::fs::read_to_string(tmp.path().join("k8s/osprey-shop.yaml")).unwrap();
    assert!(text.contains("Not expressible in NetworkPolicy: clients -> shop icmp"));

    let cilium = export("cilium");
    assert_eq!(cilium.len(), 4);
    for (_, v) in &cilium {
        check_cilium(v);
    }
    let clients = cilium[1].1.to_string();
    for needle in [
        r#""toFQDNs":[{"matchName":"example.com"}]"#,
        r#""dns":[{"matchName":"osprey.lab"}"#,
        r#""method":"POST","path":"^/form$""#,
        r#""k8s:io.kubernetes.pod.namespace":"lab""#,
    ] {
        assert!(clients.contains(needle), "{needle} not in {clients}");
    }

    // Quarantine: a group of the policy, and a selector.
    let q = tmp.path().join("q");
    let mut cmd = osprey();
    cmd.args(["policy", "quarantine", "shop", "--policy"])
        .arg(&policy);
    run_ok(cmd.arg("-o").arg(&q).output().unwrap());
    let mut cmd = osprey();
    cmd.args([
        "policy",
        "quarantine",
        "prod/app=api,tier=web",
        "--format",
        "cilium",
    ]);
    run_ok(cmd.arg("-o").arg(&q).output().unwrap());
    let docs = yaml_docs(&q);
    assert_eq!(docs.len(), 2);
    let k = &docs
        .iter()
        .find(|(_, v)| v["kind"] == "NetworkPolicy")
        .unwrap()
        .1;
    validate_network_policy(k);
    assert_eq!(k["metadata"]["namespace"], "lab");
    assert_eq!(k["spec"]["podSelector"]["matchLabels"]["app"], "shop");
    assert!(k["spec"].get("ingress").is_none() && k["spec"].get("egress").is_none());
    let c = &docs
        .iter()
        .find(|(_, v)| v["kind"] != "NetworkPolicy")
        .unwrap()
        .1;
    check_cilium(c);
    assert_eq!(c["metadata"]["namespace"], "prod");
    assert_eq!(
        c["spec"]["endpointSelector"]["matchLabels"],
        serde_json::json!({"app": "api", "tier": "web"})
    );
    assert_eq!(c["spec"]["ingress"], serde_json::json!([{}]));
    assert_eq!(c["spec"]["egress"], serde_json::json!([{}]));
}

#[test]
fn whatif_lists_the_flows_a_policy_would_drop() {
    let tmp = tempfile::tempdir().unwrap();
    let (policy, cases) = learn_benign(tmp.path());
    let whatif = |case: &Path| -> Vec<Value> {
        let mut cmd = osprey();
        cmd.args(["policy", "whatif"])
            .arg(&policy)
            .arg(case)
            .arg("--json");
        run_ok(cmd.output().unwrap())
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    for c in &cases {
        assert!(whatif(c).is_empty(), "{}", c.display());
    }
    let pcap = tmp.path().join("unexpected.pcap");
    unexpected_connection(&pcap);
    let case = tmp.path().join("unexpected");
    run_ok(analyze(&[&pcap], &case));
    let dropped = whatif(&case);
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let d = &dropped[0];
    assert_eq!(
        (
            &d["src_group"],
            &d["dest_group"],
            &d["dest_port"],
            &d["reason"]
        ),
        (
            &Value::from("clients"),
            &Value::from("shop"),
            &Value::from(5432),
            &Value::from("pci_segmentation")
        )
    );
    let table = stdout_of(osprey().args(["policy", "whatif"]).arg(&policy).arg(&case));
    assert!(table.contains("1 of 1 flows would be dropped"), "{table}");
}
