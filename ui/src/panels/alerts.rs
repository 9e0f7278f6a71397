//! Alerts table: severity, category, signature, endpoints, time; click to
//! drill down into the evidence.

use super::rel_secs;
use crate::command::UiCommand;
use crate::state::{AppState, Selected};
use crate::theme;
use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

fn ep(ip: Option<&String>, port: Option<u16>) -> String {
    match (ip, port) {
        (Some(ip), Some(p)) => super::endpoint(ip, p),
        (Some(ip), None) => ip.clone(),
        _ => String::new(),
    }
}

/// The alerts view.
pub fn show(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(case) = st.case.clone() else {
        ui.label("No case open.");
        return;
    };
    let base = st.time_bounds().map_or(0, |b| b.0);
    ui.horizontal(|ui| {
        ui.label(format!("{} alerts", case.alerts.len()));
        if ui.button("Export alerts CSV").clicked() {
            let mut rows = vec![[
                "id",
                "severity",
                "category",
                "signature",
                "source",
                "destination",
                "time (s)",
                "count",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()];
            for a in &case.alerts {
                rows.push(vec![
                    a.id.to_string(),
                    theme::severity_name(a.severity).to_string(),
                    a.category.clone(),
                    a.signature.clone(),
                    ep(a.src_ip.as_ref(), a.src_port),
                    ep(a.dest_ip.as_ref(), a.dest_port),
                    rel_secs(a.ts_ns, base),
                    a.count.to_string(),
                ]);
            }
            st.outbox.push(UiCommand::WriteCsv {
                rows,
                path: super::flows::csv_path(&st.export_path, "alerts"),
            });
        }
    });
    ui.separator();
    let mut clicked = None;
    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
    TableBuilder::new(ui)
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::exact(40.0))
        .column(Column::exact(60.0))
        .column(Column::initial(90.0).resizable(true))
        .column(Column::initial(320.0).resizable(true))
        .column(Column::initial(150.0).resizable(true))
        .column(Column::initial(150.0).resizable(true))
        .column(Column::exact(70.0))
        .column(Column::remainder())
        .header(20.0, |mut h| {
            for name in [
                "Id",
                "Severity",
                "Category",
                "Signature",
                "Source",
                "Destination",
                "Time (s)",
                "Count",
            ] {
                h.col(|ui| {
                    ui.label(RichText::new(name).strong());
                });
            }
        })
        .body(|body| {
            body.rows(18.0, case.alerts.len(), |mut row| {
                let Some(a) = case.alerts.get(row.index()) else {
                    return;
                };
                row.set_selected(st.selected == Selected::Alert(a.id));
                row.col(|ui| {
                    ui.label(a.id.to_string());
                });
                row.col(|ui| {
                    let c = theme::severity_color(Some(a.severity)).unwrap_or_default();
                    ui.colored_label(c, theme::severity_name(a.severity));
                });
                row.col(|ui| {
                    ui.label(&a.category);
                });
                row.col(|ui| {
                    ui.label(&a.signature);
                });
                row.col(|ui| {
                    ui.label(ep(a.src_ip.as_ref(), a.src_port));
                });
                row.col(|ui| {
                    ui.label(ep(a.dest_ip.as_ref(), a.dest_port));
                });
                row.col(|ui| {
                    ui.label(rel_secs(a.ts_ns, base));
                });
                row.col(|ui| {
                    if a.open {
                        ui.label(format!("{} (open)", a.count)).on_hover_text(
                            "Still open in this live run: more evidence may fold in; \
                             its evidence opens once it closes (quiet, or at Stop)",
                        );
                    } else {
                        ui.label(a.count.to_string());
                    }
                });
                if row.response().clicked() {
                    clicked = Some(a.id);
                }
            });
        });
    if let Some(id) = clicked {
        st.select_alert(id);
    }
}
