//! The DNS name walk both DNS probes (UDP datagrams, TCP streams) share:
//! labels and backward-only compression pointers (RFC 1035 §4.1.4), bounded
//! in length and pointer count, without decoding the name.

/// DNS header length (RFC 1035 §4.1.1); pointers may not point into it.
const HEADER: usize = 12;
/// Longest name on the wire, length octets included (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;

/// Outcome of walking one name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameWalk {
    /// The name is well formed; the offset just past it (past its first
    /// pointer when compressed).
    End(usize),
    /// The name runs past the bytes available (so far).
    Truncated,
    /// A compression pointer that points at itself or forward (the
    /// "loop pointer" attack on naive parsers), or one pointer too many:
    /// the message is still framed DNS, with a hostile name; the offset
    /// just past the offending pointer (or the name's first pointer).
    BadPointer(usize),
    /// A bad label type, a label byte `label_byte` refuses, a forward or
    /// header pointer, too many pointers, or a name over 255 octets.
    Malformed,
}

/// Walks the name at `start` of `msg`, following at most `max_pointers`
/// compression pointers; `label_byte` says which bytes a label may hold.
pub(crate) fn walk_name(
    msg: &[u8],
    start: usize,
    max_pointers: usize,
    label_byte: fn(u8) -> bool,
) -> NameWalk {
    let mut pos = start;
    let mut end = None;
    let mut pointers = 0usize;
    let mut total = 0usize;
    loop {
        let Some(&b) = msg.get(pos) else {
            return NameWalk::Truncated;
        };
        match b {
            0 => return NameWalk::End(end.unwrap_or(pos + 1)),
            1..=63 => {
                let len = usize::from(b);
                total += len + 1;
                if total + 1 > MAX_NAME {
                    return NameWalk::Malformed;
                }
                let label = msg.get(pos + 1..(pos + 1 + len).min(msg.len()));
                let label = label.unwrap_or_default();
                if !label.iter().all(|&c| label_byte(c)) {
                    return NameWalk::Malformed;
                }
                if label.len() < len {
                    return NameWalk::Truncated;
                }
                pos += 1 + len;
            }
            0xc0..=0xff => {
                let Some(&lo) = msg.get(pos + 1) else {
                    return NameWalk::Truncated;
                };
                let target = usize::from(u16::from_be_bytes([b & 0x3f, lo]));
                pointers += 1;
                if target >= pos || pointers > max_pointers {
                    return NameWalk::BadPointer(end.unwrap_or(pos + 2));
                }
                if target < HEADER {
                    return NameWalk::Malformed;
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            // 0x40 / 0x80: extended and reserved label types.
            _ => return NameWalk::Malformed,
        }
    }
}
