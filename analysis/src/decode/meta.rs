//! Owned, copyable summary of one decoded packet: what the flow table,
//! reassembly and detection need, without borrowing the frame.

use std::net::IpAddr;
use std::ops::Range;

/// Up to two VLAN ids (802.1ad outer S-tag, 802.1Q inner C-tag), outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct VlanStack {
    /// VLAN ids, outermost first; only the first `len` are meaningful (rest 0).
    pub ids: [u16; 2],
    /// Number of tags seen (capped at 2; deeper stacks keep the outer two).
    pub len: u8,
}

/// Overlay encapsulation the innermost packet was carried in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelKind {
    /// VXLAN (RFC 7348) on UDP 4789 or 8472.
    Vxlan,
    /// Geneve (RFC 8926) on UDP 6081.
    Geneve,
    /// GRE (RFC 2784/2890), including transparent Ethernet bridging, ERSPAN
    /// type I/II/III and PPTP's enhanced GRE (RFC 2637, `vni` = call id).
    Gre,
    /// IP-in-IP (IPv4/IPv6 in IPv4/IPv6, protocols 4 and 41).
    IpInIp,
}

/// Outer context of a decapsulated packet (the outermost tunnel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelCtx {
    /// Which overlay.
    pub kind: TunnelKind,
    /// Outer source address.
    pub outer_src: IpAddr,
    /// Outer destination address.
    pub outer_dst: IpAddr,
    /// VXLAN/Geneve VNI or GRE key (0 when absent).
    pub vni: u32,
}

/// TCP header fields the flow table and reassembly need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpMeta {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flag bits as on the wire (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80).
    pub flags: u8,
    /// Receive window (unscaled).
    pub window: u16,
    /// MSS option, when present.
    pub mss: Option<u16>,
    /// SACK-permitted option present.
    pub sack_permitted: bool,
}

impl TcpMeta {
    /// FIN flag.
    pub const FIN: u8 = 0x01;
    /// SYN flag.
    pub const SYN: u8 = 0x02;
    /// RST flag.
    pub const RST: u8 = 0x04;
    /// PSH flag.
    pub const PSH: u8 = 0x08;
    /// ACK flag.
    pub const ACK: u8 = 0x10;

    /// True when every bit of `mask` is set.
    pub fn has(&self, mask: u8) -> bool {
        self.flags & mask == mask
    }
}

/// Transport layer of the innermost IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP segment.
    Tcp(TcpMeta),
    /// UDP datagram.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
    },
    /// ICMPv4 message.
    Icmp {
        /// ICMP type.
        icmp_type: u8,
        /// ICMP code.
        code: u8,
    },
    /// ICMPv6 message.
    Icmpv6 {
        /// ICMPv6 type.
        icmp_type: u8,
        /// ICMPv6 code.
        code: u8,
    },
    /// Another IP protocol (number), not decoded further.
    Other(u8),
}

/// Innermost IP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMeta {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol / IPv6 next header of the transport (after extension headers).
    pub proto: u8,
    /// TTL / hop limit.
    pub ttl: u8,
}

/// A decode-level anomaly: malformed or suspicious input, counted and logged
/// as an EVE `anomaly` event, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodeAnomaly {
    /// Frame shorter than its link-layer header.
    TruncatedLink,
    /// Link type Osprey does not decode (value kept).
    UnsupportedLinkType(u32),
    /// IPv4 header malformed (bad version, IHL < 5, total length < header).
    Ipv4Malformed,
    /// IPv4 header or payload truncated by the capture or the packet.
    Ipv4Truncated,
    /// IPv6 header malformed or truncated.
    Ipv6Malformed,
    /// IPv6 extension header chain malformed, truncated, or too long.
    Ipv6ExtHeader,
    /// TCP header malformed (data offset < 5) or truncated.
    TcpMalformed,
    /// UDP header malformed or truncated.
    UdpMalformed,
    /// ICMP/ICMPv6 header truncated.
    IcmpMalformed,
    /// Overlay (VXLAN, Geneve, GRE) header malformed or truncated.
    TunnelMalformed,
    /// More than the supported number of nested encapsulations.
    TunnelTooDeep,
    /// Overlapping IP fragments whose bytes differ.
    FragOverlap,
    /// Overlapping IP fragments that shrink or reshape the datagram (teardrop).
    FragInvalid,
    /// A reassembled IP datagram larger than 65,535 bytes.
    FragTooLarge,
    /// Fragments evicted because of the defragmentation memory cap.
    FragCapReached,
    /// Fragment train timed out before completion.
    FragTimeout,
}

impl DecodeAnomaly {
    /// Stable snake_case name, as used in EVE `anomaly.event` and the case store.
    pub fn name(&self) -> &'static str {
        match self {
            DecodeAnomaly::TruncatedLink => "truncated_link",
            DecodeAnomaly::UnsupportedLinkType(_) => "unsupported_link_type",
            DecodeAnomaly::Ipv4Malformed => "ipv4_malformed",
            DecodeAnomaly::Ipv4Truncated => "ipv4_truncated",
            DecodeAnomaly::Ipv6Malformed => "ipv6_malformed",
            DecodeAnomaly::Ipv6ExtHeader => "ipv6_ext_header",
            DecodeAnomaly::TcpMalformed => "tcp_malformed",
            DecodeAnomaly::UdpMalformed => "udp_malformed",
            DecodeAnomaly::IcmpMalformed => "icmp_malformed",
            DecodeAnomaly::TunnelMalformed => "tunnel_malformed",
            DecodeAnomaly::TunnelTooDeep => "tunnel_too_deep",
            DecodeAnomaly::FragOverlap => "frag_overlap",
            DecodeAnomaly::FragInvalid => "frag_invalid",
            DecodeAnomaly::FragTooLarge => "frag_too_large",
            DecodeAnomaly::FragCapReached => "frag_cap_reached",
            DecodeAnomaly::FragTimeout => "frag_timeout",
        }
    }
}

/// Everything decoded from one frame (or one reassembled IP datagram).
///
/// `payload` indexes the transport payload inside the buffer the packet was
/// decoded from (the frame's data, or the reassembled datagram).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PacketMeta {
    /// VLAN tags of the outermost Ethernet header.
    pub vlans: VlanStack,
    /// Outermost tunnel, when the packet was decapsulated.
    pub tunnel: Option<TunnelCtx>,
    /// Outer UDP ports of a VXLAN/Geneve tunnel (src, dst), so the outer
    /// conversation can be tracked as a flow of its own.
    pub tunnel_udp: Option<(u16, u16)>,
    /// Innermost IP layer, when there is one.
    pub ip: Option<IpMeta>,
    /// Innermost transport, when decoded.
    pub transport: Option<Transport>,
    /// Transport payload range in the decoded buffer.
    pub payload: Range<usize>,
    /// Anomalies found while decoding this frame.
    pub anomalies: Vec<DecodeAnomaly>,
}
