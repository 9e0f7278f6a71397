//! Flows table: filter bar (the CLI's expression language), sortable
//! columns, click to drill down, export of the filter result.

use super::{endpoint, human_bytes, rel_secs};
use crate::command::UiCommand;
use crate::state::{AppState, FlowCol};
use crate::theme;
use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use osprey_analysis::case_export::Selection;

const COLS: [(FlowCol, &str); 9] = [
    (FlowCol::Id, "Id"),
    (FlowCol::Proto, "Proto"),
    (FlowCol::Client, "Client"),
    (FlowCol::Server, "Server"),
    (FlowCol::App, "App"),
    (FlowCol::Packets, "Packets"),
    (FlowCol::Bytes, "Bytes"),
    (FlowCol::Start, "Start (s)"),
    (FlowCol::Alert, "Alert"),
];

/// The filter bar, shared look with the CLI's `--filter`.
pub fn filter_bar(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(case) = st.case.clone() else { return };
    ui.horizontal(|ui| {
        let label = ui.label("Filter:");
        let edit = egui::TextEdit::singleline(&mut st.flows.filter_text)
            .hint_text("ip.addr == 10.244.0.5 && app == http && bytes > 1000")
            .desired_width(ui.available_width() - 260.0);
        let r = ui.add(edit).labelled_by(label.id);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if ui.button("Apply").clicked() || enter {
            st.flows.apply_filter(&case);
        }
        if ui.button("Clear").clicked() {
            st.flows.filter_text.clear();
            st.flows.apply_filter(&case);
        }
        ui.label(format!(
            "{} / {} flows",
            st.flows.rows.len(),
            case.flows.len()
        ));
    });
    if let Some(e) = &st.flows.filter_error {
        ui.colored_label(
            theme::severity_color(Some(1)).unwrap_or(egui::Color32::RED),
            e,
        );
    }
    ui.horizontal(|ui| {
        if ui.button("Export filter result").clicked() {
            let flows = st.flows.ids(&case);
            st.outbox.push(UiCommand::Export {
                selection: Selection {
                    flows,
                    ..Selection::default()
                },
                path: st.export_path.clone().into(),
            });
        }
        if ui.button("Export flows CSV").clicked() {
            let mut rows = vec![COLS.iter().map(|(_, n)| n.to_string()).collect::<Vec<_>>()];
            let base = case.flows.iter().map(|f| f.start_ns).min().unwrap_or(0);
            for i in &st.flows.rows {
                let Some(f) = case.flows.get(*i) else {
                    continue;
                };
                rows.push(vec![
                    f.id.to_string(),
                    osprey_analysis::eve::proto_name(f.proto),
                    endpoint(&f.src_ip, f.src_port),
                    endpoint(&f.dest_ip, f.dest_port),
                    f.app_proto.clone(),
                    (f.pkts_toserver + f.pkts_toclient).to_string(),
                    (f.bytes_toserver + f.bytes_toclient).to_string(),
                    rel_secs(f.start_ns, base),
                    case.flow_alerts
                        .severity(f.id)
                        .map_or(String::new(), |s| theme::severity_name(s).to_string()),
                ]);
            }
            st.outbox.push(UiCommand::WriteCsv {
                rows,
                path: csv_path(&st.export_path, "flows"),
            });
        }
    });
}

/// `<export path stem>-<what>.csv`.
pub fn csv_path(export_path: &str, what: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(export_path);
    let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("osprey");
    p.with_file_name(format!("{stem}-{what}.csv"))
}

/// The flows view.
pub fn show(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(case) = st.case.clone() else {
        ui.label("No case open.");
        return;
    };
    filter_bar(ui, st);
    ui.separator();
    let base = case.flows.iter().map(|f| f.start_ns).min().unwrap_or(0);
    let selected = match st.selected {
        crate::state::Selected::Flow(id) => Some(id),
        _ => None,
    };
    let mut clicked = None;
    let mut resort = None;
    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
    TableBuilder::new(ui)
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::exact(50.0))
        .column(Column::exact(50.0))
        .column(Column::initial(170.0).resizable(true))
        .column(Column::initial(170.0).resizable(true))
        .column(Column::initial(70.0).resizable(true))
        .column(Column::exact(60.0))
        .column(Column::exact(70.0))
        .column(Column::exact(70.0))
        .column(Column::remainder())
        .header(20.0, |mut h| {
            for (col, name) in COLS {
                h.col(|ui| {
                    let arrow = match st.flows.sort {
                        (c, true) if c == col => " ^",
                        (c, false) if c == col => " v",
                        _ => "",
                    };
                    if ui
                        .button(RichText::new(format!("{name}{arrow}")).strong())
                        .clicked()
                    {
                        resort = Some(col);
                    }
                });
            }
        })
        .body(|body| {
            body.rows(18.0, st.flows.rows.len(), |mut row| {
                let Some(f) = st
                    .flows
                    .rows
                    .get(row.index())
                    .and_then(|i| case.flows.get(*i))
                else {
                    return;
                };
                row.set_selected(selected == Some(f.id));
                row.col(|ui| {
                    ui.label(f.id.to_string());
                });
                row.col(|ui| {
                    ui.label(osprey_analysis::eve::proto_name(f.proto));
                });
                row.col(|ui| {
                    ui.label(endpoint(&f.src_ip, f.src_port));
                });
                row.col(|ui| {
                    ui.label(endpoint(&f.dest_ip, f.dest_port));
                });
                row.col(|ui| {
                    ui.label(&f.app_proto);
                });
                row.col(|ui| {
                    ui.label((f.pkts_toserver + f.pkts_toclient).to_string());
                });
                row.col(|ui| {
                    ui.label(human_bytes(f.bytes_toserver + f.bytes_toclient));
                });
                row.col(|ui| {
                    ui.label(rel_secs(f.start_ns, base));
                });
                row.col(|ui| {
                    if let Some(s) = case.flow_alerts.severity(f.id) {
                        let c = theme::severity_color(Some(s)).unwrap_or_default();
                        ui.colored_label(c, theme::severity_name(s));
                    }
                });
                if row.response().clicked() {
                    clicked = Some(f.id);
                }
            });
        });
    if let Some(col) = resort {
        st.flows.sort = if st.flows.sort.0 == col {
            (col, !st.flows.sort.1)
        } else {
            (col, true)
        };
        st.flows.refresh(&case);
    }
    if let Some(id) = clicked {
        st.select_flow(id);
    }
}
