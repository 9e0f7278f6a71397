//! Real captures (expected values from Suricata's EVE test for
//! `suricata__pgsql_pgsql-simple-query-rollback.pcap` and from `tshark -Y
//! pgsql` on the others) and hand-built messages (PostgreSQL docs,
//! "Message Formats").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, run, shared_convo, shared_convos};
use Direction::{ToClient, ToServer};

fn records(out: Vec<AppRecord>) -> Vec<PgsqlRecord> {
    out.into_iter()
        .map(|r| match r {
            AppRecord::Pgsql(m) => m,
            other => panic!("not pgsql: {other:?}"),
        })
        .collect()
}

/// A typed message: type byte, length, body.
fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![kind];
    v.extend_from_slice(&(body.len() as u32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn startup(params: &[(&str, &str)]) -> Vec<u8> {
    let mut body = PROTOCOL_3.to_be_bytes().to_vec();
    for (n, v) in params {
        body.extend_from_slice(n.as_bytes());
        body.push(0);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut v = (body.len() as u32 + 4).to_be_bytes().to_vec();
    v.extend(body);
    v
}

fn req(r: &PgsqlRecord) -> &PgsqlRequest {
    r.request.as_ref().unwrap()
}

fn resp(r: &PgsqlRecord) -> &PgsqlResponse {
    r.response.as_ref().unwrap()
}

#[test]
fn suricata_simple_query_rollback() {
    let c = shared_convo("suricata__pgsql_pgsql-simple-query-rollback.pcap", 6, 5432);
    let r = records(check_segmentation(new_parser, &c));
    // Suricata's test: 27 transactions.
    assert_eq!(r.len(), 27);
    for (i, rec) in r.iter().enumerate() {
        assert_eq!(rec.tx_id, i as u64 + 1);
    }
    assert_eq!(req(&r[0]).message.as_deref(), Some("SSL Request"));
    assert_eq!(resp(&r[0]).ssl_accepted, Some(false));
    let s = req(&r[1]);
    assert_eq!(s.protocol_version.as_deref(), Some("3.0"));
    let p = s.startup_parameters.as_ref().unwrap();
    assert_eq!(p.user.as_deref(), Some("ju-Test"));
    assert_eq!(p.optional_parameters[0]["database"], "Test");
    assert_eq!(p.optional_parameters[1]["application_name"], "psql");
    assert_eq!(p.optional_parameters[2]["client_encoding"], "UTF8");
    assert_eq!(resp(&r[1]).message.as_deref(), Some("authentication_sasl"));
    // Suricata names the mechanism `scram_SHA256`; the wire says this.
    assert_eq!(
        req(&r[2]).sasl_authentication_mechanism.as_deref(),
        Some("SCRAM-SHA-256")
    );
    assert!(req(&r[2]).password_seen);
    assert_eq!(
        resp(&r[2]).message.as_deref(),
        Some("authentication_sasl_continue")
    );
    let ok = resp(&r[3]);
    assert_eq!(r[3].login_success, Some(true));
    assert_eq!(ok.message.as_deref(), Some("authentication_ok"));
    assert_eq!(ok.process_id, Some(5008));
    assert_eq!(ok.parameter_status.len(), 11);
    assert_eq!(ok.parameter_status[7]["server_version"], "13.4");
    assert_eq!(ok.parameter_status[10]["TimeZone"], "Europe/London");
    // (query, completed tag or error code) from Suricata's test.
    let want: [(&str, &str); 22] = [
        ("BEGIN;", "BEGIN"),
        ("DELETE FROM new_table WHERE NAME='Remus';", "DELETE 1"),
        ("DELETE FROM new_table WHERE NAME='Londubat';", "DELETE 1"),
        ("DELETE FROM new_table WHERE NAME='Hermione';", "DELETE 1"),
        ("DELETE FROM new_table WHERE NAME='Maugre';", "DELETE 1"),
        ("COMMIT;", "COMMIT"),
        ("BEGIN;", "BEGIN"),
        (
            "INSERT INTO new_table VALUES('Hermione', 'prof_gramger@gmail.com');",
            "INSERT 0 1",
        ),
        (
            "INSERT INTO new_table VALUES('Remus', 'prof_lupin@gmail.com');",
            "INSERT 0 1",
        ),
        ("SELECT 1/0;", "22012"),
        (
            "INSERT INTO new_table VALUES('Maugre', 'prof_folloy@gmail.com');",
            "25P02",
        ),
        (
            "INSERT INTO new_table VALUES('Londubat', 'prof_londubat@gmail.com');",
            "25P02",
        ),
        ("SELECT * FROM new_table;", "25P02"),
        ("COMMIT;", "ROLLBACK"),
        ("BEGIN;", "BEGIN"),
        (
            "INSERT INTO new_table VALUES('Hermione', 'prof_gramger@gmail.com');",
            "INSERT 0 1",
        ),
        ("COMMIT;", "COMMIT"),
        (
            "INSERT INTO new_table VALUES('Remus', 'prof_lupin@gmail.com');",
            "INSERT 0 1",
        ),
        ("SELECT 1/0;", "22012"),
        (
            "INSERT INTO new_table VALUES('Maugre', 'prof_folloy@gmail.com');",
            "INSERT 0 1",
        ),
        (
            "INSERT INTO new_table VALUES('Londubat', 'prof_londubat@gmail.com');",
            "INSERT 0 1",
        ),
        ("SELECT * FROM new_table;", "SELECT 8"),
    ];
    for (rec, (q, outcome)) in r[4..26].iter().zip(want) {
        assert_eq!(req(rec).simple_query.as_deref(), Some(q));
        assert_eq!(rec.user.as_deref(), Some("ju-Test"));
        assert_eq!(rec.database.as_deref(), Some("Test"));
        assert_eq!(rec.login_success, None);
        let a = resp(rec);
        match &a.error {
            Some(e) => {
                assert_eq!(e.code, outcome, "{q}");
                assert_eq!(e.severity, "ERROR");
                assert!(a.command_completed.is_none());
            }
            None => assert_eq!(a.command_completed.as_deref(), Some(outcome), "{q}"),
        }
    }
    let div = resp(&r[13]).error.as_ref().unwrap();
    assert_eq!(div.message, "division by zero");
    let select = resp(&r[25]);
    assert_eq!((select.field_count, select.data_rows), (Some(2), Some(8)));
    assert_eq!(req(&r[26]).message.as_deref(), Some("termination_message"));
    assert!(r[26].response.is_none());
    let json = serde_json::to_value(AppRecord::Pgsql(r[25].clone())).unwrap();
    assert_eq!(json["request"]["simple_query"], "SELECT * FROM new_table;");
    assert_eq!(json["response"]["data_rows"], 8);
}

#[test]
fn ndpi_extended_query_gss_and_scram() {
    let convos = shared_convos("ndpi__pgsql.pcap", 6);
    // tshark: 6 conversations.
    assert_eq!(convos.len(), 6);
    let all: Vec<Vec<PgsqlRecord>> = convos
        .iter()
        .map(|(_, c)| records(check_segmentation(new_parser, c)))
        .collect();
    let parses: Vec<Vec<String>> = all
        .iter()
        .flat_map(|r| r.iter().map(|x| req(x).parse.clone()))
        .filter(|p| !p.is_empty())
        .collect();
    // tshark pgsql.query of the Parse messages.
    assert!(parses.contains(&vec![
        "begin".to_string(),
        "select revision from mailstore for update".to_string()
    ]));
    assert!(parses.contains(&vec!["select * from mailboxes".to_string()]));
    assert!(parses.contains(&vec![
        "select id,name from flag_names where id>0".to_string()
    ]));
    assert!(parses.contains(&vec!["commit".to_string()]));
    let md5 = all.iter().find(|r| r.len() == 6).unwrap();
    assert_eq!(md5[0].user.as_deref(), Some("oryx"));
    assert_eq!(md5[0].database.as_deref(), Some("mailstore"));
    assert_eq!(
        resp(&md5[0]).message.as_deref(),
        Some("authentication_md5_password")
    );
    assert!(req(&md5[1]).password_seen);
    assert_eq!(md5[1].login_success, Some(true));
    assert_eq!(resp(&md5[2]).command_completed.as_deref(), Some("SELECT"));
    assert_eq!(resp(&md5[2]).data_rows, Some(1));
    // GSSENCRequest answered `G`: encrypted, nothing more.
    let gss: Vec<_> = all.iter().filter(|r| r.len() == 1).collect();
    assert_eq!(gss.len(), 2);
    for r in gss {
        assert_eq!(req(&r[0]).message.as_deref(), Some("GSS Encrypt Request"));
        assert_eq!(resp(&r[0]).ssl_accepted, Some(true));
    }
    // The SCRAM login: user `test`, database `postgres`.
    let scram = all
        .iter()
        .find(|r| r.len() == 4 && r[3].user.as_deref() == Some("test"))
        .unwrap();
    assert_eq!(scram[3].database.as_deref(), Some("postgres"));
    assert_eq!(scram[3].login_success, Some(true));
    // The other SCRAM attempt stops after AuthenticationSASL.
    assert!(all
        .iter()
        .any(|r| r.len() == 2 && resp(&r[1]).message.as_deref() == Some("authentication_sasl")));
}

#[test]
fn arkime_and_zeek_logins() {
    let c = shared_convo("arkime__postgres-good.pcap", 6, 5432);
    let r = records(check_segmentation(new_parser, &c));
    assert_eq!(r.len(), 3);
    let p = req(&r[1]).startup_parameters.as_ref().unwrap();
    assert_eq!(p.user.as_deref(), Some("cooluser"));
    assert_eq!(
        p.optional_parameters[1]["application_name"],
        "pgAdmin III - Browser"
    );
    assert_eq!(r[2].database.as_deref(), Some("dbdbdbdb"));
    assert_eq!(r[2].login_success, Some(true));
    assert!(req(&r[2]).password_seen);

    let c = shared_convo("zeek__postgresql_psql-login.pcap", 6, 5432);
    let r = records(check_segmentation(new_parser, &c));
    assert_eq!(r[1].user.as_deref(), Some("zeek"));
    assert_eq!(r[1].database.as_deref(), Some("zeek"));
    let last = r.iter().rev().find(|x| x.login_success.is_some()).unwrap();
    assert_eq!(last.login_success, Some(true));
    let ps = &resp(last).parameter_status;
    assert!(ps
        .iter()
        .any(|m| m.get("server_version").map(String::as_str)
            == Some("14.5 (Debian 14.5-1.pgdg110+1)")));
}

#[test]
fn auth_failure_and_unknown_message() {
    let s = startup(&[("user", "admin"), ("database", "prod")]);
    let md5 = msg(b'R', &[0, 0, 0, 5, 1, 2, 3, 4]);
    let pw = msg(b'p', b"md5deadbeef\0");
    let mut e =
        b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"admin\"\0".to_vec();
    e.push(0);
    let e = msg(b'E', &e);
    let r = records(run(
        new_parser,
        &[
            (ToServer, &s),
            (ToClient, &md5),
            (ToServer, &pw),
            (ToClient, &e),
        ],
    ));
    assert_eq!(r.len(), 2);
    assert_eq!(r[1].login_success, Some(false));
    assert_eq!(r[1].user.as_deref(), Some("admin"));
    let err = resp(&r[1]).error.as_ref().unwrap();
    assert_eq!(err.code, "28P01");
    assert_eq!(err.severity, "FATAL");
    let json = serde_json::to_string(&AppRecord::Pgsql(r[1].clone())).unwrap();
    assert!(!json.contains("deadbeef"), "{json}");

    // Trust login, then an unknown client type and an unknown auth code.
    let ok = [msg(b'R', &[0, 0, 0, 0]), msg(b'Z', b"I")].concat();
    let odd = msg(b'~', b"xyz");
    let odd_answer = [msg(b'R', &[0, 0, 0, 99]), msg(b'Z', b"I")].concat();
    let r = records(run(
        new_parser,
        &[
            (ToServer, &s),
            (ToClient, &ok),
            (ToServer, &odd),
            (ToClient, &odd_answer),
        ],
    ));
    assert_eq!(r.len(), 2);
    assert_eq!(r[0].login_success, Some(true));
    assert_eq!(req(&r[1]).message.as_deref(), Some("unknown(126)"));
    assert_eq!(
        resp(&r[1]).message.as_deref(),
        Some("authentication_unknown")
    );
}

#[test]
fn pipelined_queries_and_caps() {
    let s = startup(&[("user", "u")]);
    let ok = [msg(b'R', &[0, 0, 0, 0]), msg(b'Z', b"I")].concat();
    let long = format!("SELECT '{}'\0", "x".repeat(MAX_MESSAGE_PREFIX * 2));
    let q = [msg(b'Q', b"SELECT 1\0"), msg(b'Q', long.as_bytes())].concat();
    let a = [
        msg(b'T', &[0, 1]),
        msg(b'D', &[0, 1, 0, 0, 0, 1, b'1']),
        msg(b'C', b"SELECT 1\0"),
        msg(b'Z', b"I"),
        msg(b'C', b"SELECT 1\0"),
        msg(b'Z', b"I"),
    ]
    .concat();
    let r = records(run(
        new_parser,
        &[
            (ToServer, &s),
            (ToClient, &ok),
            (ToServer, &q),
            (ToClient, &a),
        ],
    ));
    assert_eq!(r.len(), 3);
    assert_eq!(req(&r[1]).simple_query.as_deref(), Some("SELECT 1"));
    assert_eq!(resp(&r[1]).data_rows, Some(1));
    let long = req(&r[2]);
    assert_eq!(long.simple_query.as_ref().unwrap().len(), MAX_QUERY_LEN);
    assert!(long.query_truncated);
    assert_eq!(resp(&r[2]).command_completed.as_deref(), Some("SELECT 1"));
}

#[test]
fn hostile_input_is_bounded() {
    let mut seed = 0x9e37_79b9u32;
    let mut garbage = vec![0u8; 4096];
    for b in &mut garbage {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (seed >> 16) as u8;
    }
    let s = startup(&[("user", "u")]);
    let huge = [b'Q', 0xff, 0xff, 0xff, 0xff, b'S'];
    let bad_len = [b'Q', 0, 0, 0, 1];
    for client in [&garbage[..], &huge[..], &bad_len[..]] {
        let r = run(
            new_parser,
            &[(ToServer, &s), (ToServer, client), (ToClient, &garbage)],
        );
        assert!(r.len() <= 3, "{r:?}");
    }
    let r = run(new_parser, &[(ToServer, &garbage), (ToClient, &garbage)]);
    assert!(r.len() <= 2);
    // A gap stops the direction; what is pending is emitted at finish.
    let mut p = new_parser(true);
    let mut out = Vec::new();
    p.data(ToServer, &s, &mut out);
    p.gap(ToClient);
    p.data(ToClient, &msg(b'Z', b"I"), &mut out);
    p.finish(&mut out);
    let r = records(out);
    assert_eq!(r.len(), 1);
    assert!(r[0].response.is_none());
}
