//! Flow keys: the bidirectional 5-tuple plus VLAN and tunnel context.

use crate::decode::meta::{PacketMeta, Transport, TunnelKind, VlanStack};
use std::net::IpAddr;

/// Which way a packet travels within its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the SYN sender, else the first packet's sender).
    ToServer = 0,
    /// From the server.
    ToClient = 1,
}

impl Direction {
    /// 0 for to-server, 1 for to-client: the index into per-direction arrays.
    pub fn idx(self) -> usize {
        self as usize
    }
}

/// One side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub ip: IpAddr,
    /// Port (0 for protocols without ports).
    pub port: u16,
}

/// Tunnel part of a flow key: the overlay and its outer endpoints, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelKey {
    /// Overlay kind.
    pub kind: TunnelKind,
    /// VNI or GRE key.
    pub vni: u32,
    /// Lower outer address.
    pub outer_lo: IpAddr,
    /// Higher outer address.
    pub outer_hi: IpAddr,
}

/// Direction-independent flow key: endpoints are stored lowest first, so
/// both directions of a conversation hash to the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// IP protocol number.
    pub proto: u8,
    /// Lower endpoint.
    pub lo: Endpoint,
    /// Higher endpoint.
    pub hi: Endpoint,
    /// VLAN tags.
    pub vlans: VlanStack,
    /// Tunnel context, for decapsulated packets.
    pub tunnel: Option<TunnelKey>,
}

/// A packet's key together with its direction relative to the key's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketKey {
    /// Direction-independent key.
    pub key: FlowKey,
    /// Sender of this packet.
    pub src: Endpoint,
    /// Receiver of this packet.
    pub dst: Endpoint,
}

impl PacketKey {
    /// Builds a key from the endpoints of one packet.
    pub fn new(
        proto: u8,
        src: Endpoint,
        dst: Endpoint,
        vlans: VlanStack,
        tunnel: Option<TunnelKey>,
    ) -> Self {
        let (lo, hi) = if src <= dst { (src, dst) } else { (dst, src) };
        PacketKey {
            key: FlowKey {
                proto,
                lo,
                hi,
                vlans,
                tunnel,
            },
            src,
            dst,
        }
    }

    /// Key of the innermost IP conversation of a decoded packet, or `None`
    /// for non-IP frames. ICMP flows have ports 0 (type/code are flow
    /// attributes, not key parts, as in Suricata). TCP, UDP and ICMP packets
    /// whose transport header is malformed have no key.
    pub fn inner(meta: &PacketMeta) -> Option<Self> {
        let ip = meta.ip?;
        let (sp, dp) = match meta.transport {
            Some(Transport::Tcp(t)) => (t.src_port, t.dst_port),
            Some(Transport::Udp { src_port, dst_port }) => (src_port, dst_port),
            // A TCP/UDP/ICMP packet whose header did not decode has no
            // conversation to join: it is counted as an anomaly only.
            None if matches!(ip.proto, 1 | 6 | 17 | 58) => return None,
            _ => (0, 0),
        };
        let tunnel = meta.tunnel.map(|t| {
            let (outer_lo, outer_hi) = if t.outer_src <= t.outer_dst {
                (t.outer_src, t.outer_dst)
            } else {
                (t.outer_dst, t.outer_src)
            };
            TunnelKey {
                kind: t.kind,
                vni: t.vni,
                outer_lo,
                outer_hi,
            }
        });
        Some(Self::new(
            ip.proto,
            Endpoint {
                ip: ip.src,
                port: sp,
            },
            Endpoint {
                ip: ip.dst,
                port: dp,
            },
            meta.vlans,
            tunnel,
        ))
    }

    /// Key of the outer UDP conversation that carries a VXLAN/Geneve
    /// overlay, so the tunnel itself is a flow as in Wireshark's conv,udp.
    pub fn outer_udp(meta: &PacketMeta) -> Option<Self> {
        let t = meta.tunnel?;
        let (sp, dp) = meta.tunnel_udp?;
        Some(Self::new(
            17,
            Endpoint {
                ip: t.outer_src,
                port: sp,
            },
            Endpoint {
                ip: t.outer_dst,
                port: dp,
            },
            meta.vlans,
            None,
        ))
    }
}
