//! Tests: `samples/amqp.pcap` (recorded here with RabbitMQ 3.10 and
//! amqp-tools, see samples/README.md; ground truth from `tshark -Y amqp
//! -T fields -e amqp.method.class -e amqp.method.method -e
//! amqp.method.arguments.*`) and hand-made frames built from the AMQP
//! 0-9-1 specification.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, sample_convos, Convo};

use Direction::{ToClient, ToServer};

fn recs(r: Vec<AppRecord>) -> Vec<AmqpRecord> {
    r.into_iter()
        .map(|r| match r {
            AppRecord::Amqp(t) => t,
            o => panic!("{o:?}"),
        })
        .collect()
}

fn frame(t: u8, ch: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![t];
    f.extend(ch.to_be_bytes());
    f.extend((payload.len() as u32).to_be_bytes());
    f.extend(payload);
    f.push(FRAME_END);
    f
}

fn method(ch: u16, class: u16, m: u16, args: &[u8]) -> Vec<u8> {
    let mut p = class.to_be_bytes().to_vec();
    p.extend(m.to_be_bytes());
    p.extend(args);
    frame(1, ch, &p)
}

fn short(s: &str) -> Vec<u8> {
    let mut v = vec![s.len() as u8];
    v.extend(s.as_bytes());
    v
}

fn long(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u32).to_be_bytes().to_vec();
    v.extend(s);
    v
}

fn cat(p: &[Vec<u8>]) -> Vec<u8> {
    p.concat()
}

fn session(password_ok: bool) -> Convo {
    let start = cat(&[
        vec![0, 9],
        long(b""),
        long(b"PLAIN AMQPLAIN"),
        long(b"en_US"),
    ]);
    let start_ok = cat(&[
        long(b""),
        short("PLAIN"),
        long(b"\0guest\0guest"),
        short("en_US"),
    ]);
    let mut c: Convo = vec![
        (ToServer, b"AMQP\x00\x00\x09\x01".to_vec()),
        (ToClient, method(0, 10, 10, &start)),
        (ToServer, method(0, 10, 11, &start_ok)),
    ];
    if !password_ok {
        let close = cat(&[
            403u16.to_be_bytes().to_vec(),
            short("ACCESS_REFUSED - Login was refused"),
            vec![0; 4],
        ]);
        c.push((ToClient, method(0, 10, 50, &close)));
        return c;
    }
    c.extend([
        (
            ToClient,
            method(0, 10, 30, &[0, 0x07, 0xff, 0, 2, 0, 0, 0, 0x3c]),
        ),
        (
            ToServer,
            method(0, 10, 40, &cat(&[short("/prod"), vec![0, 0]])),
        ),
        (
            ToServer,
            method(
                1,
                50,
                10,
                &cat(&[vec![0, 0], short("orders"), vec![2], long(b"")]),
            ),
        ),
        (
            ToServer,
            method(
                1,
                60,
                40,
                &cat(&[vec![0, 0], short("amq.topic"), short("orders.new"), vec![0]]),
            ),
        ),
        (
            ToServer,
            frame(2, 1, &[0, 60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0]),
        ),
        (ToServer, frame(3, 1, b"hello")),
        (ToServer, frame(8, 0, b"")),
        (
            ToServer,
            method(
                1,
                60,
                20,
                &cat(&[
                    vec![0, 0],
                    short("orders"),
                    short("ctag-1"),
                    vec![0],
                    long(b""),
                ]),
            ),
        ),
        (
            ToClient,
            method(
                1,
                60,
                60,
                &cat(&[
                    short("ctag-1"),
                    vec![0; 9],
                    short("amq.topic"),
                    short("orders.new"),
                ]),
            ),
        ),
        (ToServer, method(1, 60, 80, &[0; 9])),
        (ToServer, method(1, 77, 3, b"xyz")),
    ]);
    c
}

#[test]
fn hand_made_session() {
    let r = recs(check_segmentation(new_parser, &session(true)));
    let names: Vec<_> = r.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        names,
        [
            "ProtocolHeader",
            "Connection.Start",
            "Connection.StartOk",
            "Connection.Tune",
            "Connection.Open",
            "Queue.Declare",
            "Basic.Publish",
            "Basic.Consume",
            "Basic.Deliver",
            "Unknown(77, 3)",
        ]
    );
    assert_eq!(r[0].version.as_deref(), Some("0-9-1"));
    assert_eq!(r[1].mechanism.as_deref(), Some("PLAIN AMQPLAIN"));
    assert_eq!(r[2].user.as_deref(), Some("guest"));
    assert!(r[2].password_seen);
    assert_eq!(r[3].auth_success, Some(true));
    assert_eq!(r[4].vhost.as_deref(), Some("/prod"));
    assert_eq!(r[5].queue.as_deref(), Some("orders"));
    assert_eq!(
        (r[6].exchange.as_deref(), r[6].routing_key.as_deref()),
        (Some("amq.topic"), Some("orders.new"))
    );
    assert_eq!(r[6].channel, 1);
    assert_eq!(
        (r[7].queue.as_deref(), r[7].consumer_tag.as_deref()),
        (Some("orders"), Some("ctag-1"))
    );
    assert_eq!(r[8].direction, "to_client");
    assert_eq!(r[8].routing_key.as_deref(), Some("orders.new"));
    assert!(!serde_json::to_string(&r[2])
        .unwrap()
        .contains("\\u0000guest"));
}

#[test]
fn refused_login_and_amqplain() {
    let r = recs(check_segmentation(new_parser, &session(false)));
    assert_eq!(r.last().unwrap().method, "Connection.Close");
    assert_eq!(r.last().unwrap().reply_code, Some(403));
    assert_eq!(r.last().unwrap().auth_success, Some(false));

    let table = cat(&[
        short("LOGIN"),
        vec![b'S'],
        long(b"bob"),
        short("PASSWORD"),
        vec![b'S'],
        long(b"pw"),
    ]);
    let start_ok = cat(&[long(b""), short("AMQPLAIN"), long(&table), short("en_US")]);
    let c: Convo = vec![(ToServer, method(0, 10, 11, &start_ok))];
    let r = recs(check_segmentation(new_parser, &c));
    assert_eq!(r[0].user.as_deref(), Some("bob"));
    assert!(r[0].password_seen);
}

#[test]
fn garbage_bad_frame_end_and_amqp10() {
    let noise = crate::dpi::parse::testutil::noise(11, 4000);
    let mut bad_end = method(0, 10, 40, &short("/"));
    *bad_end.last_mut().unwrap() = 0;
    for c in [
        vec![(ToServer, noise.clone()), (ToClient, noise)],
        vec![(ToServer, vec![1, 0, 0, 0x7f, 0xff, 0xff, 0xff])],
        vec![
            (ToServer, bad_end),
            (ToServer, method(0, 10, 40, &short("/"))),
        ],
        vec![(
            ToServer,
            b"AMQP\x00\x01\x00\x00\x00\x00\x00\x10\x02\x00\x00\x00".to_vec(),
        )],
    ] {
        assert!(check_segmentation(new_parser, &c).len() <= 1);
    }
}

#[test]
fn recorded_capture() {
    let convos = sample_convos("amqp.pcap", 6);
    assert_eq!(convos.len(), 4);
    let r: Vec<Vec<AmqpRecord>> = convos
        .iter()
        .map(|(port, c)| {
            assert_eq!(*port, 5672);
            recs(check_segmentation(new_parser, c))
        })
        .collect();
    let names = |i: usize| -> Vec<String> { r[i].iter().map(|r| r.method.clone()).collect() };
    let open: [&str; 9] = [
        "ProtocolHeader",
        "Connection.Start",
        "Connection.StartOk",
        "Connection.Tune",
        "Connection.TuneOk",
        "Connection.Open",
        "Connection.OpenOk",
        "Channel.Open",
        "Channel.OpenOk",
    ];
    let close = [
        "Channel.Close",
        "Channel.CloseOk",
        "Connection.Close",
        "Connection.CloseOk",
    ];
    let with = |mid: &[&str]| -> Vec<String> {
        open[..9]
            .iter()
            .chain(mid)
            .chain(&close)
            .map(|s| s.to_string())
            .collect()
    };
    // amqp-declare-queue -q orders.
    assert_eq!(names(0), with(&["Queue.Declare", "Queue.DeclareOk"]));
    let c = &r[0];
    assert_eq!(c[0].version.as_deref(), Some("0-9-1"));
    assert_eq!(c[2].mechanism.as_deref(), Some("PLAIN"));
    assert_eq!(c[2].user.as_deref(), Some("app"));
    assert!(c[2].password_seen);
    assert_eq!(c[3].auth_success, Some(true));
    assert_eq!(c[5].vhost.as_deref(), Some("prod"));
    assert_eq!(c[9].queue.as_deref(), Some("orders"));
    assert_eq!(c[10].queue.as_deref(), Some("orders"));
    assert_eq!(c[11].reply_code, Some(200));
    assert!(!serde_json::to_string(&c[2]).unwrap().contains("apppass"));
    // amqp-publish -r orders to the default exchange.
    assert_eq!(names(1), with(&["Basic.Publish"]));
    assert_eq!(r[1][9].routing_key.as_deref(), Some("orders"));
    assert_eq!(r[1][9].exchange.as_deref(), Some(""));
    // A wrong password: 403 ACCESS_REFUSED.
    assert_eq!(
        names(2),
        open[..3]
            .iter()
            .chain(&["Connection.Close"])
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    assert_eq!(r[2][3].reply_code, Some(403));
    assert_eq!(r[2][3].auth_success, Some(false));
    assert!(r[2][3]
        .reply_text
        .as_deref()
        .unwrap()
        .starts_with("ACCESS_REFUSED"));
    // amqp-get -q orders.
    assert_eq!(names(3), with(&["Basic.Get", "Basic.GetOk"]));
    assert_eq!(r[3][9].queue.as_deref(), Some("orders"));
    assert_eq!(r[3][10].routing_key.as_deref(), Some("orders"));
}
