//! The verdict on one flow: allowed by an edge, or a violation with its
//! reason and severity.
//!
//! A flow no edge allows is a violation when the policy's default is
//! `deny`. Whatever the default, these built-in checks make it one too,
//! with their own reason (first match wins) and high severity:
//! - `cloud_metadata`: a workload reaching 169.254.169.254;
//! - `k8s_api_server`: reaching an API server address (`cluster.api_server`);
//! - `k8s_kubelet`: reaching a node's kubelet port (`cluster.nodes`);
//! - `dns_resolver` (medium): DNS (identified, or UDP to 53) to a server
//!   other than the cluster's resolvers (`cluster.dns`, when set);
//! - `pci_segmentation`: a PCI group (`pci: true`) and a non-PCI group.
//!
//! Otherwise the reason is `new_edge` (or `app_proto_mismatch` when the
//! edge exists for another application protocol), at the rule's severity.
//! Separately, [`PolicyChecker::card_data`] judges a cleartext card number
//! sent from a PCI group to a non-PCI one (`pci_card_data`, high).

use super::groups::{GroupResolver, Resolved, Workload, EXTERNAL_GROUP, METADATA_GROUP};
use super::{has_ports, proto_name, proto_number, DefaultAction, Policy, PolicyError};
use std::collections::HashMap;
use std::net::IpAddr;

/// Why a flow is a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// No edge allows it.
    NewEdge,
    /// The edge exists, for another application protocol.
    AppProtoMismatch,
    /// PCI and non-PCI groups.
    PciSegmentation,
    /// Cleartext card numbers leaving a PCI group.
    PciCardData,
    /// The Kubernetes API server.
    K8sApiServer,
    /// A node's kubelet.
    K8sKubelet,
    /// The cloud metadata address.
    CloudMetadata,
    /// DNS to a resolver other than the cluster's.
    DnsResolver,
}

impl Reason {
    /// The name in alert metadata and reports.
    pub fn name(self) -> &'static str {
        match self {
            Reason::NewEdge => "new_edge",
            Reason::AppProtoMismatch => "app_proto_mismatch",
            Reason::PciSegmentation => "pci_segmentation",
            Reason::PciCardData => "pci_card_data",
            Reason::K8sApiServer => "k8s_api_server",
            Reason::K8sKubelet => "k8s_kubelet",
            Reason::CloudMetadata => "cloud_metadata",
            Reason::DnsResolver => "dns_resolver",
        }
    }

    /// Severity this reason forces (1 high, 2 medium), when it forces one.
    pub fn severity(self) -> Option<u8> {
        match self {
            Reason::NewEdge | Reason::AppProtoMismatch => None,
            Reason::DnsResolver => Some(2),
            _ => Some(1),
        }
    }
}

/// The facts of a flow the checker needs.
#[derive(Debug, Clone, Copy)]
pub struct FlowView<'a> {
    /// Client address.
    pub client: IpAddr,
    /// Server address.
    pub server: IpAddr,
    /// IP protocol.
    pub proto: u8,
    /// Server port (ignored for protocols without ports).
    pub server_port: u16,
    /// Identified application protocol (`unknown`, empty or `failed` when
    /// none).
    pub app_proto: &'a str,
    /// Client workload, when the capture knows it.
    pub client_workload: Option<&'a Workload>,
    /// Server workload.
    pub server_workload: Option<&'a Workload>,
}

/// A violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Why.
    pub reason: Reason,
    /// Client group.
    pub from: String,
    /// Server group.
    pub to: String,
    /// Policy protocol name (empty when unknown).
    pub proto: String,
    /// Server port.
    pub port: Option<u16>,
    /// Application protocol (empty when none).
    pub app_proto: String,
}

impl Violation {
    /// Alert metadata (`reason`, `src_group`, `dest_group`, and `proto`,
    /// `port`, `app_proto` when known).
    pub fn metadata(&self) -> Vec<(&'static str, String)> {
        let mut m = vec![
            ("reason", self.reason.name().to_string()),
            ("src_group", self.from.clone()),
            ("dest_group", self.to.clone()),
        ];
        if !self.proto.is_empty() {
            m.push(("proto", self.proto.clone()));
        }
        if let Some(p) = self.port {
            m.push(("port", p.to_string()));
        }
        if !self.app_proto.is_empty() {
            m.push(("app_proto", self.app_proto.clone()));
        }
        m
    }
}

/// The application protocol when one was identified.
pub fn known_app(app: &str) -> Option<&str> {
    (!matches!(app, "" | "unknown" | "failed")).then_some(app)
}

type EdgeKey = (String, String, u8, Option<u16>);

/// Judges flows against a policy. See the module docs.
#[derive(Debug)]
pub struct PolicyChecker {
    default: DefaultAction,
    resolver: GroupResolver,
    /// Edge key → allowed application protocols (`None`: any).
    edges: HashMap<EdgeKey, Vec<Option<String>>>,
}

impl PolicyChecker {
    /// A checker for `policy`; refuses edges with an unknown protocol or
    /// group (a typo would otherwise allow nothing, silently).
    pub fn new(policy: Policy) -> Result<PolicyChecker, PolicyError> {
        let resolver = GroupResolver::new(&policy.groups, &policy.cluster)?;
        let mut edges: HashMap<EdgeKey, Vec<Option<String>>> = HashMap::new();
        for e in &policy.edges {
            let Some(proto) = proto_number(&e.proto) else {
                return Err(PolicyError::Invalid(format!(
                    "edge {} -> {}: unknown protocol `{}`",
                    e.from, e.to, e.proto
                )));
            };
            for g in [&e.from, &e.to] {
                let known = policy.groups.iter().any(|d| &d.name == g)
                    || g == EXTERNAL_GROUP
                    || g == METADATA_GROUP
                    || g.parse::<IpAddr>().is_ok()
                    || g.contains('/');
                if !known {
                    return Err(PolicyError::Invalid(format!(
                        "edge {} -> {}: `{g}` is not a group, an address, `{EXTERNAL_GROUP}`, `{METADATA_GROUP}` or NAMESPACE/APP",
                        e.from, e.to
                    )));
                }
            }
            let port = e.port.filter(|_| has_ports(proto));
            edges
                .entry((e.from.clone(), e.to.clone(), proto, port))
                .or_default()
                .push(e.app_proto.clone());
        }
        Ok(PolicyChecker {
            default: policy.default,
            resolver,
            edges,
        })
    }

    /// The verdict on a flow: `None` when allowed.
    pub fn check_flow(&self, f: &FlowView<'_>) -> Option<Violation> {
        let from = self.resolver.resolve(f.client, f.client_workload);
        let to = self.resolver.resolve(f.server, f.server_workload);
        let port = has_ports(f.proto).then_some(f.server_port);
        let app = known_app(f.app_proto);
        let key = (from.name.clone(), to.name.clone(), f.proto, port);
        let reason = match self.edges.get(&key) {
            Some(apps) => {
                let ok = app.is_none() || apps.iter().any(|a| a.is_none() || a.as_deref() == app);
                if ok {
                    return None;
                }
                Reason::AppProtoMismatch
            }
            None => match self.builtin(f, &from, &to, port, app) {
                Some(r) => r,
                None if self.default == DefaultAction::Deny => Reason::NewEdge,
                None => return None,
            },
        };
        Some(Violation {
            reason,
            from: from.name,
            to: to.name,
            proto: proto_name(f.proto),
            port,
            app_proto: app.unwrap_or_default().to_string(),
        })
    }

    fn builtin(
        &self,
        f: &FlowView<'_>,
        from: &Resolved,
        to: &Resolved,
        port: Option<u16>,
        app: Option<&str>,
    ) -> Option<Reason> {
        let r = &self.resolver;
        // DNS: identified, or an unidentified UDP datagram to port 53 (a
        // bare TCP connection attempt to 53 is not DNS yet).
        let dns = app == Some("dns") || (app.is_none() && f.proto == 17 && port == Some(53));
        if to.name == METADATA_GROUP {
            Some(Reason::CloudMetadata)
        } else if r.is_api_server(f.server) {
            Some(Reason::K8sApiServer)
        } else if r.is_kubelet(f.server, port) {
            Some(Reason::K8sKubelet)
        } else if dns && !r.dns_servers().is_empty() && !r.dns_servers().contains(&f.server) {
            Some(Reason::DnsResolver)
        } else if from.pci != to.pci {
            Some(Reason::PciSegmentation)
        } else {
            None
        }
    }

    /// A cleartext card number sent by `src` to `dst`: a violation when
    /// it leaves a PCI group for a non-PCI one.
    pub fn card_data(&self, src: IpAddr, dst: IpAddr, proto: Option<u8>) -> Option<Violation> {
        let from = self.resolver.resolve(src, None);
        let to = self.resolver.resolve(dst, None);
        (from.pci && !to.pci).then(|| Violation {
            reason: Reason::PciCardData,
            from: from.name,
            to: to.name,
            proto: proto.map(proto_name).unwrap_or_default(),
            port: None,
            app_proto: String::new(),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const POLICY: &str = "
version: 1
groups:
  - {name: web, cidrs: [10.0.0.10]}
  - {name: client, cidrs: [10.0.0.30]}
  - {name: pay, cidrs: [10.0.0.50], labels: {pci: true}}
  - {name: dns, cidrs: [10.0.0.2]}
cluster:
  dns: [10.0.0.2]
  api_server: [10.96.0.1]
  nodes: [10.0.0.1]
edges:
  - {from: client, to: web, proto: tcp, port: 80, app_proto: http}
  - {from: client, to: dns, proto: udp, port: 53}
  - {from: web, to: pay, proto: tcp, port: 443}
  - {from: client, to: external, proto: udp, port: 53}
";

    fn flow(c: &str, s: &str, proto: u8, port: u16, app: &'static str) -> FlowView<'static> {
        FlowView {
            client: c.parse().unwrap(),
            server: s.parse().unwrap(),
            proto,
            server_port: port,
            app_proto: app,
            client_workload: None,
            server_workload: None,
        }
    }

    fn reason(ch: &PolicyChecker, f: FlowView<'_>) -> Option<&'static str> {
        ch.check_flow(&f).map(|v| v.reason.name())
    }

    #[test]
    fn edges_allow_and_everything_else_is_named() {
        let ch = PolicyChecker::new(serde_norway::from_str(POLICY).unwrap()).unwrap();
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.10", 6, 80, "http")),
            None
        );
        // No application protocol identified (a refused connection): allowed.
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.10", 6, 80, "unknown")),
            None
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.10", 6, 80, "ssh")),
            Some("app_proto_mismatch")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.10", 6, 8080, "http")),
            Some("new_edge")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.10", "10.0.0.50", 6, 443, "tls")),
            None
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.50", 6, 443, "tls")),
            Some("pci_segmentation")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.10", "169.254.169.254", 6, 80, "http")),
            Some("cloud_metadata")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.10", "10.96.0.1", 6, 443, "tls")),
            Some("k8s_api_server")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.10", "10.0.0.1", 6, 10250, "tls")),
            Some("k8s_kubelet")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.10", "10.0.0.1", 6, 22, "ssh")),
            Some("new_edge")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.10", "1.1.1.1", 17, 53, "dns")),
            Some("dns_resolver")
        );
        // An allowed external resolver stays allowed (explicit edge).
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "9.9.9.9", 17, 53, "dns")),
            None
        );
        // ICMP has no port.
        let v = ch
            .check_flow(&flow("10.0.0.30", "10.0.0.10", 1, 8, ""))
            .unwrap();
        assert_eq!((v.proto.as_str(), v.port), ("icmp", None));
    }

    #[test]
    fn default_allow_keeps_only_the_builtins() {
        let mut p: Policy = serde_norway::from_str(POLICY).unwrap();
        p.default = DefaultAction::Allow;
        let ch = PolicyChecker::new(p).unwrap();
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.10", 6, 8080, "http")),
            None
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "169.254.169.254", 6, 80, "http")),
            Some("cloud_metadata")
        );
        assert_eq!(
            reason(&ch, flow("10.0.0.30", "10.0.0.50", 6, 443, "tls")),
            Some("pci_segmentation")
        );
    }

    #[test]
    fn card_numbers_leaving_pci_are_violations() {
        let ch = PolicyChecker::new(serde_norway::from_str(POLICY).unwrap()).unwrap();
        let ip = |s: &str| s.parse().unwrap();
        let v = ch
            .card_data(ip("10.0.0.50"), ip("10.0.0.30"), Some(6))
            .unwrap();
        assert_eq!((v.reason, v.from.as_str()), (Reason::PciCardData, "pay"));
        assert!(ch
            .card_data(ip("10.0.0.30"), ip("10.0.0.50"), Some(6))
            .is_none());
        assert!(ch
            .card_data(ip("10.0.0.30"), ip("10.0.0.10"), Some(6))
            .is_none());
    }

    #[test]
    fn unknown_protocols_and_groups_are_refused() {
        let mut p: Policy = serde_norway::from_str(POLICY).unwrap();
        p.edges[0].proto = "carrier-pigeon".into();
        assert!(PolicyChecker::new(p).is_err());
        let mut p: Policy = serde_norway::from_str(POLICY).unwrap();
        p.edges[0].to = "wbe".into();
        let e = PolicyChecker::new(p).unwrap_err().to_string();
        assert!(e.contains("`wbe`"), "{e}");
        let mut p: Policy = serde_norway::from_str(POLICY).unwrap();
        p.edges[0].from = "10.9.9.9".into();
        p.edges[1].from = "shop/cart".into();
        assert!(PolicyChecker::new(p).is_ok());
    }
}
