//! Real captures (expected values from `tshark -Y resp` on the same files)
//! and hand-built RESP (Redis docs, "Redis serialization protocol
//! specification").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;
use crate::dpi::parse::testutil::{check_segmentation, run, shared_convo, whole};
use Direction::{ToClient, ToServer};

fn records(out: Vec<AppRecord>) -> Vec<RedisRecord> {
    out.into_iter()
        .map(|r| match r {
            AppRecord::Redis(m) => m,
            other => panic!("not redis: {other:?}"),
        })
        .collect()
}

fn status(s: &str) -> Option<RedisReply> {
    Some(RedisReply {
        kind: ReplyType::Status,
        value: Some(s.into()),
        length: None,
    })
}

fn cmd(r: &RedisRecord) -> (&str, Vec<&str>) {
    (
        r.command.as_deref().unwrap(),
        r.args.iter().map(String::as_str).collect(),
    )
}

#[test]
fn zeek_set() {
    let c = shared_convo("zeek__redis_set.pcap", 6, 6379);
    let r = records(check_segmentation(new_parser, &c));
    // tshark: SET test hi / SET one:1 2 / SET two:2 three, each +OK.
    assert_eq!(r.len(), 3);
    let want = [["test", "hi"], ["one:1", "2"], ["two:2", "three"]];
    for (rec, args) in r.iter().zip(want) {
        assert_eq!(cmd(rec), ("SET", args.to_vec()));
        assert_eq!(rec.arg_count, Some(2));
        assert_eq!(rec.reply, status("OK"));
        assert_eq!(rec.success, Some(true));
    }
    let json = serde_json::to_value(AppRecord::Redis(r[0].clone())).unwrap();
    assert_eq!(json["command"], "SET");
    assert_eq!(json["reply"]["type"], "status");
    assert_eq!(json["reply"]["value"], "OK");
}

/// `ndpi__resp.pcap` has a 90 KB nested reply (COMMAND): fed whole, byte
/// by byte and cut at a stride of offsets (every offset would take
/// minutes in a debug build).
#[test]
fn ndpi_resp_nested_reply() {
    let c = shared_convo("ndpi__resp.pcap", 6, 6379);
    let expected = whole(new_parser, &c);
    let bytewise: Vec<(Direction, &[u8])> = c
        .iter()
        .flat_map(|(d, b)| b.chunks(1).map(move |x| (*d, x)))
        .collect();
    assert_eq!(run(new_parser, &bytewise), expected);
    for (i, (_, seg)) in c.iter().enumerate() {
        for cut in (0..=seg.len()).step_by(997) {
            let mut split: Vec<(Direction, &[u8])> = Vec::new();
            for (j, (d, b)) in c.iter().enumerate() {
                if i == j {
                    split.push((*d, &b[..cut]));
                    split.push((*d, &b[cut..]));
                } else {
                    split.push((*d, b));
                }
            }
            assert_eq!(run(new_parser, &split), expected, "segment {i} cut {cut}");
        }
    }
    let r = records(expected);
    // tshark: COMMAND → Array(240), ping → PONG, set → OK, get → 12 bytes.
    assert_eq!(r.len(), 4);
    assert_eq!(cmd(&r[0]), ("COMMAND", vec![]));
    let array = r[0].reply.as_ref().unwrap();
    assert_eq!((array.kind, array.length), (ReplyType::Array, Some(240)));
    assert_eq!(cmd(&r[1]), ("PING", vec![]));
    assert_eq!(r[1].reply, status("PONG"));
    assert_eq!(cmd(&r[2]), ("SET", vec!["test", "Hello world!"]));
    assert_eq!(cmd(&r[3]), ("GET", vec!["test"]));
    let bulk = r[3].reply.as_ref().unwrap();
    assert_eq!((bulk.kind, bulk.length), (ReplyType::Bulk, Some(12)));
}

#[test]
fn passwords_are_never_logged() {
    let c = b"*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$7\r\nsecret1\r\n\
*2\r\n$4\r\nauth\r\n$7\r\nsecret2\r\n\
*5\r\n$5\r\nHELLO\r\n$1\r\n3\r\n$4\r\nAUTH\r\n$3\r\nbob\r\n$7\r\nsecret3\r\n\
*4\r\n$6\r\nCONFIG\r\n$3\r\nSET\r\n$11\r\nrequirepass\r\n$7\r\nsecret4\r\n\
*4\r\n$3\r\nACL\r\n$7\r\nSETUSER\r\n$3\r\neve\r\n$8\r\n>secret5\r\n\
AUTH secret6\r\n";
    let s = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n\
+OK\r\n%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n+OK\r\n+OK\r\n-ERR invalid password\r\n";
    let out = run(new_parser, &[(ToServer, c), (ToClient, s)]);
    let json = serde_json::to_string(&out).unwrap();
    assert!(!json.contains("secret"), "{json}");
    let r = records(out);
    assert_eq!(r.len(), 6);
    assert!(r.iter().all(|x| x.password_seen));
    assert_eq!(r[0].user.as_deref(), Some("admin"));
    assert_eq!(r[0].success, Some(false));
    assert_eq!(
        r[0].reply.as_ref().unwrap().value.as_deref(),
        Some("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(r[1].command.as_deref(), Some("AUTH"));
    assert_eq!(r[1].user, None);
    assert_eq!(r[1].success, Some(true));
    assert_eq!(cmd(&r[2]), ("HELLO", vec!["3", "AUTH", "bob"]));
    assert_eq!(r[2].user.as_deref(), Some("bob"));
    assert_eq!(r[2].reply.as_ref().unwrap().kind, ReplyType::Array);
    assert_eq!(cmd(&r[3]), ("CONFIG", vec!["SET", "requirepass"]));
    assert_eq!(cmd(&r[4]), ("ACL", vec!["SETUSER", "eve"]));
    assert!(r[5].inline);
    assert_eq!(r[5].arg_count, Some(1));
    assert_eq!(r[5].success, Some(false));
}

#[test]
fn pipelining_select_and_resp3() {
    // Three commands in one segment, then their replies; an attribute
    // before the second reply; a null bulk; a push with no command.
    let c = b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
    let s = b"+OK\r\n|1\r\n+ttl\r\n:3\r\n$-1\r\n+PONG\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n";
    let convo: Vec<(Direction, Vec<u8>)> = vec![(ToServer, c.to_vec()), (ToClient, s.to_vec())];
    let r = records(check_segmentation(new_parser, &convo));
    assert_eq!(r.len(), 5);
    // GET was sent before SELECT's reply but runs after it.
    assert_eq!(r[0].database.as_deref(), Some("2"));
    assert_eq!(r[1].database.as_deref(), Some("2"));
    assert_eq!(
        r[1].reply,
        Some(RedisReply {
            kind: ReplyType::Bulk,
            value: None,
            length: Some(-1)
        })
    );
    assert_eq!(r[2].reply, status("PONG"));
    assert_eq!(r[3].reply.as_ref().unwrap().value.as_deref(), Some("1"));
    assert_eq!(r[4].command, None);
    assert_eq!(r[4].reply.as_ref().unwrap().length, Some(3));
}

#[test]
fn caps_unknown_reply_and_hostile_input() {
    // 40 arguments, one of 1 MB (its bytes skipped, not buffered).
    let mut c = b"*41\r\n$5\r\nRPUSH\r\n$1048576\r\n".to_vec();
    c.extend(std::iter::repeat_n(b'x', 1 << 20));
    c.extend_from_slice(b"\r\n");
    for _ in 0..39 {
        c.extend_from_slice(b"$1\r\ny\r\n");
    }
    let s = b"?strange\r\n";
    let r = records(run(new_parser, &[(ToServer, &c), (ToClient, s)]));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].arg_count, Some(40));
    assert_eq!(r[0].args.len(), MAX_ARGS);
    assert_eq!(r[0].args[0].len(), MAX_ARG_LEN);
    assert!(r[0].args_truncated);
    let reply = r[0].reply.as_ref().unwrap();
    assert_eq!(reply.kind, ReplyType::Unknown(b'?'));
    assert_eq!(reply.value.as_deref(), Some("strange"));

    // Garbage, bad lengths, deep nesting, a line with no end.
    let mut seed = 0x2545_f491u32;
    let mut garbage = vec![0u8; 4096];
    for b in &mut garbage {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        *b = (seed >> 16) as u8;
    }
    let deep = "*1\r\n".repeat(1000);
    let long_line = vec![b'+'; MAX_LINE_LEN + 10];
    for input in [
        &garbage[..],
        b"*x\r\n",
        b"$99999999999999999999\r\n",
        deep.as_bytes(),
        &long_line,
    ] {
        let r = run(new_parser, &[(ToServer, input), (ToClient, input)]);
        assert!(r.len() <= input.len(), "bounded");
    }
    // UDP: ignored.
    let mut p = new_parser(false);
    let mut out = Vec::new();
    p.data(ToServer, b"PING\r\n", &mut out);
    p.finish(&mut out);
    assert!(out.is_empty());
    // A gap stops the reply direction: the command is emitted at finish.
    let mut p = new_parser(true);
    p.data(ToServer, b"PING\r\n", &mut out);
    p.gap(ToClient);
    p.data(ToClient, b"+PONG\r\n", &mut out);
    p.finish(&mut out);
    let r = records(out);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].reply, None);
}
