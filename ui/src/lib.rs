//! Osprey's desktop GUI (egui/eframe): the connection graph, flows and
//! alerts tables, statistics, drill-down to packets, layers, hex and the
//! reassembled stream, and evidence export.
//!
//! Threads: the UI thread only draws. A worker thread (`worker`) owns the
//! case database and every file: it turns captures into cases with the
//! analysis pipeline, answers drill-down queries and exports. They talk over
//! bounded channels (`command`); the worker wakes the UI with
//! `request_repaint`. `ui` never reads pcap or writes SQLite itself: it goes
//! through `osprey_analysis`.

pub mod app;
pub mod command;
pub mod graph;
pub mod icons;
pub mod live;
pub mod panels;
pub mod state;
pub mod theme;
pub mod worker;

pub use app::OspreyApp;

/// True when a display server looks reachable.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
}

/// The window: 1280×800, MSAA, depth and stencil buffers off (egui's
/// defaults, which the benchmark relies on: `examples/synthetic_frames.rs`
/// opens the same window).
pub fn native_options() -> eframe::NativeOptions {
    eframe::NativeOptions {
        viewport: eframe::egui::ViewportBuilder::default()
            .with_title("Osprey")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([900.0, 600.0])
            .with_drag_and_drop(true),
        ..Default::default()
    }
}

/// Opens the GUI window (blocks until it is closed), on `open` and, when
/// given, drilled into alert `alert`.
pub fn run(open: Option<std::path::PathBuf>, alert: Option<u64>) -> Result<(), eframe::Error> {
    eframe::run_native(
        "Osprey",
        native_options(),
        Box::new(move |_cc| {
            let app = OspreyApp::new(open);
            Ok(Box::new(match alert {
                Some(id) => app.with_alert(id),
                None => app,
            }))
        }),
    )
}
