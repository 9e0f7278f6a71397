//! Kubernetes `NetworkPolicy` (networking.k8s.io/v1) from a policy: one
//! object per user-defined group that has edges, selecting its pods, with both policy
//! types (so what no rule allows is dropped, as the policy's `deny`
//! default says), an ingress rule per edge into the group and an egress
//! rule per edge out of it.
//!
//! Peers: user-defined groups by namespace and pod selector (a group
//! without `pod_labels` is selected by the label `osprey.io/group: NAME`,
//! and without `namespace` lives in `default`); groups named by an
//! address, `external` and the metadata address by `ipBlock` (`external`
//! by the addresses seen, else 0.0.0.0/0 and ::/0). NetworkPolicy cannot
//! express ICMP: ICMP edges are listed in a comment and left out.

use super::groups::{GroupDef, EXTERNAL_GROUP, METADATA_ADDRS, METADATA_GROUP};
use super::{has_ports, proto_number, Edge, Policy, PolicyError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Label that selects a group's pods when the group has no `pod_labels`.
pub const GROUP_LABEL: &str = "osprey.io/group";
/// Namespace of groups without one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// One generated manifest: file name and YAML text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// File name (no directory).
    pub file: String,
    /// The YAML document.
    pub yaml: String,
}

impl Manifest {
    /// A policy object of `api_version`/`kind` named `name` in `ns`
    /// (labelled as Osprey's) with `spec`, as YAML after the comment
    /// lines of `header`, in `<name>.yaml`.
    pub(super) fn build(
        api_version: &str,
        kind: &str,
        name: &str,
        ns: &str,
        spec: Value,
        header: &str,
    ) -> Result<Manifest, PolicyError> {
        let obj = json!({
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": { "app.kubernetes.io/managed-by": "osprey" },
            },
            "spec": spec,
        });
        Ok(Manifest {
            file: format!("{name}.yaml"),
            yaml: format!("{header}{}", super::to_yaml(&obj)?),
        })
    }
}

/// A DNS-1123 name from any text: lower case, `[a-z0-9-]`, at most 63.
pub fn dns_name(s: &str) -> String {
    let mut out: String = s
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let t = out.trim_matches('-');
    let mut t: String = t.chars().take(63).collect();
    while t.ends_with('-') {
        t.pop();
    }
    if t.is_empty() {
        "group".into()
    } else {
        t
    }
}

/// Namespace of a group.
pub fn namespace(g: &GroupDef) -> String {
    g.namespace
        .clone()
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// Pod labels selecting a group.
pub fn pod_labels(g: &GroupDef) -> BTreeMap<String, String> {
    if g.pod_labels.is_empty() {
        BTreeMap::from([(GROUP_LABEL.to_string(), dns_name(&g.name))])
    } else {
        g.pod_labels.clone()
    }
}

/// How a group is addressed as a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// Pods: namespace and labels.
    Pods(String, BTreeMap<String, String>),
    /// Addresses (CIDRs).
    Cidrs(Vec<String>),
}

/// The peer for group `name` on `edge` (its external addresses).
pub fn peer(policy: &Policy, name: &str, edge: &Edge) -> Peer {
    if let Some(g) = policy.groups.iter().find(|g| g.name == name) {
        return Peer::Pods(namespace(g), pod_labels(g));
    }
    let host = |ip: IpAddr| match ip {
        IpAddr::V4(_) => format!("{ip}/32"),
        IpAddr::V6(_) => format!("{ip}/128"),
    };
    if name == METADATA_GROUP {
        return Peer::Cidrs(
            METADATA_ADDRS
                .iter()
                .filter_map(|a| a.parse().ok())
                .map(host)
                .collect(),
        );
    }
    if name == EXTERNAL_GROUP {
        let addrs: Vec<String> = edge
            .to_addrs
            .iter()
            .filter_map(|a| a.parse().ok())
            .map(host)
            .collect();
        if addrs.is_empty() {
            return Peer::Cidrs(vec!["0.0.0.0/0".into(), "::/0".into()]);
        }
        return Peer::Cidrs(addrs);
    }
    match name.parse::<IpAddr>() {
        Ok(ip) => Peer::Cidrs(vec![host(ip)]),
        // A workload group from live attribution: `namespace/app`.
        Err(_) => {
            let (ns, app) = name.split_once('/').unwrap_or((DEFAULT_NAMESPACE, name));
            Peer::Pods(
                ns.to_string(),
                BTreeMap::from([("app".to_string(), app.to_string())]),
            )
        }
    }
}

fn labels(m: &BTreeMap<String, String>) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
}

fn k8s_peers(p: &Peer, own_ns: &str) -> Vec<Value> {
    match p {
        Peer::Pods(ns, l) => {
            let mut o = Map::new();
            o.insert("podSelector".into(), json!({ "matchLabels": labels(l) }));
            if ns != own_ns {
                o.insert(
                    "namespaceSelector".into(),
                    json!({ "matchLabels": { "kubernetes.io/metadata.name": ns } }),
                );
            }
            vec![Value::Object(o)]
        }
        Peer::Cidrs(c) => c
            .iter()
            .map(|c| json!({ "ipBlock": { "cidr": c } }))
            .collect(),
    }
}

/// The user-defined groups some edge starts or ends at (a group without
/// any gets no policy: the policy says nothing about it).
pub fn groups_with_edges(policy: &Policy) -> impl Iterator<Item = &GroupDef> {
    policy.groups.iter().filter(|g| {
        policy
            .edges
            .iter()
            .any(|e| e.from == g.name || e.to == g.name)
    })
}

/// The Kubernetes name of an IP protocol with ports.
pub fn l4_name(proto: u8) -> &'static str {
    match proto {
        17 => "UDP",
        132 => "SCTP",
        _ => "TCP",
    }
}

/// The NetworkPolicy objects of `policy`.
pub fn network_policies(policy: &Policy) -> Result<Vec<Manifest>, PolicyError> {
    let mut out = Vec::new();
    for g in groups_with_edges(policy) {
        let ns = namespace(g);
        let (mut ingress, mut egress, mut skipped) = (Vec::new(), Vec::new(), Vec::new());
        for e in &policy.edges {
            let proto = proto_number(&e.proto).unwrap_or(0);
            if e.to != g.name && e.from != g.name {
                continue;
            }
            if !has_ports(proto) || e.port.is_none() {
                skipped.push(format!("{} -> {} {}", e.from, e.to, e.proto));
                continue;
            }
            let ports = json!([{ "protocol": l4_name(proto), "port": e.port }]);
            if e.to == g.name {
                let from = k8s_peers(&peer(policy, &e.from, e), &ns);
                ingress.push(json!({ "from": from, "ports": ports }));
            }
            if e.from == g.name {
                let to = k8s_peers(&peer(policy, &e.to, e), &ns);
                egress.push(json!({ "to": to, "ports": ports }));
            }
        }
        let name = format!("osprey-{}", dns_name(&g.name));
        let mut header = format!("# Osprey policy for group `{}`.\n", g.name);
        for s in &skipped {
            header.push_str(&format!("# Not expressible in NetworkPolicy: {s}\n"));
        }
        let spec = json!({
            "podSelector": { "matchLabels": labels(&pod_labels(g)) },
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        });
        out.push(Manifest::build(
            "networking.k8s.io/v1",
            "NetworkPolicy",
            &name,
            &ns,
            spec,
            &header,
        )?);
    }
    Ok(out)
}

/// A deny-all NetworkPolicy for the pods of `ns` with `labels`.
pub fn quarantine(
    name: &str,
    ns: &str,
    pods: &BTreeMap<String, String>,
) -> Result<Manifest, PolicyError> {
    let name = format!("osprey-quarantine-{}", dns_name(name));
    let spec = json!({
        "podSelector": { "matchLabels": labels(pods) },
        "policyTypes": ["Ingress", "Egress"],
    });
    Manifest::build(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        &name,
        ns,
        spec,
        "# Quarantine: no traffic in or out of the selected pods.\n",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_are_dns_labels() {
        assert_eq!(dns_name("Shop/Web_1"), "shop-web-1");
        assert_eq!(dns_name("--"), "group");
        assert_eq!(dns_name(&"a".repeat(80)).len(), 63);
    }
}
