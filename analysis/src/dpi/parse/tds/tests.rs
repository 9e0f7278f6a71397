//! Hand-built TDS streams (MS-TDS §2.2.3.1 packets, §2.2.6 client
//! messages, §2.2.7 tokens): the public corpus has no TDS capture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, run};
use Direction::{ToClient, ToServer};

fn records(out: Vec<AppRecord>) -> Vec<TdsRecord> {
    out.into_iter()
        .map(|r| match r {
            AppRecord::Tds(m) => m,
            other => panic!("not tds: {other:?}"),
        })
        .collect()
}

/// One end-of-message packet.
fn pkt(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![kind, 0x01];
    v.extend_from_slice(&(payload.len() as u16 + 8).to_be_bytes());
    v.extend_from_slice(&[0, 0, 1, 0]);
    v.extend_from_slice(payload);
    v
}

fn u16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// PRELOGIN with VERSION 15.0.2000 and ENCRYPTION `enc`.
fn prelogin_msg(enc: u8) -> Vec<u8> {
    let mut v = vec![0x00, 0, 11, 0, 6, 0x01, 0, 17, 0, 1, 0xff];
    v.extend_from_slice(&[15, 0, 0x07, 0xd0, 0, 0]);
    v.push(enc);
    v
}

/// LOGIN7 with the given names and a 4-character (obfuscated) password.
fn login7(user: &str, db: &str) -> Vec<u8> {
    let fields = [
        "WS01",
        user,
        "\u{a5a5}\u{a5a5}\u{a5a5}\u{a5a5}",
        "sqlcmd",
        "db01",
        "",
        "ODBC",
        "",
        db,
    ];
    let mut fixed = vec![0u8; 94];
    fixed[4..8].copy_from_slice(&0x7400_0004u32.to_le_bytes());
    let mut data = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let off = 94 + data.len();
        let at = 36 + i * 4;
        fixed[at..at + 2].copy_from_slice(&(off as u16).to_le_bytes());
        fixed[at + 2..at + 4].copy_from_slice(&(f.encode_utf16().count() as u16).to_le_bytes());
        data.extend(u16le(f));
    }
    fixed.extend(data);
    let n = fixed.len() as u32;
    fixed[0..4].copy_from_slice(&n.to_le_bytes());
    fixed
}

fn done(status: u16, rows: u64) -> Vec<u8> {
    let mut v = vec![0xfd];
    v.extend_from_slice(&status.to_le_bytes());
    v.extend_from_slice(&0xc1u16.to_le_bytes());
    v.extend_from_slice(&rows.to_le_bytes());
    v
}

fn error(number: u32, msg: &str) -> Vec<u8> {
    let mut body = number.to_le_bytes().to_vec();
    body.extend_from_slice(&[1, 14]);
    body.extend_from_slice(&(msg.encode_utf16().count() as u16).to_le_bytes());
    body.extend(u16le(msg));
    body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut v = vec![0xaa];
    v.extend_from_slice(&(body.len() as u16).to_le_bytes());
    v.extend(body);
    v
}

fn envchange_db(db: &str) -> Vec<u8> {
    let mut body = vec![1, db.encode_utf16().count() as u8];
    body.extend(u16le(db));
    body.push(0);
    let mut v = vec![0xe3];
    v.extend_from_slice(&(body.len() as u16).to_le_bytes());
    v.extend(body);
    v
}

fn loginack() -> Vec<u8> {
    let mut body = vec![1, 0x74, 0, 0, 4, 4];
    body.extend(u16le("SQLS"));
    body.extend_from_slice(&[15, 0, 7, 0xd0]);
    let mut v = vec![0xad];
    v.extend_from_slice(&(body.len() as u16).to_le_bytes());
    v.extend(body);
    v
}

/// ALL_HEADERS with one transaction descriptor header (22 bytes).
fn all_headers() -> Vec<u8> {
    let mut v = 22u32.to_le_bytes().to_vec();
    v.extend_from_slice(&18u32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&[0; 8]);
    v.extend_from_slice(&1u32.to_le_bytes());
    v
}

fn session(enc: u8) -> Vec<(Direction, Vec<u8>)> {
    let batch = [
        all_headers(),
        u16le("SELECT name FROM users WHERE id = '1' OR 1=1"),
    ]
    .concat();
    let rpc = [all_headers(), vec![0xff, 0xff, 10, 0, 0, 0]].concat();
    vec![
        (ToServer, pkt(0x12, &prelogin_msg(enc))),
        (ToClient, pkt(0x04, &prelogin_msg(2))),
        (ToServer, pkt(0x10, &login7("sa", "master"))),
        (
            ToClient,
            pkt(
                0x04,
                &[envchange_db("master"), loginack(), done(0, 0)].concat(),
            ),
        ),
        (ToServer, pkt(0x01, &batch)),
        // COLMETADATA stops the token walk; the final DONE gives the count.
        (
            ToClient,
            pkt(
                0x04,
                &[vec![0x81, 1, 0, 0xde, 0xad], done(0x10, 3)].concat(),
            ),
        ),
        (ToServer, pkt(0x03, &rpc)),
        (
            ToClient,
            pkt(
                0x04,
                &[error(208, "Invalid object name 'x'."), done(0x02, 0)].concat(),
            ),
        ),
        (ToServer, pkt(0x0e, b"\x05\x00")),
        (ToServer, pkt(0x42, b"??")),
    ]
}

#[test]
fn login_batch_rpc_and_unknown() {
    let r = records(check_segmentation(new_parser, &session(2)));
    assert_eq!(r.len(), 5);
    let l = &r[0];
    assert_eq!(l.kind, TdsKind::Login);
    assert_eq!(l.user.as_deref(), Some("sa"));
    assert_eq!(l.database.as_deref(), Some("master"));
    assert_eq!(l.hostname.as_deref(), Some("WS01"));
    assert_eq!(l.app_name.as_deref(), Some("sqlcmd"));
    assert_eq!(l.server_name.as_deref(), Some("db01"));
    assert_eq!(l.library.as_deref(), Some("ODBC"));
    assert_eq!(l.encryption, Some("not_supported"));
    assert_eq!(l.server_version.as_deref(), Some("15.0.2000"));
    assert!(l.password_seen && !l.tls && !l.sspi);
    assert_eq!(l.success, Some(true));
    let json = serde_json::to_string(&AppRecord::Tds(l.clone())).unwrap();
    assert!(!json.contains('\u{a5a5}'), "{json}");
    assert_eq!(r[1].command, Some(TdsCommand::SqlBatch));
    assert_eq!(
        r[1].query.as_deref(),
        Some("SELECT name FROM users WHERE id = '1' OR 1=1")
    );
    assert_eq!((r[1].success, r[1].rows), (Some(true), Some(3)));
    assert_eq!(r[2].procedure.as_deref(), Some("sp_executesql"));
    assert_eq!(r[2].success, Some(false));
    let e = r[2].error.as_ref().unwrap();
    assert_eq!((e.number, e.class), (208, 14));
    assert_eq!(e.message, "Invalid object name 'x'.");
    assert_eq!(r[3].command, Some(TdsCommand::TransactionManager));
    let json = serde_json::to_value(AppRecord::Tds(r[3].clone())).unwrap();
    assert_eq!(json["command"], "transaction_manager");
    assert_eq!(r[4].command, Some(TdsCommand::Unknown(0x42)));
    assert_eq!(r[4].packet_type, Some(0x42));
}

#[test]
fn login_failure_and_encryption() {
    let fail = [
        (ToServer, pkt(0x12, &prelogin_msg(2))),
        (ToClient, pkt(0x04, &prelogin_msg(2))),
        (ToServer, pkt(0x10, &login7("sa", ""))),
        (
            ToClient,
            pkt(
                0x04,
                &[error(18456, "Login failed for user 'sa'."), done(0x02, 0)].concat(),
            ),
        ),
    ];
    let r = records(check_segmentation(new_parser, &fail.to_vec()));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].success, Some(false));
    assert_eq!(r[0].error.as_ref().unwrap().number, 18456);
    assert_eq!(r[0].database, None);

    // Client ON, server ON: all encrypted, stop after PRELOGIN.
    let mut s = session(1);
    s[1] = (ToClient, pkt(0x04, &prelogin_msg(1)));
    let r = records(check_segmentation(new_parser, &s));
    assert_eq!(r.len(), 1);
    assert!(r[0].tls);
    assert_eq!(r[0].encryption, Some("on"));
    assert_eq!(r[0].user, None);

    // OFF/OFF: LOGIN7 in TLS records, the rest in clear.
    let mut s = session(0);
    s[1] = (ToClient, pkt(0x04, &prelogin_msg(0)));
    s[2] = (
        ToServer,
        [vec![0x17, 3, 3, 0, 4], vec![1, 2, 3, 4]].concat(),
    );
    let r = records(check_segmentation(new_parser, &s));
    assert_eq!(r.len(), 5);
    assert!(r[0].login_encrypted && !r[0].tls);
    assert_eq!(r[0].user, None);
    assert_eq!(r[0].database.as_deref(), Some("master"));
    assert_eq!(r[0].success, Some(true));
    assert!(r[1].query.as_deref().unwrap().starts_with("SELECT name"));
}

#[test]
fn multi_packet_message_and_hostile_input() {
    // A SQL batch in two packets (status 0 then EOM).
    let text = u16le("SELECT 1");
    let mut first = pkt(0x01, &text[..6]);
    first[1] = 0;
    let mut s = session(2);
    s[4] = (ToServer, [first, pkt(0x01, &text[6..])].concat());
    let r = records(check_segmentation(new_parser, &s));
    assert_eq!(r[1].query.as_deref(), Some("SELECT 1"));

    let mut seed = 0x7f4a_7c15u32;
    let mut garbage = vec![0u8; 4096];
    for b in &mut garbage {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (seed >> 16) as u8;
    }
    let short = [0x01, 0x01, 0x00, 0x03, 0, 0, 0, 0];
    let lying_login = pkt(0x10, &[0xff; 100]);
    for input in [&garbage[..], &short[..], &lying_login[..]] {
        let r = run(new_parser, &[(ToServer, input), (ToClient, &garbage)]);
        assert!(r.len() <= 2, "{r:?}");
    }
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(ToServer, &pkt(0x01, &text), &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
}
