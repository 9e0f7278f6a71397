use super::*;
use crate::{FileSource, FrameSource};

fn iface(name: &str, desc: Option<&str>) -> RingIface {
    RingIface {
        name: name.into(),
        description: desc.map(str::to_string),
        link_type: LinkType::ETHERNET,
        snaplen: 65_535,
    }
}

fn frame(i: u64, source: u32) -> RawFrame {
    let len = 60 + (i % 7) as usize;
    RawFrame {
        ts_ns: 1_700_000_000_000_000_000 + i as i64 * 1_000,
        link_type: LinkType::ETHERNET,
        orig_len: len as u32 + 4,
        data: (0..len).map(|b| (b as u64 ^ i) as u8).collect(),
        source,
        interface: 0,
        data_offset: 0,
    }
}

fn cfg(dir: &Path, file_bytes: u64, files: u32) -> RingConfig {
    RingConfig {
        dir: dir.to_path_buf(),
        file_bytes,
        files,
        interfaces: vec![iface("veth-a", Some("shop/cart")), iface("veth-b", None)],
    }
}

fn read_all(path: &Path) -> Vec<RawFrame> {
    let mut src = FileSource::open(path, 0).unwrap();
    let mut out = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        out.push(f);
    }
    out
}

fn closed_files(dir: &Path) -> Vec<PathBuf> {
    list(dir)
        .unwrap()
        .into_iter()
        .filter(|f| !f.2)
        .map(|f| f.1)
        .collect()
}

#[test]
fn rotates_keeps_the_newest_files_and_every_file_reads_back() {
    let d = tempfile::tempdir().unwrap();
    let (mut ring, repairs) = Ring::open(cfg(d.path(), 4096, 3)).unwrap();
    assert!(repairs.is_empty());
    let frames: Vec<RawFrame> = (0..400).map(|i| frame(i, (i % 2) as u32)).collect();
    for f in &frames {
        ring.write(f).unwrap();
    }
    ring.close().unwrap();
    let files = closed_files(d.path());
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(ring.files_closed > 3);
    let mut got = Vec::new();
    for p in &files {
        assert!(std::fs::metadata(p).unwrap().len() <= 4096);
        let mut src = FileSource::open(p, 0).unwrap();
        while let Some(f) = src.next_frame().unwrap() {
            got.push(f);
        }
        assert_eq!(src.interfaces().len(), 2);
    }
    // The newest frames, in order, with their interface ids and bytes.
    let tail = &frames[frames.len() - got.len()..];
    for (g, f) in got.iter().zip(tail) {
        assert_eq!(
            (g.ts_ns, &g.data, g.orig_len),
            (f.ts_ns, &f.data, f.orig_len)
        );
        assert_eq!(g.interface, f.source);
    }
    // The next run continues the numbering.
    let (mut ring, _) = Ring::open(cfg(d.path(), 4096, 3)).unwrap();
    ring.write(&frames[0]).unwrap();
    ring.close().unwrap();
    let last = closed_files(d.path()).pop().unwrap();
    assert!(last > files[2], "{last:?}");
}

#[test]
fn the_description_names_the_pod() {
    let h = file_header(&[iface("veth-a", Some("shop/cart"))]).unwrap();
    let s = String::from_utf8_lossy(&h);
    assert!(s.contains("veth-a") && s.contains("shop/cart"));
    assert_eq!(h.len() % 4, 0);
}

#[test]
fn a_torn_open_file_is_cut_to_its_last_whole_block_at_every_offset() {
    let d = tempfile::tempdir().unwrap();
    let (mut ring, _) = Ring::open(cfg(d.path(), 1 << 20, 2)).unwrap();
    for i in 0..5 {
        ring.write(&frame(i, 0)).unwrap();
    }
    ring.flush().unwrap();
    let open = d.path().join("ring-0000000000.pcapng.open");
    let whole = std::fs::read(&open).unwrap();
    drop(ring); // killed: never closed
    let header = file_header(&cfg(d.path(), 4096, 2).interfaces)
        .unwrap()
        .len();
    let ends: Vec<usize> = {
        let mut e = vec![header];
        for i in 0..5 {
            let last = *e.last().unwrap();
            e.push(last + epb_len(frame(i, 0).data.len()) as usize);
        }
        e
    };
    assert_eq!(*ends.last().unwrap(), whole.len());
    for cut in header..=whole.len() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ring-0000000007.pcapng.open");
        std::fs::write(&p, &whole[..cut]).unwrap();
        let (_, repairs) = Ring::open(cfg(dir.path(), 4096, 2)).unwrap();
        let r = &repairs[0];
        let keep = *ends.iter().rfind(|&&e| e <= cut).unwrap();
        assert_eq!(
            (r.kept_bytes, r.cut_bytes),
            (keep as u64, (cut - keep) as u64)
        );
        assert_eq!(read_all(&r.path).len() as u64, r.packets);
        assert!(!p.exists());
    }
}

#[test]
fn a_file_without_a_whole_header_is_removed() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("ring-0000000003.pcapng.open");
    std::fs::write(&p, [0x0A, 0x0D, 0x0D]).unwrap();
    let (_, repairs) = Ring::open(cfg(d.path(), 4096, 2)).unwrap();
    assert_eq!(repairs[0].kept_bytes, 0);
    assert!(std::fs::read_dir(d.path()).unwrap().next().is_none());
}

#[test]
fn bad_settings_are_refused() {
    let d = tempfile::tempdir().unwrap();
    assert!(Ring::open(cfg(d.path(), 100, 2)).is_err());
    assert!(Ring::open(cfg(d.path(), 8192, 0)).is_err());
}

#[test]
fn every_stored_location_reads_back_the_frame_after_rotation() {
    let d = tempfile::tempdir().unwrap();
    let (mut ring, _) = Ring::open(cfg(d.path(), 4096, 50)).unwrap();
    let frames: Vec<RawFrame> = (0..300).map(|i| frame(i, (i % 2) as u32)).collect();
    let stored: Vec<Stored> = frames
        .iter()
        .map(|f| ring.write(f).unwrap().unwrap())
        .collect();
    ring.close().unwrap();
    let files: std::collections::BTreeSet<u64> = stored.iter().map(|s| s.file).collect();
    assert!(files.len() > 3, "rotated: {files:?}");
    for (f, at) in frames.iter().zip(&stored) {
        let mut file = std::fs::File::open(ring.file_path(at.file)).unwrap();
        let data =
            crate::writer::read_frame_at(&mut file, at.data_offset, f.data.len() as u32).unwrap();
        assert_eq!(data, f.data);
    }
}
