//! The privilege split (dumpcap's model): only a small capture helper
//! holds `CAP_NET_RAW`; everything that parses runs without privilege.
//!
//! - [`helper`]: `osprey capture-helper -i IFACE…`, a hidden subcommand of
//!   the same binary. It drops every capability but `CAP_NET_RAW`
//!   (`CAP_NET_ADMIN` too with `--promisc`) before it starts a thread,
//!   opens the interfaces with [`LiveCapture`](crate::live::LiveCapture),
//!   and copies libpcap's bytes, unparsed, into records on its stdout. It
//!   ends at SIGTERM/SIGINT or when its stdin closes (drains, final
//!   counters, end record), and when its stdout breaks (EPIPE: the reader
//!   is gone).
//! - [`framing`]: the record stream (hello, frames, stats, error, end),
//!   length-prefixed and versioned, read as hostile input with hard caps.
//! - [`client`]: [`HelperCapture`], the unprivileged side, a drop-in for
//!   `LiveCapture` (same methods, same channel of frame batches, same
//!   counters and sum rule). The helper binary is this executable, or
//!   `$OSPREY_CAPTURE_HELPER` (a copy that alone carries
//!   `setcap cap_net_raw+ep`).

pub mod client;
pub mod framing;
pub mod helper;

pub use client::{HelperCapture, HelperError, HELPER_ENV};
pub use framing::{FramingError, Record, RecordReader, RecordWriter};
