//! Packet decoding: one [`RawFrame`] in, one owned [`PacketMeta`] out.
//!
//! # Contract
//! - [`Decoder::decode`] never panics and never fails: malformed input is
//!   data. Whatever could be decoded is returned, and every problem is a
//!   typed [`DecodeAnomaly`] in `meta.anomalies` (Suricata's decoder-event
//!   model), so the frame still counts in its flow and in the anomaly log.
//! - The common path allocates nothing and hashes nothing: a frame that is
//!   not an IP fragment is decoded with offset arithmetic into a
//!   `PacketMeta` whose `anomalies` `Vec` stays empty (and so unallocated).
//!   Only fragments touch the defragmenter's hash map.
//! - Layers: link ([`LinkType`]: Ethernet with any depth of 802.1Q/802.1ad
//!   tags, PPPoE session, MPLS; Linux SLL/SLL2; raw IP; BSD NULL/LOOP),
//!   then IPv4/IPv6 (with extension header chains), then TCP/UDP/ICMP/ICMPv6,
//!   and overlays (VXLAN, Geneve, GRE incl. PPTP and ERSPAN, IP-in-IP) are
//!   decapsulated up to [`MAX_TUNNEL_DEPTH`] levels. `ip`/`transport`
//!   describe the innermost packet; `tunnel` the outermost overlay.
//! - IP fragments are reassembled (RFC 791, RFC 8200 §4.5) by the decoder's
//!   own defragmenter; see [`Decoded`] for what each frame yields and
//!   `defrag` for the overlap policy and the memory caps.
//!
//! # Why not `etherparse::LaxSlicedPacket`
//! It covers Ethernet/VLAN/IP/transport, but not PPPoE, MPLS, overlays,
//! SLL2 or NULL, hides where the IPv6 Fragment header sits (needed to
//! rebuild the datagram), and folds distinct problems into one error. So the
//! link and overlay layers are walked here by offset, and etherparse's
//! zero-copy header slices (`Ipv4HeaderSlice`, IPv6 extension slices, TCP
//! options) do the per-header validation.

use osprey_capture::{LinkType, RawFrame};

mod defrag;
mod ip;
mod link;
pub mod meta;
mod tunnel;
mod walk;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

pub use defrag::{DefragConfig, DefragStats, ExpiredTrain};
pub use meta::{
    DecodeAnomaly, IpMeta, PacketMeta, TcpMeta, Transport, TunnelCtx, TunnelKind, VlanStack,
};

use defrag::{Defragmenter, FragKey, Fragment, PushOutcome};
use walk::{WalkEnd, WalkState};

/// Overlays nested deeper than this are not decapsulated
/// ([`DecodeAnomaly::TunnelTooDeep`]); the packet is then described at the
/// deepest decoded level.
pub const MAX_TUNNEL_DEPTH: u8 = 3;

/// At most this many IPv6 extension headers are walked per packet
/// ([`DecodeAnomaly::Ipv6ExtHeader`] beyond). RFC 8200 §4.1's recommended
/// order has at most seven, so eight leaves room for one oddity.
pub const MAX_IPV6_EXT_HEADERS: usize = 8;

/// Bound on reassembly rounds for one frame (a reassembled outer datagram
/// may complete an inner fragment train, and so on); with the tunnel depth
/// cap this is never reached by real traffic.
const MAX_REASSEMBLY_ROUNDS: usize = 2 * (MAX_TUNNEL_DEPTH as usize + 1);

/// What one frame decoded to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Normal packet; `meta.payload` indexes `frame.data`.
    ///
    /// Also used for non-IP frames (`ip: None`), malformed frames (with
    /// anomalies), and fragments that were discarded rather than buffered
    /// (`FragInvalid`, `FragTooLarge`, `FragCapReached`; `ip` set, no
    /// transport).
    Packet(PacketMeta),
    /// An IP fragment that was buffered (train incomplete); meta has ip (and
    /// vlans/tunnel) but no transport. `meta.payload` is the fragment's data
    /// in `frame.data` (empty when the fragment came out of a reassembled
    /// outer datagram).
    FragmentHeld(PacketMeta),
    /// The frame completed a datagram: transport decoded from the
    /// reassembled datagram.
    Reassembled {
        /// Decode of the reassembled datagram (vlans/tunnel from the frame);
        /// `payload` indexes `datagram`.
        meta: PacketMeta,
        /// The full reassembled IP packet, header + payload, with its length
        /// fields fixed so it re-parses.
        datagram: Vec<u8>,
        /// pkt_nos of all frames that contributed, in pkt_no order
        /// (includes this one).
        fragments: Vec<u64>,
    },
}

impl Decoded {
    /// The decoded summary, whichever the outcome.
    pub fn meta(&self) -> &PacketMeta {
        match self {
            Decoded::Packet(m) | Decoded::FragmentHeld(m) => m,
            Decoded::Reassembled { meta, .. } => meta,
        }
    }
}

/// Stateful frame decoder: stateless layer walking plus the IP
/// defragmenter it owns. One per decode worker (no locks).
#[derive(Debug, Default)]
pub struct Decoder {
    defrag: Defragmenter,
}

impl Decoder {
    /// A decoder whose defragmenter uses `cfg`.
    pub fn new(cfg: DefragConfig) -> Self {
        Decoder {
            defrag: Defragmenter::new(cfg),
        }
    }

    /// Decode one frame. `pkt_no` is the run-wide frame number (1-based) the
    /// caller uses to index packets.
    pub fn decode(&mut self, frame: &RawFrame, pkt_no: u64) -> Decoded {
        let mut meta = PacketMeta::default();
        let data = frame.data.as_slice();
        let start = match link::parse_link(frame.link_type, data, &mut meta.vlans) {
            Some(link::LinkEnd::Ip(l3, off)) => (l3, off),
            Some(link::LinkEnd::NotIp) => return Decoded::Packet(meta),
            Some(link::LinkEnd::Truncated) => {
                meta.anomalies.push(DecodeAnomaly::TruncatedLink);
                return Decoded::Packet(meta);
            }
            None => {
                let LinkType(n) = frame.link_type;
                meta.anomalies.push(DecodeAnomaly::UnsupportedLinkType(n));
                return Decoded::Packet(meta);
            }
        };
        let mut st = WalkState::default();
        match walk::walk(data, start.1, start.0, &mut st, &mut meta) {
            WalkEnd::Done => Decoded::Packet(meta),
            WalkEnd::Fragment(ipl, frag) => {
                self.on_fragment(data, (&ipl, &frag), &[pkt_no], frame.ts_ns, st, meta)
            }
        }
    }

    /// Expire fragment trains older than the timeout at capture time
    /// `now_ns`; returns the expired trains' pkt_nos and anomalies.
    ///
    /// Also returns trains dropped since the last call (evicted by a cap,
    /// found stale by a late fragment, or too large), so call this
    /// regularly (e.g. once per second of capture time) to keep that list
    /// short.
    pub fn expire(&mut self, now_ns: i64) -> Vec<ExpiredTrain> {
        self.defrag.expire(now_ns)
    }

    /// Trains ended (evicted, stale, too large) since the last
    /// [`Decoder::expire`], waiting to be handed out: a fragment flood
    /// ends one per packet, so callers expire early once this grows
    /// (each costs a few hundred bytes outside the defragmentation budget).
    pub fn ended_pending(&self) -> usize {
        self.defrag.pending()
    }

    /// Defragmentation counters.
    pub fn stats(&self) -> DefragStats {
        self.defrag.stats()
    }

    /// Feed a fragment to the defragmenter and, when it completes a
    /// datagram, decode that datagram (which may in turn complete an inner
    /// train, when an overlay was fragmented at two levels).
    fn on_fragment(
        &mut self,
        buf: &[u8],
        (ipl, frag): (&ip::IpLayer, &ip::FragInfo),
        contributors: &[u64],
        ts_ns: i64,
        mut st: WalkState,
        mut meta: PacketMeta,
    ) -> Decoded {
        let key = FragKey::new(ipl, frag, &meta, st.depth);
        let fragment = Fragment {
            ip: ipl,
            info: frag,
            buf,
            contributors,
        };
        let outcome = self.defrag.push(key, fragment, ts_ns, &mut meta.anomalies);
        let (mut datagram, mut fragments) = match outcome {
            PushOutcome::Held => {
                meta.payload = ipl.l4.clone();
                return Decoded::FragmentHeld(meta);
            }
            PushOutcome::Dropped => {
                meta.payload = 0..0;
                return Decoded::Packet(meta);
            }
            PushOutcome::Complete {
                datagram,
                fragments,
            } => (datagram, fragments),
        };
        for _ in 0..MAX_REASSEMBLY_ROUNDS {
            meta.transport = None;
            meta.payload = 0..0;
            match walk::walk(&datagram, 0, link::L3::Any, &mut st, &mut meta) {
                WalkEnd::Done => {
                    return Decoded::Reassembled {
                        meta,
                        datagram,
                        fragments,
                    }
                }
                WalkEnd::Fragment(inner, f) => {
                    let key = FragKey::new(&inner, &f, &meta, st.depth);
                    let fragment = Fragment {
                        ip: &inner,
                        info: &f,
                        buf: &datagram,
                        contributors: &fragments,
                    };
                    let outcome = self.defrag.push(key, fragment, ts_ns, &mut meta.anomalies);
                    match outcome {
                        PushOutcome::Held => {
                            meta.payload = 0..0;
                            return Decoded::FragmentHeld(meta);
                        }
                        PushOutcome::Dropped => {
                            meta.payload = 0..0;
                            return Decoded::Packet(meta);
                        }
                        PushOutcome::Complete {
                            datagram: d,
                            fragments: f,
                        } => {
                            datagram = d;
                            fragments = f;
                        }
                    }
                }
            }
        }
        // Only reachable with fragments nested beyond any real encapsulation.
        meta.anomalies.push(DecodeAnomaly::TunnelTooDeep);
        meta.transport = None;
        meta.payload = 0..0;
        Decoded::Reassembled {
            meta,
            datagram,
            fragments,
        }
    }
}
