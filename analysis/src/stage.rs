//! The detection stage: the [`Detector`] on a thread of its own.
//!
//! The engine thread decodes, tracks flows, reassembles and runs DPI; what
//! the detector needs from that (each packet's facts, cleartext payload,
//! ended flows, decode anomalies, application records) is queued here as
//! [`Fact`]s, in the order the engine produced it, together with every
//! message bound for the store. This thread replays the facts into the
//! detector in that order and forwards the store's messages in place, with
//! the alerts closed at each clock tick where the tick was. The store thus
//! receives exactly the sequence detection inline would have produced:
//! the same rows, the same alert ids, the same EVE lines, in the same
//! order, on every run — while detection runs on the other core.
//!
//! Memory: a chunk holds at most [`CHUNK_FACTS`] facts and
//! [`CHUNK_BYTES`] payload bytes, and the queue [`QUEUE_CHUNKS`] chunks;
//! the engine waits when the queue is full (no fact is ever dropped).

use crate::decode::meta::DecodeAnomaly;
use crate::detect::{Detector, FlowEnd, PacketFacts, Side};
use crate::dpi::parser::AppRecord;
use crate::flow::Direction;
use crate::store::live_rows::LiveRows;
use crate::store::StoreMsg;
use crossbeam_channel::{bounded, Receiver, Sender};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::ops::Range;
use std::thread::JoinHandle;

/// Facts per chunk before it is handed over.
pub const CHUNK_FACTS: usize = 4_096;
/// Payload bytes per chunk before it is handed over.
pub const CHUNK_BYTES: usize = 512 << 10;
/// Chunks queued between the engine and the stage (with the one being
/// filled, the one being read and the emptied ones coming back, at most
/// `2 * QUEUE_CHUNKS + 3` chunks exist: at most 12 MiB).
pub const QUEUE_CHUNKS: usize = 4;

/// Messages the store's queue holds: with detection on, the stage's queue
/// holds the rest, so as many batches (each up to a few MiB under a flood)
/// are in flight either way.
pub(crate) fn store_queue(no_detect: bool) -> usize {
    if no_detect {
        6
    } else {
        2
    }
}

/// Alerts raised, by category name.
pub type AlertCounts = BTreeMap<&'static str, u64>;

/// What the detection thread reports when it is done.
pub(crate) struct Finished {
    /// Alerts raised, by category name.
    pub(crate) alerts: AlertCounts,
    /// Keys its windows dropped at their caps.
    pub(crate) window_drops: u64,
}

/// One thing the detector is told, or a message for the store.
enum Fact {
    Packet(PacketFacts),
    FlowStarted {
        client: IpAddr,
        ts_ns: i64,
        flow_id: u64,
    },
    /// Reassembled cleartext of a TCP stream (`bytes` in the chunk).
    Payload {
        flow_id: u64,
        dir: Direction,
        ts_ns: i64,
        bytes: Range<usize>,
    },
    /// A whole UDP payload (`bytes` in the chunk).
    Datagram {
        flow_id: u64,
        dir: Direction,
        ts_ns: i64,
        bytes: Range<usize>,
    },
    Endpoints {
        flow_id: u64,
        client: Side,
        server: Side,
    },
    DecodeAnomaly {
        anomaly: DecodeAnomaly,
        ts_ns: i64,
        pkt_no: u64,
        flow_id: Option<u64>,
        ends: Option<(IpAddr, IpAddr)>,
    },
    FlowEnded(FlowEnd),
    /// Capture time reached this: close quiet alerts and send them.
    Tick(i64),
    /// End of input: close every alert and send them.
    Finish,
    /// A live run's snapshot: send the alerts still open, as they are.
    OpenAlerts,
    /// For the store, after the application records it carries have been
    /// inspected (boxed: rare, and bigger than every other fact).
    Store(Box<StoreMsg>),
}

struct Chunk {
    facts: Vec<Fact>,
    bytes: Vec<u8>,
}

impl Chunk {
    fn new() -> Self {
        Chunk {
            facts: Vec::with_capacity(CHUNK_FACTS),
            bytes: Vec::with_capacity(CHUNK_BYTES),
        }
    }
}

/// The engine's handle on the detection thread.
pub(crate) struct DetectStage {
    tx: Option<Sender<Chunk>>,
    /// Emptied chunks coming back, so their allocations are reused.
    recycled: Receiver<Chunk>,
    chunk: Chunk,
    thread: Option<JoinHandle<Finished>>,
}

impl DetectStage {
    /// Starts the thread; it sends alerts and forwarded messages to
    /// `store`.
    pub(crate) fn spawn(detector: Detector, store: Sender<StoreMsg>) -> std::io::Result<Self> {
        let (tx, rx) = bounded::<Chunk>(QUEUE_CHUNKS);
        let (recycle_tx, recycled) = bounded::<Chunk>(QUEUE_CHUNKS + 1);
        let thread = std::thread::Builder::new()
            .name("osprey-detect".into())
            .spawn(move || {
                let mut run = Run {
                    detector,
                    store,
                    counts: AlertCounts::new(),
                };
                for mut chunk in rx.iter() {
                    run.chunk(&mut chunk);
                    chunk.facts.clear();
                    chunk.bytes.clear();
                    // A full queue only means a fresh allocation.
                    let _ = recycle_tx.try_send(chunk);
                }
                Finished {
                    window_drops: run.detector.window_drops(),
                    alerts: run.counts,
                }
            })?;
        Ok(DetectStage {
            tx: Some(tx),
            recycled,
            chunk: Chunk::new(),
            thread: Some(thread),
        })
    }

    fn push(&mut self, f: Fact) {
        self.chunk.facts.push(f);
        if self.chunk.facts.len() >= CHUNK_FACTS || self.chunk.bytes.len() >= CHUNK_BYTES {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if self.chunk.facts.is_empty() {
            return;
        }
        let next = self.recycled.try_recv().unwrap_or_else(|_| Chunk::new());
        let chunk = std::mem::replace(&mut self.chunk, next);
        if let Some(tx) = &self.tx {
            // The thread only goes away by panicking, which `finish`
            // reports.
            let _ = tx.send(chunk);
        }
    }

    fn copy(&mut self, bytes: &[u8]) -> Range<usize> {
        let start = self.chunk.bytes.len();
        self.chunk.bytes.extend_from_slice(bytes);
        start..self.chunk.bytes.len()
    }

    /// One packet's facts.
    pub(crate) fn packet(&mut self, p: PacketFacts) {
        self.push(Fact::Packet(p));
    }

    /// A TCP flow's first packet.
    pub(crate) fn flow_started(&mut self, client: IpAddr, ts_ns: i64, flow_id: u64) {
        self.push(Fact::FlowStarted {
            client,
            ts_ns,
            flow_id,
        });
    }

    /// Reassembled cleartext stream bytes.
    pub(crate) fn payload(&mut self, flow_id: u64, dir: Direction, ts_ns: i64, bytes: &[u8]) {
        let bytes = self.copy(bytes);
        self.push(Fact::Payload {
            flow_id,
            dir,
            ts_ns,
            bytes,
        });
    }

    /// A UDP payload.
    pub(crate) fn datagram(&mut self, flow_id: u64, dir: Direction, ts_ns: i64, bytes: &[u8]) {
        let bytes = self.copy(bytes);
        self.push(Fact::Datagram {
            flow_id,
            dir,
            ts_ns,
            bytes,
        });
    }

    /// The endpoints of the flow the last payload belonged to.
    pub(crate) fn payload_endpoints(&mut self, flow_id: u64, client: Side, server: Side) {
        self.push(Fact::Endpoints {
            flow_id,
            client,
            server,
        });
    }

    /// A decode anomaly.
    pub(crate) fn decode_anomaly(
        &mut self,
        anomaly: DecodeAnomaly,
        ts_ns: i64,
        pkt_no: u64,
        flow_id: Option<u64>,
        ends: Option<(IpAddr, IpAddr)>,
    ) {
        self.push(Fact::DecodeAnomaly {
            anomaly,
            ts_ns,
            pkt_no,
            flow_id,
            ends,
        });
    }

    /// An ended flow.
    pub(crate) fn flow_ended(&mut self, f: FlowEnd) {
        self.push(Fact::FlowEnded(f));
    }

    /// Capture time advanced.
    pub(crate) fn tick(&mut self, now_ns: i64) {
        self.push(Fact::Tick(now_ns));
    }

    /// A message for the store, kept in its place among the facts; handed
    /// over at once so a live case commits without waiting for a full
    /// chunk.
    pub(crate) fn store(&mut self, msg: StoreMsg) {
        self.chunk.facts.push(Fact::Store(Box::new(msg)));
        self.hand_over();
    }

    /// Has the alerts still open sent to the store as they are now (in
    /// their place among the facts), for the live view.
    pub(crate) fn open_alerts(&mut self) {
        self.chunk.facts.push(Fact::OpenAlerts);
        self.hand_over();
    }

    /// Ends the input, waits for the thread, and returns what it did, or
    /// `None` if it panicked.
    pub(crate) fn finish(mut self) -> Option<Finished> {
        self.chunk.facts.push(Fact::Finish);
        self.hand_over();
        self.tx = None;
        self.thread.take()?.join().ok()
    }
}

/// The detection thread's state.
struct Run {
    detector: Detector,
    store: Sender<StoreMsg>,
    counts: AlertCounts,
}

impl Run {
    fn chunk(&mut self, chunk: &mut Chunk) {
        for fact in chunk.facts.drain(..) {
            let d = &mut self.detector;
            match fact {
                Fact::Packet(p) => d.packet(&p),
                Fact::FlowStarted {
                    client,
                    ts_ns,
                    flow_id,
                } => d.flow_started(client, ts_ns, flow_id),
                Fact::Payload {
                    flow_id,
                    dir,
                    ts_ns,
                    bytes,
                } => d.payload(flow_id, dir, ts_ns, &chunk.bytes[bytes]),
                Fact::Datagram {
                    flow_id,
                    dir,
                    ts_ns,
                    bytes,
                } => d.datagram(flow_id, dir, ts_ns, &chunk.bytes[bytes]),
                Fact::Endpoints {
                    flow_id,
                    client,
                    server,
                } => d.payload_endpoints(flow_id, client, server),
                Fact::DecodeAnomaly {
                    anomaly,
                    ts_ns,
                    pkt_no,
                    flow_id,
                    ends,
                } => d.decode_anomaly(&anomaly, ts_ns, pkt_no, flow_id, ends),
                Fact::FlowEnded(f) => d.flow_ended(&f),
                Fact::Tick(now_ns) => {
                    d.tick(now_ns);
                    self.send_alerts();
                }
                Fact::Finish => {
                    d.finish();
                    self.send_alerts();
                }
                Fact::OpenAlerts => {
                    let open = d.open_alerts();
                    let _ = self
                        .store
                        .send(StoreMsg::Live(LiveRows::ActiveAlerts(open)));
                }
                Fact::Store(msg) => {
                    let mut msg = *msg;
                    if let StoreMsg::Batch(b) = &mut msg {
                        for e in &b.app_events {
                            d.app_event(e);
                        }
                        strip_inspection(b);
                    }
                    // The store hangs up only after a write error, which
                    // it reports itself when joined.
                    let _ = self.store.send(msg);
                }
            }
        }
    }

    fn send_alerts(&mut self) {
        let alerts = self.detector.take_alerts();
        for a in &alerts {
            *self.counts.entry(a.category.name()).or_default() += 1;
        }
        if !alerts.is_empty() {
            let _ = self.store.send(StoreMsg::Alerts(alerts));
        }
    }
}

/// What only detection reads (request headers and bodies) is not logged:
/// it goes no further than here.
pub(crate) fn strip_inspection(b: &mut crate::store::Batch) {
    for e in &mut b.app_events {
        if let AppRecord::Http(tx) = &mut e.record {
            tx.inspect = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stage's documented bound (`QUEUE_CHUNKS` doc) stays small: the
    /// memory budgets leave the pipeline's queues 64 MiB in all.
    #[test]
    fn chunks_in_flight_stay_small() {
        let chunk = CHUNK_FACTS * std::mem::size_of::<Fact>() + CHUNK_BYTES;
        let total = (2 * QUEUE_CHUNKS + 3) * chunk;
        assert!(total <= 12 << 20, "{total} bytes of chunks");
    }
}
