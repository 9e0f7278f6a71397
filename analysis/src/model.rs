//! Records that cross stage boundaries: packet-index rows and anomalies.

use std::net::IpAddr;

/// One entry of the packet index: where a frame lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRow {
    /// Run-wide frame number, 1-based, in merged timestamp order.
    pub pkt_no: u64,
    /// Capture id (1-based index of the input).
    pub capture_id: u32,
    /// pcapng interface id.
    pub interface: u32,
    /// Byte offset of the first frame byte in the capture file.
    pub data_offset: u64,
    /// Timestamp, ns since epoch.
    pub ts_ns: i64,
    /// Captured length.
    pub caplen: u32,
    /// Length on the wire.
    pub orig_len: u32,
    /// LINKTYPE_ of the frame.
    pub link_type: u32,
}

/// The 5-tuple of the packet an anomaly was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tuple {
    /// Source address.
    pub src_ip: IpAddr,
    /// Source port (0 when none).
    pub src_port: u16,
    /// Destination address.
    pub dest_ip: IpAddr,
    /// Destination port (0 when none).
    pub dest_port: u16,
    /// IP protocol number.
    pub proto: u8,
}

/// Which stage found an anomaly (EVE `anomaly.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnomalyKind {
    /// Packet decoding, including IP defragmentation.
    Decode,
    /// TCP stream reassembly.
    Stream,
}

impl AnomalyKind {
    /// EVE name.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyKind::Decode => "decode",
            AnomalyKind::Stream => "stream",
        }
    }
}

/// A counted anomaly, logged as an EVE `anomaly` event and stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyRow {
    /// When.
    pub ts_ns: i64,
    /// Frame it was found in.
    pub pkt_no: u64,
    /// Flow, when known.
    pub flow_id: Option<u64>,
    /// Stage.
    pub kind: AnomalyKind,
    /// Event name (snake_case, stable).
    pub event: &'static str,
    /// Packet tuple, when decoded far enough.
    pub tuple: Option<Tuple>,
}
