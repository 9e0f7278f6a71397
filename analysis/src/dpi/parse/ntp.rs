//! NTP parser: one [`NtpMessage`] per datagram.
//!
//! # Contract
//! - UDP only; for `tcp == true` [`new_parser`] returns a parser that
//!   ignores its input. Every datagram of at least one byte is logged
//!   with its `version` and `mode` (the first byte, RFC 5905 §7.3) and its
//!   `length` (amplification replies are large).
//! - Modes 1–5 (48-byte header, RFC 5905 §7.3): `stratum`, `poll`,
//!   `precision` and the reference id: the 4-letter kiss code for stratum
//!   0 (`kiss_code`, §7.4) or the reference clock name for stratum 1
//!   (`reference_id`); for stratum ≥ 2 the IPv4 address form of the id.
//!   A datagram under 48 bytes keeps only version and mode.
//! - Mode 6, control messages (RFC 9327 §2): `opcode`, `response`,
//!   `sequence`, `association_id`. Mode 7, ntpd private messages
//!   (`ntp_request.h`): `response`, `implementation`, `request_code`
//!   (42 = `MON_GETLIST_1`, the "monlist" of CVE-2013-5211). Deciding that
//!   a request is abuse is detection's job.
//! - The 3-bit mode has no unknown values (0 is `reserved`); unknown
//!   opcodes and request codes are kept as numbers.

use std::net::Ipv4Addr;

use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

/// NTP header length (RFC 5905 §7.3).
const HEADER_LEN: usize = 48;

/// Association mode (RFC 5905 §7.3, Figure 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NtpMode {
    /// 0.
    Reserved,
    /// 1.
    SymmetricActive,
    /// 2.
    SymmetricPassive,
    /// 3.
    Client,
    /// 4.
    Server,
    /// 5.
    Broadcast,
    /// 6: NTP control message (RFC 9327).
    Control,
    /// 7: reserved for private use (ntpd `ntpdc` requests).
    Private,
}

impl NtpMode {
    fn from_bits(v: u8) -> Self {
        match v & 7 {
            1 => NtpMode::SymmetricActive,
            2 => NtpMode::SymmetricPassive,
            3 => NtpMode::Client,
            4 => NtpMode::Server,
            5 => NtpMode::Broadcast,
            6 => NtpMode::Control,
            7 => NtpMode::Private,
            _ => NtpMode::Reserved,
        }
    }
}

/// One NTP datagram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NtpMessage {
    /// Version number (VN).
    pub version: u8,
    /// Mode.
    pub mode: NtpMode,
    /// Datagram length in bytes.
    pub length: usize,
    /// Stratum (modes 1–5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stratum: Option<u8>,
    /// Poll exponent, log2 seconds (modes 1–5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll: Option<i8>,
    /// Precision exponent, log2 seconds (modes 1–5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<i8>,
    /// Stratum 0: the kiss code (`RATE`, `DENY`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kiss_code: Option<String>,
    /// Stratum 1: reference clock name; stratum ≥ 2: IPv4 form of the id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_id: Option<String>,
    /// Mode 6 opcode (RFC 9327 §2.1), 0–31.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<u8>,
    /// Mode 6/7: the response bit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<bool>,
    /// Mode 6 sequence number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u16>,
    /// Mode 6 association id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association_id: Option<u16>,
    /// Mode 7 implementation number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation: Option<u8>,
    /// Mode 7 request code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_code: Option<u8>,
}

/// Builds the NTP parser; TCP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(NtpParser { active: !tcp })
}

/// Per-flow NTP parser; see the module documentation.
#[derive(Debug)]
pub struct NtpParser {
    active: bool,
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(*b.get(off..)?.first_chunk::<2>()?))
}

fn ascii_id(id: &[u8]) -> String {
    id.iter()
        .take_while(|&&c| c != 0)
        .map(|&c| {
            if c.is_ascii_graphic() {
                char::from(c)
            } else {
                '?'
            }
        })
        .collect()
}

/// Parses one datagram; `None` only when it is empty.
pub fn parse(b: &[u8]) -> Option<NtpMessage> {
    let first = *b.first()?;
    let mode = NtpMode::from_bits(first);
    let mut m = NtpMessage {
        version: (first >> 3) & 7,
        mode,
        length: b.len(),
        stratum: None,
        poll: None,
        precision: None,
        kiss_code: None,
        reference_id: None,
        opcode: None,
        response: None,
        sequence: None,
        association_id: None,
        implementation: None,
        request_code: None,
    };
    match mode {
        NtpMode::Control => {
            // RFC 9327 §2.1: R E M opcode, sequence, status, assoc id.
            if let Some(&op) = b.get(1) {
                m.response = Some(op & 0x80 != 0);
                m.opcode = Some(op & 0x1f);
            }
            m.sequence = be16(b, 2);
            m.association_id = be16(b, 6);
        }
        NtpMode::Private => {
            // ntp_request.h: R M VN mode, A sequence, implementation, request.
            m.response = Some(first & 0x80 != 0);
            m.implementation = b.get(2).copied();
            m.request_code = b.get(3).copied();
        }
        _ if b.len() >= HEADER_LEN => {
            let stratum = *b.get(1)?;
            m.stratum = Some(stratum);
            m.poll = b.get(2).map(|&p| p as i8);
            m.precision = b.get(3).map(|&p| p as i8);
            let id = b.get(12..16)?;
            match stratum {
                0 => m.kiss_code = Some(ascii_id(id)),
                1 => m.reference_id = Some(ascii_id(id)),
                _ => m.reference_id = Some(Ipv4Addr::new(id[0], id[1], id[2], id[3]).to_string()),
            }
        }
        _ => {}
    }
    Some(m)
}

impl AppParser for NtpParser {
    fn data(&mut self, _dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if self.active {
            if let Some(m) = parse(bytes) {
                out.push(AppRecord::Ntp(m));
            }
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

    /// The one NTP datagram of `ndpi__1kxun.pcap`: tshark `ntp.flags.vn`
    /// 4, `ntp.flags.mode` 3, `ntp.stratum` 2.
    #[test]
    fn real_capture() {
        let grams: Vec<Vec<u8>> = shared_convos("ndpi__1kxun.pcap", 17)
            .into_iter()
            .filter(|(p, _)| *p == 123)
            .flat_map(|(_, c)| c.into_iter().map(|(_, b)| b))
            .collect();
        assert_eq!(grams.len(), 1);
        let mut p = new_parser(false);
        let mut out = Vec::new();
        p.data(Direction::ToServer, &grams[0], &mut out);
        let [AppRecord::Ntp(m)] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(
            (m.version, m.mode, m.stratum),
            (4, NtpMode::Client, Some(2))
        );
        assert_eq!(m.length, 48);
        for cut in 0..grams[0].len() {
            let _ = parse(&grams[0][..cut]);
        }
    }

    #[test]
    fn monlist_control_and_kiss() {
        // ntpdc monlist request: R=0 M=0 VN=2 mode 7, impl 3 (XNTPD), req 42.
        let mut req = vec![0x17, 0x00, 0x03, 0x2a];
        req.resize(48, 0);
        let m = parse(&req).unwrap();
        assert_eq!(
            (m.mode, m.request_code, m.implementation),
            (NtpMode::Private, Some(42), Some(3))
        );
        assert_eq!(m.response, Some(false));
        // ntpq readvar (opcode 2), sequence 1.
        let m = parse(&[0x16, 0x02, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            (m.mode, m.opcode, m.sequence),
            (NtpMode::Control, Some(2), Some(1))
        );
        let mut kod = vec![0x24, 0x00, 0x06, 0xec];
        kod.resize(48, 0);
        kod[12..16].copy_from_slice(b"RATE");
        let m = parse(&kod).unwrap();
        assert_eq!(
            (m.mode, m.kiss_code.as_deref()),
            (NtpMode::Server, Some("RATE"))
        );
        assert_eq!(m.precision, Some(-20));
        // Mode 0 and short datagrams.
        let m = parse(&[0x20]).unwrap();
        assert_eq!((m.mode, m.stratum), (NtpMode::Reserved, None));
        assert!(parse(&[]).is_none());
        assert_eq!(
            serde_json::to_value(parse(&req).unwrap()).unwrap()["mode"],
            "private"
        );
    }

    #[test]
    fn garbage_is_bounded() {
        let mut p = new_parser(false);
        let mut out = Vec::new();
        for i in 0..=255u8 {
            let mut b = vec![i; usize::from(i)];
            b.push(i.wrapping_mul(7));
            p.data(Direction::ToClient, &b, &mut out);
        }
        assert_eq!(out.len(), 256);
        let mut tcp = new_parser(true);
        tcp.data(Direction::ToClient, &[0x1b; 48], &mut out);
        assert_eq!(out.len(), 256);
    }
}
