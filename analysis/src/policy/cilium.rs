//! `CiliumNetworkPolicy` (cilium.io/v2) from a policy: one object per
//! user-defined group that has edges, like [`super::k8s`], plus L7 rules where learned:
//! HTTP method and path rules on TCP edges that carried HTTP, DNS
//! `matchName` rules on egress to port 53, and `toFQDNs` for external
//! servers the capture's DNS answers named (else `toCIDR`).
//!
//! A section (`ingress`, `egress`) with no edge gets `[{}]`, Cilium's
//! "default deny, nothing allowed"; quarantine is both sections so.

use super::k8s::{
    dns_name, groups_with_edges, l4_name, namespace, peer, pod_labels, Manifest, Peer,
};
use super::{has_ports, proto_number, Edge, Policy, PolicyError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The label Cilium gives every endpoint with its namespace.
const NS_LABEL: &str = "k8s:io.kubernetes.pod.namespace";

fn endpoint(ns: &str, labels: &BTreeMap<String, String>, with_ns: bool) -> Value {
    let mut m: Map<String, Value> = labels.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    if with_ns {
        m.insert(NS_LABEL.into(), json!(ns));
    }
    json!({ "matchLabels": m })
}

/// An anchored Cilium (POSIX extended) regular expression matching `s`.
fn literal_regex(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('^');
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// The `toPorts` entry of an edge, with its L7 rules.
fn to_ports(e: &Edge, proto: u8, egress: bool) -> Value {
    let port = e.port.unwrap_or(0).to_string();
    let mut entry = Map::new();
    entry.insert(
        "ports".into(),
        json!([{ "port": port, "protocol": l4_name(proto) }]),
    );
    let http = proto == 6 && e.app_proto.as_deref() == Some("http") && !e.http.is_empty();
    let dns = egress && e.port == Some(53) && !e.dns_names.is_empty();
    if http {
        let rules: Vec<Value> = e
            .http
            .iter()
            .map(|r| json!({ "method": r.method, "path": literal_regex(&r.path) }))
            .collect();
        entry.insert("rules".into(), json!({ "http": rules }));
    } else if dns {
        let rules: Vec<Value> = e
            .dns_names
            .iter()
            .map(|n| json!({ "matchName": n }))
            .collect();
        entry.insert("rules".into(), json!({ "dns": rules }));
    }
    Value::Object(entry)
}

/// The CiliumNetworkPolicy objects of `policy`.
pub fn cilium_policies(policy: &Policy) -> Result<Vec<Manifest>, PolicyError> {
    let mut out = Vec::new();
    for g in groups_with_edges(policy) {
        let ns = namespace(g);
        let (mut ingress, mut egress, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        for e in &policy.edges {
            if e.to != g.name && e.from != g.name {
                continue;
            }
            let proto = proto_number(&e.proto).unwrap_or(0);
            if !has_ports(proto) || e.port.is_none() {
                skipped.push(format!("{} -> {} {}", e.from, e.to, e.proto));
                continue;
            }
            if e.to == g.name {
                let mut rule = Map::new();
                match peer(policy, &e.from, e) {
                    Peer::Pods(pns, l) => {
                        rule.insert("fromEndpoints".into(), json!([endpoint(&pns, &l, true)]));
                    }
                    Peer::Cidrs(c) => {
                        rule.insert("fromCIDR".into(), json!(c));
                    }
                }
                rule.insert("toPorts".into(), json!([to_ports(e, proto, false)]));
                ingress.push(Value::Object(rule));
            }
            if e.from == g.name {
                let mut rule = Map::new();
                match peer(policy, &e.to, e) {
                    Peer::Pods(pns, l) => {
                        rule.insert("toEndpoints".into(), json!([endpoint(&pns, &l, true)]));
                    }
                    Peer::Cidrs(_) if !e.to_names.is_empty() => {
                        let names: Vec<Value> = e
                            .to_names
                            .iter()
                            .map(|n| json!({ "matchName": n }))
                            .collect();
                        rule.insert("toFQDNs".into(), Value::Array(names));
                    }
                    Peer::Cidrs(c) => {
                        rule.insert("toCIDR".into(), json!(c));
                    }
                }
                rule.insert("toPorts".into(), json!([to_ports(e, proto, true)]));
                egress.push(Value::Object(rule));
            }
        }
        for section in [&mut ingress, &mut egress] {
            if section.is_empty() {
                section.push(json!({}));
            }
        }
        let name = format!("osprey-{}", dns_name(&g.name));
        let mut header = format!("# Osprey policy for group `{}`.\n", g.name);
        for s in &skipped {
            header.push_str(&format!("# Left out (no port): {s}\n"));
        }
        let spec = json!({
            "endpointSelector": endpoint(&ns, &pod_labels(g), false),
            "ingress": ingress,
            "egress": egress,
        });
        out.push(super::k8s::Manifest::build(
            "cilium.io/v2",
            "CiliumNetworkPolicy",
            &name,
            &ns,
            spec,
            &header,
        )?);
    }
    Ok(out)
}

/// A deny-all CiliumNetworkPolicy for the pods of `ns` with `labels`.
pub fn quarantine(
    name: &str,
    ns: &str,
    pods: &BTreeMap<String, String>,
) -> Result<Manifest, PolicyError> {
    let name = format!("osprey-quarantine-{}", dns_name(name));
    let spec = json!({
        "endpointSelector": endpoint(ns, pods, false),
        "ingress": [{}],
        "egress": [{}],
    });
    super::k8s::Manifest::build(
        "cilium.io/v2",
        "CiliumNetworkPolicy",
        &name,
        ns,
        spec,
        "# Quarantine: no traffic in or out of the selected pods.\n",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_anchored_literal_regexes() {
        assert_eq!(literal_regex("/static/app.js"), "^/static/app\\.js$");
        assert_eq!(literal_regex("/a(b)*"), "^/a\\(b\\)\\*$");
    }
}
