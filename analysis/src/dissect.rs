//! Per-packet dissection for display: the layers of one frame with the
//! byte range of every header and field (the GUI's layer tree and hex
//! highlighting), a one-line summary, and "follow stream" (a flow's payload
//! in both directions, TCP in sequence order without retransmissions).
//!
//! Display-only and bounds-checked everywhere: a short or malformed frame
//! ends the tree at the last complete layer and never panics.

use crate::decode::meta::Transport;
use crate::decode::{Decoded, Decoder};
use osprey_capture::{LinkType, RawFrame};
use std::ops::Range;

/// One decoded field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerField {
    /// Field name, e.g. `Source port`.
    pub name: String,
    /// Rendered value.
    pub value: String,
    /// Bytes of the frame holding the field.
    pub range: Range<usize>,
}

/// One protocol layer of a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Layer title, e.g. `Transmission Control Protocol`.
    pub name: String,
    /// Bytes of the frame the layer covers (header and what it carries).
    pub range: Range<usize>,
    /// Its fields.
    pub fields: Vec<LayerField>,
}

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&self, o: usize) -> Option<u8> {
        self.0.get(o).copied()
    }
    fn u16(&self, o: usize) -> Option<u16> {
        Some(u16::from_be_bytes([*self.0.get(o)?, *self.0.get(o + 1)?]))
    }
    fn u32(&self, o: usize) -> Option<u32> {
        let b = self.0.get(o..o + 4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn field(name: &str, value: impl ToString, range: Range<usize>) -> LayerField {
    LayerField {
        name: name.to_string(),
        value: value.to_string(),
        range,
    }
}

fn mac(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn tcp_flags(f: u8) -> String {
    const NAMES: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
    let set: Vec<&str> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| f & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    set.join(",")
}

/// The layers of a frame, outermost first.
pub fn dissect(link_type: u32, data: &[u8]) -> Vec<Layer> {
    let b = Bytes(data);
    let mut layers = Vec::new();
    let len = data.len();
    layers.push(Layer {
        name: format!("Frame: {len} bytes captured"),
        range: 0..len,
        fields: vec![field("Link type", link_type, 0..0)],
    });
    let (mut ethertype, mut off) = match LinkType(link_type) {
        LinkType::ETHERNET => {
            let (Some(dst), Some(src), Some(et)) = (data.get(0..6), data.get(6..12), b.u16(12))
            else {
                return layers;
            };
            layers.push(Layer {
                name: "Ethernet II".into(),
                range: 0..len,
                fields: vec![
                    field("Destination", mac(dst), 0..6),
                    field("Source", mac(src), 6..12),
                    field("Type", format!("0x{et:04x}"), 12..14),
                ],
            });
            (et, 14)
        }
        LinkType::LINUX_SLL => {
            let Some(et) = b.u16(14) else { return layers };
            layers.push(Layer {
                name: "Linux cooked capture".into(),
                range: 0..len,
                fields: vec![field("Protocol", format!("0x{et:04x}"), 14..16)],
            });
            (et, 16)
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => match b.u8(0).map(|v| v >> 4) {
            Some(4) => (0x0800, 0),
            Some(6) => (0x86dd, 0),
            _ => return layers,
        },
        _ => return layers,
    };
    while matches!(ethertype, 0x8100 | 0x88a8) {
        let (Some(tci), Some(et)) = (b.u16(off), b.u16(off + 2)) else {
            return layers;
        };
        layers.push(Layer {
            name: format!("802.1Q VLAN, ID {}", tci & 0x0fff),
            range: off - 2..len,
            fields: vec![
                field("VLAN id", tci & 0x0fff, off..off + 2),
                field("Type", format!("0x{et:04x}"), off + 2..off + 4),
            ],
        });
        ethertype = et;
        off += 4;
    }
    let (proto, l4) = match ethertype {
        0x0800 => {
            let Some(vihl) = b.u8(off) else { return layers };
            let ihl = usize::from(vihl & 0x0f) * 4;
            let (Some(total), Some(ttl), Some(p), Some(src), Some(dst)) = (
                b.u16(off + 2),
                b.u8(off + 8),
                b.u8(off + 9),
                data.get(off + 12..off + 16),
                data.get(off + 16..off + 20),
            ) else {
                return layers;
            };
            let ip = |s: &[u8]| format!("{}.{}.{}.{}", s[0], s[1], s[2], s[3]);
            let flags_frag = b.u16(off + 6).unwrap_or(0);
            layers.push(Layer {
                name: format!("Internet Protocol Version 4, {} -> {}", ip(src), ip(dst)),
                range: off..len,
                fields: vec![
                    field("Header length", format!("{ihl} bytes"), off..off + 1),
                    field("Total length", total, off + 2..off + 4),
                    field(
                        "Identification",
                        format!("0x{:04x}", b.u16(off + 4).unwrap_or(0)),
                        off + 4..off + 6,
                    ),
                    field(
                        "Fragment offset",
                        (flags_frag & 0x1fff) * 8,
                        off + 6..off + 8,
                    ),
                    field("More fragments", flags_frag & 0x2000 != 0, off + 6..off + 8),
                    field("Time to live", ttl, off + 8..off + 9),
                    field("Protocol", crate::eve::proto_name(p), off + 9..off + 10),
                    field("Source", ip(src), off + 12..off + 16),
                    field("Destination", ip(dst), off + 16..off + 20),
                ],
            });
            if flags_frag & 0x1fff != 0 || ihl < 20 {
                return layers;
            }
            (p, off + ihl)
        }
        0x86dd => {
            let (Some(plen), Some(nh), Some(hl), Some(src), Some(dst)) = (
                b.u16(off + 4),
                b.u8(off + 6),
                b.u8(off + 7),
                data.get(off + 8..off + 24),
                data.get(off + 24..off + 40),
            ) else {
                return layers;
            };
            let ip6 = |s: &[u8]| {
                let mut a = [0u8; 16];
                a.copy_from_slice(s);
                std::net::Ipv6Addr::from(a).to_string()
            };
            layers.push(Layer {
                name: format!("Internet Protocol Version 6, {} -> {}", ip6(src), ip6(dst)),
                range: off..len,
                fields: vec![
                    field("Payload length", plen, off + 4..off + 6),
                    field("Next header", crate::eve::proto_name(nh), off + 6..off + 7),
                    field("Hop limit", hl, off + 7..off + 8),
                    field("Source", ip6(src), off + 8..off + 24),
                    field("Destination", ip6(dst), off + 24..off + 40),
                ],
            });
            (nh, off + 40)
        }
        _ => return layers,
    };
    let payload_at = match proto {
        6 => {
            let (Some(sp), Some(dp), Some(seq), Some(ack), Some(doff), Some(flags), Some(win)) = (
                b.u16(l4),
                b.u16(l4 + 2),
                b.u32(l4 + 4),
                b.u32(l4 + 8),
                b.u8(l4 + 12),
                b.u8(l4 + 13),
                b.u16(l4 + 14),
            ) else {
                return layers;
            };
            let hlen = usize::from(doff >> 4) * 4;
            layers.push(Layer {
                name: format!(
                    "Transmission Control Protocol, {sp} -> {dp} [{}]",
                    tcp_flags(flags)
                ),
                range: l4..len,
                fields: vec![
                    field("Source port", sp, l4..l4 + 2),
                    field("Destination port", dp, l4 + 2..l4 + 4),
                    field("Sequence number", seq, l4 + 4..l4 + 8),
                    field("Acknowledgment number", ack, l4 + 8..l4 + 12),
                    field("Header length", format!("{hlen} bytes"), l4 + 12..l4 + 13),
                    field("Flags", tcp_flags(flags), l4 + 13..l4 + 14),
                    field("Window", win, l4 + 14..l4 + 16),
                ],
            });
            l4 + hlen.max(20)
        }
        17 => {
            let (Some(sp), Some(dp), Some(ulen)) = (b.u16(l4), b.u16(l4 + 2), b.u16(l4 + 4)) else {
                return layers;
            };
            layers.push(Layer {
                name: format!("User Datagram Protocol, {sp} -> {dp}"),
                range: l4..len,
                fields: vec![
                    field("Source port", sp, l4..l4 + 2),
                    field("Destination port", dp, l4 + 2..l4 + 4),
                    field("Length", ulen, l4 + 4..l4 + 6),
                ],
            });
            l4 + 8
        }
        1 | 58 => {
            let (Some(t), Some(c)) = (b.u8(l4), b.u8(l4 + 1)) else {
                return layers;
            };
            let name = if proto == 1 {
                "Internet Control Message Protocol"
            } else {
                "ICMPv6"
            };
            layers.push(Layer {
                name: format!("{name}, type {t} code {c}"),
                range: l4..len,
                fields: vec![
                    field("Type", t, l4..l4 + 1),
                    field("Code", c, l4 + 1..l4 + 2),
                ],
            });
            l4 + 4
        }
        _ => return layers,
    };
    if payload_at < len {
        layers.push(Layer {
            name: format!("Payload: {} bytes", len - payload_at),
            range: payload_at..len,
            fields: vec![],
        });
    }
    layers
}

/// One-line description of a frame, like Wireshark's Info column.
pub fn summary(layers: &[Layer]) -> String {
    layers
        .iter()
        .rev()
        .find(|l| !l.name.starts_with("Payload") && !l.name.starts_with("Frame"))
        .map_or_else(|| "(undecoded)".to_string(), |l| l.name.clone())
}

/// A run of payload bytes in one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamChunk {
    /// 0 client -> server, 1 server -> client.
    pub dir: u8,
    /// The bytes.
    pub data: Vec<u8>,
    /// Bytes missing before this chunk (capture loss).
    pub gap_before: u64,
}

/// One frame of a flow, as `follow_stream` needs it.
pub struct StreamFrame<'a> {
    /// 0 client -> server, 1 server -> client.
    pub dir: u8,
    /// Link type.
    pub link_type: u32,
    /// Captured bytes.
    pub data: &'a [u8],
}

/// The payload of a flow's frames in both directions, in frame order,
/// consecutive same-direction bytes merged. TCP payload is put in
/// sequence order per direction: retransmitted bytes appear once, and
/// holes are reported as `gap_before`. Other protocols contribute each
/// datagram's payload.
pub fn follow_stream(frames: &[StreamFrame<'_>]) -> Vec<StreamChunk> {
    let mut dec = Decoder::default();
    let mut next: [Option<u32>; 2] = [None, None];
    let mut out: Vec<StreamChunk> = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let raw = RawFrame {
            ts_ns: 0,
            link_type: LinkType(f.link_type),
            orig_len: f.data.len() as u32,
            data: f.data.to_vec(),
            source: 0,
            interface: 0,
            data_offset: 0,
        };
        let decoded = dec.decode(&raw, i as u64 + 1);
        let (meta, buf): (_, &[u8]) = match &decoded {
            Decoded::Packet(m) => (m, f.data),
            Decoded::Reassembled { meta, datagram, .. } => (meta, datagram.as_slice()),
            Decoded::FragmentHeld(_) => continue,
        };
        let Some(payload) = buf.get(meta.payload.clone()) else {
            continue;
        };
        let d = usize::from(f.dir.min(1));
        let mut bytes = payload;
        let mut gap = 0u64;
        if let Some(Transport::Tcp(t)) = meta.transport {
            let syn = t.flags & 0x02 != 0;
            let start = t.seq.wrapping_add(u32::from(syn));
            match next[d] {
                None => next[d] = Some(start.wrapping_add(bytes.len() as u32)),
                Some(n) => {
                    let ahead = start.wrapping_sub(n) as i32;
                    if ahead >= 0 {
                        gap = ahead as u64;
                        next[d] = Some(start.wrapping_add(bytes.len() as u32));
                    } else {
                        let dup = ahead.unsigned_abs() as usize;
                        bytes = bytes.get(dup..).unwrap_or(&[]);
                        if !bytes.is_empty() {
                            next[d] = Some(n.wrapping_add(bytes.len() as u32));
                        }
                    }
                }
            }
        }
        if bytes.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if last.dir == d as u8 && gap == 0 => last.data.extend_from_slice(bytes),
            _ => out.push(StreamChunk {
                dir: d as u8,
                data: bytes.to_vec(),
                gap_before: gap,
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tcp_frame(seq: u32, flags: u8, payload: &[u8], to_server: bool) -> Vec<u8> {
        let mut f = vec![0u8; 14];
        f[12] = 0x08;
        let total = 20 + 20 + payload.len();
        let (s, d) = if to_server {
            ([10, 0, 0, 1], [10, 0, 0, 2])
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1])
        };
        let mut ip = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ];
        ip.extend_from_slice(&s);
        ip.extend_from_slice(&d);
        f.extend_from_slice(&ip);
        let (sp, dp): (u16, u16) = if to_server { (40000, 80) } else { (80, 40000) };
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&0u32.to_be_bytes());
        f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn layers_with_ranges() {
        let f = tcp_frame(1000, 0x18, b"GET /", true);
        let layers = dissect(1, &f);
        let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names[1], "Ethernet II");
        assert!(names[2].starts_with("Internet Protocol Version 4, 10.0.0.1 -> 10.0.0.2"));
        assert_eq!(
            names[3],
            "Transmission Control Protocol, 40000 -> 80 [PSH,ACK]"
        );
        assert_eq!(names[4], "Payload: 5 bytes");
        assert_eq!(layers[4].range, 54..59);
        let sport = &layers[3].fields[0];
        assert_eq!(
            (sport.value.as_str(), sport.range.clone()),
            ("40000", 34..36)
        );
        assert_eq!(&f[sport.range.clone()], &40000u16.to_be_bytes());
        assert_eq!(summary(&layers), names[3]);
    }

    #[test]
    fn truncation_at_every_offset_never_panics() {
        let f = tcp_frame(1, 0x18, b"hello", true);
        for cut in 0..f.len() {
            for lt in [0, 1, 101, 113, 228, 229, 9999] {
                let _ = summary(&dissect(lt, &f[..cut]));
            }
        }
    }

    #[test]
    fn follow_stream_orders_and_drops_retransmissions() {
        let frames = [
            tcp_frame(99, 0x02, b"", true),
            tcp_frame(100, 0x18, b"GET / ", true),
            tcp_frame(100, 0x18, b"GET / ", true),
            tcp_frame(106, 0x18, b"HTTP/1.1\r\n", true),
            tcp_frame(5000, 0x18, b"HTTP/1.1 200 OK", false),
            tcp_frame(130, 0x18, b"late", true),
        ];
        let sf: Vec<StreamFrame<'_>> = frames
            .iter()
            .enumerate()
            .map(|(i, d)| StreamFrame {
                dir: u8::from(i == 4),
                link_type: 1,
                data: d,
            })
            .collect();
        let chunks = follow_stream(&sf);
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].data, b"GET / HTTP/1.1\r\n");
        assert_eq!(
            (chunks[1].dir, chunks[1].data.as_slice()),
            (1, &b"HTTP/1.1 200 OK"[..])
        );
        assert_eq!(
            (chunks[2].gap_before, chunks[2].data.as_slice()),
            (14, &b"late"[..])
        );
    }
}
