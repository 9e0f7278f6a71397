//! The connection graph: `model` (petgraph), `layout` (forces), `draw`
//! (painter and input), `base` (the cached raster of edges and nodes).

pub mod base;
pub mod draw;
pub mod layout;
pub mod model;

use std::sync::atomic::{AtomicU64, Ordering};

/// A number never handed out before: models and layouts take a new one on
/// every change, so a cache keyed by them is never stale (even across a
/// replaced model or layout).
pub(crate) fn next_revision() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A one-packet-each-way TCP flow from `a` to `b` (tests).
#[cfg(test)]
pub(crate) fn test_flow(id: u64, a: &str, b: &str) -> osprey_analysis::store::query::FlowSummary {
    osprey_analysis::store::query::FlowSummary {
        id,
        community_id: String::new(),
        proto: 6,
        src_ip: a.into(),
        src_port: 1,
        dest_ip: b.into(),
        dest_port: 2,
        app_proto: String::new(),
        pkts_toserver: 1,
        pkts_toclient: 1,
        bytes_toserver: 1,
        bytes_toclient: 1,
        start_ns: 0,
        end_ns: 1,
        state: String::new(),
        vlan: None,
        tunnel: None,
    }
}
