//! SMTP tests: real captures from `../shared/pcaps` (ground truth from
//! `tshark -Y smtp -T fields -e smtp.req.command -e smtp.req.parameter
//! -e smtp.response.code` and `-Y imf -e imf.subject -e imf.from -e imf.to`)
//! and hand-made streams.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, shared_convo};
use Direction::{ToClient, ToServer};

fn txs(records: Vec<AppRecord>) -> Vec<SmtpTx> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Smtp(t) => t,
            other => panic!("not smtp: {other:?}"),
        })
        .collect()
}

fn run(chunks: &[(Direction, &[u8])]) -> Vec<SmtpTx> {
    let mut p = SmtpParser::new(true);
    let mut out = Vec::new();
    for (d, b) in chunks {
        p.data(*d, b, &mut out);
    }
    p.finish(&mut out);
    txs(out)
}

fn verbs(t: &SmtpTx) -> Vec<(&str, Option<u16>)> {
    t.commands
        .iter()
        .map(|c| (c.command.as_str(), c.reply))
        .collect()
}

#[test]
fn arkime_auth_plain_and_mail() {
    let c = shared_convo("arkime__smtp-data-250.pcap", 6, 587);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 2, "{t:#?}");
    let auth = t[0].auth.as_ref().unwrap();
    assert_eq!(auth.mechanism, "PLAIN");
    assert_eq!(auth.username.as_deref(), Some("12345678@aol.com"));
    assert!(auth.password_seen);
    assert_eq!(auth.outcome, Some(AuthOutcome::Success));
    assert_eq!(verbs(&t[0]), [("EHLO", Some(250)), ("AUTH", Some(235))]);
    let m = &t[1];
    assert_eq!(m.helo.as_deref(), Some("localhost"));
    assert_eq!(m.mail_from.as_deref(), Some("<12345678@aol.com>"));
    assert_eq!(m.rcpt_to, ["<xxxx.xxxxxx@xxxxx.com>"]);
    assert_eq!(m.status, Some(250));
    assert_eq!(
        m.auth.as_ref().unwrap().username.as_deref(),
        Some("12345678@aol.com")
    );
    let e = m.email.as_ref().unwrap();
    assert_eq!(e.subject.as_deref(), Some("Re: xxx xxx xxxxx xxxxxx..."));
    assert_eq!(e.from.as_deref(), Some("Xxxxx Xxxxxxxx <12345678@aol.com>"));
    assert_eq!(e.to.as_deref(), Some("xxxx.xxxxxx@xxxxx.com"));
    let json = serde_json::to_string(&t).unwrap();
    assert!(
        !json.contains("passwd") && !json.contains("AcGFzc3dk"),
        "{json}"
    );
}

#[test]
fn ndpi_helo_fallback_and_many_recipients() {
    let c = shared_convo("ndpi__smtp.pcap", 6, 25);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(t.len(), 1, "{t:#?}");
    let m = &t[0];
    assert_eq!(m.helo.as_deref(), Some("delta.peach.mil"));
    assert_eq!(
        m.commands[0],
        SmtpCommand {
            command: "EHLO".into(),
            reply: Some(500)
        }
    );
    assert_eq!(m.mail_from.as_deref(), Some("<coreys@delta.peach.mil>"));
    assert_eq!(m.rcpt_to.len(), 30);
    assert_eq!(m.rcpt_to[0], "<camronm@pigeon.eyrie.af.mil>");
    assert_eq!(m.status, Some(250));
    let e = m.email.as_ref().unwrap();
    assert_eq!(e.subject.as_deref(), Some("Take into The would, for"));
    // The folded `To` header is unfolded, then capped.
    assert!(e
        .to
        .as_ref()
        .unwrap()
        .starts_with("suzannaa@eagle.eyrie.af.mil, guntherk@"));
    assert!(e.to.as_ref().unwrap().len() <= MAX_HEADER_LEN + MAX_LINE_LEN);
    assert!(m.truncated);
}

#[test]
fn auth_login_failure_then_success() {
    // "alice" / "secret" in base64.
    let t = run(&[
        (ToClient, b"220 mx ESMTP\r\n"),
        (ToServer, b"EHLO me\r\n"),
        (ToClient, b"250-mx\r\n250 AUTH LOGIN PLAIN\r\n"),
        (ToServer, b"AUTH LOGIN\r\n"),
        (ToClient, b"334 VXNlcm5hbWU6\r\n"),
        (ToServer, b"YWxpY2U=\r\n"),
        (ToClient, b"334 UGFzc3dvcmQ6\r\n"),
        (ToServer, b"c2VjcmV0\r\n"),
        (ToClient, b"535 5.7.8 no\r\n"),
        (ToServer, b"AUTH LOGIN YWxpY2U=\r\n"),
        (ToClient, b"334 UGFzc3dvcmQ6\r\n"),
        (ToServer, b"c2VjcmV0\r\n"),
        (ToClient, b"235 ok\r\n"),
        (ToServer, b"STARTTLS\r\n"),
        (ToClient, b"220 go\r\n\x16\x03\x01"),
        (ToServer, b"\x16\x03\x01MAIL FROM:<x>\r\n"),
    ]);
    assert_eq!(t.len(), 3, "{t:#?}");
    let a0 = t[0].auth.as_ref().unwrap();
    assert_eq!(
        (a0.username.as_deref(), a0.outcome),
        (Some("alice"), Some(AuthOutcome::Failure))
    );
    assert!(a0.password_seen);
    let a1 = t[1].auth.as_ref().unwrap();
    assert_eq!(a1.outcome, Some(AuthOutcome::Success));
    assert_eq!(a1.username.as_deref(), Some("alice"));
    assert!(t[2].starttls && t[2].mail_from.is_none());
    assert!(!format!("{t:?}").contains("secret"));
}

#[test]
fn pipelining_rejected_data_and_bdat() {
    let t = run(&[
        (
            ToServer,
            b"MAIL FROM:<a@b> SIZE=10\r\nRCPT TO:<c@d>\r\nDATA\r\n",
        ),
        (
            ToClient,
            b"250 ok\r\n550 no such user\r\n554 no valid recipients\r\n",
        ),
        (ToServer, b"RSET\r\n"),
        (ToClient, b"250 ok\r\n"),
        (
            ToServer,
            b"MAIL FROM:<a@b>\r\nRCPT TO:<e@f>\r\nBDAT 11 LAST\r\nDATA\r\n.\r\nXXQUIT\r\n",
        ),
        (ToClient, b"250 ok\r\n250 ok\r\n250 got it\r\n"),
    ]);
    assert_eq!(t.len(), 2, "{t:#?}");
    assert_eq!(
        verbs(&t[0]),
        [
            ("MAIL", Some(250)),
            ("RCPT", Some(550)),
            ("DATA", Some(554)),
            ("RSET", Some(250))
        ]
    );
    assert_eq!(t[0].mail_from.as_deref(), Some("<a@b>"));
    // The 11 BDAT bytes (`DATA\r\n.\r\nXX`) are skipped, not commands.
    assert_eq!(
        verbs(&t[1]),
        [
            ("MAIL", Some(250)),
            ("RCPT", Some(250)),
            ("BDAT", Some(250)),
            ("QUIT", None)
        ]
    );
}

#[test]
fn unknown_verbs_and_codes() {
    let t = run(&[
        (ToServer, b"FROB x\r\nX-EXT\r\n"),
        (ToClient, b"999 eh\r\n"),
    ]);
    assert_eq!(verbs(&t[0]), [("FROB", Some(999)), ("X-EXT", None)]);
}

#[test]
fn gaps_and_garbage() {
    let mut p = SmtpParser::new(true);
    let mut out = Vec::new();
    p.data(
        ToServer,
        b"MAIL FROM:<a@b>\r\nDATA\r\nSubject: hi\r\n\r\nbody",
        &mut out,
    );
    p.gap(ToServer);
    p.data(ToServer, b"lost\r\nRCPT TO:<z@z>\r\n", &mut out);
    p.finish(&mut out);
    let t = txs(out);
    assert_eq!(t[0].rcpt_to, ["<z@z>"]);
    assert_eq!(t[0].email.as_ref().unwrap().subject.as_deref(), Some("hi"));

    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut p = SmtpParser::new(true);
    let mut out = Vec::new();
    for i in 0..2000 {
        let mut buf = [0u8; 61];
        for b in &mut buf {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        p.data(if i % 3 == 0 { ToClient } else { ToServer }, &buf, &mut out);
    }
    p.data(ToServer, b"\r\nBDAT 18446744073709551615\r\n", &mut out);
    p.data(ToServer, &[b'x'; 100_000], &mut out);
    p.finish(&mut out);
    assert!(out.len() <= 2000);
    let mut u = new_parser(false);
    u.data(ToServer, b"HELO x\r\n", &mut out);
}

/// The flow's identifier replays the probed client bytes before the
/// server's: fed all client bytes first, the records are the same.
#[test]
fn client_bytes_first_give_the_same_records() {
    for (name, port) in [("arkime__smtp-data-250.pcap", 587), ("ndpi__smtp.pcap", 25)] {
        let c = shared_convo(name, 6, port);
        let interleaved = txs(crate::dpi::parse::testutil::whole(new_parser, &c));
        let side = |dir: Direction| -> Vec<u8> {
            c.iter()
                .filter(|(d, _)| *d == dir)
                .flat_map(|(_, b)| b.clone())
                .collect()
        };
        let (client, server) = (side(ToServer), side(ToClient));
        assert_eq!(
            run(&[(ToServer, &client), (ToClient, &server)]),
            interleaved,
            "{name}"
        );
    }
    // AUTH LOGIN with the password line, then MAIL, all before any reply.
    let t = run(&[
        (ToServer, b"EHLO a\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nMAIL FROM:<a@b>\r\nQUIT\r\n"),
        (ToClient, b"220 hi\r\n250 ok\r\n334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n250 ok\r\n221 bye\r\n"),
    ]);
    assert_eq!(t.len(), 2, "{t:#?}");
    assert_eq!(
        t[0].auth.as_ref().unwrap().outcome,
        Some(AuthOutcome::Success)
    );
    assert_eq!(t[1].mail_from.as_deref(), Some("<a@b>"));
}
