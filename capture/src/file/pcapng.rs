//! pcapng block framing and packet blocks (draft-ietf-opsawg-pcapng).
//!
//! Every block is checked in this order before its body is looked at: total
//! length non-zero, at most [`MAX_RECORD_BYTES`], at least the minimum for
//! its type (section 3.1), a multiple of 4; the whole block buffered (else
//! `Truncated`); trailing length equal to the leading one. Only then is the
//! body decoded, so no slice below can go out of bounds.

use pcap_parser::{
    parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le,
    parse_sectionheaderblock, OptionCode,
};

use super::{read_u32, FileSource, InterfaceInfo};
use crate::error::{CaptureError, MAX_RECORD_BYTES};
use crate::frame::{LinkType, RawFrame};

/// Section Header Block type (section 4.1).
pub(super) const SHB: u32 = 0x0A0D_0D0A;
/// Interface Description Block type (section 4.2).
const IDB: u32 = 0x0000_0001;
/// Obsolete Packet Block type (appendix A).
const PB: u32 = 0x0000_0002;
/// Simple Packet Block type (section 4.4).
const SPB: u32 = 0x0000_0003;
/// Enhanced Packet Block type (section 4.3).
const EPB: u32 = 0x0000_0006;
/// Byte-order magic of a section, as read in the section's own order.
const BOM: u32 = 0x1A2B_3C4D;
/// Offset of the packet data in an EPB or PB.
const EPB_DATA: usize = 28;
/// Offset of the packet data in an SPB.
const SPB_DATA: usize = 12;
/// Most interfaces one file may declare. A guard against files made of
/// nothing but IDBs, which would otherwise grow memory with file size.
const MAX_INTERFACES: usize = 1 << 16;

/// Where the reader is in the section structure.
#[derive(Debug, Default)]
pub(super) struct NgState {
    big_endian: bool,
    /// Index of the current section; `None` before the first SHB.
    section: Option<u32>,
    /// Global id of the current section's interface 0.
    section_base: usize,
    /// Interfaces declared so far in the current section.
    section_ifaces: usize,
    /// Timestamp of the last frame, given to timestamp-less SPBs.
    last_ts_ns: i64,
}

/// What one block amounted to.
pub(super) enum Step {
    /// A packet block.
    Frame(RawFrame),
    /// Any other block (already applied to the reader state if needed).
    Skipped,
    /// Clean end of file at a block boundary.
    End,
}

/// Smallest legal total length of a block of this type.
fn min_block_len(block_type: u32) -> u32 {
    match block_type {
        SHB => 28,
        IDB => 20,
        EPB | PB => 32,
        SPB => 16,
        _ => 12,
    }
}

fn read_u16(bytes: &[u8], at: usize, big_endian: bool) -> u16 {
    match bytes.get(at..at + 2) {
        Some(&[a, b]) if big_endian => u16::from_be_bytes([a, b]),
        Some(&[a, b]) => u16::from_le_bytes([a, b]),
        _ => 0,
    }
}

impl FileSource {
    /// Reads, checks and applies one block.
    pub(super) fn next_ng_block(&mut self) -> Result<Step, CaptureError> {
        let offset = self.buf.pos();
        if !self.fill(8)? {
            if self.buf.data().is_empty() {
                return Ok(Step::End);
            }
            return Err(self.truncated(offset));
        }
        let big_endian = if read_u32(self.buf.data(), 0, false) == SHB {
            if !self.fill(12)? {
                return Err(self.truncated(offset));
            }
            match read_u32(self.buf.data(), 8, false) {
                BOM => false,
                b if b == BOM.swap_bytes() => true,
                b => {
                    return Err(self.malformed(
                        offset,
                        format!("section header has unknown byte-order magic {b:#010x}"),
                    ))
                }
            }
        } else if self.ng.section.is_none() {
            return Err(self.malformed(offset, "block before the first section header".into()));
        } else {
            self.ng.big_endian
        };
        let head = self.buf.data();
        let block_type = read_u32(head, 0, big_endian);
        let len = read_u32(head, 4, big_endian);
        if len == 0 {
            return Err(self.malformed(offset, "zero-length block".into()));
        }
        if len > MAX_RECORD_BYTES {
            return Err(CaptureError::RecordTooLarge {
                path: self.path.clone(),
                offset,
                len,
            });
        }
        let min = min_block_len(block_type);
        if len < min {
            return Err(self.malformed(
                offset,
                format!("block type {block_type:#x} has length {len}, below its minimum {min}"),
            ));
        }
        if len % 4 != 0 {
            return Err(
                self.malformed(offset, format!("block length {len} is not a multiple of 4"))
            );
        }
        let len = len as usize;
        if !self.fill(len)? {
            return Err(self.truncated(offset));
        }
        let trailer = read_u32(self.buf.data(), len - 4, big_endian);
        if trailer as usize != len {
            return Err(self.malformed(
                offset,
                format!("block total length mismatch: {len} at start, {trailer} at end"),
            ));
        }
        let step = match block_type {
            SHB => {
                self.section_header(offset, len, big_endian)?;
                Step::Skipped
            }
            IDB => {
                self.interface_description(offset, len)?;
                Step::Skipped
            }
            EPB | PB => Step::Frame(self.packet_block(offset, len, block_type == PB)?),
            SPB => Step::Frame(self.simple_packet_block(offset, len)?),
            _ => Step::Skipped,
        };
        self.buf.consume(len);
        Ok(step)
    }

    fn section_header(
        &mut self,
        offset: u64,
        len: usize,
        big_endian: bool,
    ) -> Result<(), CaptureError> {
        let block = &self.buf.data()[..len];
        let version = match parse_sectionheaderblock(block) {
            Ok((_, shb)) => (shb.major_version, shb.minor_version),
            Err(_) => return Err(self.malformed(offset, "invalid section header block".into())),
        };
        if version.0 != 1 {
            return Err(self.malformed(
                offset,
                format!("unsupported pcapng version {}.{}", version.0, version.1),
            ));
        }
        self.ng = NgState {
            big_endian,
            section: Some(self.ng.section.map_or(0, |s| s.saturating_add(1))),
            section_base: self.interfaces.len(),
            section_ifaces: 0,
            last_ts_ns: self.ng.last_ts_ns,
        };
        Ok(())
    }

    fn interface_description(&mut self, offset: u64, len: usize) -> Result<(), CaptureError> {
        let big_endian = self.ng.big_endian;
        let block = &self.buf.data()[..len];
        let parsed = if big_endian {
            parse_interfacedescriptionblock_be(block)
        } else {
            parse_interfacedescriptionblock_le(block)
        };
        let Ok((_, idb)) = parsed else {
            return Err(self.malformed(offset, "invalid interface description block".into()));
        };
        let mut tsresol = 6u8;
        let mut tsoffset = 0i64;
        for opt in &idb.options {
            let value = opt.value();
            match (opt.code, value.get(..8)) {
                (OptionCode::IfTsresol, _) if opt.len == 1 => {
                    tsresol = value.first().copied().unwrap_or(6);
                }
                // pcap-parser reads this option little-endian whatever the
                // section's byte order, so it is decoded here.
                (OptionCode::IfTsoffset, Some(v)) if opt.len == 8 => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(v);
                    tsoffset = if big_endian {
                        i64::from_be_bytes(b)
                    } else {
                        i64::from_le_bytes(b)
                    };
                }
                _ => {}
            }
        }
        // The IDB link type is a 16-bit field, so the cast cannot lose bits.
        let link_type = LinkType(idb.linktype.0 as u32);
        let snaplen = idb.snaplen;
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(self.malformed(
                offset,
                format!("more than {MAX_INTERFACES} interfaces in one file"),
            ));
        }
        let section = self.ng.section.unwrap_or(0);
        let Some(info) = InterfaceInfo::new(link_type, snaplen, section, tsresol, tsoffset) else {
            return Err(self.malformed(offset, format!("unsupported if_tsresol {tsresol:#04x}")));
        };
        self.interfaces.push(info);
        self.ng.section_ifaces += 1;
        Ok(())
    }

    /// Enhanced Packet Block, or the obsolete Packet Block (`obsolete`),
    /// whose layout differs only in a 16-bit interface id.
    fn packet_block(
        &mut self,
        offset: u64,
        len: usize,
        obsolete: bool,
    ) -> Result<RawFrame, CaptureError> {
        let be = self.ng.big_endian;
        let b = &self.buf.data()[..len];
        let if_id = if obsolete {
            u32::from(read_u16(b, 8, be))
        } else {
            read_u32(b, 8, be)
        };
        let ticks = (u64::from(read_u32(b, 12, be)) << 32) | u64::from(read_u32(b, 16, be));
        let caplen = read_u32(b, 20, be);
        let orig_len = read_u32(b, 24, be);
        if caplen > MAX_RECORD_BYTES {
            return Err(CaptureError::RecordTooLarge {
                path: self.path.clone(),
                offset,
                len: caplen,
            });
        }
        let caplen = caplen as usize;
        if caplen > len - 32 {
            return Err(self.malformed(
                offset,
                format!("captured length {caplen} overruns its {len}-byte block"),
            ));
        }
        let iface = self.section_interface(offset, if_id)?;
        let ts_ns = self.interfaces[iface].ts_ns(ticks);
        self.ng.last_ts_ns = ts_ns;
        Ok(RawFrame {
            ts_ns,
            link_type: self.interfaces[iface].link_type,
            orig_len,
            data: super::frame_data(
                &mut self.spares,
                &self.buf.data()[EPB_DATA..EPB_DATA + caplen],
            ),
            source: self.source,
            interface: iface as u32,
            data_offset: offset + EPB_DATA as u64,
        })
    }

    /// Simple Packet Block: interface 0 of the section, no timestamp,
    /// captured length = min(original length, snaplen, room in the block).
    fn simple_packet_block(&mut self, offset: u64, len: usize) -> Result<RawFrame, CaptureError> {
        let orig_len = read_u32(self.buf.data(), 8, self.ng.big_endian);
        let iface = self.section_interface(offset, 0)?;
        let mut caplen = (orig_len as usize).min(len - 16);
        let snaplen = self.interfaces[iface].snaplen as usize;
        if snaplen != 0 {
            caplen = caplen.min(snaplen);
        }
        Ok(RawFrame {
            ts_ns: self.ng.last_ts_ns,
            link_type: self.interfaces[iface].link_type,
            orig_len,
            data: super::frame_data(
                &mut self.spares,
                &self.buf.data()[SPB_DATA..SPB_DATA + caplen],
            ),
            source: self.source,
            interface: iface as u32,
            data_offset: offset + SPB_DATA as u64,
        })
    }

    /// Global index of interface `if_id` of the current section.
    fn section_interface(&self, offset: u64, if_id: u32) -> Result<usize, CaptureError> {
        let if_id = if_id as usize;
        let global = self.ng.section_base + if_id;
        if if_id >= self.ng.section_ifaces || global >= self.interfaces.len() {
            return Err(self.malformed(
                offset,
                format!(
                    "packet block for interface {if_id}, but the section declares {}",
                    self.ng.section_ifaces
                ),
            ));
        }
        Ok(global)
    }
}
