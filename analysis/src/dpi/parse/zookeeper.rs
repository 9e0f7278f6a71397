//! ZooKeeper client protocol parser: the session handshake and one
//! [`ZookeeperTx`] per request and its reply.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - Every message is an int32 length and that many bytes (jute
//!   serialisation, big-endian). The first message of each direction is
//!   the `ConnectRequest` (protocolVersion, lastZxidSeen, timeOut,
//!   sessionId, passwd) / `ConnectResponse` (protocolVersion, timeOut,
//!   sessionId, passwd); they make one `connect` record.
//! - Then requests are `xid`, `type`, body; replies are `xid`, `zxid`,
//!   `err`, body, matched by `xid`. The path (first field of most request
//!   bodies) is read for path operations. Opcode names follow
//!   `ZooDefs.OpCode`; others are `Unknown(n)`.
//! - Pings (xid -2) and watch notifications (xid -1) make no record. An
//!   `AuthPacket` (xid -4: type, scheme, auth bytes) records the scheme;
//!   for `digest` the bytes are `user:password` in clear (user kept,
//!   `password_seen`), and its reply's `err` gives `auth_success`.
//! - Four-letter-word commands (`ruok`, `stat`, ...) are not framed and
//!   stop the direction (their "length" is over [`MAX_MESSAGE_LEN`]); so
//!   does a gap. Unanswered requests are emitted on `finish`.
//!
//! # Caps
//! [`MAX_MSG`] buffered bytes per direction (bigger messages read from
//! their head), [`MAX_PENDING`] outstanding requests, [`MAX_NAME`] bytes
//! per path or name.

use super::lenframe::{text, Framer, Framing, LenParser, Pending, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::Serialize;

/// Bytes buffered per direction.
pub const MAX_MSG: usize = 64 * 1024;
/// Largest message accepted (16 × the default `jute.maxbuffer`).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024 * 1024;
/// Outstanding requests kept per flow.
pub const MAX_PENDING: usize = 64;
/// Longest path, scheme or user kept.
pub const MAX_NAME: usize = 1024;

/// xid of pings.
const XID_PING: i32 = -2;
/// xid of watch notifications.
const XID_NOTIFICATION: i32 = -1;
/// xid of AuthPackets.
const XID_AUTH: i32 = -4;

/// `ZooDefs.OpCode` name of a request type, or `Unknown(n)`.
pub fn opcode_name(op: i32) -> String {
    let n = match op {
        0 => "notification",
        1 => "create",
        2 => "delete",
        3 => "exists",
        4 => "getData",
        5 => "setData",
        6 => "getACL",
        7 => "setACL",
        8 => "getChildren",
        9 => "sync",
        11 => "ping",
        12 => "getChildren2",
        13 => "check",
        14 => "multi",
        15 => "create2",
        16 => "reconfig",
        17 => "checkWatches",
        18 => "removeWatches",
        19 => "createContainer",
        20 => "deleteContainer",
        21 => "createTTL",
        22 => "multiRead",
        100 => "auth",
        101 => "setWatches",
        102 => "sasl",
        103 => "getEphemerals",
        104 => "getAllChildrenNumber",
        105 => "setWatches2",
        106 => "addWatch",
        107 => "whoAmI",
        -10 => "createSession",
        -11 => "closeSession",
        -1 => "error",
        n => return format!("Unknown({n})"),
    };
    n.to_string()
}

/// Whether a request body starts with a path (jute `ustring path`).
fn has_path(op: i32) -> bool {
    matches!(op, 1..=9 | 12 | 13 | 15 | 17..=21 | 103 | 104 | 106)
}

/// The handshake or one request and its reply (EVE `zookeeper`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ZookeeperTx {
    /// `connect` or the request's opcode name.
    pub opcode: String,
    /// Request xid (absent for `connect`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xid: Option<i32>,
    /// Path of a path operation (capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Connect: the client's protocol version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<i32>,
    /// Connect: session timeout requested by the client, in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<i32>,
    /// Connect: session timeout granted by the server, in ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negotiated_timeout_ms: Option<i32>,
    /// Connect: session id (hex) the client asked to resume, or the server
    /// granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Auth: scheme (`digest`, `sasl`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_scheme: Option<String>,
    /// Auth: `digest` user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A cleartext password was sent (`digest` auth); never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// Reply's zxid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zxid: Option<i64>,
    /// Reply's error code (0 = ok, -101 = NoNode, -102 = NoAuth,
    /// -115 = AuthFailed, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub err: Option<i32>,
    /// Auth outcome (reply `err` 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
}

/// Builds the ZooKeeper parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    LenParser::boxed(
        tcp,
        State {
            seen: [false; 2],
            connect: None,
            pending: Pending::new(MAX_PENDING),
        },
    )
}

#[derive(Debug)]
struct State {
    /// Per direction: the connect message was read.
    seen: [bool; 2],
    /// The connect record until the server's response.
    connect: Option<ZookeeperTx>,
    pending: Pending<i32, ZookeeperTx>,
}

impl Framer for State {
    fn frame_len(&self, _dir: Direction, buf: &[u8]) -> Framing {
        match Rd(buf).be32() {
            None => Framing::Need(4),
            Some(n) if (n as usize) <= MAX_MESSAGE_LEN => Framing::Frame(4 + n as usize),
            Some(_) => Framing::Bad,
        }
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], _truncated: bool, out: &mut Vec<AppRecord>) {
        let mut r = Rd(msg.get(4..).unwrap_or_default());
        let d = dir.idx();
        if !std::mem::replace(&mut self.seen[d], true) {
            self.connect_msg(dir, r, out);
            return;
        }
        let Some(xid) = r.be32().map(|x| x as i32) else {
            return;
        };
        if dir == Direction::ToServer {
            if xid == XID_PING {
                return;
            }
            let Some(op) = r.be32().map(|x| x as i32) else {
                return;
            };
            let mut tx = ZookeeperTx {
                opcode: opcode_name(op),
                xid: Some(xid),
                ..Default::default()
            };
            if xid == XID_AUTH {
                // AuthPacket: int type, ustring scheme, buffer auth.
                r.be32();
                let scheme = r.str32().unwrap_or_default();
                tx.auth_scheme = Some(text(scheme, MAX_NAME));
                if let (b"digest", Some(auth)) = (scheme, r.str32()) {
                    if let Some(i) = auth.iter().position(|&b| b == b':') {
                        tx.user = Some(text(auth.get(..i).unwrap_or_default(), MAX_NAME));
                        tx.password_seen = auth.len() > i + 1;
                    }
                }
            } else if has_path(op) {
                tx.path = r.str32().map(|p| text(p, MAX_NAME));
            }
            if let Some(old) = self.pending.push(xid, tx) {
                out.push(AppRecord::Zookeeper(old));
            }
        } else if xid != XID_NOTIFICATION && xid != XID_PING {
            let Some(mut tx) = self.pending.take(&xid) else {
                return;
            };
            tx.zxid = r.be64().map(|z| z as i64);
            tx.err = r.be32().map(|e| e as i32);
            if xid == XID_AUTH {
                tx.auth_success = tx.err.map(|e| e == 0);
            }
            out.push(AppRecord::Zookeeper(tx));
        }
    }
}

impl State {
    /// ConnectRequest / ConnectResponse (body after the length).
    fn connect_msg(&mut self, dir: Direction, mut r: Rd<'_>, out: &mut Vec<AppRecord>) {
        let tx = self.connect.get_or_insert_with(|| ZookeeperTx {
            opcode: "connect".into(),
            ..Default::default()
        });
        if dir == Direction::ToServer {
            tx.protocol_version = r.be32().map(|v| v as i32);
            r.be64();
            tx.timeout_ms = r.be32().map(|v| v as i32);
            tx.session_id = r.be64().filter(|&s| s != 0).map(|s| format!("{s:016x}"));
        } else {
            r.be32();
            tx.negotiated_timeout_ms = r.be32().map(|v| v as i32);
            if let Some(s) = r.be64() {
                tx.session_id = Some(format!("{s:016x}"));
            }
            if let Some(tx) = self.connect.take() {
                out.push(AppRecord::Zookeeper(tx));
            }
        }
    }
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        out.extend(self.connect.take().map(AppRecord::Zookeeper));
        out.extend(self.pending.drain().map(AppRecord::Zookeeper));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    //! `samples/zookeeper.pcap` (recorded here, see samples/README.md;
    //! tshark 4.0 has no ZooKeeper dissector: ground truth from zkCli's
    //! output and the payload bytes, `tshark -T fields -e tcp.payload`)
    //! and hand-made streams built from the jute records of ZooKeeper 3.x
    //! (`zookeeper.jute`).

    use super::*;
    use crate::dpi::parse::testutil::{check_segmentation, sample_convos, Convo};
    use Direction::{ToClient, ToServer};

    fn m(parts: &[&[u8]]) -> Vec<u8> {
        let body = parts.concat();
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend(body);
        v
    }

    fn s(x: &[u8]) -> Vec<u8> {
        let mut v = (x.len() as u32).to_be_bytes().to_vec();
        v.extend(x);
        v
    }

    fn txs(r: Vec<AppRecord>) -> Vec<ZookeeperTx> {
        r.into_iter()
            .map(|r| match r {
                AppRecord::Zookeeper(t) => t,
                o => panic!("{o:?}"),
            })
            .collect()
    }

    fn reply(xid: i32, zxid: i64, err: i32) -> Vec<u8> {
        m(&[&xid.to_be_bytes(), &zxid.to_be_bytes(), &err.to_be_bytes()])
    }

    #[test]
    fn recorded_capture() {
        let convos = sample_convos("zookeeper.pcap", 6);
        assert_eq!(convos.len(), 1);
        assert_eq!(convos[0].0, 2181);
        let t = txs(check_segmentation(new_parser, &convos[0].1));
        let got: Vec<_> = t
            .iter()
            .map(|t| (t.opcode.as_str(), t.xid, t.path.as_deref(), t.zxid, t.err))
            .collect();
        assert_eq!(
            got,
            [
                ("connect", None, None, None, None),
                // zkCli sends the digest twice (addauth, and again with the
                // session's auth info); both are answered.
                ("auth", Some(XID_AUTH), None, Some(0), Some(0)),
                ("auth", Some(XID_AUTH), None, Some(0), Some(0)),
                ("create", Some(1), Some("/osprey"), Some(2), Some(0)),
                ("getData", Some(2), Some("/osprey"), Some(2), Some(0)),
                ("getData", Some(3), Some("/missing"), Some(2), Some(-101)),
                ("getChildren2", Some(4), Some("/"), Some(2), Some(0)),
                ("delete", Some(5), Some("/osprey"), Some(3), Some(0)),
                ("closeSession", Some(6), None, Some(4), Some(0)),
            ]
        );
        assert_eq!(t[0].protocol_version, Some(0));
        assert_eq!(
            (t[0].timeout_ms, t[0].negotiated_timeout_ms),
            (Some(30000), Some(30000))
        );
        assert_eq!(t[0].session_id.as_deref(), Some("010000a079600000"));
        assert_eq!(t[1].auth_scheme.as_deref(), Some("digest"));
        assert_eq!(t[1].user.as_deref(), Some("admin"));
        assert!(t[1].password_seen);
        assert_eq!(t[1].auth_success, Some(true));
    }

    #[test]
    fn session() {
        let sid = 0x1234_5678_9abc_def0u64.to_be_bytes();
        let c: Convo = vec![
            (
                ToServer,
                m(&[
                    &0i32.to_be_bytes(),
                    &0i64.to_be_bytes(),
                    &30000i32.to_be_bytes(),
                    &0i64.to_be_bytes(),
                    &s(&[0; 16]),
                ]),
            ),
            (
                ToClient,
                m(&[
                    &0i32.to_be_bytes(),
                    &20000i32.to_be_bytes(),
                    &sid,
                    &s(&[1; 16]),
                ]),
            ),
            (
                ToServer,
                m(&[
                    &XID_AUTH.to_be_bytes(),
                    &100i32.to_be_bytes(),
                    &0i32.to_be_bytes(),
                    &s(b"digest"),
                    &s(b"admin:secret"),
                ]),
            ),
            (ToClient, reply(XID_AUTH, 0, 0)),
            (
                ToServer,
                m(&[
                    &1i32.to_be_bytes(),
                    &4i32.to_be_bytes(),
                    &s(b"/config/db"),
                    &[0],
                ]),
            ),
            (
                ToServer,
                m(&[&XID_PING.to_be_bytes(), &11i32.to_be_bytes()]),
            ),
            (ToClient, reply(1, 42, -101)),
            (ToClient, reply(XID_PING, 42, 0)),
            (
                ToServer,
                m(&[&2i32.to_be_bytes(), &77i32.to_be_bytes(), b"??"]),
            ),
            (ToClient, reply(2, 43, -6)),
            (
                ToServer,
                m(&[&3i32.to_be_bytes(), &1i32.to_be_bytes(), &s(b"/locks/a")]),
            ),
        ];
        let t = txs(check_segmentation(new_parser, &c));
        assert_eq!(t.len(), 5);
        assert_eq!(t[0].opcode, "connect");
        assert_eq!(t[0].timeout_ms, Some(30000));
        assert_eq!(t[0].negotiated_timeout_ms, Some(20000));
        assert_eq!(t[0].session_id.as_deref(), Some("123456789abcdef0"));
        assert_eq!(t[1].opcode, "auth");
        assert_eq!(t[1].auth_scheme.as_deref(), Some("digest"));
        assert_eq!(t[1].user.as_deref(), Some("admin"));
        assert!(t[1].password_seen);
        assert_eq!(t[1].auth_success, Some(true));
        assert!(!serde_json::to_string(&t[1]).unwrap().contains("secret"));
        assert_eq!(t[2].opcode, "getData");
        assert_eq!(t[2].path.as_deref(), Some("/config/db"));
        assert_eq!((t[2].zxid, t[2].err), (Some(42), Some(-101)));
        assert_eq!(t[3].opcode, "Unknown(77)");
        assert_eq!(t[4].opcode, "create");
        assert_eq!(t[4].path.as_deref(), Some("/locks/a"));
        assert!(t[4].err.is_none());
    }

    #[test]
    fn garbage_four_letter_words_and_huge_lengths() {
        let noise = crate::dpi::parse::testutil::noise(5, 4000);
        for c in [
            vec![(ToServer, noise.clone()), (ToClient, noise)],
            vec![(ToServer, b"ruok".to_vec()), (ToClient, b"imok".to_vec())],
            vec![
                (ToServer, vec![0, 0, 0, 4, 0, 0, 0, 0]),
                (
                    ToServer,
                    m(&[
                        &1i32.to_be_bytes(),
                        &1i32.to_be_bytes(),
                        &[0x7f, 0xff, 0xff, 0xff],
                    ]),
                ),
            ],
        ] {
            assert!(check_segmentation(new_parser, &c).len() <= 64);
        }
    }
}
