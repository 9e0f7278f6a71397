//! Statistics: the IO graph (packets and bytes over time, alerts marked)
//! and the endpoints table.

use super::human_bytes;
use crate::command::CaseData;
use crate::state::{AppState, Selected};
use crate::theme;
use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};
use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};

/// Buckets of the IO graph.
const BUCKETS: usize = 200;

/// Packets and bytes per time bucket (x in seconds from the first flow).
///
/// Built from flow records, each flow's packets and bytes spread evenly
/// over its lifetime: the case keeps flow totals, and reading every frame
/// timestamp of a large case is what the worker avoids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IoSeries {
    /// `[t, packets/s]`.
    pub packets: Vec<[f64; 2]>,
    /// `[t, bytes/s]`.
    pub bytes: Vec<[f64; 2]>,
    /// Alert times, seconds.
    pub alerts: Vec<f64>,
}

impl IoSeries {
    /// Computes the series of a case.
    pub fn of(case: &CaseData) -> Self {
        let (Some(a), Some(b)) = (
            case.flows.iter().map(|f| f.start_ns).min(),
            case.flows.iter().map(|f| f.end_ns).max(),
        ) else {
            return IoSeries::default();
        };
        let span = (b - a).max(1) as f64;
        let width = span / BUCKETS as f64;
        let mut pk = vec![0f64; BUCKETS];
        let mut by = vec![0f64; BUCKETS];
        for f in &case.flows {
            let s = (((f.start_ns - a) as f64 / width) as usize).min(BUCKETS - 1);
            let e = (((f.end_ns - a) as f64 / width) as usize).clamp(s, BUCKETS - 1);
            let n = (e - s + 1) as f64;
            for i in s..=e {
                pk[i] += (f.pkts_toserver + f.pkts_toclient) as f64 / n;
                by[i] += (f.bytes_toserver + f.bytes_toclient) as f64 / n;
            }
        }
        let secs = width / 1e9;
        let pts = |v: &[f64]| -> Vec<[f64; 2]> {
            v.iter()
                .enumerate()
                .map(|(i, y)| [i as f64 * secs, y / secs.max(1e-9)])
                .collect()
        };
        IoSeries {
            packets: pts(&pk),
            bytes: pts(&by),
            alerts: case
                .alerts
                .iter()
                .map(|x| (x.ts_ns - a) as f64 / 1e9)
                .collect(),
        }
    }
}

/// The statistics view.
pub fn show(ui: &mut egui::Ui, st: &mut AppState) {
    if st.case.is_none() {
        ui.label("No case open.");
        return;
    }
    ui.label(
        RichText::new("IO graph (per second; flow totals spread over each flow's lifetime)")
            .strong(),
    );
    let io = &st.io;
    Plot::new("io-graph")
        .height(200.0)
        .legend(Legend::default())
        .show(ui, |p| {
            p.line(Line::new("packets/s", PlotPoints::from(io.packets.clone())));
            p.line(Line::new(
                "kB/s",
                PlotPoints::from(
                    io.bytes
                        .iter()
                        .map(|[x, y]| [*x, y / 1000.0])
                        .collect::<Vec<_>>(),
                ),
            ));
            for t in &io.alerts {
                p.vline(
                    VLine::new("alerts", *t)
                        .color(theme::severity_color(Some(1)).unwrap_or_default()),
                );
            }
        });
    ui.separator();
    ui.label(RichText::new("Endpoints").strong());
    let g = &st.graph.model.graph;
    let mut nodes: Vec<_> = g.node_indices().filter_map(|i| g.node_weight(i)).collect();
    nodes.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.label.cmp(&b.label)));
    let mut clicked = None;
    ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
    TableBuilder::new(ui)
        .striped(true)
        .sense(egui::Sense::click())
        .column(Column::initial(220.0).resizable(true))
        .column(Column::initial(140.0).resizable(true))
        .column(Column::exact(60.0))
        .column(Column::exact(80.0))
        .column(Column::exact(80.0))
        .column(Column::remainder())
        .header(20.0, |mut h| {
            for n in ["Workload", "Group", "Flows", "Packets", "Bytes", "Alert"] {
                h.col(|ui| {
                    ui.label(RichText::new(n).strong());
                });
            }
        })
        .body(|body| {
            body.rows(18.0, nodes.len(), |mut row| {
                let Some(n) = nodes.get(row.index()) else {
                    return;
                };
                row.col(|ui| {
                    ui.label(&n.label);
                });
                row.col(|ui| {
                    ui.label(&n.group);
                });
                row.col(|ui| {
                    ui.label(n.flows.to_string());
                });
                row.col(|ui| {
                    ui.label(n.packets.to_string());
                });
                row.col(|ui| {
                    ui.label(human_bytes(n.bytes));
                });
                row.col(|ui| {
                    if let Some(s) = n.severity {
                        ui.colored_label(
                            theme::severity_color(Some(s)).unwrap_or_default(),
                            theme::severity_name(s),
                        );
                    }
                });
                if row.response().clicked() {
                    clicked = Some(n.label.clone());
                }
            });
        });
    if let Some(l) = clicked {
        st.selected = Selected::Node(l);
    }
}
