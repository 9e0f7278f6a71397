//! A flow longer than one frame-list piece and than one packet-index chunk
//! is indexed and exported whole.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

/// An Ethernet/IPv4/UDP frame 10.0.0.1:5000 → 10.0.0.2:53 (or back) with a
/// 4-byte sequence payload (IP checksum left 0: Osprey does not verify it).
fn udp_frame(i: u32, reply: bool) -> Vec<u8> {
    let (src, dst, sp, dp) = if reply {
        ([10, 0, 0, 2], [10, 0, 0, 1], 53u16, 5000u16)
    } else {
        ([10, 0, 0, 1], [10, 0, 0, 2], 5000, 53)
    };
    let mut f = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
    f.extend_from_slice(&[0x45, 0, 0, 32, 0, 0, 0, 0, 64, 17, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&sp.to_be_bytes());
    f.extend_from_slice(&dp.to_be_bytes());
    f.extend_from_slice(&12u16.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&i.to_be_bytes());
    f
}

#[test]
fn a_ten_thousand_packet_flow_is_indexed_and_exported_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let frames: Vec<(i64, Vec<u8>)> = (0..10_000u32)
        .map(|i| {
            (
                1_700_000_000_000_000_000 + i64::from(i) * 1000,
                udp_frame(i, i % 3 == 1),
            )
        })
        .collect();
    let refs: Vec<(i64, &[u8])> = frames.iter().map(|(t, d)| (*t, d.as_slice())).collect();
    let input = tmp.path().join("long.pcap");
    std::fs::write(&input, pcap_bytes(1, &refs)).unwrap();
    let case = tmp.path().join("case");
    let out = analyze(&[&input], &case);
    assert!(out.status.success(), "{}", stderr(&out));
    let flows = flow_rows(&case);
    assert_eq!(flows.len(), 1);
    let r = reader(&case);
    let list = flow_frames(&r, flows[0].id);
    assert_eq!(list.len(), 10_000);
    assert!(list.windows(2).all(|w| w[0].0 < w[1].0));
    let replies = list.iter().filter(|(_, dir)| *dir == 1).count();
    assert_eq!(replies, (0..10_000).filter(|i| i % 3 == 1).count());
    let exported = tmp.path().join("out.pcap");
    let out = export(&case, &[flows[0].id], &exported);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = common::frames(&exported);
    assert_eq!(got.len(), 10_000);
    for ((ts, _, data), (want_ts, want)) in got.iter().zip(&frames) {
        assert_eq!((ts, data), (want_ts, want));
    }
}
