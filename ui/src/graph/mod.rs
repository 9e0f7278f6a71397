//! The connection graph: `model` (petgraph), `layout` (forces), `draw`
//! (painter and input).

pub mod draw;
pub mod layout;
pub mod model;
