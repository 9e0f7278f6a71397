//! The one error type of the capture crate.
//!
//! Contract: every variant names the file and a byte offset in it, and its
//! `Display` is a single line. `Truncated` is not a failure of what came
//! before: every frame returned before it is valid, so callers should log it
//! as a warning and keep the frames (see [`CaptureError::is_truncation`]).
//! All other variants mean the rest of that file cannot be trusted.

use std::path::{Path, PathBuf};

/// Largest record or block the readers accept, in bytes (256 KiB).
///
/// It is checked against every length read from a file *before* anything is
/// allocated or buffered for it, so a hostile length cannot make the reader
/// allocate. It matches libpcap's `MAXIMUM_SNAPLEN` (262144).
pub const MAX_RECORD_BYTES: u32 = 256 * 1024;

/// Everything that can go wrong while reading a capture file.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The operating system failed to open, read or seek the file.
    #[error("{}: I/O error at byte {offset}", .path.display())]
    Io {
        /// The file being read.
        path: PathBuf,
        /// Offset of the first byte not yet consumed when the error happened.
        offset: u64,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file does not start with a pcap or pcapng magic number (this
    /// includes an empty file).
    #[error("{}: not a pcap or pcapng file (unknown magic at byte {offset})", .path.display())]
    NotACapture {
        /// The file being read.
        path: PathBuf,
        /// Always 0: the magic is the first thing in the file.
        offset: u64,
    },
    /// A record or block declares a length above [`MAX_RECORD_BYTES`].
    #[error(
        "{}: record at byte {offset} declares {len} bytes, over the {MAX_RECORD_BYTES}-byte limit",
        .path.display()
    )]
    RecordTooLarge {
        /// The file being read.
        path: PathBuf,
        /// Offset of the start of the record or block.
        offset: u64,
        /// The declared length (captured length or block total length).
        len: u32,
    },
    /// The structure of the file is invalid at this point.
    #[error("{}: malformed capture at byte {offset}: {reason}", .path.display())]
    Malformed {
        /// The file being read.
        path: PathBuf,
        /// Offset of the start of the offending record or block.
        offset: u64,
        /// What is wrong, one line.
        reason: String,
    },
    /// The file ends in the middle of a record. A warning: everything before
    /// `offset` was valid and has been returned.
    #[error("{}: file truncated in the record starting at byte {offset}", .path.display())]
    Truncated {
        /// The file being read.
        path: PathBuf,
        /// Offset of the start of the incomplete record (or header).
        offset: u64,
    },
}

impl CaptureError {
    /// True for [`CaptureError::Truncated`]: the frames before were valid
    /// and the caller should record a warning, not a failure.
    pub fn is_truncation(&self) -> bool {
        matches!(self, CaptureError::Truncated { .. })
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            CaptureError::Io { path, .. }
            | CaptureError::NotACapture { path, .. }
            | CaptureError::RecordTooLarge { path, .. }
            | CaptureError::Malformed { path, .. }
            | CaptureError::Truncated { path, .. } => path,
        }
    }

    /// The byte offset in the file the error is about.
    pub fn offset(&self) -> u64 {
        match self {
            CaptureError::Io { offset, .. }
            | CaptureError::NotACapture { offset, .. }
            | CaptureError::RecordTooLarge { offset, .. }
            | CaptureError::Malformed { offset, .. }
            | CaptureError::Truncated { offset, .. } => *offset,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_with_path_and_offset() {
        let path = PathBuf::from("/cases/a.pcap");
        let errors = [
            CaptureError::Io {
                path: path.clone(),
                offset: 7,
                source: std::io::Error::other("disk gone"),
            },
            CaptureError::NotACapture {
                path: path.clone(),
                offset: 0,
            },
            CaptureError::RecordTooLarge {
                path: path.clone(),
                offset: 40,
                len: 300_000,
            },
            CaptureError::Malformed {
                path: path.clone(),
                offset: 64,
                reason: "zero-length block".into(),
            },
            CaptureError::Truncated {
                path: path.clone(),
                offset: 128,
            },
        ];
        for e in &errors {
            let msg = e.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(msg.starts_with("/cases/a.pcap: "), "{msg}");
            assert!(msg.contains(&e.offset().to_string()), "{msg}");
            assert_eq!(e.path(), path.as_path());
        }
        assert!(errors[4].is_truncation());
        assert!(!errors[3].is_truncation());
        assert!(std::error::Error::source(&errors[0]).is_some());
    }
}
