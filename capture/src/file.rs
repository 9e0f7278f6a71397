//! Reading classic pcap and pcapng files as a stream of [`RawFrame`]s.
//!
//! Contract:
//! - Formats: classic pcap (micro- and nanosecond magic, both byte orders,
//!   and the little-endian "modified" Kuznetzov variant) and pcapng (any
//!   number of sections of either byte order, any number of interfaces per
//!   section, per-interface link type, `if_tsresol` in both power-of-10 and
//!   power-of-2 forms, and `if_tsoffset`). Packet blocks read: Enhanced,
//!   Simple and the obsolete Packet Block; every other block is skipped.
//! - Streaming: one fixed 1 MiB buffer, refilled with large reads. Every
//!   length field is checked against [`MAX_RECORD_BYTES`] before the record
//!   is buffered, so memory use does not depend on the input.
//! - Provenance: `data_offset` is the absolute file offset of the first
//!   captured byte; `interface` is the pcapng interface id, numbered
//!   globally across sections (the first interface of section 2 follows the
//!   last of section 1) so ids are unique per file; 0 for classic pcap.
//! - Timestamps become `i64` nanoseconds since the epoch. Resolutions finer
//!   than 1 ns are truncated; values outside the `i64` range saturate.
//!   Classic pcap's `thiszone` is ignored (as libpcap does). A Simple Packet
//!   Block has no timestamp; it gets the previous frame's timestamp (0 if it
//!   is the first), so merged output stays in order.
//! - Errors: a bad magic or empty file is `NotACapture`; a file ending
//!   inside a record (or inside the file header) is `Truncated`, with every
//!   frame before it returned first; bad structure is `Malformed` or
//!   `RecordTooLarge`. After any error the source is finished and returns
//!   `Ok(None)`. Nothing here panics on any input.
//!
//! pcap-parser parses the file header, Section Header and Interface
//! Description blocks (the option-bearing ones). Block framing (lengths,
//! trailers, the size cap) and the fixed-layout packet records are decoded
//! here, because the reader must know exact offsets, check every length
//! before buffering, and give precise reasons for malformed input.

pub(crate) mod buffer;
mod pcapng;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod bad_input_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use pcap_parser::parse_pcap_header;

use crate::error::{CaptureError, MAX_RECORD_BYTES};
use crate::frame::{LinkType, RawFrame};
use crate::FrameSource;

use buffer::{ChunkBuffer, BUF_BYTES};

/// Magic of a pcapng Section Header Block (the same in both byte orders).
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];

/// Every classic pcap magic the reader understands, as the first 4 bytes.
const PCAP_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1], // µs, little-endian
    [0xa1, 0xb2, 0xc3, 0xd4], // µs, big-endian
    [0x4d, 0x3c, 0xb2, 0xa1], // ns, little-endian
    [0xa1, 0xb2, 0x3c, 0x4d], // ns, big-endian
    [0x34, 0xcd, 0xb2, 0xa1], // modified (Kuznetzov) µs, little-endian
];

/// Length of the classic pcap file header.
const PCAP_HEADER_BYTES: usize = 24;

/// Which container format a file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap format.
    Pcap {
        /// Fields are big-endian.
        big_endian: bool,
        /// Timestamps have nanosecond (not microsecond) fractions.
        nanosecond: bool,
        /// The "modified" format with 24-byte record headers.
        modified: bool,
    },
    /// pcapng; byte order may change per section.
    Pcapng,
}

/// One capture interface of a file, as described by its header or IDB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceInfo {
    /// Link type of every frame captured on it.
    pub link_type: LinkType,
    /// Snapshot length (0 = unlimited).
    pub snaplen: u32,
    /// pcapng section it belongs to (0-based; 0 for classic pcap).
    pub section: u32,
    /// Raw `if_tsresol` byte: bit 7 clear = 10^-n s, set = 2^-n s
    /// (6 for µs classic pcap, 9 for ns).
    pub if_tsresol: u8,
    /// `if_tsoffset`, seconds added to every timestamp.
    pub if_tsoffset_s: i64,
    scale: TsScale,
}

impl InterfaceInfo {
    fn new(
        link_type: LinkType,
        snaplen: u32,
        section: u32,
        if_tsresol: u8,
        if_tsoffset_s: i64,
    ) -> Option<InterfaceInfo> {
        Some(InterfaceInfo {
            link_type,
            snaplen,
            section,
            if_tsresol,
            if_tsoffset_s,
            scale: TsScale::from_tsresol(if_tsresol)?,
        })
    }

    /// Converts a raw timestamp in this interface's units to ns since epoch.
    #[inline]
    fn ts_ns(&self, ticks: u64) -> i64 {
        let ns = i128::from(self.if_tsoffset_s) * 1_000_000_000 + self.scale.to_ns(ticks);
        i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })
    }
}

/// How to turn timestamp ticks into nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsScale {
    /// Ticks are coarser than 1 ns: multiply.
    Mul(u64),
    /// Ticks are finer than 1 ns (power of 10): divide.
    Div(u64),
    /// Ticks are 2^-k s: ns = ticks * 10^9 / 2^k.
    Pow2(u32),
}

impl TsScale {
    /// Decodes `if_tsresol`; `None` for resolutions beyond 10^-19 / 2^-63.
    fn from_tsresol(tsresol: u8) -> Option<TsScale> {
        let exp = u32::from(tsresol & 0x7f);
        if tsresol & 0x80 != 0 {
            return (exp <= 63).then_some(TsScale::Pow2(exp));
        }
        match exp {
            0..=9 => Some(TsScale::Mul(10u64.pow(9 - exp))),
            10..=19 => Some(TsScale::Div(10u64.pow(exp - 9))),
            _ => None,
        }
    }

    #[inline]
    fn to_ns(self, ticks: u64) -> i128 {
        match self {
            TsScale::Mul(m) => i128::from(ticks) * i128::from(m),
            TsScale::Div(d) => i128::from(ticks / d),
            TsScale::Pow2(k) => ((u128::from(ticks) * 1_000_000_000) >> k) as i128,
        }
    }
}

/// Per-format reading state.
enum Reader {
    Pcap {
        big_endian: bool,
        record_header: usize,
        frac_to_ns: i64,
    },
    Pcapng,
}

/// A capture file read as a stream of frames. See the module docs.
pub struct FileSource {
    path: PathBuf,
    source: u32,
    file_len: Option<u64>,
    buf: ChunkBuffer,
    format: CaptureFormat,
    interfaces: Vec<InterfaceInfo>,
    reader: Reader,
    ng: pcapng::NgState,
    done: bool,
    /// Data buffers given back with [`FrameSource::recycle`], reused for
    /// the next frames (at most [`MAX_SPARE_BUFFERS`], none over
    /// [`MAX_SPARE_CAPACITY`] bytes: at most 16 MiB held).
    spares: Vec<Vec<u8>>,
}

/// Most recycled data buffers a [`FileSource`] keeps.
pub const MAX_SPARE_BUFFERS: usize = 1024;
/// Recycled buffers with more capacity than this are freed, not kept.
pub const MAX_SPARE_CAPACITY: usize = 16 * 1024;

impl std::fmt::Debug for FileSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSource")
            .field("path", &self.path)
            .field("source", &self.source)
            .field("format", &self.format)
            .field("bytes_read", &self.bytes_read())
            .finish_non_exhaustive()
    }
}

impl FileSource {
    /// Opens a capture file; frames will carry `source` as their source index.
    ///
    /// Reads and checks the file header (for pcapng, the first Section
    /// Header Block). Fails with `NotACapture` for an empty or foreign file
    /// and `Truncated { offset: 0 }` if the header itself is cut short.
    pub fn open(path: &Path, source: u32) -> Result<FileSource, CaptureError> {
        let io_err = |e| CaptureError::Io {
            path: path.to_path_buf(),
            offset: 0,
            source: e,
        };
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        Self::with_reader(Box::new(file), path.to_path_buf(), source, Some(len))
    }

    /// Reads a capture from any byte stream (a pipe, stdin, memory).
    /// `path` is only used to name the input in errors; `file_len()` is
    /// `None`.
    pub fn from_reader<R: Read + Send + 'static>(
        reader: R,
        path: impl Into<PathBuf>,
        source: u32,
    ) -> Result<FileSource, CaptureError> {
        Self::with_reader(Box::new(reader), path.into(), source, None)
    }

    fn with_reader(
        reader: Box<dyn Read + Send>,
        path: PathBuf,
        source: u32,
        file_len: Option<u64>,
    ) -> Result<FileSource, CaptureError> {
        let mut src = FileSource {
            path,
            source,
            file_len,
            buf: ChunkBuffer::new(reader, BUF_BYTES),
            format: CaptureFormat::Pcapng,
            interfaces: Vec::new(),
            reader: Reader::Pcapng,
            ng: pcapng::NgState::default(),
            done: false,
            spares: Vec::new(),
        };
        src.fill(4)?;
        let head = src.buf.data();
        let magic: [u8; 4] = match head.get(..4).and_then(|m| m.try_into().ok()) {
            Some(m) => m,
            None => {
                let is_prefix = !head.is_empty()
                    && PCAP_MAGICS
                        .iter()
                        .chain(std::iter::once(&PCAPNG_MAGIC))
                        .any(|m| m.starts_with(head));
                return Err(if is_prefix {
                    src.truncated(0)
                } else {
                    src.not_a_capture()
                });
            }
        };
        if magic == PCAPNG_MAGIC {
            src.open_pcapng()?;
        } else if PCAP_MAGICS.contains(&magic) {
            src.open_pcap()?;
        } else {
            return Err(src.not_a_capture());
        }
        Ok(src)
    }

    fn open_pcap(&mut self) -> Result<(), CaptureError> {
        if !self.fill(PCAP_HEADER_BYTES)? {
            return Err(self.truncated(0));
        }
        let header = match parse_pcap_header(&self.buf.data()[..PCAP_HEADER_BYTES]) {
            Ok((_, h)) => h,
            // Unreachable in practice: the magic was checked against the
            // same list pcap-parser accepts, and 24 bytes are buffered.
            Err(_) => return Err(self.not_a_capture()),
        };
        let big_endian = header.is_bigendian();
        let nanosecond = header.is_nanosecond_precision();
        let modified = header.is_modified_format();
        // The upper 16 bits of the link-type field carry FCS information
        // (draft-ietf-opsawg-pcap, section 4 "LinkType").
        let link_type = LinkType(header.network.0 as u32 & 0xffff);
        let tsresol = if nanosecond { 9 } else { 6 };
        let iface = InterfaceInfo::new(link_type, header.snaplen, 0, tsresol, 0)
            .ok_or_else(|| self.malformed(0, "bad timestamp resolution".into()))?;
        self.interfaces.push(iface);
        self.format = CaptureFormat::Pcap {
            big_endian,
            nanosecond,
            modified,
        };
        self.reader = Reader::Pcap {
            big_endian,
            record_header: if modified { 24 } else { 16 },
            frac_to_ns: if nanosecond { 1 } else { 1000 },
        };
        self.buf.consume(PCAP_HEADER_BYTES);
        Ok(())
    }

    fn open_pcapng(&mut self) -> Result<(), CaptureError> {
        self.format = CaptureFormat::Pcapng;
        match self.next_ng_block()? {
            pcapng::Step::Frame(_) | pcapng::Step::End => {
                Err(self.malformed(0, "pcapng file does not start with a section header".into()))
            }
            pcapng::Step::Skipped => Ok(()),
        }
    }

    /// The path given at open (or the label given to `from_reader`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The source index stamped on every frame.
    pub fn source(&self) -> u32 {
        self.source
    }

    /// The container format.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Interfaces seen so far, indexed by the frames' `interface` field.
    /// Classic pcap has exactly one; pcapng grows as IDBs are read.
    pub fn interfaces(&self) -> &[InterfaceInfo] {
        &self.interfaces
    }

    /// Distinct link types of the interfaces seen so far, in first-seen order.
    pub fn link_types(&self) -> Vec<LinkType> {
        let mut out: Vec<LinkType> = Vec::new();
        for i in &self.interfaces {
            if !out.contains(&i.link_type) {
                out.push(i.link_type);
            }
        }
        out
    }

    /// Bytes of the file consumed so far (offset of the next record), for
    /// progress reporting against [`Self::file_len`].
    pub fn bytes_read(&self) -> u64 {
        self.buf.pos()
    }

    /// Size of the file at open time; `None` for `from_reader` streams.
    pub fn file_len(&self) -> Option<u64> {
        self.file_len
    }

    fn next_pcap(
        &mut self,
        big_endian: bool,
        hdr_len: usize,
        frac_to_ns: i64,
    ) -> Result<Option<RawFrame>, CaptureError> {
        let offset = self.buf.pos();
        if !self.fill(hdr_len)? {
            return self.end_or_truncated(offset);
        }
        let h = self.buf.data();
        let ts_sec = read_u32(h, 0, big_endian);
        let ts_frac = read_u32(h, 4, big_endian);
        let caplen = read_u32(h, 8, big_endian);
        let orig_len = read_u32(h, 12, big_endian);
        if caplen > MAX_RECORD_BYTES {
            return Err(CaptureError::RecordTooLarge {
                path: self.path.clone(),
                offset,
                len: caplen,
            });
        }
        let total = hdr_len + caplen as usize;
        if !self.fill(total)? {
            return Err(self.truncated(offset));
        }
        let data = frame_data(&mut self.spares, &self.buf.data()[hdr_len..total]);
        self.buf.consume(total);
        let link_type = self.interfaces.first().map_or(LinkType(0), |i| i.link_type);
        Ok(Some(RawFrame {
            ts_ns: i64::from(ts_sec) * 1_000_000_000 + i64::from(ts_frac) * frac_to_ns,
            link_type,
            orig_len,
            data,
            source: self.source,
            interface: 0,
            data_offset: offset + hdr_len as u64,
        }))
    }

    /// Buffers `n` bytes; `Ok(false)` if the input ends first.
    #[inline]
    fn fill(&mut self, n: usize) -> Result<bool, CaptureError> {
        self.buf.fill(n).map_err(|e| CaptureError::Io {
            path: self.path.clone(),
            offset: self.buf.pos(),
            source: e,
        })
    }

    /// At a record boundary: clean end if nothing is left, else truncation.
    fn end_or_truncated<T>(&self, offset: u64) -> Result<Option<T>, CaptureError> {
        if self.buf.data().is_empty() {
            Ok(None)
        } else {
            Err(self.truncated(offset))
        }
    }

    fn truncated(&self, offset: u64) -> CaptureError {
        CaptureError::Truncated {
            path: self.path.clone(),
            offset,
        }
    }

    fn not_a_capture(&self) -> CaptureError {
        CaptureError::NotACapture {
            path: self.path.clone(),
            offset: 0,
        }
    }

    fn malformed(&self, offset: u64, reason: String) -> CaptureError {
        CaptureError::Malformed {
            path: self.path.clone(),
            offset,
            reason,
        }
    }
}

/// A frame's bytes in a recycled buffer when one is spare (no allocation),
/// else in a new one.
fn frame_data(spares: &mut Vec<Vec<u8>>, bytes: &[u8]) -> Vec<u8> {
    match spares.pop() {
        Some(mut v) => {
            v.clear();
            v.extend_from_slice(bytes);
            v
        }
        None => bytes.to_vec(),
    }
}

impl FrameSource for FileSource {
    fn recycle(&mut self, buf: Vec<u8>) {
        if self.spares.len() < MAX_SPARE_BUFFERS && buf.capacity() <= MAX_SPARE_CAPACITY {
            self.spares.push(buf);
        }
    }

    fn next_frame(&mut self) -> Result<Option<RawFrame>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let result = match &self.reader {
            &Reader::Pcap {
                big_endian,
                record_header,
                frac_to_ns,
            } => self.next_pcap(big_endian, record_header, frac_to_ns),
            Reader::Pcapng => loop {
                match self.next_ng_block() {
                    Ok(pcapng::Step::Frame(f)) => break Ok(Some(f)),
                    Ok(pcapng::Step::Skipped) => {}
                    Ok(pcapng::Step::End) => break Ok(None),
                    Err(e) => break Err(e),
                }
            },
        };
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }
}

/// Reads a `u32` at `at` in the given byte order. `bytes` must be long
/// enough (callers have buffered the whole header); short input reads as 0.
#[inline]
fn read_u32(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    let b: [u8; 4] = match bytes.get(at..at + 4).and_then(|s| s.try_into().ok()) {
        Some(b) => b,
        None => return 0,
    };
    if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    }
}
