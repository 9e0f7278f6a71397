//! Reader tests on hand-built files, both byte orders, and on real captures
//! cross-checked against tshark when it is installed.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::*;
use crate::testutil::{
    corpus_dir, payload, read_all, tshark_frames, two_section_pcapng, which_tshark, PcapBuilder,
};
use crate::writer::read_frame_at;

/// Every frame's `data_offset` points at its bytes in `file`.
fn assert_offsets_exact(file: &[u8], frames: &[RawFrame]) {
    for f in frames {
        let at = f.data_offset as usize;
        assert_eq!(&file[at..at + f.data.len()], &f.data[..], "frame at {at}");
    }
}

#[test]
fn classic_pcap_all_magics_and_byte_orders() {
    for be in [false, true] {
        for ns in [false, true] {
            let mut b = PcapBuilder::new(be, ns, 101, 65535);
            b.record(1_700_000_000, 123_456, 60, &payload(60, 1))
                .record(1_700_000_001, 999, 1514, &payload(40, 2))
                .record(4_000_000_000, 0, 0, &[]);
            let (frames, err) = read_all(&b.bytes);
            assert!(err.is_none(), "{err:?}");
            let mul = if ns { 1 } else { 1000 };
            let ts: Vec<i64> = frames.iter().map(|f| f.ts_ns).collect();
            assert_eq!(
                ts,
                [
                    1_700_000_000_000_000_000 + 123_456 * mul,
                    1_700_000_001_000_000_000 + 999 * mul,
                    4_000_000_000_000_000_000,
                ]
            );
            assert_eq!(frames[0].data, payload(60, 1));
            assert_eq!((frames[1].orig_len, frames[1].data.len()), (1514, 40));
            assert!(frames
                .iter()
                .all(|f| f.link_type == LinkType::RAW && f.source == 3 && f.interface == 0));
            let offsets: Vec<u64> = frames.iter().map(|f| f.data_offset).collect();
            assert_eq!(offsets, b.data_offsets);
            assert_offsets_exact(&b.bytes, &frames);
        }
    }
}

#[test]
fn header_only_pcap_is_an_empty_capture() {
    let b = PcapBuilder::new(false, false, 1, 65535);
    let (frames, err) = read_all(&b.bytes);
    assert!(frames.is_empty() && err.is_none());
    let src = FileSource::from_reader(std::io::Cursor::new(b.bytes), "h.pcap", 0).unwrap();
    assert_eq!(
        src.format(),
        CaptureFormat::Pcap {
            big_endian: false,
            nanosecond: false,
            modified: false
        }
    );
    assert_eq!(src.link_types(), [LinkType::ETHERNET]);
    assert_eq!(src.interfaces()[0].snaplen, 65535);
}

#[test]
fn link_type_field_keeps_only_the_low_16_bits() {
    // Upper bits carry FCS length information, not the link type.
    let b = PcapBuilder::new(false, false, 0x1000_0001, 65535);
    let src = FileSource::from_reader(std::io::Cursor::new(b.bytes), "f.pcap", 0).unwrap();
    assert_eq!(src.link_types(), [LinkType::ETHERNET]);
}

#[test]
fn caplen_above_orig_len_is_kept_as_is() {
    let mut b = PcapBuilder::new(false, false, 1, 65535);
    b.record(1, 0, 10, &payload(50, 3));
    let (frames, err) = read_all(&b.bytes);
    assert!(err.is_none());
    assert_eq!((frames[0].orig_len, frames[0].data.len()), (10, 50));
}

#[test]
fn modified_pcap_has_24_byte_record_headers() {
    let mut bytes = PcapBuilder::new(false, false, 1, 65535).bytes;
    bytes[..4].copy_from_slice(&0xa1b2_cd34u32.to_le_bytes());
    for (sec, data) in [(5u32, payload(20, 1)), (6, payload(3, 2))] {
        for v in [sec, 7, data.len() as u32, 99] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.extend_from_slice(&[0u8; 8]); // ifindex, protocol, type, pad
        bytes.extend_from_slice(&data);
    }
    let (frames, err) = read_all(&bytes);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[1].ts_ns, 6_000_007_000);
    assert_eq!(frames[1].data, payload(3, 2));
    assert_eq!(frames[0].data_offset, 24 + 24);
    assert_offsets_exact(&bytes, &frames);
}

#[test]
fn pcapng_sections_interfaces_resolutions_and_block_kinds() {
    let (b, want) = two_section_pcapng();
    let (frames, err) = read_all(&b.bytes);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames, want);
    assert_offsets_exact(&b.bytes, &frames);

    let mut src = FileSource::from_reader(std::io::Cursor::new(b.bytes), "ng", 3).unwrap();
    while src.next_frame().unwrap().is_some() {}
    let info: Vec<(LinkType, u32, u8, i64)> = src
        .interfaces()
        .iter()
        .map(|i| (i.link_type, i.section, i.if_tsresol, i.if_tsoffset_s))
        .collect();
    assert_eq!(
        info,
        [
            (LinkType::ETHERNET, 0, 6, 0),
            (LinkType::RAW, 0, 9, 0),
            (LinkType::LINUX_SLL, 1, 0x8a, 1_600_000_000),
            (LinkType::NULL, 1, 3, -100),
        ]
    );
    assert_eq!(src.link_types().len(), 4);
    assert_eq!(src.format(), CaptureFormat::Pcapng);
}

#[test]
fn timestamp_scales() {
    let ns = |r: u8, t: u64| TsScale::from_tsresol(r).map(|s| s.to_ns(t));
    assert_eq!(ns(0, 3), Some(3_000_000_000));
    assert_eq!(ns(6, 3), Some(3_000));
    assert_eq!(ns(9, 3), Some(3));
    assert_eq!(ns(12, 3_999), Some(3));
    assert_eq!(ns(19, u64::MAX), Some(1_844_674_407));
    assert_eq!(ns(0x80, 2), Some(2_000_000_000));
    assert_eq!(ns(0x80 | 30, 1 << 30), Some(1_000_000_000));
    assert_eq!(ns(0x80 | 63, 1 << 62), Some(500_000_000));
    assert_eq!(ns(20, 1), None);
    assert_eq!(ns(0x80 | 64, 1), None);
    // Out-of-range results saturate instead of wrapping.
    let i = InterfaceInfo::new(LinkType::ETHERNET, 0, 0, 0, i64::MAX).unwrap();
    assert_eq!(i.ts_ns(u64::MAX), i64::MAX);
    let i = InterfaceInfo::new(LinkType::ETHERNET, 0, 0, 9, i64::MIN).unwrap();
    assert_eq!(i.ts_ns(0), i64::MIN);
}

#[test]
fn open_reports_progress_and_file_length() {
    let mut b = PcapBuilder::new(false, true, 1, 65535);
    for i in 0..1000u32 {
        b.record(i, i, 400, &payload(400, i as u8));
    }
    let mut tmp = tempfile::NamedTempFile::new().unwrap();
    tmp.write_all(&b.bytes).unwrap();
    let mut src = FileSource::open(tmp.path(), 7).unwrap();
    assert_eq!(src.file_len(), Some(b.bytes.len() as u64));
    assert_eq!(src.bytes_read(), 24);
    let mut file = std::fs::File::open(tmp.path()).unwrap();
    let mut n = 0;
    while let Some(f) = src.next_frame().unwrap() {
        assert_eq!(f.source, 7);
        assert_eq!(
            read_frame_at(&mut file, f.data_offset, 400).unwrap(),
            f.data
        );
        n += 1;
    }
    assert_eq!(n, 1000);
    assert_eq!(src.bytes_read(), b.bytes.len() as u64);
    assert!(src.path().ends_with(tmp.path().file_name().unwrap()));
}

#[test]
fn open_missing_file_is_io_error() {
    let e = FileSource::open(Path::new("/nonexistent/osprey/x.pcap"), 0).unwrap_err();
    assert!(matches!(e, CaptureError::Io { .. }), "{e}");
}

/// Reads `path` and compares every frame with tshark; returns the count.
/// If the reader refuses the file part-way (e.g. a record over the size
/// cap, which tshark tolerates), the frames before must still match.
fn compare_with_tshark(path: &Path) -> Option<usize> {
    let want = tshark_frames(path)?;
    let mut src = FileSource::open(path, 0).unwrap();
    let mut got = Vec::new();
    loop {
        match src.next_frame() {
            Ok(Some(f)) => got.push((f.ts_ns, f.data.len() as u32, f.orig_len)),
            Ok(None) => break,
            Err(e) if e.is_truncation() => break, // tshark also stops there
            Err(e) => {
                println!("refused after {} of {} frames: {e}", got.len(), want.len());
                assert_eq!(got, want[..got.len().min(want.len())]);
                return Some(got.len());
            }
        }
    }
    assert_eq!(got, want, "{}", path.display());
    Some(got.len())
}

#[test]
fn real_captures_match_tshark() {
    if which_tshark().is_none() {
        println!("tshark not installed; skipping real-capture comparison");
        return;
    }
    for (name, count) in [("arkime__ftp.pcap", 10), ("ndpi__http.pcapng", 10)] {
        let path = corpus_dir().join(name);
        if !path.exists() {
            println!("{} absent; skipping", path.display());
            continue;
        }
        assert_eq!(compare_with_tshark(&path), Some(count), "{name}");
    }
}

/// The whole shared corpus against tshark (~40 s: one tshark run per file).
#[test]
fn whole_corpus_matches_tshark() {
    if which_tshark().is_none() {
        println!("tshark not installed; skipping");
        return;
    }
    let Ok(dir) = std::fs::read_dir(corpus_dir()) else {
        println!("corpus absent; skipping");
        return;
    };
    let mut paths: Vec<PathBuf> = dir
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".pcap") || name.ends_with(".pcapng") || name.ends_with(".cap")
        })
        .collect();
    paths.sort();
    let mut total = 0;
    for p in &paths {
        total += compare_with_tshark(p).unwrap_or(0);
    }
    println!("{} files, {total} frames, all equal to tshark", paths.len());
}
