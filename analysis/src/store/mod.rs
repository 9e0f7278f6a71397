//! The case store: one SQLite database per case (WAL, batched
//! transactions) plus the EVE JSON lines file, both written by one thread
//! that owns the connection.
//!
//! A case is built under temporary names and renamed into place only when
//! ingest succeeds, so a failed run never leaves a case that looks complete.

mod eve_out;
pub mod live_rows;
pub mod query;
pub mod schema;
pub mod writer;

use crate::decode::meta::TunnelKind;

pub use query::{CaseReader, FlowSummary, PacketLocation};
pub use writer::{Batch, CaptureRow, StoreMsg, StoreSummary, StoreWriter};

/// Errors of the case store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("case database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Writing the EVE file or moving case files failed.
    #[error("case files: {0}")]
    Io(#[from] std::io::Error),
    /// The database is not an Osprey case.
    #[error("not an Osprey case database: {0}")]
    NotACase(String),
}

/// Name of a tunnel kind in the case store and EVE.
pub fn tunnel_name(kind: TunnelKind) -> &'static str {
    match kind {
        TunnelKind::Vxlan => "vxlan",
        TunnelKind::Geneve => "geneve",
        TunnelKind::Gre => "gre",
        TunnelKind::IpInIp => "ipip",
    }
}
