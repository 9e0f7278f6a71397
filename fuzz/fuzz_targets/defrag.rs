//! IP defragmentation through the decoder: the input is a train of
//! frames (2-byte length prefixes) of one link type, decoded in order
//! with advancing time, then expired.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::decode::{Decoder, DefragConfig};
use osprey_capture::{LinkType, RawFrame};

fuzz_target!(|data: &[u8]| {
    let cfg = DefragConfig::default();
    let mut d = Decoder::new(cfg);
    let mut rest = data;
    let mut ts = 1_000_000_000i64;
    let mut n = 0u64;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 2048;
        rest = &rest[2..];
        let take = len.min(rest.len());
        let (frame_bytes, tail) = rest.split_at(take);
        rest = tail;
        let frame = RawFrame {
            ts_ns: ts,
            // raw IP: the fragments' headers come straight from the input
            link_type: LinkType(101),
            orig_len: frame_bytes.len() as u32,
            data: frame_bytes.to_vec(),
            source: 0,
            interface: 0,
            data_offset: 0,
        };
        let _ = d.decode(&frame, n);
        n += 1;
        ts += 10_000_000;
    }
    let _ = d.expire(i64::MAX);
});
