//! The real eframe/glow window on the synthetic benchmark case (2,000
//! workloads, 100,000 flows), repainting continuously: prints frame-time
//! percentiles, then closes. Run under Xvfb for Mesa's software renderer
//! (`bench/gui.sh`):
//!
//! - `cpu`: eframe's own frame time (`Frame::info().cpu_usage`: UI pass,
//!   tessellation and GL painting, without the buffer swap);
//! - `wall`: time between frames (everything, swap and rasterisation
//!   included; no vsync under Xvfb);
//! - base layer pictures: how many the worker thread delivered in each
//!   kind of frame and how long it took for each (`graph/base.rs`).
//!
//! Four kinds of frame, in this order: while the layout settles, settled
//! (300 frames), then a pan gesture and a zoom gesture (200 frames each,
//! the view changed in every frame as a user's drag or wheel would: 6
//! points sideways, back and forth; 1.5% about the canvas centre, in then
//! out).
//!
//! `OSPREY_BENCH_EMPTY=1` draws an empty window instead (the floor: clear,
//! swap and the copy to the X server). `OSPREY_BENCH_SETTLE=1` settles the
//! layout before the window opens (no settling frames are measured).

#[path = "../benches/synthetic.rs"]
mod synthetic;

use eframe::egui;
use osprey_ui::OspreyApp;
use std::sync::Arc;
use std::time::Instant;

const SETTLED_FRAMES: usize = 300;
/// Frames of each gesture.
const GESTURE_FRAMES: usize = 200;
/// Frames a gesture goes one way before it turns back.
const GESTURE_LEG: usize = 50;
/// Pan per frame, in points.
const PAN_STEP: f32 = 6.0;
/// Zoom factor per frame.
const ZOOM_STEP: f32 = 1.015;

/// What a frame shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Settling = 0,
    Settled = 1,
    Pan = 2,
    Zoom = 3,
}

const KINDS: [(Kind, &str); 4] = [
    (Kind::Settling, "settling"),
    (Kind::Settled, "settled"),
    (Kind::Pan, "pan"),
    (Kind::Zoom, "zoom"),
];

struct Bench {
    app: OspreyApp,
    cpu: [Vec<f64>; 4],
    wall: [Vec<f64>; 4],
    /// The worker's time for each base-layer picture shown, by kind.
    raster: [Vec<f64>; 4],
    /// Pictures shown so far.
    pictures: u64,
    /// Start and kind of the previous frame.
    last: Option<(Instant, Kind)>,
    frames: usize,
    empty: bool,
}

fn report(name: &str, noun: &str, v: &mut [f64]) {
    v.sort_by(f64::total_cmp);
    let p = |q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "{name}: {} {noun}, p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
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
        let kind = self.kind();
        self.frames += 1;
        // Both figures are the previous frame's: count them in its kind
        // (the frame in which the layout settles still moved it).
        if let Some((t, prev)) = self.last.filter(|_| self.frames > 5) {
            if let Some(c) = frame.info().cpu_usage {
                self.cpu[prev as usize].push(f64::from(c) * 1e3);
            }
            self.wall[prev as usize].push(t.elapsed().as_secs_f64() * 1e3);
        }
        self.last = Some((Instant::now(), kind));
        let stats = self.app.state().graph.view.base_stats();
        if stats.pictures != self.pictures {
            self.pictures = stats.pictures;
            self.raster[kind as usize].push(stats.last.as_secs_f64() * 1e3);
        }
        if !self.empty {
            self.gesture(kind);
        }
        if self.empty {
            egui::CentralPanel::default().show(ui, |ui| ui.label("empty"));
        } else {
            self.app.ui(ui);
        }
        ui.ctx().request_repaint();
        let done = if self.empty {
            self.wall[Kind::Settled as usize].len() == SETTLED_FRAMES
        } else {
            self.wall[Kind::Zoom as usize].len() == GESTURE_FRAMES || self.frames == 10_000
        };
        if done {
            for (v, what, noun) in [
                (&mut self.cpu, "cpu", "frames"),
                (&mut self.wall, "wall", "frames"),
                (&mut self.raster, "base layer (worker)", "pictures"),
            ] {
                for (k, name) in KINDS {
                    report(&format!("{what}, {name}"), noun, &mut v[k as usize]);
                }
            }
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

impl Bench {
    /// The kind of the coming frame.
    fn kind(&self) -> Kind {
        let counted = |k: Kind| self.wall[k as usize].len();
        if !self.empty && !self.app.state().graph.view.layout.settled() {
            Kind::Settling
        } else if self.empty || counted(Kind::Settled) < SETTLED_FRAMES {
            Kind::Settled
        } else if counted(Kind::Pan) < GESTURE_FRAMES {
            Kind::Pan
        } else {
            Kind::Zoom
        }
    }

    /// Moves the view as a drag (pan) or the wheel (zoom) would.
    fn gesture(&mut self, kind: Kind) {
        let n = self.wall[kind as usize].len();
        let sign = if (n / GESTURE_LEG).is_multiple_of(2) {
            1.0
        } else {
            -1.0
        };
        let view = &mut self.app.state_mut().graph.view;
        match kind {
            Kind::Pan => {
                view.auto_fit = false;
                view.pan.x += sign * PAN_STEP;
            }
            Kind::Zoom => {
                view.auto_fit = false;
                let f = ZOOM_STEP.powf(sign);
                view.zoom *= f;
                view.pan *= f;
            }
            Kind::Settling | Kind::Settled => {}
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
                cpu: Default::default(),
                wall: Default::default(),
                raster: Default::default(),
                pictures: 0,
                last: None,
                frames: 0,
                empty: std::env::var_os("OSPREY_BENCH_EMPTY").is_some(),
            }))
        }),
    )
}
