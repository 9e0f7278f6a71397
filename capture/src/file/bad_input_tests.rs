//! The catalogue of hand-made bad files: every cut, every structural lie,
//! and a deterministic mutation sweep. The reader must never panic, must
//! return every frame before the damage, and must name the damage exactly.

use super::*;
use crate::testutil::two_section_pcapng;
use crate::testutil::{read_all, NgBuilder, PcapBuilder};

fn small_pcap() -> PcapBuilder {
    let mut b = PcapBuilder::new(false, false, 1, 65535);
    b.record(1, 10, 60, &[0xaa; 14])
        .record(2, 20, 0, &[])
        .record(3, 30, 9, &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    b
}

fn small_pcapng() -> NgBuilder {
    let mut b = NgBuilder::new();
    b.shb(false)
        .idb(1, 0, Some(9), None)
        .epb(0, 1000, 5, &[1, 2, 3, 4, 5], true)
        .block(0x0BAD, &[7; 6])
        .spb(3, &[9, 8, 7])
        .shb(true)
        .idb(101, 0, None, None)
        .epb(0, 77, 2, &[6, 6], false);
    b
}

/// Cuts `bytes` at every length and checks the outcome against the record
/// `boundaries` (ends of header/records; the first is the header's end).
/// `frame_ends[i]` is the offset where the i-th frame's record ends.
fn check_every_cut(bytes: &[u8], boundaries: &[usize], frame_ends: &[usize]) {
    for cut in 0..=bytes.len() {
        let (frames, err) = read_all(&bytes[..cut]);
        let complete = frame_ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(frames.len(), complete, "cut at {cut}");
        if cut == 0 {
            assert!(
                matches!(err, Some(CaptureError::NotACapture { .. })),
                "{err:?}"
            );
        } else if boundaries.contains(&cut) {
            assert!(err.is_none(), "cut at boundary {cut}: {err:?}");
        } else {
            let record_start = boundaries.iter().copied().filter(|&b| b < cut).max();
            match err {
                Some(CaptureError::Truncated { offset, .. }) => {
                    assert_eq!(offset as usize, record_start.unwrap_or(0), "cut at {cut}");
                }
                other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
            }
        }
    }
}

#[test]
fn pcap_cut_at_every_byte() {
    let b = small_pcap();
    check_every_cut(&b.bytes, &b.boundaries, &b.boundaries[1..]);
}

#[test]
fn pcap_cut_at_every_byte_big_endian_nanosecond() {
    let mut b = PcapBuilder::new(true, true, 1, 65535);
    b.record(1, 10, 60, &[0xaa; 14])
        .record(2, 20, 3, &[1, 2, 3]);
    check_every_cut(&b.bytes, &b.boundaries, &b.boundaries[1..]);
}

#[test]
fn pcapng_cut_at_every_byte() {
    let b = small_pcapng();
    let ends: Vec<usize> = b
        .data_offsets
        .iter()
        .map(|&o| *b.boundaries.iter().find(|&&e| e as u64 > o).unwrap())
        .collect();
    check_every_cut(&b.bytes, &b.boundaries, &ends);
}

#[test]
fn pcapng_two_sections_cut_at_every_byte() {
    let (b, _) = two_section_pcapng();
    let ends: Vec<usize> = b
        .data_offsets
        .iter()
        .map(|&o| *b.boundaries.iter().find(|&&e| e as u64 > o).unwrap())
        .collect();
    check_every_cut(&b.bytes, &b.boundaries, &ends);
}

fn expect_err(bytes: &[u8], frames_before: usize) -> CaptureError {
    let (frames, err) = read_all(bytes);
    assert_eq!(frames.len(), frames_before, "{err:?}");
    err.expect("an error")
}

fn reason(e: &CaptureError) -> &str {
    match e {
        CaptureError::Malformed { reason, .. } => reason,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn wrong_magic_empty_file_and_magic_prefixes() {
    let foreign: [&[u8]; 3] = [
        b"",
        b"GIF89a..........................",
        &[0xd4, 0xc3, 0xb2, 0xa0],
    ];
    for bytes in foreign {
        match expect_err(bytes, 0) {
            CaptureError::NotACapture { offset: 0, .. } => {}
            e => panic!("{e:?}"),
        }
    }
    // A partial magic is a cut header, not a foreign file.
    assert!(expect_err(&[0xd4, 0xc3], 0).is_truncation());
    assert!(matches!(
        expect_err(&[0x99], 0),
        CaptureError::NotACapture { .. }
    ));
}

#[test]
fn pcap_caplen_over_limit_is_refused_before_reading_it() {
    let mut b = small_pcap();
    b.raw_record(4, 0, MAX_RECORD_BYTES + 1, 100, &[0; 8]);
    let at = b.boundaries[3] as u64;
    match expect_err(&b.bytes, 3) {
        CaptureError::RecordTooLarge { offset, len, .. } => {
            assert_eq!((offset, len), (at, MAX_RECORD_BYTES + 1));
        }
        e => panic!("{e:?}"),
    }
    let mut b = small_pcap();
    b.raw_record(4, 0, u32::MAX, 100, &[]);
    assert!(matches!(
        expect_err(&b.bytes, 3),
        CaptureError::RecordTooLarge { .. }
    ));
}

#[test]
fn pcap_record_of_exactly_the_limit_is_accepted() {
    let mut b = PcapBuilder::new(false, false, 1, 0);
    let big = vec![0x5a; MAX_RECORD_BYTES as usize];
    b.record(1, 0, MAX_RECORD_BYTES, &big).record(2, 0, 1, &[1]);
    let (frames, err) = read_all(&b.bytes);
    assert!(err.is_none());
    assert_eq!(frames[0].data, big);
    assert_eq!(frames[1].data, [1]);
}

/// A pcapng file with one good EPB, then `tail` raw bytes.
fn ng_then(tail: &[u8]) -> (Vec<u8>, u64) {
    let mut b = NgBuilder::new();
    b.shb(false)
        .idb(1, 0, None, None)
        .epb(0, 5, 4, &[1, 2, 3, 4], false);
    let at = b.bytes.len() as u64;
    let mut bytes = b.bytes;
    bytes.extend_from_slice(tail);
    (bytes, at)
}

fn le(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

#[test]
fn pcapng_zero_length_block() {
    let (bytes, at) = ng_then(&le(&[6, 0, 0, 0]));
    let e = expect_err(&bytes, 1);
    assert_eq!(e.offset(), at);
    assert_eq!(reason(&e), "zero-length block");
}

#[test]
fn pcapng_huge_block_length_is_refused_before_reading_it() {
    let (bytes, at) = ng_then(&le(&[6, 0xFFFF_FFF0, 0]));
    match expect_err(&bytes, 1) {
        CaptureError::RecordTooLarge { offset, len, .. } => {
            assert_eq!((offset, len), (at, 0xFFFF_FFF0));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn pcapng_block_length_below_minimum_or_unaligned() {
    for (tail, what) in [
        (le(&[6, 8, 8]), "below its minimum"),
        (le(&[1, 16, 0, 0, 16]), "below its minimum"),
        (le(&[0x0BAD, 14, 0, 0, 0]), "not a multiple of 4"),
    ] {
        let (bytes, at) = ng_then(&tail);
        let e = expect_err(&bytes, 1);
        assert_eq!(e.offset(), at);
        assert!(reason(&e).contains(what), "{e}");
    }
}

#[test]
fn pcapng_block_total_length_mismatch() {
    let (bytes, _) = ng_then(&le(&[0x0BAD, 16, 0, 20]));
    assert!(reason(&expect_err(&bytes, 1)).contains("mismatch"));
}

#[test]
fn pcapng_epb_lengths() {
    // caplen over the cap: RecordTooLarge even though the block is small.
    let (bytes, at) = ng_then(&le(&[6, 36, 0, 0, 0, 0xFFFF_FFF0, 4, 0, 36]));
    match expect_err(&bytes, 1) {
        CaptureError::RecordTooLarge { offset, len, .. } => {
            assert_eq!((offset, len), (at, 0xFFFF_FFF0));
        }
        e => panic!("{e:?}"),
    }
    // caplen within the cap but past the block's end.
    let (bytes, _) = ng_then(&le(&[6, 36, 0, 0, 0, 5, 5, 0, 36]));
    assert!(reason(&expect_err(&bytes, 1)).contains("overruns"));
    // caplen > orig_len is fine.
    let (bytes, _) = ng_then(&le(&[6, 36, 0, 0, 0, 4, 1, 0x0403_0201, 36]));
    let (frames, err) = read_all(&bytes);
    assert!(err.is_none());
    assert_eq!(
        (frames[1].orig_len, &frames[1].data[..]),
        (1, &[1, 2, 3, 4][..])
    );
}

#[test]
fn pcapng_packet_for_undefined_interface() {
    let (bytes, at) = ng_then(&le(&[6, 32, 1, 0, 0, 0, 0, 32]));
    let e = expect_err(&bytes, 1);
    assert_eq!(e.offset(), at);
    assert!(reason(&e).contains("interface 1"), "{e}");
    // Interfaces do not carry over into a new section.
    let mut b = NgBuilder::new();
    b.shb(false).idb(1, 0, None, None).shb(false);
    b.epb(0, 1, 1, &[1], false);
    assert!(reason(&expect_err(&b.bytes, 0)).contains("interface 0"));
    // Nor does an SPB without any interface.
    let mut b = NgBuilder::new();
    b.shb(false).spb(1, &[1]);
    assert!(reason(&expect_err(&b.bytes, 0)).contains("interface 0"));
}

#[test]
fn pcapng_bad_section_headers() {
    // Unknown byte-order magic in the first section: open fails.
    let mut b = NgBuilder::new();
    b.shb(false);
    b.bytes[8..12].copy_from_slice(&[1, 2, 3, 4]);
    assert!(reason(&expect_err(&b.bytes, 0)).contains("byte-order"));
    // Unsupported major version in a later section.
    let mut b = NgBuilder::new();
    b.shb(false).idb(1, 0, None, None).epb(0, 1, 1, &[1], false);
    let at = b.bytes.len();
    b.shb(false);
    b.bytes[at + 12] = 2;
    assert!(reason(&expect_err(&b.bytes, 1)).contains("version 2.0"));
    // Unusable timestamp resolution.
    let mut b = NgBuilder::new();
    b.shb(false).idb(1, 0, Some(0x7f), None);
    assert!(reason(&expect_err(&b.bytes, 0)).contains("if_tsresol"));
}

#[test]
fn pcapng_options_that_lie_about_their_length_do_not_break_the_block() {
    // IDB whose only option claims 200 bytes: options are ignored, the
    // interface is still defined (pcap-parser stops at the bad option).
    let mut body = vec![1, 0, 0, 0, 0, 0, 0, 0];
    body.extend_from_slice(&[9, 0, 200, 0, 3, 0, 0, 0]);
    let mut b = NgBuilder::new();
    b.shb(false).block(1, &body).epb(0, 7, 1, &[1], false);
    let (frames, err) = read_all(&b.bytes);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(frames[0].ts_ns, 7_000);
}

/// Tiny deterministic PRNG (xorshift64*), so the sweep is reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn mutated_files_never_panic_and_stop_cleanly() {
    let (ng, _) = two_section_pcapng();
    let inputs = [small_pcap().bytes, small_pcapng().bytes, ng.bytes];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for base in &inputs {
        for _ in 0..3000 {
            let mut bytes = base.clone();
            for _ in 0..=rng.next() % 4 {
                let at = (rng.next() % bytes.len() as u64) as usize;
                bytes[at] = match rng.next() % 4 {
                    0 => 0,
                    1 => 0xff,
                    _ => rng.next() as u8,
                };
            }
            let cut = bytes.len() - (rng.next() % 8) as usize;
            // read_all asserts the source is fused after its end or error.
            let (frames, _err) = read_all(&bytes[..cut]);
            assert!(frames
                .iter()
                .all(|f| f.data.len() <= MAX_RECORD_BYTES as usize));
        }
    }
}
