//! HTTP/2 frame layer (RFC 9113 §4.1, §6): the 9-octet frame header, frame
//! types and flags, error codes, and the small fixed payloads. Pure
//! functions over borrowed bytes; nothing here allocates.

/// Frame header length (RFC 9113 §4.1).
pub(super) const HEADER_LEN: usize = 9;

/// END_STREAM flag (DATA, HEADERS; RFC 9113 §6.1, §6.2).
pub(super) const END_STREAM: u8 = 0x1;
/// END_HEADERS flag (HEADERS, PUSH_PROMISE, CONTINUATION).
pub(super) const END_HEADERS: u8 = 0x4;
/// PADDED flag (DATA, HEADERS, PUSH_PROMISE).
pub(super) const PADDED: u8 = 0x8;
/// PRIORITY flag (HEADERS, RFC 9113 §6.2).
pub(super) const PRIORITY: u8 = 0x20;

/// Frame types (RFC 9113 §6, §11.2); others are kept as `Unknown(n)` and
/// skipped by length (§4.1, §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FrameType {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    Unknown(u8),
}

impl From<u8> for FrameType {
    fn from(t: u8) -> Self {
        match t {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            n => FrameType::Unknown(n),
        }
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FrameHeader {
    /// Payload length (24 bits, so at most 16 MiB - 1).
    pub len: u32,
    pub kind: FrameType,
    pub flags: u8,
    /// Stream identifier without the reserved bit.
    pub stream: u32,
}

impl FrameHeader {
    /// Decodes the 9-octet frame header (RFC 9113 §4.1).
    pub fn parse(b: &[u8; HEADER_LEN]) -> FrameHeader {
        let [l0, l1, l2, t, flags, s0, s1, s2, s3] = *b;
        FrameHeader {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from(t),
            flags,
            stream: u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff,
        }
    }

    /// Whether a flag is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// Error codes of RST_STREAM and GOAWAY (RFC 9113 §7): the name, or
/// `0x…` for codes not defined there.
pub(super) fn error_name(code: u32) -> String {
    let name = match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        n => return format!("0x{n:x}"),
    };
    name.to_string()
}

/// A big-endian u32 at `off`.
pub(super) fn be_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// The header-block fragment of a HEADERS or PUSH_PROMISE payload: strips
/// the pad length, the priority fields (HEADERS with PRIORITY, §6.2) or the
/// promised stream id (PUSH_PROMISE, §6.6), and the padding. Returns the
/// fragment and, for PUSH_PROMISE, the promised stream; `None` when the
/// padding is longer than the payload (a connection error, §6.1).
pub(super) fn header_fragment<'a>(
    h: &FrameHeader,
    payload: &'a [u8],
) -> Option<(Option<u32>, &'a [u8])> {
    let mut p = payload;
    let mut pad = 0usize;
    if h.has(PADDED) {
        pad = usize::from(*p.first()?);
        p = p.get(1..)?;
    }
    let mut promised = None;
    match h.kind {
        FrameType::Headers if h.has(PRIORITY) => p = p.get(5..)?,
        FrameType::PushPromise => {
            promised = Some(be_u32(p, 0)? & 0x7fff_ffff);
            p = p.get(4..)?;
        }
        _ => {}
    }
    let end = p.len().checked_sub(pad)?;
    Some((promised, p.get(..end)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_and_types() {
        let h = FrameHeader::parse(b"\x00\x01\x02\xee\x25\x80\x00\x00\x03");
        assert_eq!(h.len, 0x102);
        assert_eq!(h.kind, FrameType::Unknown(0xee));
        assert_eq!(h.stream, 3, "reserved bit ignored");
        assert!(h.has(END_STREAM) && h.has(END_HEADERS) && h.has(PRIORITY));
        assert_eq!(FrameType::from(9), FrameType::Continuation);
        assert_eq!(error_name(8), "CANCEL");
        assert_eq!(error_name(0x77), "0x77");
    }

    #[test]
    fn fragments() {
        let h = |kind, flags| FrameHeader {
            len: 0,
            kind,
            flags,
            stream: 1,
        };
        let padded = h(FrameType::Headers, PADDED | PRIORITY);
        assert_eq!(
            header_fragment(&padded, b"\x02\x80\x00\x00\x01\x10ab\x00\x00"),
            Some((None, &b"ab"[..]))
        );
        assert_eq!(
            header_fragment(&padded, b"\x09\x80\x00\x00\x01\x10ab"),
            None
        );
        let push = h(FrameType::PushPromise, 0);
        assert_eq!(
            header_fragment(&push, b"\x00\x00\x00\x02xy"),
            Some((Some(2), &b"xy"[..]))
        );
        assert_eq!(header_fragment(&push, b"\x00"), None);
    }
}
