//! TCP reassembly: segments (sequence offset, length, ack/fin steps) from
//! the input in any order, overlaps and holes; the sink checks that
//! delivery is in order and gap-accounted, and the byte budget holds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::flow::tcp_reasm::{ReasmConfig, StreamReassembler, StreamSink};

struct Check {
    next: u64,
}

impl StreamSink for Check {
    fn data(&mut self, offset: u64, bytes: &[u8]) {
        assert_eq!(offset, self.next, "delivery out of order");
        assert!(!bytes.is_empty());
        self.next += bytes.len() as u64;
    }
    fn gap(&mut self, offset: u64, len: u64) {
        assert_eq!(offset, self.next, "gap out of order");
        assert!(len > 0);
        self.next += len;
    }
}

fuzz_target!(|data: &[u8]| {
    let cfg = ReasmConfig {
        max_buffered_bytes: 4096,
        max_segments: 16,
        depth: 64 * 1024,
        delivered_window_bytes: 1024,
    };
    let isn = 0xffff_ff00u32; // wraps soon
    let mut r = StreamReassembler::new(&cfg);
    r.set_isn(isn);
    let mut sink = Check { next: 0 };
    let mut rest = data;
    while rest.len() >= 4 {
        let op = rest[0];
        let off = u32::from(u16::from_le_bytes([rest[1], rest[2]]));
        let len = usize::from(rest[3]);
        rest = &rest[4..];
        let seq = isn.wrapping_add(1).wrapping_add(off);
        match op % 8 {
            0 => r.on_ack(seq, &mut sink),
            1 => r.fin(seq),
            _ => {
                let take = len.min(rest.len());
                let (payload, tail) = rest.split_at(take);
                rest = tail;
                let _ = r.segment(seq, payload, &mut sink);
            }
        }
    }
    r.flush(&mut sink);
});
