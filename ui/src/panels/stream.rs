//! "Follow stream": a flow's payload in both directions, client in one
//! colour, server in another, non-printable bytes as dots.

use eframe::egui::{self, Color32, RichText};
use osprey_analysis::dissect::StreamChunk;

/// Printable rendering of payload bytes: CRLF and LF end lines, tabs
/// stay, other control and non-ASCII bytes show as dots.
pub fn printable(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'\r' if data.get(i + 1) == Some(&b'\n') => {}
            b'\n' | b'\t' => out.push(data[i] as char),
            b @ 0x20..=0x7e => out.push(b as char),
            _ => out.push('.'),
        }
        i += 1;
    }
    out
}

/// Draws the stream.
pub fn show(ui: &mut egui::Ui, chunks: &[StreamChunk]) {
    if chunks.is_empty() {
        ui.label("No payload in this flow.");
        return;
    }
    let dark = ui.visuals().dark_mode;
    let (client, server) = if dark {
        (
            Color32::from_rgb(0xff, 0x8a, 0x8a),
            Color32::from_rgb(0x8a, 0xb8, 0xff),
        )
    } else {
        (
            Color32::from_rgb(0xa0, 0x10, 0x10),
            Color32::from_rgb(0x10, 0x30, 0xa0),
        )
    };
    let to_server: usize = chunks
        .iter()
        .filter(|c| c.dir == 0)
        .map(|c| c.data.len())
        .sum();
    let to_client: usize = chunks
        .iter()
        .filter(|c| c.dir == 1)
        .map(|c| c.data.len())
        .sum();
    ui.horizontal(|ui| {
        ui.colored_label(client, format!("client -> server {to_server} bytes"));
        ui.colored_label(server, format!("server -> client {to_client} bytes"));
    });
    egui::ScrollArea::vertical()
        .id_salt("stream")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            for c in chunks {
                if c.gap_before > 0 {
                    ui.weak(format!("[{} bytes missing]", c.gap_before));
                }
                let color = if c.dir == 0 { client } else { server };
                ui.label(RichText::new(printable(&c.data)).monospace().color(color));
            }
        });
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn printable_bytes() {
        assert_eq!(
            printable(b"GET / HTTP/1.1\r\nHost: a\r\n"),
            "GET / HTTP/1.1\nHost: a\n"
        );
        assert_eq!(printable(&[0, 1, b'a', 0xff]), "..a.");
    }
}
