//! The real eframe/glow window on the synthetic benchmark case (2,000
//! workloads, 100,000 flows), repainting continuously: prints frame-time
//! percentiles, then closes. Run under Xvfb for Mesa's software renderer
//! (`bench/gui.sh`):
//!
//! - `cpu`: eframe's own frame time (`Frame::info().cpu_usage`: UI pass,
//!   tessellation and GL painting, without the buffer swap);
//! - `wall`: time between frames (everything, swap and rasterisation
//!   included; no vsync under Xvfb).
//!
//! `OSPREY_BENCH_EMPTY=1` draws an empty window instead (the floor: clear,
//! swap and the copy to the X server). `OSPREY_BENCH_SETTLE=1` settles the
//! layout before the window opens (only settled frames are measured).

#[path = "../benches/synthetic.rs"]
mod synthetic;

use eframe::egui;
use osprey_ui::OspreyApp;
use std::sync::Arc;
use std::time::Instant;

const SETTLED_FRAMES: usize = 300;

struct Bench {
    app: OspreyApp,
    cpu: [Vec<f64>; 2],
    wall: [Vec<f64>; 2],
    /// Start and kind (settled or not) of the previous frame.
    last: Option<(Instant, usize)>,
    frames: usize,
    empty: bool,
}

fn report(name: &str, v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
    let p = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{name}: {} frames, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        v.len(),
        p(0.5),
        p(0.95),
        p(0.99),
        p(1.0)
    );
}

impl eframe::App for Bench {
    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        eframe::App::clear_color(&self.app, visuals)
    }

    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let k = usize::from(self.empty || self.app.state().graph.view.layout.settled());
        self.frames += 1;
        // Both figures are the previous frame's: count them in its kind
        // (the frame in which the layout settles still moved it).
        if let Some((t, prev)) = self.last.filter(|_| self.frames > 5) {
            if let Some(c) = frame.info().cpu_usage {
                self.cpu[prev].push(f64::from(c) * 1e3);
            }
            self.wall[prev].push(t.elapsed().as_secs_f64() * 1e3);
        }
        self.last = Some((Instant::now(), k));
        if self.empty {
            egui::CentralPanel::default().show(ui, |ui| ui.label("empty"));
        } else {
            self.app.ui(ui);
        }
        ui.ctx().request_repaint();
        let done = self.wall[1].len() == SETTLED_FRAMES || self.frames == 5_000;
        if done {
            report("cpu, settling", &mut self.cpu[0]);
            report("cpu, settled", &mut self.cpu[1]);
            report("wall, settling", &mut self.wall[0]);
            report("wall, settled", &mut self.wall[1]);
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

fn main() -> Result<(), eframe::Error> {
    let mut app = OspreyApp::new(None);
    app.state_mut().set_case(Arc::new(synthetic::synthetic()));
    if std::env::var_os("OSPREY_BENCH_SETTLE").is_some() {
        let g = &mut app.state_mut().graph;
        while !g.view.layout.settled() {
            g.view.layout.step(&g.model, 1);
        }
    }
    eframe::run_native(
        "Osprey synthetic frames",
        osprey_ui::native_options(),
        Box::new(move |_cc| {
            Ok(Box::new(Bench {
                app,
                cpu: [Vec::new(), Vec::new()],
                wall: [Vec::new(), Vec::new()],
                last: None,
                frames: 0,
                empty: std::env::var_os("OSPREY_BENCH_EMPTY").is_some(),
            }))
        }),
    )
}
