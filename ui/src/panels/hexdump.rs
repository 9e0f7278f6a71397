//! Hex view of a frame with the selected field's bytes highlighted.

use crate::theme;
use eframe::egui::{self, text::LayoutJob, Color32, FontId, TextFormat};
use std::ops::Range;

/// Text of one hex row: offset, 16 hex bytes, ASCII.
pub fn row_text(data: &[u8], row: usize) -> String {
    let start = row * 16;
    let bytes = data.get(start..(start + 16).min(data.len())).unwrap_or(&[]);
    let mut s = format!("{start:04x}  ");
    for i in 0..16 {
        match bytes.get(i) {
            Some(b) => s.push_str(&format!("{b:02x} ")),
            None => s.push_str("   "),
        }
        if i == 7 {
            s.push(' ');
        }
    }
    s.push(' ');
    s.extend(bytes.iter().map(|b| {
        if b.is_ascii_graphic() || *b == b' ' {
            *b as char
        } else {
            '.'
        }
    }));
    s
}

/// Draws the hex dump.
pub fn show(ui: &mut egui::Ui, data: &[u8], highlight: Option<&Range<usize>>) {
    let font = FontId::monospace(12.0);
    let normal = ui.visuals().text_color();
    let hl_bg = theme::accent(ui.visuals().dark_mode).gamma_multiply(0.45);
    let rows = data.len().div_ceil(16);
    egui::ScrollArea::both()
        .id_salt("hexdump")
        .auto_shrink([false, false])
        .show_rows(ui, 15.0, rows, |ui, range| {
            for row in range {
                let text = row_text(data, row);
                let mut job = LayoutJob::default();
                // Character spans of each byte: hex at 6 + 3i (+1 after the
                // 8th), ASCII at 6 + 49 + 1 + i.
                let mut marks = vec![false; text.chars().count()];
                if let Some(h) = highlight {
                    for i in 0..16 {
                        let off = row * 16 + i;
                        if off < data.len() && h.contains(&off) {
                            let hex = 6 + 3 * i + usize::from(i > 7);
                            for m in marks.iter_mut().skip(hex).take(2) {
                                *m = true;
                            }
                            if let Some(m) = marks.get_mut(6 + 49 + 1 + i) {
                                *m = true;
                            }
                        }
                    }
                }
                let mut cur = String::new();
                let mut cur_mark = false;
                let flush = |job: &mut LayoutJob, s: &mut String, mark: bool| {
                    if s.is_empty() {
                        return;
                    }
                    let fmt = TextFormat {
                        font_id: font.clone(),
                        color: normal,
                        background: if mark { hl_bg } else { Color32::TRANSPARENT },
                        ..Default::default()
                    };
                    job.append(s, 0.0, fmt);
                    s.clear();
                };
                for (c, m) in text.chars().zip(marks) {
                    if m != cur_mark {
                        flush(&mut job, &mut cur, cur_mark);
                        cur_mark = m;
                    }
                    cur.push(c);
                }
                flush(&mut job, &mut cur, cur_mark);
                ui.add(egui::Label::new(job).wrap_mode(egui::TextWrapMode::Extend));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::row_text;

    #[test]
    fn rows() {
        let data: Vec<u8> = (0..20).map(|i| b'A' + i).collect();
        assert_eq!(
            row_text(&data, 0),
            "0000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP"
        );
        assert!(row_text(&data, 1).starts_with("0010  51 52 53 54"));
        assert_eq!(row_text(&data, 5), format!("0050  {}", " ".repeat(50)));
    }
}
