//! AMQP 0-9-1 parser: one [`AmqpRecord`] per protocol header and per
//! method frame (of interest) in either direction.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - A direction may open with a protocol header (`"AMQP"` + 4 bytes,
//!   AMQP 0-9-1 §4.2.2; a server sends one back when it refuses the
//!   version). An AMQP 1.0 header (`"AMQP" id 1 0 0`) is recorded, then
//!   the direction stops: 1.0 framing is not read.
//! - Frames (§4.2.3): type (1 method, 2 header, 3 body, 8 heartbeat),
//!   channel, int32 size, payload, frame-end 0xCE. A wrong type, a size
//!   over [`MAX_FRAME`] or a missing frame-end stops the direction; so
//!   does a gap. Only method frames make records (content and heartbeat
//!   frames are skipped by length); `Basic.Ack`, `Basic.Nack`,
//!   `Basic.Reject`, `Basic.Qos(Ok)` and `Channel.Flow(Ok)` are skipped as
//!   noise.
//! - Methods are named `Class.Method` (§1 of the 0-9-1 XML spec, e.g.
//!   `Connection.StartOk`), `Unknown(class, method)` otherwise. Arguments
//!   read: Connection.Start (mechanisms), StartOk (mechanism; for `PLAIN`
//!   RFC 4616 and `AMQPLAIN` the `LOGIN`, with `password_seen`),
//!   Connection.Open (vhost), Connection/Channel.Close (reply code and
//!   text), Exchange.Declare, Queue.Declare(Ok)/Bind/Purge/Delete,
//!   Basic.Publish/Consume/Deliver/Get/GetOk/Return (exchange, routing key,
//!   queue, consumer tag).
//! - Authentication outcome: after a StartOk, the server's Connection.Tune
//!   carries `auth_success: true`, a Connection.Close with 403
//!   (ACCESS_REFUSED) `false`.
//!
//! # Caps
//! [`MAX_MSG`] buffered bytes per direction (a bigger frame is read from
//! its head: its frame-end is not checked), [`MAX_NAME`] bytes per name.

use super::lenframe::{text, Framer, Framing, LenParser, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::Serialize;

/// Bytes buffered per direction.
pub const MAX_MSG: usize = 64 * 1024;
/// Largest frame payload accepted (RabbitMQ's default `frame_max` is
/// 128 KiB; the protocol allows up to 4 GiB, 128 MiB is generous).
pub const MAX_FRAME: usize = 128 * 1024 * 1024;
/// Longest name, message or mechanism list kept.
pub const MAX_NAME: usize = 256;

/// Frame-end octet (§4.2.3).
const FRAME_END: u8 = 0xCE;

/// One protocol header or method frame (EVE `amqp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AmqpRecord {
    /// `to_server` or `to_client`.
    pub direction: &'static str,
    /// Channel (0 for the connection and the protocol header).
    pub channel: u16,
    /// `ProtocolHeader`, `Class.Method` or `Unknown(class, method)`.
    pub method: String,
    /// Protocol header version (`0-9-1`, `1.0`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Connection.Start: mechanisms offered; StartOk: the one chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// StartOk: login.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A cleartext password was sent; never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// Connection.Open: virtual host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vhost: Option<String>,
    /// Exchange name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<String>,
    /// Routing key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Queue name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Consumer tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_tag: Option<String>,
    /// Close: reply code (e.g. 403 ACCESS_REFUSED, 404 NOT_FOUND).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_code: Option<u16>,
    /// Close: reply text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_text: Option<String>,
    /// Authentication outcome (see the module docs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
}

/// Builds the AMQP parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    LenParser::boxed(tcp, State::default())
}

#[derive(Debug, Default)]
struct State {
    /// Per direction: a frame was read (no protocol header after it).
    started: [bool; 2],
    /// Per direction: stop at the next frame (bad frame-end, AMQP 1.0).
    stop: [bool; 2],
    /// A StartOk was sent and no Tune/Close has answered it.
    auth_pending: bool,
}

impl Framer for State {
    fn frame_len(&self, dir: Direction, buf: &[u8]) -> Framing {
        let d = dir.idx();
        if self.stop[d] {
            return Framing::Bad;
        }
        let Some(&t) = buf.first() else {
            return Framing::Need(1);
        };
        if t == b'A' && !self.started[d] {
            return match buf.get(..4) {
                None => Framing::Need(4),
                Some(b"AMQP") => Framing::Frame(8),
                Some(_) => Framing::Bad,
            };
        }
        if !matches!(t, 1 | 2 | 3 | 4 | 8) {
            return Framing::Bad;
        }
        match buf.get(3..7).and_then(|b| Rd(b).be32()) {
            None => Framing::Need(7),
            Some(n) if n as usize <= MAX_FRAME => Framing::Frame(8 + n as usize),
            Some(_) => Framing::Bad,
        }
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], truncated: bool, out: &mut Vec<AppRecord>) {
        let d = dir.idx();
        let mut rec = AmqpRecord {
            direction: if dir == Direction::ToServer {
                "to_server"
            } else {
                "to_client"
            },
            ..Default::default()
        };
        if msg.first() == Some(&b'A') && !self.started[d] {
            rec.method = "ProtocolHeader".into();
            let v = msg.get(4..8).unwrap_or_default();
            rec.version = Some(match v {
                [0, 0, 9, 1] => "0-9-1".into(),
                [1, 1, 0, 9] => "0-9".into(),
                [1, 1, 8, 0] => "0-8".into(),
                [_, 1, 0, 0] => "1.0".into(),
                _ => v.iter().map(u8::to_string).collect::<Vec<_>>().join("-"),
            });
            if rec.version.as_deref() == Some("1.0") {
                self.stop[d] = true;
            }
            out.push(AppRecord::Amqp(rec));
            return;
        }
        self.started[d] = true;
        if !truncated && msg.last() != Some(&FRAME_END) {
            self.stop[d] = true;
            return;
        }
        let mut r = Rd(msg);
        let (Some(t), Some(ch), Some(_)) = (r.u8(), r.be16(), r.be32()) else {
            return;
        };
        if t != 1 {
            return;
        }
        let (Some(class), Some(method)) = (r.be16(), r.be16()) else {
            return;
        };
        if matches!(
            (class, method),
            (60, 10 | 11 | 80 | 90 | 120) | (20, 20 | 21)
        ) {
            return;
        }
        rec.channel = ch;
        rec.method = method_name(class, method);
        self.args(&mut rec, class, method, r);
        out.push(AppRecord::Amqp(rec));
    }
}

impl State {
    /// Reads the arguments of interest of a method (§1 of the XML spec).
    fn args(&mut self, rec: &mut AmqpRecord, class: u16, method: u16, mut r: Rd<'_>) -> Option<()> {
        let short = |r: &mut Rd<'_>| -> Option<String> {
            let n = r.u8()?;
            r.take(usize::from(n)).map(|s| text(s, MAX_NAME))
        };
        match (class, method) {
            (10, 10) => {
                r.take(2)?;
                r.str32()?;
                rec.mechanism = r.str32().map(|m| text(m, MAX_NAME));
            }
            (10, 11) => {
                r.str32()?;
                let mech = short(&mut r)?;
                let resp = r.str32()?;
                match mech.as_str() {
                    // RFC 4616 §2: [authzid] NUL authcid NUL passwd.
                    "PLAIN" => {
                        let mut parts = resp.splitn(3, |&b| b == 0);
                        let _authzid = parts.next();
                        if let (Some(u), Some(pw)) = (parts.next(), parts.next()) {
                            rec.user = Some(text(u, MAX_NAME));
                            rec.password_seen = !pw.is_empty();
                        }
                    }
                    "AMQPLAIN" => amqplain(rec, resp),
                    _ => {}
                }
                rec.mechanism = Some(mech);
                self.auth_pending = true;
            }
            (10, 30) if rec.direction == "to_client" && self.auth_pending => {
                self.auth_pending = false;
                rec.auth_success = Some(true);
            }
            (10, 40) => rec.vhost = short(&mut r),
            (10, 50) | (20, 40) => {
                rec.reply_code = r.be16();
                rec.reply_text = short(&mut r);
                if class == 10 && rec.direction == "to_client" && self.auth_pending {
                    self.auth_pending = false;
                    rec.auth_success = (rec.reply_code == Some(403)).then_some(false);
                }
            }
            (40, 10) | (40, 20) => {
                r.take(2)?;
                rec.exchange = short(&mut r);
            }
            (50, 10) | (50, 30) | (50, 40) | (60, 70) => {
                r.take(2)?;
                rec.queue = short(&mut r);
            }
            (50, 11) => rec.queue = short(&mut r),
            (50, 20) | (50, 50) => {
                r.take(2)?;
                rec.queue = short(&mut r);
                rec.exchange = short(&mut r);
                rec.routing_key = short(&mut r);
            }
            (60, 20) => {
                r.take(2)?;
                rec.queue = short(&mut r);
                rec.consumer_tag = short(&mut r);
            }
            (60, 40) => {
                r.take(2)?;
                rec.exchange = short(&mut r);
                rec.routing_key = short(&mut r);
            }
            (60, 50) => {
                rec.reply_code = r.be16();
                rec.reply_text = short(&mut r);
                rec.exchange = short(&mut r);
                rec.routing_key = short(&mut r);
            }
            (60, 71) => {
                r.take(9)?;
                rec.exchange = short(&mut r);
                rec.routing_key = short(&mut r);
            }
            (60, 60) => {
                rec.consumer_tag = short(&mut r);
                r.take(9)?;
                rec.exchange = short(&mut r);
                rec.routing_key = short(&mut r);
            }
            _ => {}
        }
        Some(())
    }
}

/// The `LOGIN` of an AMQPLAIN response: a field table without its length
/// (RabbitMQ), entries `shortstr name`, type octet, value. Only
/// long-string values are walked; another type ends the walk.
fn amqplain(rec: &mut AmqpRecord, resp: &[u8]) {
    let mut r = Rd(resp);
    for _ in 0..8 {
        let Some(n) = r.u8() else { return };
        let (Some(name), Some(b'S'), Some(val)) = (r.take(usize::from(n)), r.u8(), r.str32())
        else {
            return;
        };
        match name {
            b"LOGIN" => rec.user = Some(text(val, MAX_NAME)),
            b"PASSWORD" => rec.password_seen = !val.is_empty(),
            _ => {}
        }
    }
}

/// `Class.Method` of a method id (AMQP 0-9-1 XML spec), or
/// `Unknown(class, method)`.
pub fn method_name(class: u16, method: u16) -> String {
    let c = match class {
        10 => "Connection",
        20 => "Channel",
        30 => "Access",
        40 => "Exchange",
        50 => "Queue",
        60 => "Basic",
        85 => "Confirm",
        90 => "Tx",
        _ => return format!("Unknown({class}, {method})"),
    };
    let m = match (class, method) {
        (10, 10) => "Start",
        (10, 11) => "StartOk",
        (10, 20) => "Secure",
        (10, 21) => "SecureOk",
        (10, 30) => "Tune",
        (10, 31) => "TuneOk",
        (10, 40) | (20, 10) => "Open",
        (10, 41) | (20, 11) => "OpenOk",
        (10, 50) | (20, 40) => "Close",
        (10, 51) | (20, 41) => "CloseOk",
        (10, 60) => "Blocked",
        (10, 61) => "Unblocked",
        (20, 20) => "Flow",
        (20, 21) => "FlowOk",
        (30, 10) => "Request",
        (30, 11) => "RequestOk",
        (40 | 50, 10) | (85 | 90, 10) => {
            if class >= 85 {
                "Select"
            } else {
                "Declare"
            }
        }
        (40 | 50, 11) | (85 | 90, 11) => {
            if class >= 85 {
                "SelectOk"
            } else {
                "DeclareOk"
            }
        }
        (40, 20) | (50, 40) => "Delete",
        (40, 21) | (50, 41) => "DeleteOk",
        (40, 30) | (50, 20) => "Bind",
        (40, 31) | (50, 21) => "BindOk",
        (40, 40) | (50, 50) => "Unbind",
        (40, 51) | (50, 51) => "UnbindOk",
        (50, 30) => "Purge",
        (50, 31) => "PurgeOk",
        (60, 10) => "Qos",
        (60, 11) => "QosOk",
        (60, 20) => "Consume",
        (60, 21) => "ConsumeOk",
        (60, 30) => "Cancel",
        (60, 31) => "CancelOk",
        (60, 40) => "Publish",
        (60, 50) => "Return",
        (60, 60) => "Deliver",
        (60, 70) => "Get",
        (60, 71) => "GetOk",
        (60, 72) => "GetEmpty",
        (60, 80) => "Ack",
        (60, 90) => "Reject",
        (60, 100) => "RecoverAsync",
        (60, 110) => "Recover",
        (60, 111) => "RecoverOk",
        (60, 120) => "Nack",
        (90, 20) => "Commit",
        (90, 21) => "CommitOk",
        (90, 30) => "Rollback",
        (90, 31) => "RollbackOk",
        _ => return format!("Unknown({class}, {method})"),
    };
    format!("{c}.{m}")
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    /// Every record was emitted as its message was read.
    fn finish(&mut self, _out: &mut Vec<AppRecord>) {}
}

#[cfg(test)]
#[path = "amqp/tests.rs"]
mod tests;
