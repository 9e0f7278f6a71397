//! The graph's base layer (background, edges, discs), rasterised on the
//! CPU and kept as one texture until what it shows changes.
//!
//! Without a GPU, Mesa's llvmpipe shades every pixel of every triangle in
//! every frame: the thousands of long, overlapping edges and discs of a
//! big graph cost it several times an empty frame, for a picture that does
//! not change once the layout has settled. The cached layer is one quad.
//! It is redrawn when its [`BaseKey`] changes (model or layout revision,
//! zoom, pan, canvas rectangle, pixel density, theme); whatever follows
//! the pointer (hovered and selected items, labels, icons) is painted over
//! it by egui in each frame.
//!
//! The rasteriser is a plain anti-aliased span filler (coverage of each
//! pixel by the band or disc, blended over in gamma space like egui does):
//! tiny-skia's supersampled path filling took 170 ms for the 3,000 edges
//! of the benchmark graph and its hairlines 80 ms; this takes a few.

use eframe::egui::{self, pos2, Color32, ColorImage, Pos2, Rect, TextureOptions, Vec2};

/// Everything the base layer depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaseKey {
    /// [`super::model::GraphModel::revision`].
    pub model: u64,
    /// [`super::layout::Layout::revision`].
    pub layout: u64,
    /// Screen pixels per world unit.
    pub zoom: f32,
    /// Screen offset of the world origin.
    pub pan: Vec2,
    /// Canvas, in points.
    pub rect: Rect,
    /// Physical pixels per point.
    pub pixels_per_point: f32,
    /// Dark theme.
    pub dark: bool,
}

/// What the base layer shows, in screen points, painted in order.
#[derive(Debug, Clone, Copy)]
pub enum Prim {
    /// An edge: a straight band `width` wide.
    Segment(Pos2, Pos2, f32, Color32),
    /// A node: a filled disc.
    Disc(Pos2, f32, Color32),
}

/// The cached layer.
#[derive(Clone, Default)]
pub struct BaseLayer {
    key: Option<BaseKey>,
    /// The texture and where it goes, in points (whole pixels).
    texture: Option<(egui::TextureHandle, Rect)>,
}

impl std::fmt::Debug for BaseLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseLayer")
            .field("key", &self.key)
            .field(
                "texture",
                &self.texture.as_ref().map(|(t, at)| (t.id(), at)),
            )
            .finish()
    }
}

/// Pixels, premultiplied, drawn over with coverage.
struct Canvas {
    image: ColorImage,
    w: i32,
    h: i32,
}

impl Canvas {
    fn plot(&mut self, x: i32, y: i32, color: Color32, coverage: f32) {
        let c = (coverage.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
        if x < 0 || y < 0 || x >= self.w || y >= self.h || c == 0 {
            return;
        }
        if let Some(p) = self.image.pixels.get_mut((y * self.w + x) as usize) {
            *p = p.blend(if c == u8::MAX {
                color
            } else {
                color.gamma_multiply_u8(c)
            });
        }
    }

    /// A straight band from `a` to `b`, `width` across (butt ends), in
    /// pixels: one run of pixels across it per pixel along its major axis.
    fn band(&mut self, a: Pos2, b: Pos2, width: f32, color: Color32) {
        let steep = (b.y - a.y).abs() > (b.x - a.x).abs();
        // (u, v): u along the major axis.
        let flip = |p: Pos2| if steep { pos2(p.y, p.x) } else { p };
        let (mut a, mut b) = (flip(a), flip(b));
        if a.x > b.x {
            std::mem::swap(&mut a, &mut b);
        }
        let slope = (b.y - a.y) / (b.x - a.x).max(1e-6);
        // Thickness of the band along v.
        let half = width * 0.5 * (1.0 + slope * slope).sqrt();
        let (u_len, v_len) = if steep {
            (self.h, self.w)
        } else {
            (self.w, self.h)
        };
        let u0 = (a.x.floor() as i32).max(0);
        let u1 = (b.x.ceil() as i32).min(u_len);
        for u in u0..u1 {
            let uc = u as f32 + 0.5;
            let ends = (uc - a.x + 0.5).clamp(0.0, 1.0) * (b.x - uc + 0.5).clamp(0.0, 1.0);
            let vc = a.y + slope * (uc - a.x);
            let (lo, hi) = (vc - half, vc + half);
            let v0 = (lo.floor() as i32).max(0);
            let v1 = (hi.ceil() as i32).min(v_len);
            for v in v0..v1 {
                let cover = (hi.min(v as f32 + 1.0) - lo.max(v as f32)).clamp(0.0, 1.0);
                let (x, y) = if steep { (v, u) } else { (u, v) };
                self.plot(x, y, color, cover * ends);
            }
        }
    }

    /// A filled disc, its rim anti-aliased over one pixel.
    fn disc(&mut self, c: Pos2, r: f32, color: Color32) {
        let y0 = ((c.y - r - 1.0).floor() as i32).max(0);
        let y1 = ((c.y + r + 1.0).ceil() as i32).min(self.h);
        let x0 = ((c.x - r - 1.0).floor() as i32).max(0);
        let x1 = ((c.x + r + 1.0).ceil() as i32).min(self.w);
        for y in y0..y1 {
            for x in x0..x1 {
                let d = pos2(x as f32 + 0.5, y as f32 + 0.5).distance(c);
                self.plot(x, y, color, r - d + 0.5);
            }
        }
    }
}

impl BaseLayer {
    /// True when the layer already shows `key`.
    pub fn is_current(&self, key: &BaseKey) -> bool {
        self.key.as_ref() == Some(key) && self.texture.is_some()
    }

    /// Redraws the layer: `background`, then `prims` in order.
    pub fn render(
        &mut self,
        ctx: &egui::Context,
        key: BaseKey,
        background: Color32,
        prims: &[Prim],
    ) {
        let ppp = key.pixels_per_point;
        let w = (key.rect.width() * ppp).round().max(1.0) as usize;
        let h = (key.rect.height() * ppp).round().max(1.0) as usize;
        let mut canvas = Canvas {
            image: ColorImage::filled([w, h], background),
            w: w as i32,
            h: h as i32,
        };
        let origin = key.rect.min;
        let px = |p: Pos2| ((p - origin) * ppp).to_pos2();
        for prim in prims {
            match *prim {
                // At least a pixel wide: thinner bands would flicker.
                Prim::Segment(a, b, width, color) => {
                    canvas.band(px(a), px(b), (width * ppp).max(1.0), color);
                }
                Prim::Disc(c, radius, color) => canvas.disc(px(c), radius * ppp, color),
            }
        }
        let at = Rect::from_min_size(origin, Vec2::new(w as f32, h as f32) / ppp);
        match &mut self.texture {
            Some((t, old)) => {
                t.set(canvas.image, TextureOptions::NEAREST);
                *old = at;
            }
            None => {
                let t = ctx.load_texture("graph-base", canvas.image, TextureOptions::NEAREST);
                self.texture = Some((t, at));
            }
        }
        self.key = Some(key);
    }

    /// Paints the layer (one textured quad).
    pub fn paint(&self, painter: &egui::Painter) {
        if let Some((t, at)) = &self.texture {
            let uv = Rect::from_min_max(Pos2::ZERO, pos2(1.0, 1.0));
            painter.image(t.id(), *at, uv, Color32::WHITE);
        }
    }
}
