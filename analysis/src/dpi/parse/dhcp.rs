//! DHCP parser: one [`DhcpMessage`] per BOOTP/DHCP datagram.
//!
//! # Contract
//! - UDP only; for `tcp == true` [`new_parser`] returns a parser that
//!   ignores its input. Each datagram is one message (RFC 2131 §2): the
//!   236-byte fixed part, the magic cookie `63 82 53 63` (RFC 2131 §3),
//!   then options (RFC 2132) up to `end` (255) or the datagram's end.
//!   A datagram shorter than 240 bytes or without the cookie is not
//!   logged (counted in [`DhcpParser::malformed`]).
//! - Options are read once each (the first occurrence; RFC 3396
//!   concatenation and RFC 2131 §4.1 option overload into `sname`/`file`
//!   are not followed). An option whose length overruns the datagram ends
//!   the options. Unknown message types are kept as
//!   `DhcpType::Unknown(n)`.
//! - Logged (Suricata's EVE `dhcp` names): `type` (request/reply from
//!   `op`), `id` (xid), `client_mac` (when `htype` is Ethernet),
//!   `client_ip`, `assigned_ip`, `relay_ip`, `dhcp_type` (option 53),
//!   `requested_ip` (50), `hostname` (12), `vendor_class_identifier` (60),
//!   `params` (55, codes), `server_id` (54), `lease_time` (51),
//!   `subnet_mask` (1), `routers` (3), `dns_servers` (6). Names are capped
//!   at [`MAX_NAME_LEN`] bytes; address lists at [`MAX_ADDRS`].

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

/// Longest host name or vendor class kept, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Most addresses kept per list option.
pub const MAX_ADDRS: usize = 16;

/// Fixed part plus magic cookie (RFC 2131 §2, §3).
const OPTIONS_AT: usize = 240;
const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// DHCP message type, option 53 (RFC 2132 §9.6, RFC 4388 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhcpType {
    /// 1.
    Discover,
    /// 2.
    Offer,
    /// 3.
    Request,
    /// 4.
    Decline,
    /// 5.
    Ack,
    /// 6.
    Nak,
    /// 7.
    Release,
    /// 8.
    Inform,
    /// Any other value.
    Unknown(u8),
}

impl From<u8> for DhcpType {
    fn from(v: u8) -> Self {
        match v {
            1 => DhcpType::Discover,
            2 => DhcpType::Offer,
            3 => DhcpType::Request,
            4 => DhcpType::Decline,
            5 => DhcpType::Ack,
            6 => DhcpType::Nak,
            7 => DhcpType::Release,
            8 => DhcpType::Inform,
            n => DhcpType::Unknown(n),
        }
    }
}

impl Serialize for DhcpType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let name = match self {
            DhcpType::Discover => "discover",
            DhcpType::Offer => "offer",
            DhcpType::Request => "request",
            DhcpType::Decline => "decline",
            DhcpType::Ack => "ack",
            DhcpType::Nak => "nak",
            DhcpType::Release => "release",
            DhcpType::Inform => "inform",
            DhcpType::Unknown(n) => return s.collect_str(&format_args!("unknown_{n}")),
        };
        s.serialize_str(name)
    }
}

/// One DHCP message (Suricata EVE `dhcp`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DhcpMessage {
    /// `request` (op 1, BOOTREQUEST) or `reply` (op 2), else `unknown`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Transaction id (xid).
    pub id: u32,
    /// Client hardware address, for Ethernet (`htype` 1, `hlen` 6).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_mac: Option<String>,
    /// `ciaddr`.
    pub client_ip: Ipv4Addr,
    /// `yiaddr`.
    pub assigned_ip: Ipv4Addr,
    /// `giaddr`.
    pub relay_ip: Ipv4Addr,
    /// Option 53.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp_type: Option<DhcpType>,
    /// Option 50.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ip: Option<Ipv4Addr>,
    /// Option 12.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Option 60.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_class_identifier: Option<String>,
    /// Option 55: requested option codes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<u8>,
    /// Option 54.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<Ipv4Addr>,
    /// Option 51, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_time: Option<u32>,
    /// Option 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routers: Vec<Ipv4Addr>,
    /// Option 6.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<Ipv4Addr>,
}

/// Builds the DHCP parser; TCP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(DhcpParser {
        active: !tcp,
        malformed: 0,
    })
}

/// Per-flow DHCP parser; see the module documentation.
#[derive(Debug)]
pub struct DhcpParser {
    active: bool,
    /// Datagrams too short or without the magic cookie.
    pub malformed: u32,
}

fn ip_at(b: &[u8], off: usize) -> Option<Ipv4Addr> {
    Some(Ipv4Addr::from(*b.get(off..)?.first_chunk::<4>()?))
}

fn name(v: &[u8]) -> String {
    let v = v.get(..MAX_NAME_LEN).unwrap_or(v);
    // Some clients NUL-terminate (RFC 2132 §3.14 says they should not).
    let v = v.strip_suffix(b"\0").unwrap_or(v);
    String::from_utf8_lossy(v).into_owned()
}

fn addrs(v: &[u8]) -> Vec<Ipv4Addr> {
    v.chunks_exact(4)
        .take(MAX_ADDRS)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect()
}

/// Parses one DHCP datagram, or `None` when it is not one.
pub fn parse(b: &[u8]) -> Option<DhcpMessage> {
    if b.get(236..OPTIONS_AT)? != MAGIC {
        return None;
    }
    let (op, htype, hlen) = (*b.first()?, *b.get(1)?, *b.get(2)?);
    let mut m = DhcpMessage {
        kind: match op {
            1 => "request",
            2 => "reply",
            _ => "unknown",
        },
        id: u32::from_be_bytes(*b.get(4..)?.first_chunk::<4>()?),
        client_mac: None,
        client_ip: ip_at(b, 12)?,
        assigned_ip: ip_at(b, 16)?,
        relay_ip: ip_at(b, 24)?,
        dhcp_type: None,
        requested_ip: None,
        hostname: None,
        vendor_class_identifier: None,
        params: Vec::new(),
        server_id: None,
        lease_time: None,
        subnet_mask: None,
        routers: Vec::new(),
        dns_servers: Vec::new(),
    };
    if htype == 1 && hlen == 6 {
        let mac = b.get(28..34)?;
        let hex: Vec<String> = mac.iter().map(|x| format!("{x:02x}")).collect();
        m.client_mac = Some(hex.join(":"));
    }
    let mut at = OPTIONS_AT;
    while let Some(&code) = b.get(at) {
        match code {
            0 => {
                at += 1;
                continue;
            }
            255 => break,
            _ => {}
        }
        let Some(&len) = b.get(at + 1) else { break };
        let Some(v) = b.get(at + 2..at + 2 + usize::from(len)) else {
            break;
        };
        at += 2 + usize::from(len);
        match code {
            53 if m.dhcp_type.is_none() => m.dhcp_type = v.first().map(|&t| DhcpType::from(t)),
            50 if m.requested_ip.is_none() => m.requested_ip = ip_at(v, 0),
            12 if m.hostname.is_none() => m.hostname = Some(name(v)),
            60 if m.vendor_class_identifier.is_none() => {
                m.vendor_class_identifier = Some(name(v));
            }
            55 if m.params.is_empty() => m.params = v.to_vec(),
            54 if m.server_id.is_none() => m.server_id = ip_at(v, 0),
            51 if m.lease_time.is_none() => {
                m.lease_time = v.first_chunk::<4>().map(|x| u32::from_be_bytes(*x));
            }
            1 if m.subnet_mask.is_none() => m.subnet_mask = ip_at(v, 0),
            3 if m.routers.is_empty() => m.routers = addrs(v),
            6 if m.dns_servers.is_empty() => m.dns_servers = addrs(v),
            _ => {}
        }
    }
    Some(m)
}

impl AppParser for DhcpParser {
    fn data(&mut self, _dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.active {
            return;
        }
        match parse(bytes) {
            Some(m) => out.push(AppRecord::Dhcp(m)),
            None => self.malformed = self.malformed.saturating_add(1),
        }
    }

    fn gap(&mut self, _dir: Direction) {}

    fn finish(&mut self, _out: &mut Vec<AppRecord>) {}
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::dpi::parse::testutil::shared_convos;

    fn all(records: Vec<AppRecord>) -> Vec<DhcpMessage> {
        records
            .into_iter()
            .map(|r| match r {
                AppRecord::Dhcp(m) => m,
                other => panic!("not dhcp: {other:?}"),
            })
            .collect()
    }

    /// Every DHCP datagram of `ndpi__1kxun.pcap`; ground truth from
    /// `tshark -Y dhcp -T fields -e dhcp.id -e dhcp.option.dhcp
    /// -e dhcp.option.hostname -e dhcp.option.vendor_class_id …`.
    fn real() -> Vec<Vec<u8>> {
        shared_convos("ndpi__1kxun.pcap", 17)
            .into_iter()
            .filter(|(p, _)| *p == 67 || *p == 68)
            .flat_map(|(_, c)| c.into_iter().map(|(_, b)| b))
            .collect()
    }

    #[test]
    fn real_capture() {
        let grams = real();
        assert_eq!(grams.len(), 24);
        let mut p = new_parser(false);
        let mut out = Vec::new();
        for g in &grams {
            p.data(Direction::ToServer, g, &mut out);
        }
        let m = all(out);
        assert_eq!(m.len(), 24);
        let inform = m
            .iter()
            .find(|m| m.id == 0xfc0f_79d8 && m.kind == "request")
            .unwrap();
        assert_eq!(inform.dhcp_type, Some(DhcpType::Inform));
        assert_eq!(inform.hostname.as_deref(), Some("Joanna-PC"));
        assert_eq!(inform.vendor_class_identifier.as_deref(), Some("MSFT 5.0"));
        assert_eq!(inform.client_mac.as_deref(), Some("70:f1:a1:f8:2a:fd"));
        assert_eq!(inform.client_ip, Ipv4Addr::new(192, 168, 5, 9));
        assert_eq!(
            inform.params,
            [1, 15, 3, 6, 44, 46, 47, 31, 33, 121, 249, 43, 252]
        );
        let req = m.iter().find(|m| m.id == 0x060f_bf5b).unwrap();
        assert_eq!(req.dhcp_type, Some(DhcpType::Request));
        assert_eq!(req.requested_ip, Some(Ipv4Addr::new(192, 168, 3, 237)));
        assert_eq!(req.hostname.as_deref(), Some("Shen"));
        assert_eq!(req.lease_time, Some(7_776_000));
        let ack = m.iter().find(|m| m.id == 0xc091_2052).unwrap();
        assert_eq!((ack.kind, ack.dhcp_type), ("reply", Some(DhcpType::Ack)));
        assert_eq!(ack.assigned_ip, Ipv4Addr::new(192, 168, 5, 36));
        assert_eq!(ack.server_id, Some(Ipv4Addr::new(192, 168, 119, 1)));
        assert_eq!(ack.lease_time, Some(60));
        let disc = m.iter().find(|m| m.id == 0x3dd9_eb62).unwrap();
        assert_eq!(disc.hostname.as_deref(), Some("sanji-LIFEBOOK-LH531"));
        assert_eq!(serde_json::to_value(disc).unwrap()["dhcp_type"], "discover");
    }

    #[test]
    fn every_truncation_and_unknown_type() {
        for g in real() {
            for cut in 0..g.len() {
                let _ = parse(&g[..cut]);
            }
        }
        let mut b = vec![0u8; 240];
        b[0] = 7;
        b[236..240].copy_from_slice(&MAGIC);
        b.extend_from_slice(&[53, 1, 99, 12, 200, b'x', 255]);
        let m = parse(&b).unwrap();
        assert_eq!(
            (m.kind, m.dhcp_type),
            ("unknown", Some(DhcpType::Unknown(99)))
        );
        assert_eq!(m.hostname, None);
        assert_eq!(serde_json::to_value(&m).unwrap()["dhcp_type"], "unknown_99");
        assert!(parse(&b[..239]).is_none());
        b[236] = 0;
        assert!(parse(&b).is_none());
    }

    #[test]
    fn garbage_is_bounded() {
        let mut seed = 0x1234_5678u64;
        let mut p = new_parser(false);
        let mut out = Vec::new();
        for _ in 0..2000 {
            let mut buf = vec![0u8; 400];
            for b in &mut buf {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                *b = seed as u8;
            }
            buf[236..240].copy_from_slice(&MAGIC);
            p.data(Direction::ToClient, &buf, &mut out);
        }
        for m in all(out) {
            assert!(m.routers.len() <= MAX_ADDRS && m.params.len() <= 255);
        }
        let mut t = new_parser(true);
        let mut out = Vec::new();
        t.data(Direction::ToServer, &[0; 300], &mut out);
        assert!(out.is_empty());
    }
}
