//! Kerberos 5 parser: one [`Krb5Message`] per KDC message.
//!
//! # Contract
//! - UDP: each datagram is one message (RFC 4120 §7.2.1). TCP: each
//!   message is preceded by a 4-byte big-endian length (§7.2.2); messages
//!   up to [`MAX_TCP_MSG`] bytes are buffered and parsed, longer ones are
//!   skipped by length. A length with the reserved high bit set, or a gap,
//!   stops that direction (no resynchronisation).
//! - Messages: AS-REQ/TGS-REQ (§5.4.1), AS-REP/TGS-REP (§5.4.2) and
//!   KRB-ERROR (§5.9.1); other application tags are logged with
//!   `msg_type` `Krb5MsgType::Unknown(tag number)` and nothing else. Fields
//!   that do not decode are left out; a message whose outer tag does not
//!   decode is not logged (counted in [`Krb5Parser::malformed`]).
//! - Logged (Suricata's EVE `krb5` names): `msg_type`, `cname`, `realm`,
//!   `sname` (name strings joined with `/`, capped at [`MAX_NAME_LEN`]),
//!   `error_code` (KRB-ERROR, by name when known), `encryption` (the
//!   ticket's etype in a reply) with `weak_encryption` (DES or RC4), and
//!   the etypes a request offers (`etypes`, at most [`MAX_ETYPES`]).
//!   Nothing secret is in these fields: tickets and encrypted parts are
//!   not decoded.

use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord};
use crate::dpi::udp::ber::{int, tlv, Tlv};
use crate::flow::Direction;

/// Longest principal or realm kept, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Most encryption types listed.
pub const MAX_ETYPES: usize = 32;
/// Longest TCP message buffered.
pub const MAX_TCP_MSG: usize = 64 * 1024;
/// Most fields read from one SEQUENCE.
const MAX_FIELDS: usize = 16;
/// Most name components of a PrincipalName.
const MAX_COMPONENTS: usize = 8;

/// KDC message type (RFC 4120 §5.10 application tags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Krb5MsgType {
    /// 10.
    AsReq,
    /// 11.
    AsRep,
    /// 12.
    TgsReq,
    /// 13.
    TgsRep,
    /// 30.
    Error,
    /// Any other application tag number.
    Unknown(u8),
}

impl Serialize for Krb5MsgType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            Krb5MsgType::AsReq => "KRB_AS_REQ",
            Krb5MsgType::AsRep => "KRB_AS_REP",
            Krb5MsgType::TgsReq => "KRB_TGS_REQ",
            Krb5MsgType::TgsRep => "KRB_TGS_REP",
            Krb5MsgType::Error => "KRB_ERROR",
            Krb5MsgType::Unknown(n) => return s.collect_str(&format_args!("UNKNOWN_{n}")),
        };
        s.serialize_str(name)
    }
}

/// A KRB-ERROR code (RFC 4120 §7.5.9), serialised by name when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Krb5ErrorCode(pub i64);

impl Serialize for Krb5ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self.0 {
            6 => "KDC_ERR_C_PRINCIPAL_UNKNOWN",
            7 => "KDC_ERR_S_PRINCIPAL_UNKNOWN",
            12 => "KDC_ERR_POLICY",
            14 => "KDC_ERR_ETYPE_NOSUPP",
            18 => "KDC_ERR_CLIENT_REVOKED",
            23 => "KDC_ERR_KEY_EXPIRED",
            24 => "KDC_ERR_PREAUTH_FAILED",
            25 => "KDC_ERR_PREAUTH_REQUIRED",
            31 => "KRB_AP_ERR_BAD_INTEGRITY",
            32 => "KRB_AP_ERR_TKT_EXPIRED",
            37 => "KRB_AP_ERR_SKEW",
            41 => "KRB_AP_ERR_MODIFIED",
            52 => "KRB_ERR_RESPONSE_TOO_BIG",
            60 => "KRB_ERR_GENERIC",
            68 => "KDC_ERR_WRONG_REALM",
            n => return s.collect_str(&format_args!("{n}")),
        };
        s.serialize_str(name)
    }
}

/// Encryption type name (RFC 3961 §8, RFC 8009, RFC 4757), or the number.
pub fn etype_name(e: i64) -> String {
    match e {
        1 => "des-cbc-crc".into(),
        3 => "des-cbc-md5".into(),
        16 => "des3-cbc-sha1".into(),
        17 => "aes128-cts-hmac-sha1-96".into(),
        18 => "aes256-cts-hmac-sha1-96".into(),
        19 => "aes128-cts-hmac-sha256-128".into(),
        20 => "aes256-cts-hmac-sha384-192".into(),
        23 => "rc4-hmac".into(),
        24 => "rc4-hmac-exp".into(),
        25 => "camellia128-cts-cmac".into(),
        26 => "camellia256-cts-cmac".into(),
        n => format!("unknown-{n}"),
    }
}

/// DES and RC4 etypes (RFC 6649, RFC 8429 deprecate them).
fn weak(e: i64) -> bool {
    matches!(e, 1 | 2 | 3 | 23 | 24)
}

/// One KDC message (Suricata EVE `krb5`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Krb5Message {
    /// Message type.
    pub msg_type: Krb5MsgType,
    /// Client principal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cname: Option<String>,
    /// Realm (the request's realm, the reply's crealm, the error's realm).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// Server principal (for a reply: the ticket's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sname: Option<String>,
    /// KRB-ERROR code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Krb5ErrorCode>,
    /// The reply ticket's encryption type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<String>,
    /// The reply ticket is DES- or RC4-encrypted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub weak_encryption: bool,
    /// Encryption types a request offers, in preference order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub etypes: Vec<String>,
}

/// Builds the Kerberos parser (UDP datagrams or TCP length-prefixed).
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(Krb5Parser {
        tcp,
        dirs: Default::default(),
        malformed: 0,
    })
}

/// TCP framing state of one direction.
#[derive(Debug, Default)]
struct Framer {
    /// Length prefix bytes, then (when kept) the message.
    buf: Vec<u8>,
    /// Message bytes still to come (after the prefix).
    left: usize,
    /// The current message is too long and is being skipped.
    skipping: bool,
    stopped: bool,
}

/// Per-flow Kerberos parser; see the module documentation.
#[derive(Debug)]
pub struct Krb5Parser {
    tcp: bool,
    dirs: [Framer; 2],
    /// Messages that did not decode.
    pub malformed: u32,
}

/// One `[n]` context-tagged field: n, where the element inside the tag
/// starts, and that element.
type Field = (u8, usize, Tlv);

/// The context-tagged fields of the SEQUENCE whose content spans
/// `start..end`.
fn fields(data: &[u8], start: usize, end: usize) -> Vec<Field> {
    let mut v = Vec::new();
    let mut at = start;
    while at < end && v.len() < MAX_FIELDS {
        let Some(f) = tlv(data, at) else { break };
        if f.end > end {
            break;
        }
        if f.tag & 0xe0 == 0xa0 {
            if let Some(inner) = tlv(data, f.start) {
                v.push((f.tag & 0x1f, f.start, inner));
            }
        }
        at = f.end;
    }
    v
}

fn field(fs: &[Field], n: u8) -> Option<Tlv> {
    fs.iter().find(|(k, _, _)| *k == n).map(|(_, _, t)| *t)
}

/// The INTEGER in field `[n]`.
fn field_int(data: &[u8], fs: &[Field], n: u8) -> Option<i64> {
    let (_, pos, _) = fs.iter().find(|(k, _, _)| *k == n)?;
    int(data, *pos).map(|(v, _)| v)
}

/// The fields of the SEQUENCE `t` (or of the SEQUENCE inside it, for an
/// application-tagged wrapper).
fn seq_fields(data: &[u8], t: Tlv) -> Vec<Field> {
    if t.tag == 0x30 {
        fields(data, t.start, t.end)
    } else {
        tlv(data, t.start)
            .filter(|s| s.tag == 0x30)
            .map(|s| fields(data, s.start, s.end))
            .unwrap_or_default()
    }
}

fn string(data: &[u8], t: Tlv) -> Option<String> {
    let v = data.get(t.start..t.end)?;
    let v = v.get(..MAX_NAME_LEN).unwrap_or(v);
    Some(String::from_utf8_lossy(v).into_owned())
}

/// PrincipalName (§5.2.2): name-string components joined with `/`.
fn principal(data: &[u8], t: Tlv) -> Option<String> {
    let fs = seq_fields(data, t);
    let list = field(&fs, 1)?;
    let mut parts = Vec::new();
    let mut at = list.start;
    while at < list.end && parts.len() < MAX_COMPONENTS {
        let s = tlv(data, at)?;
        parts.push(string(data, s)?);
        at = s.end;
    }
    let mut name = parts.join("/");
    if name.len() > MAX_NAME_LEN {
        let mut cut = MAX_NAME_LEN;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    Some(name)
}

/// Parses one KDC message.
pub fn parse(data: &[u8]) -> Option<Krb5Message> {
    let outer = tlv(data, 0)?;
    if outer.tag & 0xe0 != 0x60 {
        return None;
    }
    let n = outer.tag & 0x1f;
    let msg_type = match n {
        10 => Krb5MsgType::AsReq,
        11 => Krb5MsgType::AsRep,
        12 => Krb5MsgType::TgsReq,
        13 => Krb5MsgType::TgsRep,
        30 => Krb5MsgType::Error,
        other => Krb5MsgType::Unknown(other),
    };
    let mut m = Krb5Message {
        msg_type,
        cname: None,
        realm: None,
        sname: None,
        error_code: None,
        encryption: None,
        weak_encryption: false,
        etypes: Vec::new(),
    };
    let fs = seq_fields(data, outer);
    match msg_type {
        Krb5MsgType::AsReq | Krb5MsgType::TgsReq => {
            if let Some(body) = field(&fs, 4) {
                let b = seq_fields(data, body);
                m.cname = field(&b, 1).and_then(|t| principal(data, t));
                m.realm = field(&b, 2).and_then(|t| string(data, t));
                m.sname = field(&b, 3).and_then(|t| principal(data, t));
                if let Some(list) = field(&b, 8) {
                    let mut at = list.start;
                    while at < list.end && m.etypes.len() < MAX_ETYPES {
                        let Some((e, next)) = int(data, at) else {
                            break;
                        };
                        m.etypes.push(etype_name(e));
                        at = next;
                    }
                }
            }
        }
        Krb5MsgType::AsRep | Krb5MsgType::TgsRep => {
            m.realm = field(&fs, 3).and_then(|t| string(data, t));
            m.cname = field(&fs, 4).and_then(|t| principal(data, t));
            if let Some(ticket) = field(&fs, 5) {
                let tf = seq_fields(data, ticket);
                m.sname = field(&tf, 2).and_then(|t| principal(data, t));
                let enc = field(&tf, 3).map(|t| seq_fields(data, t));
                let etype = enc.as_deref().and_then(|e| field_int(data, e, 0));
                if let Some(e) = etype {
                    m.encryption = Some(etype_name(e));
                    m.weak_encryption = weak(e);
                }
            }
        }
        Krb5MsgType::Error => {
            m.error_code = field_int(data, &fs, 6).map(Krb5ErrorCode);
            m.cname = field(&fs, 8).and_then(|t| principal(data, t));
            m.realm = field(&fs, 9).and_then(|t| string(data, t));
            m.sname = field(&fs, 10).and_then(|t| principal(data, t));
        }
        Krb5MsgType::Unknown(_) => {}
    }
    Some(m)
}

impl Krb5Parser {
    fn message(&mut self, m: &[u8], out: &mut Vec<AppRecord>) {
        match parse(m) {
            Some(k) => out.push(AppRecord::Krb5(k)),
            None => self.malformed = self.malformed.saturating_add(1),
        }
    }

    fn tcp_data(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        let d = dir.idx();
        while !bytes.is_empty() && !self.dirs[d].stopped {
            let f = &mut self.dirs[d];
            if f.left == 0 {
                let n = (4 - f.buf.len()).min(bytes.len());
                f.buf.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                let Some(len) = f.buf.first_chunk::<4>().map(|b| u32::from_be_bytes(*b)) else {
                    return;
                };
                f.buf.clear();
                // §7.2.2: the high bit is reserved (extensions); stop.
                if len & 0x8000_0000 != 0 {
                    f.stopped = true;
                    return;
                }
                f.left = len as usize;
                f.skipping = f.left > MAX_TCP_MSG;
                continue;
            }
            let n = f.left.min(bytes.len());
            if !f.skipping {
                f.buf.extend_from_slice(&bytes[..n]);
            }
            f.left -= n;
            bytes = &bytes[n..];
            if f.left == 0 {
                let m = std::mem::take(&mut f.buf);
                if !f.skipping {
                    self.message(&m, out);
                }
            }
        }
    }
}

impl AppParser for Krb5Parser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if self.tcp {
            self.tcp_data(dir, bytes, out);
        } else {
            self.message(bytes, out);
        }
    }

    fn gap(&mut self, dir: Direction) {
        let f = &mut self.dirs[dir.idx()];
        f.stopped = true;
        f.buf = Vec::new();
    }

    fn finish(&mut self, _out: &mut Vec<AppRecord>) {
        for f in &mut self.dirs {
            f.buf = Vec::new();
        }
    }
}

#[cfg(test)]
#[path = "krb5/tests.rs"]
mod tests;
