//! A flow's packet list, the selected packet's layer tree (click a field
//! to highlight its bytes) and its hex dump.

use super::{hexdump, rel_secs};
use crate::state::AppState;
use eframe::egui::{self, RichText};
use egui_extras::{Column, TableBuilder};

/// Draws the packets tab.
pub fn show(ui: &mut egui::Ui, st: &mut AppState) {
    let Some(detail) = st.flow_detail.clone() else {
        ui.spinner();
        return;
    };
    let base = detail.packets.first().map_or(0, |p| p.ts_ns);
    let selected = st.packet.as_ref().map(|p| p.pkt_no);
    if detail.truncated {
        ui.weak(format!("first {} packets shown", detail.packets.len()));
    }
    let mut clicked = None;
    let list_height = (ui.available_height() * 0.35).max(80.0);
    ui.push_id("packets-table", |ui| {
        ui.style_mut().wrap_mode = Some(egui::TextWrapMode::Truncate);
        TableBuilder::new(ui)
            .striped(true)
            .sense(egui::Sense::click())
            .max_scroll_height(list_height)
            .min_scrolled_height(list_height)
            .column(Column::exact(60.0))
            .column(Column::exact(70.0))
            .column(Column::exact(24.0))
            .column(Column::exact(50.0))
            .column(Column::remainder())
            .header(18.0, |mut h| {
                for n in ["No.", "Time", "", "Len", "Info"] {
                    h.col(|ui| {
                        ui.label(RichText::new(n).strong());
                    });
                }
            })
            .body(|body| {
                body.rows(17.0, detail.packets.len(), |mut row| {
                    let Some(p) = detail.packets.get(row.index()) else {
                        return;
                    };
                    row.set_selected(selected == Some(p.pkt_no));
                    row.col(|ui| {
                        ui.label(format!("#{}", p.pkt_no));
                    });
                    row.col(|ui| {
                        ui.label(rel_secs(p.ts_ns, base));
                    });
                    row.col(|ui| {
                        ui.label(if p.dir == 0 { "->" } else { "<-" });
                    });
                    row.col(|ui| {
                        ui.label(p.caplen.to_string());
                    });
                    row.col(|ui| {
                        ui.label(&p.info);
                    });
                    if row.response().clicked() {
                        clicked = Some(p.pkt_no);
                    }
                });
            });
    });
    if let Some(n) = clicked {
        st.select_packet(n);
    }
    ui.separator();
    let Some(pkt) = st.packet.clone() else {
        ui.weak("Select a packet.");
        return;
    };
    ui.label(RichText::new(format!("Frame #{}", pkt.pkt_no)).strong());
    let tree_height = ui.available_height() * 0.45;
    egui::ScrollArea::vertical()
        .id_salt("layers")
        .max_height(tree_height)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for (i, layer) in pkt.layers.iter().enumerate() {
                egui::CollapsingHeader::new(&layer.name)
                    .id_salt(("layer", i))
                    .default_open(i > 0)
                    .show(ui, |ui| {
                        for f in &layer.fields {
                            let on = st.highlight.as_ref() == Some(&f.range);
                            if ui
                                .selectable_label(on, format!("{}: {}", f.name, f.value))
                                .clicked()
                            {
                                st.highlight = Some(f.range.clone());
                            }
                        }
                        if layer.fields.is_empty()
                            && ui.selectable_label(false, "(select bytes)").clicked()
                        {
                            st.highlight = Some(layer.range.clone());
                        }
                    });
            }
        });
    ui.separator();
    hexdump::show(ui, &pkt.data, st.highlight.as_ref());
}
