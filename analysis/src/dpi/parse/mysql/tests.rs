//! Real captures (expected values from `tshark -Y mysql` on the same files
//! and, for `zeek__mysql_mysql.pcap`, Zeek's `mysql.log` beside it) and
//! hand-built packets (MySQL "Protocol Basics" / "Connection Phase").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, run, shared_convo, shared_convos};
use Direction::{ToClient, ToServer};

fn records(out: Vec<AppRecord>) -> Vec<MysqlRecord> {
    out.into_iter()
        .map(|r| match r {
            AppRecord::Mysql(m) => m,
            other => panic!("not mysql: {other:?}"),
        })
        .collect()
}

/// One packet: 3-byte length, sequence id, payload.
fn pkt(seq: u8, payload: &[u8]) -> Vec<u8> {
    let n = payload.len() as u32;
    let mut v = n.to_le_bytes()[..3].to_vec();
    v.push(seq);
    v.extend_from_slice(payload);
    v
}

/// A 5.7-style greeting with `caps` (PLUGIN_AUTH, PROTOCOL_41, …).
fn greeting(caps: u32) -> Vec<u8> {
    let mut p = vec![10];
    p.extend_from_slice(b"5.7.44\0");
    p.extend_from_slice(&7u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh\0");
    p.extend_from_slice(&(caps as u16).to_le_bytes());
    p.push(33);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&((caps >> 16) as u16).to_le_bytes());
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0");
    p.extend_from_slice(b"mysql_native_password\0");
    pkt(0, &p)
}

const CAPS: u32 =
    CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | CLIENT_CONNECT_WITH_DB;

/// HandshakeResponse41 for `user` / `db` with a 20-byte auth response.
fn login(user: &str, db: &str) -> Vec<u8> {
    let mut p = CAPS.to_le_bytes().to_vec();
    p.extend_from_slice(&(1u32 << 24).to_le_bytes());
    p.push(33);
    p.extend_from_slice(&[0; 23]);
    p.extend_from_slice(user.as_bytes());
    p.push(0);
    p.push(20);
    p.extend_from_slice(&[0x55; 20]);
    p.extend_from_slice(db.as_bytes());
    p.push(0);
    p.extend_from_slice(b"mysql_native_password\0");
    pkt(1, &p)
}

fn err(seq: u8, code: u16, state: &str, msg: &str) -> Vec<u8> {
    let mut p = vec![0xff];
    p.extend_from_slice(&code.to_le_bytes());
    p.push(b'#');
    p.extend_from_slice(state.as_bytes());
    p.extend_from_slice(msg.as_bytes());
    pkt(seq, &p)
}

const OK: &[u8] = &[0, 0, 0, 2, 0, 0, 0];

#[test]
fn zeek_session_matches_zeek_log_and_tshark() {
    let c = shared_convo("zeek__mysql_mysql.pcap", 6, 3306);
    let r = records(check_segmentation(new_parser, &c));
    // Zeek mysql.log: login + 17 commands.
    assert_eq!(r.len(), 18);
    let l = &r[0];
    assert_eq!(l.kind, MysqlKind::Login);
    assert_eq!(l.user.as_deref(), Some("tfoerste"));
    assert_eq!(l.server_version.as_deref(), Some("5.0.54"));
    assert_eq!(l.protocol_version, Some(10));
    assert_eq!(l.success, Some(true));
    assert!(l.password_seen);
    // (zeek cmd, arg, tshark affected rows, columns, rows).
    type Want = (
        &'static str,
        &'static str,
        Option<u64>,
        Option<u64>,
        Option<u64>,
    );
    let want: [Want; 17] = [
        ("query", "select @@version_comment limit 1", None, Some(1), Some(1)),
        ("query", "SELECT DATABASE()", None, Some(1), Some(1)),
        ("init_db", "test", Some(0), None, None),
        ("query", "show databases", None, Some(1), Some(2)),
        ("query", "show tables", None, Some(1), Some(1)),
        ("field_list", "agent", None, None, None),
        ("query", "create table foo (id BIGINT( 10 ) UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, animal VARCHAR(64) NOT NULL, name VARCHAR(64) NULL DEFAULT NULL) ENGINE = MYISAM", Some(0), None, None),
        ("query", "insert into foo (animal, name) values (\"dog\", \"Goofy\")", Some(1), None, None),
        ("query", "insert into foo (animal, name) values (\"cat\", \"Garfield\")", Some(1), None, None),
        ("query", "select * from foo", None, Some(3), Some(2)),
        ("query", "delete from foo where name like '%oo%'", Some(1), None, None),
        ("query", "delete from foo where id = 1", Some(0), None, None),
        ("query", "select count(*) from foo", None, Some(1), Some(1)),
        ("query", "select * from foo", None, Some(3), Some(1)),
        ("query", "delete from foo", Some(1), None, None),
        ("query", "drop table foo", Some(0), None, None),
        ("quit", "", None, None, None),
    ];
    for (rec, (cmd, arg, affected, cols, rows)) in r[1..].iter().zip(want) {
        assert_eq!(rec.kind, MysqlKind::Command);
        assert_eq!(rec.command.unwrap().name(), cmd);
        assert_eq!(rec.query.as_deref().unwrap_or(""), arg);
        assert_eq!(rec.affected_rows, affected, "{arg}");
        assert_eq!(rec.columns, cols, "{arg}");
        assert_eq!(rec.rows, rows, "{arg}");
        assert_eq!(rec.user.as_deref(), Some("tfoerste"));
        // Zeek: success T for all but quit (no answer).
        assert_eq!(rec.success, (cmd != "quit").then_some(true), "{arg}");
    }
    // The database is `test` after the successful COM_INIT_DB.
    assert_eq!(r[3].database, None);
    assert_eq!(r[4].database.as_deref(), Some("test"));
    let json = serde_json::to_value(AppRecord::Mysql(r[10].clone())).unwrap();
    assert_eq!(json["command"], "query");
    assert_eq!(json["query"], "select * from foo");
    assert_eq!(json["rows"], 2);
}

#[test]
fn mariadb_login_and_tls_request() {
    let convos = shared_convos("ndpi__mysql.pcapng", 6);
    assert_eq!(convos.len(), 2);
    let mut all = Vec::new();
    for (_, c) in &convos {
        all.push(records(check_segmentation(new_parser, c)));
    }
    // tshark: which flow is which depends on capture order.
    let (plain, tls) = if all[0].len() > 1 {
        (&all[0], &all[1])
    } else {
        (&all[1], &all[0])
    };
    assert_eq!(plain.len(), 3);
    assert_eq!(plain[0].user.as_deref(), Some("admin"));
    assert_eq!(
        plain[0].server_version.as_deref(),
        Some("5.5.5-10.6.12-MariaDB-0ubuntu0.22.04.1")
    );
    assert_eq!(
        plain[0].auth_plugin.as_deref(),
        Some("mysql_native_password")
    );
    assert_eq!(plain[0].success, Some(true));
    assert_eq!(
        plain[1].query.as_deref(),
        Some("select @@version_comment limit 1")
    );
    assert_eq!((plain[1].columns, plain[1].rows), (Some(1), Some(1)));
    assert_eq!(plain[2].command, Some(MysqlCommand::Quit));
    // MySQL 8.0.36, caching_sha2_password, then an SSLRequest.
    assert_eq!(tls.len(), 1);
    assert!(tls[0].tls);
    assert_eq!(tls[0].server_version.as_deref(), Some("8.0.36"));
    assert_eq!(tls[0].auth_plugin.as_deref(), Some("caching_sha2_password"));
    assert_eq!(tls[0].user, None);
    assert_eq!(tls[0].success, None);
}

#[test]
fn arkime_login() {
    let c = shared_convo("arkime__mysql-allow.pcap", 6, 3306);
    let r = records(check_segmentation(new_parser, &c));
    assert_eq!(r[0].user.as_deref(), Some("user10"));
    assert_eq!(
        r[0].server_version.as_deref(),
        Some("5.5.35-0ubuntu0.12.04.2")
    );
    assert_eq!(r[0].success, Some(true));
    assert_eq!(
        r[1].query.as_deref(),
        Some("select @@version_comment limit 1")
    );
}

#[test]
fn login_failure_and_query_error() {
    let g = greeting(CAPS);
    let l = login("root", "shop");
    let e = err(2, 1045, "28000", "Access denied for user 'root'@'10.0.0.1'");
    let r = records(run(
        new_parser,
        &[(ToClient, &g), (ToServer, &l), (ToClient, &e)],
    ));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].user.as_deref(), Some("root"));
    assert_eq!(r[0].database.as_deref(), Some("shop"));
    assert_eq!(r[0].auth_plugin.as_deref(), Some("mysql_native_password"));
    assert_eq!(r[0].success, Some(false));
    let error = r[0].error.as_ref().unwrap();
    assert_eq!(error.code, 1045);
    assert_eq!(error.sqlstate.as_deref(), Some("28000"));
    assert!(error.message.starts_with("Access denied"));

    let q = pkt(0, b"\x03select * from users where id='1' or '1'='1'");
    let e = err(1, 1146, "42S02", "Table 'shop.users' doesn't exist");
    let ok = pkt(2, OK);
    let r = records(run(
        new_parser,
        &[
            (ToClient, &g),
            (ToServer, &l),
            (ToClient, &ok),
            (ToServer, &q),
            (ToClient, &e),
        ],
    ));
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].success, Some(true));
    assert_eq!(
        r[1].query.as_deref(),
        Some("select * from users where id='1' or '1'='1'")
    );
    assert_eq!(r[1].success, Some(false));
    assert_eq!(r[1].error.as_ref().unwrap().code, 1146);
    assert_eq!(r[1].database.as_deref(), Some("shop"));
}

#[test]
fn unknown_command_and_deprecate_eof() {
    let caps = CAPS | CLIENT_DEPRECATE_EOF;
    let g = greeting(caps);
    let mut l = login("u", "d");
    l[4..8].copy_from_slice(&caps.to_le_bytes());
    let ok = pkt(2, OK);
    let unknown = pkt(0, b"\x99abc");
    let unknown_ok = pkt(1, OK);
    let q = pkt(0, b"\x03select a");
    // Column count 1, one column definition, two rows, OK with 0xFE.
    let mut answer = pkt(1, &[1]);
    answer.extend(pkt(2, b"\x03def\x00\x00\x00\x01a\x00\x0c\x21\x00"));
    answer.extend(pkt(3, b"\x011"));
    answer.extend(pkt(4, b"\x012"));
    answer.extend(pkt(5, &[0xfe, 0, 0, 2, 0, 0, 0]));
    let r = records(run(
        new_parser,
        &[
            (ToClient, &g),
            (ToServer, &l),
            (ToClient, &ok),
            (ToServer, &unknown),
            (ToClient, &unknown_ok),
            (ToServer, &q),
            (ToClient, &answer),
        ],
    ));
    assert_eq!(r.len(), 3);
    assert_eq!(r[1].command, Some(MysqlCommand::Unknown(0x99)));
    assert_eq!(r[1].command_code, Some(0x99));
    let json = serde_json::to_value(AppRecord::Mysql(r[1].clone())).unwrap();
    assert_eq!(json["command"], "unknown");
    assert_eq!((r[2].columns, r[2].rows), (Some(1), Some(2)));
    assert_eq!(MysqlCommand::from(0x1f).name(), "reset_connection");
    assert_eq!(MysqlCommand::from(0x1f), MysqlCommand::Other(0x1f));
}

#[test]
fn long_query_is_capped_and_continuation_skipped() {
    let g = greeting(CAPS);
    let l = login("u", "");
    let ok = pkt(2, OK);
    // A 16 MiB - 1 COM_QUERY payload, then its 10-byte continuation.
    let mut q = vec![0xff, 0xff, 0xff, 0, 3];
    q.extend(std::iter::repeat_n(b'a', CONTINUED - 1));
    q.extend(pkt(1, b"\x03bbbbbbbbb"));
    let done = pkt(1, OK);
    let r = records(run(
        new_parser,
        &[
            (ToClient, &g),
            (ToServer, &l),
            (ToClient, &ok),
            (ToServer, &q),
            (ToClient, &done),
        ],
    ));
    assert_eq!(r.len(), 2, "the continuation is not a command");
    assert_eq!(r[0].database, None, "empty database name");
    assert_eq!(r[1].query.as_ref().unwrap().len(), MAX_QUERY_LEN);
    assert!(r[1].query_truncated);
    assert_eq!(r[1].success, Some(true));
}

#[test]
fn hostile_input_is_bounded() {
    let g = greeting(CAPS);
    // Garbage after a greeting, huge lengths, truncated handshakes.
    let mut seed = 0x1234_5678u32;
    let mut garbage = vec![0u8; 4096];
    for b in &mut garbage {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (seed >> 16) as u8;
    }
    for client in [
        &garbage[..],
        &[0xff, 0xff, 0xff, 0x00, 0x03][..],
        &pkt(1, &[0x0a; 3]),
    ] {
        let r = run(
            new_parser,
            &[(ToClient, &g), (ToServer, client), (ToClient, &garbage)],
        );
        assert!(r.len() <= 2);
    }
    let r = run(new_parser, &[(ToClient, &garbage), (ToServer, &garbage)]);
    assert!(r.len() <= garbage.len() / 4);
    // UDP: ignored.
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(ToClient, &g, &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
    // After a gap the direction stops; the pending command is emitted.
    let mut p = new_parser(true);
    let l = login("u", "d");
    let ok = pkt(2, OK);
    for (d, b) in [
        (ToClient, &g),
        (ToServer, &l),
        (ToClient, &ok),
        (ToServer, &pkt(0, b"\x03x")),
    ] {
        p.data(d, b, &mut out);
    }
    p.gap(ToClient);
    p.data(ToClient, &pkt(1, OK), &mut out);
    p.finish(&mut out);
    let r = records(out);
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].success, None);
}

/// Through the flow's [`crate::dpi::Identifier`] (probes, replay of the
/// probed bytes, then the registry's parser), real conversations of each
/// database protocol give the records of their parser fed directly.
#[test]
fn identified_flows_use_these_parsers() {
    use crate::dpi::parse::testutil::whole;
    use crate::dpi::{AppProto, Identifier};
    let cases: [(&str, u16, AppProto, crate::dpi::parse::NewParser); 3] = [
        ("zeek__mysql_mysql.pcap", 3306, AppProto::Mysql, new_parser),
        (
            "suricata__pgsql_pgsql-simple-query-rollback.pcap",
            5432,
            AppProto::Pgsql,
            crate::dpi::parse::pgsql::new_parser,
        ),
        (
            "zeek__redis_set.pcap",
            6379,
            AppProto::Redis,
            crate::dpi::parse::redis::new_parser,
        ),
    ];
    for (name, port, app, new) in cases {
        let c = shared_convo(name, 6, port);
        let mut id = Identifier::default();
        for (d, b) in &c {
            id.tcp_data(*d, port, b);
        }
        id.finish();
        assert_eq!(id.app(), Some(app), "{name}");
        let got = id.take_records();
        assert!(!got.is_empty(), "{name}");
        assert!(got.iter().all(|r| r.event_type() == app.name()), "{name}");
        assert_eq!(got, whole(new, &c), "{name}");
    }
}

#[test]
fn compression_stops_after_login() {
    let caps = CAPS | CLIENT_COMPRESS;
    let g = greeting(caps);
    let mut l = login("u", "d");
    l[4..8].copy_from_slice(&caps.to_le_bytes());
    let ok = pkt(2, OK);
    let q = pkt(0, b"\x03select 1");
    let r = records(run(
        new_parser,
        &[
            (ToClient, &g),
            (ToServer, &l),
            (ToClient, &ok),
            (ToServer, &q),
        ],
    ));
    assert_eq!(r.len(), 1);
    assert!(r[0].compressed);
    assert_eq!(r[0].success, Some(true));
}
