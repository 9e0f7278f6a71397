//! IPv4, IPv6 (with its extension header chain) and the transport header
//! on top, decoded in place.
//!
//! Length rules, which decide what `PacketMeta::payload` covers:
//! - The IP length field bounds the packet, so Ethernet padding after a
//!   short IPv4 packet is never payload. When the field claims more than was
//!   captured, what is there is decoded (`Ipv4Truncated` /
//!   `Ipv6Malformed`).
//! - An IPv4 total length below the header length is `Ipv4Malformed`, and an
//!   IPv6 payload length of 0 means a jumbogram (RFC 2675) or a TSO capture;
//!   both fall back to the captured length so offloaded traffic still
//!   yields flows, but such packets are never defragmented.

use std::net::{IpAddr, Ipv6Addr};
use std::ops::Range;

use etherparse::err::ipv4::HeaderSliceError as V4Error;
use etherparse::{
    IpAuthHeaderSlice, Ipv4HeaderSlice, Ipv6FragmentHeaderSlice, Ipv6RawExtHeaderSlice,
    TcpOptionElement, TcpOptionsIterator,
};

use super::link::{be16, be32, L3};
use super::meta::{DecodeAnomaly, IpMeta, PacketMeta, TcpMeta, Transport};
use super::MAX_IPV6_EXT_HEADERS;

/// IP protocol numbers used here.
pub(crate) mod proto {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const IPIP: u8 = 4;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const IPV6: u8 = 41;
    pub const ROUTING: u8 = 43;
    pub const FRAGMENT: u8 = 44;
    pub const GRE: u8 = 47;
    pub const AH: u8 = 51;
    pub const ICMPV6: u8 = 58;
    pub const DEST_OPTS: u8 = 60;
    pub const MOBILITY: u8 = 135;
    pub const HIP: u8 = 139;
    pub const SHIM6: u8 = 140;
    pub const EXPERIMENT1: u8 = 253;
    pub const EXPERIMENT2: u8 = 254;
}

/// Fragment header fields of a packet that really fragments its payload
/// (RFC 6946 atomic fragments are decoded as whole packets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FragInfo {
    /// Identification (16 bits for IPv4, 32 for IPv6).
    pub id: u32,
    /// Offset of this fragment's data in the datagram payload, in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
    /// Absolute offset of the IP header.
    pub ip_start: usize,
    /// Absolute end of the unfragmentable part: the IPv4 header, or the
    /// IPv6 header plus the extension headers before the Fragment header.
    pub unfrag_end: usize,
    /// IPv6: absolute offset of the Next Header byte that names the
    /// Fragment header (patched when the datagram is rebuilt).
    pub nh_pos: usize,
    /// IPv4 protocol, or the IPv6 Fragment header's Next Header.
    pub next_header: u8,
}

/// One decoded IP header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpLayer {
    /// Addresses, upper-layer protocol, TTL.
    pub meta: IpMeta,
    /// Upper-layer bytes (or fragment data), bounded by the IP length field
    /// and the captured bytes.
    pub l4: Range<usize>,
    /// End of the upper layer according to the IP length field (may exceed
    /// the captured bytes).
    pub declared_end: usize,
    /// The length field was unusable and `l4` falls back to the capture.
    pub len_from_capture: bool,
    /// The header chain was walked to the upper layer; false when an IPv6
    /// extension header or AH stopped the walk (no transport then).
    pub chain_ok: bool,
    /// Set when this packet is a fragment.
    pub frag: Option<FragInfo>,
}

/// Decode the IP header at `off`, recording anomalies. `None` when not
/// even the addresses could be read.
pub(crate) fn parse_ip(
    buf: &[u8],
    off: usize,
    hint: L3,
    anomalies: &mut Vec<DecodeAnomaly>,
) -> Option<IpLayer> {
    let version = buf.get(off).map(|b| b >> 4);
    match (hint, version) {
        (L3::V6, _) | (L3::Any, Some(6)) => parse_ipv6(buf, off, anomalies),
        (L3::V4, _) | (L3::Any, Some(4)) => parse_ipv4(buf, off, anomalies),
        (L3::Any, Some(_)) => {
            anomalies.push(DecodeAnomaly::Ipv4Malformed);
            None
        }
        (L3::Any, None) => {
            anomalies.push(DecodeAnomaly::Ipv4Truncated);
            None
        }
    }
}

fn parse_ipv4(buf: &[u8], off: usize, anomalies: &mut Vec<DecodeAnomaly>) -> Option<IpLayer> {
    let s = buf.get(off..).unwrap_or_default();
    let h = match Ipv4HeaderSlice::from_slice(s) {
        Ok(h) => h,
        Err(V4Error::Len(_)) => {
            anomalies.push(DecodeAnomaly::Ipv4Truncated);
            return None;
        }
        Err(V4Error::Content(_)) => {
            // Wrong version or IHL < 5 (RFC 791 §3.1).
            anomalies.push(DecodeAnomaly::Ipv4Malformed);
            return None;
        }
    };
    let hlen = h.slice().len();
    let total = usize::from(h.total_len());
    let (declared, len_from_capture) = if total < hlen {
        anomalies.push(DecodeAnomaly::Ipv4Malformed);
        (s.len(), true)
    } else {
        (total, false)
    };
    if declared > s.len() {
        anomalies.push(DecodeAnomaly::Ipv4Truncated);
    }
    let end = off + declared.min(s.len());
    let mut layer = IpLayer {
        meta: IpMeta {
            src: IpAddr::V4(h.source_addr()),
            dst: IpAddr::V4(h.destination_addr()),
            proto: h.protocol().0,
            ttl: h.ttl(),
        },
        l4: off + hlen..end,
        declared_end: off + declared,
        len_from_capture,
        chain_ok: true,
        frag: None,
    };
    if h.is_fragmenting_payload() {
        layer.frag = Some(FragInfo {
            id: u32::from(h.identification()),
            offset: u32::from(h.fragments_offset().byte_offset()),
            more: h.more_fragments(),
            ip_start: off,
            unfrag_end: off + hlen,
            nh_pos: off + 9,
            next_header: h.protocol().0,
        });
    } else if layer.meta.proto == proto::AH {
        // RFC 4302 §2: AH sits between IPv4 and the upper layer.
        match IpAuthHeaderSlice::from_slice(buf.get(layer.l4.clone()).unwrap_or_default()) {
            Ok(ah) => {
                layer.meta.proto = ah.next_header().0;
                layer.l4.start += ah.slice().len();
            }
            Err(_) => {
                anomalies.push(DecodeAnomaly::Ipv4Malformed);
                layer.chain_ok = false;
            }
        }
    }
    Some(layer)
}

fn parse_ipv6(buf: &[u8], off: usize, anomalies: &mut Vec<DecodeAnomaly>) -> Option<IpLayer> {
    let s = buf.get(off..).unwrap_or_default();
    let Some(h) = s.get(..40) else {
        anomalies.push(DecodeAnomaly::Ipv6Malformed);
        return None;
    };
    if h[0] >> 4 != 6 {
        anomalies.push(DecodeAnomaly::Ipv6Malformed);
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
    // RFC 2675 §3: payload length 0 is a jumbogram; TSO captures do the same.
    let (declared, len_from_capture) = if plen == 0 {
        (s.len(), true)
    } else {
        (40 + plen, false)
    };
    if declared > s.len() {
        anomalies.push(DecodeAnomaly::Ipv6Malformed);
    }
    let end = off + declared.min(s.len());
    let mut src = [0u8; 16];
    src.copy_from_slice(&h[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&h[24..40]);
    let mut layer = IpLayer {
        meta: IpMeta {
            src: IpAddr::V6(Ipv6Addr::from(src)),
            dst: IpAddr::V6(Ipv6Addr::from(dst)),
            proto: h[6],
            ttl: h[7],
        },
        l4: off + 40..end,
        declared_end: off + declared,
        len_from_capture,
        chain_ok: true,
        frag: None,
    };
    walk_ipv6_exts(buf, off, &mut layer, anomalies);
    Some(layer)
}

/// Walk the extension header chain (RFC 8200 §4) from `layer.l4.start`,
/// leaving `l4` at the upper layer (or at the fragment data) and `proto`
/// naming it.
fn walk_ipv6_exts(buf: &[u8], ip_start: usize, layer: &mut IpLayer, out: &mut Vec<DecodeAnomaly>) {
    let mut nh = layer.meta.proto;
    let mut nh_pos = ip_start + 6;
    let mut p = layer.l4.start;
    let end = layer.l4.end;
    let rest = |p: usize| buf.get(p..end).unwrap_or_default();
    for count in 0..=MAX_IPV6_EXT_HEADERS {
        let len = match nh {
            proto::HOP_BY_HOP
            | proto::ROUTING
            | proto::DEST_OPTS
            | proto::MOBILITY
            | proto::HIP
            | proto::SHIM6
            | proto::EXPERIMENT1
            | proto::EXPERIMENT2 => {
                // RFC 8200 §4.3: Hop-by-Hop must directly follow the header.
                if nh == proto::HOP_BY_HOP && count > 0 {
                    out.push(DecodeAnomaly::Ipv6ExtHeader);
                }
                match Ipv6RawExtHeaderSlice::from_slice(rest(p)) {
                    Ok(x) => Some((x.next_header().0, x.slice().len())),
                    Err(_) => None,
                }
            }
            proto::AH => match IpAuthHeaderSlice::from_slice(rest(p)) {
                Ok(x) => Some((x.next_header().0, x.slice().len())),
                Err(_) => None,
            },
            proto::FRAGMENT => match Ipv6FragmentHeaderSlice::from_slice(rest(p)) {
                Ok(f) if f.is_fragmenting_payload() => {
                    layer.frag = Some(FragInfo {
                        id: f.identification(),
                        offset: u32::from(f.fragment_offset().byte_offset()),
                        more: f.more_fragments(),
                        ip_start,
                        unfrag_end: p,
                        nh_pos,
                        next_header: f.next_header().0,
                    });
                    // Everything after this header is fragment data.
                    layer.meta.proto = f.next_header().0;
                    layer.l4.start = p + 8;
                    return;
                }
                // RFC 6946: an atomic fragment is a whole packet.
                Ok(f) => Some((f.next_header().0, 8)),
                Err(_) => None,
            },
            _ => {
                layer.meta.proto = nh;
                layer.l4.start = p;
                return;
            }
        };
        let Some((next, len)) = len else {
            break;
        };
        nh_pos = p;
        nh = next;
        p += len;
    }
    // Truncated, malformed or over-long chain: no upper layer.
    out.push(DecodeAnomaly::Ipv6ExtHeader);
    layer.meta.proto = nh;
    layer.l4.start = p.min(end);
    layer.chain_ok = false;
}

/// Decode the transport header of a non-fragment `ip` into `meta`
/// (`transport` and `payload`), recording anomalies.
pub(crate) fn parse_transport(buf: &[u8], ip: &IpLayer, meta: &mut PacketMeta) {
    let l4 = ip.l4.clone();
    let t = buf.get(l4.clone()).unwrap_or_default();
    let empty = l4.end..l4.end;
    meta.payload = empty.clone();
    match ip.meta.proto {
        proto::TCP => {
            let (
                Some(sp),
                Some(dp),
                Some(seq),
                Some(ack),
                Some(&off_byte),
                Some(&flags),
                Some(win),
            ) = (
                be16(t, 0),
                be16(t, 2),
                be32(t, 4),
                be32(t, 8),
                t.get(12),
                t.get(13),
                be16(t, 14),
            )
            else {
                meta.anomalies.push(DecodeAnomaly::TcpMalformed);
                return;
            };
            // RFC 9293 §3.1: data offset counts 32-bit words, minimum 5.
            let hlen = usize::from(off_byte >> 4) * 4;
            if hlen < 20 || t.len() < 20 {
                meta.anomalies.push(DecodeAnomaly::TcpMalformed);
                return;
            }
            let mut tcp = TcpMeta {
                src_port: sp,
                dst_port: dp,
                seq,
                ack,
                flags,
                window: win,
                mss: None,
                sack_permitted: false,
            };
            match t.get(20..hlen) {
                Some(opts) => {
                    (tcp.mss, tcp.sack_permitted) = syn_options(opts);
                    meta.payload = l4.start + hlen..l4.end;
                }
                None => meta.anomalies.push(DecodeAnomaly::TcpMalformed),
            }
            meta.transport = Some(Transport::Tcp(tcp));
        }
        proto::UDP => {
            let (Some(sp), Some(dp), Some(len)) = (be16(t, 0), be16(t, 2), be16(t, 4)) else {
                meta.anomalies.push(DecodeAnomaly::UdpMalformed);
                return;
            };
            if t.len() < 8 {
                meta.anomalies.push(DecodeAnomaly::UdpMalformed);
                return;
            }
            meta.transport = Some(Transport::Udp {
                src_port: sp,
                dst_port: dp,
            });
            let len = usize::from(len);
            let declared = ip.declared_end.saturating_sub(l4.start);
            // RFC 768: length covers header and data. 0 is legal only in
            // IPv6 jumbograms (RFC 2675 §4); treat it as "use IP's length".
            let udp_end = if len == 0 && ip.len_from_capture {
                l4.end
            } else if len < 8 || len > declared {
                meta.anomalies.push(DecodeAnomaly::UdpMalformed);
                l4.end
            } else {
                (l4.start + len).min(l4.end)
            };
            meta.payload = (l4.start + 8).min(udp_end)..udp_end;
        }
        proto::ICMP | proto::ICMPV6 => {
            let (Some(&icmp_type), Some(&code)) = (t.first(), t.get(1)) else {
                meta.anomalies.push(DecodeAnomaly::IcmpMalformed);
                return;
            };
            // RFC 792 / RFC 4443 §2.1: every message has at least 8 bytes
            // (type, code, checksum, 4 bytes of message-specific header).
            if t.len() < 8 {
                meta.anomalies.push(DecodeAnomaly::IcmpMalformed);
            } else {
                meta.payload = l4.start + 8..l4.end;
            }
            meta.transport = Some(if ip.meta.proto == proto::ICMP {
                Transport::Icmp { icmp_type, code }
            } else {
                Transport::Icmpv6 { icmp_type, code }
            });
        }
        p => {
            meta.transport = Some(Transport::Other(p));
            meta.payload = l4;
        }
    }
}

/// The MSS option (RFC 9293 §3.2) and whether SACK is permitted (RFC 2018
/// §2), as far as the options are well formed.
fn syn_options(opts: &[u8]) -> (Option<u16>, bool) {
    let (mut mss, mut sack) = (None, false);
    for o in TcpOptionsIterator::from_slice(opts) {
        match o {
            Ok(TcpOptionElement::MaximumSegmentSize(m)) => mss = mss.or(Some(m)),
            Ok(TcpOptionElement::SelectiveAcknowledgementPermitted) => sack = true,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    (mss, sack)
}

/// IPv4 header checksum (RFC 791 §3.1) of `hdr`, with the checksum field
/// taken as zero.
pub(crate) fn ipv4_checksum(hdr: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, w) in hdr.chunks(2).enumerate() {
        if i == 5 {
            continue;
        }
        let hi = u32::from(w[0]) << 8;
        let lo = w.get(1).map_or(0, |b| u32::from(*b));
        sum += hi | lo;
    }
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::testutil::{ext6, frag6, ipv6, tcp, udp, V4};

    fn parse(buf: &[u8], hint: L3) -> (Option<IpLayer>, Vec<DecodeAnomaly>) {
        let mut a = Vec::new();
        (parse_ip(buf, 0, hint, &mut a), a)
    }

    #[test]
    fn ipv4_fields_and_fragments() {
        let ip = V4::new(17).frag(0x4242, 3, true).build(&[0; 16]);
        let (l, a) = parse(&ip, L3::Any);
        let l = l.unwrap_or_else(|| panic!("{a:?}"));
        assert!(a.is_empty());
        assert_eq!((l.l4.clone(), l.declared_end), (20..36, 36));
        let f = l.frag.unwrap_or_else(|| panic!("not a fragment"));
        assert_eq!(
            (f.id, f.offset, f.more, f.unfrag_end),
            (0x4242, 24, true, 20)
        );
        assert_eq!(
            ipv4_checksum(&ip[..20]),
            u16::from_be_bytes([ip[10], ip[11]])
        );
    }

    #[test]
    fn ipv6_fragment_after_extension_headers() {
        let mut p = ext6(44);
        p.extend(frag6(6, 2, false, 77));
        p.extend([1, 2, 3]);
        let (l, a) = parse(&ipv6(60, &p), L3::V6);
        let l = l.unwrap_or_else(|| panic!("{a:?}"));
        let f = l.frag.unwrap_or_else(|| panic!("not a fragment"));
        assert_eq!((f.id, f.offset, f.more, f.next_header), (77, 16, false, 6));
        assert_eq!((f.unfrag_end, f.nh_pos), (48, 40));
        assert_eq!((l.meta.proto, l.l4.clone()), (6, 56..59));
    }

    #[test]
    fn every_truncation_is_an_anomaly_not_a_panic() {
        let packets = [
            V4::new(6).build(&tcp(1, 2, 0x12, &[2, 4, 5, 0xB4], b"data")),
            ipv6(0, &[ext6(17), udp(1, 2, b"data")].concat()),
        ];
        for p in packets {
            for len in 0..p.len() {
                let cut = &p[..len];
                let (l, a) = parse(cut, L3::Any);
                assert!(l.is_some() || !a.is_empty(), "len {len}");
                if let Some(l) = l {
                    let mut meta = PacketMeta {
                        anomalies: a,
                        ..PacketMeta::default()
                    };
                    if l.chain_ok {
                        parse_transport(cut, &l, &mut meta);
                    }
                    assert!(!meta.anomalies.is_empty(), "len {len}: {meta:?}");
                    assert!(meta.payload.end <= len);
                }
            }
        }
    }

    #[test]
    fn unknown_versions_and_protocols() {
        let (l, a) = parse(&[0x50; 40], L3::Any);
        assert!(l.is_none());
        assert_eq!(a, [DecodeAnomaly::Ipv4Malformed]);
        let (l, a) = parse(&[0x45; 40], L3::V6);
        assert!(l.is_none());
        assert_eq!(a, [DecodeAnomaly::Ipv6Malformed]);
        let ip = V4::new(253).build(b"xp");
        let (l, _) = parse(&ip, L3::V4);
        let mut meta = PacketMeta::default();
        if let Some(l) = l {
            parse_transport(&ip, &l, &mut meta);
        }
        assert_eq!(meta.transport, Some(Transport::Other(253)));
        assert_eq!(&ip[meta.payload], b"xp");
    }

    #[test]
    fn mss_needs_a_well_formed_option() {
        assert_eq!(syn_options(&[1, 1, 2, 4, 0x05, 0xB4]), (Some(1460), false));
        assert_eq!(syn_options(&[2, 3, 0x05]), (None, false));
        assert_eq!(syn_options(&[0, 2, 4, 5, 0xB4]), (None, false));
        assert_eq!(syn_options(&[2, 4, 0, 48, 4, 2]), (Some(48), true));
    }
}
