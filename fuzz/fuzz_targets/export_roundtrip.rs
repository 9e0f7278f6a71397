//! Export round trip: frames written with the pcap and pcapng writers
//! read back byte-identical, with the same timestamps.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_capture::file::FileSource;
use osprey_capture::{FrameSource, LinkType, PcapWriter, PcapngWriter};

fuzz_target!(|data: &[u8]| {
    // frames: 8-byte timestamp, 2-byte length, bytes
    let mut frames = Vec::new();
    let mut rest = data;
    while rest.len() >= 10 {
        let ts =
            i64::from_le_bytes(rest[..8].try_into().unwrap_or_default()) & 0x0fff_ffff_ffff_ffff;
        let len = usize::from(u16::from_le_bytes([rest[8], rest[9]]));
        rest = &rest[10..];
        let take = len.min(rest.len());
        frames.push((ts, rest[..take].to_vec()));
        rest = &rest[take..];
    }
    let link = LinkType::ETHERNET;
    for ng in [false, true] {
        let bytes = if ng {
            let mut w = PcapngWriter::new(Vec::new()).unwrap();
            for (ts, f) in &frames {
                w.write(link, *ts, f.len() as u32, f).unwrap();
            }
            w.finish().unwrap()
        } else {
            let mut w = PcapWriter::new(Vec::new(), link, true, 262_144).unwrap();
            for (ts, f) in &frames {
                w.write(*ts, f.len() as u32, f).unwrap();
            }
            w.finish().unwrap()
        };
        let mut src = FileSource::from_reader(std::io::Cursor::new(bytes), "rt", 0).unwrap();
        for (ts, f) in &frames {
            let got = src.next_frame().unwrap().unwrap();
            assert_eq!((got.ts_ns, &got.data), (*ts, f));
        }
        assert!(src.next_frame().unwrap().is_none());
    }
});
