//! Learning: the connection graph observed in cases, as a [`Policy`].
//!
//! Every flow gives an edge (client group, server group, protocol, server
//! port) with its application protocol, count and first/last time, and
//! its HTTP requests and DNS questions (Cilium L7 rules). External servers
//! keep their addresses and the names the capture's DNS answers gave them.
//!
//! Flows that raised attack alerts are left out: a flow an alert names
//! (its flow or evidence flows, which are capped), and every flow between
//! the alert's addresses (either way; any peer for an alert with one
//! address) during the alert and the detection window before it fired
//! (scans, sweeps, floods, brute force: their first events). Informational categories
//! (`cleartext_credentials`, `tls_old_version`) and `policy_violation`
//! are not attacks and skip nothing.

use super::check::known_app;
use super::groups::{GroupResolver, GroupsFile, EXTERNAL_GROUP};
use super::{has_ports, proto_name, DefaultAction, Edge, HttpRule, Policy, PolicyError};
use crate::detect::{Category, RuleSet};
use crate::store::query::AlertSummary;
use crate::store::{CaseReader, FlowSummary};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

/// Most HTTP requests kept per edge.
pub const MAX_HTTP_PER_EDGE: usize = 64;
/// Most DNS names kept per edge.
pub const MAX_NAMES_PER_EDGE: usize = 64;
/// Most external addresses kept per edge.
pub const MAX_ADDRS_PER_EDGE: usize = 64;

/// What learning saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnStats {
    /// Flows read.
    pub flows: u64,
    /// Flows left out for attack alerts.
    pub skipped: u64,
}

#[derive(Default)]
struct Acc {
    app: BTreeSet<String>,
    count: u64,
    first_ns: i64,
    last_ns: i64,
    http: BTreeSet<HttpRule>,
    dns_names: BTreeSet<String>,
    addrs: BTreeSet<String>,
    names: BTreeSet<String>,
}

/// Learns the graph of `cases` with `groups`.
pub fn learn(cases: &[&Path], groups: &GroupsFile) -> Result<(Policy, LearnStats), PolicyError> {
    let resolver = GroupResolver::new(&groups.groups, &groups.cluster)?;
    let mut edges: BTreeMap<(String, String, u8, Option<u16>), Acc> = BTreeMap::new();
    let mut stats = LearnStats::default();
    for dir in cases {
        let case = CaseReader::open(dir)?;
        let flows = case.flows()?;
        let skip = attack_flows(&flows, &case.alerts()?);
        let l7 = L7::read(&case)?;
        for f in &flows {
            stats.flows += 1;
            if skip.contains(&f.id) {
                stats.skipped += 1;
                continue;
            }
            let (Ok(client), Ok(server)) = (f.src_ip.parse::<IpAddr>(), f.dest_ip.parse()) else {
                continue;
            };
            let from = resolver.resolve(client, None).name;
            let to = resolver.resolve(server, None).name;
            let port = has_ports(f.proto).then_some(f.dest_port);
            let a = edges
                .entry((from, to.clone(), f.proto, port))
                .or_insert_with(|| Acc {
                    first_ns: f.start_ns,
                    last_ns: f.end_ns,
                    ..Acc::default()
                });
            a.count += 1;
            a.first_ns = a.first_ns.min(f.start_ns);
            a.last_ns = a.last_ns.max(f.end_ns);
            if let Some(app) = known_app(&f.app_proto) {
                a.app.insert(app.to_string());
            }
            if let Some(reqs) = l7.http.get(&f.id) {
                for r in reqs {
                    if a.http.len() < MAX_HTTP_PER_EDGE {
                        a.http.insert(r.clone());
                    }
                }
            }
            if let Some(names) = l7.questions.get(&f.id) {
                for n in names {
                    if a.dns_names.len() < MAX_NAMES_PER_EDGE {
                        a.dns_names.insert(n.clone());
                    }
                }
            }
            if to == EXTERNAL_GROUP {
                if a.addrs.len() < MAX_ADDRS_PER_EDGE {
                    a.addrs.insert(server.to_string());
                }
                for n in l7.names_of.get(&server).into_iter().flatten() {
                    if a.names.len() < MAX_NAMES_PER_EDGE {
                        a.names.insert(n.clone());
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for ((from, to, proto, port), a) in edges {
        // One edge per application protocol seen (none: any).
        let apps: Vec<Option<String>> = if a.app.is_empty() {
            vec![None]
        } else {
            a.app.iter().cloned().map(Some).collect()
        };
        for app_proto in apps {
            out.push(Edge {
                from: from.clone(),
                to: to.clone(),
                proto: proto_name(proto),
                port,
                app_proto,
                count: a.count,
                first_seen: Some(crate::eve::timestamp(a.first_ns)),
                last_seen: Some(crate::eve::timestamp(a.last_ns)),
                http: a.http.iter().cloned().collect(),
                dns_names: a.dns_names.iter().cloned().collect(),
                to_addrs: a.addrs.iter().cloned().collect(),
                to_names: a.names.iter().cloned().collect(),
            });
        }
    }
    Ok((
        Policy {
            version: super::POLICY_VERSION,
            default: DefaultAction::Deny,
            groups: groups.groups.clone(),
            cluster: groups.cluster.clone(),
            edges: out,
        },
        stats,
    ))
}

/// True for alerts that are attacks (see the module docs).
fn is_attack(a: &AlertSummary) -> bool {
    Category::from_name(&a.category)
        .is_some_and(|c| !c.is_informational() && c != Category::PolicyViolation)
}

/// Ids of the flows attack alerts name or cover.
fn attack_flows(flows: &[FlowSummary], alerts: &[AlertSummary]) -> HashSet<u64> {
    let rules = RuleSet::defaults().ok();
    let mut skip = HashSet::new();
    for a in alerts.iter().filter(|a| is_attack(a)) {
        // A windowed alert fires when its window fills: the window's
        // earlier events (up to `window_s` before) are part of it.
        let lookback = Category::from_name(&a.category)
            .and_then(|c| rules.as_ref()?.get(c).map(|r| r.window_ns()))
            .unwrap_or(0);
        let start = a.ts_ns.saturating_sub(lookback);
        skip.extend(a.flow_id);
        skip.extend(a.evidence_flows.iter().copied());
        // Evidence is capped: every flow between the alert's addresses
        // (either way) while it lasted is covered too.
        let (src, dst) = (a.src_ip.as_deref(), a.dest_ip.as_deref());
        if src.is_none() && dst.is_none() {
            continue;
        }
        for f in flows {
            let during = f.start_ns <= a.ts_last_ns && f.end_ns >= start;
            let ends = |x: Option<&str>, y: Option<&str>| {
                x.is_none_or(|x| x == f.src_ip) && y.is_none_or(|y| y == f.dest_ip)
            };
            if during && (ends(src, dst) || ends(dst, src)) {
                skip.insert(f.id);
            }
        }
    }
    skip
}

/// Application records of a case that learning uses.
#[derive(Default)]
struct L7 {
    http: HashMap<u64, BTreeSet<HttpRule>>,
    questions: HashMap<u64, BTreeSet<String>>,
    /// Address → DNS names that resolved to it.
    names_of: HashMap<IpAddr, BTreeSet<String>>,
}

impl L7 {
    fn read(case: &CaseReader) -> Result<L7, PolicyError> {
        let mut l7 = L7::default();
        let mut st = case
            .connection()
            .prepare(
                "SELECT flow_id, event_type, record FROM app_events WHERE event_type IN ('http', 'dns') ORDER BY id",
            )
            .map_err(crate::store::StoreError::from)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(crate::store::StoreError::from)?;
        for row in rows {
            let (flow, kind, record) = row.map_err(crate::store::StoreError::from)?;
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&record) else {
                continue;
            };
            let s = |k: &str| v.get(k).and_then(|x| x.as_str());
            if kind == "http" {
                if let (Some(method), Some(url)) = (s("http_method"), s("url")) {
                    let path = url.split(['?', '#']).next().unwrap_or(url);
                    l7.http.entry(flow).or_default().insert(HttpRule {
                        method: method.to_string(),
                        path: path.to_string(),
                    });
                }
                continue;
            }
            let question = s("rrname").map(|n| n.trim_end_matches('.').to_lowercase());
            if let Some(q) = question.clone().filter(|q| !q.is_empty()) {
                l7.questions.entry(flow).or_default().insert(q);
            }
            let answers = v.get("answers").and_then(|a| a.as_array());
            for ans in answers.into_iter().flatten() {
                let rtype = ans.get("rrtype").and_then(|x| x.as_str());
                let addr = ans
                    .get("rdata")
                    .and_then(|x| x.as_str())
                    .and_then(|d| d.parse::<IpAddr>().ok());
                let (Some("A" | "AAAA"), Some(addr)) = (rtype, addr) else {
                    continue;
                };
                let names = l7.names_of.entry(addr).or_default();
                if let Some(n) = ans.get("rrname").and_then(|x| x.as_str()) {
                    names.insert(n.trim_end_matches('.').to_lowercase());
                }
                if let Some(q) = question.clone().filter(|q| !q.is_empty()) {
                    names.insert(q);
                }
            }
        }
        Ok(l7)
    }
}
