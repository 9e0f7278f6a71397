//! Bidirectional flows: keys, the flow table with its caps and timeouts, and
//! per-direction TCP stream reassembly.

pub mod key;
pub mod table;
pub mod tcp_reasm;

pub use key::{Direction, Endpoint, FlowKey, PacketKey};
pub use table::{EndReason, Flow, FlowConfig, FlowStats, FlowTable, TcpState};
