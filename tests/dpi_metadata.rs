//! Application-layer metadata against the expected results published beside
//! the corpus captures: HTTP host, path, method, status and user agent and
//! DNS query names against Arkime's session documents (`*.arkime.test.json`),
//! and DNS query names and response codes against Zeek's `dns.log`
//! baselines.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;

/// (event_type, record) of every app event in a case.
fn app_events(case: &Path) -> Vec<(String, serde_json::Value)> {
    let db = open_db(case);
    let mut st = db
        .prepare("SELECT event_type, record FROM app_events ORDER BY id")
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .unwrap();
    rows.map(|r| {
        let (t, rec) = r.unwrap();
        (t, serde_json::from_str(&rec).unwrap())
    })
    .collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(strings).collect(),
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

fn field(events: &[(String, serde_json::Value)], kind: &str, key: &str) -> BTreeSet<String> {
    events
        .iter()
        .filter(|(t, _)| t == kind)
        .flat_map(|(_, r)| strings(&r[key]))
        .collect()
}

#[test]
fn http_and_dns_metadata_match_arkime() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut expected: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".arkime.test.json"))
        .collect();
    expected.sort();
    let tmp = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (i, json_path) in expected.iter().enumerate() {
        let capture = json_path.with_file_name(
            json_path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".arkime.test.json"),
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json_path).unwrap()).unwrap();
        let sessions: Vec<&serde_json::Value> = doc["sessions3"]
            .as_array()
            .map(|a| a.iter().map(|s| &s["body"]).collect())
            .unwrap_or_default();
        // HTTP/1.x sessions only: HTTP/2 (which Arkime also files under
        // `http`) has no parser in Osprey yet.
        let http: Vec<&serde_json::Value> = sessions
            .iter()
            .filter(|s| {
                let protos = strings(&s["protocol"]);
                protos.iter().any(|p| p == "http") && !protos.iter().any(|p| p == "http2")
            })
            .map(|s| &s["http"])
            .filter(|h| h.is_object())
            .collect();
        let dns: Vec<&serde_json::Value> = sessions
            .iter()
            .map(|s| &s["dns"])
            .filter(|d| d.is_object())
            .collect();
        let tls: Vec<&serde_json::Value> = sessions
            .iter()
            .map(|s| &s["tls"])
            .filter(|t| t.is_object())
            .collect();
        if http.is_empty() && dns.is_empty() && tls.is_empty() {
            continue;
        }
        let case = tmp.path().join(format!("c{i}"));
        assert!(analyze(&[&capture], &case).status.success());
        let events = app_events(&case);
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let want = |key: &str| -> BTreeSet<String> {
            http.iter().flat_map(|h| strings(&h[key])).collect()
        };
        if !http.is_empty() {
            let hosts = field(&events, "http", "hostname");
            let methods = field(&events, "http", "http_method");
            let statuses = field(&events, "http", "status");
            let agents = field(&events, "http", "http_user_agent");
            let paths: BTreeSet<String> = field(&events, "http", "url")
                .into_iter()
                .map(|u| u.split('?').next().unwrap_or_default().to_string())
                .collect();
            // Arkime keeps a Host header's port; Osprey, like Suricata,
            // logs the host name alone.
            let their_hosts: BTreeSet<String> = want("host")
                .into_iter()
                .map(|h| match h.rsplit_once(':') {
                    Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                        name.to_string()
                    }
                    _ => h,
                })
                .collect();
            for (what, ours, theirs) in [
                ("host", &hosts, their_hosts),
                ("method", &methods, want("method")),
                ("status", &statuses, want("statuscode")),
                ("path", &paths, want("path")),
            ] {
                assert!(
                    theirs.is_subset(ours),
                    "{name}: Arkime's {what}s {theirs:?} not all in Osprey's {ours:?}"
                );
            }
            // Arkime lowercases nothing in user agents; compare exactly.
            assert!(
                want("useragent").is_subset(&agents),
                "{name}: user agents {:?} vs {agents:?}",
                want("useragent")
            );
            checked += 1;
        }
        if !tls.is_empty() {
            // JA3, JA3S and JA4 are exact fingerprints: they must be equal.
            let ja3: BTreeSet<String> = events
                .iter()
                .filter(|(t, _)| t == "tls")
                .flat_map(|(_, r)| strings(&r["ja3"]["hash"]))
                .collect();
            let ja3s: BTreeSet<String> = events
                .iter()
                .filter(|(t, _)| t == "tls")
                .flat_map(|(_, r)| strings(&r["ja3s"]["hash"]))
                .collect();
            let ja4 = field(&events, "tls", "ja4");
            for (what, ours, key) in [
                ("JA3", &ja3, "ja3"),
                ("JA3S", &ja3s, "ja3s"),
                ("JA4", &ja4, "ja4"),
            ] {
                let theirs: BTreeSet<String> = tls.iter().flat_map(|t| strings(&t[key])).collect();
                assert_eq!(&theirs, ours, "{name}: {what}");
            }
            // Arkime files a TLS session's SNI as its `http.host`.
            let sni = field(&events, "tls", "sni");
            let hosts: BTreeSet<String> = sessions
                .iter()
                .filter(|s| s["tls"].is_object())
                .flat_map(|s| strings(&s["http"]["host"]))
                .collect();
            assert!(!hosts.is_empty(), "{name}: no SNI in Arkime's document");
            assert!(hosts.is_subset(&sni), "{name}: SNI {hosts:?} vs {sni:?}");
            checked += 1;
        }
        if !dns.is_empty() {
            let names = field(&events, "dns", "rrname");
            let theirs: BTreeSet<String> =
                dns.iter().flat_map(|d| strings(&d["queryHost"])).collect();
            assert!(
                theirs.is_subset(&names),
                "{name}: Arkime's DNS queries {theirs:?} not all in Osprey's {names:?}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} Arkime expectations checked");
}

#[test]
fn dns_queries_and_rcodes_match_zeek() {
    let dir = corpus_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let logs: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".zeek.dns.log"))
        .collect();
    assert!(!logs.is_empty(), "no Zeek dns.log baselines in the corpus");
    let tmp = tempfile::tempdir().unwrap();
    for (i, log) in logs.iter().enumerate() {
        let capture = log.with_file_name(
            log.file_name()
                .unwrap()
                .to_string_lossy()
                .trim_end_matches(".zeek.dns.log"),
        );
        let text = std::fs::read_to_string(log).unwrap();
        let fields: Vec<&str> = text
            .lines()
            .find_map(|l| l.strip_prefix("#fields\t"))
            .unwrap()
            .split('\t')
            .collect();
        let col = |name: &str| fields.iter().position(|f| *f == name).unwrap();
        let (q, rc) = (col("query"), col("rcode_name"));
        let mut queries = BTreeSet::new();
        let mut rcodes = BTreeSet::new();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let cols: Vec<&str> = l.split('\t').collect();
            if cols[q] != "-" {
                queries.insert(cols[q].to_string());
            }
            if cols[rc] != "-" {
                rcodes.insert(cols[rc].to_string());
            }
        }
        let case = tmp.path().join(format!("z{i}"));
        assert!(analyze(&[&capture], &case).status.success());
        let events = app_events(&case);
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let ours = field(&events, "dns", "rrname");
        assert!(queries.is_subset(&ours), "{name}: {queries:?} vs {ours:?}");
        let ours = field(&events, "dns", "rcode");
        assert!(rcodes.is_subset(&ours), "{name}: {rcodes:?} vs {ours:?}");
    }
}
