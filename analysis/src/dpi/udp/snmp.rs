//! SNMP v1, v2c and v3 (RFC 1157 §4, RFC 3416, RFC 3412 §6).
//!
//! Contract: `Match` when the datagram is exactly one BER `Message`
//! SEQUENCE (`0x30`, length covering the datagram, RFC 3417 §8: one message
//! per datagram) whose first field is the INTEGER version 0 (v1), 1 (v2c)
//! or 3 (v3), and then:
//! - v1/v2c (RFC 1901 §3): an OCTET STRING community, then a PDU whose tag
//!   is valid for that version (v1: `0xa0`–`0xa4`; v2c: `0xa0`–`0xa3`,
//!   `0xa5`–`0xa8`, RFC 3416 §3) and whose length ends the datagram, and
//!   which starts with the fields of that PDU (request-id, error-status,
//!   error-index INTEGERs and a varbind SEQUENCE; for the v1 Trap an
//!   enterprise OID and a 4-byte IpAddress, RFC 1157 §4.1.6);
//! - v3 (RFC 3412 §6): a `HeaderData` SEQUENCE of msgID, msgMaxSize,
//!   one-octet msgFlags and msgSecurityModel, an OCTET STRING of security
//!   parameters and a scoped PDU (SEQUENCE) or encrypted PDU (OCTET STRING)
//!   ending the datagram.
//!
//! Reasons: SNMP has no magic number, so every length must nest exactly
//! and the first fields of each level must have the right tags.

use super::ber::{small_int, tlv};
use crate::dpi::{AppProto, Descriptor, Probe};
use crate::flow::Direction;

/// The SNMP descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Snmp,
    ports: &[161, 162],
    probe,
};

/// BER universal tags used here (X.690 §8.4).
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
/// `IpAddress ::= [APPLICATION 0] IMPLICIT OCTET STRING (SIZE (4))`.
const IP_ADDRESS: u8 = 0x40;
/// v1 `Trap-PDU` tag (RFC 1157 §4.1.6).
const TRAP_V1: u8 = 0xa4;

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    Probe::decided(matches(data))
}

fn matches(data: &[u8]) -> bool {
    let Some(msg) = tlv(data, 0) else {
        return false;
    };
    if msg.tag != SEQUENCE || msg.end != data.len() {
        return false;
    }
    match small_int(data, msg.start) {
        Some((v @ (0 | 1), next)) => community_message(data, next, v),
        Some((3, next)) => v3_message(data, next),
        _ => false,
    }
}

/// v1/v2c: `community OCTET STRING, data PDUs` (RFC 1157 §4, RFC 1901 §3).
fn community_message(data: &[u8], pos: usize, version: u8) -> bool {
    let Some(community) = tlv(data, pos) else {
        return false;
    };
    if community.tag != OCTET_STRING {
        return false;
    }
    let Some(pdu) = tlv(data, community.end) else {
        return false;
    };
    let tag_ok = match version {
        0 => (0xa0..=0xa4).contains(&pdu.tag),
        _ => (0xa0..=0xa8).contains(&pdu.tag) && pdu.tag != TRAP_V1,
    };
    if !tag_ok || pdu.end != data.len() {
        return false;
    }
    if pdu.tag == TRAP_V1 {
        // enterprise OBJECT IDENTIFIER, agent-addr NetworkAddress.
        let Some(ent) = tlv(data, pdu.start) else {
            return false;
        };
        let Some(addr) = tlv(data, ent.end) else {
            return false;
        };
        return ent.tag == OID && addr.tag == IP_ADDRESS && addr.end - addr.start == 4;
    }
    // request-id, error-status, error-index INTEGERs, then VarBindList.
    let mut pos = pdu.start;
    for _ in 0..3 {
        match tlv(data, pos) {
            Some(t) if t.tag == INTEGER && (1..=5).contains(&(t.end - t.start)) => pos = t.end,
            _ => return false,
        }
    }
    matches!(tlv(data, pos), Some(t) if t.tag == SEQUENCE && t.end == pdu.end)
}

/// v3: `msgGlobalData HeaderData, msgSecurityParameters OCTET STRING,
/// msgData ScopedPduData` (RFC 3412 §6).
fn v3_message(data: &[u8], pos: usize) -> bool {
    let Some(header) = tlv(data, pos) else {
        return false;
    };
    if header.tag != SEQUENCE {
        return false;
    }
    // msgID, msgMaxSize INTEGERs (RFC 3412 §6.2, §6.3).
    let mut p = header.start;
    for _ in 0..2 {
        match tlv(data, p) {
            Some(t) if t.tag == INTEGER && (1..=5).contains(&(t.end - t.start)) => p = t.end,
            _ => return false,
        }
    }
    // msgFlags OCTET STRING (SIZE(1)) (§6.4).
    match tlv(data, p) {
        Some(t) if t.tag == OCTET_STRING && t.end - t.start == 1 => p = t.end,
        _ => return false,
    }
    // msgSecurityModel INTEGER (1..2147483647) (§6.5), closing HeaderData.
    match tlv(data, p) {
        Some(t)
            if t.tag == INTEGER && (1..=5).contains(&(t.end - t.start)) && t.end == header.end => {}
        _ => return false,
    }
    let Some(sec) = tlv(data, header.end) else {
        return false;
    };
    if sec.tag != OCTET_STRING {
        return false;
    }
    matches!(tlv(data, sec.end), Some(t) if (t.tag == SEQUENCE || t.tag == OCTET_STRING) && t.end == data.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dpi::udp::test_util::{assert_prefixes_rejected, hex};

    /// net-snmp `snmpget -v2c -c public host sysDescr.0`.
    const V2C_GET: &str =
        "302902010104067075626c6963a01c02041d2a5c4e020100020100300e300c06082b060102010101000500";
    /// The agent's GetResponse: sysDescr.0 = "Linux".
    const V2C_RESPONSE: &str =
        "302e02010104067075626c6963a22102041d2a5c4e0201000201003013301106082b\
        0601020101010004054c696e7578";
    /// SNMPv1 coldStart trap (enterprise 1.3.6.1.4.1.8072.3.2.10, agent
    /// 10.0.0.1, generic 0, specific 0, uptime 0, no varbinds).
    const V1_TRAP: &str =
        "302a02010004067075626c6963a41d060a2b06010401bf0803020a40040a0000010201000201004301003000";
    /// net-snmp v3 engine-ID discovery (empty USM parameters,
    /// noAuthNoPriv, reportable).
    const V3_DISCOVERY: &str =
        "303a020103300f02024a69020300ffe30401040201030410300e04000201000201000400\
        040004003012040004 00a00c020237f00201000201003000";

    fn all() -> [Vec<u8>; 4] {
        [
            hex(V2C_GET),
            hex(V2C_RESPONSE),
            hex(V1_TRAP),
            hex(V3_DISCOVERY),
        ]
    }

    #[test]
    fn matches_each_version() {
        assert_eq!(probe(Direction::ToServer, &hex(V2C_GET)), Probe::Match);
        assert_eq!(probe(Direction::ToClient, &hex(V2C_RESPONSE)), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &hex(V1_TRAP)), Probe::Match);
        assert_eq!(probe(Direction::ToServer, &hex(V3_DISCOVERY)), Probe::Match);
    }

    #[test]
    fn truncations_are_rejected() {
        for d in all() {
            assert_prefixes_rejected(probe, &d);
        }
    }

    #[test]
    fn near_misses_are_rejected() {
        for d in all() {
            let mut longer = d.clone();
            longer.push(0);
            assert_eq!(probe(Direction::ToServer, &longer), Probe::NotMine);
        }
        let get = hex(V2C_GET);
        // Version 2 does not exist on the wire.
        let mut d = get.clone();
        d[4] = 2;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // GetBulk is not a v1 PDU.
        let mut d = get.clone();
        d[4] = 0;
        d[13] = 0xa5;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // A v1 trap tag in a v2c message.
        let mut d = hex(V1_TRAP);
        d[4] = 1;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // Community that is not an OCTET STRING.
        let mut d = get.clone();
        d[5] = 0x02;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // request-id that is not an INTEGER.
        let mut d = get.clone();
        d[15] = 0x04;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
        // v3 msgFlags of two octets (the header no longer closes right).
        let mut d = hex(V3_DISCOVERY);
        d[17] = 2;
        assert_eq!(probe(Direction::ToServer, &d), Probe::NotMine);
    }
}
