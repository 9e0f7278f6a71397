//! The flow table: one [`Flow`] per bidirectional conversation.
//!
//! Contract:
//! - client/server are chosen by the SYN (a bare SYN's sender is the client,
//!   a SYN-ACK's sender the server), else by the first packet;
//! - a bare SYN on a closed flow, or with a different ISN than the one this
//!   direction already announced, starts a new flow (port reuse, as
//!   Wireshark's `tcp.stream` and Suricata do);
//! - flows expire on capture-time idle timeouts per protocol and state
//!   (Suricata's defaults: TCP 60 s new / 600 s established / 60 s closed,
//!   UDP and others 30 s new / 300 s established);
//! - memory is bounded by [`FlowConfig::max_flows`] and the byte budgets of
//!   [`memory`] (flows, reassembly, DPI probing): when the table is full,
//!   the flow closest to its own timeout is evicted first (unanswered SYN
//!   flood entries go before established conversations) and counted; under
//!   pressure the emergency mode shortens the timeouts.
//!
//! Expiry uses a lazy deadline heap: each flow has one heap entry; when it
//! surfaces, the real deadline is checked and the entry re-queued if the flow
//! was active meanwhile. That keeps expiry O(log n) amortised per flow
//! instead of sweeping the whole table.

use super::key::{Direction, Endpoint, FlowKey, PacketKey};
use super::tcp_reasm::{ReasmConfig, ReasmStats, StreamReassembler, StreamSink};
use crate::decode::meta::{TcpMeta, Transport};
use crate::dpi::parser::AppRecord;
use crate::dpi::{AppProto, Identifier};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;

const NS: i64 = 1_000_000_000;

/// Flow-table limits and timeouts.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    /// Most flows held at once (default 262,144).
    pub max_flows: usize,
    /// Flow memory budget, Suricata's `flow.memcap` (default 256 MiB, room
    /// for `max_flows` flows): [`FLOW_BYTES`] per flow plus its pending
    /// frame list.
    pub memcap_bytes: usize,
    /// Global reassembly budget over every TCP stream, Suricata's
    /// `stream.reassembly.memcap` (default 256 MiB).
    pub stream_memcap_bytes: usize,
    /// Global budget of the bytes flows hold while their protocol is
    /// being identified (default 32 MiB).
    pub dpi_memcap_bytes: usize,
    /// Idle timeouts.
    pub timeouts: Timeouts,
    /// Emergency mode: when it starts and ends, and its timeouts.
    pub emergency: EmergencyConfig,
    /// Per-direction TCP reassembly limits.
    pub reasm: ReasmConfig,
}

impl FlowConfig {
    /// Disables idle expiry, in emergency too: flows end only by port
    /// reuse, eviction or the end of input, as conversations do in
    /// Wireshark.
    pub fn without_idle_timeouts(mut self) -> Self {
        self.timeouts = Timeouts::NEVER;
        self.emergency.timeouts = Timeouts::NEVER;
        self
    }
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 262_144,
            memcap_bytes: 256 << 20,
            stream_memcap_bytes: 256 << 20,
            dpi_memcap_bytes: 32 << 20,
            timeouts: Timeouts {
                tcp_new_ns: 60 * NS,
                tcp_established_ns: 600 * NS,
                tcp_closed_ns: 60 * NS,
                other_new_ns: 30 * NS,
                other_established_ns: 300 * NS,
            },
            emergency: EmergencyConfig::default(),
            reasm: ReasmConfig::default(),
        }
    }
}

/// TCP connection state as far as a passive observer can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpState {
    /// No SYN seen (midstream pickup) and nothing else known.
    None,
    /// Client SYN seen.
    SynSent,
    /// Server SYN-ACK seen.
    SynRecv,
    /// Handshake completed, or data seen both ways.
    Established,
    /// A FIN was seen in one direction.
    Closing,
    /// FINs both ways, or a RST.
    Closed,
}

impl TcpState {
    /// Suricata's `tcp.state` names.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::None => "none",
            TcpState::SynSent => "syn_sent",
            TcpState::SynRecv => "syn_recv",
            TcpState::Established => "established",
            TcpState::Closing => "fin_wait1",
            TcpState::Closed => "closed",
        }
    }
}

/// Why a flow record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Idle timeout in capture time.
    Timeout,
    /// Evicted because the table was full.
    Evicted,
    /// Replaced by a new connection on the same tuple (port reuse).
    PortReuse,
    /// End of input.
    Shutdown,
}

impl EndReason {
    /// Suricata's `flow.reason` names (plus `evicted`, `port_reuse`).
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Timeout => "timeout",
            EndReason::Evicted => "evicted",
            EndReason::PortReuse => "port_reuse",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// Reassembly statistics folded from both directions, kept after the
/// reassemblers are freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// Bytes delivered in order, per direction.
    pub delivered: [u64; 2],
    /// Stream length per direction: bytes delivered plus bytes lost
    /// (snapped frames, capture loss), as the sequence numbers tell.
    pub length: [u64; 2],
    /// Gaps reported, per direction.
    pub gaps: [u64; 2],
    /// Overlaps with different data, per direction.
    pub overlap_conflicts: [u64; 2],
}

/// Both directions of a TCP connection's reassembly.
struct TcpStreams {
    dirs: [StreamReassembler; 2],
}

/// One bidirectional conversation.
pub struct Flow {
    /// Run-wide flow id, 1-based, in order of first packet.
    pub id: u64,
    /// Direction-independent key.
    pub key: FlowKey,
    /// Client endpoint.
    pub client: Endpoint,
    /// Server endpoint.
    pub server: Endpoint,
    /// First packet time (ns since epoch).
    pub first_ts_ns: i64,
    /// Last packet time.
    pub last_ts_ns: i64,
    /// Packets per direction (index: [`Direction::idx`]).
    pub pkts: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// Union of TCP flags per direction.
    pub tcp_flags: [u8; 2],
    /// TCP state.
    pub tcp_state: TcpState,
    /// Each direction's initial sequence number as far as known: from its
    /// SYN, from the peer's SYN-ACK (ack - 1), or from its first segment
    /// (seq - 1) on a midstream pickup, as Wireshark's `base_seq`.
    isn: [Option<u32>; 2],
    /// First ICMP type/code seen (client direction), for ICMP flows.
    pub icmp_type_code: Option<(u8, u8)>,
    /// Decode and stream anomalies attributed to this flow.
    pub anomalies: u32,
    /// Application protocol (`unknown` until identified).
    pub app_proto: &'static str,
    /// The flow that announced this one (an FTP data connection's control
    /// connection), as Suricata's `parent_id`.
    pub parent_id: Option<u64>,
    /// Protocol identification state.
    ident: Identifier,
    /// Why the record ended (set when the flow leaves the table).
    pub end_reason: EndReason,
    /// Reassembly summary (TCP only).
    pub stream: StreamSummary,
    /// Frames of the flow not yet handed out (see [`FlowPackets`]).
    pub packets: Vec<u64>,
    /// Pieces of the frame list already handed out.
    pub packets_seq: u32,
    streams: Option<Box<TcpStreams>>,
    /// Reassembly ran and was finished (no second round on late data).
    stream_done: bool,
    /// What the flow is charged against the memory budgets.
    mem: memory::FlowMem,
}

impl Flow {
    /// Direction of a packet sent by `src`.
    pub fn direction_of(&self, src: &Endpoint) -> Direction {
        if *src == self.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// IP protocol number.
    pub fn proto(&self) -> u8 {
        self.key.proto
    }

    /// Suricata's `flow.state`: `new`, `established` or `closed`.
    pub fn state_name(&self) -> &'static str {
        if self.key.proto == 6 {
            match self.tcp_state {
                TcpState::Closed | TcpState::Closing => "closed",
                TcpState::Established => "established",
                _ => "new",
            }
        } else if self.pkts[1] > 0 {
            "established"
        } else {
            "new"
        }
    }

    fn timeout_ns(&self, t: &Timeouts) -> i64 {
        if self.key.proto == 6 {
            match self.tcp_state {
                TcpState::Closed => t.tcp_closed_ns,
                TcpState::Established | TcpState::Closing => t.tcp_established_ns,
                TcpState::None if self.pkts[1] > 0 => t.tcp_established_ns,
                _ => t.tcp_new_ns,
            }
        } else if self.pkts[1] > 0 {
            t.other_established_ns
        } else {
            t.other_new_ns
        }
    }

    fn deadline(&self, t: &Timeouts) -> i64 {
        self.last_ts_ns.saturating_add(self.timeout_ns(t))
    }

    /// Folds the reassemblers' final statistics in and frees them.
    fn finish_streams(&mut self, sink: &mut dyn FnMut(u64, Direction, StreamEvent<'_>)) {
        if let Some(mut s) = self.streams.take() {
            self.stream_done = true;
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
                s.dirs[i].flush(&mut fwd);
                fold_stats(&mut self.stream, i, s.dirs[i].stats());
            }
            self.name_app();
        }
    }

    /// Ends the flow's application layer: flushes reassembly, lets the
    /// parser emit what it holds, and collects the records.
    fn conclude(
        &mut self,
        events: &mut Vec<AppEvent>,
        sink: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) {
        self.finish_streams(sink);
        self.ident.finish();
        self.collect_records(self.last_ts_ns, events);
    }

    /// Moves the parser's records out as [`AppEvent`]s stamped `ts_ns`.
    fn collect_records(&mut self, ts_ns: i64, events: &mut Vec<AppEvent>) {
        let records = self.ident.take_records();
        events.extend(records.into_iter().map(|record| AppEvent {
            flow_id: self.id,
            ts_ns,
            client: self.client,
            server: self.server,
            proto: self.key.proto,
            record,
        }));
    }

    /// Copies the identified protocol's name into `app_proto`.
    fn name_app(&mut self) {
        if let Some(app) = self.ident.app() {
            self.app_proto = app.name();
        }
    }
}

fn fold_stats(sum: &mut StreamSummary, i: usize, st: &ReasmStats) {
    sum.delivered[i] = st.delivered_bytes;
    sum.length[i] = st.delivered_bytes + st.gap_bytes;
    sum.gaps[i] = st.gaps;
    sum.overlap_conflicts[i] = st.overlap_conflicts;
}

/// One application-layer record with the flow it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct AppEvent {
    /// Flow id.
    pub flow_id: u64,
    /// Time of the packet that completed the record.
    pub ts_ns: i64,
    /// The flow's client.
    pub client: Endpoint,
    /// The flow's server.
    pub server: Endpoint,
    /// IP protocol.
    pub proto: u8,
    /// The record.
    pub record: AppRecord,
}

/// Reassembled stream output for later stages (DPI).
#[derive(Debug)]
pub enum StreamEvent<'a> {
    /// In-order bytes at a stream offset.
    Data {
        /// Stream offset of `bytes[0]`.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
        /// The flow's application protocol as identified so far.
        app: Option<AppProto>,
    },
    /// Bytes that will never be seen.
    Gap {
        /// Stream offset of the hole.
        offset: u64,
        /// Hole length.
        len: u64,
    },
}

/// Forwards one direction's reassembled stream to the flow's protocol
/// identifier and to the caller.
struct EventSink<'s, 'f> {
    flow: u64,
    dir: Direction,
    server_port: u16,
    ident: &'s mut Identifier,
    out: &'s mut (dyn FnMut(u64, Direction, StreamEvent<'_>) + 'f),
}

impl StreamSink for EventSink<'_, '_> {
    fn data(&mut self, offset: u64, bytes: &[u8]) {
        self.ident.tcp_data(self.dir, self.server_port, bytes);
        let app = self.ident.app();
        (self.out)(
            self.flow,
            self.dir,
            StreamEvent::Data { offset, bytes, app },
        );
    }
    fn gap(&mut self, offset: u64, len: u64) {
        self.ident.tcp_gap(self.dir);
        (self.out)(self.flow, self.dir, StreamEvent::Gap { offset, len });
    }
}

/// Counters of the flow table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub created: u64,
    /// Flows ended by idle timeout.
    pub timed_out: u64,
    /// Flows evicted because the table was full (flow count or
    /// [`FlowConfig::memcap_bytes`]).
    pub evicted: u64,
    /// Flows ended by port reuse.
    pub port_reuse: u64,
    /// Most flows held at once (see [`FlowTable::stats`] for since when).
    pub peak_flows: u64,
    /// TCP segments whose payload overlapped earlier data with different bytes.
    pub overlap_conflicts: u64,
    /// Announced connections not waited for ([`MAX_EXPECTATIONS`] reached;
    /// with several flow workers, also ended announcing flows the run-wide
    /// id map had no room left for).
    pub expectations_dropped: u64,
    /// Stream gaps (bytes that were never captured).
    pub gaps: u64,
    /// Most bytes charged to the flow budget at once.
    pub peak_flow_bytes: u64,
    /// Most reassembly bytes held at once, all streams.
    pub peak_stream_bytes: u64,
    /// Most DPI probing bytes held at once, all flows.
    pub peak_dpi_bytes: u64,
    /// Flows whose reassembly memory was shed to meet
    /// [`FlowConfig::stream_memcap_bytes`].
    pub stream_memcap_sheds: u64,
    /// Flows whose probing memory was shed to meet
    /// [`FlowConfig::dpi_memcap_bytes`].
    pub dpi_memcap_sheds: u64,
    /// Times the emergency mode was entered.
    pub emergency_entered: u64,
    /// Times it was left.
    pub emergency_left: u64,
    /// Capture time spent in it (ns).
    pub emergency_ns: u64,
}

/// The frames a packet came in, as (frame number, wire length): one, or
/// every fragment of a reassembled IP datagram. Flow counters count frames,
/// so they agree with the packet index and with what an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wire<'a> {
    /// Frames.
    pub frames: &'a [(u64, u32)],
}

/// Most frame numbers a flow holds before they are handed out as a
/// [`FlowPackets`] piece (the flow's final piece comes with its record).
pub const FLOW_LIST_MAX: usize = 4096;

/// A piece of a flow's frame list: entries are the frame number in bits
/// 0–62 and the direction (1 = to client) in bit 63.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowPackets {
    /// The flow.
    pub flow_id: u64,
    /// Order of this piece among the flow's pieces.
    pub seq: u32,
    /// Entries, in frame order.
    pub entries: Vec<u64>,
}

/// What the table did with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketVerdict {
    /// Flow the packet belongs to.
    pub flow_id: u64,
    /// Its direction in that flow.
    pub dir: Direction,
    /// The segment overlapped earlier data with different bytes.
    pub overlap_conflict: bool,
    /// The packet created the flow.
    pub new_flow: bool,
    /// The packet completed the TCP handshake.
    pub established: bool,
    /// The packet closed the TCP connection (FIN from both sides, or RST).
    pub closed: bool,
    /// For a new flow, the flow that announced it (see [`Flow::parent_id`]).
    pub parent_id: Option<u64>,
}

/// The flow table. Owns every live flow; ended flows are handed to the
/// caller through the `ended` vector of each call.
pub struct FlowTable {
    cfg: FlowConfig,
    /// Key → slot in `slots`. Keyed with foldhash's per-process random
    /// seed: fast on the hot path and not predictable by an attacker
    /// choosing addresses.
    flows: HashMap<FlowKey, u32, foldhash::fast::RandomState>,
    /// The flows, boxed so that growing the slab moves pointers, not flows.
    slots: Vec<Option<Box<Flow>>>,
    /// Free slots.
    free: Vec<u32>,
    /// (deadline, flow id, slot): 24 bytes a flow rather than a key copy.
    deadlines: BinaryHeap<Reverse<(i64, u64, u32)>>,
    next_id: u64,
    stats: FlowStats,
    pieces: Vec<FlowPackets>,
    app_events: Vec<AppEvent>,
    /// Keys still to end, while draining (see [`FlowTable::drain`]).
    drain_order: Option<Vec<(u64, u32)>>,
    /// Announced connections not yet seen: listening endpoint →
    /// (announcing flow id, expiry time). At most [`MAX_EXPECTATIONS`].
    expected: HashMap<(IpAddr, u16), (u64, i64), foldhash::fast::RandomState>,
    /// Budget totals and the emergency state.
    mem: memory::MemState,
}

/// Most announced connections (FTP data channels) waited for at once;
/// beyond it, expired ones are dropped, then new ones are not recorded
/// (counted in [`FlowStats::expectations_dropped`]).
pub const MAX_EXPECTATIONS: usize = 4096;

/// How long an announced connection is waited for (Suricata's
/// `app-layer.expectation` default is similar: the data connection follows
/// the reply within seconds).
pub const EXPECTATION_TIMEOUT_NS: i64 = 120_000_000_000;

impl FlowTable {
    /// An empty table.
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            cfg,
            flows: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            deadlines: BinaryHeap::new(),
            next_id: 1,
            stats: FlowStats::default(),
            pieces: Vec::new(),
            app_events: Vec::new(),
            drain_order: None,
            expected: HashMap::default(),
            mem: memory::MemState::default(),
        }
    }

    /// The live flow in `slot`.
    fn flow(&self, slot: u32) -> Option<&Flow> {
        self.slots.get(slot as usize)?.as_deref()
    }

    /// Stores a new flow; returns its slot.
    fn insert(&mut self, flow: Flow) -> u32 {
        let key = flow.key;
        let slot = match self.free.pop() {
            Some(slot) => {
                if let Some(s) = self.slots.get_mut(slot as usize) {
                    *s = Some(Box::new(flow));
                }
                slot
            }
            None => {
                self.slots.push(Some(Box::new(flow)));
                (self.slots.len() - 1) as u32
            }
        };
        self.flows.insert(key, slot);
        slot
    }

    /// Removes the flow in `slot` from the table.
    fn take(&mut self, slot: u32) -> Option<Flow> {
        let f = self.slots.get_mut(slot as usize)?.take()?;
        self.flows.remove(&f.key);
        self.free.push(slot);
        self.release(&f);
        Some(*f)
    }

    /// Counters so far; the `peak_*` ones since the last
    /// [`FlowTable::restart_peaks`] (the engine restarts them every packet
    /// and keeps the run-wide peaks itself).
    pub fn stats(&self) -> FlowStats {
        self.stats
    }

    /// Moves the application-layer records and frame-list pieces made so
    /// far to the end of `events` and `pieces` (keeping the table's
    /// allocations for the next packet).
    pub fn move_output(&mut self, events: &mut Vec<AppEvent>, pieces: &mut Vec<FlowPackets>) {
        events.append(&mut self.app_events);
        pieces.append(&mut self.pieces);
    }

    /// The flows held now, in no particular order.
    pub fn open_flows(&self) -> impl Iterator<Item = &Flow> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// Flows currently held.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// Accounts one packet (`wire`: the frames it came in, several for a
    /// reassembled IP datagram, and their bytes on the wire; `payload` the
    /// transport payload) to its flow, creating it if needed, and feeds TCP
    /// payload to reassembly; reassembled data goes to `stream_out`. Flows
    /// that end because of this packet (port reuse, eviction) are pushed to
    /// `ended`.
    #[allow(clippy::too_many_arguments)]
    pub fn packet(
        &mut self,
        pk: &PacketKey,
        transport: Option<&Transport>,
        ts_ns: i64,
        wire: Wire<'_>,
        payload: &[u8],
        ended: &mut Vec<Flow>,
        stream_out: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) -> PacketVerdict {
        let tcp = match transport {
            Some(Transport::Tcp(t)) => Some(*t),
            _ => None,
        };
        let bare_syn = tcp.is_some_and(|t| t.has(TcpMeta::SYN) && !t.has(TcpMeta::ACK));
        if bare_syn {
            let slot = self.flows.get(&pk.key).copied();
            if let Some((slot, f)) = slot.and_then(|s| Some((s, self.flow(s)?))) {
                let dir = f.direction_of(&pk.src);
                let seq = tcp.map(|t| t.seq);
                // A SYN retransmission carries the same ISN; a new
                // connection on the same tuple carries another one.
                let reused = f.isn[dir.idx()].is_some_and(|isn| Some(isn) != seq);
                if reused {
                    if let Some(mut old) = self.take(slot) {
                        old.end_reason = EndReason::PortReuse;
                        old.conclude(&mut self.app_events, stream_out);
                        self.stats.port_reuse += 1;
                        ended.push(old);
                    }
                }
            }
        }
        let mut new_flow = false;
        let slot = match self.flows.get(&pk.key) {
            Some(&slot) => slot,
            None => {
                new_flow = true;
                self.make_room(ended, stream_out);
                let flow = self.new_flow(pk, tcp.as_ref(), ts_ns);
                let (deadline, id) = (flow.deadline(self.timeouts()), flow.id);
                let slot = self.insert(flow);
                self.charge_new();
                self.deadlines.push(Reverse((deadline, id, slot)));
                self.stats.peak_flows = self.stats.peak_flows.max(self.flows.len() as u64);
                slot
            }
        };
        let Some(flow) = self
            .slots
            .get_mut(slot as usize)
            .and_then(|s| s.as_deref_mut())
        else {
            // Unreachable: inserted above. Keep the packet unattributed.
            return PacketVerdict {
                flow_id: 0,
                dir: Direction::ToServer,
                overlap_conflict: false,
                new_flow,
                established: false,
                closed: false,
                parent_id: None,
            };
        };
        let dir = flow.direction_of(&pk.src);
        let d = dir.idx();
        flow.pkts[d] += wire.frames.len() as u64;
        for &(pkt_no, len) in wire.frames {
            flow.bytes[d] += u64::from(len);
            flow.packets.push(pkt_no | ((d as u64) << 63));
        }
        if flow.packets.len() >= FLOW_LIST_MAX {
            let entries = std::mem::take(&mut flow.packets);
            self.pieces.push(FlowPackets {
                flow_id: flow.id,
                seq: flow.packets_seq,
                entries,
            });
            flow.packets_seq += 1;
        }
        flow.last_ts_ns = flow.last_ts_ns.max(ts_ns);
        let first_event = self.app_events.len();
        let mut overlap_conflict = false;
        let mut established = false;
        let mut closed = false;
        match transport {
            Some(Transport::Tcp(t)) => {
                let before = flow.tcp_state;
                track_tcp(flow, dir, t);
                established =
                    before == TcpState::SynRecv && flow.tcp_state == TcpState::Established;
                closed = before != TcpState::Closed && flow.tcp_state == TcpState::Closed;
                overlap_conflict = feed_stream(flow, dir, t, payload, &self.cfg.reasm, stream_out);
                if flow.tcp_state == TcpState::Closed && !flow.stream_done {
                    // Late segments after FIN/RST are not reassembled; the
                    // reassembly and parser buffers go now rather than at
                    // the flow's timeout.
                    flow.finish_streams(stream_out);
                    flow.ident.finish();
                }
                if overlap_conflict {
                    self.stats.overlap_conflicts += 1;
                    flow.anomalies += 1;
                }
                flow.name_app();
                flow.collect_records(ts_ns, &mut self.app_events);
            }
            Some(Transport::Udp { .. }) => {
                flow.ident.udp_datagram(dir, flow.server.port, payload);
                flow.name_app();
                flow.collect_records(ts_ns, &mut self.app_events);
            }
            Some(Transport::Icmp { icmp_type, code } | Transport::Icmpv6 { icmp_type, code })
                if flow.icmp_type_code.is_none() =>
            {
                flow.icmp_type_code = Some((*icmp_type, *code));
            }
            _ => {}
        }
        let flow_id = flow.id;
        let parent_id = flow.parent_id.filter(|_| new_flow);
        self.account(slot, ts_ns, stream_out);
        if tcp.is_some() && self.app_events.len() > first_event {
            self.expect_announced(first_event, ts_ns);
        }
        PacketVerdict {
            flow_id,
            dir,
            overlap_conflict,
            new_flow,
            established,
            closed,
            parent_id,
        }
    }

    /// Records the connections announced by app events from index `first`
    /// on (FTP data channels), to be named and linked when they start.
    fn expect_announced(&mut self, first: usize, ts_ns: i64) {
        for ev in self.app_events.get(first..).unwrap_or_default() {
            let Some(ch) = ev.record.data_channel() else {
                continue;
            };
            let at = (ch.ip.unwrap_or(ev.server.ip), ch.port);
            if self.expected.len() >= MAX_EXPECTATIONS {
                self.expected.retain(|_, (_, expiry)| *expiry > ts_ns);
            }
            if self.expected.len() < MAX_EXPECTATIONS || self.expected.contains_key(&at) {
                self.expected
                    .insert(at, (ev.flow_id, ts_ns + EXPECTATION_TIMEOUT_NS));
            } else {
                self.stats.expectations_dropped += 1;
            }
        }
    }

    fn new_flow(&mut self, pk: &PacketKey, tcp: Option<&TcpMeta>, ts_ns: i64) -> Flow {
        // A SYN-ACK as first packet: its sender is the server.
        let syn_ack = tcp.is_some_and(|t| t.has(TcpMeta::SYN | TcpMeta::ACK));
        let (client, server) = if syn_ack {
            (pk.dst, pk.src)
        } else {
            (pk.src, pk.dst)
        };
        let id = self.next_id;
        self.next_id += 1;
        self.stats.created += 1;
        let parent_id = match self.expected.remove(&(server.ip, server.port)) {
            Some((parent, expiry)) if expiry >= ts_ns && pk.key.proto == 6 => Some(parent),
            _ => None,
        };
        let mut flow = Flow {
            id,
            key: pk.key,
            client,
            server,
            first_ts_ns: ts_ns,
            last_ts_ns: ts_ns,
            pkts: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            tcp_state: TcpState::None,
            isn: [None; 2],
            icmp_type_code: None,
            anomalies: 0,
            app_proto: "unknown",
            parent_id: None,
            ident: Identifier::default(),
            end_reason: EndReason::Shutdown,
            stream: StreamSummary::default(),
            packets: Vec::new(),
            packets_seq: 0,
            streams: None,
            stream_done: false,
            mem: memory::FlowMem::default(),
        };
        if parent_id.is_some() {
            flow.parent_id = parent_id;
            flow.ident.assign(AppProto::FtpData);
            flow.app_proto = AppProto::FtpData.name();
        }
        flow
    }

    /// Evicts flows until there is room for one more.
    fn make_room(
        &mut self,
        ended: &mut Vec<Flow>,
        stream_out: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) {
        while !self.room_for_one() {
            match self.pop_earliest(i64::MAX) {
                Some(mut f) => {
                    f.end_reason = EndReason::Evicted;
                    f.conclude(&mut self.app_events, stream_out);
                    self.stats.evicted += 1;
                    ended.push(f);
                }
                None => break,
            }
        }
    }

    /// Removes and returns the live flow with the earliest real deadline,
    /// if that deadline is `<= limit`.
    fn pop_earliest(&mut self, limit: i64) -> Option<Flow> {
        while let Some(Reverse((deadline, id, slot))) = self.deadlines.peek().copied() {
            if deadline > limit {
                return None;
            }
            self.deadlines.pop();
            let Some(f) = self.flow(slot) else {
                continue;
            };
            if f.id != id {
                continue; // stale entry of a flow that ended earlier
            }
            let real = f.deadline(self.timeouts());
            if real > deadline {
                self.deadlines.push(Reverse((real, id, slot)));
                continue;
            }
            return self.take(slot);
        }
        None
    }

    /// Ends every flow idle past its timeout at capture time `now_ns`.
    pub fn expire(
        &mut self,
        now_ns: i64,
        ended: &mut Vec<Flow>,
        stream_out: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) {
        self.check_pressure(now_ns);
        while let Some(mut f) = self.pop_earliest(now_ns) {
            f.end_reason = EndReason::Timeout;
            f.conclude(&mut self.app_events, stream_out);
            self.stats.timed_out += 1;
            ended.push(f);
        }
        self.check_pressure(now_ns);
    }

    /// Ends up to `max` remaining flows (end of input), in flow-id order;
    /// returns true while flows remain. Draining in slices lets the caller
    /// ship each slice before the next is built, so the end of a capture
    /// with many live flows does not hold them all twice.
    pub fn drain(
        &mut self,
        max: usize,
        ended: &mut Vec<Flow>,
        stream_out: &mut dyn FnMut(u64, Direction, StreamEvent<'_>),
    ) -> bool {
        if self.drain_order.is_none() {
            // No expiry while draining: the deadline heap's memory goes
            // before the drain order is built.
            self.deadlines = BinaryHeap::new();
            self.close_emergency();
        }
        let mut order = match self.drain_order.take() {
            Some(order) => order,
            None => {
                let mut keys: Vec<(u64, u32)> = self
                    .slots
                    .iter()
                    .enumerate()
                    .filter_map(|(i, s)| s.as_ref().map(|f| (f.id, i as u32)))
                    .collect();
                // Highest id first, so `pop` yields flows in id order.
                keys.sort_unstable_by_key(|k| std::cmp::Reverse(k.0));
                keys
            }
        };
        for _ in 0..max {
            let Some((_, slot)) = order.pop() else {
                break;
            };
            if let Some(mut f) = self.take(slot) {
                f.end_reason = EndReason::Shutdown;
                f.conclude(&mut self.app_events, stream_out);
                ended.push(f);
            }
        }
        let done = order.is_empty();
        if !done {
            self.drain_order = Some(order);
        }
        !done
    }
}

#[path = "table/memory.rs"]
pub mod memory;
pub use memory::{EmergencyConfig, Timeouts, Usage, FLOW_BYTES};

#[path = "table/tcp.rs"]
mod tcp;
use tcp::{feed_stream, track_tcp};

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;

/// Flows for other modules' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::{Endpoint, Flow, FlowConfig, FlowTable, PacketKey};

    /// A UDP flow numbered `id` whose last packet was at `last_ts_ns`.
    pub(crate) fn flow(id: u64, last_ts_ns: i64) -> Flow {
        let ep = |ip: [u8; 4], port| Endpoint {
            ip: ip.into(),
            port,
        };
        let pk = PacketKey::new(
            17,
            ep([10, 0, 0, 1], 40_000),
            ep([10, 0, 0, 2], 53),
            Default::default(),
            None,
        );
        let mut f = FlowTable::new(FlowConfig::default()).new_flow(&pk, None, last_ts_ns);
        f.id = id;
        f
    }
}
