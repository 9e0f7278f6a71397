//! The application shell: toolbar, view tabs, detail panel, status bar,
//! keyboard shortcuts, drag-and-drop, and the bridge to the worker.
//!
//! Each frame drains the worker's events without blocking, draws from the
//! view model, and sends the commands the panels queued.

use crate::command::{UiCommand, WorkerEvent};
use crate::graph::draw::GraphPick;
use crate::icons;
use crate::live::LiveBackend;
use crate::panels;
use crate::state::{AppState, Selected, View};
use crate::theme;
use crate::worker::WorkerHandle;
use eframe::egui::{self, Key, KeyboardShortcut, Modifiers, RichText};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Time the layout may take per frame.
const LAYOUT_BUDGET: Duration = Duration::from_millis(4);

type Shot = Arc<Mutex<Option<(Arc<egui::ColorImage>, egui::Rect, f32, PathBuf)>>>;

/// Osprey's GUI.
pub struct OspreyApp {
    state: AppState,
    worker: Option<WorkerHandle>,
    initial: Option<PathBuf>,
    applied_dark: Option<bool>,
    shot: Shot,
    error: Option<String>,
    pending_alert: Option<u64>,
    open_started: Option<Instant>,
    backend: Option<Arc<dyn LiveBackend>>,
}

impl OspreyApp {
    /// A new app; `open` is loaded at the first frame.
    pub fn new(open: Option<PathBuf>) -> Self {
        let mut state = AppState::default();
        if let Some(p) = &open {
            state.open_path = p.display().to_string();
        }
        OspreyApp {
            state,
            worker: None,
            initial: open,
            applied_dark: None,
            shot: Arc::new(Mutex::new(None)),
            error: None,
            pending_alert: None,
            open_started: None,
            backend: None,
        }
    }

    /// Takes live frames from `backend` instead of this machine's
    /// interfaces (tests); call before the first frame.
    pub fn with_live_backend(mut self, backend: Arc<dyn LiveBackend>) -> Self {
        self.backend = Some(backend);
        self
    }

    /// Opens on the alerts view with this alert drilled into once the
    /// case is loaded.
    pub fn with_alert(mut self, id: u64) -> Self {
        self.pending_alert = Some(id);
        self
    }

    /// The view model (tests read what the UI shows from here too).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The view model, mutable (benchmarks load synthetic cases).
    pub fn state_mut(&mut self) -> &mut AppState {
        &mut self.state
    }

    /// True while the worker has unanswered commands.
    pub fn busy(&self) -> bool {
        self.worker.as_ref().is_some_and(|w| w.pending() > 0) || !self.state.outbox.is_empty()
    }

    fn open(&mut self, path: PathBuf) {
        self.state.status = format!("opening {}...", path.display());
        self.state.open_path = path.display().to_string();
        self.state.progress = Some((0, 0, 0));
        self.open_started = Some(Instant::now());
        self.state.outbox.push(UiCommand::Open(path));
    }

    fn handle(&mut self, ev: WorkerEvent) {
        let st = &mut self.state;
        match ev {
            WorkerEvent::Progress {
                bytes_read,
                bytes_total,
                packets,
            } => st.progress = Some((bytes_read, bytes_total, packets)),
            WorkerEvent::Preview(case) => {
                if self.open_started.is_some() {
                    let n = case.flows.len();
                    st.set_case(case);
                    st.preview = true;
                    st.status = format!("preview: {n} conversations from the start of the capture; analysing the rest...");
                    if let Some(t) = self.open_started {
                        tracing::info!(
                            elapsed_ms = t.elapsed().as_millis() as u64,
                            conversations = n,
                            "first graph (preview)"
                        );
                    }
                }
            }
            WorkerEvent::CaseLoaded(case) => {
                st.progress = None;
                st.live.running.clear();
                st.live.waiting = false;
                st.live.held = None;
                st.set_case(case);
                if let Some(t) = self.open_started.take() {
                    tracing::info!(elapsed_ms = t.elapsed().as_millis() as u64, "case loaded");
                }
                if let Some(id) = self.pending_alert.take() {
                    st.view = View::Alerts;
                    st.select_alert(id);
                }
            }
            WorkerEvent::Flow(d) => {
                let first = d.packets.first().map(|p| p.pkt_no);
                st.flow_detail = Some(d);
                if let Some(n) = first {
                    st.select_packet(n);
                }
            }
            WorkerEvent::Packet(p) => st.packet = Some(p),
            WorkerEvent::Interfaces(list) => {
                st.live.chosen.retain(|n| list.iter().any(|i| i.name == *n));
                st.live.interfaces = Some(list);
            }
            WorkerEvent::LiveStarted(names) => {
                self.error = None;
                st.live.waiting = false;
                st.status = format!("capturing on {}", names.join(", "));
                st.live.running = names;
                st.live.updates = 0;
                st.case = None;
                st.graph = Default::default();
                st.selected = crate::state::Selected::None;
                st.flow_detail = None;
                st.packet = None;
            }
            WorkerEvent::LiveUpdate { case, packets } => {
                if st.live.is_running() && !st.live.waiting {
                    st.live.packets = packets;
                    if st.live.paused {
                        st.live.held = Some(case);
                    } else {
                        st.update_live(case);
                    }
                }
            }
            WorkerEvent::LiveFailed(msg) => {
                st.live.running.clear();
                self.error = Some(msg);
            }
            WorkerEvent::Done(msg) => {
                self.error = None;
                st.status = msg;
            }
            WorkerEvent::Failed(msg) => {
                st.progress = None;
                st.live.waiting = false;
                self.error = Some(msg);
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let digits = [Key::Num1, Key::Num2, Key::Num3, Key::Num4];
        for (i, (view, _)) in View::ALL.iter().enumerate() {
            if ctx.input_mut(|inp| {
                inp.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, digits[i]))
            }) {
                self.state.view = *view;
            }
        }
        if ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::T)))
        {
            self.state.dark = !self.state.dark;
        }
        if ctx.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::COMMAND, Key::L)))
        {
            panels::live::toggle(&mut self.state);
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Escape)) {
            self.state.selected = Selected::None;
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("Osprey")
                    .strong()
                    .color(theme::accent(self.state.dark)),
            );
            let label = ui.label("Open:");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.state.open_path)
                        .hint_text(
                            "capture.pcap, capture.pcapng or a case directory (or drop a file)",
                        )
                        .desired_width(420.0),
                )
                .labelled_by(label.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            let open = ui.add(icons::button(ui, &icons::OPEN, "Open"));
            if (open.clicked() || enter) && !self.state.open_path.trim().is_empty() {
                let p = PathBuf::from(self.state.open_path.trim());
                self.open(p);
            }
            if let Some((read, total, packets)) = self.state.progress {
                let frac = if total > 0 {
                    read as f32 / total as f32
                } else {
                    0.0
                };
                ui.add(
                    egui::ProgressBar::new(frac)
                        .desired_width(180.0)
                        .text(format!("{packets} packets")),
                );
                if ui.button("Cancel").clicked() {
                    if let Some(w) = &self.worker {
                        w.cancel();
                    }
                }
            }
            ui.separator();
            let live = if self.state.live.is_running() {
                "Live (capturing)"
            } else {
                "Live"
            };
            let tint = ui.visuals().text_color();
            let icon = egui::Image::new(icons::LIVE)
                .fit_to_exact_size(egui::vec2(14.0, 14.0))
                .tint(tint);
            if ui
                .add(egui::Button::selectable(self.state.live.show, (icon, live)))
                .on_hover_text("Capture on this machine's interfaces (Ctrl+L)")
                .clicked()
            {
                panels::live::toggle(&mut self.state);
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let label = if self.state.dark {
                    "Light theme"
                } else {
                    "Dark theme"
                };
                if ui
                    .add(icons::button(ui, &icons::THEME, label))
                    .on_hover_text("Ctrl+T")
                    .clicked()
                {
                    self.state.dark = !self.state.dark;
                }
            });
        });
        ui.horizontal(|ui| {
            for (i, (view, name)) in View::ALL.iter().enumerate() {
                let r = ui.selectable_value(&mut self.state.view, *view, *name);
                r.on_hover_text(format!("Ctrl+{}", i + 1));
            }
        });
    }

    fn graph_view(&mut self, ui: &mut egui::Ui) {
        let st = &mut self.state;
        if st.case.is_none() {
            ui.centered_and_justified(|ui| {
                ui.label("Open a capture or a case to see who talks to whom.");
            });
            return;
        }
        ui.horizontal(|ui| {
            let label = ui.label("Find:");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut st.graph.search)
                        .hint_text("name or IP")
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
            if r.changed() || (r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter))) {
                if let Some(n) = st.graph.model.search(&st.graph.search).first().copied() {
                    if let Some(d) = st.graph.model.graph.node_weight(n) {
                        st.selected = Selected::Node(d.label.clone());
                    }
                    st.graph.view.auto_fit = false;
                    st.graph.view.focus(&st.graph.model, n);
                }
            }
            ui.separator();
            if let Some((a, b)) = st.time_bounds() {
                let span = ((b - a) as f64 / 1e9).max(0.001);
                let (mut from, mut to) = st.graph.window.unwrap_or((0.0, span));
                ui.label("Window (s):");
                let c1 = ui
                    .add(
                        egui::Slider::new(&mut from, 0.0..=span)
                            .max_decimals(2)
                            .text("from"),
                    )
                    .changed();
                let c2 = ui
                    .add(
                        egui::Slider::new(&mut to, 0.0..=span)
                            .max_decimals(2)
                            .text("to"),
                    )
                    .changed();
                if c1 || c2 {
                    st.graph.window = Some((from.min(to), to.max(from)));
                    st.rebuild_graph();
                }
                if st.graph.window.is_some() && ui.button("All").clicked() {
                    st.graph.window = None;
                    st.rebuild_graph();
                }
            }
            ui.separator();
            if ui.add(icons::button(ui, &icons::FIT, "Fit")).clicked() {
                st.graph.view.auto_fit = true;
            }
            if ui
                .add(icons::button(ui, &icons::SAVE, "Save PNG"))
                .clicked()
            {
                if let Some(rect) = st.graph.view.last_rect {
                    let slot = self.shot.clone();
                    let ctx = ui.ctx().clone();
                    let ppp = ui.ctx().pixels_per_point();
                    let path =
                        panels::flows::csv_path(&st.export_path, "graph").with_extension("png");
                    ui.ctx()
                        .send_viewport_cmd(egui::ViewportCommand::Screenshot(
                            egui::ScreenshotCallback::new(move |img| {
                                if let Ok(mut s) = slot.lock() {
                                    *s = Some((img, rect, ppp, path));
                                }
                                ctx.request_repaint();
                            }),
                        ));
                }
            }
        });
        let t0 = Instant::now();
        while !st.graph.view.layout.settled() && t0.elapsed() < LAYOUT_BUDGET {
            st.graph.view.layout.step(&st.graph.model, 1);
        }
        if !st.graph.view.layout.settled() {
            ui.ctx().request_repaint();
        }
        let selected = match &st.selected {
            Selected::Node(l) => st.graph.model.find(l).map(GraphPick::Node),
            Selected::Edge(a, b, _) => st
                .graph
                .model
                .find(a)
                .zip(st.graph.model.find(b))
                .and_then(|(a, b)| st.graph.model.graph.find_edge(a, b))
                .map(GraphPick::Edge),
            _ => None,
        };
        match st.graph.view.show(ui, &st.graph.model, selected) {
            Some(GraphPick::Node(n)) => {
                if let Some(d) = st.graph.model.graph.node_weight(n) {
                    st.selected = Selected::Node(d.label.clone());
                }
            }
            Some(GraphPick::Edge(e)) => {
                let g = &st.graph.model.graph;
                if let (Some((a, b)), Some(d)) = (g.edge_endpoints(e), g.edge_weight(e)) {
                    let (Some(la), Some(lb)) = (g.node_weight(a), g.node_weight(b)) else {
                        return;
                    };
                    st.selected =
                        Selected::Edge(la.label.clone(), lb.label.clone(), d.flows.clone());
                }
            }
            None => {}
        }
    }

    fn take_screenshot(&mut self) {
        let taken = self.shot.lock().ok().and_then(|mut s| s.take());
        if let Some((img, rect, ppp, path)) = taken {
            let part = img.region(&rect, Some(ppp));
            let rgba = part.as_raw().to_vec();
            self.state.outbox.push(UiCommand::WritePng {
                width: part.size[0] as u32,
                height: part.size[1] as u32,
                rgba,
                path,
            });
        }
    }

    /// Draws one frame into `ui` (the whole window).
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        if self.worker.is_none() {
            icons::install(&ctx);
            let c = ctx.clone();
            let backend = self
                .backend
                .take()
                .unwrap_or_else(|| Arc::new(crate::live::SystemBackend));
            match WorkerHandle::spawn_with(move || c.request_repaint(), backend) {
                Ok(w) => self.worker = Some(w),
                Err(e) => self.error = Some(format!("cannot start the worker thread: {e}")),
            }
            if let Some(p) = self.initial.take() {
                self.open(p);
            }
        }
        if self.applied_dark != Some(self.state.dark) {
            theme::apply(&ctx, self.state.dark);
            self.applied_dark = Some(self.state.dark);
        }
        let events = self
            .worker
            .as_mut()
            .map(WorkerHandle::poll)
            .unwrap_or_default();
        for ev in events {
            self.handle(ev);
        }
        if self.worker.as_ref().is_some_and(|w| !w.alive()) {
            self.error = Some("the worker thread stopped; restart Osprey".into());
        }
        let dropped: Option<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .find(|p| !p.as_os_str().is_empty())
        });
        if let Some(p) = dropped {
            self.open(p);
        }
        self.take_screenshot();
        self.shortcuts(&ctx);

        egui::Panel::top("toolbar").show(ui, |ui| self.toolbar(ui));
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| match &self.error {
                Some(e) => {
                    ui.colored_label(theme::severity_color(Some(1)).unwrap_or_default(), e);
                }
                None => {
                    ui.label(&self.state.status);
                }
            });
        });
        if self.state.live.show {
            egui::Panel::left("live")
                .default_size(300.0)
                .resizable(true)
                .show(ui, |ui| panels::live::show(ui, &mut self.state));
        }
        if self.state.case.is_some() {
            egui::Panel::right("detail")
                .default_size(520.0)
                .resizable(true)
                .show(ui, |ui| panels::detail::show(ui, &mut self.state));
        }
        // The central panel's colour is the clear colour (see
        // `clear_color`): a software renderer clears for almost nothing but
        // shades every pixel of a filled rectangle.
        let central =
            egui::Frame::central_panel(&ctx.global_style()).fill(egui::Color32::TRANSPARENT);
        egui::CentralPanel::default()
            .frame(central)
            .show(ui, |ui| match self.state.view {
                View::Graph => self.graph_view(ui),
                View::Flows => panels::flows::show(ui, &mut self.state),
                View::Alerts => panels::alerts::show(ui, &mut self.state),
                View::Stats => panels::stats::show(ui, &mut self.state),
            });

        let out = std::mem::take(&mut self.state.outbox);
        if let Some(w) = &mut self.worker {
            for cmd in out {
                if !w.send(cmd) {
                    self.error = Some("the worker is busy; try again".into());
                }
            }
        }
    }
}

impl eframe::App for OspreyApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        OspreyApp::ui(self, ui);
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        visuals.panel_fill.to_normalized_gamma_f32()
    }
}
