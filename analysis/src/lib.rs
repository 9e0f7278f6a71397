//! Osprey's analysis engine: decode → flows and TCP reassembly → case store
//! and EVE output. The same engine serves offline analysis, the headless
//! recorder and the GUI; it never touches the UI and never captures (frames
//! come from `osprey-capture`).

#![forbid(unsafe_code)]

pub mod case_export;
pub mod community_id;
pub mod decode;
pub mod detect;
pub mod dissect;
pub mod dpi;
mod engine;
pub mod eve;
pub mod filter;
pub mod flow;
pub mod hash;
pub mod live;
pub mod memcap;
pub mod model;
pub mod pipeline;
pub mod policy;
pub mod preview;
mod stage;
pub mod store;
