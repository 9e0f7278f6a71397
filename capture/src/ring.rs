//! A rotating ring of pcapng files, for recording on a node.
//!
//! Contract:
//! - Files are `ring-<seq>.pcapng` (seq: 10 digits, increasing); the file
//!   being written is `ring-<seq>.pcapng.open`. Each file is complete on
//!   its own: a Section Header Block, then one Interface Description Block
//!   per captured interface (`if_name`, `if_description` = who is behind
//!   it, e.g. the pod, `if_tsresol` = ns), then Enhanced Packet Blocks
//!   whose interface id is the frame's `source`.
//! - A file is closed when the next block would take it past the file size
//!   (it always holds at least one packet), flushed, and renamed from
//!   `.open` to `.pcapng`; then the oldest files beyond the file count are
//!   deleted. A closed file is therefore always whole.
//! - Blocks are buffered in memory and written at least every
//!   [`FLUSH_EVERY`] (and whenever 1 MiB is waiting), only ever as whole
//!   blocks, so a SIGKILL loses at most that much and leaves the open file
//!   readable up to its last whole block. [`Ring::open`] repairs such a
//!   file on restart (cut to its last whole block, renamed to `.pcapng`)
//!   and reports what it did.
//! - A failed write (a full disk) cuts the open file back to what was last
//!   written whole, closes it, and returns an error naming the directory:
//!   every file written so far stays valid. The ring then refuses more.
//! - Data is not fsynced: the guarantees are against the process dying,
//!   not the machine.

use crate::frame::{LinkType, RawFrame};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Longest a written frame waits in memory.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// Buffered bytes that force a write.
const FLUSH_BYTES: usize = 1 << 20;
/// Smallest file size accepted (an SHB, IDBs and a packet must fit).
pub const MIN_FILE_BYTES: u64 = 4096;

/// One interface of the ring's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingIface {
    /// Interface name (`if_name`).
    pub name: String,
    /// Who is behind it (`if_description`), when known.
    pub description: Option<String>,
    /// Link type.
    pub link_type: LinkType,
    /// Snap length.
    pub snaplen: u32,
}

impl RingIface {
    /// A captured interface, `label` naming who is behind it, captured
    /// with `snaplen`.
    pub fn of(iface: &crate::live::LiveIface, label: Option<String>, snaplen: u32) -> Self {
        RingIface {
            name: iface.name.clone(),
            description: label,
            link_type: iface.link_type,
            snaplen,
        }
    }
}

/// Ring settings.
#[derive(Debug, Clone)]
pub struct RingConfig {
    /// Directory of the files.
    pub dir: PathBuf,
    /// Largest size of one file, in bytes.
    pub file_bytes: u64,
    /// Files kept (the oldest are deleted).
    pub files: u32,
    /// Interfaces, indexed by frame `source`.
    pub interfaces: Vec<RingIface>,
}

/// What [`Ring::open`] found of an earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The file repaired (its new name).
    pub path: PathBuf,
    /// Bytes kept.
    pub kept_bytes: u64,
    /// Bytes cut (a torn last block).
    pub cut_bytes: u64,
    /// Whole packet blocks kept.
    pub packets: u64,
}

/// Why the ring failed.
#[derive(Debug, thiserror::Error)]
pub enum RingError {
    /// A file operation failed.
    #[error("ring {dir}: {what}: {error}")]
    Io {
        /// The ring directory.
        dir: PathBuf,
        /// What was being done.
        what: String,
        /// The error (ENOSPC when the disk is full); in the message, so
        /// not also a `source`.
        error: io::Error,
    },
    /// The settings cannot work.
    #[error("ring: {0}")]
    Config(String),
    /// An earlier write failed; the ring writes nothing more.
    #[error("ring {0}: stopped after an earlier write error")]
    Stopped(PathBuf),
}

struct OpenFile {
    file: File,
    seq: u64,
    /// Bytes written whole.
    good: u64,
    packets: u64,
}

/// Where the ring put a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The ring file's sequence number.
    pub file: u64,
    /// Offset of the frame's bytes in the file.
    pub data_offset: u64,
}

/// Bytes of an enhanced packet block before the packet data: type,
/// length, interface, timestamp (2), captured and original length.
const EPB_DATA_AT: u64 = 28;

/// The ring writer.
pub struct Ring {
    cfg: RingConfig,
    header: Vec<u8>,
    next_seq: u64,
    current: Option<OpenFile>,
    buf: Vec<u8>,
    last_flush: Instant,
    failed: bool,
    /// Packets written (into the buffer) in this run.
    pub packets: u64,
    /// Files closed in this run.
    pub files_closed: u64,
}

impl Ring {
    /// Prepares the directory: repairs files an earlier run left open and
    /// continues their numbering. No file is created before the first
    /// packet.
    pub fn open(cfg: RingConfig) -> Result<(Ring, Vec<Repair>), RingError> {
        if cfg.file_bytes < MIN_FILE_BYTES {
            return Err(RingError::Config(format!(
                "file size {} is below the {MIN_FILE_BYTES}-byte minimum",
                cfg.file_bytes
            )));
        }
        if cfg.files == 0 {
            return Err(RingError::Config("the ring needs at least one file".into()));
        }
        let io_err = |what: &str, error| RingError::Io {
            dir: cfg.dir.clone(),
            what: what.to_string(),
            error,
        };
        std::fs::create_dir_all(&cfg.dir).map_err(|e| io_err("creating the directory", e))?;
        let mut repairs = Vec::new();
        let mut max_seq = None;
        for (seq, path, open) in list(&cfg.dir).map_err(|e| io_err("listing", e))? {
            max_seq = max_seq.max(Some(seq));
            if open {
                let r = repair(&path)
                    .map_err(|e| io_err(&format!("repairing {}", path.display()), e))?;
                repairs.push(r);
            }
        }
        let header = file_header(&cfg.interfaces).map_err(|e| RingError::Config(e.to_string()))?;
        let ring = Ring {
            next_seq: max_seq.map_or(0, |s| s + 1),
            header,
            current: None,
            buf: Vec::with_capacity(FLUSH_BYTES + 65_536),
            last_flush: Instant::now(),
            failed: false,
            packets: 0,
            files_closed: 0,
            cfg,
        };
        Ok((ring, repairs))
    }

    fn err(&self, what: String, error: io::Error) -> RingError {
        RingError::Io {
            dir: self.cfg.dir.clone(),
            what,
            error,
        }
    }

    /// Appends a frame (rotating first when it would not fit). Returns
    /// where its bytes will be: the file's sequence number (its name once
    /// closed is [`Ring::file_path`]) and the offset of the frame's data in
    /// it; `None` for a frame pcapng cannot hold (skipped).
    pub fn write(&mut self, frame: &RawFrame) -> Result<Option<Stored>, RingError> {
        if self.failed {
            return Err(RingError::Stopped(self.cfg.dir.clone()));
        }
        let block_len = epb_len(frame.data.len());
        let size = self
            .current
            .as_ref()
            .map(|c| (c.good + self.buf.len() as u64, c.packets));
        if let Some((size, packets)) = size {
            if packets > 0 && size + block_len > self.cfg.file_bytes {
                self.rotate()?;
            }
        }
        if self.current.is_none() {
            self.start_file()?;
        }
        let block_at = self.buf.len() as u64;
        if let Err(e) = encode_epb(&mut self.buf, frame) {
            // A frame pcapng cannot hold (pre-epoch time): skipped.
            tracing::debug!(error = %e, "frame not written to the ring");
            return Ok(None);
        }
        let stored = self.current.as_mut().map(|c| {
            c.packets += 1;
            Stored {
                file: c.seq,
                data_offset: c.good + block_at + EPB_DATA_AT,
            }
        });
        self.packets += 1;
        if self.buf.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        Ok(stored)
    }

    /// The name of ring file `seq` once closed (while open it carries an
    /// `.open` suffix; a later run repairs and renames a file a killed
    /// run left open).
    pub fn file_path(&self, seq: u64) -> PathBuf {
        self.path(seq, false)
    }

    /// Writes buffered blocks if [`FLUSH_EVERY`] has passed.
    pub fn tick(&mut self) -> Result<(), RingError> {
        if self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes buffered blocks now. On failure the open file is cut back to
    /// its last whole block and closed, and the ring stops.
    pub fn flush(&mut self) -> Result<(), RingError> {
        self.last_flush = Instant::now();
        if self.failed {
            return Err(RingError::Stopped(self.cfg.dir.clone()));
        }
        let Some(c) = self.current.as_mut() else {
            return Ok(());
        };
        if self.buf.is_empty() {
            return Ok(());
        }
        match c.file.write_all(&self.buf) {
            Ok(()) => {
                c.good += self.buf.len() as u64;
                self.buf.clear();
                Ok(())
            }
            Err(e) => {
                self.failed = true;
                self.buf.clear();
                let (seq, good) = (c.seq, c.good);
                // Keep what was written whole (a file without even its
                // header goes); a clean-up failing too leaves a file
                // `Ring::open` repairs later.
                let _ = c.file.set_len(good);
                self.current = None;
                let open = self.path(seq, true);
                let _ = if good == 0 {
                    std::fs::remove_file(&open)
                } else {
                    std::fs::rename(&open, self.path(seq, false))
                };
                Err(self.err(format!("writing {}", self.path(seq, false).display()), e))
            }
        }
    }

    /// Flushes and closes the open file (end of recording).
    pub fn close(&mut self) -> Result<(), RingError> {
        if self.current.is_none() {
            return Ok(());
        }
        self.flush()?;
        self.finish_file()
    }

    fn path(&self, seq: u64, open: bool) -> PathBuf {
        let name = format!("ring-{seq:010}.pcapng{}", if open { ".open" } else { "" });
        self.cfg.dir.join(name)
    }

    fn rotate(&mut self) -> Result<(), RingError> {
        self.flush()?;
        self.finish_file()?;
        self.prune()
    }

    fn finish_file(&mut self) -> Result<(), RingError> {
        if let Some(c) = self.current.take() {
            drop(c.file);
            let (from, to) = (self.path(c.seq, true), self.path(c.seq, false));
            std::fs::rename(&from, &to)
                .map_err(|e| self.err(format!("closing {}", from.display()), e))?;
            self.files_closed += 1;
        }
        Ok(())
    }

    /// Deletes the oldest closed files beyond the count (the file about to
    /// be opened counts as one).
    fn prune(&mut self) -> Result<(), RingError> {
        let files = list(&self.cfg.dir).map_err(|e| self.err("listing".into(), e))?;
        let keep = self.cfg.files.saturating_sub(1) as usize;
        let closed: Vec<&PathBuf> = files.iter().filter(|f| !f.2).map(|f| &f.1).collect();
        for p in closed.iter().take(closed.len().saturating_sub(keep)) {
            std::fs::remove_file(p)
                .map_err(|e| self.err(format!("deleting {}", p.display()), e))?;
        }
        Ok(())
    }

    fn start_file(&mut self) -> Result<(), RingError> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let path = self.path(seq, true);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| self.err(format!("creating {}", path.display()), e))?;
        self.current = Some(OpenFile {
            file,
            seq,
            good: 0,
            packets: 0,
        });
        self.buf.extend_from_slice(&self.header);
        Ok(())
    }
}

/// Ring files in `dir`, oldest first: (seq, path, still open).
fn list(dir: &Path) -> io::Result<Vec<(u64, PathBuf, bool)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix("ring-") else {
            continue;
        };
        let (num, open) = if let Some(n) = rest.strip_suffix(".pcapng.open") {
            (n, true)
        } else if let Some(n) = rest.strip_suffix(".pcapng") {
            (n, false)
        } else {
            continue;
        };
        if let Ok(seq) = num.parse::<u64>() {
            out.push((seq, e.path(), open));
        }
    }
    out.sort();
    Ok(out)
}

/// Cuts a file left open by a killed run to its last whole block and
/// renames it `.pcapng`. Walks the blocks (little-endian, as written here):
/// each length must be a multiple of 4, at least 12, and repeated at the
/// block's end.
pub fn repair(path: &Path) -> io::Result<Repair> {
    let mut data = Vec::new();
    File::open(path)?.read_to_end(&mut data)?;
    let mut pos = 0usize;
    let mut packets = 0u64;
    let mut saw_shb = false;
    while pos + 12 <= data.len() {
        let word = |at: usize| -> Option<u32> {
            data.get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
        };
        let (Some(kind), Some(len)) = (word(pos), word(pos + 4)) else {
            break;
        };
        let len = len as usize;
        if len < 12
            || len % 4 != 0
            || pos + len > data.len()
            || word(pos + len - 4) != Some(len as u32)
        {
            break;
        }
        if !saw_shb && kind != 0x0A0D_0D0A {
            break;
        }
        saw_shb = true;
        if kind == 6 {
            packets += 1;
        }
        pos += len;
    }
    let kept = pos as u64;
    if kept == 0 {
        // Nothing whole: not even the header made it.
        std::fs::remove_file(path)?;
    } else {
        OpenOptions::new().write(true).open(path)?.set_len(kept)?;
    }
    let to = path.with_extension("");
    if kept > 0 {
        std::fs::rename(path, &to)?;
    }
    Ok(Repair {
        path: to,
        kept_bytes: kept,
        cut_bytes: data.len() as u64 - kept,
        packets,
    })
}

fn epb_len(caplen: usize) -> u64 {
    32 + caplen.div_ceil(4) as u64 * 4
}

/// Appends one Enhanced Packet Block (interface id = frame source).
fn encode_epb(out: &mut Vec<u8>, f: &RawFrame) -> io::Result<()> {
    let ticks = u64::try_from(f.ts_ns)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "timestamp before the epoch"))?;
    let caplen = f.data.len();
    let pad = caplen.div_ceil(4) * 4 - caplen;
    let len = epb_len(caplen) as u32;
    out.extend_from_slice(&6u32.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&f.source.to_le_bytes());
    out.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
    out.extend_from_slice(&(ticks as u32).to_le_bytes());
    out.extend_from_slice(&(caplen as u32).to_le_bytes());
    out.extend_from_slice(&f.orig_len.to_le_bytes());
    out.extend_from_slice(&f.data);
    out.extend_from_slice(&[0u8; 3][..pad]);
    out.extend_from_slice(&len.to_le_bytes());
    Ok(())
}

/// SHB + one IDB per interface.
fn file_header(ifaces: &[RingIface]) -> io::Result<Vec<u8>> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0A0D_0D0Au32.to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    for i in ifaces {
        let link = u16::try_from(i.link_type.0).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("link type {} does not fit pcapng", i.link_type.0),
            )
        })?;
        let mut opts = Vec::new();
        push_opt(&mut opts, 2, i.name.as_bytes());
        if let Some(d) = &i.description {
            push_opt(&mut opts, 3, d.as_bytes());
        }
        push_opt(&mut opts, 9, &[9]);
        opts.extend_from_slice(&[0, 0, 0, 0]);
        let len = (20 + opts.len()) as u32;
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&link.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&i.snaplen.to_le_bytes());
        b.extend_from_slice(&opts);
        b.extend_from_slice(&len.to_le_bytes());
    }
    Ok(b)
}

/// One option, value padded to 32 bits; values over 65535 bytes are cut.
fn push_opt(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = &value[..value.len().min(0xFFF0)];
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (value.len().div_ceil(4) * 4 - value.len()), 0);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests;
