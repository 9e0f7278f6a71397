//! Incremental force-directed layout (Fruchterman–Reingold with
//! grid-bucketed repulsion, so each step costs O(nodes + edges) rather
//! than O(nodes²)).
//!
//! Stability as the graph grows: positions are kept by node address across
//! rebuilds; once the layout settles every node is frozen, and later nodes
//! are placed beside a neighbour and only they move. A dragged node is
//! pinned where it is dropped.

use super::model::GraphModel;
use eframe::egui::{pos2, vec2, Pos2, Vec2};
use std::collections::HashMap;

/// Ideal edge length, in world units.
const K: f32 = 60.0;
/// Repulsion cut-off: nodes further apart than this do not push.
const CUTOFF: f32 = 3.0 * K;
/// Initial largest move per step.
const START_TEMPERATURE: f32 = 40.0;
/// Below this largest move the layout is settled.
const SETTLED_TEMPERATURE: f32 = 0.4;

#[derive(Debug, Clone, Copy)]
struct Body {
    pos: Pos2,
    fixed: bool,
}

/// Dense arrays of the graph being simulated, built once per graph change.
#[derive(Debug, Clone)]
struct Sim {
    labels: Vec<String>,
    pos: Vec<Pos2>,
    fixed: Vec<bool>,
    edges: Vec<(usize, usize)>,
}

/// Node positions and the simulation's progress.
#[derive(Debug, Clone)]
pub struct Layout {
    bodies: HashMap<String, Body>,
    temperature: f32,
    sim: Option<Sim>,
    /// Which slice of the nodes the next iteration moves (see `STRIDE_NODES`).
    phase: usize,
    /// Largest move in the current cycle of slices.
    cycle_max: f32,
    /// Changes whenever a position does.
    revision: u64,
}

/// Above this many nodes an iteration moves one of three interleaved
/// slices of the nodes, so that a frame's share of layout stays small.
const STRIDE_NODES: usize = 500;

impl Default for Layout {
    fn default() -> Self {
        Layout {
            bodies: HashMap::new(),
            temperature: START_TEMPERATURE,
            sim: None,
            phase: 0,
            cycle_max: 0.0,
            revision: super::next_revision(),
        }
    }
}

/// The `i`-th point of a sunflower spiral: evenly spread discs of any size.
fn spiral(i: usize) -> Vec2 {
    let r = (i as f32 + 0.5).sqrt() * 0.75 * K;
    let a = i as f32 * 2.399_963; // golden angle
    vec2(a.cos(), a.sin()) * r
}

/// Deterministic placement across runs.
fn hash(s: &str) -> u64 {
    osprey_analysis::hash::fnv1a(s.as_bytes())
}

fn unit(h: u64) -> Vec2 {
    let a = (h % 6283) as f32 / 1000.0;
    vec2(a.cos(), a.sin())
}

impl Layout {
    /// True when no node moves any more.
    pub fn settled(&self) -> bool {
        self.temperature <= SETTLED_TEMPERATURE
    }

    /// Changes whenever a node moves (a step, a pin, new nodes).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Position of a node.
    pub fn pos(&self, label: &str) -> Option<Pos2> {
        self.bodies.get(label).map(|b| b.pos)
    }

    /// Moves a node and pins it there.
    pub fn pin(&mut self, label: &str, pos: Pos2) {
        self.revision = super::next_revision();
        if let Some(b) = self.bodies.get_mut(label) {
            b.pos = pos;
            b.fixed = true;
        }
        if let Some(sim) = &mut self.sim {
            if let Some(i) = sim.labels.iter().position(|l| l == label) {
                sim.pos[i] = pos;
                sim.fixed[i] = true;
            }
        }
    }

    /// Gives every node of `model` a position; new nodes start beside a
    /// placed neighbour (or on their group's spot) and wake the layout.
    pub fn sync(&mut self, model: &GraphModel) {
        // The node set may have changed (another time window).
        self.sim = None;
        self.revision = super::next_revision();
        let g = &model.graph;
        let mut added = false;
        let mut pending: Vec<_> = g
            .node_indices()
            .filter(|i| {
                g.node_weight(*i)
                    .is_some_and(|n| !self.bodies.contains_key(&n.label))
            })
            .collect();
        // With a placed neighbour: on a spiral around it (so a hub's many
        // new peers do not pile up). Without: on a spiral around their
        // group's spot, groups spread over a circle sized for the graph.
        let mut around: HashMap<String, usize> = HashMap::new();
        for _round in 0..3 {
            let mut rest = Vec::new();
            for i in pending {
                let Some(n) = g.node_weight(i) else { continue };
                let anchor = g
                    .neighbors(i)
                    .filter_map(|j| g.node_weight(j))
                    .find_map(|m| self.bodies.get(&m.label).map(|b| (m.label.clone(), b.pos)));
                match anchor {
                    Some((a, p)) => {
                        let k = around.entry(a).or_insert(1);
                        let pos = p + spiral(*k + 2);
                        *k += 1;
                        self.bodies
                            .insert(n.label.clone(), Body { pos, fixed: false });
                        added = true;
                    }
                    None => rest.push(i),
                }
            }
            pending = rest;
        }
        let ring = (g.node_count() as f32).sqrt() * K;
        for i in pending {
            let Some(n) = g.node_weight(i) else { continue };
            let hg = hash(&n.group);
            let center = unit(hg) * ring * (0.5 + (hg >> 16) as f32 % 100.0 / 200.0);
            let k = around.entry(format!("group {}", n.group)).or_insert(0);
            let pos = pos2(0.0, 0.0) + center + spiral(*k);
            *k += 1;
            self.bodies
                .insert(n.label.clone(), Body { pos, fixed: false });
            added = true;
        }
        if added {
            self.temperature = self.temperature.max(START_TEMPERATURE / 2.0);
        }
    }

    fn build_sim(&self, model: &GraphModel) -> Sim {
        let g = &model.graph;
        let idx: Vec<_> = g.node_indices().collect();
        let labels: Vec<String> = idx
            .iter()
            .map(|i| {
                g.node_weight(*i)
                    .map(|n| n.label.clone())
                    .unwrap_or_default()
            })
            .collect();
        let pos = labels
            .iter()
            .map(|l| self.bodies.get(l).map_or(Pos2::ZERO, |b| b.pos))
            .collect();
        let fixed = labels
            .iter()
            .map(|l| self.bodies.get(l).is_none_or(|b| b.fixed))
            .collect();
        let dense: HashMap<_, usize> = idx.iter().enumerate().map(|(d, i)| (*i, d)).collect();
        let edges = g
            .edge_indices()
            .filter_map(|e| g.edge_endpoints(e))
            .filter_map(|(a, b)| Some((*dense.get(&a)?, *dense.get(&b)?)))
            .filter(|(a, b)| a != b)
            .collect();
        Sim {
            labels,
            pos,
            fixed,
            edges,
        }
    }

    /// Runs `iterations` simulation steps over the free nodes.
    pub fn step(&mut self, model: &GraphModel, iterations: usize) {
        if self.settled() {
            return;
        }
        let mut sim = match self.sim.take() {
            Some(s) if s.labels.len() == model.graph.node_count() => s,
            _ => self.build_sim(model),
        };
        if sim.fixed.iter().all(|f| *f) {
            self.temperature = 0.0;
            self.sim = Some(sim);
            return;
        }
        let Sim {
            pos, fixed, edges, ..
        } = &mut sim;
        let mut disp = vec![Vec2::ZERO; pos.len()];
        let mut grid: foldhash::HashMap<(i32, i32), Vec<usize>> = foldhash::HashMap::default();
        let stride = if pos.len() > STRIDE_NODES { 3 } else { 1 };
        for _ in 0..iterations {
            let phase = self.phase % stride;
            let moves = |i: usize| !fixed[i] && i % stride == phase;
            disp.iter_mut().for_each(|d| *d = Vec2::ZERO);
            grid.values_mut().for_each(Vec::clear);
            for (i, p) in pos.iter().enumerate() {
                let c = ((p.x / CUTOFF).floor() as i32, (p.y / CUTOFF).floor() as i32);
                grid.entry(c).or_default().push(i);
            }
            for (&(cx, cy), members) in &grid {
                for &i in members {
                    if !moves(i) {
                        continue;
                    }
                    for dx in -1..=1 {
                        for dy in -1..=1 {
                            let Some(others) = grid.get(&(cx + dx, cy + dy)) else {
                                continue;
                            };
                            for &j in others {
                                if i == j {
                                    continue;
                                }
                                let mut d = pos[i] - pos[j];
                                let mut dist = d.length();
                                if dist < 0.01 {
                                    d = unit(i as u64 * 7919 + j as u64);
                                    dist = 0.01;
                                }
                                if dist < CUTOFF {
                                    disp[i] += d / dist * (K * K / dist);
                                }
                            }
                        }
                    }
                }
            }
            for &(a, b) in edges.iter() {
                let d = pos[a] - pos[b];
                let dist = d.length().max(0.01);
                let f = d / dist * (dist * dist / K);
                disp[a] -= f;
                disp[b] += f;
            }
            let mut max_move: f32 = 0.0;
            for i in 0..pos.len() {
                if !moves(i) {
                    continue;
                }
                // Weak gravity keeps disconnected parts together.
                let mut d = disp[i] - pos[i].to_vec2() * 0.01;
                let len = d.length();
                if len > self.temperature {
                    d = d / len * self.temperature;
                }
                if d.x.is_finite() && d.y.is_finite() {
                    pos[i] += d;
                    max_move = max_move.max(d.length());
                }
            }
            // Cool once per full cycle of slices.
            self.cycle_max = self.cycle_max.max(max_move);
            self.phase = (phase + 1) % stride;
            if self.phase != 0 {
                continue;
            }
            let cycle_max = std::mem::take(&mut self.cycle_max);
            self.temperature =
                (self.temperature * 0.97).min(cycle_max.max(SETTLED_TEMPERATURE * 0.5) * 1.5);
            if self.settled() {
                break;
            }
        }
        let settled = self.settled();
        self.revision = super::next_revision();
        for (i, l) in sim.labels.iter().enumerate() {
            if let Some(b) = self.bodies.get_mut(l) {
                b.pos = sim.pos[i];
                // Settled nodes stay where they are from now on.
                b.fixed |= settled;
            }
            if settled {
                sim.fixed[i] = true;
            }
        }
        self.sim = Some(sim);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_flow as flow;
    use super::*;
    use osprey_analysis::filter::FlowAlerts;
    use osprey_analysis::store::query::FlowSummary;

    #[test]
    fn settles_and_new_nodes_do_not_move_old_ones() {
        let mut flows: Vec<FlowSummary> = (0..30)
            .map(|i| flow(i, "10.0.0.1", &format!("10.0.0.{}", i + 2)))
            .collect();
        let m = GraphModel::build(&flows, &FlowAlerts::default(), &Default::default(), None);
        let mut l = Layout::default();
        l.sync(&m);
        for _ in 0..200 {
            l.step(&m, 10);
        }
        assert!(l.settled());
        let before: Vec<Option<Pos2>> = (2..32).map(|i| l.pos(&format!("10.0.0.{i}"))).collect();
        flows.push(flow(99, "10.0.0.5", "10.0.1.1"));
        let m2 = GraphModel::build(&flows, &FlowAlerts::default(), &Default::default(), None);
        l.sync(&m2);
        assert!(!l.settled());
        let new_before = l.pos("10.0.1.1");
        for _ in 0..50 {
            l.step(&m2, 10);
        }
        let after: Vec<Option<Pos2>> = (2..32).map(|i| l.pos(&format!("10.0.0.{i}"))).collect();
        assert_eq!(before, after);
        assert!(new_before.is_some() && new_before != l.pos("10.0.1.1"));
        // Neighbours stay apart.
        let (a, b) = (l.pos("10.0.0.2"), l.pos("10.0.0.3"));
        assert!(a.zip(b).is_some_and(|(a, b)| a.distance(b) > 5.0));
    }
}
