//! Workload groups: which group an endpoint of a flow belongs to.
//!
//! An endpoint is resolved, in this order:
//! 1. by its workload (namespace, pod labels), when the capture knows it
//!    (live capture's attribution hands a [`Workload`]): the first group
//!    whose `namespace` and `pod_labels` select it, else a group named
//!    `namespace/app` (the `app` label, else the pod name);
//! 2. by address: the group with the longest `cidrs` prefix containing it;
//! 3. the cloud metadata address ([`METADATA_GROUP`]);
//! 4. other internal addresses (private, loopback, link-local, CGNAT,
//!    unique-local, and the cluster's `internal` CIDRs): a group named by
//!    the address itself;
//! 5. everything else: [`EXTERNAL_GROUP`].

use super::PolicyError;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// The group of addresses outside the cluster and the user's mapping.
pub const EXTERNAL_GROUP: &str = "external";
/// The group of the cloud metadata address.
pub const METADATA_GROUP: &str = "cloud-metadata";
/// The cloud metadata addresses (AWS, GCP, Azure, OpenStack; AWS IPv6).
pub const METADATA_ADDRS: [&str; 2] = ["169.254.169.254", "fd00:ec2::254"];

/// A label value as written in YAML (`pci: true`, `tier: 1`, `app: web`);
/// compared and exported as its string form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelValue {
    /// `true` / `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Anything else.
    Str(String),
}

impl fmt::Display for LabelValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelValue::Bool(b) => write!(f, "{b}"),
            LabelValue::Int(i) => write!(f, "{i}"),
            LabelValue::Str(s) => f.write_str(s),
        }
    }
}

/// One user-defined group (`groups:` in groups.yaml and policy.yaml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    /// Group name (used in edges and alerts).
    pub name: String,
    /// Addresses or CIDRs of the group (`10.0.0.5`, `10.0.1.0/24`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cidrs: Vec<String>,
    /// Policy labels (`pci: true` puts the group in the PCI segment).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, LabelValue>,
    /// Kubernetes namespace of the group's pods (export; live attribution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes pod labels selecting the group's pods (export; live
    /// attribution).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_labels: BTreeMap<String, String>,
}

impl GroupDef {
    /// True when the group is in the PCI segment (`pci: true`).
    pub fn is_pci(&self) -> bool {
        self.labels
            .get("pci")
            .is_some_and(|v| v.to_string() == "true")
    }
}

fn default_kubelet_port() -> u16 {
    10250
}

/// What the checks need to know about the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The cluster's DNS resolvers (kube-dns / CoreDNS); DNS sent
    /// anywhere else is a violation unless allowed. Empty: not checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// Kubernetes API server addresses (service and endpoints).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_server: Vec<String>,
    /// Node addresses (their kubelet listens on `kubelet_port`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<String>,
    /// The kubelet's port.
    #[serde(default = "default_kubelet_port")]
    pub kubelet_port: u16,
    /// More CIDRs that are inside (not `external`), besides the private
    /// ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub internal: Vec<String>,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            dns: Vec::new(),
            api_server: Vec::new(),
            nodes: Vec::new(),
            kubelet_port: default_kubelet_port(),
            internal: Vec::new(),
        }
    }
}

/// A groups file (`--groups groups.yaml`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupsFile {
    /// The groups.
    #[serde(default)]
    pub groups: Vec<GroupDef>,
    /// The cluster.
    #[serde(default)]
    pub cluster: ClusterConfig,
}

impl GroupsFile {
    /// Reads and checks a groups file.
    pub fn load(path: &std::path::Path) -> Result<GroupsFile, PolicyError> {
        let g: GroupsFile = super::read_yaml(path)?;
        GroupResolver::new(&g.groups, &g.cluster)?;
        Ok(g)
    }
}

/// What live capture knows about the workload behind an address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workload {
    /// Namespace.
    pub namespace: String,
    /// Pod name.
    pub pod: Option<String>,
    /// Pod labels.
    pub labels: BTreeMap<String, String>,
}

/// The group an endpoint resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Group name.
    pub name: String,
    /// In the PCI segment.
    pub pci: bool,
    /// Index of the user's group definition, when it is one.
    pub def: Option<usize>,
}

/// Resolves endpoints to groups. See the module docs.
#[derive(Debug, Clone)]
pub struct GroupResolver {
    defs: Vec<GroupDef>,
    /// Prefixes, longest first, with their group index.
    nets: Vec<(IpNet, usize)>,
    internal: Vec<IpNet>,
    dns: Vec<IpAddr>,
    api_server: Vec<IpAddr>,
    nodes: Vec<IpAddr>,
    kubelet_port: u16,
}

/// Parses `10.0.0.1` (a /32) or `10.0.0.0/8`.
pub fn parse_net(s: &str) -> Result<IpNet, PolicyError> {
    let s = s.trim();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| PolicyError::Invalid(format!("`{s}` is not an address or CIDR")))
}

fn parse_addrs(list: &[String], what: &str) -> Result<Vec<IpAddr>, PolicyError> {
    list.iter()
        .map(|s| {
            s.trim().parse::<IpAddr>().map_err(|_| {
                PolicyError::Invalid(format!("cluster.{what}: `{s}` is not an address"))
            })
        })
        .collect()
}

impl GroupResolver {
    /// A resolver over `defs` and `cluster`; refuses bad CIDRs and
    /// duplicate or reserved names.
    pub fn new(defs: &[GroupDef], cluster: &ClusterConfig) -> Result<GroupResolver, PolicyError> {
        let mut nets = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            if d.name.is_empty() || d.name == EXTERNAL_GROUP || d.name == METADATA_GROUP {
                return Err(PolicyError::Invalid(format!(
                    "group name `{}` is empty or reserved",
                    d.name
                )));
            }
            if defs[..i].iter().any(|o| o.name == d.name) {
                return Err(PolicyError::Invalid(format!(
                    "group `{}` is defined twice",
                    d.name
                )));
            }
            for c in &d.cidrs {
                nets.push((parse_net(c)?, i));
            }
        }
        nets.sort_by_key(|(n, i)| (std::cmp::Reverse(n.prefix_len()), *i));
        let internal = cluster
            .internal
            .iter()
            .map(|s| parse_net(s))
            .collect::<Result<_, _>>()?;
        Ok(GroupResolver {
            defs: defs.to_vec(),
            nets,
            internal,
            dns: parse_addrs(&cluster.dns, "dns")?,
            api_server: parse_addrs(&cluster.api_server, "api_server")?,
            nodes: parse_addrs(&cluster.nodes, "nodes")?,
            kubelet_port: cluster.kubelet_port,
        })
    }

    fn named(&self, i: usize) -> Resolved {
        let d = &self.defs[i];
        Resolved {
            name: d.name.clone(),
            pci: d.is_pci(),
            def: Some(i),
        }
    }

    /// The group of `ip` (and of its workload, when known).
    pub fn resolve(&self, ip: IpAddr, workload: Option<&Workload>) -> Resolved {
        if let Some(w) = workload {
            let selects = |d: &GroupDef| {
                d.namespace.as_deref() == Some(w.namespace.as_str())
                    && d.pod_labels.iter().all(|(k, v)| w.labels.get(k) == Some(v))
            };
            if let Some(i) = self.defs.iter().position(selects) {
                return self.named(i);
            }
            let app = w.labels.get("app").or(w.pod.as_ref());
            let name = match app {
                Some(a) => format!("{}/{a}", w.namespace),
                None => w.namespace.clone(),
            };
            return Resolved {
                name,
                pci: w.labels.get("pci").is_some_and(|v| v == "true"),
                def: None,
            };
        }
        if let Some((_, i)) = self.nets.iter().find(|(n, _)| n.contains(&ip)) {
            return self.named(*i);
        }
        let name = if is_metadata(ip) {
            METADATA_GROUP.to_string()
        } else if self.is_internal(ip) {
            ip.to_string()
        } else {
            EXTERNAL_GROUP.to_string()
        };
        Resolved {
            name,
            pci: false,
            def: None,
        }
    }

    /// True for addresses inside the cluster or a private network.
    pub fn is_internal(&self, ip: IpAddr) -> bool {
        if self.internal.iter().any(|n| n.contains(&ip)) {
            return true;
        }
        match ip {
            IpAddr::V4(v) => {
                let o = v.octets();
                v.is_private()
                    || v.is_loopback()
                    || v.is_link_local()
                    || (o[0] == 100 && (o[1] & 0xc0) == 64)
            }
            IpAddr::V6(v) => {
                let s = v.segments()[0];
                v.is_loopback() || (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
            }
        }
    }

    /// The cluster's DNS resolvers.
    pub fn dns_servers(&self) -> &[IpAddr] {
        &self.dns
    }

    /// True when `ip` is an API server address.
    pub fn is_api_server(&self, ip: IpAddr) -> bool {
        self.api_server.contains(&ip)
    }

    /// True when `ip:port` is a node's kubelet.
    pub fn is_kubelet(&self, ip: IpAddr, port: Option<u16>) -> bool {
        port == Some(self.kubelet_port) && self.nodes.contains(&ip)
    }
}

/// True for the cloud metadata address.
pub fn is_metadata(ip: IpAddr) -> bool {
    METADATA_ADDRS
        .iter()
        .any(|m| m.parse::<IpAddr>().is_ok_and(|m| m == ip))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn def(name: &str, cidrs: &[&str]) -> GroupDef {
        GroupDef {
            name: name.into(),
            cidrs: cidrs.iter().map(|s| s.to_string()).collect(),
            labels: BTreeMap::new(),
            namespace: None,
            pod_labels: BTreeMap::new(),
        }
    }

    #[test]
    fn longest_prefix_then_internal_then_external() {
        let mut pci = def("payments", &["10.1.2.0/24"]);
        pci.labels.insert("pci".into(), LabelValue::Bool(true));
        let defs = vec![def("pods", &["10.1.0.0/16"]), pci, def("db", &["10.1.2.9"])];
        let r = GroupResolver::new(&defs, &ClusterConfig::default()).unwrap();
        let g = |s: &str| r.resolve(s.parse().unwrap(), None);
        assert_eq!(g("10.1.2.9").name, "db");
        assert!(!g("10.1.2.9").pci);
        assert_eq!(g("10.1.2.10").name, "payments");
        assert!(g("10.1.2.10").pci);
        assert_eq!(g("10.1.3.1").name, "pods");
        assert_eq!(g("192.168.7.7").name, "192.168.7.7");
        assert_eq!(g("100.64.0.1").name, "100.64.0.1");
        assert_eq!(g("169.254.169.254").name, METADATA_GROUP);
        assert_eq!(g("8.8.8.8").name, EXTERNAL_GROUP);
        assert_eq!(g("2001:db8::1").name, EXTERNAL_GROUP);
        assert_eq!(g("fd00::1").name, "fd00::1");
    }

    #[test]
    fn workload_labels_win_over_addresses() {
        let mut web = def("web", &["10.1.0.0/16"]);
        web.namespace = Some("shop".into());
        web.pod_labels.insert("app".into(), "web".into());
        let r = GroupResolver::new(&[web], &ClusterConfig::default()).unwrap();
        let mut w = Workload {
            namespace: "shop".into(),
            pod: Some("web-7f9c".into()),
            labels: BTreeMap::from([("app".into(), "web".into())]),
        };
        let ip = "10.9.9.9".parse().unwrap();
        assert_eq!(r.resolve(ip, Some(&w)).name, "web");
        w.labels.insert("app".into(), "cart".into());
        w.labels.insert("pci".into(), "true".into());
        let got = r.resolve(ip, Some(&w));
        assert_eq!((got.name.as_str(), got.pci), ("shop/cart", true));
    }

    #[test]
    fn bad_groups_are_refused() {
        let c = ClusterConfig::default();
        assert!(GroupResolver::new(&[def("a", &["10.0.0.0/33"])], &c).is_err());
        assert!(GroupResolver::new(&[def("a", &["nope"])], &c).is_err());
        assert!(GroupResolver::new(&[def("a", &[]), def("a", &[])], &c).is_err());
        assert!(GroupResolver::new(&[def(EXTERNAL_GROUP, &[])], &c).is_err());
        let bad = ClusterConfig {
            dns: vec!["10.0.0.0/8".into()],
            ..ClusterConfig::default()
        };
        assert!(GroupResolver::new(&[], &bad).is_err());
    }
}
