//! Byte budgets of the flow table and the emergency mode.
//!
//! Three budgets are kept here, each a running sum updated as flows change
//! (never by sweeping the table):
//! - **flows** ([`super::FlowConfig::memcap_bytes`], Suricata's `flow.memcap`):
//!   [`FLOW_BYTES`] per flow (the flow, its map entry, heap entry, slot and
//!   boxed identification state) plus its pending frame list. When a new
//!   flow would not fit, the flow nearest its timeout is evicted, as for
//!   [`super::FlowConfig::max_flows`].
//! - **reassembly** ([`super::FlowConfig::stream_memcap_bytes`], Suricata's
//!   `stream.reassembly.memcap`): out-of-order bytes and delivered windows
//!   of every TCP stream. The per-stream caps of [`ReasmConfig`] alone do
//!   not bound the sum (262,144 flows × 2 × 256 KiB).
//! - **DPI probing** ([`super::FlowConfig::dpi_memcap_bytes`]): the bytes each
//!   flow holds while its protocol is being identified.
//!
//! When reassembly or DPI memory passes its budget, the flows holding
//! such memory are shed oldest first (in the order they first buffered):
//! their holes become gaps, buffered data is delivered, windows freed, and
//! probing ends (the flow stays `unknown`). Each shed is counted.
//!
//! **Emergency mode** (Suricata's `flow.emergency-recovery`): when any
//! budget (or the flow count) reaches [`EmergencyConfig::enter_pct`] of its
//! cap, the table switches to the shorter [`EmergencyConfig::timeouts`]
//! until every budget is back under [`EmergencyConfig::leave_pct`]. The
//! hysteresis keeps the mode from flapping; entries, exits and capture time
//! spent in it are counted.
//!
//! [`ReasmConfig`]: crate::flow::tcp_reasm::ReasmConfig

use super::{Direction, EventSink, Flow, FlowTable, StreamEvent};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const NS: i64 = 1_000_000_000;

/// Idle timeouts by protocol and state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP flow before the handshake completes.
    pub tcp_new_ns: i64,
    /// Established TCP flow.
    pub tcp_established_ns: i64,
    /// TCP flow after FIN/RST.
    pub tcp_closed_ns: i64,
    /// Non-TCP flow that has seen one direction only.
    pub other_new_ns: i64,
    /// Non-TCP flow that has seen both directions.
    pub other_established_ns: i64,
}

impl Timeouts {
    /// Every timeout infinite.
    pub const NEVER: Timeouts = Timeouts {
        tcp_new_ns: i64::MAX,
        tcp_established_ns: i64::MAX,
        tcp_closed_ns: i64::MAX,
        other_new_ns: i64::MAX,
        other_established_ns: i64::MAX,
    };
}

/// When the emergency mode starts and ends, and its timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmergencyConfig {
    /// Enter when a budget reaches this percentage of its cap (default 95).
    pub enter_pct: u8,
    /// Leave when every budget is below this percentage (default 70).
    pub leave_pct: u8,
    /// Timeouts while in emergency (default TCP 5 s new / 60 s established
    /// / 5 s closed, others 5 s new / 30 s established, after Suricata's
    /// `flow-timeouts.*.emergency-*`).
    pub timeouts: Timeouts,
}

impl Default for EmergencyConfig {
    fn default() -> Self {
        EmergencyConfig {
            enter_pct: 95,
            leave_pct: 70,
            timeouts: Timeouts {
                tcp_new_ns: 5 * NS,
                tcp_established_ns: 60 * NS,
                tcp_closed_ns: 5 * NS,
                other_new_ns: 5 * NS,
                other_established_ns: 30 * NS,
            },
        }
    }
}

/// Bytes one flow costs before its buffers, as measured: the `Flow` and
/// its box, its map entry, deadline-heap entry and slab slot, with the
/// spare capacity and resize copies of those tables and the allocator's
/// rounding. Two SYN floods that filled a 64 MiB and a 256 MiB flow budget
/// (release build, no detection) differed by 932 bytes of peak RSS per
/// extra flow; [`FLOW_BYTES`] rounds that up. `tests/flood.rs` checks
/// peak RSS against the budgets; the build checks that it covers the
/// structures' own sizes ([`FLOW_STRUCT_BYTES`]).
pub const FLOW_BYTES: usize = 960;

/// The part of [`FLOW_BYTES`] the structures themselves take (no spare
/// capacity, no allocator overhead).
pub const FLOW_STRUCT_BYTES: usize = std::mem::size_of::<Flow>()
    + std::mem::size_of::<crate::flow::FlowKey>()
    + 4
    + 1
    + std::mem::size_of::<(i64, u64, u32)>()
    + std::mem::size_of::<Option<Box<Flow>>>();

const _: () = assert!(FLOW_BYTES >= FLOW_STRUCT_BYTES);

/// What a flow is charged against the budgets.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct FlowMem {
    /// Frame-list bytes charged.
    list: usize,
    /// Reassembly bytes charged.
    stream: usize,
    /// DPI probing bytes charged.
    dpi: usize,
    /// In the shed queue.
    queued: bool,
}

/// Running totals, the shed queue and the emergency state.
#[derive(Debug, Default)]
pub(super) struct MemState {
    flow_bytes: usize,
    stream_bytes: usize,
    dpi_bytes: usize,
    /// Flows holding reassembly or DPI memory, oldest first: (id, slot).
    queue: VecDeque<(u64, u32)>,
    /// Capture time the emergency mode was entered, while in it.
    emergency_since: Option<i64>,
    /// Latest capture time seen.
    now_ns: i64,
}

impl Flow {
    /// Reassembly and probing memory the flow holds now.
    fn buffer_bytes(&self) -> (usize, usize) {
        let stream = self
            .streams
            .as_ref()
            .map_or(0, |s| s.dirs[0].mem_bytes() + s.dirs[1].mem_bytes());
        (stream, self.ident.probe_bytes())
    }

    /// Gives back the flow's reassembly and probing memory (see the
    /// module docs).
    fn shed(&mut self, sink: &mut dyn FnMut(u64, Direction, StreamEvent<'_>)) {
        if let Some(s) = self.streams.as_mut() {
            for (i, dir) in [Direction::ToServer, Direction::ToClient]
                .into_iter()
                .enumerate()
            {
                let mut fwd = EventSink {
                    flow: self.id,
                    dir,
                    server_port: self.server.port,
                    ident: &mut self.ident,
                    out: &mut *sink,
                };
                s.dirs[i].shed(&mut fwd);
            }
        }
        self.ident.stop_probing();
        self.name_app();
    }
}

/// What a table holds at one moment: flows, and the bytes charged to
/// each budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Flows held.
    pub flows: u64,
    /// Bytes charged to the flow budget.
    pub flow_bytes: u64,
    /// Reassembly bytes held.
    pub stream_bytes: u64,
    /// DPI probing bytes held.
    pub dpi_bytes: u64,
}

impl Usage {
    /// Field by field sum.
    pub fn plus(self, o: Usage) -> Usage {
        Usage {
            flows: self.flows + o.flows,
            flow_bytes: self.flow_bytes + o.flow_bytes,
            stream_bytes: self.stream_bytes + o.stream_bytes,
            dpi_bytes: self.dpi_bytes + o.dpi_bytes,
        }
    }

    /// Field by field difference (saturating).
    pub fn minus(self, o: Usage) -> Usage {
        Usage {
            flows: self.flows.saturating_sub(o.flows),
            flow_bytes: self.flow_bytes.saturating_sub(o.flow_bytes),
            stream_bytes: self.stream_bytes.saturating_sub(o.stream_bytes),
            dpi_bytes: self.dpi_bytes.saturating_sub(o.dpi_bytes),
        }
    }

    /// Field by field maximum.
    pub fn max(self, o: Usage) -> Usage {
        Usage {
            flows: self.flows.max(o.flows),
            flow_bytes: self.flow_bytes.max(o.flow_bytes),
            stream_bytes: self.stream_bytes.max(o.stream_bytes),
            dpi_bytes: self.dpi_bytes.max(o.dpi_bytes),
        }
    }
}

impl FlowTable {
    /// What the table holds now.
    pub fn usage(&self) -> Usage {
        Usage {
            flows: self.flows.len() as u64,
            flow_bytes: self.mem.flow_bytes as u64,
            stream_bytes: self.mem.stream_bytes as u64,
            dpi_bytes: self.mem.dpi_bytes as u64,
        }
    }

    /// The peaks since the last [`FlowTable::restart_peaks`] (zero where
    /// nothing was measured since).
    pub fn peaks(&self) -> Usage {
        let s = &self.stats;
        Usage {
            flows: s.peak_flows,
            flow_bytes: s.peak_flow_bytes,
            stream_bytes: s.peak_stream_bytes,
            dpi_bytes: s.peak_dpi_bytes,
        }
    }

    /// Zeroes the peak counters, so that [`FlowTable::peaks`] tells the
    /// highest use measured from now on (the engine adds that to what its
    /// other tables held at the time, for a run-wide peak).
    pub fn restart_peaks(&mut self) {
        let s = &mut self.stats;
        s.peak_flows = 0;
        s.peak_flow_bytes = 0;
        s.peak_stream_bytes = 0;
        s.peak_dpi_bytes = 0;
    }

    /// Timeouts in force (the emergency ones while in emergency).
    pub(super) fn timeouts(&self) -> &Timeouts {
        if self.mem.emergency_since.is_some() {
            &self.cfg.emergency.timeouts
        } else {
            &self.cfg.timeouts
        }
    }

    /// True while the emergency mode is on.
    pub fn in_emergency(&self) -> bool {
        self.mem.emergency_since.is_some()
    }

    /// Whether one more flow fits under the flow count and byte caps.
    pub(super) fn room_for_one(&self) -> bool {
        self.flows.len() < self.cfg.max_flows.max(1)
            && self.mem.flow_bytes + FLOW_BYTES <= self.cfg.memcap_bytes.max(FLOW_BYTES)
    }

    /// Charges a new flow's fixed cost.
    pub(super) fn charge_new(&mut self) {
        self.mem.flow_bytes += FLOW_BYTES;
        self.stats.peak_flow_bytes = self.stats.peak_flow_bytes.max(self.mem.flow_bytes as u64);
    }

    /// Releases what a flow leaving the table was charged.
    pub(super) fn release(&mut self, f: &Flow) {
        self.mem.flow_bytes -= FLOW_BYTES + f.mem.list;
        self.mem.stream_bytes -= f.mem.stream;
        self.mem.dpi_bytes -= f.mem.dpi;
    }

    /// Re-reads what the flow in `slot` holds after a packet, then sheds
    /// buffers while a budget is exceeded.
    pub(super) fn account(
        &mut self,
        slot: u32,
        ts_ns: i64,
        sink: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) {
        let Some(f) = self
            .slots
            .get_mut(slot as usize)
            .and_then(|s| s.as_deref_mut())
        else {
            return;
        };
        let list = f.packets.capacity() * std::mem::size_of::<u64>();
        let (stream, dpi) = f.buffer_bytes();
        let m = &mut self.mem;
        m.flow_bytes = m.flow_bytes + list - f.mem.list;
        m.stream_bytes = m.stream_bytes + stream - f.mem.stream;
        m.dpi_bytes = m.dpi_bytes + dpi - f.mem.dpi;
        f.mem.list = list;
        f.mem.stream = stream;
        f.mem.dpi = dpi;
        if stream + dpi > 0 && !f.mem.queued {
            f.mem.queued = true;
            m.queue.push_back((f.id, slot));
        }
        let s = &mut self.stats;
        s.peak_flow_bytes = s.peak_flow_bytes.max(m.flow_bytes as u64);
        s.peak_stream_bytes = s.peak_stream_bytes.max(m.stream_bytes as u64);
        s.peak_dpi_bytes = s.peak_dpi_bytes.max(m.dpi_bytes as u64);
        self.shed_over_budget(ts_ns, sink);
        self.check_pressure(ts_ns);
    }

    /// Sheds the oldest buffering flows until reassembly and DPI memory
    /// are within their budgets.
    fn shed_over_budget(
        &mut self,
        ts_ns: i64,
        sink: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) {
        loop {
            let over_stream = self.mem.stream_bytes > self.cfg.stream_memcap_bytes;
            let over_dpi = self.mem.dpi_bytes > self.cfg.dpi_memcap_bytes;
            if !over_stream && !over_dpi {
                break;
            }
            let Some((id, slot)) = self.mem.queue.pop_front() else {
                break;
            };
            let Some(f) = self
                .slots
                .get_mut(slot as usize)
                .and_then(|s| s.as_deref_mut())
            else {
                continue;
            };
            if f.id != id {
                continue; // a flow that ended since
            }
            f.mem.queued = false;
            f.shed(sink);
            let (stream, dpi) = f.buffer_bytes();
            self.mem.stream_bytes = self.mem.stream_bytes + stream - f.mem.stream;
            self.mem.dpi_bytes = self.mem.dpi_bytes + dpi - f.mem.dpi;
            f.mem.stream = stream;
            f.mem.dpi = dpi;
            f.collect_records(ts_ns, &mut self.app_events);
            self.stats.stream_memcap_sheds += u64::from(over_stream);
            self.stats.dpi_memcap_sheds += u64::from(over_dpi);
        }
        // Entries of flows that ended stay until popped; keep them few.
        if self.mem.queue.len() > 2 * self.flows.len() + 1024 {
            let slots = &self.slots;
            self.mem.queue.retain(|&(id, slot)| {
                slots
                    .get(slot as usize)
                    .and_then(|s| s.as_deref())
                    .is_some_and(|f| f.id == id && f.mem.queued)
            });
        }
    }

    /// Highest use of any budget, in percent of its cap.
    fn pressure_pct(&self) -> usize {
        let pct = |used: usize, cap: usize| used.saturating_mul(100) / cap.max(1);
        pct(self.flows.len(), self.cfg.max_flows)
            .max(pct(self.mem.flow_bytes, self.cfg.memcap_bytes))
            .max(pct(self.mem.stream_bytes, self.cfg.stream_memcap_bytes))
            .max(pct(self.mem.dpi_bytes, self.cfg.dpi_memcap_bytes))
    }

    /// Enters or leaves the emergency mode at capture time `ts_ns`.
    pub(super) fn check_pressure(&mut self, ts_ns: i64) {
        self.mem.now_ns = self.mem.now_ns.max(ts_ns);
        let pct = self.pressure_pct();
        let em = self.cfg.emergency;
        match self.mem.emergency_since {
            None if pct >= usize::from(em.enter_pct) => {
                self.mem.emergency_since = Some(ts_ns);
                self.stats.emergency_entered += 1;
                self.requeue_deadlines();
            }
            Some(since) if pct < usize::from(em.leave_pct) => {
                self.mem.emergency_since = None;
                self.stats.emergency_left += 1;
                self.stats.emergency_ns += ts_ns.saturating_sub(since).max(0) as u64;
                // Deadlines now lie too early; the lazy heap re-queues each
                // entry at its real deadline when it surfaces.
            }
            _ => {}
        }
    }

    /// Ends the emergency accounting at the end of input.
    pub(super) fn close_emergency(&mut self) {
        if let Some(since) = self.mem.emergency_since.take() {
            let now = self.mem.now_ns;
            self.stats.emergency_ns += now.saturating_sub(since).max(0) as u64;
        }
    }

    /// Rebuilds the deadline heap under the timeouts now in force (they
    /// got shorter: entries would surface too late).
    fn requeue_deadlines(&mut self) {
        let t = *self.timeouts();
        let heap: Vec<Reverse<(i64, u64, u32)>> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let f = s.as_deref()?;
                Some(Reverse((f.deadline(&t), f.id, i as u32)))
            })
            .collect();
        self.deadlines = BinaryHeap::from(heap);
    }
}
