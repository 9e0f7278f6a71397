//! Paints the connection graph with egui's painter and handles its input:
//! wheel/pinch zoom, drag the background to pan, drag a node to pin it,
//! click a node or an edge to select it, hover for counts.

use super::base::{BaseKey, BaseLayer, Prim};
use super::layout::Layout;
use super::model::{GraphModel, NodeKind};
use crate::{icons, theme};
use eframe::egui::{self, Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Vec2};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use std::collections::BTreeMap;

/// What the graph shows selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphPick {
    /// A workload.
    Node(NodeIndex),
    /// A conversation.
    Edge(EdgeIndex),
}

/// Pan/zoom and interaction state kept across frames.
#[derive(Debug)]
pub struct GraphView {
    /// Node positions.
    pub layout: Layout,
    /// Screen pixels per world unit.
    pub zoom: f32,
    /// Screen offset of the world origin from the canvas centre.
    pub pan: Vec2,
    dragging: Option<NodeIndex>,
    /// Screen rectangle of the canvas in the last frame (for PNG export).
    pub last_rect: Option<Rect>,
    /// Keep the whole graph in view until the user pans, zooms or drags.
    pub auto_fit: bool,
    /// Edges and discs, rasterised when they change, with what
    /// [`snapshot`] said about them.
    base: BaseLayer<Summary>,
}

/// What [`snapshot`] drew, for the labels and the status line.
#[derive(Debug, Clone, Default)]
struct Summary {
    /// Edges drawn.
    drawn: usize,
    /// Visible edges left out by the level of detail.
    skipped: usize,
    /// Group names and where they go (none when too many).
    groups: Vec<(String, Pos2)>,
}

impl Default for GraphView {
    fn default() -> Self {
        GraphView {
            layout: Layout::default(),
            zoom: 1.0,
            pan: Vec2::ZERO,
            dragging: None,
            last_rect: None,
            auto_fit: true,
            base: BaseLayer::default(),
        }
    }
}

/// Groups (namespaces, networks) named on the canvas, at most.
const MAX_GROUP_LABELS: usize = 40;

/// Zoomed out (below [`LOD_ZOOM`]), at most this many visible edges are
/// drawn: the heaviest, plus every alerting or selected one.
const EDGE_BUDGET: usize = 3_000;
/// Zoom under which the edge budget applies.
const LOD_ZOOM: f32 = 1.0;

/// Above this many edges, edges get thinner as the view zooms out.
const THIN_EDGES: usize = 1_000;

fn node_radius(bytes: u64) -> f32 {
    (3.0 + (1.0 + bytes as f32).log2() / 2.5).min(14.0)
}

fn edge_width(bytes: u64) -> f32 {
    (0.6 + (1.0 + bytes as f32).log2() / 8.0).min(5.0)
}

/// Width factor of the edges of a graph of `edges` edges at `zoom`.
fn thinning(edges: usize, zoom: f32) -> f32 {
    if edges > THIN_EDGES {
        zoom.sqrt().clamp(0.4, 1.0)
    } else {
        1.0
    }
}

/// On-screen radius of a node's disc.
fn disc_radius(bytes: u64, zoom: f32) -> f32 {
    node_radius(bytes) * zoom.sqrt().clamp(0.5, 2.0)
}

/// What the cached layer shows for `key` (background aside): the heaviest
/// visible edges first (all of them unless zoomed out on a big graph),
/// then the visible nodes; with what that leaves out and the group names.
fn snapshot(
    key: &BaseKey,
    model: &GraphModel,
    pos_of: &dyn Fn(NodeIndex) -> Option<Pos2>,
) -> (Vec<Prim>, Summary) {
    let g = &model.graph;
    let (zoom, dark) = (key.zoom, key.dark);
    let visible = key.rect.expand(20.0);
    let mut prims = Vec::with_capacity(EDGE_BUDGET + g.node_count());
    // Level of detail: a big graph seen whole draws its heaviest edges,
    // thinner.
    let lod = g.edge_count() > EDGE_BUDGET && zoom < LOD_ZOOM;
    let unranked: Vec<EdgeIndex>;
    let order = match model.ranked_edges() {
        Some(r) => r,
        None => {
            unranked = g.edge_indices().collect();
            &unranked
        }
    };
    let thin = thinning(g.edge_count(), zoom);
    let mut summary = Summary::default();
    for &e in order {
        let (Some((a, b)), Some(d)) = (g.edge_endpoints(e), g.edge_weight(e)) else {
            continue;
        };
        let (Some(sa), Some(sb)) = (pos_of(a), pos_of(b)) else {
            continue;
        };
        if !visible.contains(sa) && !visible.contains(sb) {
            continue;
        }
        if lod && summary.drawn >= EDGE_BUDGET && d.severity.is_none() {
            summary.skipped += 1;
            continue;
        }
        summary.drawn += 1;
        let color = theme::severity_color(d.severity).unwrap_or(theme::edge(dark));
        prims.push(Prim::Segment(sa, sb, edge_width(d.bytes) * thin, color));
    }
    // Each group's name above its nodes: (sum of x, count, top).
    let mut groups: BTreeMap<&str, (f32, f32, f32)> = BTreeMap::new();
    for n in g.node_indices() {
        let (Some(s), Some(d)) = (pos_of(n), g.node_weight(n)) else {
            continue;
        };
        if !visible.contains(s) {
            continue;
        }
        let r = disc_radius(d.bytes, zoom);
        let fill =
            theme::severity_color(d.severity).unwrap_or_else(|| theme::group_color(&d.group, dark));
        prims.push(Prim::Disc(s, r, fill));
        let gr = groups
            .entry(d.group.as_str())
            .or_insert((0.0, 0.0, f32::MAX));
        gr.0 += s.x;
        gr.1 += 1.0;
        gr.2 = gr.2.min(s.y - r);
    }
    if groups.len() > 1 && groups.len() <= MAX_GROUP_LABELS {
        summary.groups = groups
            .into_iter()
            .map(|(name, (sx, count, top))| (name.to_owned(), Pos2::new(sx / count, top - 10.0)))
            .collect();
    }
    (prims, summary)
}

fn dist_to_segment(p: Pos2, a: Pos2, b: Pos2) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(ab) / ab.length_sq().max(1e-6)).clamp(0.0, 1.0);
    p.distance(a + ab * t)
}

impl GraphView {
    /// How the base layer's rasteriser has been doing (benchmarks).
    pub fn base_stats(&self) -> super::base::BaseStats {
        self.base.stats()
    }

    /// Centres the view on a node.
    pub fn focus(&mut self, model: &GraphModel, n: NodeIndex) {
        if let Some(p) = model
            .graph
            .node_weight(n)
            .and_then(|d| self.layout.pos(&d.label))
        {
            self.pan = -p.to_vec2() * self.zoom;
        }
    }

    /// Zooms and pans so that every node is in `rect`.
    pub fn fit(&mut self, model: &GraphModel, rect: Rect) {
        let mut bb = Rect::NOTHING;
        for d in model.graph.node_weights() {
            if let Some(p) = self.layout.pos(&d.label) {
                bb.extend_with(p);
            }
        }
        if !(bb.width() >= 0.0 && bb.height() >= 0.0) {
            return;
        }
        let size = bb.size().max(Vec2::splat(120.0));
        let zoom = ((rect.width() - 80.0) / size.x).min((rect.height() - 80.0) / size.y);
        self.zoom = zoom.clamp(0.02, 2.5);
        self.pan = -bb.center().to_vec2() * self.zoom;
    }

    /// Draws the graph in the remaining space; returns a click.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        model: &GraphModel,
        selected: Option<GraphPick>,
    ) -> Option<GraphPick> {
        let (resp, painter) = ui.allocate_painter(ui.available_size(), Sense::click_and_drag());
        let rect = resp.rect;
        self.last_rect = Some(rect);
        let dark = ui.visuals().dark_mode;
        if self.auto_fit {
            self.fit(model, rect);
        }
        let center = rect.center();
        let to_screen = |p: Pos2, zoom: f32, pan: Vec2| center + pan + p.to_vec2() * zoom;
        if resp.hovered() {
            let (scroll, pinch, pointer) = ui.input(|i| {
                (
                    i.smooth_scroll_delta.y,
                    i.zoom_delta(),
                    i.pointer.hover_pos(),
                )
            });
            let factor = pinch * (scroll / 400.0).exp();
            if (factor - 1.0).abs() > 1e-4 {
                self.auto_fit = false;
                let new_zoom = (self.zoom * factor).clamp(0.02, 20.0);
                // Zoom about the pointer.
                if let Some(ptr) = pointer {
                    let world = (ptr - center - self.pan) / self.zoom;
                    self.pan = ptr - center - world * new_zoom;
                }
                self.zoom = new_zoom;
            }
        }
        let (zoom, pan) = (self.zoom, self.pan);
        let g = &model.graph;
        // World positions by node index, looked up once per frame.
        let mut world: Vec<Option<Pos2>> =
            vec![None; g.node_indices().map(|n| n.index() + 1).max().unwrap_or(0)];
        for n in g.node_indices() {
            if let (Some(d), Some(slot)) = (g.node_weight(n), world.get_mut(n.index())) {
                *slot = self.layout.pos(&d.label);
            }
        }
        let pos_of = |n: NodeIndex| -> Option<Pos2> {
            world
                .get(n.index())
                .copied()
                .flatten()
                .map(|p| to_screen(p, zoom, pan))
        };
        let pointer = resp.hover_pos().or_else(|| resp.interact_pointer_pos());
        // Hit test: nodes first, then edges.
        let mut hit_node = None;
        let mut hit_edge = None;
        if let Some(p) = pointer {
            let mut best = f32::MAX;
            for n in g.node_indices() {
                if let (Some(s), Some(d)) = (pos_of(n), g.node_weight(n)) {
                    let r = node_radius(d.bytes) * zoom.sqrt().max(0.5) + 3.0;
                    let dist = s.distance(p);
                    if dist < r && dist < best {
                        best = dist;
                        hit_node = Some(n);
                    }
                }
            }
            if hit_node.is_none() {
                let mut best = 5.0;
                for e in g.edge_indices() {
                    if let Some((a, b)) = g.edge_endpoints(e) {
                        if let (Some(sa), Some(sb)) = (pos_of(a), pos_of(b)) {
                            let d = dist_to_segment(p, sa, sb);
                            if d < best {
                                best = d;
                                hit_edge = Some(e);
                            }
                        }
                    }
                }
            }
        }
        // Drag: a node pins, the background pans.
        if resp.drag_started() {
            self.dragging = hit_node;
            self.auto_fit = false;
        }
        if resp.dragged() {
            match self.dragging {
                Some(n) => {
                    if let (Some(p), Some(d)) = (resp.interact_pointer_pos(), g.node_weight(n)) {
                        let world = ((p - center - self.pan) / self.zoom).to_pos2();
                        self.layout.pin(&d.label, world);
                    }
                }
                None => self.pan += resp.drag_delta(),
            }
        }
        if resp.drag_stopped() {
            self.dragging = None;
        }
        let (zoom, pan) = (self.zoom, self.pan);
        if let Some((n, p)) = self.dragging.zip(resp.interact_pointer_pos()) {
            if let Some(slot) = world.get_mut(n.index()) {
                *slot = Some(((p - center - pan) / zoom).to_pos2());
            }
        }
        let pos_of = |n: NodeIndex| -> Option<Pos2> {
            world
                .get(n.index())
                .copied()
                .flatten()
                .map(|p| to_screen(p, zoom, pan))
        };
        let visible = rect.expand(20.0);
        let key = BaseKey {
            model: model.revision(),
            layout: self.layout.revision(),
            zoom,
            pan,
            rect,
            pixels_per_point: ui.ctx().pixels_per_point(),
            dark,
        };
        if self.base.poll(ui.ctx(), &key) {
            let (prims, summary) = snapshot(&key, model, &pos_of);
            self.base
                .send(ui.ctx(), key, theme::canvas(dark), prims, summary);
        }
        self.base.paint(&painter, &key);
        // Over the cached layer, each frame: what follows the pointer and
        // the selection, and the labels.
        let few_edges = g.edge_count() <= 200 || zoom > 1.5;
        let few_nodes = g.node_count() <= 300 || zoom > 1.2;
        let text_color = ui.visuals().text_color();
        let font = FontId::proportional(11.0);
        let mut shapes: Vec<Shape> = Vec::new();
        let mut labels: Vec<(Pos2, String, Color32)> = Vec::new();
        let edge_label = |e: EdgeIndex| {
            let (a, b) = g.edge_endpoints(e)?;
            let (sa, sb) = (pos_of(a)?, pos_of(b)?);
            let d = g.edge_weight(e)?;
            Some((sa, sb, d))
        };
        if few_edges {
            for e in g.edge_indices() {
                if let Some((sa, sb, d)) = edge_label(e) {
                    if visible.contains(sa) || visible.contains(sb) {
                        labels.push((
                            sa + (sb - sa) * 0.5,
                            d.label(),
                            text_color.gamma_multiply(0.7),
                        ));
                    }
                }
            }
        }
        let selected_edge = match selected {
            Some(GraphPick::Edge(e)) => Some(e),
            _ => None,
        };
        let chosen_edges = [
            selected_edge,
            hit_edge.filter(|e| Some(*e) != selected_edge),
        ];
        for e in chosen_edges.into_iter().flatten() {
            if let Some((sa, sb, d)) = edge_label(e) {
                let color = theme::severity_color(d.severity).unwrap_or(theme::edge(dark));
                let w = edge_width(d.bytes) * thinning(g.edge_count(), zoom) * 2.5;
                shapes.push(Shape::line_segment([sa, sb], Stroke::new(w, color)));
                if !few_edges {
                    labels.push((
                        sa + (sb - sa) * 0.5,
                        d.label(),
                        text_color.gamma_multiply(0.7),
                    ));
                }
            }
        }
        // Icons only where they can be seen: few nodes, or zoomed in.
        let icon_tint = theme::canvas(dark);
        let mut icon_of = std::collections::HashMap::new();
        if few_nodes {
            for kind in [NodeKind::Pod, NodeKind::Internal, NodeKind::External] {
                for alert in [false, true] {
                    if let Some(t) = icons::texture(ui.ctx(), icons::node(kind, alert)) {
                        icon_of.insert((kind, alert), t);
                    }
                }
            }
            for n in g.node_indices() {
                let (Some(s), Some(d)) = (pos_of(n), g.node_weight(n)) else {
                    continue;
                };
                if !visible.contains(s) {
                    continue;
                }
                let r = disc_radius(d.bytes, zoom);
                if r >= 6.0 {
                    if let Some(t) = icon_of.get(&(d.kind, d.severity.is_some())) {
                        let uv = Rect::from_min_max(Pos2::ZERO, Pos2::new(1.0, 1.0));
                        let at = Rect::from_center_size(s, Vec2::splat(r * 1.25));
                        shapes.push(Shape::image(*t, at, uv, icon_tint));
                    }
                }
                labels.push((s + Vec2::new(0.0, r + 7.0), d.label.clone(), text_color));
            }
        }
        let selected_node = match selected {
            Some(GraphPick::Node(n)) => Some(n),
            _ => None,
        };
        let chosen_nodes = [
            selected_node,
            hit_node.filter(|n| Some(*n) != selected_node),
        ];
        for n in chosen_nodes.into_iter().flatten() {
            let (Some(s), Some(d)) = (pos_of(n), g.node_weight(n)) else {
                continue;
            };
            let r = disc_radius(d.bytes, zoom);
            shapes.push(Shape::circle_stroke(
                s,
                r + 3.0,
                Stroke::new(2.0, theme::accent(dark)),
            ));
            if !few_nodes {
                labels.push((s + Vec2::new(0.0, r + 7.0), d.label.clone(), text_color));
            }
        }
        painter.extend(shapes);
        for (p, t, c) in labels {
            painter.text(p, Align2::CENTER_CENTER, t, font.clone(), c);
        }
        let group_font = FontId::proportional(13.0);
        let empty = (key, Summary::default());
        let (drawn_for, summary) = self.base.shown().unwrap_or((&empty.0, &empty.1));
        // Where the picture is: it may lag the view by a frame or a few.
        for (name, at) in &summary.groups {
            painter.text(
                drawn_for.map_to(&key, *at),
                Align2::CENTER_BOTTOM,
                name,
                group_font.clone(),
                theme::group_color(name, dark),
            );
        }
        let (drawn, skipped) = (summary.drawn, summary.skipped);
        painter.text(
            rect.left_bottom() + Vec2::new(8.0, -8.0),
            Align2::LEFT_BOTTOM,
            format!(
                "{} workloads · {} conversations{}{}{}",
                g.node_count(),
                g.edge_count(),
                if skipped > 0 {
                    format!(" · {drawn} heaviest shown, zoom in for all")
                } else {
                    String::new()
                },
                if self.layout.settled() {
                    ""
                } else {
                    " · laying out..."
                },
                if self.base.failed() {
                    " · drawing the graph failed (see the log)"
                } else {
                    ""
                }
            ),
            font.clone(),
            text_color.gamma_multiply(0.7),
        );
        let resp = if let Some(n) = hit_node.and_then(|n| g.node_weight(n)) {
            resp.on_hover_text_at_pointer(format!(
                "{}\n{}\n{} flows · {} packets · {} bytes",
                n.label, n.group, n.flows, n.packets, n.bytes
            ))
        } else if let Some(e) = hit_edge.and_then(|e| g.edge_weight(e)) {
            resp.on_hover_text_at_pointer(format!(
                "{}\n{} flows · {} packets · {} bytes",
                e.label(),
                e.flows.len(),
                e.packets,
                e.bytes
            ))
        } else {
            resp
        };
        if resp.clicked() {
            return hit_node
                .map(GraphPick::Node)
                .or(hit_edge.map(GraphPick::Edge));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::base::{rasterise, GESTURE_PAUSE, REST_PER_WORK};
    use super::super::test_flow as flow;
    use super::*;
    use osprey_analysis::filter::FlowAlerts;
    use osprey_analysis::store::query::FlowSummary;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn model(flows: &[FlowSummary]) -> GraphModel {
        GraphModel::build(flows, &FlowAlerts::default(), &Default::default(), None)
    }

    /// A frame's output; its texture updates count as handled once the
    /// test has looked at them (egui checks, in debug builds, that none
    /// is dropped unhandled).
    struct Frame(egui::FullOutput);

    impl std::ops::Deref for Frame {
        type Target = egui::FullOutput;
        fn deref(&self) -> &egui::FullOutput {
            &self.0
        }
    }

    impl Drop for Frame {
        fn drop(&mut self) {
            self.0.textures_delta.clear();
        }
    }

    fn frame(
        ctx: &egui::Context,
        view: &mut GraphView,
        model: &GraphModel,
        selected: Option<GraphPick>,
    ) -> Frame {
        let raw = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 300.0))),
            ..Default::default()
        };
        Frame(ctx.run_ui(raw, |ui| {
            view.show(ui, model, selected);
        }))
    }

    /// The base layer uploaded in this frame (none when it was reused).
    fn uploaded(out: &egui::FullOutput, view: &GraphView) -> Option<Arc<ColorImage>> {
        let rect = view.last_rect?;
        let size = [rect.width() as usize, rect.height() as usize];
        out.textures_delta
            .set
            .values()
            .flat_map(|deltas| deltas.iter())
            .find_map(|d| {
                let egui::epaint::ImageData::Color(img) = &d.image;
                (img.size == size).then(|| img.clone())
            })
    }

    /// The base layer's pixel under node `label`.
    fn pixel_at(img: &ColorImage, view: &GraphView, label: &str) -> Option<Color32> {
        let rect = view.last_rect?;
        let s = rect.center() + view.pan + view.layout.pos(label)?.to_vec2() * view.zoom;
        let p = s - rect.min;
        Some(img[(p.x as usize, p.y as usize)])
    }

    use eframe::egui::ColorImage;

    /// Runs frames until the worker's picture for the current view is on
    /// screen; returns the frame that uploaded it.
    fn drawn(
        ctx: &egui::Context,
        view: &mut GraphView,
        model: &GraphModel,
        selected: Option<GraphPick>,
    ) -> Frame {
        let t0 = Instant::now();
        loop {
            let out = frame(ctx, view, model, selected);
            if uploaded(&out, view).is_some() && view.base.up_to_date() {
                return out;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "the rasteriser did not answer"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Waits for the worker's rest after its last picture (see
    /// [`super::super::base::REST_PER_WORK`]).
    fn rest(view: &GraphView) {
        let last = view.base.stats().last;
        std::thread::sleep(last.mul_f32(REST_PER_WORK) + Duration::from_millis(2));
    }

    /// The repaint the frame asked for, at the latest.
    fn repaint_in(out: &egui::FullOutput) -> Option<Duration> {
        out.viewport_output
            .get(&egui::ViewportId::ROOT)
            .map(|v| v.repaint_delay)
    }

    /// Where the frame painted the base layer's texture.
    fn base_rect(out: &egui::FullOutput, view: &GraphView) -> Option<Rect> {
        let id = view.base.texture_id()?;
        out.shapes.iter().find_map(|c| match &c.shape {
            Shape::Mesh(m) if m.texture_id == id => {
                let mut r = Rect::NOTHING;
                m.vertices.iter().for_each(|v| r.extend_with(v.pos));
                Some(r)
            }
            _ => None,
        })
    }

    /// The layer a synchronous redraw gives for the picture's key, with the
    /// layout and model as they are now.
    fn synchronous(view: &GraphView, model: &GraphModel) -> ColorImage {
        let (key, _) = view.base.shown().expect("a picture");
        let pos_of = |n: NodeIndex| {
            let p = view.layout.pos(&model.graph.node_weight(n)?.label)?;
            Some(key.rect.center() + key.pan + p.to_vec2() * key.zoom)
        };
        let (prims, _) = snapshot(key, model, &pos_of);
        rasterise(key, theme::canvas(key.dark), &prims).0
    }

    #[test]
    fn the_cached_layer_is_redrawn_on_every_change_and_only_then() {
        let flows = [
            flow(1, "10.0.0.1", "10.0.0.2"),
            flow(2, "10.0.0.1", "10.0.0.3"),
        ];
        let m = model(&flows);
        let mut view = GraphView::default();
        view.layout.sync(&m);
        while !view.layout.settled() {
            view.layout.step(&m, 10);
        }
        let ctx = egui::Context::default();
        let fill = theme::group_color(&m.graph[m.find("10.0.0.1").unwrap()].group, true);
        // The first frame sends the layer to the worker and shows nothing.
        let out = frame(&ctx, &mut view, &m, None);
        assert!(uploaded(&out, &view).is_none() && view.base.busy());
        assert!(base_rect(&out, &view).is_none());
        let out = drawn(&ctx, &mut view, &m, None);
        let img = uploaded(&out, &view).expect("the worker's layer");
        assert_eq!(pixel_at(&img, &view, "10.0.0.1"), Some(fill));
        assert!(*img == synchronous(&view, &m));
        let rect = view.last_rect.unwrap();
        assert_eq!(base_rect(&out, &view), Some(rect));

        // Nothing changed: the texture is reused, no job is sent.
        let out = frame(&ctx, &mut view, &m, None);
        assert!(uploaded(&out, &view).is_none() && !view.base.busy());
        assert_eq!(base_rect(&out, &view), Some(rect));

        // Selecting is painted over the cached layer, in the same frame.
        let ring = |out: &egui::FullOutput| {
            out.shapes.iter().any(
                |c| matches!(&c.shape, Shape::Circle(k) if k.stroke.color == theme::accent(true)),
            )
        };
        assert!(!ring(&out));
        let a = m.find("10.0.0.1").map(GraphPick::Node);
        let out = frame(&ctx, &mut view, &m, a);
        assert!(ring(&out) && uploaded(&out, &view).is_none() && !view.base.busy());

        // A moved node (drag, layout step): the old picture until the
        // worker's arrives, then the node where it now is.
        view.auto_fit = false;
        let old = pixel_at(&img, &view, "10.0.0.1");
        let p = view.layout.pos("10.0.0.1").unwrap();
        view.layout
            .pin("10.0.0.1", p + Vec2::new(30.0 / view.zoom, 0.0));
        rest(&view);
        let out = frame(&ctx, &mut view, &m, None);
        assert!(uploaded(&out, &view).is_none() && view.base.busy());
        assert_eq!(base_rect(&out, &view), Some(rect));
        // Moved again while the worker is busy: at most one job, the
        // newest layout is sent once the first one's picture is in (and
        // the worker has rested).
        let first = view.base.in_flight().map(|k| k.layout);
        view.layout
            .pin("10.0.0.1", p + Vec2::new(40.0 / view.zoom, 0.0));
        frame(&ctx, &mut view, &m, None);
        let newest = Some(view.layout.revision());
        match view.base.in_flight().map(|k| k.layout) {
            // Still on the first job.
            job if job == first => {}
            // The first picture came in: the newest is sent, or waits for
            // the worker's rest.
            job if job == newest || job.is_none() => {
                assert_eq!(view.base.shown().map(|(k, _)| k.layout), first);
            }
            job => panic!("job for layout {job:?}, neither {first:?} nor {newest:?}"),
        }
        let out = drawn(&ctx, &mut view, &m, None);
        assert_eq!(view.base.shown().map(|(k, _)| k.layout), newest);
        let img = uploaded(&out, &view).expect("a pin redraws the layer");
        assert_eq!(pixel_at(&img, &view, "10.0.0.1"), Some(fill));
        let was = rect.center() + view.pan + p.to_vec2() * view.zoom - rect.min;
        assert_ne!(Some(img[(was.x as usize, was.y as usize)]), old);
        assert!(*img == synchronous(&view, &m));

        // Zoom about the canvas centre: the old picture, scaled, until the
        // view has stopped moving for a while; then the worker's.
        let origin = rect.center();
        view.zoom *= 1.5;
        view.pan *= 1.5;
        rest(&view);
        let out = frame(&ctx, &mut view, &m, None);
        assert!(uploaded(&out, &view).is_none() && !view.base.busy());
        assert!(repaint_in(&out) <= Some(GESTURE_PAUSE));
        let scaled = Rect::from_min_max(
            origin + (rect.min - origin) * 1.5,
            origin + (rect.max - origin) * 1.5,
        );
        let shown = base_rect(&out, &view).expect("the old picture");
        assert!(
            (shown.min - scaled.min).length() < 1e-3 && (shown.max - scaled.max).length() < 1e-3,
            "{shown:?} is not {scaled:?}"
        );
        let out = drawn(&ctx, &mut view, &m, None);
        let img = uploaded(&out, &view).expect("a zoom redraws the layer");
        assert_eq!(pixel_at(&img, &view, "10.0.0.1"), Some(fill));
        assert!(*img == synchronous(&view, &m));
        assert_eq!(base_rect(&out, &view), Some(rect));

        // Pan, frame after frame: the old picture, moved, and no job while
        // the view keeps moving; then only the newest view is drawn,
        // exactly.
        let t0 = Instant::now();
        let mut moved = Vec2::ZERO;
        for step in [
            Vec2::new(10.0, -5.0),
            Vec2::new(7.0, 3.0),
            Vec2::new(-2.0, 1.0),
        ] {
            view.pan += step;
            moved += step;
            let out = frame(&ctx, &mut view, &m, None);
            assert_eq!(base_rect(&out, &view), Some(rect.translate(moved)));
            if t0.elapsed() < GESTURE_PAUSE {
                assert!(uploaded(&out, &view).is_none() && !view.base.busy());
            }
        }
        let out = drawn(&ctx, &mut view, &m, None);
        let img = uploaded(&out, &view).expect("a pan redraws the layer");
        assert_eq!(pixel_at(&img, &view, "10.0.0.1"), Some(fill));
        assert!(*img == synchronous(&view, &m));
        assert_eq!(base_rect(&out, &view), Some(rect));
        assert_eq!(view.base.shown().map(|(k, _)| k.pan), Some(view.pan));

        // Another model (a time window, new flows): a heavier node is bigger.
        let heavier: Vec<FlowSummary> = (3..40).map(|i| flow(i, "10.0.0.1", "10.0.0.2")).collect();
        let m2 = model(&[flows.as_slice(), &heavier].concat());
        rest(&view);
        let out = frame(&ctx, &mut view, &m2, None);
        assert!(uploaded(&out, &view).is_none() && view.base.busy());
        let out = drawn(&ctx, &mut view, &m2, None);
        let img = uploaded(&out, &view).expect("a new model redraws the layer");
        assert!(*img == synchronous(&view, &m2));

        // The theme.
        ctx.set_visuals(egui::Visuals::light());
        let out = drawn(&ctx, &mut view, &m2, None);
        let img = uploaded(&out, &view).expect("the theme redraws the layer");
        assert_eq!(img[(1, 1)], theme::canvas(false));
        assert!(*img == synchronous(&view, &m2));
    }
}
