//! MQTT parser (3.1, 3.1.1 and 5.0): one [`MqttRecord`] per control
//! packet, PINGREQ/PINGRESP excepted.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - Fixed header (MQTT 3.1.1 §2.2, 5.0 §2.1): type and flags, then the
//!   remaining length as a variable byte integer of at most 4 bytes
//!   (§2.2.3); a fifth continuation byte, a reserved type 0 or a
//!   remaining length over [`MAX_REMAINING`] stops the direction, and so
//!   does a gap.
//! - The protocol level comes from CONNECT (4 = 3.1.1, 5 = 5.0, 3 = 3.1);
//!   before one is seen 3.1.1 is assumed. MQTT 5 properties (§2.2.2) are
//!   skipped by their length.
//! - CONNECT: protocol name and level, clean session, keep alive, client
//!   id, will topic, user name, `password_seen` (the password itself is
//!   never logged). CONNACK: session present and return code (3.1.1) /
//!   reason code (5.0); after a CONNECT with credentials it sets
//!   `auth_success` (0 accepted; 3.1.1 codes 4 and 5, 5.0 codes 0x86
//!   and 0x87 refused). PUBLISH: topic, QoS, retain, dup, packet id,
//!   payload length. SUBSCRIBE / UNSUBSCRIBE: topic filters (with QoS).
//!   Acks: packet id (and the 5.0 reason code). DISCONNECT / AUTH: the
//!   5.0 reason code. Type 15 before 5.0, and type 0, are `Unknown(n)`.
//! - Field names follow Suricata's EVE `mqtt` where it logs them.
//!
//! # Caps
//! [`MAX_MSG`] buffered bytes per direction (a bigger PUBLISH is read
//! from its head; its payload length is still exact), [`MAX_TOPICS`]
//! filters per SUBSCRIBE, [`MAX_NAME`] bytes per topic, id or name.

use super::lenframe::{text, Framer, Framing, LenParser, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::Serialize;

/// Bytes buffered per direction.
pub const MAX_MSG: usize = 64 * 1024;
/// Largest remaining length (§2.2.3: 268,435,455).
pub const MAX_REMAINING: usize = 268_435_455;
/// Topic filters kept per SUBSCRIBE / UNSUBSCRIBE.
pub const MAX_TOPICS: usize = 32;
/// Longest topic, client id or user name kept.
pub const MAX_NAME: usize = 1024;

/// Control packet names, by type (§2.2.1).
const TYPES: [&str; 16] = [
    "",
    "CONNECT",
    "CONNACK",
    "PUBLISH",
    "PUBACK",
    "PUBREC",
    "PUBREL",
    "PUBCOMP",
    "SUBSCRIBE",
    "SUBACK",
    "UNSUBSCRIBE",
    "UNSUBACK",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "AUTH",
];

/// One subscription filter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MqttTopic {
    /// Topic filter.
    pub topic: String,
    /// Requested QoS (SUBSCRIBE only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
}

/// One MQTT control packet (EVE `mqtt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MqttRecord {
    /// `to_server` or `to_client`.
    pub direction: &'static str,
    /// Packet type name (`CONNECT`, `PUBLISH`, ..., `Unknown(n)`).
    #[serde(rename = "type")]
    pub kind: String,
    /// PUBLISH QoS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qos: Option<u8>,
    /// PUBLISH retain flag.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retain: bool,
    /// PUBLISH dup flag.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dup: bool,
    /// CONNECT protocol name (`MQTT`, `MQIsdp`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_string: Option<String>,
    /// CONNECT protocol level (3, 4, 5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<u8>,
    /// CONNECT clean session / clean start flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_session: Option<bool>,
    /// CONNECT keep alive, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keepalive: Option<u16>,
    /// CONNECT client identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// CONNECT will topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub will_topic: Option<String>,
    /// CONNECT user name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// CONNECT carried a password; never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// CONNACK session present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_present: Option<bool>,
    /// CONNACK return code (3.1.x).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_code: Option<u8>,
    /// Reason code (5.0: CONNACK, acks, DISCONNECT, AUTH).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<u8>,
    /// CONNACK after a CONNECT with credentials: accepted or refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
    /// PUBLISH topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Packet identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<u16>,
    /// PUBLISH payload length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_len: Option<u64>,
    /// SUBSCRIBE / UNSUBSCRIBE filters (capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<MqttTopic>,
}

/// Builds the MQTT parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    LenParser::boxed(tcp, State::default())
}

#[derive(Debug, Default)]
struct State {
    /// Protocol level from CONNECT.
    level: Option<u8>,
    /// The CONNECT carried a user name or password.
    credentials: bool,
}

/// Remaining length and header size, if the header is complete; `Err`
/// when malformed.
fn fixed_header(buf: &[u8]) -> Result<Option<(usize, usize)>, ()> {
    let mut len = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(1 + i) else {
            return Ok(None);
        };
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((len, 2 + i)));
        }
    }
    Err(())
}

impl Framer for State {
    fn frame_len(&self, _dir: Direction, buf: &[u8]) -> Framing {
        if buf.first().is_some_and(|&b| b >> 4 == 0) {
            return Framing::Bad;
        }
        match fixed_header(buf) {
            Err(()) => Framing::Bad,
            Ok(None) => Framing::Need(buf.len().max(1) + 1),
            Ok(Some((len, h))) if len <= MAX_REMAINING => Framing::Frame(h + len),
            Ok(Some(_)) => Framing::Bad,
        }
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], _truncated: bool, out: &mut Vec<AppRecord>) {
        let Ok(Some((remaining, h))) = fixed_header(msg) else {
            return;
        };
        let Some(&b0) = msg.first() else { return };
        let (t, flags) = (b0 >> 4, b0 & 0x0f);
        if matches!(t, 12 | 13) {
            return;
        }
        let v5 = self.level == Some(5);
        let kind = match TYPES.get(usize::from(t)) {
            Some(n) if !n.is_empty() && (t != 15 || v5) => (*n).to_string(),
            _ => format!("Unknown({t})"),
        };
        let mut rec = MqttRecord {
            direction: if dir == Direction::ToServer {
                "to_server"
            } else {
                "to_client"
            },
            kind,
            ..Default::default()
        };
        let body = Rd(msg.get(h..).unwrap_or_default());
        self.body(&mut rec, t, flags, remaining, body);
        out.push(AppRecord::Mqtt(rec));
    }
}

/// Skips MQTT 5 properties: a variable byte integer length and that many
/// bytes (5.0 §2.2.2).
fn skip_props(r: &mut Rd<'_>) -> Option<()> {
    let mut len = 0usize;
    for i in 0..4 {
        let b = r.u8()?;
        len |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            r.take(len)?;
            return Some(());
        }
    }
    None
}

impl State {
    /// Reads a packet's variable header and payload.
    fn body(
        &mut self,
        rec: &mut MqttRecord,
        t: u8,
        flags: u8,
        remaining: usize,
        mut r: Rd<'_>,
    ) -> Option<()> {
        let name = |r: &mut Rd<'_>| r.str16().map(|s| text(s, MAX_NAME));
        let v5 = self.level == Some(5);
        match t {
            1 => {
                rec.protocol_string = name(&mut r);
                let level = r.u8()?;
                self.level = Some(level);
                rec.protocol_version = Some(level);
                let f = r.u8()?;
                rec.clean_session = Some(f & 0x02 != 0);
                rec.keepalive = r.be16();
                if level == 5 {
                    skip_props(&mut r)?;
                }
                rec.client_id = name(&mut r);
                if f & 0x04 != 0 {
                    if level == 5 {
                        skip_props(&mut r)?;
                    }
                    rec.will_topic = name(&mut r);
                    r.str16()?;
                }
                self.credentials = f & 0xc0 != 0;
                rec.password_seen = f & 0x40 != 0;
                if f & 0x80 != 0 {
                    rec.username = name(&mut r);
                }
            }
            2 => {
                rec.session_present = Some(r.u8()? & 1 != 0);
                let code = r.u8()?;
                if v5 {
                    rec.reason_code = Some(code);
                } else {
                    rec.return_code = Some(code);
                }
                if std::mem::take(&mut self.credentials) {
                    rec.auth_success = match (v5, code) {
                        (_, 0) => Some(true),
                        (false, 4 | 5) | (true, 0x86 | 0x87) => Some(false),
                        _ => None,
                    };
                }
            }
            3 => {
                let qos = (flags >> 1) & 3;
                rec.qos = Some(qos);
                rec.retain = flags & 1 != 0;
                rec.dup = flags & 8 != 0;
                let before = r.0.len();
                rec.topic = name(&mut r);
                if qos > 0 {
                    rec.message_id = r.be16();
                }
                if v5 {
                    skip_props(&mut r)?;
                }
                let used = before - r.0.len();
                rec.payload_len = remaining.checked_sub(used).map(|n| n as u64);
            }
            8 | 10 => {
                rec.message_id = r.be16();
                if v5 {
                    skip_props(&mut r)?;
                }
                while rec.topics.len() < MAX_TOPICS && !r.0.is_empty() {
                    let topic = name(&mut r)?;
                    let qos = if t == 8 { Some(r.u8()? & 3) } else { None };
                    rec.topics.push(MqttTopic { topic, qos });
                }
            }
            4..=7 | 9 | 11 => {
                rec.message_id = r.be16();
                if v5 && t != 9 && t != 11 {
                    rec.reason_code = r.u8();
                }
            }
            14 | 15 if v5 => rec.reason_code = r.u8(),
            _ => {}
        }
        Some(())
    }
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    /// Every record was emitted as its message was read.
    fn finish(&mut self, _out: &mut Vec<AppRecord>) {}
}

#[cfg(test)]
#[path = "mqtt/tests.rs"]
mod tests;
