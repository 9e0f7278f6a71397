//! Frame decoder (every link type it knows, tunnels, IP options and
//! extension headers): the first two bytes pick the link type, the rest
//! is one frame.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::decode::{Decoder, DefragConfig};
use osprey_capture::{LinkType, RawFrame};

const LINKS: [u32; 8] = [0, 1, 12, 101, 113, 228, 229, 276];

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut d = Decoder::new(DefragConfig::default());
    let frame = RawFrame {
        ts_ns: 1,
        link_type: LinkType(LINKS[usize::from(sel) % LINKS.len()]),
        orig_len: rest.len() as u32,
        data: rest.to_vec(),
        source: 0,
        interface: 0,
        data_offset: 0,
    };
    let _ = d.decode(&frame, 0);
});
