//! Tests: `samples/memcached.pcap` (recorded here, see samples/README.md;
//! ground truth from `tshark -Y memcache -T fields -e memcache.command -e
//! memcache.key -e memcache.response -e memcache.opcode -e
//! memcache.status`) and hand-made streams from `protocol.txt` and the
//! binary protocol spec.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, sample_convos, Convo};

use Direction::{ToClient, ToServer};

fn txs(r: Vec<AppRecord>) -> Vec<MemcachedTx> {
    r.into_iter()
        .map(|r| match r {
            AppRecord::Memcached(t) => t,
            o => panic!("{o:?}"),
        })
        .collect()
}

#[test]
fn recorded_capture() {
    let convos = sample_convos("memcached.pcap", 6);
    assert_eq!(convos.len(), 2);
    let text = txs(check_segmentation(new_parser, &convos[0].1));
    let got: Vec<_> = text
        .iter()
        .map(|t| {
            (
                t.command.as_str(),
                t.keys.join(","),
                t.response.clone().unwrap_or_default(),
            )
        })
        .collect();
    let want = [
        ("set", "user:1", "STORED"),
        ("get", "user:1,user:2", "END"),
        ("get", "nokey", "END"),
        ("incr", "counter", "NOT_FOUND"),
        ("add", "user:1", "NOT_STORED"),
        ("delete", "user:1", "DELETED"),
        ("delete", "user:1", "NOT_FOUND"),
        ("bogus", "", "ERROR"),
        ("version", "", "VERSION"),
        ("quit", "", ""),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c)| (*a, b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(text[0].bytes, Some(5));
    assert_eq!(text[1].values, Some(1));
    assert_eq!(text[2].values, None);

    let bin = txs(check_segmentation(new_parser, &convos[1].1));
    let got: Vec<_> = bin
        .iter()
        .map(|t| (t.command.as_str(), t.keys.join(","), t.status))
        .collect();
    let want = [
        ("Set", "bkey", Some(0)),
        ("Get", "bkey", Some(0)),
        ("Get", "missing", Some(1)),
        ("Delete", "bkey", Some(0)),
        ("Unknown(95)", "", Some(0x81)),
        ("Quit", "", Some(0)),
    ];
    let want: Vec<_> = want
        .iter()
        .map(|(a, b, c)| (*a, b.to_string(), *c))
        .collect();
    assert_eq!(got, want);
    assert_eq!(bin[0].bytes, Some(5));
    assert_eq!(bin[1].values, Some(1));
}

fn bin(magic: u8, op: u8, status: u16, opaque: u32, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut m = vec![magic, op];
    m.extend((key.len() as u16).to_be_bytes());
    m.extend([0, 0]);
    m.extend(status.to_be_bytes());
    m.extend(((key.len() + value.len()) as u32).to_be_bytes());
    m.extend(opaque.to_be_bytes());
    m.extend([0; 8]);
    m.extend(key);
    m.extend(value);
    m
}

#[test]
fn sasl_plain_and_noreply_and_big_value() {
    let c: Convo = vec![
        (ToServer, bin(0x80, 0x21, 0, 1, b"PLAIN", b"\0admin\0pw")),
        (ToClient, bin(0x81, 0x21, 0x20, 1, b"", b"Auth failure")),
    ];
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t[0].command, "SASLAuth");
    assert_eq!(t[0].user.as_deref(), Some("admin"));
    assert!(t[0].password_seen);
    assert_eq!(t[0].auth_success, Some(false));
    assert_eq!(t[0].error_message.as_deref(), Some("Auth failure"));

    let mut big = b"set k 0 0 100000\r\n".to_vec();
    big.extend(vec![b'v'; 100_000]);
    big.extend(b"\r\nset q 0 0 1 noreply\r\nx\r\nmg k v\r\n");
    let mut reply = b"STORED\r\nVA 2 v\r\nab\r\n".to_vec();
    reply.extend(b"");
    let c: Convo = vec![(ToServer, big), (ToClient, reply)];
    let t = txs(crate::dpi::parse::testutil::whole(new_parser, &c));
    let got: Vec<_> = t
        .iter()
        .map(|t| (t.command.as_str(), t.response.as_deref()))
        .collect();
    assert_eq!(
        got,
        [("set", None), ("set", Some("STORED")), ("mg", Some("VA"))]
    );
    assert!(t[0].noreply);
    assert_eq!(t[1].bytes, Some(100_000));
}

#[test]
fn garbage_and_huge_lengths() {
    let noise = crate::dpi::parse::testutil::noise(3, 5000);
    let mut huge = bin(0x80, 0x01, 0, 1, b"k", b"");
    huge[8..12].copy_from_slice(&u32::MAX.to_be_bytes());
    for c in [
        vec![(ToServer, noise.clone()), (ToClient, noise)],
        vec![(ToServer, huge)],
        vec![(ToServer, b"set k 0 0 99999999999999999999999\r\n".to_vec())],
    ] {
        assert!(check_segmentation(new_parser, &c).len() <= 64);
    }
    // An endless line stops the direction.
    let c: Convo = vec![
        (ToServer, vec![b'a'; MAX_LINE + 10]),
        (ToServer, b"\r\nget k\r\n".to_vec()),
    ];
    assert!(crate::dpi::parse::testutil::whole(new_parser, &c).is_empty());
}
