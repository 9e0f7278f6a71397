//! `N` shard threads and the merge thread that replays their reports.
//!
//! The front (the engine's thread) sends each shard its packets and every
//! expiry round, and sends the merge thread the route: what happened at
//! each frame and which shard holds the rest. The merge thread walks the
//! route and takes each shard's next report when the route names it, so
//! the back sees what one table would have done, in the same order.
//!
//! Batches keep the channels cheap. The front sends the shards their
//! batches before the route batch that names them, so every report the
//! merge thread waits for is on its way: the threads cannot wait on each
//! other in a circle.

use super::shard::{Ended, PacketOut, Shard};
use super::{Back, FLOW_BATCH};
use crate::decode::meta::PacketMeta;
use crate::flow::table::AppEvent;
use crate::flow::table::Usage;
use crate::flow::{Flow, FlowConfig, FlowStats};
use crate::model::{AnomalyRow, PacketRow};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::thread::JoinHandle;

/// Route entries per batch.
const ROUTE_BATCH: usize = 1_024;
/// Packet bytes per batch: a batch is sent when either is reached, so a
/// shard's queue holds at most `QUEUE` × 512 KiB of payload (reassembled
/// datagrams reach 64 KiB each).
const BATCH_BYTES: usize = 512 * 1024;
/// Batches queued on each channel.
const QUEUE: usize = 4;

/// A packet for a shard: its decode, transport payload and frames.
struct PacketIn {
    meta: PacketMeta,
    payload: Vec<u8>,
    ts_ns: i64,
    frames: Vec<(u64, u32)>,
}

enum ShardIn {
    Packet(Box<PacketIn>),
    Expire(i64),
    Finish,
}

enum ShardOut {
    Packet(Box<(PacketIn, PacketOut)>),
    Expired(Vec<Flow>, Vec<AppEvent>, Usage),
    Drained(Vec<Ended>, bool),
}

/// What happened at one frame, for the merge thread.
enum Route {
    Row(PacketRow),
    Expire(i64, Vec<AnomalyRow>),
    Packet(usize),
    Held(Box<PacketMeta>, i64, u64),
    Finish,
}

struct ShardLink {
    batch: Vec<ShardIn>,
    tx: Sender<Vec<ShardIn>>,
    thread: JoinHandle<FlowStats>,
}

/// The front's side of the shard and merge threads.
pub(crate) struct Workers {
    shards: Vec<ShardLink>,
    route: Vec<Route>,
    route_tx: Sender<Vec<Route>>,
    merge: JoinHandle<Back>,
    /// Packets sent to each shard.
    packets: Vec<u64>,
    /// Payload bytes in the batches not sent yet.
    pending: usize,
}

impl Workers {
    pub(crate) fn spawn(
        back: Back,
        n: usize,
        cfg: &FlowConfig,
        inspect: bool,
    ) -> std::io::Result<Workers> {
        let mut shards = Vec::with_capacity(n);
        let mut outs = Vec::with_capacity(n);
        for i in 0..n {
            let (tx, rx) = bounded::<Vec<ShardIn>>(QUEUE);
            let (out_tx, out_rx) = bounded::<Vec<ShardOut>>(QUEUE);
            let shard = Shard::new(cfg.clone(), inspect);
            let thread = std::thread::Builder::new()
                .name(format!("osprey-flows-{i}"))
                .spawn(move || shard_loop(shard, rx, out_tx))?;
            shards.push(ShardLink {
                batch: Vec::new(),
                tx,
                thread,
            });
            outs.push(out_rx);
        }
        let (route_tx, route_rx) = bounded::<Vec<Route>>(QUEUE);
        let merge = std::thread::Builder::new()
            .name("osprey-merge".into())
            .spawn(move || merge_loop(back, route_rx, outs))?;
        Ok(Workers {
            shards,
            route: Vec::with_capacity(ROUTE_BATCH),
            route_tx,
            merge,
            packets: vec![0; n],
            pending: 0,
        })
    }

    fn push(&mut self, r: Route) {
        self.route.push(r);
        if self.route.len() >= ROUTE_BATCH || self.pending >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Sends the shards their batches, then the route that names them. A
    /// closed channel means a thread died; `finish` reports it.
    fn flush(&mut self) {
        self.pending = 0;
        for s in &mut self.shards {
            if !s.batch.is_empty() {
                let _ = s.tx.send(std::mem::take(&mut s.batch));
            }
        }
        let route = std::mem::replace(&mut self.route, Vec::with_capacity(ROUTE_BATCH));
        let _ = self.route_tx.send(route);
    }

    fn frame_start(&mut self, row: PacketRow, expire: Option<(i64, Vec<AnomalyRow>)>) {
        self.route.push(Route::Row(row));
        if let Some((now, anomalies)) = expire {
            for s in &mut self.shards {
                s.batch.push(ShardIn::Expire(now));
            }
            self.route.push(Route::Expire(now, anomalies));
        }
    }

    /// A fragment the defragmenter holds.
    pub(crate) fn held(
        &mut self,
        row: PacketRow,
        expire: Option<(i64, Vec<AnomalyRow>)>,
        meta: PacketMeta,
        ts_ns: i64,
        pkt_no: u64,
    ) {
        self.frame_start(row, expire);
        self.push(Route::Held(Box::new(meta), ts_ns, pkt_no));
    }

    /// A decoded packet, for the shard of its address pair.
    pub(crate) fn packet(
        &mut self,
        row: PacketRow,
        expire: Option<(i64, Vec<AnomalyRow>)>,
        mut meta: PacketMeta,
        payload: &[u8],
        ts_ns: i64,
        frames: Vec<(u64, u32)>,
    ) {
        self.frame_start(row, expire);
        let s = super::shard::shard_of(&meta, self.shards.len());
        meta.payload = 0..payload.len();
        self.packets[s] += 1;
        self.pending += payload.len();
        self.shards[s]
            .batch
            .push(ShardIn::Packet(Box::new(PacketIn {
                meta,
                payload: payload.to_vec(),
                ts_ns,
                frames,
            })));
        self.push(Route::Packet(s));
    }

    /// Packets sent to each shard so far.
    pub(crate) fn packets(&self) -> &[u64] {
        &self.packets
    }

    /// Ends the run: the shards drain their flows through the merge
    /// thread. Returns the back and each shard's counters, or the name of
    /// the thread that died.
    pub(crate) fn finish(mut self) -> Result<(Back, Vec<FlowStats>), &'static str> {
        for s in &mut self.shards {
            s.batch.push(ShardIn::Finish);
        }
        self.route.push(Route::Finish);
        self.flush();
        drop(self.route_tx);
        let mut stats = Vec::with_capacity(self.shards.len());
        let mut dead = None;
        for s in self.shards {
            drop(s.tx);
            match s.thread.join() {
                Ok(st) => stats.push(st),
                Err(_) => dead = Some("flow worker"),
            }
        }
        let back = self.merge.join().map_err(|_| "merge")?;
        match dead {
            Some(who) => Err(who),
            None if back.broken => Err("merge"),
            None => Ok((back, stats)),
        }
    }
}

fn shard_loop(
    mut shard: Shard,
    rx: Receiver<Vec<ShardIn>>,
    tx: Sender<Vec<ShardOut>>,
) -> FlowStats {
    for batch in rx.iter() {
        let mut outs = Vec::with_capacity(batch.len());
        for item in batch {
            match item {
                ShardIn::Packet(p) => {
                    let mut out = PacketOut::default();
                    shard.packet(&p.meta, &p.payload, p.ts_ns, &p.frames, &mut out);
                    outs.push(ShardOut::Packet(Box::new((*p, out))));
                }
                ShardIn::Expire(now) => {
                    let (flows, events) = shard.expire(now);
                    outs.push(ShardOut::Expired(flows, events, shard.usage()));
                }
                ShardIn::Finish => {
                    // Slice by slice, so the merge thread holds a few
                    // slices, not every remaining flow.
                    loop {
                        let (slice, more) = shard.drain(FLOW_BATCH);
                        outs.push(ShardOut::Drained(slice, more));
                        if !more {
                            break;
                        }
                        if tx.send(std::mem::take(&mut outs)).is_err() {
                            return shard.stats();
                        }
                    }
                }
            }
        }
        if !outs.is_empty() && tx.send(outs).is_err() {
            break;
        }
    }
    shard.stats()
}

/// One shard's reports, taken one at a time.
struct Reports {
    rx: Receiver<Vec<ShardOut>>,
    cur: std::vec::IntoIter<ShardOut>,
}

impl Reports {
    fn next(&mut self) -> Option<ShardOut> {
        loop {
            if let Some(o) = self.cur.next() {
                return Some(o);
            }
            self.cur = self.rx.recv().ok()?.into_iter();
        }
    }
}

fn merge_loop(
    mut back: Back,
    route: Receiver<Vec<Route>>,
    outs: Vec<Receiver<Vec<ShardOut>>>,
) -> Back {
    let mut reports: Vec<Reports> = outs
        .into_iter()
        .map(|rx| Reports {
            rx,
            cur: Vec::new().into_iter(),
        })
        .collect();
    for batch in route.iter() {
        for r in batch {
            let ok = match r {
                Route::Row(row) => {
                    back.row(row);
                    true
                }
                Route::Expire(now, anomalies) => {
                    let mut ended = Vec::with_capacity(reports.len());
                    for (s, rep) in reports.iter_mut().enumerate() {
                        match rep.next() {
                            Some(ShardOut::Expired(flows, events, usage)) => {
                                back.usage[s] = usage;
                                ended.push((flows, events));
                            }
                            _ => ended.clear(),
                        }
                    }
                    let whole = ended.len() == reports.len();
                    if whole {
                        back.expire(now, anomalies, ended);
                    }
                    whole
                }
                Route::Packet(s) => match reports.get_mut(s).and_then(Reports::next) {
                    Some(ShardOut::Packet(p)) => {
                        let (p, mut out) = *p;
                        back.packet(s, &p.meta, &p.payload, p.ts_ns, &p.frames, &mut out);
                        true
                    }
                    _ => false,
                },
                Route::Held(meta, ts_ns, pkt_no) => {
                    back.held(&meta, ts_ns, pkt_no);
                    true
                }
                Route::Finish => {
                    let mut broken = false;
                    let n = reports.len();
                    let mut next = |s: usize| match reports[s].next() {
                        Some(ShardOut::Drained(slice, more)) => Some((slice, more)),
                        _ => {
                            broken = true;
                            None
                        }
                    };
                    back.drain(&mut next, n);
                    !broken
                }
            };
            if !ok {
                // A shard died or broke the order: stop; the front
                // reports it when it joins the threads.
                back.broken = true;
                return back;
            }
        }
    }
    back
}
