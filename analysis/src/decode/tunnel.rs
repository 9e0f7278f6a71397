//! Overlay headers: VXLAN, Geneve and GRE (incl. PPTP's enhanced GRE and
//! ERSPAN). Each returns where the inner packet starts; the walker decides
//! what a failure means for the packet (see `walk`).
//!
//! `buf` is always cut at the end of the outer payload, so an inner decode
//! can never read the outer packet's trailer or padding.

use std::ops::Range;

use super::link::{self, be16, be32, LinkEnd};
use super::meta::TunnelKind;

/// UDP destination ports that carry VXLAN: IANA's 4789 (RFC 7348 §5) and
/// 8472, the Linux kernel's default (used by flannel and others).
pub(crate) const VXLAN_PORTS: [u16; 2] = [4789, 8472];
/// UDP destination port of Geneve (RFC 8926 §3.3).
pub(crate) const GENEVE_PORT: u16 = 6081;

/// Outcome of reading an overlay header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decap {
    /// Not this overlay after all (e.g. VXLAN's I flag clear): the outer
    /// packet is all there is.
    NotTunnel,
    /// The overlay header is malformed or truncated.
    Malformed,
    /// An inner packet follows.
    Inner {
        /// Which overlay.
        kind: TunnelKind,
        /// VNI, GRE key or PPTP call id (0 when absent).
        vni: u32,
        /// Where the inner link layer led.
        next: LinkEnd,
    },
}

/// VXLAN or Geneve carried in UDP to `dst_port`, payload `r`.
pub(crate) fn udp_overlay(buf: &[u8], dst_port: u16, r: Range<usize>) -> Decap {
    if VXLAN_PORTS.contains(&dst_port) {
        vxlan(buf, r)
    } else if dst_port == GENEVE_PORT {
        geneve(buf, r)
    } else {
        Decap::NotTunnel
    }
}

/// True when UDP to `dst_port` may carry an overlay.
pub(crate) fn is_overlay_port(dst_port: u16) -> bool {
    VXLAN_PORTS.contains(&dst_port) || dst_port == GENEVE_PORT
}

/// RFC 7348 §5: flags (I = 0x08), 24 reserved bits, 24-bit VNI, 8
/// reserved bits; an Ethernet frame follows.
fn vxlan(buf: &[u8], r: Range<usize>) -> Decap {
    let Some(h) = buf.get(r.start..r.start + 8) else {
        return Decap::Malformed;
    };
    if h[0] & 0x08 == 0 {
        // "I flag MUST be set to 1 for a valid VXLAN Network ID"; without
        // it this is some other protocol on the port.
        return Decap::NotTunnel;
    }
    Decap::Inner {
        kind: TunnelKind::Vxlan,
        vni: u32::from_be_bytes([0, h[4], h[5], h[6]]),
        next: link::ethernet(buf, r.start + 8, None),
    }
}

/// RFC 8926 §3.4: version (2 bits, must be 0), option length (6 bits, in
/// 4-byte words), flags, protocol type, 24-bit VNI, reserved; options
/// follow and are skipped.
fn geneve(buf: &[u8], r: Range<usize>) -> Decap {
    let Some(h) = buf.get(r.start..r.start + 8) else {
        return Decap::Malformed;
    };
    // "Packets received by a tunnel endpoint with an unknown version MUST be
    // dropped."
    if h[0] >> 6 != 0 {
        return Decap::Malformed;
    }
    let hlen = 8 + usize::from(h[0] & 0x3F) * 4;
    if r.len() < hlen {
        return Decap::Malformed;
    }
    let inner = r.start + hlen;
    let proto = u16::from_be_bytes([h[2], h[3]]);
    Decap::Inner {
        kind: TunnelKind::Geneve,
        vni: u32::from_be_bytes([0, h[4], h[5], h[6]]),
        next: if proto == TEB {
            link::ethernet(buf, inner, None)
        } else {
            link::ethertype(buf, inner, proto, None)
        },
    }
}

/// Transparent Ethernet bridging (an Ethernet frame follows).
const TEB: u16 = 0x6558;
/// ERSPAN type II (and type I when no sequence number is present).
const ERSPAN2: u16 = 0x88BE;
/// ERSPAN type III.
const ERSPAN3: u16 = 0x22EB;
/// PPP, as carried by PPTP.
const PPP: u16 = 0x880B;

/// GRE flag bits (RFC 2784 §2, RFC 2890 §2, RFC 1701 §2.1, RFC 2637 §4.1).
mod gre_flag {
    pub const CHECKSUM: u16 = 0x8000;
    pub const ROUTING: u16 = 0x4000;
    pub const KEY: u16 = 0x2000;
    pub const SEQ: u16 = 0x1000;
    pub const STRICT_ROUTE: u16 = 0x0800;
    pub const RECURSION: u16 = 0x0700;
    /// PPTP acknowledgment number present (version 1 only).
    pub const ACK: u16 = 0x0080;
    pub const VERSION: u16 = 0x0007;
}

/// GRE header at `r` (IP protocol 47).
pub(crate) fn gre(buf: &[u8], r: Range<usize>) -> Decap {
    let (Some(flags), Some(proto)) = (be16(buf, r.start), be16(buf, r.start + 2)) else {
        return Decap::Malformed;
    };
    if r.len() < 4 {
        return Decap::Malformed;
    }
    let mut hlen = 4usize;
    let vni;
    match flags & gre_flag::VERSION {
        0 => {
            // RFC 2784 §2.3: receivers not implementing RFC 1701 discard
            // packets with those bits set; source routing is long obsolete.
            if flags & (gre_flag::ROUTING | gre_flag::STRICT_ROUTE | gre_flag::RECURSION) != 0 {
                return Decap::Malformed;
            }
            if flags & gre_flag::CHECKSUM != 0 {
                hlen += 4;
            }
            vni = if flags & gre_flag::KEY != 0 {
                let k = be32(buf, r.start + hlen);
                hlen += 4;
                k.unwrap_or(0)
            } else {
                0
            };
            if flags & gre_flag::SEQ != 0 {
                hlen += 4;
            }
        }
        1 => {
            // RFC 2637 §4.1 enhanced GRE: C, R, s clear, K set, PPP inside;
            // the key is payload length (16) + call id (16). The call id is
            // the stable part, so it is the tunnel id.
            if flags & (gre_flag::CHECKSUM | gre_flag::ROUTING | gre_flag::STRICT_ROUTE) != 0
                || flags & gre_flag::KEY == 0
                || proto != PPP
            {
                return Decap::Malformed;
            }
            vni = u32::from(be16(buf, r.start + 6).unwrap_or(0));
            hlen += 4;
            if flags & gre_flag::SEQ != 0 {
                hlen += 4;
            }
            if flags & gre_flag::ACK != 0 {
                hlen += 4;
            }
        }
        _ => return Decap::Malformed,
    }
    if r.len() < hlen {
        return Decap::Malformed;
    }
    let p = r.start + hlen;
    let next = match proto {
        TEB => link::ethernet(buf, p, None),
        // ERSPAN type I has no header and no GRE sequence number; type II
        // has an 8-byte header whose version nibble is 1.
        ERSPAN2 if flags & gre_flag::SEQ == 0 => link::ethernet(buf, p, None),
        ERSPAN2 => match buf.get(p) {
            Some(b) if b >> 4 == 1 => link::ethernet(buf, p + 8, None),
            Some(_) => return Decap::Malformed,
            None => LinkEnd::Truncated,
        },
        // ERSPAN type III: 12-byte header, plus an 8-byte platform
        // subheader when the O flag (last bit) is set.
        ERSPAN3 => match buf.get(p + 11) {
            Some(b) if b & 1 == 1 => link::ethernet(buf, p + 20, None),
            Some(_) => link::ethernet(buf, p + 12, None),
            None => LinkEnd::Truncated,
        },
        // IPv4, IPv6, PPP, MPLS, ...: GRE's protocol type is an EtherType.
        et => link::ethertype(buf, p, et, None),
    };
    Decap::Inner {
        kind: TunnelKind::Gre,
        vni,
        next,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::link::L3;

    fn inner(d: Decap) -> (u32, LinkEnd) {
        match d {
            Decap::Inner { vni, next, .. } => (vni, next),
            other => panic!("not inner: {other:?}"),
        }
    }

    #[test]
    fn vxlan_header() {
        let mut p = vec![0x08, 0, 0, 0, 0x00, 0x12, 0x34, 0];
        p.extend_from_slice(&[0u8; 12]);
        p.extend_from_slice(&[0x08, 0x00, 0x45]);
        let (vni, next) = inner(udp_overlay(&p, 4789, 0..p.len()));
        assert_eq!(vni, 0x1234);
        assert_eq!(next, LinkEnd::Ip(L3::V4, 22));
        p[0] = 0;
        assert_eq!(udp_overlay(&p, 8472, 0..p.len()), Decap::NotTunnel);
        assert_eq!(udp_overlay(&p[..7], 4789, 0..7), Decap::Malformed);
        assert_eq!(udp_overlay(&p, 53, 0..p.len()), Decap::NotTunnel);
    }

    #[test]
    fn geneve_skips_options() {
        // One 4-byte option word, protocol IPv6.
        let p = [0x01, 0, 0x86, 0xDD, 0, 0, 7, 0, 1, 2, 3, 4, 0x60];
        let (vni, next) = inner(udp_overlay(&p, 6081, 0..p.len()));
        assert_eq!(vni, 7);
        assert_eq!(next, LinkEnd::Ip(L3::V6, 12));
        assert_eq!(udp_overlay(&p[..10], 6081, 0..10), Decap::Malformed);
        let bad_version = [0x40, 0, 0x86, 0xDD, 0, 0, 7, 0];
        assert_eq!(udp_overlay(&bad_version, 6081, 0..8), Decap::Malformed);
    }

    #[test]
    fn gre_v0_key_seq_checksum() {
        // C, K, S set: checksum+reserved, key 0xABCD, seq; then IPv4.
        let p = [
            0xB0, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 0, 0, 0, 1, 0x45,
        ];
        let (vni, next) = inner(gre(&p, 0..p.len()));
        assert_eq!(vni, 0xABCD);
        assert_eq!(next, LinkEnd::Ip(L3::V4, 16));
        assert_eq!(gre(&p[..10], 0..10), Decap::Malformed);
        let routing = [0x40, 0x00, 0x08, 0x00, 0x45];
        assert_eq!(gre(&routing, 0..5), Decap::Malformed);
        let v3 = [0x00, 0x03, 0x08, 0x00, 0x45];
        assert_eq!(gre(&v3, 0..5), Decap::Malformed);
    }

    #[test]
    fn gre_pptp_and_ppp() {
        // Version 1, K+S+A, call id 0x9850, PPP with address/control.
        let p = [
            0x30, 0x81, 0x88, 0x0B, 0x01, 0x4A, 0x98, 0x50, 0, 0, 0, 0x6A, 0, 0, 0, 0x8C, 0xFF,
            0x03, 0x00, 0x21, 0x45,
        ];
        let (vni, next) = inner(gre(&p, 0..p.len()));
        assert_eq!(vni, 0x9850);
        assert_eq!(next, LinkEnd::Ip(L3::V4, 20));
        // Version 0 carrying PPP with a compressed protocol field.
        let p0 = [0x00, 0x00, 0x88, 0x0B, 0x21, 0x45];
        assert_eq!(inner(gre(&p0, 0..6)).1, LinkEnd::Ip(L3::V4, 5));
    }

    #[test]
    fn gre_teb_and_erspan() {
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x86, 0xDD, 0x60]);
        let mut teb = vec![0x00, 0x00, 0x65, 0x58];
        teb.extend_from_slice(&eth);
        assert_eq!(inner(gre(&teb, 0..teb.len())).1, LinkEnd::Ip(L3::V6, 18));
        // ERSPAN II: S bit, seq, 8-byte header (version 1).
        let mut e2 = vec![
            0x10, 0x00, 0x88, 0xBE, 0, 0, 0, 5, 0x10, 0x01, 0, 0, 0, 0, 0, 0,
        ];
        e2.extend_from_slice(&eth);
        assert_eq!(inner(gre(&e2, 0..e2.len())).1, LinkEnd::Ip(L3::V6, 30));
        e2[8] = 0x20;
        assert_eq!(gre(&e2, 0..e2.len()), Decap::Malformed);
        // ERSPAN III without the platform subheader.
        let mut e3 = vec![0x10, 0x00, 0x22, 0xEB, 0, 0, 0, 5];
        e3.extend_from_slice(&[0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        e3.extend_from_slice(&eth);
        assert_eq!(inner(gre(&e3, 0..e3.len())).1, LinkEnd::Ip(L3::V6, 34));
    }
}
