//! Detection: attacks, anomalies, cleartext credentials and sensitive
//! data, from the facts the engine already has — decode anomalies, flow
//! state, TCP headers and the DPI parsers' typed records.
//!
//! - [`rules`]: thresholds, windows, signatures and severities as data
//!   (`assets/rules/default.toml`, overridable).
//! - [`window`]: bounded per-key windows.
//! - [`engine`]: the [`Detector`] the pipeline feeds.
//! - [`alert`]: the [`Alert`]s it produces.

pub mod alert;
mod app;
pub mod engine;
pub mod rules;
pub mod window;

pub use alert::{Alert, Category, Side};
pub use engine::{Detector, FlowEnd, FlowFacts, PacketFacts};
pub use rules::{RuleError, RuleSet};
