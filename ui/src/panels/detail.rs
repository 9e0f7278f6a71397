//! The detail panel: what is selected (workload, conversation, flow,
//! alert), its drill-down and its export buttons.

use super::{endpoint, human_bytes, packets, rel_secs, stream};
use crate::command::UiCommand;
use crate::state::{AppState, DetailTab, Selected};
use crate::theme;
use eframe::egui::{self, RichText};
use osprey_analysis::case_export::Selection;

fn export_row(ui: &mut egui::Ui, st: &mut AppState, what: &str, selection: Selection) {
    ui.horizontal(|ui| {
        let label = ui.label("Save as:");
        ui.add(
            egui::TextEdit::singleline(&mut st.export_path)
                .desired_width(ui.available_width() - 130.0),
        )
        .labelled_by(label.id);
        if ui.button(format!("Export {what}")).clicked() {
            st.outbox.push(UiCommand::Export {
                selection,
                path: st.export_path.clone().into(),
            });
        }
    });
}

fn flow_list(ui: &mut egui::Ui, st: &mut AppState, ids: &[u64]) {
    let mut clicked = None;
    // Only the rows in view are laid out: a hub has thousands of flows.
    let row_height = ui.spacing().interact_size.y;
    egui::ScrollArea::vertical()
        .id_salt("flow-list")
        .max_height(220.0)
        .show_rows(ui, row_height, ids.len(), |ui, rows| {
            for id in ids.get(rows).unwrap_or_default() {
                let Some(f) = st.flow(*id) else { continue };
                let text = format!(
                    "Flow {}  {} -> {}  {}  {}",
                    f.id,
                    endpoint(&f.src_ip, f.src_port),
                    endpoint(&f.dest_ip, f.dest_port),
                    f.app_proto,
                    human_bytes(f.bytes_toserver + f.bytes_toclient)
                );
                if ui.selectable_label(false, text).clicked() {
                    clicked = Some(*id);
                }
            }
        });
    if let Some(id) = clicked {
        st.select_flow(id);
    }
}

fn flow_drilldown(ui: &mut egui::Ui, st: &mut AppState, id: u64) {
    let Some(f) = st.flow(id).cloned() else {
        return;
    };
    ui.label(
        RichText::new(format!(
            "Flow {}: {} {} -> {} {}",
            f.id,
            osprey_analysis::eve::proto_name(f.proto),
            endpoint(&f.src_ip, f.src_port),
            endpoint(&f.dest_ip, f.dest_port),
            f.app_proto
        ))
        .strong(),
    );
    ui.label(format!(
        "{} packets · {} · state {} · community id {}",
        f.pkts_toserver + f.pkts_toclient,
        human_bytes(f.bytes_toserver + f.bytes_toclient),
        f.state,
        f.community_id
    ));
    export_row(
        ui,
        st,
        "flow",
        Selection {
            flows: vec![id],
            ..Selection::default()
        },
    );
    ui.horizontal(|ui| {
        for (tab, name) in [
            (DetailTab::Packets, "Packets"),
            (DetailTab::Stream, "Follow stream"),
            (DetailTab::Records, "DPI records"),
        ] {
            ui.selectable_value(&mut st.tab, tab, name);
        }
    });
    ui.separator();
    let Some(detail) = st.flow_detail.clone().filter(|d| d.flow_id == id) else {
        ui.spinner();
        return;
    };
    match st.tab {
        DetailTab::Packets => packets::show(ui, st),
        DetailTab::Stream => stream::show(ui, &detail.stream),
        DetailTab::Records => {
            if detail.records.is_empty() {
                ui.label("No DPI records for this flow.");
            }
            egui::ScrollArea::vertical()
                .id_salt("records")
                .show(ui, |ui| {
                    for (ts, kind, json) in &detail.records {
                        let pretty = serde_json::from_str::<serde_json::Value>(json)
                            .ok()
                            .and_then(|v| serde_json::to_string_pretty(&v).ok())
                            .unwrap_or_else(|| json.clone());
                        egui::CollapsingHeader::new(format!(
                            "{kind} at {}",
                            osprey_analysis::eve::timestamp(*ts)
                        ))
                        .default_open(true)
                        .show(ui, |ui| {
                            ui.label(RichText::new(pretty).monospace());
                        });
                    }
                });
        }
    }
}

/// Draws the detail panel.
pub fn show(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(case) = st.case.clone() else {
        ui.weak("Nothing selected.");
        return;
    };
    if st.preview {
        ui.weak("Preview of the start of the capture: drill-down, alerts and export come when the analysis finishes.");
        return;
    }
    match st.selected.clone() {
        Selected::None => {
            ui.weak("Select a workload, conversation, flow or alert.");
            let base = st.time_bounds().map_or(0, |b| b.0);
            let range = st.window_ns();
            if let Some((a, b)) = range {
                export_row(
                    ui,
                    st,
                    "time range",
                    Selection {
                        flows: case
                            .flows
                            .iter()
                            .filter(|f| f.end_ns >= a && f.start_ns <= b)
                            .map(|f| f.id)
                            .collect(),
                        time_range: Some((a, b)),
                        ..Selection::default()
                    },
                );
                ui.weak(format!(
                    "window {} s - {} s",
                    rel_secs(a, base),
                    rel_secs(b, base)
                ));
            }
        }
        Selected::Node(label) => {
            ui.label(RichText::new(format!("Workload {label}")).strong());
            let g = &st.graph.model.graph;
            let Some(n) = st.graph.model.find(&label) else {
                ui.weak("Not in the current time window.");
                return;
            };
            if let Some(d) = g.node_weight(n) {
                ui.label(format!(
                    "group {} · {} flows · {} packets · {}",
                    d.group,
                    d.flows,
                    d.packets,
                    human_bytes(d.bytes)
                ));
            }
            let mut ids: Vec<u64> = g
                .edges(n)
                .flat_map(|e| e.weight().flows.iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            export_row(
                ui,
                st,
                "workload",
                Selection {
                    flows: ids.clone(),
                    ..Selection::default()
                },
            );
            flow_list(ui, st, &ids);
        }
        Selected::Edge(a, b, ids) => {
            ui.label(RichText::new(format!("Conversation {a} <-> {b}")).strong());
            ui.label(format!("{} flows", ids.len()));
            export_row(
                ui,
                st,
                "conversation",
                Selection {
                    flows: ids.clone(),
                    ..Selection::default()
                },
            );
            flow_list(ui, st, &ids);
        }
        Selected::Flow(id) => flow_drilldown(ui, st, id),
        Selected::Alert(id) => {
            let Some(a) = case.alerts.iter().find(|a| a.id == id).cloned() else {
                return;
            };
            let color = theme::severity_color(Some(a.severity)).unwrap_or_default();
            ui.label(
                RichText::new(format!("Alert {}: {}", a.id, a.signature))
                    .strong()
                    .color(color),
            );
            ui.label(format!(
                "{} severity · {} · rule {} · {} occurrence(s) · {}",
                theme::severity_name(a.severity),
                a.category,
                a.signature_id,
                a.count,
                osprey_analysis::eve::timestamp(a.ts_ns)
            ));
            if let serde_json::Value::Object(m) = &a.metadata {
                egui::Grid::new("alert-meta").striped(true).show(ui, |ui| {
                    for (k, v) in m {
                        ui.label(k);
                        ui.label(v.as_str().map_or_else(|| v.to_string(), str::to_string));
                        ui.end_row();
                    }
                });
            }
            ui.label(format!(
                "Evidence: {} flow(s), {} frame(s)",
                a.evidence_flows.len(),
                a.evidence_packets.len()
            ));
            export_row(
                ui,
                st,
                "evidence",
                Selection {
                    alerts: vec![id],
                    ..Selection::default()
                },
            );
            let mut ids = a.evidence_flows.clone();
            ids.extend(a.flow_id);
            ids.sort_unstable();
            ids.dedup();
            flow_list(ui, st, &ids);
            if let Some(d) = st.flow_detail.clone() {
                ui.separator();
                flow_drilldown(ui, st, d.flow_id);
            }
        }
    }
}
