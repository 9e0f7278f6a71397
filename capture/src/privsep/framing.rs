//! The capture helper's record stream: what the privileged helper writes
//! and the unprivileged reader decodes.
//!
//! Layout (all integers little-endian). Every record is an 8-byte header
//! — kind (`u8`), three zero bytes, body length (`u32`) — then the body:
//!
//! | kind | body |
//! |---|---|
//! | 1 hello | magic `OSPRYCAP`, version `u16`, interface count `u16`, then per interface: link type `u32`, snaplen `u32`, name length `u16`, name (UTF-8) |
//! | 2 frame | interface index `u32`, `ts_ns` `i64`, `orig_len` `u32`, `caplen` `u32`, `caplen` bytes |
//! | 3 stats | interface index `u32`, then six `u64`: delivered, delivered bytes, queue drops, kernel received, kernel drops, interface drops |
//! | 4 error | a message (UTF-8) |
//! | 5 end | empty |
//!
//! A stream is one hello, then frames and stats in any order, then an end
//! (or an error, after which the helper exits).
//!
//! The reader treats the stream as hostile:
//! - Every body length is checked against its kind's cap
//!   ([`MAX_CAPLEN`], [`MAX_IFACES`], [`MAX_NAME_BYTES`],
//!   [`MAX_MESSAGE_BYTES`]) before a byte of it is buffered; memory is one
//!   fixed buffer plus at most one record's worth.
//! - The encoding is canonical: reserved bytes must be zero and every
//!   length must match exactly, so re-encoding what was decoded gives back
//!   the same bytes (the fuzz target checks it).
//! - Order is checked (hello first and once, interface indexes below the
//!   hello's count, nothing after an end).
//! - A stream cut inside a record is [`FramingError::Truncated`], returned
//!   after every whole record before it. After any error, and after the
//!   end record, the reader returns `Ok(None)` and reads nothing more.

use crate::error::MAX_RECORD_BYTES;
use crate::file::buffer::ChunkBuffer;
use crate::frame::LinkType;
use crate::live::IfaceStats;
use std::io::{self, Read, Write};

/// First bytes of a hello body.
pub const MAGIC: [u8; 8] = *b"OSPRYCAP";
/// The stream version this build reads and writes.
pub const VERSION: u16 = 1;
/// Largest captured length of one frame (libpcap's `MAXIMUM_SNAPLEN`).
pub const MAX_CAPLEN: u32 = MAX_RECORD_BYTES;
/// Most interfaces one helper captures.
pub const MAX_IFACES: usize = 256;
/// Longest interface name, in bytes (Linux allows 15).
pub const MAX_NAME_BYTES: usize = 64;
/// Longest error message, in bytes (longer ones are cut when written).
pub const MAX_MESSAGE_BYTES: usize = 1024;
/// Bytes of a record header.
pub const HEADER_BYTES: usize = 8;

const KIND_HELLO: u8 = 1;
const KIND_FRAME: u8 = 2;
const KIND_STATS: u8 = 3;
const KIND_ERROR: u8 = 4;
const KIND_END: u8 = 5;

/// Fixed part of a hello body: magic, version, count.
const HELLO_FIXED: usize = 12;
/// Fixed part of one hello interface entry: link type, snaplen, name length.
const HELLO_IFACE_FIXED: usize = 10;
/// Fixed part of a frame body.
const FRAME_FIXED: usize = 20;
/// A stats body.
const STATS_BYTES: usize = 52;
/// Read buffer: the largest record plus room for many small ones.
const BUF_BYTES: usize = 384 * 1024;

/// Largest body each kind may declare, or `None` for an unknown kind.
fn max_body(kind: u8) -> Option<usize> {
    Some(match kind {
        KIND_HELLO => HELLO_FIXED + MAX_IFACES * (HELLO_IFACE_FIXED + MAX_NAME_BYTES),
        KIND_FRAME => FRAME_FIXED + MAX_CAPLEN as usize,
        KIND_STATS => STATS_BYTES,
        KIND_ERROR => MAX_MESSAGE_BYTES,
        KIND_END => 0,
        _ => return None,
    })
}

/// One interface as the hello announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloIface {
    /// Interface name.
    pub name: String,
    /// Its link type.
    pub link_type: LinkType,
    /// Bytes kept of each frame.
    pub snaplen: u32,
}

/// One captured frame, as libpcap handed it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameRecord {
    /// Index into the hello's interfaces.
    pub iface: u32,
    /// Capture time, nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Length on the wire.
    pub orig_len: u32,
    /// The captured bytes (at most [`MAX_CAPLEN`]).
    pub data: Vec<u8>,
}

/// One record of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// The interfaces, in index order (always the first record).
    Hello(Vec<HelloIface>),
    /// A frame.
    Frame(FrameRecord),
    /// An interface's counters as the helper sees them (running totals).
    Stats {
        /// Index into the hello's interfaces.
        iface: u32,
        /// The counters.
        stats: IfaceStats,
    },
    /// The helper failed; it exits after this.
    Error(String),
    /// The helper stopped cleanly; nothing follows.
    End,
}

/// Why the stream cannot be read further. Every variant names the stream
/// offset of the record at fault.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    /// Reading the stream failed.
    #[error("capture stream: read error at byte {offset}: {source}")]
    Io {
        /// Offset of the first byte not yet decoded.
        offset: u64,
        /// The underlying error.
        source: io::Error,
    },
    /// The stream ends inside a record; every record before it was whole.
    #[error("capture stream: cut inside the record at byte {offset}")]
    Truncated {
        /// Offset of the incomplete record.
        offset: u64,
    },
    /// A record kind this version does not know.
    #[error("capture stream: unknown record kind {kind} at byte {offset}")]
    UnknownKind {
        /// Offset of the record.
        offset: u64,
        /// The kind byte.
        kind: u8,
    },
    /// A body longer than its kind allows.
    #[error("capture stream: record of kind {kind} at byte {offset} declares {len} bytes, over its {max}-byte limit")]
    TooLong {
        /// Offset of the record.
        offset: u64,
        /// The kind byte.
        kind: u8,
        /// The declared body length.
        len: u32,
        /// The limit for this kind.
        max: usize,
    },
    /// A hello of another version.
    #[error(
        "capture stream: version {version} at byte {offset}, this build reads version {VERSION}"
    )]
    UnsupportedVersion {
        /// Offset of the hello.
        offset: u64,
        /// The version it declares.
        version: u16,
    },
    /// A frame or stats record for an interface the hello did not list.
    #[error("capture stream: interface {iface} at byte {offset}, the hello lists {count}")]
    UnknownIface {
        /// Offset of the record.
        offset: u64,
        /// The index it names.
        iface: u32,
        /// Interfaces in the hello.
        count: usize,
    },
    /// Any other breach of the layout or the order of records.
    #[error("capture stream: malformed record at byte {offset}: {reason}")]
    Malformed {
        /// Offset of the record.
        offset: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

impl FramingError {
    /// The stream offset of the record at fault.
    pub fn offset(&self) -> u64 {
        match self {
            FramingError::Io { offset, .. }
            | FramingError::Truncated { offset }
            | FramingError::UnknownKind { offset, .. }
            | FramingError::TooLong { offset, .. }
            | FramingError::UnsupportedVersion { offset, .. }
            | FramingError::UnknownIface { offset, .. }
            | FramingError::Malformed { offset, .. } => *offset,
        }
    }
}

/// Decodes records from a byte stream (see the module contract).
pub struct RecordReader {
    buf: ChunkBuffer,
    /// Interfaces in the hello, once seen.
    ifaces: Option<usize>,
    ended: bool,
    failed: bool,
}

impl RecordReader {
    /// Reads records from `input`.
    pub fn new(input: impl Read + Send + 'static) -> RecordReader {
        RecordReader {
            buf: ChunkBuffer::new(Box::new(input), BUF_BYTES),
            ifaces: None,
            ended: false,
            failed: false,
        }
    }

    /// True once the end record was read.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Stream offset of the next record.
    pub fn offset(&self) -> u64 {
        self.buf.pos()
    }

    /// Bytes already read from the input but not yet decoded: when 0, the
    /// next call may block on the input.
    pub fn buffered(&self) -> usize {
        self.buf.data().len()
    }

    /// The next record; `Ok(None)` when the input ends between two
    /// records, after the end record, and after an error.
    pub fn next_record(&mut self) -> Result<Option<Record>, FramingError> {
        if self.ended || self.failed {
            return Ok(None);
        }
        let r = self.read_record();
        if r.is_err() {
            self.failed = true;
        }
        r
    }

    fn read_record(&mut self) -> Result<Option<Record>, FramingError> {
        let offset = self.buf.pos();
        let io = |source| FramingError::Io { offset, source };
        let malformed = |reason| FramingError::Malformed { offset, reason };
        if !self.buf.fill(HEADER_BYTES).map_err(io)? {
            return if self.buf.data().is_empty() {
                Ok(None)
            } else {
                Err(FramingError::Truncated { offset })
            };
        }
        let h = &self.buf.data()[..HEADER_BYTES];
        let kind = h[0];
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if h[1..4] != [0, 0, 0] {
            return Err(malformed("reserved header bytes are not zero"));
        }
        let max = max_body(kind).ok_or(FramingError::UnknownKind { offset, kind })?;
        if len as usize > max {
            return Err(FramingError::TooLong {
                offset,
                kind,
                len,
                max,
            });
        }
        let total = HEADER_BYTES + len as usize;
        if !self.buf.fill(total).map_err(io)? {
            return Err(FramingError::Truncated { offset });
        }
        let body = &self.buf.data()[HEADER_BYTES..total];
        let record = match (kind, self.ifaces) {
            (KIND_HELLO, None) => {
                let ifaces = parse_hello(body, offset)?;
                self.ifaces = Some(ifaces.len());
                Record::Hello(ifaces)
            }
            (KIND_HELLO, Some(_)) => return Err(malformed("a second hello")),
            (_, None) => return Err(malformed("the stream does not start with a hello")),
            (KIND_FRAME, Some(count)) => {
                if body.len() < FRAME_FIXED {
                    return Err(malformed("frame record shorter than its header"));
                }
                let iface = u32_at(body, 0);
                check_iface(iface, count, offset)?;
                let caplen = u32_at(body, 16);
                if caplen as usize != body.len() - FRAME_FIXED {
                    return Err(malformed("frame caplen does not match the record length"));
                }
                Record::Frame(FrameRecord {
                    iface,
                    ts_ns: i64::from_le_bytes(array_at(body, 4)),
                    orig_len: u32_at(body, 12),
                    data: body[FRAME_FIXED..].to_vec(),
                })
            }
            (KIND_STATS, Some(count)) => {
                if body.len() != STATS_BYTES {
                    return Err(malformed("stats record of the wrong length"));
                }
                let iface = u32_at(body, 0);
                check_iface(iface, count, offset)?;
                let n = |i: usize| u64::from_le_bytes(array_at(body, 4 + 8 * i));
                Record::Stats {
                    iface,
                    stats: IfaceStats {
                        delivered: n(0),
                        delivered_bytes: n(1),
                        queue_drops: n(2),
                        kernel_received: n(3),
                        kernel_drops: n(4),
                        if_drops: n(5),
                    },
                }
            }
            (KIND_ERROR, Some(_)) => match std::str::from_utf8(body) {
                Ok(s) => Record::Error(s.to_string()),
                Err(_) => return Err(malformed("error message is not UTF-8")),
            },
            _ => {
                // KIND_END: its body is empty (checked against its cap).
                self.ended = true;
                Record::End
            }
        };
        self.buf.consume(total);
        Ok(Some(record))
    }
}

fn check_iface(iface: u32, count: usize, offset: u64) -> Result<(), FramingError> {
    if (iface as usize) < count {
        Ok(())
    } else {
        Err(FramingError::UnknownIface {
            offset,
            iface,
            count,
        })
    }
}

/// `N` bytes at `at`; the caller has checked the length.
fn array_at<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0; N];
    if let Some(s) = b.get(at..at + N) {
        out.copy_from_slice(s);
    }
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(array_at(b, at))
}

fn parse_hello(body: &[u8], offset: u64) -> Result<Vec<HelloIface>, FramingError> {
    let malformed = |reason| FramingError::Malformed { offset, reason };
    if body.len() < HELLO_FIXED || body[..8] != MAGIC {
        return Err(malformed("hello without the OSPRYCAP magic"));
    }
    let version = u16::from_le_bytes(array_at(body, 8));
    if version != VERSION {
        return Err(FramingError::UnsupportedVersion { offset, version });
    }
    let count = usize::from(u16::from_le_bytes(array_at(body, 10)));
    if count == 0 || count > MAX_IFACES {
        return Err(malformed("hello interface count out of range"));
    }
    let mut ifaces = Vec::with_capacity(count);
    let mut at = HELLO_FIXED;
    for _ in 0..count {
        if body.len() < at + HELLO_IFACE_FIXED {
            return Err(malformed("hello shorter than its interfaces"));
        }
        let link_type = LinkType(u32_at(body, at));
        let snaplen = u32_at(body, at + 4);
        let name_len = usize::from(u16::from_le_bytes(array_at(body, at + 8)));
        at += HELLO_IFACE_FIXED;
        if name_len == 0 || name_len > MAX_NAME_BYTES {
            return Err(malformed("hello interface name length out of range"));
        }
        let name = body
            .get(at..at + name_len)
            .ok_or(malformed("hello shorter than its interfaces"))?;
        let name = std::str::from_utf8(name)
            .map_err(|_| malformed("hello interface name is not UTF-8"))?;
        at += name_len;
        ifaces.push(HelloIface {
            name: name.to_string(),
            link_type,
            snaplen,
        });
    }
    if at != body.len() {
        return Err(malformed("hello longer than its interfaces"));
    }
    Ok(ifaces)
}

/// Encodes records (the helper's side). It refuses, as
/// [`io::ErrorKind::InvalidInput`], anything the reader would reject, so
/// a well-behaved helper never writes a stream its reader stops on.
pub struct RecordWriter<W: Write> {
    out: W,
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

impl<W: Write> RecordWriter<W> {
    /// Writes records to `out` (wrap it in a `BufWriter`: every record is
    /// two or three writes).
    pub fn new(out: W) -> RecordWriter<W> {
        RecordWriter { out }
    }

    fn header(&mut self, kind: u8, len: usize) -> io::Result<()> {
        let len = u32::try_from(len).map_err(|_| invalid("record too long"))?;
        let l = len.to_le_bytes();
        self.out.write_all(&[kind, 0, 0, 0, l[0], l[1], l[2], l[3]])
    }

    /// The hello: 1 to [`MAX_IFACES`] interfaces, names of 1 to
    /// [`MAX_NAME_BYTES`] bytes.
    pub fn hello(&mut self, ifaces: &[HelloIface]) -> io::Result<()> {
        if ifaces.is_empty() || ifaces.len() > MAX_IFACES {
            return Err(invalid("hello needs 1 to 256 interfaces"));
        }
        let mut body = Vec::with_capacity(HELLO_FIXED + ifaces.len() * HELLO_IFACE_FIXED);
        body.extend_from_slice(&MAGIC);
        body.extend_from_slice(&VERSION.to_le_bytes());
        body.extend_from_slice(&(ifaces.len() as u16).to_le_bytes());
        for i in ifaces {
            let name = i.name.as_bytes();
            if name.is_empty() || name.len() > MAX_NAME_BYTES {
                return Err(invalid("interface name of 1 to 64 bytes"));
            }
            body.extend_from_slice(&i.link_type.0.to_le_bytes());
            body.extend_from_slice(&i.snaplen.to_le_bytes());
            body.extend_from_slice(&(name.len() as u16).to_le_bytes());
            body.extend_from_slice(name);
        }
        self.header(KIND_HELLO, body.len())?;
        self.out.write_all(&body)
    }

    /// A frame of at most [`MAX_CAPLEN`] bytes.
    pub fn frame(&mut self, iface: u32, ts_ns: i64, orig_len: u32, data: &[u8]) -> io::Result<()> {
        let caplen = u32::try_from(data.len())
            .ok()
            .filter(|&c| c <= MAX_CAPLEN)
            .ok_or_else(|| invalid("frame longer than the caplen limit"))?;
        self.header(KIND_FRAME, FRAME_FIXED + data.len())?;
        let mut fixed = [0u8; FRAME_FIXED];
        fixed[0..4].copy_from_slice(&iface.to_le_bytes());
        fixed[4..12].copy_from_slice(&ts_ns.to_le_bytes());
        fixed[12..16].copy_from_slice(&orig_len.to_le_bytes());
        fixed[16..20].copy_from_slice(&caplen.to_le_bytes());
        self.out.write_all(&fixed)?;
        self.out.write_all(data)
    }

    /// An interface's counters.
    pub fn stats(&mut self, iface: u32, s: &IfaceStats) -> io::Result<()> {
        self.header(KIND_STATS, STATS_BYTES)?;
        let mut body = [0u8; STATS_BYTES];
        body[0..4].copy_from_slice(&iface.to_le_bytes());
        let values = [
            s.delivered,
            s.delivered_bytes,
            s.queue_drops,
            s.kernel_received,
            s.kernel_drops,
            s.if_drops,
        ];
        for (i, v) in values.iter().enumerate() {
            body[4 + 8 * i..12 + 8 * i].copy_from_slice(&v.to_le_bytes());
        }
        self.out.write_all(&body)
    }

    /// An error message, cut to [`MAX_MESSAGE_BYTES`] at a character
    /// boundary.
    pub fn error(&mut self, message: &str) -> io::Result<()> {
        let mut end = message.len().min(MAX_MESSAGE_BYTES);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        self.header(KIND_ERROR, end)?;
        self.out.write_all(&message.as_bytes()[..end])
    }

    /// The end record.
    pub fn end(&mut self) -> io::Result<()> {
        self.header(KIND_END, 0)
    }

    /// Any record.
    pub fn record(&mut self, r: &Record) -> io::Result<()> {
        match r {
            Record::Hello(i) => self.hello(i),
            Record::Frame(f) => self.frame(f.iface, f.ts_ns, f.orig_len, &f.data),
            Record::Stats { iface, stats } => self.stats(*iface, stats),
            Record::Error(m) => self.error(m),
            Record::End => self.end(),
        }
    }

    /// Flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The output.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
#[path = "framing_tests.rs"]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests;
