//! Link layers: from a frame's first byte to the start of its network layer.
//!
//! Every function here takes the whole buffer and an absolute offset and
//! returns an absolute offset, so callers never re-base ranges. Nothing
//! here records anomalies: the caller knows whether a short header is a
//! truncated frame ([`DecodeAnomaly::TruncatedLink`]) or a malformed
//! overlay ([`DecodeAnomaly::TunnelMalformed`]).
//!
//! Tag stacks (802.1Q/802.1ad, MPLS labels) are walked to any depth: each
//! entry consumes four bytes, so the walk is bounded by the frame length.
//!
//! [`DecodeAnomaly::TruncatedLink`]: super::DecodeAnomaly::TruncatedLink
//! [`DecodeAnomaly::TunnelMalformed`]: super::DecodeAnomaly::TunnelMalformed

use osprey_capture::LinkType;

use super::meta::VlanStack;

/// Which network protocol starts at the returned offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum L3 {
    /// IPv4 (the version nibble is still checked).
    V4,
    /// IPv6 (the version nibble is still checked).
    V6,
    /// Either; the version nibble decides (raw IP, MPLS, reassembled data).
    Any,
}

/// Where a link layer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkEnd {
    /// An IP packet starts at this absolute offset.
    Ip(L3, usize),
    /// A well-formed frame that does not carry IP (ARP, LLDP, LCP, ...).
    NotIp,
    /// The frame ends inside a link-layer header.
    Truncated,
}

/// EtherType / PPP / GRE protocol numbers used here.
mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const IPV6: u16 = 0x86DD;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88A8;
    /// Pre-standard Q-in-Q tag types still seen in the wild.
    pub const QINQ_OLD1: u16 = 0x9100;
    pub const QINQ_OLD2: u16 = 0x9200;
    pub const PPPOE_SESSION: u16 = 0x8864;
    pub const PPP: u16 = 0x880B;
    pub const MPLS_UNICAST: u16 = 0x8847;
    pub const MPLS_MULTICAST: u16 = 0x8848;
}

/// Length of an Ethernet II header (no FCS; captures rarely include it).
const ETH_LEN: usize = 14;
/// Linux cooked capture v1 header length.
const SLL_LEN: usize = 16;
/// Linux cooked capture v2 header length.
const SLL2_LEN: usize = 20;

/// Big-endian u16 at `off`, if present.
pub(crate) fn be16(buf: &[u8], off: usize) -> Option<u16> {
    let b = buf.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

/// Big-endian u32 at `off`, if present.
pub(crate) fn be32(buf: &[u8], off: usize) -> Option<u32> {
    let b = buf.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Decode the link layer of a frame of type `link`; `None` when the link
/// type is not supported. VLAN ids of the outermost Ethernet header go to
/// `vlans`.
pub(crate) fn parse_link(link: LinkType, data: &[u8], vlans: &mut VlanStack) -> Option<LinkEnd> {
    let end = match link.0 {
        // LINKTYPE_ETHERNET
        1 => ethernet(data, 0, Some(vlans)),
        // LINKTYPE_NULL (host byte order) and LINKTYPE_LOOP (network order);
        // both are accepted in either order, as writers get this wrong.
        0 | 108 => null_loop(data),
        // LINKTYPE_LINUX_SLL: protocol (an EtherType for IP) at 14..16.
        113 => match be16(data, 14) {
            Some(proto) if data.len() >= SLL_LEN => ethertype(data, SLL_LEN, proto, Some(vlans)),
            _ => LinkEnd::Truncated,
        },
        // LINKTYPE_LINUX_SLL2: protocol at 0..2, 20-byte header.
        276 => match be16(data, 0) {
            Some(proto) if data.len() >= SLL2_LEN => ethertype(data, SLL2_LEN, proto, Some(vlans)),
            _ => LinkEnd::Truncated,
        },
        // LINKTYPE_RAW, and DLT_RAW's historical values 12 and 14.
        101 | 12 | 14 => LinkEnd::Ip(L3::Any, 0),
        228 => LinkEnd::Ip(L3::V4, 0),
        229 => LinkEnd::Ip(L3::V6, 0),
        _ => return None,
    };
    Some(end)
}

/// Ethernet II (or 802.3 + LLC/SNAP) header at `off`.
pub(crate) fn ethernet(data: &[u8], off: usize, vlans: Option<&mut VlanStack>) -> LinkEnd {
    let Some(et) = be16(data, off + 12) else {
        return LinkEnd::Truncated;
    };
    let off = off + ETH_LEN;
    if et >= 0x0600 {
        return ethertype(data, off, et, vlans);
    }
    // IEEE 802.3 length field: LLC follows. Only SNAP with the zero OUI
    // (RFC 1042 encapsulation) carries an EtherType.
    match data.get(off..off + 8) {
        Some([0xAA, 0xAA, 0x03, 0, 0, 0, hi, lo]) => {
            ethertype(data, off + 8, u16::from_be_bytes([*hi, *lo]), vlans)
        }
        _ => LinkEnd::NotIp,
    }
}

/// Dispatch on an EtherType whose payload starts at `off`: VLAN tags,
/// PPPoE session, PPP and MPLS are walked; IPv4/IPv6 end the walk.
/// `vlans` is `None` inside overlays, whose inner tags are ignored.
pub(crate) fn ethertype(
    data: &[u8],
    mut off: usize,
    mut et: u16,
    mut vlans: Option<&mut VlanStack>,
) -> LinkEnd {
    loop {
        match et {
            ethertype::IPV4 => return LinkEnd::Ip(L3::V4, off),
            ethertype::IPV6 => return LinkEnd::Ip(L3::V6, off),
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD1 | ethertype::QINQ_OLD2 => {
                // 802.1Q tag: TCI (PCP 3, DEI 1, VID 12) then the next type.
                let (Some(tci), Some(next)) = (be16(data, off), be16(data, off + 2)) else {
                    return LinkEnd::Truncated;
                };
                if let Some(v) = vlans.as_deref_mut() {
                    push_vlan(v, tci & 0x0FFF);
                }
                et = next;
                off += 4;
            }
            ethertype::PPPOE_SESSION => {
                // RFC 2516 §4: ver/type 0x11, code 0x00 in session stage,
                // session id, length; then the PPP protocol field.
                let Some(hdr) = data.get(off..off + 6) else {
                    return LinkEnd::Truncated;
                };
                if hdr[0] != 0x11 || hdr[1] != 0x00 {
                    return LinkEnd::NotIp;
                }
                return ppp(data, off + 6);
            }
            ethertype::PPP => return ppp(data, off),
            ethertype::MPLS_UNICAST | ethertype::MPLS_MULTICAST => return mpls(data, off),
            _ => return LinkEnd::NotIp,
        }
    }
}

/// Record one VLAN id, keeping the outermost two (RFC-less, IEEE 802.1ad:
/// the S-tag comes first on the wire).
fn push_vlan(v: &mut VlanStack, id: u16) {
    if let Some(slot) = v.ids.get_mut(usize::from(v.len)) {
        *slot = id;
    }
    v.len = v.len.saturating_add(1).min(2);
}

/// PPP frame at `off`: optional address/control bytes `FF 03` (absent when
/// negotiated away, RFC 1662 §3.2 ACFC) and a one- or two-byte protocol
/// (RFC 1661 §6.5 PFC: a protocol with an odd first byte is one byte long).
pub(crate) fn ppp(data: &[u8], mut off: usize) -> LinkEnd {
    if data.get(off..off + 2) == Some(&[0xFF, 0x03]) {
        off += 2;
    }
    let Some(&first) = data.get(off) else {
        return LinkEnd::Truncated;
    };
    let proto = if first & 1 == 1 {
        off += 1;
        u16::from(first)
    } else {
        let Some(p) = be16(data, off) else {
            return LinkEnd::Truncated;
        };
        off += 2;
        p
    };
    match proto {
        0x0021 => LinkEnd::Ip(L3::V4, off),
        0x0057 => LinkEnd::Ip(L3::V6, off),
        0x0281 => mpls(data, off),
        _ => LinkEnd::NotIp,
    }
}

/// MPLS label stack at `off` (RFC 3032 §2.1: 4-byte entries, S bit marks
/// the bottom). The payload type is not signalled, so it is guessed from
/// the first nibble as every analyser does: 4/6 is IP, 0 is the RFC 4385
/// pseudowire control word before an Ethernet frame (RFC 4448).
fn mpls(data: &[u8], mut off: usize) -> LinkEnd {
    loop {
        let Some(entry) = be32(data, off) else {
            return LinkEnd::Truncated;
        };
        off += 4;
        if entry & 0x100 != 0 {
            break;
        }
    }
    match data.get(off).map(|b| b >> 4) {
        Some(4) => LinkEnd::Ip(L3::V4, off),
        Some(6) => LinkEnd::Ip(L3::V6, off),
        Some(0) => ethernet(data, off + 4, None),
        Some(_) => LinkEnd::NotIp,
        None => LinkEnd::Truncated,
    }
}

/// BSD NULL / OpenBSD LOOP: a 4-byte address family. Values below 2^16
/// are read in whichever byte order makes them small. AF_INET is 2
/// everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD) or 30 (macOS).
fn null_loop(data: &[u8]) -> LinkEnd {
    let Some(b) = data.get(0..4) else {
        return LinkEnd::Truncated;
    };
    let le = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let family = if le > 0xFFFF { le.swap_bytes() } else { le };
    match family {
        2 => LinkEnd::Ip(L3::V4, 4),
        24 | 28 | 30 => LinkEnd::Ip(L3::V6, 4),
        _ => LinkEnd::NotIp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(et: u16, rest: &[u8]) -> Vec<u8> {
        let mut v = vec![0u8; 12];
        v.extend_from_slice(&et.to_be_bytes());
        v.extend_from_slice(rest);
        v
    }

    #[test]
    fn plain_ethernet_ipv4_and_ipv6() {
        let mut vl = VlanStack::default();
        assert_eq!(
            ethernet(&eth(0x0800, &[0x45]), 0, Some(&mut vl)),
            LinkEnd::Ip(L3::V4, 14)
        );
        assert_eq!(
            ethernet(&eth(0x86DD, &[0x60]), 0, Some(&mut vl)),
            LinkEnd::Ip(L3::V6, 14)
        );
        assert_eq!(vl.len, 0);
        assert_eq!(ethernet(&eth(0x0806, &[]), 0, None), LinkEnd::NotIp);
        assert_eq!(ethernet(&[0u8; 13], 0, None), LinkEnd::Truncated);
    }

    #[test]
    fn vlan_stack_keeps_outer_two() {
        // 802.1ad S-tag 100, C-tag 200, third tag 300, then IPv4.
        let tags = [
            0x00, 100, 0x81, 0x00, //
            0x00, 200, 0x91, 0x00, //
            0x01, 0x2C, 0x08, 0x00, //
            0x45,
        ];
        let mut vl = VlanStack::default();
        let end = ethernet(&eth(0x88A8, &tags), 0, Some(&mut vl));
        assert_eq!(end, LinkEnd::Ip(L3::V4, 26));
        assert_eq!(vl.ids, [100, 200]);
        assert_eq!(vl.len, 2);
        let mut vl = VlanStack::default();
        assert_eq!(
            ethernet(&eth(0x8100, &[0x00, 7, 0x08]), 0, Some(&mut vl)),
            LinkEnd::Truncated
        );
    }

    #[test]
    fn pppoe_ppp_and_compressed_protocol() {
        let pppoe = [0x11, 0x00, 0x12, 0x34, 0x00, 0x10, 0x00, 0x57, 0x60];
        assert_eq!(
            ethernet(&eth(0x8864, &pppoe), 0, None),
            LinkEnd::Ip(L3::V6, 22)
        );
        let lcp = [0x11, 0x00, 0x12, 0x34, 0x00, 0x10, 0xC0, 0x21];
        assert_eq!(ethernet(&eth(0x8864, &lcp), 0, None), LinkEnd::NotIp);
        // Address/control present, protocol compressed to one byte.
        assert_eq!(ppp(&[0xFF, 0x03, 0x21, 0x45], 0), LinkEnd::Ip(L3::V4, 3));
        assert_eq!(ppp(&[0x21, 0x45], 0), LinkEnd::Ip(L3::V4, 1));
        assert_eq!(ppp(&[0x00], 0), LinkEnd::Truncated);
    }

    #[test]
    fn mpls_stack_to_ip_and_pseudowire() {
        // Two labels, bottom-of-stack on the second, then IPv4.
        let st = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40, 0x45];
        assert_eq!(
            ethernet(&eth(0x8847, &st), 0, None),
            LinkEnd::Ip(L3::V4, 22)
        );
        // Control word then an inner Ethernet frame carrying IPv6.
        let mut pw = vec![0x00, 0x01, 0x01, 0x40, 0, 0, 0, 0];
        pw.extend_from_slice(&eth(0x86DD, &[0x60]));
        assert_eq!(
            ethernet(&eth(0x8847, &pw), 0, None),
            LinkEnd::Ip(L3::V6, 36)
        );
        assert_eq!(
            ethernet(&eth(0x8847, &[0, 1, 0, 0x40]), 0, None),
            LinkEnd::Truncated
        );
    }

    #[test]
    fn cooked_null_loop_and_raw() {
        let mut vl = VlanStack::default();
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&[0x86, 0xDD, 0x60]);
        assert_eq!(
            parse_link(LinkType(113), &sll, &mut vl),
            Some(LinkEnd::Ip(L3::V6, 16))
        );
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        assert_eq!(
            parse_link(LinkType(276), &sll2, &mut vl),
            Some(LinkEnd::Ip(L3::V4, 20))
        );
        assert_eq!(
            parse_link(LinkType(276), &sll2[..19], &mut vl),
            Some(LinkEnd::Truncated)
        );
        for fam in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
            assert_eq!(
                parse_link(LinkType(0), &fam, &mut vl),
                Some(LinkEnd::Ip(L3::V4, 4))
            );
        }
        for fam in [[30u8, 0, 0, 0], [0, 0, 0, 24], [28, 0, 0, 0]] {
            assert_eq!(
                parse_link(LinkType(108), &fam, &mut vl),
                Some(LinkEnd::Ip(L3::V6, 4))
            );
        }
        assert_eq!(
            parse_link(LinkType(0), &[7, 0, 0, 0], &mut vl),
            Some(LinkEnd::NotIp)
        );
        for raw in [101, 12, 14] {
            assert_eq!(
                parse_link(LinkType(raw), &[], &mut vl),
                Some(LinkEnd::Ip(L3::Any, 0))
            );
        }
        assert_eq!(parse_link(LinkType(147), &[], &mut vl), None);
    }

    #[test]
    fn snap_carries_ethertype() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x00, 0x30, 0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00, 0x45]);
        assert_eq!(ethernet(&f, 0, None), LinkEnd::Ip(L3::V4, 22));
        let mut stp = vec![0u8; 12];
        stp.extend_from_slice(&[0x00, 0x26, 0x42, 0x42, 0x03]);
        assert_eq!(ethernet(&stp, 0, None), LinkEnd::NotIp);
    }
}
