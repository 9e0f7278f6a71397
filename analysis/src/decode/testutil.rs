//! Frame builders and capture replay for the decoder's tests.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use osprey_capture::{FileSource, FrameSource, LinkType, RawFrame};

use super::ip::ipv4_checksum;
use super::{DecodeAnomaly, Decoded, Decoder};

/// Test IPv4 source address.
pub const A4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Test IPv4 destination address.
pub const B4: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Test IPv6 source address.
pub const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// Test IPv6 destination address.
pub const B6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// A frame of `link` type with `data`, captured at `ts_ns`.
pub fn frame_at(link: u32, data: Vec<u8>, ts_ns: i64) -> RawFrame {
    RawFrame {
        ts_ns,
        link_type: LinkType(link),
        orig_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
        data,
        source: 0,
        interface: 0,
        data_offset: 0,
    }
}

/// An Ethernet frame (link type 1) at time 0.
pub fn eth_frame(data: Vec<u8>) -> RawFrame {
    frame_at(1, data, 0)
}

/// Ethernet II header + `payload`.
pub fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2];
    v.extend_from_slice(&ethertype.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// IPv4 header fields a test varies.
#[derive(Clone, Copy)]
pub struct V4 {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub proto: u8,
    pub id: u16,
    /// Fragment offset in 8-byte units.
    pub off8: u16,
    pub mf: bool,
}

impl V4 {
    /// A→B, protocol `proto`, not fragmented.
    pub fn new(proto: u8) -> Self {
        V4 {
            src: A4,
            dst: B4,
            proto,
            id: 0x1234,
            off8: 0,
            mf: false,
        }
    }

    /// Same header as fragment `off8`/`mf` of datagram `id`.
    pub fn frag(self, id: u16, off8: u16, mf: bool) -> Self {
        V4 {
            id,
            off8,
            mf,
            ..self
        }
    }

    /// Header (20 bytes, valid checksum) + `payload`.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let total = u16::try_from(20 + payload.len()).unwrap_or(u16::MAX);
        let fo = self.off8 | if self.mf { 0x2000 } else { 0 };
        let mut h = vec![0x45, 0];
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&self.id.to_be_bytes());
        h.extend_from_slice(&fo.to_be_bytes());
        h.extend_from_slice(&[64, self.proto, 0, 0]);
        h.extend_from_slice(&self.src.octets());
        h.extend_from_slice(&self.dst.octets());
        let sum = ipv4_checksum(&h);
        h[10..12].copy_from_slice(&sum.to_be_bytes());
        h.extend_from_slice(payload);
        h
    }
}

/// IPv6 header (next header `nh`) + `payload` (extension headers included).
pub fn ipv6(nh: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    let plen = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    h.extend_from_slice(&plen.to_be_bytes());
    h.extend_from_slice(&[nh, 64]);
    h.extend_from_slice(&A6.octets());
    h.extend_from_slice(&B6.octets());
    h.extend_from_slice(payload);
    h
}

/// IPv6 Fragment header (RFC 8200 §4.5).
pub fn frag6(nh: u8, off8: u16, more: bool, id: u32) -> Vec<u8> {
    let fo = (off8 << 3) | u16::from(more);
    let mut v = vec![nh, 0];
    v.extend_from_slice(&fo.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v
}

/// A generic 8-byte IPv6 extension header (hop-by-hop, destination
/// options, routing) with next header `nh`.
pub fn ext6(nh: u8) -> Vec<u8> {
    vec![nh, 0, 1, 4, 0, 0, 0, 0]
}

/// UDP header + `payload` (checksum 0).
pub fn udp(sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(8 + payload.len()).unwrap_or(u16::MAX);
    let mut v = Vec::new();
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(payload);
    v
}

/// TCP header with `flags` and options `opts` (padded to 4 bytes) +
/// `payload`.
pub fn tcp(sp: u16, dp: u16, flags: u8, opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut o = opts.to_vec();
    while !o.len().is_multiple_of(4) {
        o.push(0);
    }
    let doff = u8::try_from((20 + o.len()) / 4).unwrap_or(15);
    let mut v = Vec::new();
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&1000u32.to_be_bytes());
    v.extend_from_slice(&2000u32.to_be_bytes());
    v.extend_from_slice(&[doff << 4, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
    v.extend_from_slice(&o);
    v.extend_from_slice(payload);
    v
}

/// VXLAN header (I flag) with `vni` + `inner` Ethernet frame.
pub fn vxlan(vni: u32, inner: &[u8]) -> Vec<u8> {
    let b = vni.to_be_bytes();
    let mut v = vec![0x08, 0, 0, 0, b[1], b[2], b[3], 0];
    v.extend_from_slice(inner);
    v
}

/// The anomalies of a decode.
pub fn anomalies(d: &Decoded) -> &[DecodeAnomaly] {
    &d.meta().anomalies
}

/// Path of a shared sample capture, if this machine has it (the samples
/// are not part of the repository).
pub fn sample(name: &str) -> Option<PathBuf> {
    let p = Path::new("/work/shared/pcaps").join(name);
    p.exists().then_some(p)
}

/// Every frame of a capture file (empty when it cannot be read).
pub fn read_frames(path: &Path) -> Vec<RawFrame> {
    let mut out = Vec::new();
    let Ok(mut src) = FileSource::open(path, 0) else {
        return out;
    };
    while let Ok(Some(f)) = src.next_frame() {
        out.push(f);
    }
    out
}

/// Decode every frame of `frames` with a fresh default decoder, numbering
/// them from 1, and return the outcomes.
pub fn decode_all(frames: &[RawFrame]) -> Vec<Decoded> {
    let mut d = Decoder::default();
    frames
        .iter()
        .zip(1u64..)
        .map(|(f, n)| d.decode(f, n))
        .collect()
}
