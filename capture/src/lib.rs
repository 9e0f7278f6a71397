//! Osprey's capture layer: where frames come from, and where they go back to.
//!
//! Contract:
//! - Capture never parses packets. A source yields [`RawFrame`]s: the
//!   captured bytes, the link type, the timestamp in nanoseconds, and
//!   provenance (`source` index, pcapng `interface`, and `data_offset`, the
//!   exact byte offset of the frame in its file). Decoding is `analysis`'s job.
//! - Reading is streaming with a fixed-size buffer, so a capture of any size
//!   is read in bounded memory, and no length read from a file is trusted
//!   before it is checked against [`MAX_RECORD_BYTES`].
//! - Bad input is reported, never panicked on. [`CaptureError::Truncated`] is
//!   a warning (the frames before it are good); any error ends that source.
//! - Several files are read as one time-ordered stream with
//!   [`MergedSource`]; frames are written back byte-identical with
//!   [`PcapWriter`] / [`PcapngWriter`], or fetched from the original file by
//!   offset with [`read_frame_at`].
//!
//! - [`iface::discover`] lists this namespace's interfaces and, for the
//!   host side of each veth, the namespace, processes, container and pod
//!   behind it. Live capture is a later addition behind the same
//!   [`FrameSource`] trait.
//! - [`live::LiveCapture`] captures interfaces in-process (libpcap);
//!   [`privsep::HelperCapture`] runs it in a separate helper process that
//!   alone holds `CAP_NET_RAW`, and reads its frames back over a pipe.

#![forbid(unsafe_code)]

pub mod error;
pub mod file;
pub mod frame;
pub mod iface;
pub mod live;
pub mod merge;
pub mod privsep;
pub mod ring;
pub mod workload;
pub mod writer;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
pub(crate) mod testutil;

pub use error::{CaptureError, MAX_RECORD_BYTES};
pub use file::{CaptureFormat, FileSource, InterfaceInfo};
pub use frame::{LinkType, RawFrame};
pub use merge::{MergeError, MergedSource};
pub use writer::{read_frame_at, PcapWriter, PcapngWriter};

/// Anything that produces frames one at a time: a file, a merge of files, or
/// (later) a live interface.
///
/// `Ok(None)` means the source is exhausted; calling again keeps returning
/// `Ok(None)`. An `Err` ends the input it came from: a single file returns
/// `Ok(None)` afterwards, while a [`MergedSource`] goes on with its other
/// inputs, so a caller can record the error and keep calling. Callers check
/// [`CaptureError::is_truncation`] to tell a warning from a failure.
pub trait FrameSource {
    /// The next frame, `Ok(None)` at the end, or why the source stopped.
    fn next_frame(&mut self) -> Result<Option<RawFrame>, CaptureError>;

    /// Gives back the data buffer of a frame the caller is done with, so a
    /// later frame can reuse the allocation (a file source then copies
    /// frames without allocating, and buffers are not freed on another
    /// thread). Sources that do not reuse buffers drop it.
    fn recycle(&mut self, buf: Vec<u8>) {
        drop(buf);
    }
}

impl<S: FrameSource + ?Sized> FrameSource for Box<S> {
    fn next_frame(&mut self) -> Result<Option<RawFrame>, CaptureError> {
        (**self).next_frame()
    }

    fn recycle(&mut self, buf: Vec<u8>) {
        (**self).recycle(buf);
    }
}
