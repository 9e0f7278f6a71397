//! The unit every source produces: one captured frame with its provenance.

/// A link-layer type, by its LINKTYPE_ number (tcpdump.org/linktypes.html).
///
/// Kept as a newtype so unknown values survive the trip from reader to
/// decoder to exporter unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte host-order address family.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II / 802.3.
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IP (v4 or v6 by version nibble), LINKTYPE_RAW.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte network-order address family.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1.
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// One captured frame, owned, with where it came from.
///
/// `data_offset` is the byte offset of the first captured byte of the frame
/// inside its source file, so that an exporter can copy the exact bytes back
/// without re-reading the capture's structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Capture timestamp in nanoseconds since the Unix epoch.
    pub ts_ns: i64,
    /// Link type of the interface the frame was captured on.
    pub link_type: LinkType,
    /// Length of the frame on the wire (may exceed `data.len()` when snapped).
    pub orig_len: u32,
    /// The captured bytes.
    pub data: Vec<u8>,
    /// Index of the source in this run (order of the inputs given).
    pub source: u32,
    /// pcapng interface id (0 for classic pcap and live sources).
    pub interface: u32,
    /// Byte offset of `data[0]` in the source file (0 for live sources).
    pub data_offset: u64,
}
