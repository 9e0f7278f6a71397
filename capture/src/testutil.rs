//! Test helpers: byte-exact builders for pcap and pcapng files, written
//! field by field (not with the crate's writers) so the reader is checked
//! against an independent encoding, in either byte order.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::CaptureError;
use crate::file::FileSource;
use crate::frame::{LinkType, RawFrame};
use crate::FrameSource;

/// A classic pcap file under construction.
pub(crate) struct PcapBuilder {
    pub bytes: Vec<u8>,
    be: bool,
    /// Offsets where a record (or the header) ends.
    pub boundaries: Vec<usize>,
    /// `data_offset` of each record, in order.
    pub data_offsets: Vec<u64>,
}

impl PcapBuilder {
    /// Header with the µs or ns magic, in big- or little-endian order.
    pub fn new(be: bool, nanosecond: bool, link_type: u32, snaplen: u32) -> PcapBuilder {
        let mut b = PcapBuilder {
            bytes: Vec::new(),
            be,
            boundaries: Vec::new(),
            data_offsets: Vec::new(),
        };
        b.u32(if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        b.u16(2);
        b.u16(4);
        b.u32(0);
        b.u32(0);
        b.u32(snaplen);
        b.u32(link_type);
        b.boundaries.push(b.bytes.len());
        b
    }

    pub fn u16(&mut self, v: u16) {
        let bytes = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&bytes);
    }

    pub fn u32(&mut self, v: u32) {
        let bytes = if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        self.bytes.extend_from_slice(&bytes);
    }

    /// A record with caplen = `data.len()`.
    pub fn record(&mut self, sec: u32, frac: u32, orig_len: u32, data: &[u8]) -> &mut Self {
        self.raw_record(sec, frac, data.len() as u32, orig_len, data)
    }

    /// A record with any caplen field (for malformed files).
    pub fn raw_record(
        &mut self,
        sec: u32,
        frac: u32,
        caplen: u32,
        orig_len: u32,
        data: &[u8],
    ) -> &mut Self {
        self.u32(sec);
        self.u32(frac);
        self.u32(caplen);
        self.u32(orig_len);
        self.data_offsets.push(self.bytes.len() as u64);
        self.bytes.extend_from_slice(data);
        self.boundaries.push(self.bytes.len());
        self
    }
}

/// A pcapng file under construction; the byte order follows the last SHB.
#[derive(Default)]
pub(crate) struct NgBuilder {
    pub bytes: Vec<u8>,
    be: bool,
    /// Offsets where a block ends.
    pub boundaries: Vec<usize>,
    /// `data_offset` of each packet block, in order.
    pub data_offsets: Vec<u64>,
}

fn pad4(n: usize) -> usize {
    (4 - n % 4) % 4
}

impl NgBuilder {
    pub fn new() -> NgBuilder {
        NgBuilder::default()
    }

    fn put32(&self, out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    fn put16(&self, out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&if self.be {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    /// Any block: type, length, body padded to 32 bits, length.
    pub fn block(&mut self, block_type: u32, body: &[u8]) -> &mut Self {
        let len = (12 + body.len() + pad4(body.len())) as u32;
        let mut b = Vec::new();
        self.put32(&mut b, block_type);
        self.put32(&mut b, len);
        b.extend_from_slice(body);
        b.resize(b.len() + pad4(body.len()), 0);
        self.put32(&mut b, len);
        self.bytes.extend_from_slice(&b);
        self.boundaries.push(self.bytes.len());
        self
    }

    /// Section Header Block v1.0 with a `shb_userappl` option.
    pub fn shb(&mut self, be: bool) -> &mut Self {
        self.be = be;
        let mut body = Vec::new();
        self.put32(&mut body, 0x1A2B_3C4D);
        self.put16(&mut body, 1);
        self.put16(&mut body, 0);
        body.extend_from_slice(&[0xff; 8]); // section length -1
        self.option(&mut body, 4, b"osprey-test");
        self.put32(&mut body, 0); // opt_endofopt
        self.block(0x0A0D_0D0A, &body)
    }

    fn option(&self, body: &mut Vec<u8>, code: u16, value: &[u8]) {
        self.put16(body, code);
        self.put16(body, value.len() as u16);
        body.extend_from_slice(value);
        body.resize(body.len() + pad4(value.len()), 0);
    }

    /// Interface Description Block with optional `if_tsresol`/`if_tsoffset`.
    pub fn idb(
        &mut self,
        link_type: u16,
        snaplen: u32,
        tsresol: Option<u8>,
        tsoffset: Option<i64>,
    ) -> &mut Self {
        let mut body = Vec::new();
        self.put16(&mut body, link_type);
        self.put16(&mut body, 0);
        self.put32(&mut body, snaplen);
        self.option(&mut body, 2, b"eth0");
        if let Some(r) = tsresol {
            self.option(&mut body, 9, &[r]);
        }
        if let Some(o) = tsoffset {
            let v = if self.be {
                o.to_be_bytes()
            } else {
                o.to_le_bytes()
            };
            self.option(&mut body, 14, &v);
        }
        self.put32(&mut body, 0);
        self.block(1, &body)
    }

    /// Enhanced Packet Block (with an `opt_comment` if `comment`).
    pub fn epb(
        &mut self,
        if_id: u32,
        ticks: u64,
        orig_len: u32,
        data: &[u8],
        comment: bool,
    ) -> &mut Self {
        let mut body = Vec::new();
        self.put32(&mut body, if_id);
        self.put32(&mut body, (ticks >> 32) as u32);
        self.put32(&mut body, ticks as u32);
        self.put32(&mut body, data.len() as u32);
        self.put32(&mut body, orig_len);
        body.extend_from_slice(data);
        body.resize(body.len() + pad4(data.len()), 0);
        if comment {
            self.option(&mut body, 1, b"hello");
            self.put32(&mut body, 0);
        }
        self.data_offsets.push(self.bytes.len() as u64 + 28);
        self.block(6, &body)
    }

    /// Obsolete Packet Block (16-bit interface id, drop count).
    pub fn pb(&mut self, if_id: u16, ticks: u64, orig_len: u32, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        self.put16(&mut body, if_id);
        self.put16(&mut body, 0);
        self.put32(&mut body, (ticks >> 32) as u32);
        self.put32(&mut body, ticks as u32);
        self.put32(&mut body, data.len() as u32);
        self.put32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.data_offsets.push(self.bytes.len() as u64 + 28);
        self.block(2, &body)
    }

    /// Simple Packet Block.
    pub fn spb(&mut self, orig_len: u32, data: &[u8]) -> &mut Self {
        let mut body = Vec::new();
        self.put32(&mut body, orig_len);
        body.extend_from_slice(data);
        self.data_offsets.push(self.bytes.len() as u64 + 12);
        self.block(3, &body)
    }
}

/// Reads `bytes` to the end: the frames, and the error that stopped it.
/// Also checks that a source stays finished after its end or error.
pub(crate) fn read_all(bytes: &[u8]) -> (Vec<RawFrame>, Option<CaptureError>) {
    let mut src = match FileSource::from_reader(Cursor::new(bytes.to_vec()), "mem.cap", 3) {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut frames = Vec::new();
    let err = loop {
        match src.next_frame() {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => break None,
            Err(e) => break Some(e),
        }
    };
    assert!(src.next_frame().unwrap().is_none(), "source must be fused");
    assert!(src.next_frame().unwrap().is_none(), "source must be fused");
    (frames, err)
}

/// Deterministic filler bytes.
pub(crate) fn payload(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(7)))
        .collect()
}

/// Two sections (LE then BE), two interfaces each, with different link
/// types, resolutions and offsets, and every packet block kind.
pub(crate) fn two_section_pcapng() -> (NgBuilder, Vec<RawFrame>) {
    let mut b = NgBuilder::new();
    let frame = |ts_ns, lt: LinkType, orig_len, data: Vec<u8>, interface| RawFrame {
        ts_ns,
        link_type: lt,
        orig_len,
        data,
        source: 3,
        interface,
        data_offset: 0,
    };
    let mut want = Vec::new();
    b.shb(false)
        .idb(1, 65535, None, None)
        .idb(101, 0, Some(9), None)
        .epb(0, 1_700_000_000_123_456, 60, &payload(60, 1), true);
    want.push(frame(
        1_700_000_000_123_456_000,
        LinkType::ETHERNET,
        60,
        payload(60, 1),
        0,
    ));
    b.block(0x0000_0BAD, &payload(13, 9))
        .block(4, &[0, 0, 0, 0])
        .epb(1, 1_700_000_001_000_000_001, 41, &payload(41, 2), false);
    want.push(frame(
        1_700_000_001_000_000_001,
        LinkType::RAW,
        41,
        payload(41, 2),
        1,
    ));
    b.pb(0, 1_700_000_002_000_001, 17, &payload(17, 3));
    want.push(frame(
        1_700_000_002_000_001_000,
        LinkType::ETHERNET,
        17,
        payload(17, 3),
        0,
    ));
    b.spb(30, &payload(30, 4));
    want.push(frame(
        1_700_000_002_000_001_000,
        LinkType::ETHERNET,
        30,
        payload(30, 4),
        0,
    ));
    // Section 2: 2^-10 s ticks + 1.6e9 s offset; ms ticks - 100 s offset.
    b.shb(true)
        .idb(113, 20, Some(0x80 | 10), Some(1_600_000_000))
        .idb(0, 65535, Some(3), Some(-100))
        .epb(1, 1_700_000_000_250, 1500, &payload(33, 5), false);
    want.push(frame(
        1_699_999_900_250_000_000,
        LinkType::NULL,
        1500,
        payload(33, 5),
        3,
    ));
    b.epb(0, 5 * 1024 + 512, 20, &payload(20, 6), true);
    want.push(frame(
        1_600_000_005_500_000_000,
        LinkType::LINUX_SLL,
        20,
        payload(20, 6),
        2,
    ));
    b.spb(50, &payload(20, 7));
    want.push(frame(
        1_600_000_005_500_000_000,
        LinkType::LINUX_SLL,
        50,
        payload(20, 7),
        2,
    ));
    for (f, off) in want.iter_mut().zip(&b.data_offsets) {
        f.data_offset = *off;
    }
    (b, want)
}

/// `(ts_ns, cap_len, len)` per frame as tshark sees it, or `None` if tshark
/// is missing.
pub(crate) fn tshark_frames(path: &Path) -> Option<Vec<(i64, u32, u32)>> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args(["-T", "fields", "-e", "frame.time_epoch"])
        .args(["-e", "frame.cap_len", "-e", "frame.len"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let parse_ts = |s: &str| -> i64 {
        let (sec, frac) = s.split_once('.').unwrap_or((s, "0"));
        let frac = format!("{frac:0<9}");
        sec.parse::<i64>().unwrap() * 1_000_000_000 + frac[..9].parse::<i64>().unwrap()
    };
    Some(
        text.lines()
            .map(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                (parse_ts(c[0]), c[1].parse().unwrap(), c[2].parse().unwrap())
            })
            .collect(),
    )
}

/// The shared real-capture corpus (outside the repo; may be absent).
pub(crate) fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/pcaps"))
}

/// Path of `tshark`, if installed.
pub(crate) fn which_tshark() -> Option<PathBuf> {
    let out = Command::new("which").arg("tshark").output().ok()?;
    let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !p.is_empty()).then(|| PathBuf::from(p))
}

/// A reader that hands out at most 3 bytes per call, with an `Interrupted`
/// error every fourth call: what a pipe or a slow disk may do.
pub(crate) struct Dribble {
    data: Vec<u8>,
    at: usize,
    calls: usize,
}

impl Dribble {
    /// Reads `data` out in dribbles.
    pub fn new(data: Vec<u8>) -> Self {
        Dribble {
            data,
            at: 0,
            calls: 0,
        }
    }
}

impl std::io::Read for Dribble {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.calls += 1;
        if self.calls % 4 == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::Interrupted));
        }
        let k = out.len().min(3).min(self.data.len() - self.at);
        out[..k].copy_from_slice(&self.data[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}
