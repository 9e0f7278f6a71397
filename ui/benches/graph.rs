//! Frame-time benchmark of the GUI on a synthetic case: 2,000 workloads
//! and 100,000 flows, 1280×800, graph view. Each frame is the full egui
//! pass (layout step within its budget, graph painting, panels) plus
//! tessellation into meshes, i.e. the CPU work of a frame before the GPU
//! (or Mesa's software rasterizer) draws the meshes.
//!
//! `cargo bench -p osprey-ui --bench graph` prints p50/p95/p99/max for the
//! frames while the layout settles and for settled frames.

mod synthetic;

use eframe::egui;
use osprey_ui::OspreyApp;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synthetic::{synthetic, FLOWS};

fn pct(v: &mut [Duration], p: f64) -> f64 {
    v.sort_unstable();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

fn report(name: &str, v: &mut [Duration]) {
    if v.is_empty() {
        println!("{name}: no frames");
        return;
    }
    println!(
        "{name}: {} frames, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        v.len(),
        pct(v, 0.50),
        pct(v, 0.95),
        pct(v, 0.99),
        pct(v, 1.0)
    );
}

fn main() {
    let t0 = Instant::now();
    let case = Arc::new(synthetic());
    let mut app = OspreyApp::new(None);
    app.state_mut().set_case(case);
    let g = &app.state().graph.model.graph;
    println!(
        "synthetic case: {} nodes, {} edges, {} flows (model built in {:.0} ms)",
        g.node_count(),
        g.edge_count(),
        FLOWS,
        t0.elapsed().as_secs_f64() * 1e3
    );
    let ctx = egui::Context::default();
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 800.0));
    let mut settling = Vec::new();
    let mut settled = Vec::new();
    let mut tris = 0usize;
    for frame in 0..1_500u32 {
        let raw = egui::RawInput {
            screen_rect: Some(screen),
            time: Some(f64::from(frame) / 60.0),
            ..Default::default()
        };
        let was_settled = app.state().graph.view.layout.settled();
        let t = Instant::now();
        let out = ctx.run_ui(raw, |ui| app.ui(ui));
        let prims = ctx.tessellate(out.shapes, out.pixels_per_point);
        let mut textures = out.textures_delta;
        // Nothing renders here: font atlas updates are dropped.
        textures.clear();
        let dt = t.elapsed();
        tris = prims
            .iter()
            .map(|p| match &p.primitive {
                egui::epaint::Primitive::Mesh(m) => m.indices.len() / 3,
                _ => 0,
            })
            .sum();
        if frame < 5 {
            continue; // fonts and caches warm up
        }
        if was_settled {
            settled.push(dt);
            if settled.len() >= 600 {
                break;
            }
        } else {
            settling.push(dt);
        }
    }
    report("frames while the layout settles", &mut settling);
    report("frames once settled", &mut settled);
    println!("triangles in the last frame: {tris}");
}
