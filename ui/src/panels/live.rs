//! The live capture panel: interfaces with who is behind each, the case
//! directory, start/stop, and pausing the live updates.

use crate::command::{CaseData, UiCommand};
use crate::icons;
use crate::live::IfaceRow;
use crate::state::AppState;
use eframe::egui::{self, RichText};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// What the live panel shows and holds.
#[derive(Debug, Clone)]
pub struct LiveState {
    /// The panel is open.
    pub show: bool,
    /// Interfaces as last listed by the worker (`None`: not listed yet).
    pub interfaces: Option<Vec<IfaceRow>>,
    /// Names of the interfaces ticked.
    pub chosen: BTreeSet<String>,
    /// Case directory box.
    pub case_dir: String,
    /// Interfaces of the running capture (empty: none running).
    pub running: Vec<String>,
    /// Start or stop was asked and not answered yet.
    pub waiting: bool,
    /// Live updates are held back (the graph and tables stay as they are).
    pub paused: bool,
    /// The newest update held back while paused.
    pub held: Option<Arc<CaseData>>,
    /// Frames analysed so far.
    pub packets: u64,
    /// Updates received.
    pub updates: u64,
}

impl Default for LiveState {
    fn default() -> Self {
        LiveState {
            show: false,
            interfaces: None,
            chosen: BTreeSet::new(),
            case_dir: std::env::temp_dir()
                .join(format!("osprey-live-{}", std::process::id()))
                .display()
                .to_string(),
            running: Vec::new(),
            waiting: false,
            paused: false,
            held: None,
            packets: 0,
            updates: 0,
        }
    }
}

impl LiveState {
    /// A capture is running.
    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }
}

/// Opens or closes the panel; the first opening lists the interfaces.
pub fn toggle(st: &mut AppState) {
    st.live.show = !st.live.show;
    if st.live.show && st.live.interfaces.is_none() {
        st.outbox.push(UiCommand::ListInterfaces);
    }
}

/// Draws the panel.
pub fn show(ui: &mut egui::Ui, st: &mut AppState) {
    ui.heading("Live capture");
    let running = st.live.is_running();
    ui.horizontal(|ui| {
        ui.label("Interfaces");
        if ui
            .add_enabled(!running, egui::Button::new("Refresh"))
            .clicked()
        {
            st.outbox.push(UiCommand::ListInterfaces);
        }
    });
    match &st.live.interfaces {
        None => {
            ui.weak("listing...");
        }
        Some(list) if list.is_empty() => {
            ui.weak("no interface found");
        }
        Some(list) => {
            let list = list.clone();
            egui::ScrollArea::vertical()
                .max_height(ui.available_height() * 0.6)
                .show(ui, |ui| {
                    for i in &list {
                        let mut on = st.live.chosen.contains(&i.name);
                        let text = match &i.label {
                            Some(l) => format!("{} · {l}", i.name),
                            None => i.name.clone(),
                        };
                        let r = ui
                            .add_enabled(!running, egui::Checkbox::new(&mut on, text))
                            .on_hover_text(format!(
                                "{} · {}",
                                i.kind,
                                if i.up { "up" } else { "down" }
                            ));
                        if r.changed() {
                            if on {
                                st.live.chosen.insert(i.name.clone());
                            } else {
                                st.live.chosen.remove(&i.name);
                            }
                        }
                    }
                });
        }
    }
    ui.separator();
    let label = ui.label("Case directory");
    ui.add_enabled(
        !running,
        egui::TextEdit::singleline(&mut st.live.case_dir).desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    ui.horizontal(|ui| {
        let can_start = !running && !st.live.waiting && !st.live.chosen.is_empty();
        if ui
            .add_enabled(can_start, icons::button(ui, &icons::LIVE, "Start capture"))
            .clicked()
        {
            start(st);
        }
        if ui
            .add_enabled(
                running && !st.live.waiting,
                icons::button(ui, &icons::STOP, "Stop capture"),
            )
            .clicked()
        {
            st.live.waiting = true;
            st.status = "stopping the capture, finishing the case...".into();
            st.outbox.push(UiCommand::StopLive);
        }
    });
    let pause = egui::Image::new(icons::PAUSE)
        .fit_to_exact_size(egui::vec2(14.0, 14.0))
        .tint(ui.visuals().text_color());
    let r = ui.add(egui::Button::selectable(
        st.live.paused,
        (pause, "Pause live updates"),
    ));
    if r.clicked() {
        st.live.paused = !st.live.paused;
    }
    if r.clicked() && !st.live.paused {
        if let Some(case) = st.live.held.take() {
            st.update_live(case);
        }
    }
    if running {
        ui.label(
            RichText::new(format!(
                "capturing on {} · {} frames",
                st.live.running.join(", "),
                st.live.packets
            ))
            .strong(),
        );
        ui.weak(
            "Open flows and alerts show as they go, updated every second; drill-down opens when the capture is stopped.",
        );
    }
}

/// Asks the worker to start capturing on the chosen interfaces.
fn start(st: &mut AppState) {
    let ifaces: Vec<IfaceRow> = st
        .live
        .interfaces
        .iter()
        .flatten()
        .filter(|i| st.live.chosen.contains(&i.name))
        .cloned()
        .collect();
    let case_dir = PathBuf::from(st.live.case_dir.trim());
    st.live.waiting = true;
    st.live.held = None;
    st.live.packets = 0;
    st.status = format!("starting the capture into {}...", case_dir.display());
    st.outbox.push(UiCommand::StartLive { ifaces, case_dir });
}
