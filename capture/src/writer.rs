//! Writing frames back out, and fetching frame bytes from an original file.
//!
//! Contract:
//! - Frame bytes are written exactly as given; `orig_len` is written as
//!   given (even when smaller than the data, so odd inputs survive export).
//! - [`PcapWriter`] writes little-endian classic pcap. With `nanosecond`
//!   timestamps are exact; with microseconds they are truncated to the µs.
//! - [`PcapngWriter`] writes one section, one Interface Description Block per
//!   distinct link type (added when first used, `if_tsresol` = 9, so
//!   timestamps are exact), and Enhanced Packet Blocks padded to 32 bits.
//! - Values a format cannot hold (a negative or post-2106 timestamp, a frame
//!   over [`MAX_RECORD_BYTES`], a link type over 16 bits in pcapng) are
//!   refused with `io::ErrorKind::InvalidInput` and nothing is written.
//! - Errors are plain `io::Error`s: writers work over any `Write`, which
//!   has no path; [`PcapWriter::create`]/[`PcapngWriter::create`] name the
//!   path in a [`CaptureError`] when the file cannot be created.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::error::{CaptureError, MAX_RECORD_BYTES};
use crate::frame::{LinkType, RawFrame};

const NS_PER_S: i64 = 1_000_000_000;

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn create_file(path: &Path) -> Result<BufWriter<File>, CaptureError> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 20, f))
        .map_err(|source| CaptureError::Io {
            path: path.to_path_buf(),
            offset: 0,
            source,
        })
}

/// Checks that a frame fits a record; returns its captured length.
fn check_len(data: &[u8]) -> io::Result<u32> {
    match u32::try_from(data.len()) {
        Ok(n) if n <= MAX_RECORD_BYTES => Ok(n),
        _ => Err(invalid(format!(
            "frame of {} bytes exceeds the {MAX_RECORD_BYTES}-byte record limit",
            data.len()
        ))),
    }
}

/// A classic (libpcap) file writer, little-endian, one link type.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
    link_type: LinkType,
    nanosecond: bool,
}

impl PcapWriter<BufWriter<File>> {
    /// Creates (or truncates) `path` and writes the file header.
    pub fn create(
        path: &Path,
        link_type: LinkType,
        nanosecond: bool,
        snaplen: u32,
    ) -> Result<Self, CaptureError> {
        let out = create_file(path)?;
        PcapWriter::new(out, link_type, nanosecond, snaplen).map_err(|source| CaptureError::Io {
            path: path.to_path_buf(),
            offset: 0,
            source,
        })
    }
}

impl<W: Write> PcapWriter<W> {
    /// Writes the 24-byte file header to `out`.
    pub fn new(
        mut out: W,
        link_type: LinkType,
        nanosecond: bool,
        snaplen: u32,
    ) -> io::Result<Self> {
        let magic: u32 = if nanosecond { 0xa1b2_3c4d } else { 0xa1b2_c3d4 };
        let mut h = Vec::with_capacity(24);
        h.extend_from_slice(&magic.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        h.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        h.extend_from_slice(&snaplen.to_le_bytes());
        h.extend_from_slice(&link_type.0.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter {
            out,
            link_type,
            nanosecond,
        })
    }

    /// The link type in the file header.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Writes one record.
    pub fn write(&mut self, ts_ns: i64, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let caplen = check_len(data)?;
        let secs = u32::try_from(ts_ns.div_euclid(NS_PER_S))
            .ok()
            .filter(|_| ts_ns >= 0)
            .ok_or_else(|| invalid(format!("timestamp {ts_ns} ns does not fit classic pcap")))?;
        let ns = ts_ns.rem_euclid(NS_PER_S) as u32;
        let frac = if self.nanosecond { ns } else { ns / 1000 };
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&secs.to_le_bytes());
        h[4..8].copy_from_slice(&frac.to_le_bytes());
        h[8..12].copy_from_slice(&caplen.to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(data)
    }

    /// Writes a frame; refuses one whose link type differs from the file's.
    pub fn write_frame(&mut self, frame: &RawFrame) -> io::Result<()> {
        if frame.link_type != self.link_type {
            return Err(invalid(format!(
                "frame link type {} in a pcap file of link type {}",
                frame.link_type.0, self.link_type.0
            )));
        }
        self.write(frame.ts_ns, frame.orig_len, &frame.data)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A pcapng writer: one section, one interface per link type.
#[derive(Debug)]
pub struct PcapngWriter<W: Write> {
    out: W,
    /// Link type of each interface written, indexed by interface id.
    interfaces: Vec<LinkType>,
}

impl PcapngWriter<BufWriter<File>> {
    /// Creates (or truncates) `path` and writes the Section Header Block.
    pub fn create(path: &Path) -> Result<Self, CaptureError> {
        let out = create_file(path)?;
        PcapngWriter::new(out).map_err(|source| CaptureError::Io {
            path: path.to_path_buf(),
            offset: 0,
            source,
        })
    }
}

impl<W: Write> PcapngWriter<W> {
    /// Writes a little-endian Section Header Block (version 1.0, section
    /// length unknown) to `out`.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut b = Vec::with_capacity(28);
        b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&(-1i64).to_le_bytes());
        b.extend_from_slice(&28u32.to_le_bytes());
        out.write_all(&b)?;
        Ok(PcapngWriter {
            out,
            interfaces: Vec::new(),
        })
    }

    /// Link types of the interfaces written so far, by interface id.
    pub fn interfaces(&self) -> &[LinkType] {
        &self.interfaces
    }

    /// Interface id for `link_type`, writing its IDB on first use.
    fn interface_for(&mut self, link_type: LinkType) -> io::Result<u32> {
        if let Some(i) = self.interfaces.iter().position(|l| *l == link_type) {
            return Ok(i as u32);
        }
        let link = u16::try_from(link_type.0).map_err(|_| {
            invalid(format!(
                "link type {} does not fit a pcapng interface",
                link_type.0
            ))
        })?;
        let mut b = Vec::with_capacity(32);
        b.extend_from_slice(&1u32.to_le_bytes()); // IDB
        b.extend_from_slice(&32u32.to_le_bytes());
        b.extend_from_slice(&link.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes()); // reserved
        b.extend_from_slice(&0u32.to_le_bytes()); // snaplen: no limit
        b.extend_from_slice(&9u16.to_le_bytes()); // if_tsresol
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&[9, 0, 0, 0]); // 10^-9 s, padded
        b.extend_from_slice(&[0, 0, 0, 0]); // opt_endofopt
        b.extend_from_slice(&32u32.to_le_bytes());
        self.out.write_all(&b)?;
        self.interfaces.push(link_type);
        Ok((self.interfaces.len() - 1) as u32)
    }

    /// Writes one Enhanced Packet Block (and an IDB first if `link_type` is
    /// new to this file).
    pub fn write(
        &mut self,
        link_type: LinkType,
        ts_ns: i64,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        let caplen = check_len(data)?;
        let ticks = u64::try_from(ts_ns)
            .map_err(|_| invalid(format!("timestamp {ts_ns} ns is before the epoch")))?;
        let if_id = self.interface_for(link_type)?;
        let pad = (4 - caplen % 4) % 4;
        let block_len = 32 + caplen + pad;
        let mut h = [0u8; 28];
        h[0..4].copy_from_slice(&6u32.to_le_bytes());
        h[4..8].copy_from_slice(&block_len.to_le_bytes());
        h[8..12].copy_from_slice(&if_id.to_le_bytes());
        h[12..16].copy_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        h[16..20].copy_from_slice(&(ticks as u32).to_le_bytes());
        h[20..24].copy_from_slice(&caplen.to_le_bytes());
        h[24..28].copy_from_slice(&orig_len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(data)?;
        let mut tail = [0u8; 7];
        tail[pad as usize..pad as usize + 4].copy_from_slice(&block_len.to_le_bytes());
        self.out.write_all(&tail[..pad as usize + 4])
    }

    /// Writes a frame with its own link type and timestamp.
    pub fn write_frame(&mut self, frame: &RawFrame) -> io::Result<()> {
        self.write(frame.link_type, frame.ts_ns, frame.orig_len, &frame.data)
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads the `caplen` bytes of a frame at `data_offset` in an original
/// capture (the `RawFrame::data_offset` recorded in the packet index).
///
/// Refuses `caplen` over [`MAX_RECORD_BYTES`] before allocating; a file
/// shorter than `data_offset + caplen` is `UnexpectedEof`.
pub fn read_frame_at<R: Read + Seek>(
    file: &mut R,
    data_offset: u64,
    caplen: u32,
) -> io::Result<Vec<u8>> {
    if caplen > MAX_RECORD_BYTES {
        return Err(invalid(format!(
            "frame length {caplen} exceeds the {MAX_RECORD_BYTES}-byte record limit"
        )));
    }
    file.seek(SeekFrom::Start(data_offset))?;
    let mut data = vec![0u8; caplen as usize];
    file.read_exact(&mut data)?;
    Ok(data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests;
