//! FTP tests: real captures from `../shared/pcaps` (ground truth from
//! `tshark -Y ftp -T fields -e ftp.request.command -e ftp.request.arg
//! -e ftp.response.code -e ftp.response.arg`) and hand-made streams.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, shared_convo, shared_convos};
use Direction::{ToClient, ToServer};

fn txs(records: Vec<AppRecord>) -> Vec<FtpTx> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Ftp(t) => t,
            other => panic!("not ftp: {other:?}"),
        })
        .collect()
}

fn run(chunks: &[(Direction, &[u8])]) -> Vec<FtpTx> {
    let mut p = FtpParser::new(true);
    let mut out = Vec::new();
    for (d, b) in chunks {
        p.data(*d, b, &mut out);
    }
    p.finish(&mut out);
    txs(out)
}

fn cmds(t: &[FtpTx]) -> Vec<(Option<&str>, Option<&str>, Vec<&str>)> {
    t.iter()
        .map(|t| {
            (
                t.command.as_deref(),
                t.command_data.as_deref(),
                t.completion_code.iter().map(String::as_str).collect(),
            )
        })
        .collect()
}

#[test]
fn arkime_anonymous_login() {
    let c = shared_convo("arkime__ftp.pcap", 6, 21);
    let t = txs(check_segmentation(new_parser, &c));
    assert_eq!(
        cmds(&t)[..3],
        [
            (None, None, vec!["220"]),
            (Some("USER"), Some("anonymous"), vec!["331"]),
            (Some("PASS"), None, vec!["230"]),
        ]
    );
    assert_eq!(t[0].reply, ["Welcome to mirrors.rit.edu."]);
    assert!(t[2].password_seen);
    assert_eq!(t[2].login, Some(LoginOutcome::Success));
    // The password never reaches the record.
    let json = serde_json::to_string(&t).unwrap();
    assert!(!json.contains("ftp@example.com"), "{json}");
}

#[test]
fn ndpi_passive_and_multiline() {
    let c = shared_convo("ndpi__ftp.pcap", 6, 21);
    let t = txs(check_segmentation(new_parser, &c));
    let feat = t
        .iter()
        .find(|t| t.command.as_deref() == Some("FEAT"))
        .unwrap();
    assert_eq!(feat.completion_code, ["211"]);
    assert_eq!(feat.reply[0], "Features:");
    assert!(feat.reply.iter().any(|l| l == " EPRT"));
    let pasv: Vec<_> = t
        .iter()
        .filter(|t| t.command.as_deref() == Some("PASV"))
        .collect();
    assert_eq!(pasv.len(), 2);
    // 227 Entering Passive Mode (90,130,70,73,100,85) / (…,95,203).
    let ip: IpAddr = "90.130.70.73".parse().unwrap();
    assert_eq!(
        pasv[0].data_channel,
        Some(DataChannel {
            ip: Some(ip),
            port: 100 * 256 + 85
        })
    );
    assert_eq!(pasv[1].dynamic_port, Some(95 * 256 + 203));
    assert_eq!(pasv[1].mode, Some(FtpMode::Passive));
    let retr = t
        .iter()
        .find(|t| t.command.as_deref() == Some("RETR"))
        .unwrap();
    assert_eq!(retr.command_data.as_deref(), Some("1MB.zip"));
    assert_eq!(retr.completion_code, ["150", "226"]);
    let clnt = t
        .iter()
        .find(|t| t.command.as_deref() == Some("CLNT"))
        .unwrap();
    assert_eq!(clnt.completion_code, ["500"]);
    assert_eq!(t.last().unwrap().command.as_deref(), Some("QUIT"));
    assert!(t.iter().all(|t| t.reply_received));
}

#[test]
fn suricata_passive_download() {
    let c = shared_convo("suricata__ftp_ftp-download-passive.pcap", 6, 21);
    let t = txs(check_segmentation(new_parser, &c));
    let user = &t[1];
    assert_eq!(
        (user.command.as_deref(), user.command_data.as_deref()),
        (Some("USER"), Some("bob"))
    );
    assert_eq!(t[2].login, Some(LoginOutcome::Success));
    let ports: Vec<_> = t.iter().filter_map(|t| t.data_channel).collect();
    let ip: IpAddr = "172.23.0.2".parse().unwrap();
    assert_eq!(
        ports,
        [
            DataChannel {
                ip: Some(ip),
                port: 82 * 256 + 9
            },
            DataChannel {
                ip: Some(ip),
                port: 82 * 256 + 16
            },
            DataChannel {
                ip: Some(ip),
                port: 82 * 256 + 16
            },
        ]
    );
}

#[test]
fn zeek_bruteforce_failures() {
    let convos: Vec<_> = shared_convos("zeek__ftp_bruteforce.pcap", 6)
        .into_iter()
        .filter(|(p, _)| *p == 21)
        .collect();
    assert!(convos.len() >= 6);
    for (i, (_, c)) in convos.iter().enumerate() {
        let t = txs(check_segmentation(new_parser, c));
        let pass = t
            .iter()
            .find(|t| t.command.as_deref() == Some("PASS"))
            .unwrap();
        assert_eq!(pass.login, Some(LoginOutcome::Failure), "conversation {i}");
        assert_eq!(pass.reply, ["Login incorrect."]);
        assert!(pass.password_seen && pass.command_data.is_none());
        assert_eq!(pass.user.as_deref(), Some("bro"));
    }
}

#[test]
fn active_modes_and_epsv() {
    let t = run(&[
        (
            ToServer,
            b"PORT 10,0,0,1,4,1\r\nEPRT |2|::1|6275|\r\nEPSV\r\nEPRT |1|132.235.1.2|6276|\r\n",
        ),
        (
            ToClient,
            b"200 ok\r\n200 ok\r\n229 Entering Extended Passive Mode (|||6446|)\r\n200 ok\r\n",
        ),
    ]);
    assert_eq!(
        t[0].data_channel,
        Some(DataChannel {
            ip: Some("10.0.0.1".parse().unwrap()),
            port: 1025
        })
    );
    assert_eq!(t[0].mode, Some(FtpMode::Active));
    assert_eq!(
        t[1].data_channel,
        Some(DataChannel {
            ip: Some("::1".parse().unwrap()),
            port: 6275
        })
    );
    assert_eq!(
        t[2].data_channel,
        Some(DataChannel {
            ip: None,
            port: 6446
        })
    );
    assert_eq!(t[2].mode, Some(FtpMode::Passive));
    assert_eq!(t[3].dynamic_port, Some(6276));
    // Malformed addresses are ignored.
    let t = run(&[(
        ToServer,
        b"PORT 1,2,3\r\nEPRT |1|::1|5|\r\nPORT 300,1,1,1,1,1\r\n",
    )]);
    assert!(t
        .iter()
        .all(|t| t.data_channel.is_none() && !t.reply_received));
}

#[test]
fn auth_tls_stops() {
    let t = run(&[
        (ToClient, b"220 hi\r\n"),
        (ToServer, b"AUTH TLS\r\n"),
        (ToClient, b"234 go\r\n\x16\x03\x01garbage\r\n"),
        (ToServer, b"\x16\x03\x01USER x\r\n"),
    ]);
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].command.as_deref(), Some("AUTH"));
}

#[test]
fn unknown_commands_and_codes() {
    let t = run(&[
        (ToServer, b"xyzzy plugh\r\nNOOP\r\n"),
        (ToClient, b"999 what\r\n"),
    ]);
    assert_eq!(t[0].command.as_deref(), Some("XYZZY"));
    assert_eq!(t[0].completion_code, ["999"]);
    assert!(!t[1].reply_received);
    let json = serde_json::to_value(&t[1]).unwrap();
    assert_eq!(json["reply_received"], "no");
}

#[test]
fn long_lines_and_gaps() {
    let long = vec![b'a'; 10_000];
    let mut p = FtpParser::new(true);
    let mut out = Vec::new();
    p.data(ToServer, b"RETR ", &mut out);
    p.data(ToServer, &long, &mut out);
    p.data(ToServer, b"\r\nPWD\r\n", &mut out);
    p.data(ToClient, b"550 no\r\n257 \"/\"\r\n", &mut out);
    let t = txs(out);
    assert_eq!(t[0].command_data.as_ref().unwrap().len(), MAX_LINE_LEN - 5);
    assert!(t[0].truncated);
    assert_eq!(t[1].completion_code, ["257"]);
    let mut out = Vec::new();
    p.data(ToServer, b"CWD /a", &mut out);
    p.gap(ToServer);
    p.data(ToServer, b"lost\r\nCDUP\r\n", &mut out);
    p.data(ToClient, b"250-a\r\n", &mut out);
    p.gap(ToClient);
    p.data(ToClient, b"x\r\n250 ok\r\n", &mut out);
    let t = txs(out);
    assert_eq!(cmds(&t), [(Some("CDUP"), None, vec!["250"])]);
}

#[test]
fn garbage_is_bounded() {
    let mut seed = 0x1234_5678_9abc_def0u64;
    let mut p = FtpParser::new(true);
    let mut out = Vec::new();
    for i in 0..2000 {
        let mut buf = [0u8; 97];
        for b in &mut buf {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *b = seed as u8;
        }
        let dir = if i % 2 == 0 { ToServer } else { ToClient };
        p.data(dir, &buf, &mut out);
    }
    p.finish(&mut out);
    assert!(p.pending.is_empty());
    assert!(out.len() < 2000 * 97);
    // UDP: ignored.
    let mut u = new_parser(false);
    u.data(ToServer, b"USER x\r\n", &mut out);
}

/// The flow's identifier replays the probed client bytes before the
/// server's: fed all client bytes first, the records are the same.
#[test]
fn client_bytes_first_give_the_same_records() {
    for name in [
        "arkime__ftp.pcap",
        "ndpi__ftp.pcap",
        "suricata__ftp_ftp-download-passive.pcap",
    ] {
        let c = shared_convo(name, 6, 21);
        let interleaved = txs(crate::dpi::parse::testutil::whole(new_parser, &c));
        let client: Vec<u8> = c
            .iter()
            .filter(|(d, _)| *d == ToServer)
            .flat_map(|(_, b)| b.clone())
            .collect();
        let server: Vec<u8> = c
            .iter()
            .filter(|(d, _)| *d == ToClient)
            .flat_map(|(_, b)| b.clone())
            .collect();
        assert_eq!(
            run(&[(ToServer, &client), (ToClient, &server)]),
            interleaved,
            "{name}"
        );
    }
}
