//! Tests for [`super`]: byte-exact reassembly under every split, order,
//! duplicate and overlap; first-wins conflicts; gaps from flush, ACK and
//! caps; wraparound; depth; midstream pickup.

use super::*;

/// Records sink calls; panics unless every call is non-empty and starts
/// where the previous one (data or gap) ended.
#[derive(Default)]
struct Rec {
    next: u64,
    data: Vec<u8>,
    gaps: Vec<(u64, u64)>,
}

impl StreamSink for Rec {
    fn data(&mut self, offset: u64, bytes: &[u8]) {
        assert_eq!(offset, self.next, "data not contiguous");
        assert!(!bytes.is_empty(), "empty data call");
        self.data.extend_from_slice(bytes);
        self.next += bytes.len() as u64;
    }
    fn gap(&mut self, offset: u64, len: u64) {
        assert_eq!(offset, self.next, "gap not contiguous");
        assert!(len > 0, "empty gap");
        self.gaps.push((offset, len));
        self.next += len;
    }
}

/// SplitMix64: small, deterministic, good enough to shuffle.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

const N: usize = 3000;
const ISNS: [u32; 3] = [0, 0x1234_5678, u32::MAX - 1500];

fn roomy() -> ReasmConfig {
    ReasmConfig {
        max_buffered_bytes: 1 << 20,
        max_segments: 1 << 16,
        depth: 0,
        ..ReasmConfig::default()
    }
}

/// Sequence number of stream offset `off` given the ISN.
fn seq(isn: u32, off: usize) -> u32 {
    isn.wrapping_add(1).wrapping_add(off as u32)
}

/// Feeds `(offset, len)` slices of `input` in order, then flushes.
fn run(
    cfg: &ReasmConfig,
    isn: u32,
    input: &[u8],
    segs: &[(usize, usize)],
) -> (StreamReassembler, Rec) {
    let mut r = StreamReassembler::new(cfg);
    let mut rec = Rec::default();
    r.set_isn(isn);
    for &(off, len) in segs {
        r.segment(seq(isn, off), &input[off..off + len], &mut rec);
    }
    r.flush(&mut rec);
    (r, rec)
}

fn assert_exact(r: &StreamReassembler, rec: &Rec, input: &[u8]) {
    assert!(rec.data == input, "reassembled bytes differ");
    assert!(rec.gaps.is_empty(), "unexpected gaps {:?}", rec.gaps);
    let st = r.stats();
    assert_eq!(st.delivered_bytes, input.len() as u64);
    assert_eq!((st.gaps, st.overlap_conflicts), (0, 0));
    assert_eq!((st.buffered_bytes, st.buffered_segments), (0, 0));
}

/// Cuts `[0, n)` at `phase`, `phase + len`, `phase + 2 len`, ...
fn cut(n: usize, len: usize, phase: usize) -> Vec<(usize, usize)> {
    let mut segs = Vec::new();
    let mut at = 0;
    let mut next = if phase == 0 { len } else { phase };
    while at < n {
        let end = next.min(n);
        segs.push((at, end - at));
        at = end;
        next = end + len;
    }
    segs
}

#[test]
fn two_segments_split_at_every_position() {
    let input = Rng(1).bytes(N);
    for k in 1..N {
        for isn in ISNS {
            let fwd = [(0, k), (k, N - k)];
            let (r, rec) = run(&roomy(), isn, &input, &fwd);
            assert_exact(&r, &rec, &input);
            assert_eq!(r.stats().out_of_order_segments, 0);
            let (r, rec) = run(&roomy(), isn, &input, &[fwd[1], fwd[0]]);
            assert_exact(&r, &rec, &input);
            assert_eq!(r.stats().out_of_order_segments, 1);
        }
    }
}

#[test]
fn many_small_segments_every_phase_and_order() {
    let input = Rng(2).bytes(N);
    let mut rng = Rng(3);
    let lens = (1..=17).chain([64, 536, 1460]);
    for len in lens {
        for phase in 0..len {
            let isn = ISNS[phase % ISNS.len()];
            let mut segs = cut(N, len, phase);
            let (r, rec) = run(&roomy(), isn, &input, &segs);
            assert_exact(&r, &rec, &input);
            segs.reverse();
            let (r, rec) = run(&roomy(), isn, &input, &segs);
            assert_exact(&r, &rec, &input);
            rng.shuffle(&mut segs);
            let (r, rec) = run(&roomy(), isn, &input, &segs);
            assert_exact(&r, &rec, &input);
            assert_eq!(r.stats().retransmitted_bytes, 0);
        }
    }
}

#[test]
fn shuffled_duplicates_and_overlapping_retransmissions() {
    let input = Rng(4).bytes(N);
    for seed in 0..300 {
        let mut rng = Rng(seed);
        let mut segs = Vec::new();
        let mut at = 0;
        while at < N {
            let len = (1 + rng.below(300)).min(N - at);
            segs.push((at, len));
            at += len;
        }
        let extra = segs.len();
        for _ in 0..extra {
            if rng.below(3) == 0 {
                segs.push(segs[rng.below(segs.len())]); // exact duplicate
            } else {
                let a = rng.below(N);
                segs.push((a, 1 + rng.below(N - a).min(400))); // re-cut overlap
            }
        }
        rng.shuffle(&mut segs);
        let isn = if seed % 2 == 0 {
            u32::MAX - rng.below(N) as u32
        } else {
            rng.next() as u32
        };
        let (r, rec) = run(&roomy(), isn, &input, &segs);
        assert_exact(&r, &rec, &input);
        let total: usize = segs.iter().map(|s| s.1).sum();
        assert_eq!(r.stats().retransmitted_bytes, (total - N) as u64);
    }
}

#[test]
fn shuffled_conflicting_overlaps_match_first_wins_oracle() {
    for seed in 0..200 {
        let mut rng = Rng(1000 + seed);
        let n = 500;
        let mut segs: Vec<(usize, Vec<u8>)> = cut(n, 1 + rng.below(60), 0)
            .into_iter()
            .map(|(a, l)| (a, rng.bytes(l)))
            .collect();
        for _ in 0..segs.len() {
            let a = rng.below(n);
            let len = 1 + rng.below(n - a).min(80);
            segs.push((a, rng.bytes(len)));
        }
        rng.shuffle(&mut segs);
        // Oracle: each byte keeps the first value that arrived for it.
        let mut first: Vec<Option<u8>> = vec![None; n];
        let mut differing = 0;
        for (a, bytes) in &segs {
            for (slot, &b) in first[*a..].iter_mut().zip(bytes) {
                match *slot {
                    None => *slot = Some(b),
                    Some(old) => differing += u64::from(old != b),
                }
            }
        }
        let isn = rng.next() as u32;
        let mut r = StreamReassembler::new(&roomy());
        let mut rec = Rec::default();
        r.set_isn(isn);
        for (a, bytes) in &segs {
            r.segment(seq(isn, *a), bytes, &mut rec);
        }
        let want: Vec<u8> = first.iter().flatten().copied().collect();
        assert_eq!(rec.data, want);
        assert!(rec.gaps.is_empty());
        assert_eq!(r.stats().overlap_conflict_bytes, differing);
    }
}

#[test]
fn conflicting_overlap_with_buffered_data_first_wins() {
    let input = Rng(5).bytes(100);
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(1000);
    let o = r.segment(seq(1000, 40), &input[40..60], &mut rec);
    assert!(o.buffered && !o.in_order);
    let mut evil = input[30..70].to_vec();
    evil[12] ^= 0xff; // offset 42: held, conflicts
    evil[15] ^= 0xff; // offset 45: held, conflicts
    evil[35] ^= 0xff; // offset 65: new, kept
    let o = r.segment(seq(1000, 30), &evil, &mut rec);
    assert!(o.buffered && o.retransmission && o.overlap_conflict);
    let o = r.segment(seq(1000, 0), &input[..30], &mut rec);
    assert!(o.in_order && !o.retransmission);
    assert_eq!(o.delivered_bytes, 70);
    let mut want = input[..70].to_vec();
    want[65] ^= 0xff;
    assert_eq!(rec.data, want);
    let st = r.stats();
    assert_eq!((st.overlap_conflicts, st.overlap_conflict_bytes), (1, 2));
    assert_eq!((st.retransmitted_segments, st.retransmitted_bytes), (1, 20));
}

#[test]
fn conflicting_overlap_with_delivered_data_first_wins() {
    let input = Rng(6).bytes(200);
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(7);
    r.segment(seq(7, 0), &input[..100], &mut rec);
    let o = r.segment(seq(7, 50), &input[50..100], &mut rec);
    assert!(o.retransmission && !o.overlap_conflict && o.delivered_bytes == 0);
    let mut evil = input[50..150].to_vec();
    evil[0] ^= 1;
    let o = r.segment(seq(7, 50), &evil, &mut rec);
    assert!(o.retransmission && o.overlap_conflict && o.in_order);
    assert_eq!(o.delivered_bytes, 50);
    assert_eq!(rec.data, input[..150]);
    assert_eq!(r.stats().overlap_conflict_bytes, 1);
}

#[test]
fn delivered_window_bound_and_ack_trim() {
    let input = Rng(7).bytes(100);
    let cfg = ReasmConfig {
        delivered_window_bytes: 16,
        ..ReasmConfig::default()
    };
    let mut r = StreamReassembler::new(&cfg);
    let mut rec = Rec::default();
    r.set_isn(0);
    r.segment(seq(0, 0), &input[..100], &mut rec);
    let flipped = |from: usize, to: usize| input[from..to].iter().map(|b| !b).collect::<Vec<_>>();
    // Older than the last 16 bytes: not comparable, still a retransmission.
    let o = r.segment(seq(0, 0), &flipped(0, 84), &mut rec);
    assert!(o.retransmission && !o.overlap_conflict);
    // Within the window: all 16 compared.
    let o = r.segment(seq(0, 80), &flipped(80, 100), &mut rec);
    assert!(o.overlap_conflict);
    assert_eq!(r.stats().overlap_conflict_bytes, 16);
    // The peer acked up to 90: those bytes are forgotten.
    r.on_ack(seq(0, 90), &mut rec);
    let o = r.segment(seq(0, 80), &flipped(80, 100), &mut rec);
    assert_eq!(r.stats().overlap_conflict_bytes, 26);
    assert!(o.overlap_conflict);
    assert_eq!(rec.data, input);
}

#[test]
fn missing_segment_then_flush_reports_exact_gap() {
    let input = Rng(8).bytes(N);
    let segs: Vec<_> = cut(N, 500, 0).into_iter().filter(|s| s.0 != 1000).collect();
    let (r, rec) = run(&ReasmConfig::default(), ISNS[2], &input, &segs);
    assert_eq!(rec.gaps, [(1000, 500)]);
    assert_eq!(rec.data, [&input[..1000], &input[1500..]].concat());
    assert_eq!(rec.next, N as u64);
    let st = r.stats();
    assert_eq!(
        (st.gaps, st.gap_bytes, st.delivered_bytes),
        (1, 500, N as u64 - 500)
    );
    assert_eq!((st.buffered_bytes, st.peak_buffered_bytes), (0, 1500));
}

#[test]
fn ack_past_hole_reports_gap_and_delivers_buffered() {
    let input = Rng(9).bytes(N);
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(42);
    r.segment(seq(42, 0), &input[..100], &mut rec);
    r.segment(seq(42, 200), &input[200..300], &mut rec);
    r.segment(seq(42, 400), &input[400..500], &mut rec);
    r.on_ack(seq(42, 100), &mut rec); // up to date: nothing
    r.on_ack(seq(42, 50), &mut rec); // old: nothing
    assert!(rec.gaps.is_empty());
    r.on_ack(seq(42, 250), &mut rec); // into the held piece
    assert_eq!(rec.gaps, [(100, 100)]);
    assert_eq!(rec.data.len(), 200);
    r.on_ack(seq(42, 600), &mut rec); // past everything
    assert_eq!(rec.gaps, [(100, 100), (300, 100), (500, 100)]);
    assert_eq!(r.next_offset(), 600);
    assert_eq!(r.next_seq(), Some(seq(42, 600)));
    let o = r.segment(seq(42, 550), &input[550..700], &mut rec);
    assert!(o.retransmission && o.in_order);
    assert_eq!(
        rec.data,
        [
            &input[..100],
            &input[200..300],
            &input[400..500],
            &input[600..700]
        ]
        .concat()
    );
    let st = r.stats();
    assert_eq!((st.ack_gaps, st.gaps, st.gap_bytes), (3, 3, 300));
}

#[test]
fn ack_with_isn_and_no_data_is_a_gap() {
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.on_ack(500, &mut rec); // no base yet: ignored
    r.set_isn(9);
    r.on_ack(10, &mut rec); // acks the SYN only
    assert!(rec.gaps.is_empty());
    r.on_ack(seq(9, 300), &mut rec);
    assert_eq!(rec.gaps, [(0, 300)]);
    r.set_isn(77); // too late: ignored
    r.segment(seq(9, 300), b"abc", &mut rec);
    assert_eq!(rec.data, b"abc");
}

#[test]
fn sequence_wraparound() {
    let input = Rng(10).bytes(N);
    for isn in [u32::MAX, u32::MAX - 1, u32::MAX - 1000, u32::MAX - N as u32] {
        let mut segs = cut(N, 100, 37);
        Rng(u64::from(isn)).shuffle(&mut segs);
        let (r, rec) = run(&roomy(), isn, &input, &segs);
        assert_exact(&r, &rec, &input);
        assert_eq!(r.next_seq(), Some(seq(isn, N)));
    }
}

#[test]
fn depth_cap_stops_and_frees() {
    let input = Rng(11).bytes(N);
    let cfg = ReasmConfig {
        depth: 1000,
        ..ReasmConfig::default()
    };
    let segs = cut(N, 300, 0);
    let (r, rec) = run(&cfg, 5, &input, &segs);
    assert_eq!(rec.data, input[..1000]);
    let st = r.stats();
    assert!(st.depth_reached);
    assert_eq!(
        (st.beyond_depth_segments, st.beyond_depth_bytes),
        (7, N as u64 - 1000)
    );
    // Out of order: a piece straddling the depth is cut, one past it dropped.
    let mut r = StreamReassembler::new(&cfg);
    let mut rec = Rec::default();
    r.set_isn(5);
    let o = r.segment(seq(5, 1200), &input[1200..1300], &mut rec);
    assert!(o.beyond_depth && !o.buffered);
    let o = r.segment(seq(5, 900), &input[900..1100], &mut rec);
    assert!(o.beyond_depth && o.buffered);
    assert_eq!(r.stats().buffered_bytes, 100);
    let o = r.segment(seq(5, 0), &input[..900], &mut rec);
    assert_eq!(o.delivered_bytes, 1000);
    let st = r.stats();
    assert!(st.depth_reached);
    assert_eq!((st.buffered_bytes, st.buffered_segments), (0, 0));
    let o = r.segment(seq(5, 1000), &input[1000..1100], &mut rec);
    assert!(o.beyond_depth && o.delivered_bytes == 0);
    r.on_ack(seq(5, 2000), &mut rec);
    r.flush(&mut rec);
    assert_eq!(rec.data, input[..1000]);
    assert!(rec.gaps.is_empty());
}

#[test]
fn byte_cap_forces_gap_and_continues() {
    let input = Rng(12).bytes(N);
    let cfg = ReasmConfig {
        max_buffered_bytes: 100,
        ..ReasmConfig::default()
    };
    let mut r = StreamReassembler::new(&cfg);
    let mut rec = Rec::default();
    r.set_isn(3);
    r.segment(seq(3, 10), &input[10..60], &mut rec);
    r.segment(seq(3, 70), &input[70..120], &mut rec);
    assert_eq!(r.stats().buffered_bytes, 100);
    let o = r.segment(seq(3, 130), &input[130..140], &mut rec);
    assert!(o.cap_gap && o.buffered);
    assert_eq!(o.delivered_bytes, 50);
    assert_eq!(rec.gaps, [(0, 10)]);
    // A piece larger than the whole cap: give up holes until it is next.
    let o = r.segment(seq(3, 200), &input[200..400], &mut rec);
    assert!(o.cap_gap && o.in_order && !o.buffered);
    assert_eq!(rec.gaps, [(0, 10), (60, 10), (120, 10), (140, 60)]);
    assert_eq!(rec.next, 400);
    assert_eq!(r.stats().cap_gaps, 4);
    assert_eq!(r.stats().peak_buffered_bytes, 100);
}

#[test]
fn segment_cap_forces_gap() {
    let input = Rng(13).bytes(N);
    let cfg = ReasmConfig {
        max_segments: 2,
        ..ReasmConfig::default()
    };
    let segs: Vec<_> = cut(N, 100, 0).into_iter().skip(1).rev().collect();
    let (r, rec) = run(&cfg, 0, &input, &segs);
    // Reversed without the first piece: the third piece (2700..2800)
    // finds both slots taken; the earliest hole, before itself, is
    // given up and the rest arrives as late retransmissions.
    assert_eq!(rec.gaps, [(0, 2700)]);
    assert_eq!(rec.data, input[2700..]);
    let st = r.stats();
    assert_eq!((st.cap_gaps, st.retransmitted_bytes), (1, 2600));
    assert_eq!((st.buffered_segments, st.peak_buffered_bytes), (0, 200));
}

#[test]
fn midstream_pickup_without_isn() {
    let input = Rng(14).bytes(N);
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    let base = 0xdead_beef_u32;
    let at = |off: usize| base.wrapping_add(off as u32);
    r.on_ack(at(100), &mut rec); // no base yet: ignored
    let o = r.segment(at(1000), &input[1000..1500], &mut rec);
    assert!(o.in_order);
    r.set_isn(5); // data already delivered: ignored
    let o = r.segment(at(2000), &input[2000..2500], &mut rec);
    assert!(o.buffered);
    let o = r.segment(at(900), &input[900..1100], &mut rec);
    assert!(o.retransmission && !o.overlap_conflict && o.delivered_bytes == 0);
    r.segment(at(1500), &input[1500..2000], &mut rec);
    assert_eq!(rec.data, input[1000..2500]);
    assert_eq!(r.stats().retransmitted_bytes, 200);
}

#[test]
fn zero_length_payload_is_a_no_op() {
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    assert_eq!(r.segment(77, &[], &mut rec), SegmentOutcome::default());
    assert_eq!(r.next_seq(), None);
    assert_eq!(r.stats(), &ReasmStats::default());
}

#[test]
fn far_ahead_segment_and_ack_are_ignored() {
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(0);
    let o = r.segment(seq(0, (1 << 30) + 1), b"junk", &mut rec);
    assert!(o.out_of_window);
    let o = r.segment(seq(0, (1 << 31) - 1), b"junk", &mut rec);
    assert!(o.out_of_window);
    // 2^31 or more ahead wraps to behind (RFC 9293 §3.4): old data.
    let o = r.segment(seq(0, 1 << 31), b"junk", &mut rec);
    assert!(o.retransmission && !o.out_of_window);
    r.on_ack(seq(0, (1 << 30) + 1), &mut rec);
    assert_eq!(r.stats().out_of_window_segments, 2);
    assert_eq!((r.stats().buffered_bytes, r.next_offset()), (0, 0));
    assert!(rec.gaps.is_empty() && rec.data.is_empty());
}

#[test]
fn bytes_before_the_first_are_dropped() {
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(100);
    let o = r.segment(98, b"xyabc", &mut rec); // 98..101 precede offset 0
    assert!(o.retransmission && o.in_order);
    assert_eq!(rec.data, b"bc");
    assert_eq!(r.stats().retransmitted_bytes, 3);
}

#[test]
fn flush_is_repeatable_and_stream_continues() {
    let input = Rng(15).bytes(300);
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(1);
    r.segment(seq(1, 100), &input[100..200], &mut rec);
    r.flush(&mut rec);
    r.flush(&mut rec);
    r.segment(seq(1, 200), &input[200..300], &mut rec);
    assert_eq!(rec.gaps, [(0, 100)]);
    assert_eq!(rec.data, input[100..]);
}

#[test]
fn window_wraps_caps_and_forgets() {
    let mut w = DeliveredWindow::new(8);
    w.push(0, b"abcdef");
    w.push(6, b"ghij"); // overflow: keeps "cdefghij"
    assert_eq!((w.start, w.end()), (2, 10));
    assert_eq!(w.differing(0, b"ABCDEFGHIJ"), 8);
    assert_eq!(w.differing(4, b"efgh"), 0);
    w.forget_below(5);
    assert_eq!(w.differing(0, b"ABCDEFGHIJ"), 5);
    w.push(20, b"0123456789ab"); // discontiguous and longer than cap
    assert_eq!((w.start, w.end()), (24, 32));
    assert_eq!(w.differing(20, b"0123456789ab"), 0);
    assert!(w.bytes.capacity() <= 16);
    w.forget_below(100);
    assert_eq!(w.differing(20, b"0123456789ab"), 0);
    let mut off = DeliveredWindow::new(0);
    off.push(0, b"abc");
    assert_eq!(off.differing(0, b"xyz"), 0);
}

#[test]
fn the_ack_of_a_fin_is_not_a_missing_byte() {
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(99);
    r.segment(seq(99, 0), b"hello", &mut rec);
    // FIN after the 5 bytes, acked one past it.
    r.fin(seq(99, 5));
    r.on_ack(seq(99, 6), &mut rec);
    assert!(rec.gaps.is_empty(), "{:?}", rec.gaps);
    assert_eq!(rec.data, b"hello");
    // Without that FIN, the same ACK reports the byte as lost.
    let mut r = StreamReassembler::new(&ReasmConfig::default());
    let mut rec = Rec::default();
    r.set_isn(99);
    r.segment(seq(99, 0), b"hello", &mut rec);
    r.on_ack(seq(99, 6), &mut rec);
    assert_eq!(rec.gaps, [(5, 1)]);
}

#[test]
fn shed_gives_up_holes_and_frees_everything() {
    let cfg = ReasmConfig::default();
    let mut r = StreamReassembler::new(&cfg);
    let mut rec = Rec::default();
    r.set_isn(999);
    r.segment(1000, b"abcd", &mut rec);
    r.segment(1010, b"klmn", &mut rec);
    assert!(r.mem_bytes() >= 8, "window and out-of-order piece held");
    let freed = r.shed(&mut rec);
    assert_eq!(r.mem_bytes(), 0);
    assert!(freed >= 8);
    assert_eq!(rec.data, b"abcdklmn");
    assert_eq!(rec.gaps, vec![(4, 6)]);
    assert_eq!(r.stats().cap_gaps, 1);
    // The stream goes on after the shed data.
    r.segment(1014, b"op", &mut rec);
    assert_eq!(rec.data, b"abcdklmnop");
}
