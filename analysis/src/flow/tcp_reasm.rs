//! Per-direction TCP stream reassembly: captured segments (in any order,
//! duplicated, overlapping, with holes) in, the ordered byte stream a DPI
//! parser reads out, through the [`StreamSink`] trait.
//!
//! # Contract
//! - One [`StreamReassembler`] per direction of a connection. The flow table
//!   feeds payload-bearing segments to [`StreamReassembler::segment`], the
//!   *peer's* acknowledgements to [`StreamReassembler::on_ack`], and calls
//!   [`StreamReassembler::flush`] at FIN/RST/timeout/end of capture.
//! - SYN/FIN flags are the caller's job. A SYN consumes one sequence number
//!   (RFC 9293 §3.4), so call `set_isn(syn.seq)` and pass SYN-borne payload
//!   (TCP Fast Open) at `syn.seq + 1`. Without an ISN the first segment seen
//!   becomes offset 0 (midstream pickup).
//! - The sink sees one gap-free account of the stream: offsets start at 0
//!   and every call, data or gap, starts where the previous one ended. No
//!   byte is delivered twice and no call is empty.
//! - Memory per stream is bounded by [`ReasmConfig`]; nothing here panics
//!   or returns an error: odd input is counted in [`ReasmStats`] and flagged
//!   in the [`SegmentOutcome`] of the segment that caused it.
//!
//! # Policies, and why
//! - **Sequence space.** A sequence number is placed by its signed 32-bit
//!   distance from the next expected one (modular comparison, RFC 793 §3.3,
//!   now RFC 9293 §3.4), then kept as a 64-bit stream offset, so wraparound
//!   at 2^32 is invisible past this point. Anything more than 2^30 bytes
//!   ahead is out of any legal window (window scale ≤ 14, RFC 7323 §2.3) and
//!   is dropped as garbage without allocating; 2^31 or more away reads as
//!   behind, i.e. old data.
//! - **First wins.** Bytes already delivered or buffered are never replaced.
//!   Hosts disagree on overlap resolution (Ptacek & Newsham 1998,
//!   "Insertion, Evasion, and Denial of Service"; Novak & Sturges 2007,
//!   target-based stream reassembly), so an IDS that silently picks one
//!   policy can be evaded. We keep the first copy, compare every re-sent
//!   byte we still hold, and report differing bytes as `overlap_conflict`.
//! - **Delivered window.** To compare re-sent bytes with data already handed
//!   to the sink, the last [`ReasmConfig::delivered_window_bytes`] delivered
//!   bytes (default 64 KiB) are kept, *minus those the peer has ACKed*: a
//!   receiver drops segments below RCV.NXT (RFC 9293 §3.10.7.4), so a
//!   different copy of acknowledged data can no longer make host and IDS
//!   diverge. The window therefore costs the in-flight data, not 64 KiB per
//!   flow. Conflicts with older or acked data go unnoticed (still counted as
//!   retransmissions).
//! - **Mark and continue.** When holding an out-of-order piece would exceed
//!   `max_buffered_bytes` or `max_segments`, the earliest hole is given up:
//!   `gap(offset, len)` is reported and the buffered data after it delivered
//!   (Suricata/Zeek behaviour). An ACK above a hole does the same, since the
//!   receiver got bytes we did not capture (Zeek's "ack above hole").
//! - **Depth.** Once the stream offset reaches [`ReasmConfig::depth`] (like
//!   Suricata's `stream.reassembly.depth`, gaps included) reassembly stops
//!   and its memory is freed; later segments are only counted.
//! - **Hot path.** An in-order segment with nothing buffered is handed to the
//!   sink straight from the caller's slice: no allocation, O(1) bookkeeping
//!   (plus the copy into the delivered window, which amortises to no
//!   allocation; set the window to 0 to skip it). Only out-of-order bytes
//!   are copied, once, into an exactly-sized buffer.

use std::collections::{BTreeMap, VecDeque};

/// Furthest ahead of the next expected byte a segment or ACK may land: the
/// largest window TCP can advertise, 2^30 bytes (RFC 7323 §2.3).
const MAX_AHEAD: u64 = 1 << 30;

/// Receives the ordered byte stream of one direction. DPI parsers implement
/// this.
pub trait StreamSink {
    /// In-order bytes starting at stream offset `offset` (0 = first byte
    /// after the ISN). Never empty.
    fn data(&mut self, offset: u64, bytes: &[u8]);
    /// `len` (> 0) bytes at `offset` are missing and will never arrive
    /// (capture loss or a buffer cap).
    fn gap(&mut self, offset: u64, len: u64);
}

/// Per-stream reassembly limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReasmConfig {
    /// Out-of-order payload bytes held per stream (default 256 KiB).
    pub max_buffered_bytes: usize,
    /// Out-of-order pieces held per stream (default 1024). A segment that
    /// straddles data already held is stored as one piece per hole it fills.
    pub max_segments: usize,
    /// Stream offset after which reassembly stops (default 1 MiB, as
    /// Suricata's `stream.reassembly.depth`); 0 = unlimited.
    pub depth: u64,
    /// Delivered, not yet acknowledged bytes kept to check retransmissions
    /// against (default 64 KiB); 0 disables that check.
    pub delivered_window_bytes: usize,
}

impl Default for ReasmConfig {
    fn default() -> Self {
        ReasmConfig {
            max_buffered_bytes: 256 * 1024,
            max_segments: 1024,
            depth: 1024 * 1024,
            delivered_window_bytes: 64 * 1024,
        }
    }
}

/// What one call to [`StreamReassembler::segment`] did. Several flags can be
/// set at once (e.g. a segment that re-sends some bytes and adds new ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentOutcome {
    /// Some of its bytes were next in line and went straight to the sink.
    pub in_order: bool,
    /// Some of its bytes were ahead of a hole and were buffered.
    pub buffered: bool,
    /// Some of its bytes had been received before (or precede the stream's
    /// first byte).
    pub retransmission: bool,
    /// Some re-sent bytes differ from the copy kept (first wins): an
    /// evasion signal.
    pub overlap_conflict: bool,
    /// A buffer cap made us give up on a hole and report a gap.
    pub cap_gap: bool,
    /// Some or all of its bytes lie past the reassembly depth and were
    /// dropped.
    pub beyond_depth: bool,
    /// Dropped: further ahead than any legal window.
    pub out_of_window: bool,
    /// Bytes handed to the sink by this call, including buffered data it
    /// unblocked.
    pub delivered_bytes: u64,
}

/// Counters of one stream. `buffered_*` are current values, the rest
/// cumulative.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReasmStats {
    /// Non-empty segments fed.
    pub segments: u64,
    /// Bytes handed to the sink.
    pub delivered_bytes: u64,
    /// Gaps reported (from caps, ACKs and flushes).
    pub gaps: u64,
    /// Bytes covered by gaps.
    pub gap_bytes: u64,
    /// Gaps reported because an ACK passed a hole.
    pub ack_gaps: u64,
    /// Gaps reported because a buffer cap was hit.
    pub cap_gaps: u64,
    /// Segments that had to be (partly) buffered out of order.
    pub out_of_order_segments: u64,
    /// Segments carrying bytes received before.
    pub retransmitted_segments: u64,
    /// Bytes received again (identical or not), including bytes arriving
    /// after their range was reported as a gap and bytes before offset 0.
    pub retransmitted_bytes: u64,
    /// Segments whose re-sent bytes differ from the kept copy.
    pub overlap_conflicts: u64,
    /// Re-sent bytes that differ from the kept copy.
    pub overlap_conflict_bytes: u64,
    /// The depth was reached; reassembly has stopped.
    pub depth_reached: bool,
    /// Segments with bytes past the depth.
    pub beyond_depth_segments: u64,
    /// Bytes past the depth, dropped.
    pub beyond_depth_bytes: u64,
    /// Segments dropped as too far ahead.
    pub out_of_window_segments: u64,
    /// Out-of-order bytes held now.
    pub buffered_bytes: usize,
    /// Out-of-order pieces held now.
    pub buffered_segments: usize,
    /// Most out-of-order bytes held at once.
    pub peak_buffered_bytes: usize,
}

/// Reassembles one direction of a TCP connection. See the module docs.
#[derive(Debug)]
pub struct StreamReassembler {
    max_buffered_bytes: usize,
    max_segments: usize,
    depth: u64,
    /// Sequence number of stream offset 0, once known.
    base_seq: Option<u32>,
    /// Stream offset of the next byte to deliver (delivered + gap bytes).
    next_off: u64,
    /// Out-of-order pieces by stream offset. Invariant: non-empty,
    /// non-overlapping, every key > `next_off` between calls.
    ooo: BTreeMap<u64, Vec<u8>>,
    window: DeliveredWindow,
    stats: ReasmStats,
    /// Stream offset of this direction's FIN, once seen: the FIN takes a
    /// sequence number (RFC 9293 §3.4) that is not a byte, so an ACK just
    /// past it acknowledges no missing data.
    fin_off: Option<u64>,
}

/// Per-call tally of re-sent bytes.
#[derive(Default)]
struct Overlap {
    bytes: u64,
    differing: u64,
}

impl StreamReassembler {
    /// An empty stream with `cfg`'s limits. Allocates nothing.
    pub fn new(cfg: &ReasmConfig) -> Self {
        StreamReassembler {
            max_buffered_bytes: cfg.max_buffered_bytes,
            max_segments: cfg.max_segments,
            depth: cfg.depth,
            base_seq: None,
            next_off: 0,
            ooo: BTreeMap::new(),
            window: DeliveredWindow::new(cfg.delivered_window_bytes),
            stats: ReasmStats::default(),
            fin_off: None,
        }
    }

    /// Sets the initial sequence number from the SYN: offset 0 is `isn + 1`.
    /// Ignored once any byte has been delivered, buffered or declared
    /// missing (a later SYN cannot move data already handed out).
    pub fn set_isn(&mut self, isn: u32) {
        if self.next_off == 0 && self.ooo.is_empty() {
            self.base_seq = Some(isn.wrapping_add(1));
        }
    }

    /// A FIN with sequence number `seq` (that of the byte after the
    /// segment's payload) was seen in this direction.
    pub fn fin(&mut self, seq: u32) {
        if let Some(base) = self.base_seq {
            let off = self.offset_of(base, seq);
            if off >= 0 {
                self.fin_off.get_or_insert(off as u64);
            }
        }
    }

    /// Stream offset of the next byte expected (bytes delivered + gaps).
    pub fn next_offset(&self) -> u64 {
        self.next_off
    }

    /// Sequence number of the next byte expected, once the base is known.
    pub fn next_seq(&self) -> Option<u32> {
        // Truncation is the point: offsets map to sequence numbers mod 2^32.
        self.base_seq.map(|b| b.wrapping_add(self.next_off as u32))
    }

    /// Counters so far.
    pub fn stats(&self) -> &ReasmStats {
        &self.stats
    }

    /// Stream offset of `seq`, relative to the next expected byte by the
    /// signed 32-bit distance (RFC 9293 §3.4 modular comparison). Negative
    /// means before offset 0.
    fn offset_of(&self, base: u32, seq: u32) -> i64 {
        let next_seq = base.wrapping_add(self.next_off as u32);
        self.next_off as i64 + i64::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// Feeds one segment's payload; `seq` is the sequence number of
    /// `payload[0]`. Delivers whatever becomes in order to `sink`.
    /// An empty payload is a no-op.
    pub fn segment(
        &mut self,
        seq: u32,
        payload: &[u8],
        sink: &mut impl StreamSink,
    ) -> SegmentOutcome {
        let mut out = SegmentOutcome::default();
        if payload.is_empty() {
            return out;
        }
        let len = payload.len() as u64;
        self.stats.segments += 1;
        if self.stats.depth_reached {
            out.beyond_depth = true;
            self.stats.beyond_depth_segments += 1;
            self.stats.beyond_depth_bytes += len;
            return out;
        }
        let base = *self.base_seq.get_or_insert(seq);
        let start = self.offset_of(base, seq);
        if start - self.next_off as i64 > MAX_AHEAD as i64 || len > MAX_AHEAD {
            out.out_of_window = true;
            self.stats.out_of_window_segments += 1;
            return out;
        }
        let end = start + len as i64;
        let mut overlap = Overlap::default();
        if start < 0 {
            // Before the first byte: nothing to place it against.
            overlap.bytes += (end.min(0) - start) as u64;
        }
        let first = start.max(0) as u64;
        let mut last = end.max(0) as u64;
        if self.depth > 0 && last > self.depth {
            out.beyond_depth = true;
            self.stats.beyond_depth_segments += 1;
            self.stats.beyond_depth_bytes += last - first.max(self.depth);
            last = self.depth;
        }
        let mut cur = first;
        while cur < last {
            let take = |to: u64| sub(payload, start, cur, to);
            if cur < self.next_off {
                // Already delivered (or given up as a gap).
                let stop = last.min(self.next_off);
                overlap.bytes += stop - cur;
                overlap.differing += self.window.differing(cur, take(stop));
                cur = stop;
                continue;
            }
            if let Some((&at, held)) = self.ooo.range(..=cur).next_back() {
                let held_end = at + held.len() as u64;
                if held_end > cur {
                    // Already buffered: the first copy wins.
                    let stop = last.min(held_end);
                    let old = &held[(cur - at) as usize..(stop - at) as usize];
                    overlap.bytes += stop - cur;
                    overlap.differing += count_differing(old, take(stop));
                    cur = stop;
                    if at == self.next_off {
                        out.delivered_bytes += self.drain(sink);
                    }
                    continue;
                }
            }
            let next_held = self.ooo.range(cur..).next().map_or(u64::MAX, |(&k, _)| k);
            let hole_end = last.min(next_held);
            let bytes = take(hole_end);
            if cur == self.next_off {
                self.deliver(bytes, sink);
                out.in_order = true;
                out.delivered_bytes += bytes.len() as u64;
            } else if self.fits(bytes.len()) {
                self.stats.buffered_bytes += bytes.len();
                self.stats.buffered_segments += 1;
                self.stats.peak_buffered_bytes = self
                    .stats
                    .peak_buffered_bytes
                    .max(self.stats.buffered_bytes);
                self.ooo.insert(cur, bytes.to_vec());
                out.buffered = true;
            } else {
                // Give up the earliest hole, then retry this piece.
                out.cap_gap = true;
                out.delivered_bytes += self.give_up_hole(cur, sink);
                continue;
            }
            cur = hole_end;
        }
        out.delivered_bytes += self.drain(sink);
        if overlap.bytes > 0 {
            out.retransmission = true;
            self.stats.retransmitted_segments += 1;
            self.stats.retransmitted_bytes += overlap.bytes;
        }
        if overlap.differing > 0 {
            out.overlap_conflict = true;
            self.stats.overlap_conflicts += 1;
            self.stats.overlap_conflict_bytes += overlap.differing;
        }
        if out.buffered {
            self.stats.out_of_order_segments += 1;
        }
        self.check_depth();
        out
    }

    /// Acknowledgement from the peer. Bytes below `ack` that are still
    /// missing were received by the peer but not captured: each hole is
    /// reported as a gap and the buffered data after it delivered. Acked
    /// bytes also leave the delivered window (see the module docs). ACKs
    /// for old data, ACKs beyond any legal window, and ACKs before the
    /// stream's base is known are ignored.
    pub fn on_ack(&mut self, ack: u32, sink: &mut impl StreamSink) {
        let Some(base) = self.base_seq else {
            return;
        };
        if self.stats.depth_reached {
            return;
        }
        let acked = self.offset_of(base, ack);
        let ahead = acked - self.next_off as i64;
        if acked <= 0 || ahead > MAX_AHEAD as i64 {
            return;
        }
        let mut acked = acked as u64;
        if let Some(fin) = self.fin_off.filter(|f| acked == f + 1) {
            acked = fin;
        }
        let target = if self.depth > 0 {
            acked.min(self.depth)
        } else {
            acked
        };
        while self.next_off < target {
            let next_held = self.ooo.keys().next().copied().unwrap_or(u64::MAX);
            if next_held > self.next_off {
                self.emit_gap(next_held.min(target), sink);
                self.stats.ack_gaps += 1;
            }
            self.drain(sink);
        }
        self.window.forget_below(acked);
        self.check_depth();
    }

    /// End of stream (FIN/RST/timeout/end of capture): delivers everything
    /// buffered in order, reporting the holes before it as gaps. The stream
    /// stays usable; later segments continue after the flushed data.
    pub fn flush(&mut self, sink: &mut impl StreamSink) {
        while let Some(next_held) = self.ooo.keys().next().copied() {
            if next_held > self.next_off {
                self.emit_gap(next_held, sink);
            }
            self.drain(sink);
        }
        self.check_depth();
    }

    /// Heap bytes this stream holds now: out-of-order pieces plus the
    /// delivered window's allocation. The flow table sums it over every
    /// stream against the global reassembly memcap.
    pub fn mem_bytes(&self) -> usize {
        self.stats.buffered_bytes + self.window.bytes.capacity()
    }

    /// The global reassembly memcap needs this stream's memory back:
    /// every hole is given up (reported as a gap, as [`Self::flush`] does),
    /// the buffered data delivered, and the delivered window freed (later
    /// retransmissions of those bytes are no longer compared). The stream
    /// stays usable. Returns the bytes released.
    pub fn shed(&mut self, sink: &mut impl StreamSink) -> usize {
        let before = self.mem_bytes();
        if !self.ooo.is_empty() {
            self.stats.cap_gaps += 1;
        }
        self.flush(sink);
        self.window.free();
        before - self.mem_bytes()
    }

    /// Whether `len` more out-of-order bytes fit under the caps.
    fn fits(&self, len: usize) -> bool {
        self.ooo.len() < self.max_segments
            && self.stats.buffered_bytes.saturating_add(len) <= self.max_buffered_bytes
    }

    /// Hands in-order bytes at `next_off` to the sink.
    fn deliver(&mut self, bytes: &[u8], sink: &mut impl StreamSink) {
        sink.data(self.next_off, bytes);
        self.window.push(self.next_off, bytes);
        self.next_off += bytes.len() as u64;
        self.stats.delivered_bytes += bytes.len() as u64;
    }

    /// Reports `[next_off, to)` as missing and moves past it.
    fn emit_gap(&mut self, to: u64, sink: &mut impl StreamSink) {
        let len = to - self.next_off;
        sink.gap(self.next_off, len);
        self.stats.gaps += 1;
        self.stats.gap_bytes += len;
        self.next_off = to;
    }

    /// Delivers the buffered pieces that are now next in line. Returns the
    /// bytes delivered.
    fn drain(&mut self, sink: &mut impl StreamSink) -> u64 {
        let mut delivered = 0;
        while let Some(entry) = self.ooo.first_entry() {
            if *entry.key() != self.next_off {
                break;
            }
            let bytes = entry.remove();
            self.stats.buffered_bytes -= bytes.len();
            self.stats.buffered_segments -= 1;
            delivered += bytes.len() as u64;
            self.deliver(&bytes, sink);
        }
        delivered
    }

    /// Caps are full and a piece at `cur` (> `next_off`, in a hole) needs
    /// room: reports the earliest hole as a gap and delivers what follows
    /// it. Returns the bytes delivered.
    fn give_up_hole(&mut self, cur: u64, sink: &mut impl StreamSink) -> u64 {
        let next_held = self.ooo.keys().next().copied().unwrap_or(u64::MAX);
        self.emit_gap(next_held.min(cur), sink);
        self.stats.cap_gaps += 1;
        self.drain(sink)
    }

    /// Stops reassembly and frees its memory once the depth is reached.
    fn check_depth(&mut self) {
        if self.depth > 0 && self.next_off >= self.depth && !self.stats.depth_reached {
            self.stats.depth_reached = true;
            self.ooo = BTreeMap::new();
            self.stats.buffered_bytes = 0;
            self.stats.buffered_segments = 0;
            self.window.free();
        }
    }
}

/// The part of `payload` (whose first byte is at stream offset `start`)
/// covering offsets `[from, to)`. Callers keep the range inside the payload.
fn sub(payload: &[u8], start: i64, from: u64, to: u64) -> &[u8] {
    let i = (from as i64 - start) as usize;
    &payload[i..i + (to - from) as usize]
}

/// Number of positions where `a` and `b` differ (equal lengths).
fn count_differing(a: &[u8], b: &[u8]) -> u64 {
    if a == b {
        return 0;
    }
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u64
}

/// The most recent delivered, unacknowledged bytes, `[start, start + len)`,
/// at most `cap` of them. Capacity grows by doubling up to `cap` and is
/// kept, so steady state allocates nothing.
#[derive(Debug)]
struct DeliveredWindow {
    cap: usize,
    start: u64,
    bytes: VecDeque<u8>,
}

impl DeliveredWindow {
    fn new(cap: usize) -> Self {
        DeliveredWindow {
            cap,
            start: 0,
            bytes: VecDeque::new(),
        }
    }

    fn end(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }

    /// Appends bytes delivered at `off`; a discontinuity (gap) restarts the
    /// window, and the oldest bytes go once `cap` is reached.
    fn push(&mut self, off: u64, data: &[u8]) {
        if self.cap == 0 {
            return;
        }
        let keep = &data[data.len().saturating_sub(self.cap)..];
        let keep_off = off + (data.len() - keep.len()) as u64;
        if off != self.end() || keep_off != off {
            self.bytes.clear();
            self.start = keep_off;
        }
        let overflow = (self.bytes.len() + keep.len()).saturating_sub(self.cap);
        self.drop_front(overflow);
        let needed = self.bytes.len() + keep.len();
        if needed > self.bytes.capacity() {
            let target = needed.max(self.bytes.capacity() * 2).min(self.cap);
            self.bytes.reserve_exact(target - self.bytes.len());
        }
        self.bytes.extend(keep);
    }

    /// Forgets bytes below stream offset `off` (acknowledged).
    fn forget_below(&mut self, off: u64) {
        if off > self.start {
            let n = (off - self.start).min(self.bytes.len() as u64) as usize;
            self.drop_front(n);
        }
    }

    fn drop_front(&mut self, n: usize) {
        if n >= self.bytes.len() {
            self.start = self.end();
            self.bytes.clear();
        } else if n > 0 {
            self.bytes.drain(..n);
            self.start += n as u64;
        }
    }

    /// How many of `data`'s bytes (at stream offset `off`) differ from the
    /// kept copy; bytes outside the window are not compared.
    fn differing(&self, off: u64, data: &[u8]) -> u64 {
        let lo = off.max(self.start);
        let hi = (off + data.len() as u64).min(self.end());
        if lo >= hi {
            return 0;
        }
        let (i, j) = ((lo - self.start) as usize, (hi - self.start) as usize);
        let ours = &data[(lo - off) as usize..(hi - off) as usize];
        let (front, back) = self.bytes.as_slices();
        let f = front.len();
        let mut n = 0;
        if i < f {
            let e = j.min(f);
            n += count_differing(&front[i..e], &ours[..e - i]);
        }
        if j > f {
            let s = i.max(f);
            n += count_differing(&back[s - f..j - f], &ours[s - i..]);
        }
        n
    }

    /// Releases the memory.
    fn free(&mut self) {
        self.start = self.end();
        self.bytes = VecDeque::new();
    }
}

#[cfg(test)]
#[path = "tcp_reasm/tests.rs"]
mod tests;
