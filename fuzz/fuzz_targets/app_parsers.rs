//! Every L7 parser: the first byte picks one (and TCP or UDP), the rest
//! is a conversation of chunks (1-byte header: direction bit, gap bit,
//! length) alternating directions as the input says; then the flow ends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::dpi::parse::PARSERS;
use osprey_analysis::flow::Direction;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, mut rest)) = data.split_first() else {
        return;
    };
    let (_, make) = PARSERS[usize::from(sel >> 1) % PARSERS.len()];
    let mut parser = make(sel & 1 == 0);
    let mut out = Vec::new();
    while let Some((&h, tail)) = rest.split_first() {
        let dir = if h & 0x80 == 0 {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        if h & 0x40 != 0 {
            parser.gap(dir);
        }
        let len = usize::from(h & 0x3f) * 8 + 1;
        let take = len.min(tail.len());
        let (chunk, next) = tail.split_at(take);
        rest = next;
        if !chunk.is_empty() {
            parser.data(dir, chunk, &mut out);
        }
        // records are bounded per flow
        assert!(out.len() <= 4096);
    }
    parser.finish(&mut out);
    let _ = parser.refined();
});
