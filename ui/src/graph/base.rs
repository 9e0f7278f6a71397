//! The graph's base layer (background, edges, discs), rasterised on the
//! CPU, off the UI thread, and kept as one texture until what it shows
//! changes.
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
//! Redrawing the benchmark graph (2,000 discs, 3,000 long edges at
//! 1280×800) takes ~35 ms, more than two frames, and the key changes in every
//! frame while the layout settles or the view pans or zooms. So the UI
//! thread never rasterises: it hands a snapshot of the primitives
//! ([`Prim`], in screen points for the key) to a worker thread and keeps
//! showing the last finished picture, moved and scaled from the view it
//! was drawn for to the current one ([`BaseKey::map_to`]); what a pan
//! reveals at the edge stays empty, and a moving layout lags by a picture,
//! until the next one arrives. At most one job is in flight; when it
//! finishes, the next frame uploads it and sends the newest snapshot
//! (intermediate ones are never built). Once nothing moves, the last job
//! is for the current key and the picture is exactly what a synchronous
//! redraw would give.
//!
//! The worker shares two cores with the UI thread and llvmpipe's two
//! rasteriser threads, and every millisecond it runs during a frame
//! lengthens that frame. So it is paced: a pan or zoom (only the view
//! differs from the picture's) is redrawn once the view has been still for
//! [`GESTURE_PAUSE`], the moved and scaled picture costing nothing until
//! then; and after each job the worker rests [`REST_PER_WORK`] times as
//! long as it worked (a settling layout gets a new picture every ~150 ms).
//!
//! The rasteriser is a plain anti-aliased span filler (coverage of each
//! pixel by the band or disc, blended over in gamma space like egui does):
//! tiny-skia's supersampled path filling took 170 ms for the 3,000 edges
//! of the benchmark graph and its hairlines 80 ms; this takes ~35 ms.

use eframe::egui::{self, pos2, Color32, ColorImage, Pos2, Rect, TextureOptions, Vec2};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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

/// A pan or zoom is taken as over once the view has not moved for this
/// long: only then is its picture redrawn (until then the last one is
/// shown moved and scaled, which costs nothing).
pub const GESTURE_PAUSE: Duration = Duration::from_millis(150);

/// After each job the worker rests this many times as long as it worked,
/// so that it leaves the UI thread and llvmpipe's rasteriser threads most
/// of the machine while the layout settles (frame benchmark, settling
/// frames' wall p99: ~24 ms resting as long as it worked, ~22 ms resting
/// three times as long, ~20 ms with no picture at all while settling).
pub const REST_PER_WORK: f32 = 3.0;

impl BaseKey {
    /// Same zoom, pan and canvas.
    fn same_view(&self, other: &BaseKey) -> bool {
        (self.zoom, self.pan, self.rect) == (other.zoom, other.pan, other.rect)
    }

    /// Everything but the zoom and pan is the same.
    fn same_scene(&self, other: &BaseKey) -> bool {
        let Self {
            model,
            layout,
            zoom: _,
            pan: _,
            rect,
            pixels_per_point,
            dark,
        } = *self;
        (model, layout, rect, pixels_per_point, dark)
            == (
                other.model,
                other.layout,
                other.rect,
                other.pixels_per_point,
                other.dark,
            )
    }

    /// Where the world point drawn at `p` for this key is drawn for `to`.
    pub fn map_to(&self, to: &BaseKey, p: Pos2) -> Pos2 {
        if self.same_view(to) {
            return p;
        }
        let scale = to.zoom / self.zoom;
        to.rect.center() + to.pan + (p - self.rect.center() - self.pan) * scale
    }
}

/// What the base layer shows, in screen points, painted in order.
#[derive(Debug, Clone, Copy)]
pub enum Prim {
    /// An edge: a straight band `width` wide.
    Segment(Pos2, Pos2, f32, Color32),
    /// A node: a filled disc.
    Disc(Pos2, f32, Color32),
}

/// Pixels, premultiplied, drawn over with coverage.
struct Canvas {
    image: ColorImage,
    w: i32,
    h: i32,
}

/// A colour's red and blue (`0x00bb_00rr`) and green and alpha
/// (`0x00aa_00gg`) channels, two to a word, so that one multiply scales two.
#[derive(Clone, Copy)]
struct Packed(u32, u32);

impl Packed {
    fn new(c: Color32) -> Self {
        let x = u32::from_le_bytes(c.to_array());
        Packed(x & 0x00ff_00ff, (x >> 8) & 0x00ff_00ff)
    }

    /// Each channel times `f / 255`, rounded.
    fn scale(self, f: u32) -> Self {
        Packed(mul2(self.0, f), mul2(self.1, f))
    }

    /// `self` over `dst`, both premultiplied (like `Color32::blend`).
    fn over(self, dst: Color32) -> Color32 {
        let d = Packed::new(dst).scale(255 - (self.1 >> 16));
        let rb = add2(d.0, self.0);
        let ga = add2(d.1, self.1);
        Color32::from_rgba_premultiplied(rb as u8, ga as u8, (rb >> 16) as u8, (ga >> 16) as u8)
    }
}

/// Both 8-bit channels of `x` (`0x00ff_00ff` lanes) times `f / 255`,
/// rounded to nearest (exact for all inputs).
fn mul2(x: u32, f: u32) -> u32 {
    let t = x * f + 0x0080_0080;
    ((t + ((t >> 8) & 0x00ff_00ff)) >> 8) & 0x00ff_00ff
}

/// Both lanes added, each saturating at 255.
fn add2(a: u32, b: u32) -> u32 {
    let s = a + b;
    (s | (((s >> 8) & 0x0001_0001) * 0xff)) & 0x00ff_00ff
}

impl Canvas {
    fn plot(&mut self, x: i32, y: i32, color: Packed, coverage: f32) {
        let c = (coverage.clamp(0.0, 1.0) * 255.0 + 0.5) as u32;
        if x < 0 || y < 0 || x >= self.w || y >= self.h || c == 0 {
            return;
        }
        if let Some(p) = self.image.pixels.get_mut((y * self.w + x) as usize) {
            *p = if c == 255 { color } else { color.scale(c) }.over(*p);
        }
    }

    /// A straight band from `a` to `b`, `width` across (butt ends), in
    /// pixels: one run of pixels across it per pixel along its major axis.
    fn band(&mut self, a: Pos2, b: Pos2, width: f32, color: Packed) {
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
    fn disc(&mut self, c: Pos2, r: f32, color: Packed) {
        let y0 = ((c.y - r - 1.0).floor() as i32).max(0);
        let y1 = ((c.y + r + 1.0).ceil() as i32).min(self.h);
        let x0 = ((c.x - r - 1.0).floor() as i32).max(0);
        let x1 = ((c.x + r + 1.0).ceil() as i32).min(self.w);
        // Coverage is r - d + 1/2: whole inside r - 1/2, none outside
        // r + 1/2; a square root only on the rim (`distance` is `hypot`,
        // which took 40% of the rasteriser's time).
        let inner = if r >= 0.5 { (r - 0.5).powi(2) } else { -1.0 };
        let outer = (r + 0.5).powi(2);
        for y in y0..y1 {
            let dy = y as f32 + 0.5 - c.y;
            for x in x0..x1 {
                let dx = x as f32 + 0.5 - c.x;
                let d2 = dx * dx + dy * dy;
                if d2 >= outer {
                    continue;
                }
                let cover = if d2 <= inner {
                    1.0
                } else {
                    r - d2.sqrt() + 0.5
                };
                self.plot(x, y, color, cover);
            }
        }
    }
}

/// Rasterises `prims` over `background` for `key`; returns the image and
/// where it goes, in points (whole pixels).
pub fn rasterise(key: &BaseKey, background: Color32, prims: &[Prim]) -> (ColorImage, Rect) {
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
                canvas.band(px(a), px(b), (width * ppp).max(1.0), Packed::new(color));
            }
            Prim::Disc(c, radius, color) => canvas.disc(px(c), radius * ppp, Packed::new(color)),
        }
    }
    let at = Rect::from_min_size(origin, Vec2::new(w as f32, h as f32) / ppp);
    (canvas.image, at)
}

/// A finished picture and what its producer said about it.
struct Picture<T> {
    key: BaseKey,
    image: ColorImage,
    at: Rect,
    meta: T,
    /// Time the worker took.
    took: Duration,
}

/// How the worker has been doing (benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BaseStats {
    /// Pictures shown so far.
    pub pictures: u64,
    /// Time the worker took for the last one.
    pub last: Duration,
}

/// The picture on screen.
struct Shown<T> {
    key: BaseKey,
    texture: egui::TextureHandle,
    /// Where the texture goes for `key`, in points.
    at: Rect,
    meta: T,
}

/// The cached layer. `T` is what the caller learnt while building a
/// snapshot's primitives (kept with the picture it became).
pub struct BaseLayer<T> {
    shown: Option<Shown<T>>,
    /// The job in flight, for its key.
    job: Option<(BaseKey, JoinHandle<Picture<T>>)>,
    /// The key of a job that panicked: not sent again.
    failed: Option<BaseKey>,
    stats: BaseStats,
    /// Last frame's key.
    seen: Option<BaseKey>,
    /// When the zoom or pan last changed.
    view_moved: Instant,
    /// No job starts before this.
    rested_at: Instant,
}

impl<T> Default for BaseLayer<T> {
    fn default() -> Self {
        BaseLayer {
            shown: None,
            job: None,
            failed: None,
            stats: BaseStats::default(),
            seen: None,
            view_moved: Instant::now(),
            rested_at: Instant::now(),
        }
    }
}

impl<T> std::fmt::Debug for BaseLayer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BaseLayer")
            .field(
                "shown",
                &self.shown.as_ref().map(|s| (s.key, s.texture.id())),
            )
            .field("job", &self.job.as_ref().map(|(k, _)| k))
            .field("failed", &self.failed)
            .finish()
    }
}

impl<T: Send + 'static> BaseLayer<T> {
    /// Takes the finished job, if any, and shows its picture; returns true
    /// when a snapshot for `key` (this frame's) should be sent now. Call
    /// once at the start of each frame; never waits.
    ///
    /// A snapshot waits while the worker rests (as long as it last worked,
    /// see [`REST_PER_WORK`]) and, when only the zoom or pan differ from
    /// the picture's, until the view has stopped moving for
    /// [`GESTURE_PAUSE`]; a repaint is asked for when it may go.
    pub fn poll(&mut self, ctx: &egui::Context, key: &BaseKey) -> bool {
        let now = Instant::now();
        if self.job.as_ref().is_some_and(|(_, j)| j.is_finished()) {
            if let Some((key, job)) = self.job.take() {
                match job.join() {
                    Ok(picture) => {
                        self.rested_at = now + picture.took.mul_f32(REST_PER_WORK);
                        self.show(ctx, picture);
                    }
                    Err(_) => {
                        tracing::error!(
                            "the graph rasteriser panicked; the graph picture is stale"
                        );
                        self.failed = Some(key);
                    }
                }
            }
        }
        if self.seen.is_none_or(|k| !k.same_view(key)) {
            self.view_moved = now;
        }
        self.seen = Some(*key);
        if self.is_current(key) || self.job.is_some() || self.failed == Some(*key) {
            return false;
        }
        let mut ready = self.rested_at;
        if self.shown.as_ref().is_some_and(|s| s.key.same_scene(key)) {
            ready = ready.max(self.view_moved + GESTURE_PAUSE);
        }
        if now < ready {
            ctx.request_repaint_after(ready - now);
            return false;
        }
        true
    }

    fn show(&mut self, ctx: &egui::Context, p: Picture<T>) {
        self.stats = BaseStats {
            pictures: self.stats.pictures + 1,
            last: p.took,
        };
        let texture = match self.shown.take() {
            Some(Shown { mut texture, .. }) => {
                texture.set(p.image, TextureOptions::NEAREST);
                texture
            }
            None => ctx.load_texture("graph-base", p.image, TextureOptions::NEAREST),
        };
        self.shown = Some(Shown {
            key: p.key,
            texture,
            at: p.at,
            meta: p.meta,
        });
    }

    /// True when the picture on screen was drawn for `key`.
    pub fn is_current(&self, key: &BaseKey) -> bool {
        self.shown.as_ref().is_some_and(|s| s.key == *key)
    }

    /// True while a job is in flight.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// How the worker has been doing.
    pub fn stats(&self) -> BaseStats {
        self.stats
    }

    /// True when the last job for a key other than the picture's panicked.
    pub fn failed(&self) -> bool {
        self.failed.is_some()
    }

    /// Has `prims` rasterised over `background` for `key` on a worker
    /// thread, then asks for a repaint; [`Self::poll`] shows the result.
    /// Call only when [`Self::poll`] said so.
    pub fn send(
        &mut self,
        ctx: &egui::Context,
        key: BaseKey,
        background: Color32,
        prims: Vec<Prim>,
        meta: T,
    ) {
        let repaint = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("graph-raster".into())
            .spawn(move || {
                let t0 = Instant::now();
                let (image, at) = rasterise(&key, background, &prims);
                repaint.request_repaint();
                Picture {
                    key,
                    image,
                    at,
                    meta,
                    took: t0.elapsed(),
                }
            });
        match spawned {
            Ok(job) => {
                self.job = Some((key, job));
                self.failed = None;
            }
            Err(e) => {
                tracing::error!("cannot start the graph rasteriser thread: {e}");
                self.failed = Some(key);
            }
        }
    }

    /// The picture's texture.
    #[cfg(test)]
    pub fn texture_id(&self) -> Option<egui::TextureId> {
        self.shown.as_ref().map(|s| s.texture.id())
    }

    /// True when the picture was drawn for the last frame's key.
    #[cfg(test)]
    pub fn up_to_date(&self) -> bool {
        self.seen.is_some_and(|k| self.is_current(&k))
    }

    /// The key of the job in flight.
    #[cfg(test)]
    pub fn in_flight(&self) -> Option<&BaseKey> {
        self.job.as_ref().map(|(k, _)| k)
    }

    /// The picture's key and what its producer said about it.
    pub fn shown(&self) -> Option<(&BaseKey, &T)> {
        self.shown.as_ref().map(|s| (&s.key, &s.meta))
    }

    /// Paints the picture for the view of `key` (one textured quad): moved
    /// and scaled from the view it was drawn for.
    pub fn paint(&self, painter: &egui::Painter, key: &BaseKey) {
        if let Some(s) = &self.shown {
            let at = Rect::from_min_max(s.key.map_to(key, s.at.min), s.key.map_to(key, s.at.max));
            let uv = Rect::from_min_max(Pos2::ZERO, pos2(1.0, 1.0));
            painter.image(s.texture.id(), at, uv, Color32::WHITE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disc_covers_each_pixel_by_its_distance_to_the_centre() {
        let key = BaseKey {
            model: 1,
            layout: 1,
            zoom: 1.0,
            pan: Vec2::ZERO,
            rect: Rect::from_min_size(Pos2::ZERO, Vec2::new(40.0, 30.0)),
            pixels_per_point: 1.0,
            dark: true,
        };
        let (bg, fg) = (
            Color32::from_rgb(0x16, 0x19, 0x1e),
            Color32::from_rgb(200, 90, 40),
        );
        for (c, r) in [
            (pos2(20.0, 15.0), 6.0),
            (pos2(10.3, 7.7), 4.4),
            (pos2(3.0, 3.0), 0.3),
        ] {
            let (img, _) = rasterise(&key, bg, &[Prim::Disc(c, r, fg)]);
            for y in 0..30 {
                for x in 0..40 {
                    let d = pos2(x as f32 + 0.5, y as f32 + 0.5).distance(c);
                    let cover = ((r - d + 0.5).clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                    let want = bg.blend(fg.gamma_multiply_u8(cover));
                    let got = img[(x, y)];
                    for (w, g) in want.to_array().into_iter().zip(got.to_array()) {
                        assert!(w.abs_diff(g) <= 1, "({x}, {y}) of {c:?} r {r}");
                    }
                }
            }
        }
    }

    #[test]
    fn packed_channels_scale_and_blend_like_egui() {
        for x in 0..=255u32 {
            for f in 0..=255u32 {
                let exact = (x * f) as f32 / 255.0;
                let got = mul2(x | (x << 16), f);
                let lo = got & 0xffff;
                assert_eq!(lo, got >> 16);
                assert!((lo as f32 - exact).abs() <= 0.5, "{x} x {f}: {lo}");
            }
        }
        let colors = [
            Color32::from_rgba_unmultiplied(0x8a, 0x96, 0xa8, 0x90),
            Color32::from_rgb(0x16, 0x19, 0x1e),
            Color32::from_rgba_premultiplied(250, 3, 128, 250),
            Color32::TRANSPARENT,
            Color32::WHITE,
        ];
        for src in colors {
            for dst in colors {
                for c in [0, 1, 77, 128, 254, 255] {
                    let want = dst.blend(src.gamma_multiply_u8(c as u8));
                    let got = Packed::new(src).scale(c).over(dst);
                    for (w, g) in want.to_array().into_iter().zip(got.to_array()) {
                        assert!(w.abs_diff(g) <= 1, "{src:?} x {c} over {dst:?}");
                    }
                }
            }
        }
    }
}
