//! Colours and the dark/light themes: dense spacing for 1280×800.

use eframe::egui::{self, Color32};

/// Colour of an alert severity (1 high, 2 medium, 3 low).
pub fn severity_color(sev: Option<u8>) -> Option<Color32> {
    match sev? {
        1 => Some(Color32::from_rgb(0xe5, 0x48, 0x4d)),
        2 => Some(Color32::from_rgb(0xf0, 0x8c, 0x2e)),
        _ => Some(Color32::from_rgb(0xe0, 0xc0, 0x3a)),
    }
}

/// Name of a severity.
pub fn severity_name(sev: u8) -> &'static str {
    match sev {
        1 => "high",
        2 => "medium",
        _ => "low",
    }
}

/// Graph background.
pub fn canvas(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0x16, 0x19, 0x1e)
    } else {
        Color32::from_rgb(0xfa, 0xfa, 0xfb)
    }
}

/// Edges without alerts.
pub fn edge(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgba_unmultiplied(0x8a, 0x96, 0xa8, 0x90)
    } else {
        Color32::from_rgba_unmultiplied(0x60, 0x6a, 0x78, 0x90)
    }
}

/// Selection highlight.
pub fn accent(dark: bool) -> Color32 {
    if dark {
        Color32::from_rgb(0x4c, 0xc2, 0xff)
    } else {
        Color32::from_rgb(0x00, 0x6b, 0xc9)
    }
}

/// A stable colour per node group.
pub fn group_color(group: &str, dark: bool) -> Color32 {
    if group == "external" {
        return Color32::from_rgb(0x9a, 0x7b, 0xd8);
    }
    let h = group.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let hue = (h % 360) as f32 / 360.0;
    let (s, v) = if dark { (0.45, 0.85) } else { (0.55, 0.7) };
    egui::ecolor::Hsva::new(hue, s, v, 1.0).into()
}

/// Applies the dense professional look in dark or light.
pub fn apply(ctx: &egui::Context, dark: bool) {
    ctx.set_theme(if dark {
        egui::Theme::Dark
    } else {
        egui::Theme::Light
    });
    ctx.all_styles_mut(|s| {
        s.spacing.item_spacing = egui::vec2(6.0, 3.0);
        s.spacing.button_padding = egui::vec2(6.0, 2.0);
        s.spacing.interact_size.y = 18.0;
        // Table cells are labels: clicks go to the row, not text selection.
        s.interaction.selectable_labels = false;
    });
}
