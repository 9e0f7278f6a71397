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
