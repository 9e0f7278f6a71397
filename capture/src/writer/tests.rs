//! Writer round trips (writer → reader gives back identical frames),
//! refusals, and `read_frame_at`.

use std::io::{Cursor, ErrorKind};

use super::*;
use crate::testutil::{payload, read_all, tshark_frames, two_section_pcapng, which_tshark};
use crate::FileSource;
use crate::FrameSource;

fn frames_of(link_types: &[LinkType], n: usize) -> Vec<RawFrame> {
    (0..n)
        .map(|i| RawFrame {
            ts_ns: 1_700_000_000_000_000_000 + i as i64 * 1_234_567_891,
            link_type: link_types[i % link_types.len()],
            orig_len: 100 + i as u32,
            data: payload(i % 9 + i * 5 % 200, i as u8),
            source: 3,
            interface: 0,
            data_offset: 0,
        })
        .collect()
}

/// Compares what survives a round trip: everything but provenance.
fn assert_same_frames(got: &[RawFrame], want: &[RawFrame]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            (g.ts_ns, g.link_type, g.orig_len, &g.data),
            (w.ts_ns, w.link_type, w.orig_len, &w.data)
        );
    }
}

#[test]
fn pcap_nanosecond_round_trip_is_exact() {
    let want = frames_of(&[LinkType::ETHERNET], 50);
    let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, true, 65535).unwrap();
    for f in &want {
        w.write_frame(f).unwrap();
    }
    let bytes = w.finish().unwrap();
    let (got, err) = read_all(&bytes);
    assert!(err.is_none());
    assert_same_frames(&got, &want);
    for f in &got {
        let at = f.data_offset as usize;
        assert_eq!(&bytes[at..at + f.data.len()], &f.data[..]);
    }
}

#[test]
fn pcap_microsecond_round_trip_truncates_to_the_microsecond() {
    let mut want = frames_of(&[LinkType::RAW], 20);
    let mut w = PcapWriter::new(Vec::new(), LinkType::RAW, false, 0).unwrap();
    for f in &want {
        w.write(f.ts_ns, f.orig_len, &f.data).unwrap();
    }
    let (got, err) = read_all(&w.finish().unwrap());
    assert!(err.is_none());
    for f in &mut want {
        f.ts_ns -= f.ts_ns % 1000;
    }
    assert_same_frames(&got, &want);
}

#[test]
fn pcapng_round_trip_with_several_link_types_and_every_padding() {
    let lts = [LinkType::ETHERNET, LinkType::RAW, LinkType::LINUX_SLL2];
    let want = frames_of(&lts, 40);
    let path = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let mut w = PcapngWriter::create(&path).unwrap();
    for f in &want {
        w.write_frame(f).unwrap();
    }
    assert_eq!(w.interfaces(), lts);
    w.finish().unwrap();

    let mut src = FileSource::open(&path, 1).unwrap();
    let mut file = std::fs::File::open(&path).unwrap();
    let mut got = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        assert_eq!(f.interface as usize, got.len() % 3);
        let again = read_frame_at(&mut file, f.data_offset, f.data.len() as u32).unwrap();
        assert_eq!(again, f.data);
        got.push(f);
    }
    assert_same_frames(&got, &want);
    assert!(src.interfaces().iter().all(|i| i.if_tsresol == 9));

    if which_tshark().is_some() {
        let seen = tshark_frames(&path).unwrap();
        let mine: Vec<(i64, u32, u32)> = want
            .iter()
            .map(|f| (f.ts_ns, f.data.len() as u32, f.orig_len))
            .collect();
        assert_eq!(seen, mine, "tshark reads our pcapng the same way");
    } else {
        println!("tshark not installed; skipping interoperability check");
    }
}

#[test]
fn pcapng_rewrite_of_a_multi_section_file_keeps_every_frame() {
    let (b, want) = two_section_pcapng();
    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    for f in &want {
        w.write_frame(f).unwrap();
    }
    let (got, err) = read_all(&w.finish().unwrap());
    assert!(err.is_none());
    assert_same_frames(&got, &want);
    drop(b);
}

#[test]
fn unrepresentable_values_are_refused_and_nothing_is_written() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, true, 0).unwrap();
    let too_big = vec![0u8; MAX_RECORD_BYTES as usize + 1];
    let refused = [
        w.write(-1, 1, &[1]),
        w.write(i64::from(u32::MAX) * 1_000_000_000 + 1_000_000_000, 1, &[1]),
        w.write(0, 1, &too_big),
    ];
    let mut other = frames_of(&[LinkType::RAW], 1);
    other[0].ts_ns = 0;
    let refused_frame = w.write_frame(&other[0]);
    for r in refused.into_iter().chain([refused_frame]) {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    w.write(i64::from(u32::MAX) * 1_000_000_000, 0, &[])
        .unwrap();
    assert_eq!(w.finish().unwrap().len(), 24 + 16);

    let mut w = PcapngWriter::new(Vec::new()).unwrap();
    let refused = [
        w.write(LinkType(70_000), 0, 1, &[1]),
        w.write(LinkType::ETHERNET, -5, 1, &[1]),
        w.write(LinkType::ETHERNET, 0, 1, &too_big),
    ];
    for r in refused {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::InvalidInput);
    }
    assert!(w.interfaces().is_empty());
    assert_eq!(w.finish().unwrap().len(), 28);
}

#[test]
fn read_frame_at_checks_length_before_allocating() {
    let mut c = Cursor::new(vec![1u8, 2, 3, 4, 5]);
    assert_eq!(read_frame_at(&mut c, 1, 3).unwrap(), [2, 3, 4]);
    assert_eq!(
        read_frame_at(&mut c, 3, 3).unwrap_err().kind(),
        ErrorKind::UnexpectedEof
    );
    assert_eq!(
        read_frame_at(&mut c, 0, u32::MAX).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn create_in_a_missing_directory_names_the_path() {
    let p = std::path::Path::new("/nonexistent/osprey/out.pcap");
    let e = PcapWriter::create(p, LinkType::ETHERNET, true, 0).unwrap_err();
    assert_eq!(e.path(), p);
    assert!(PcapngWriter::create(p).is_err());
}
