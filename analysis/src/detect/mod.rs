//! Detection: attacks, anomalies, cleartext credentials and sensitive
//! data, from the facts the engine already has — decode anomalies, flow
//! state, TCP headers and the DPI parsers' typed records.
//!
//! - [`rules`]: thresholds, windows, signatures and severities as data
//!   (`assets/rules/default.toml`, overridable).
//! - [`window`]: bounded per-key windows.
//! - [`engine`]: the [`Detector`] the pipeline feeds.
//! - [`alert`]: the [`Alert`]s it produces.
//! - [`content`]: pure detectors over request inputs, queries, payloads
//!   and DNS names (SQL injection, XSS, code injection, card numbers and
//!   SSNs, tunnel features).

pub mod alert;
mod app;
pub mod content;
pub mod engine;
mod payload;
pub mod rules;
pub mod window;

pub use alert::{Alert, Category, Side};
pub use engine::{Detector, FlowEnd, FlowFacts, PacketFacts};
pub use rules::{RuleError, RuleSet};
