//! Policy: the allowed connection graph between workload groups.
//!
//! - [`groups`]: which group a flow's endpoint belongs to (workload
//!   labels when known, else the user's CIDR mapping, else `external`).
//! - [`learn`]: the graph observed in cases (flows that raised attack
//!   alerts left out), as an editable [`Policy`].
//! - [`check`]: the verdict on one flow (edge allowed, or the violation
//!   and its reason, built-in PCI and Kubernetes checks included); the
//!   detection engine raises `policy_violation` alerts from it.
//! - [`k8s`] and [`cilium`]: the policy as Kubernetes `NetworkPolicy`
//!   and `CiliumNetworkPolicy` objects, and quarantine (deny-all) ones.
//! - [`report`]: JUnit XML and SARIF 2.1.0 for CI (`osprey check`).
//!
//! The policy file is YAML (schema: [`Policy`], documented in the README
//! and in the header `learn` writes). It carries its groups, so a policy
//! alone is enough to monitor, export and check.

pub mod check;
pub mod cilium;
pub mod groups;
pub mod k8s;
pub mod learn;
pub mod report;

use crate::store::StoreError;
use groups::{ClusterConfig, GroupDef};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Version of the policy schema written by this build.
pub const POLICY_VERSION: u32 = 1;

/// Why a policy could not be read, built or written.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Not valid YAML for the schema.
    #[error("{origin}: {message}")]
    Syntax {
        /// The file.
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A semantic problem.
    #[error("{0}")]
    Invalid(String),
    /// A case could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What happens to a flow no edge allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefaultAction {
    /// A violation (the learned graph is the allow list).
    #[default]
    Deny,
    /// Allowed; only the built-in checks raise violations.
    Allow,
}

/// An HTTP request an edge carried (Cilium L7 rules).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRule {
    /// Method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
}

/// One allowed edge: `from` group → `to` group on an IP protocol and
/// server port.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    /// Client group.
    pub from: String,
    /// Server group.
    pub to: String,
    /// `tcp`, `udp`, `sctp`, `icmp`, `icmpv6`, or an IP protocol number.
    pub proto: String,
    /// Server port (TCP, UDP, SCTP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Application protocol seen (`http`, `dns`, …). When set, a flow of
    /// another identified protocol on this edge is a violation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_proto: Option<String>,
    /// Flows seen.
    #[serde(default)]
    pub count: u64,
    /// First flow's start (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// Last flow's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// HTTP requests seen (method, path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<HttpRule>,
    /// DNS names queried over this edge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_names: Vec<String>,
    /// For `external` servers: the addresses seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_addrs: Vec<String>,
    /// For `external` servers: their DNS names, from the capture's DNS
    /// answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to_names: Vec<String>,
}

/// A policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Schema version ([`POLICY_VERSION`]).
    pub version: u32,
    /// What happens to flows no edge allows.
    #[serde(default)]
    pub default: DefaultAction,
    /// The groups (as in a groups file).
    #[serde(default)]
    pub groups: Vec<GroupDef>,
    /// The cluster (as in a groups file).
    #[serde(default)]
    pub cluster: ClusterConfig,
    /// The allowed edges.
    #[serde(default)]
    pub edges: Vec<Edge>,
}

/// Comment written at the top of a learned policy.
const HEADER: &str = "\
# Osprey policy (version 1): the allowed connection graph.
# Written by `osprey policy learn`; edit freely. Schema:
#   version: 1
#   default: deny | allow     flows no edge allows: violation | allowed
#                             (the built-in PCI/Kubernetes checks apply either way)
#   groups:                   workload groups (as in --groups groups.yaml)
#     - name: web             referenced by edges
#       cidrs: [10.0.0.5, 10.0.1.0/24]
#       labels: {pci: true}   pci: true puts the group in the PCI segment
#       namespace: shop       Kubernetes namespace (export)
#       pod_labels: {app: web}  Kubernetes pod selector (export)
#   cluster:                  dns, api_server, nodes: addresses; kubelet_port;
#                             internal: CIDRs that are not `external`
#   edges:                    one per client group, server group, protocol, port
#     - from: web             client group; unmapped internal addresses are
#       to: db                groups named by the address, others `external`
#       proto: tcp            tcp | udp | sctp | icmp | icmpv6 | number
#       port: 5432            server port (absent for ICMP)
#       app_proto: pgsql      optional: other identified protocols are violations
#       count, first_seen, last_seen: what was observed (informational)
#       http: [{method, path}], dns_names, to_addrs, to_names: L7 detail
#                             (CiliumNetworkPolicy rules)
";

impl Policy {
    /// Reads and checks a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let p: Policy = read_yaml(path)?;
        if p.version != POLICY_VERSION {
            return Err(PolicyError::Invalid(format!(
                "{}: policy version {} (this build reads {POLICY_VERSION})",
                path.display(),
                p.version
            )));
        }
        check::PolicyChecker::new(p.clone())?;
        Ok(p)
    }

    /// The policy as YAML, with the schema comment.
    pub fn to_yaml(&self) -> Result<String, PolicyError> {
        let body = to_yaml(self)?;
        Ok(format!("{HEADER}{body}"))
    }

    /// Writes the policy to `path`.
    pub fn save(&self, path: &Path) -> Result<(), PolicyError> {
        write_file(path, &self.to_yaml()?)
    }
}

/// Serializes to YAML.
pub fn to_yaml<T: Serialize>(v: &T) -> Result<String, PolicyError> {
    serde_norway::to_string(v).map_err(|e| PolicyError::Syntax {
        origin: "yaml output".into(),
        message: e.to_string(),
    })
}

/// Writes `text` to `path`.
pub fn write_file(path: &Path, text: &str) -> Result<(), PolicyError> {
    std::fs::write(path, text).map_err(|source| PolicyError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads a YAML file into `T`.
pub(crate) fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    serde_norway::from_str(&text).map_err(|e| PolicyError::Syntax {
        origin: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The policy name of an IP protocol.
pub fn proto_name(proto: u8) -> String {
    match proto {
        6 => "tcp".into(),
        17 => "udp".into(),
        132 => "sctp".into(),
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        n => n.to_string(),
    }
}

/// The IP protocol of a policy name.
pub fn proto_number(name: &str) -> Option<u8> {
    match name.to_ascii_lowercase().as_str() {
        "tcp" => Some(6),
        "udp" => Some(17),
        "sctp" => Some(132),
        "icmp" => Some(1),
        "icmpv6" | "ipv6-icmp" => Some(58),
        n => n.parse().ok(),
    }
}

/// True for protocols with ports.
pub fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn policy_yaml_round_trips_and_bool_labels_read() {
        let text = "version: 1\ngroups:\n  - name: pay\n    cidrs: [10.0.0.0/24]\n    labels: {pci: true, tier: 1}\nedges:\n  - {from: a, to: pay, proto: tcp, port: 443, app_proto: tls}\n";
        let p: Policy = serde_norway::from_str(text).unwrap();
        assert!(p.groups[0].is_pci());
        assert_eq!(p.default, DefaultAction::Deny);
        let again: Policy = serde_norway::from_str(&p.to_yaml().unwrap()).unwrap();
        assert_eq!(again, p);
        let bad = "version: 1\nedges:\n  - {from: a, to: b, proto: tcp, prot: 1}\n";
        assert!(serde_norway::from_str::<Policy>(bad).is_err());
    }

    #[test]
    fn proto_names_round_trip() {
        for p in [1u8, 6, 17, 58, 132, 47] {
            assert_eq!(proto_number(&proto_name(p)), Some(p));
        }
        assert_eq!(proto_number("bogus"), None);
    }
}
