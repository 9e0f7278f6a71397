//! Icons from `assets/icons/` (48 px, white on transparent, drawn by
//! `assets/icons/make_icons.py`), built into the binary and tinted with
//! the theme's colours. Decoded by egui_extras' image loader, installed
//! once per context by [`install`].

use crate::graph::model::NodeKind;
use eframe::egui::{self, ImageSource, TextureId, TextureOptions};

/// A pod or named network namespace.
pub const POD: ImageSource<'static> = egui::include_image!("../../assets/icons/pod.png");
/// A private address without a name.
pub const INTERNAL: ImageSource<'static> = egui::include_image!("../../assets/icons/internal.png");
/// A public address.
pub const EXTERNAL: ImageSource<'static> = egui::include_image!("../../assets/icons/external.png");
/// Something with an alert.
pub const ALERT: ImageSource<'static> = egui::include_image!("../../assets/icons/alert.png");
/// Open a capture or case.
pub const OPEN: ImageSource<'static> = egui::include_image!("../../assets/icons/open.png");
/// Live capture.
pub const LIVE: ImageSource<'static> = egui::include_image!("../../assets/icons/live.png");
/// Stop.
pub const STOP: ImageSource<'static> = egui::include_image!("../../assets/icons/stop.png");
/// Pause.
pub const PAUSE: ImageSource<'static> = egui::include_image!("../../assets/icons/pause.png");
/// Fit the graph in view.
pub const FIT: ImageSource<'static> = egui::include_image!("../../assets/icons/fit.png");
/// Save a picture.
pub const SAVE: ImageSource<'static> = egui::include_image!("../../assets/icons/save.png");
/// Switch theme.
pub const THEME: ImageSource<'static> = egui::include_image!("../../assets/icons/theme.png");

/// Installs the image loaders (idempotent).
pub fn install(ctx: &egui::Context) {
    egui_extras::install_image_loaders(ctx);
}

/// The icon of a node kind, with an alert taking precedence.
pub fn node(kind: NodeKind, alert: bool) -> &'static ImageSource<'static> {
    if alert {
        return &ALERT;
    }
    match kind {
        NodeKind::Pod => &POD,
        NodeKind::Internal => &INTERNAL,
        NodeKind::External => &EXTERNAL,
    }
}

/// The texture of an icon for painting, once it is decoded (the first
/// frames may not have it yet).
pub fn texture(ctx: &egui::Context, icon: &ImageSource<'static>) -> Option<TextureId> {
    let ImageSource::Bytes { uri, bytes } = icon else {
        return None;
    };
    ctx.include_bytes(uri.clone(), bytes.clone());
    match ctx.try_load_texture(uri, TextureOptions::LINEAR, egui::SizeHint::default()) {
        Ok(egui::load::TexturePoll::Ready { texture }) => Some(texture.id),
        _ => None,
    }
}

/// A button with an icon (tinted like text) and a label.
pub fn button(ui: &egui::Ui, icon: &ImageSource<'static>, text: &str) -> egui::Button<'static> {
    let tint = ui.visuals().text_color();
    egui::Button::image_and_text(
        egui::Image::new(icon.clone())
            .fit_to_exact_size(egui::vec2(14.0, 14.0))
            .tint(tint),
        text.to_string(),
    )
}
