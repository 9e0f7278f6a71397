//! Osprey's desktop GUI (egui/eframe). Not built yet: the connection graph,
//! tables, drill-down and export views are issue #6. The crate exists now so
//! the workspace keeps its final shape (`capture` ← `analysis` ← `ui` ← `src`).
