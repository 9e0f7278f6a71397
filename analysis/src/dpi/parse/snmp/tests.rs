//! SNMP tests. The shared corpus has no SNMP capture, so messages are
//! built here from RFC 3416 / RFC 3412 / RFC 3414 with a tiny BER encoder;
//! the v2c GetRequest is the textbook `public` / sysDescr.0 query.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// One BER element with a short or long-form length.
fn t(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    let n = content.len();
    if n < 0x80 {
        v.push(n as u8);
    } else {
        v.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    v.extend_from_slice(content);
    v
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

const SYS_DESCR: &[u8] = &[0x2b, 6, 1, 2, 1, 1, 1, 0];

fn varbinds(n: usize) -> Vec<u8> {
    let one = t(0x30, &cat(&[t(0x06, SYS_DESCR), t(0x05, &[])]));
    t(0x30, &one.repeat(n))
}

fn v2c(tag: u8, community: &[u8], n: usize) -> Vec<u8> {
    let pdu = t(
        tag,
        &cat(&[
            t(0x02, &[0x12, 0x34, 0x56, 0x78]),
            t(0x02, &[0]),
            t(0x02, &[0]),
            varbinds(n),
        ]),
    );
    t(0x30, &cat(&[t(0x02, &[1]), t(0x04, community), pdu]))
}

fn v3(user: &[u8], flags: u8, scoped: Vec<u8>) -> Vec<u8> {
    let header = t(
        0x30,
        &cat(&[
            t(0x02, &[1]),
            t(0x02, &[0x05, 0xdc]),
            t(0x04, &[flags]),
            t(0x02, &[3]),
        ]),
    );
    let usm = t(
        0x30,
        &cat(&[
            t(0x04, b"\x80\x00\x1f\x88"),
            t(0x02, &[1]),
            t(0x02, &[2]),
            t(0x04, user),
            t(0x04, &[]),
            t(0x04, &[]),
        ]),
    );
    t(0x30, &cat(&[t(0x02, &[3]), header, t(0x04, &usm), scoped]))
}

#[test]
fn textbook_v2c_get() {
    let msg = v2c(0xa0, b"public", 1);
    assert_eq!(msg.len(), 43);
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(Direction::ToServer, &msg, &mut out);
    let [AppRecord::Snmp(m)] = &out[..] else {
        panic!("{out:?}")
    };
    assert_eq!(m.version, 2);
    assert_eq!(m.community.as_deref(), Some("public"));
    assert!(m.community_seen);
    assert_eq!(m.pdu_type, Some(SnmpPduType::GetRequest));
    assert_eq!(m.request_id, Some(0x1234_5678));
    assert_eq!(m.error_status, Some(0));
    assert_eq!(m.vars, ["1.3.6.1.2.1.1.1.0"]);
    let json = serde_json::to_value(m).unwrap();
    assert_eq!(json["pdu_type"], "get_request");
    assert_eq!(json["version"], 2);
    // Every truncation: no panic, and nothing logged before the PDU tag.
    for cut in 0..msg.len() {
        let _ = parse(&msg[..cut]);
    }
}

#[test]
fn v1_trap_and_v3() {
    let trap = t(
        0xa4,
        &cat(&[
            t(0x06, &[0x2b, 6, 1, 4, 1, 9]),
            t(0x40, &[10, 0, 0, 1]),
            t(0x02, &[6]),
            t(0x02, &[1]),
            t(0x43, &[1, 0]),
            varbinds(2),
        ]),
    );
    let msg = t(0x30, &cat(&[t(0x02, &[0]), t(0x04, b"private"), trap]));
    let m = parse(&msg).unwrap();
    assert_eq!((m.version, m.pdu_type), (1, Some(SnmpPduType::TrapV1)));
    assert_eq!(m.trap_enterprise.as_deref(), Some("1.3.6.1.4.1.9"));
    assert_eq!(m.trap_type, Some(6));
    assert_eq!(m.vars.len(), 2);

    let pdu = t(
        0xa1,
        &cat(&[t(0x02, &[7]), t(0x02, &[0]), t(0x02, &[0]), varbinds(1)]),
    );
    let scoped = t(
        0x30,
        &cat(&[t(0x04, b"\x80\x00\x1f\x88"), t(0x04, b""), pdu]),
    );
    let m = parse(&v3(b"admin", 0x03 & !0x02, scoped)).unwrap();
    assert_eq!(m.version, 3);
    assert_eq!(m.usm.as_deref(), Some("admin"));
    assert!(!m.community_seen && m.community.is_none());
    assert_eq!(
        (m.pdu_type, m.request_id),
        (Some(SnmpPduType::GetNextRequest), Some(7))
    );
    let enc = parse(&v3(b"admin", 0x03, t(0x04, &[0xde, 0xad]))).unwrap();
    assert!(enc.encrypted && enc.pdu_type.is_none());
    assert_eq!(enc.usm.as_deref(), Some("admin"));
}

#[test]
fn unknown_pdu_and_caps() {
    let m = parse(&v2c(0xa9, b"x", 1)).unwrap();
    assert_eq!(m.pdu_type, Some(SnmpPduType::Unknown(0xa9)));
    assert_eq!(
        serde_json::to_value(&m).unwrap()["pdu_type"],
        "unknown_0xa9"
    );
    let m = parse(&v2c(0xa2, &[b'c'; 1000], 200)).unwrap();
    assert_eq!(m.vars.len(), MAX_VARS);
    assert_eq!(m.community.as_ref().unwrap().len(), MAX_NAME_LEN);
    assert!(m.truncated);
    // Negative request ids are INTEGERs too.
    let pdu = t(
        0xa2,
        &cat(&[
            t(0x02, &[0xff, 0xfe]),
            t(0x02, &[2]),
            t(0x02, &[1]),
            varbinds(0),
        ]),
    );
    let m = parse(&t(0x30, &cat(&[t(0x02, &[1]), t(0x04, b"p"), pdu]))).unwrap();
    assert_eq!((m.request_id, m.error_status), (Some(-2), Some(2)));
}

#[test]
fn garbage_is_bounded() {
    let mut seed = 0xdead_beef_u64;
    let mut p = new_parser(false);
    let mut out = Vec::new();
    let base = v2c(0xa0, b"public", 3);
    for i in 0..5000 {
        let mut buf = base.clone();
        for _ in 0..(i % 5 + 1) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = (seed as usize) % buf.len();
            buf[at] = (seed >> 32) as u8;
        }
        p.data(Direction::ToClient, &buf, &mut out);
    }
    p.data(
        Direction::ToClient,
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
        &mut out,
    );
    assert!(out.len() <= 5000);
    let mut tcp = new_parser(true);
    let mut none = Vec::new();
    tcp.data(Direction::ToServer, &base, &mut none);
    assert!(none.is_empty());
}
