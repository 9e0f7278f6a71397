//! The connection graph: workloads as nodes, conversations as edges, over
//! a petgraph `StableGraph` so indices stay valid as the graph grows.
//!
//! A node is a workload when the case names it (live capture writes who
//! held each address, see `flow_workloads`): `namespace/pod`, grouped by
//! its Kubernetes namespace. Otherwise a node is an endpoint address,
//! grouped by network: private IPv4 addresses by their /24 (one node's pod
//! CIDR in Kubernetes), other private ranges by prefix, and everything
//! else as "external".

use osprey_analysis::filter::FlowAlerts;
use osprey_analysis::store::query::{FlowSummary, FlowWorkloads, Workload};
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableUnGraph};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

/// Workload names of flows' endpoints, by flow id.
pub type FlowNames = HashMap<u64, FlowWorkloads>;

/// What a node stands for (its icon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// A named workload (pod or network namespace).
    Pod,
    /// A private address without a name.
    Internal,
    /// A public address.
    External,
}

/// A workload.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeData {
    /// `namespace/pod` for a named workload, else the address.
    pub label: String,
    /// Group: the Kubernetes namespace of a workload, else the network.
    pub group: String,
    /// What it is.
    pub kind: NodeKind,
    /// Addresses seen for it.
    pub addrs: BTreeSet<String>,
    /// Flows touching it.
    pub flows: u64,
    /// Packets, both directions.
    pub packets: u64,
    /// Bytes, both directions.
    pub bytes: u64,
    /// Most severe alert of its flows (1 high … 3 low).
    pub severity: Option<u8>,
}

/// A conversation between two workloads.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeData {
    /// Flow ids.
    pub flows: Vec<u64>,
    /// Bytes, both directions.
    pub bytes: u64,
    /// Packets, both directions.
    pub packets: u64,
    /// Application protocols seen.
    pub apps: BTreeSet<String>,
    /// Most severe alert of its flows.
    pub severity: Option<u8>,
}

impl EdgeData {
    /// "http, dns" or the transport when nothing was identified.
    pub fn label(&self) -> String {
        let apps: Vec<&str> = self.apps.iter().map(String::as_str).collect();
        apps.join(", ")
    }
}

/// Group name of an address.
pub fn group_of(addr: &str) -> String {
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) if a.is_private() || a.is_loopback() || a.is_link_local() => {
            let o = a.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(IpAddr::V6(a)) if (a.segments()[0] & 0xfe00) == 0xfc00 || a.is_loopback() => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        _ => "external".to_string(),
    }
}

/// Group of a named workload: its Kubernetes namespace.
pub const NETNS_GROUP: &str = "(netns)";

/// Node name and group of a named workload.
fn workload_key(w: &Workload) -> (String, String) {
    match &w.namespace {
        Some(ns) => (format!("{ns}/{}", w.name), ns.clone()),
        None => (w.name.clone(), NETNS_GROUP.to_string()),
    }
}

/// Nodes and edges built from flows.
#[derive(Default)]
pub struct GraphModel {
    /// The graph.
    pub graph: StableUnGraph<NodeData, EdgeData>,
    nodes: HashMap<String, NodeIndex>,
    edges: HashMap<(NodeIndex, NodeIndex), EdgeIndex>,
    by_bytes: Vec<EdgeIndex>,
    revision: u64,
}

fn merge_sev(a: Option<u8>, b: Option<u8>) -> Option<u8> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

impl GraphModel {
    /// The graph of the flows overlapping `window` (all when `None`);
    /// endpoints named in `names` become workload nodes.
    pub fn build(
        flows: &[FlowSummary],
        alerts: &FlowAlerts,
        names: &FlowNames,
        window: Option<(i64, i64)>,
    ) -> Self {
        let mut m = GraphModel::default();
        for f in flows {
            if let Some((a, b)) = window {
                if f.end_ns < a || f.start_ns > b {
                    continue;
                }
            }
            let w = names.get(&f.id);
            m.add_flow(
                f,
                alerts.severity(f.id),
                w.and_then(|w| w.src.as_ref()),
                w.and_then(|w| w.dest.as_ref()),
            );
        }
        let g = &m.graph;
        m.by_bytes = g.edge_indices().collect();
        m.by_bytes.sort_by_key(|e| {
            let d = g.edge_weight(*e);
            (std::cmp::Reverse(d.map_or(0, |d| d.bytes)), e.index())
        });
        m
    }

    /// Every edge, heaviest (bytes) first; `None` when flows were added
    /// after [`GraphModel::build`] (not ranked).
    pub fn ranked_edges(&self) -> Option<&[EdgeIndex]> {
        (self.by_bytes.len() == self.graph.edge_count()).then_some(self.by_bytes.as_slice())
    }

    /// Node of an address (of `workload` when named), created when new.
    fn node(&mut self, addr: &str, workload: Option<&Workload>) -> NodeIndex {
        let (key, group, kind) = match workload {
            Some(w) => {
                let (k, g) = workload_key(w);
                (k, g, NodeKind::Pod)
            }
            None => {
                let g = group_of(addr);
                let kind = if g == "external" {
                    NodeKind::External
                } else {
                    NodeKind::Internal
                };
                (addr.to_string(), g, kind)
            }
        };
        if let Some(i) = self.nodes.get(&key) {
            if let Some(d) = self.graph.node_weight_mut(*i) {
                if !d.addrs.contains(addr) {
                    d.addrs.insert(addr.to_string());
                }
            }
            return *i;
        }
        let i = self.graph.add_node(NodeData {
            label: key.clone(),
            group,
            kind,
            addrs: BTreeSet::from([addr.to_string()]),
            flows: 0,
            packets: 0,
            bytes: 0,
            severity: None,
        });
        self.nodes.insert(key, i);
        i
    }

    /// Adds one flow, its endpoints named by their workloads when known.
    pub fn add_flow(
        &mut self,
        f: &FlowSummary,
        severity: Option<u8>,
        src: Option<&Workload>,
        dest: Option<&Workload>,
    ) {
        self.revision = super::next_revision();
        let a = self.node(&f.src_ip, src);
        let b = self.node(&f.dest_ip, dest);
        let bytes = f.bytes_toserver + f.bytes_toclient;
        let packets = f.pkts_toserver + f.pkts_toclient;
        for n in [a, b] {
            if let Some(d) = self.graph.node_weight_mut(n) {
                d.flows += 1;
                d.bytes += bytes;
                d.packets += packets;
                d.severity = merge_sev(d.severity, severity);
            }
        }
        let key = (a.min(b), a.max(b));
        let e = match self.edges.get(&key) {
            Some(e) => *e,
            None => {
                let e = self.graph.add_edge(
                    key.0,
                    key.1,
                    EdgeData {
                        flows: Vec::new(),
                        bytes: 0,
                        packets: 0,
                        apps: BTreeSet::new(),
                        severity: None,
                    },
                );
                self.edges.insert(key, e);
                e
            }
        };
        if let Some(d) = self.graph.edge_weight_mut(e) {
            d.flows.push(f.id);
            d.bytes += bytes;
            d.packets += packets;
            let app = if f.app_proto.is_empty() || f.app_proto == "failed" {
                osprey_analysis::eve::proto_name(f.proto).to_ascii_lowercase()
            } else {
                f.app_proto.clone()
            };
            d.apps.insert(app);
            d.severity = merge_sev(d.severity, severity);
        }
    }

    /// Changes with every flow added (a rebuilt model has a new one).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Node by label (workload name or address).
    pub fn find(&self, label: &str) -> Option<NodeIndex> {
        self.nodes.get(label).copied()
    }

    /// Nodes whose name or one of whose addresses contains `needle`
    /// (case-insensitive), sorted by label.
    pub fn search(&self, needle: &str) -> Vec<NodeIndex> {
        let n = needle.trim().to_ascii_lowercase();
        if n.is_empty() {
            return Vec::new();
        }
        let hit = |s: &str| s.to_ascii_lowercase().contains(&n);
        let mut hits: Vec<(String, NodeIndex)> = self
            .nodes
            .iter()
            .filter(|(k, i)| {
                hit(k)
                    || self
                        .graph
                        .node_weight(**i)
                        .is_some_and(|d| d.addrs.iter().any(|a| hit(a)))
            })
            .map(|(k, i)| (k.clone(), *i))
            .collect();
        hits.sort();
        hits.into_iter().map(|(_, i)| i).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: u64, a: &str, b: &str, app: &str, start: i64) -> FlowSummary {
        FlowSummary {
            app_proto: app.into(),
            bytes_toserver: 10,
            bytes_toclient: 20,
            start_ns: start,
            end_ns: start + 5,
            ..super::super::test_flow(id, a, b)
        }
    }

    #[test]
    fn nodes_edges_and_windows() {
        let flows = vec![
            flow(1, "10.0.0.1", "10.0.0.2", "http", 0),
            flow(2, "10.0.0.2", "10.0.0.1", "", 100),
            flow(3, "10.0.0.1", "8.8.8.8", "dns", 200),
        ];
        let none = FlowNames::default();
        let m = GraphModel::build(&flows, &FlowAlerts::default(), &none, None);
        assert_eq!(m.graph.node_count(), 3);
        assert_eq!(m.graph.edge_count(), 2);
        let (a, b) = (m.find("10.0.0.1"), m.find("10.0.0.2"));
        let e = a.zip(b).and_then(|(a, b)| m.graph.find_edge(a, b));
        let d = e.and_then(|e| m.graph.edge_weight(e)).cloned();
        assert_eq!(d.as_ref().map(|d| d.flows.clone()), Some(vec![1, 2]));
        assert_eq!(d.map(|d| d.label()), Some("http, tcp".to_string()));
        assert_eq!(group_of("8.8.8.8"), "external");
        assert_eq!(group_of("10.244.1.7"), "10.244.1.0/24");
        let w = GraphModel::build(&flows, &FlowAlerts::default(), &none, Some((90, 150)));
        assert_eq!(w.graph.node_count(), 2);
        assert_eq!(m.search("8.8").len(), 1);
        assert_eq!(
            m.find("8.8.8.8")
                .and_then(|n| m.graph.node_weight(n))
                .map(|d| d.kind),
            Some(NodeKind::External)
        );
    }

    #[test]
    fn named_endpoints_are_workload_nodes_grouped_by_namespace() {
        let flows = vec![
            flow(1, "10.0.0.1", "10.0.0.2", "http", 0),
            flow(2, "10.0.0.3", "10.0.0.2", "http", 10),
            flow(3, "10.0.0.1", "8.8.8.8", "dns", 20),
        ];
        let pod = |ns: &str, name: &str| Workload {
            name: name.into(),
            namespace: Some(ns.into()),
        };
        let mut names = FlowNames::default();
        for (id, src, dest) in [
            (1, pod("shop", "web"), Some(pod("shop", "db"))),
            // A second replica address of the same pod name is one node.
            (2, pod("shop", "web"), Some(pod("shop", "db"))),
            (3, pod("shop", "web"), None),
        ] {
            names.insert(
                id,
                FlowWorkloads {
                    flow_id: id,
                    src: Some(src),
                    dest,
                },
            );
        }
        let m = GraphModel::build(&flows, &FlowAlerts::default(), &names, None);
        assert_eq!(m.graph.node_count(), 3);
        let web = m.find("shop/web").and_then(|n| m.graph.node_weight(n));
        assert_eq!(web.map(|d| d.group.as_str()), Some("shop"));
        assert_eq!(web.map(|d| d.kind), Some(NodeKind::Pod));
        assert_eq!(web.map(|d| d.addrs.len()), Some(2));
        assert!(m.find("10.0.0.1").is_none());
        assert!(m.find("8.8.8.8").is_some());
        // An address still finds its workload.
        assert_eq!(
            m.search("10.0.0.3"),
            m.find("shop/web").into_iter().collect::<Vec<_>>()
        );
    }
}
