//! The stateless layer walk: IP → transport → overlay → inner IP → ...,
//! filling a [`PacketMeta`] until the innermost packet, or until an IP
//! fragment stops it (the decoder then asks the defragmenter).
//!
//! Overlay failure policy: once an overlay header is accepted, the outer
//! decode is snapshotted. If the inner link layer or inner IP header then
//! turns out malformed, the snapshot is restored (outer IP and transport,
//! `tunnel` unset) and `TunnelMalformed` is recorded, so the frame still
//! counts in the outer flow (typically the VXLAN/Geneve UDP conversation).
//! An inner packet that is well formed but not IP (ARP inside VXLAN, PPP
//! control inside PPTP) restores the outer decode without an anomaly.
//! Problems above the inner IP header (e.g. a truncated inner TCP header)
//! stay with the inner packet, as they would without the overlay.

use std::ops::Range;

use super::ip::{self, proto, FragInfo, IpLayer};
use super::link::{LinkEnd, L3};
use super::meta::{DecodeAnomaly, IpMeta, PacketMeta, Transport, TunnelCtx, TunnelKind};
use super::tunnel::{self, Decap};
use super::MAX_TUNNEL_DEPTH;

/// How the walk ended.
#[derive(Debug)]
pub(crate) enum WalkEnd {
    /// `meta` describes the innermost packet.
    Done,
    /// The innermost IP header read so far is a fragment (`meta.ip` is set);
    /// nothing above it can be decoded without reassembly.
    Fragment(IpLayer, FragInfo),
}

/// Walk state that survives a reassembly: how many overlays deep the walk
/// is, and the outer decode to restore if the current overlay is bad.
#[derive(Debug, Default)]
pub(crate) struct WalkState {
    /// Overlays decapsulated so far.
    pub depth: u8,
    fallback: Option<Snapshot>,
}

/// The parts of `PacketMeta` an overlay decapsulation changes.
#[derive(Debug)]
struct Snapshot {
    ip: Option<IpMeta>,
    transport: Option<Transport>,
    payload: Range<usize>,
    tunnel: Option<TunnelCtx>,
    tunnel_udp: Option<(u16, u16)>,
    anomalies: usize,
}

impl WalkState {
    fn save(&mut self, meta: &PacketMeta) {
        self.fallback = Some(Snapshot {
            ip: meta.ip,
            transport: meta.transport,
            payload: meta.payload.clone(),
            tunnel: meta.tunnel,
            tunnel_udp: meta.tunnel_udp,
            anomalies: meta.anomalies.len(),
        });
    }

    /// Undo the current overlay; `anomaly` (if any) replaces whatever the
    /// inner decode recorded. No-op outside an overlay.
    fn restore(&mut self, meta: &mut PacketMeta, anomaly: Option<DecodeAnomaly>) {
        if let Some(s) = self.fallback.take() {
            meta.ip = s.ip;
            meta.transport = s.transport;
            meta.payload = s.payload;
            meta.tunnel = s.tunnel;
            meta.tunnel_udp = s.tunnel_udp;
            meta.anomalies.truncate(s.anomalies);
            meta.anomalies.extend(anomaly);
            self.depth = self.depth.saturating_sub(1);
        }
    }
}

/// Walk from an IP header at `off` in `buf` (absolute offsets throughout).
pub(crate) fn walk(
    mut buf: &[u8],
    mut off: usize,
    mut hint: L3,
    st: &mut WalkState,
    meta: &mut PacketMeta,
) -> WalkEnd {
    loop {
        let Some(ipl) = ip::parse_ip(buf, off, hint, &mut meta.anomalies) else {
            st.restore(meta, Some(DecodeAnomaly::TunnelMalformed));
            return WalkEnd::Done;
        };
        // The inner IP header is sound: the overlay is committed.
        st.fallback = None;
        meta.ip = Some(ipl.meta);
        meta.transport = None;
        meta.payload = ipl.l4.end..ipl.l4.end;
        if let Some(frag) = ipl.frag {
            if ipl.len_from_capture {
                // No trustworthy length, so no place in a datagram.
                meta.anomalies.push(DecodeAnomaly::FragInvalid);
                return WalkEnd::Done;
            }
            return WalkEnd::Fragment(ipl, frag);
        }
        if !ipl.chain_ok {
            return WalkEnd::Done;
        }
        let region = ipl.l4.clone();
        // (overlay header, outer UDP ports, end of the outer payload)
        let (decap, udp_ports, inner_end) = match ipl.meta.proto {
            p @ (proto::GRE | proto::IPIP | proto::IPV6) => {
                meta.transport = Some(Transport::Other(p));
                meta.payload = region.clone();
                let d = match p {
                    proto::GRE => tunnel::gre(cut(buf, region.end), region.clone()),
                    // RFC 2003 / RFC 4213 §3.5: the inner header follows.
                    _ => Decap::Inner {
                        kind: TunnelKind::IpInIp,
                        vni: 0,
                        next: LinkEnd::Ip(
                            if p == proto::IPIP { L3::V4 } else { L3::V6 },
                            region.start,
                        ),
                    },
                };
                (d, None, region.end)
            }
            _ => {
                ip::parse_transport(buf, &ipl, meta);
                match meta.transport {
                    Some(Transport::Udp { src_port, dst_port })
                        if tunnel::is_overlay_port(dst_port) =>
                    {
                        let udp = meta.payload.clone();
                        let end = udp.end;
                        (
                            tunnel::udp_overlay(cut(buf, end), dst_port, udp),
                            Some((src_port, dst_port)),
                            end,
                        )
                    }
                    _ => return WalkEnd::Done,
                }
            }
        };
        let (kind, vni, next) = match decap {
            Decap::NotTunnel => return WalkEnd::Done,
            Decap::Malformed => {
                meta.anomalies.push(DecodeAnomaly::TunnelMalformed);
                return WalkEnd::Done;
            }
            Decap::Inner { kind, vni, next } => (kind, vni, next),
        };
        let (inner_l3, inner_off) = match next {
            LinkEnd::NotIp => return WalkEnd::Done,
            LinkEnd::Truncated => {
                meta.anomalies.push(DecodeAnomaly::TunnelMalformed);
                return WalkEnd::Done;
            }
            LinkEnd::Ip(l3, o) => (l3, o),
        };
        if st.depth >= MAX_TUNNEL_DEPTH {
            meta.anomalies.push(DecodeAnomaly::TunnelTooDeep);
            return WalkEnd::Done;
        }
        st.save(meta);
        if meta.tunnel.is_none() {
            meta.tunnel = Some(TunnelCtx {
                kind,
                outer_src: ipl.meta.src,
                outer_dst: ipl.meta.dst,
                vni,
            });
            meta.tunnel_udp = udp_ports;
        }
        st.depth += 1;
        // The inner packet ends where the outer payload does.
        buf = cut(buf, inner_end);
        off = inner_off;
        hint = inner_l3;
    }
}

/// `buf` up to `end` (all of it if `end` is past its end).
fn cut(buf: &[u8], end: usize) -> &[u8] {
    buf.get(..end).unwrap_or(buf)
}
