//! SNMP parser: one [`SnmpMessage`] per datagram (v1, v2c, v3).
//!
//! # Contract
//! - UDP only; for `tcp == true` [`new_parser`] returns a parser that
//!   ignores its input. Each datagram is one BER `Message` (RFC 3417 §8);
//!   one that does not decode up to its PDU tag is not logged (counted in
//!   [`SnmpParser::malformed`]). Fields after a malformed one are left
//!   out, what came before is kept.
//! - v1/v2c (RFC 1157 §4, RFC 1901 §3): `community` is a cleartext
//!   credential and is logged as Suricata does (capped at
//!   [`MAX_NAME_LEN`]), with `community_seen: true` so detection can flag
//!   it without reading the value. Then the PDU: `pdu_type`, `request_id`,
//!   `error_status` (for GetBulk these are non-repeaters / max-repetitions,
//!   RFC 3416 §3, logged as they are), and the varbind OIDs (`vars`, at most
//!   [`MAX_VARS`]). v1 Trap-PDU (RFC 1157 §4.1.6): `trap_enterprise`,
//!   `trap_type` (generic-trap) and the varbinds.
//! - v3 (RFC 3412 §6, RFC 3414 §2.4): `usm` (the USM user name) and, when
//!   the scoped PDU is not encrypted (msgFlags privFlag clear), the PDU
//!   fields as above; `encrypted: true` otherwise.
//! - Unknown versions and PDU tags are kept as numbers
//!   (`SnmpPduType::Unknown(tag)`); names follow Suricata's EVE `snmp`
//!   (`version` 1/2/3, `pdu_type`, `vars`, `community`, `usm`).

use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord};
use crate::dpi::udp::ber::{int, oid_string, tlv};
use crate::flow::Direction;

/// Most varbind OIDs logged per message.
pub const MAX_VARS: usize = 64;
/// Longest community or user name kept, in bytes.
pub const MAX_NAME_LEN: usize = 256;

const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;

/// SNMP PDU type by context tag (RFC 3416 §3, RFC 1157 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnmpPduType {
    /// `0xa0`.
    GetRequest,
    /// `0xa1`.
    GetNextRequest,
    /// `0xa2`.
    Response,
    /// `0xa3`.
    SetRequest,
    /// `0xa4` (v1 only).
    TrapV1,
    /// `0xa5`.
    GetBulkRequest,
    /// `0xa6`.
    InformRequest,
    /// `0xa7`.
    TrapV2,
    /// `0xa8`.
    Report,
    /// Any other tag.
    Unknown(u8),
}

impl From<u8> for SnmpPduType {
    fn from(tag: u8) -> Self {
        match tag {
            0xa0 => SnmpPduType::GetRequest,
            0xa1 => SnmpPduType::GetNextRequest,
            0xa2 => SnmpPduType::Response,
            0xa3 => SnmpPduType::SetRequest,
            0xa4 => SnmpPduType::TrapV1,
            0xa5 => SnmpPduType::GetBulkRequest,
            0xa6 => SnmpPduType::InformRequest,
            0xa7 => SnmpPduType::TrapV2,
            0xa8 => SnmpPduType::Report,
            n => SnmpPduType::Unknown(n),
        }
    }
}

impl Serialize for SnmpPduType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            SnmpPduType::GetRequest => "get_request",
            SnmpPduType::GetNextRequest => "get_next_request",
            SnmpPduType::Response => "response",
            SnmpPduType::SetRequest => "set_request",
            SnmpPduType::TrapV1 => "trap_v1",
            SnmpPduType::GetBulkRequest => "get_bulk_request",
            SnmpPduType::InformRequest => "inform_request",
            SnmpPduType::TrapV2 => "trap_v2",
            SnmpPduType::Report => "report",
            SnmpPduType::Unknown(n) => return s.collect_str(&format_args!("unknown_0x{n:02x}")),
        };
        s.serialize_str(name)
    }
}

/// One SNMP message (Suricata EVE `snmp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnmpMessage {
    /// 1 (v1), 2 (v2c), 3 (v3), or the raw version field + 1 otherwise.
    pub version: i64,
    /// Community string (v1/v2c): a cleartext credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub community: Option<String>,
    /// A community string was sent.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub community_seen: bool,
    /// USM user name (v3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usm: Option<String>,
    /// The v3 scoped PDU is encrypted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// PDU type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdu_type: Option<SnmpPduType>,
    /// request-id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<i64>,
    /// error-status (0 = noError, RFC 3416 §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_status: Option<i64>,
    /// v1 trap enterprise OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap_enterprise: Option<String>,
    /// v1 generic-trap number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap_type: Option<i64>,
    /// Varbind OIDs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vars: Vec<String>,
    /// More than [`MAX_VARS`] varbinds, or a name over [`MAX_NAME_LEN`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

/// Builds the SNMP parser; TCP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(SnmpParser {
        active: !tcp,
        malformed: 0,
    })
}

/// Per-flow SNMP parser; see the module documentation.
#[derive(Debug)]
pub struct SnmpParser {
    active: bool,
    /// Datagrams that did not decode.
    pub malformed: u32,
}

/// An OCTET STRING at `pos` as capped text: (text, cut, end).
fn string(data: &[u8], pos: usize) -> Option<(String, bool, usize)> {
    let t = tlv(data, pos)?;
    if t.tag != OCTET_STRING {
        return None;
    }
    let v = data.get(t.start..t.end)?;
    let cut = v.get(..MAX_NAME_LEN).unwrap_or(v);
    Some((
        String::from_utf8_lossy(cut).into_owned(),
        cut.len() < v.len(),
        t.end,
    ))
}

/// Parses one SNMP datagram.
pub fn parse(data: &[u8]) -> Option<SnmpMessage> {
    let msg = tlv(data, 0)?;
    if msg.tag != SEQUENCE {
        return None;
    }
    let data = data.get(..msg.end)?;
    let (version, at) = int(data, msg.start)?;
    let mut m = SnmpMessage {
        version: version.saturating_add(1),
        ..Default::default()
    };
    // A field that does not decode ends the message; what came before
    // stays, as long as the PDU type was reached.
    if version == 3 {
        m.version = 3;
        let _ = v3(data, at, &mut m);
    } else {
        let (community, cut, at) = string(data, at)?;
        m.community = Some(community);
        m.community_seen = true;
        m.truncated |= cut;
        let _ = pdu(data, at, &mut m);
    }
    (m.pdu_type.is_some() || m.encrypted).then_some(m)
}

/// v3: HeaderData, security parameters (USM), scoped PDU (RFC 3412 §6).
fn v3(data: &[u8], at: usize, m: &mut SnmpMessage) -> Option<()> {
    let header = tlv(data, at)?;
    if header.tag != SEQUENCE {
        return None;
    }
    // msgID, msgMaxSize, msgFlags, msgSecurityModel.
    let (_, p) = int(data, header.start)?;
    let (_, p) = int(data, p)?;
    let flags = tlv(data, p)?;
    let priv_flag = data.get(flags.start).is_some_and(|f| f & 0x02 != 0);
    let sec = tlv(data, header.end)?;
    if sec.tag != OCTET_STRING {
        return None;
    }
    // UsmSecurityParameters (RFC 3414 §2.4): engineID, boots, time, user.
    if let Some(usm) = tlv(data, sec.start).filter(|t| t.tag == SEQUENCE) {
        let user = tlv(data, usm.start)
            .and_then(|e| int(data, e.end))
            .and_then(|(_, p)| int(data, p))
            .and_then(|(_, p)| string(data, p));
        if let Some((user, cut, _)) = user {
            m.usm = Some(user);
            m.truncated |= cut;
        }
    }
    let scoped = tlv(data, sec.end)?;
    if priv_flag || scoped.tag == OCTET_STRING {
        m.encrypted = true;
        return Some(());
    }
    // ScopedPDU: contextEngineID, contextName, data.
    let engine = tlv(data, scoped.start)?;
    let name = tlv(data, engine.end)?;
    pdu(data, name.end, m)
}

/// A PDU at `at`: its type, then what of its fields decodes.
fn pdu(data: &[u8], at: usize, m: &mut SnmpMessage) -> Option<()> {
    let p = tlv(data, at)?;
    let kind = SnmpPduType::from(p.tag);
    m.pdu_type = Some(kind);
    if matches!(kind, SnmpPduType::Unknown(_)) {
        return Some(());
    }
    let varbinds_at = if kind == SnmpPduType::TrapV1 {
        // enterprise, agent-addr, generic-trap, specific-trap, time-stamp.
        let ent = tlv(data, p.start).filter(|t| t.tag == OID);
        m.trap_enterprise = ent.and_then(|t| oid_string(data.get(t.start..t.end)?));
        let addr = tlv(data, ent?.end)?;
        let (generic, q) = int(data, addr.end)?;
        m.trap_type = Some(generic);
        let (_, q) = int(data, q)?;
        tlv(data, q)?.end
    } else {
        let (id, q) = int(data, p.start)?;
        m.request_id = Some(id);
        let (status, q) = int(data, q)?;
        m.error_status = Some(status);
        let (_, q) = int(data, q)?;
        q
    };
    let list = tlv(data, varbinds_at)?;
    if list.tag != SEQUENCE {
        return Some(());
    }
    let mut q = list.start;
    while q < list.end {
        let vb = tlv(data, q)?;
        q = vb.end;
        if m.vars.len() >= MAX_VARS {
            m.truncated = true;
            break;
        }
        let name = tlv(data, vb.start).filter(|t| t.tag == OID)?;
        if let Some(oid) = oid_string(data.get(name.start..name.end)?) {
            m.vars.push(oid);
        }
    }
    Some(())
}

impl AppParser for SnmpParser {
    fn data(&mut self, _dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.active {
            return;
        }
        match parse(bytes) {
            Some(m) => out.push(AppRecord::Snmp(m)),
            None => self.malformed = self.malformed.saturating_add(1),
        }
    }

    fn gap(&mut self, _dir: Direction) {}

    fn finish(&mut self, _out: &mut Vec<AppRecord>) {}
}

#[cfg(test)]
#[path = "snmp/tests.rs"]
mod tests;
