//! Helpers shared by the database parsers (`mysql`, `pgsql`, `redis`,
//! `tds`): a bounded length-prefixed message framer and capped text.
//!
//! # Framer contract
//! [`Framer::next`] takes stream bytes and yields whole messages, each as
//! its first `cap` bytes plus its full length: a message longer than the
//! cap is delivered as soon as its first `cap` bytes arrived and the rest
//! is skipped by length, so at most `cap` bytes are ever buffered and no
//! allocation follows a length field before the bytes arrived. The result
//! does not depend on how the stream was cut.

/// Longest query / command text kept in a record.
pub const MAX_QUERY_LEN: usize = 4 * 1024;
/// Longest name (user, database, plugin, version, …) kept in a record.
pub const MAX_NAME_LEN: usize = 256;
/// Longest error or status message kept in a record.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// One step of a [`Framer`].
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A message: its first bytes (at most the cap) and its full length.
    Msg {
        /// The message from its first byte (header included), truncated
        /// to the framer's cap.
        prefix: Vec<u8>,
        /// Full length of the message, header included.
        total: usize,
    },
    /// The input ran out inside a message.
    NeedMore,
    /// The header gave an impossible length: the stream is not framed as
    /// expected.
    Bad,
}

/// Splits a stream into length-prefixed messages, buffering at most `cap`
/// bytes (see the module documentation).
#[derive(Debug, Default)]
pub struct Framer {
    /// Partial message (≤ `cap` bytes).
    buf: Vec<u8>,
    /// Bytes of the current oversized message still to skip.
    skip: usize,
}

impl Framer {
    /// Drops any partial message.
    pub fn reset(&mut self) {
        self.buf = Vec::new();
        self.skip = 0;
    }

    /// Whether no partial message is held.
    pub fn is_idle(&self) -> bool {
        self.buf.is_empty() && self.skip == 0
    }

    /// The next message from `input` (advanced past what was consumed).
    /// `hdr_len` bytes decide the length; `total` maps them to the full
    /// message length (header included, ≥ `hdr_len`) or `None` when
    /// malformed. `cap` must be ≥ `hdr_len`.
    pub fn next(
        &mut self,
        input: &mut &[u8],
        hdr_len: usize,
        cap: usize,
        total: impl Fn(&[u8]) -> Option<usize>,
    ) -> Next {
        if self.skip > 0 {
            let n = self.skip.min(input.len());
            self.skip -= n;
            *input = input.get(n..).unwrap_or_default();
            if self.skip > 0 {
                return Next::NeedMore;
            }
        }
        if self.buf.len() < hdr_len {
            self.take(input, hdr_len);
            if self.buf.len() < hdr_len {
                return Next::NeedMore;
            }
        }
        let Some(full) = total(self.buf.get(..hdr_len).unwrap_or_default()) else {
            return Next::Bad;
        };
        if full < hdr_len {
            return Next::Bad;
        }
        let want = full.min(cap.max(hdr_len));
        self.take(input, want);
        if self.buf.len() < want {
            return Next::NeedMore;
        }
        self.skip = full - want;
        let prefix = std::mem::take(&mut self.buf);
        if self.skip > 0 {
            let n = self.skip.min(input.len());
            self.skip -= n;
            *input = input.get(n..).unwrap_or_default();
        }
        Next::Msg {
            prefix,
            total: full,
        }
    }

    /// Moves input bytes into the buffer until it holds `want` bytes.
    fn take(&mut self, input: &mut &[u8], want: usize) {
        let n = want.saturating_sub(self.buf.len()).min(input.len());
        let (head, rest) = input.split_at(n);
        self.buf.extend_from_slice(head);
        *input = rest;
    }
}

/// A string cut at `cap` bytes (on a character boundary), non-UTF-8 bytes
/// replaced; the flag says whether it was cut (or the bytes were already
/// a prefix of something longer, `more`).
pub fn capped(bytes: &[u8], cap: usize, more: bool) -> (String, bool) {
    let cut = bytes.len() > cap;
    let s = String::from_utf8_lossy(bytes.get(..cap).unwrap_or(bytes));
    let mut s = s.into_owned();
    if s.len() > cap {
        let mut end = cap;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    (s, cut || more)
}

/// [`capped`] without the flag.
pub fn text(bytes: &[u8], cap: usize) -> String {
    capped(bytes, cap, false).0
}

/// The NUL-terminated string at `pos` and the position after its NUL;
/// `None` when no NUL follows.
pub fn cstr(buf: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = buf.get(pos..)?;
    let n = rest.iter().position(|&b| b == 0)?;
    Some((rest.get(..n)?, pos + n + 1))
}

/// `true` for `serde(skip_serializing_if)` on flags that are mostly false.
pub fn is_false(b: &bool) -> bool {
    !*b
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn be16(h: &[u8]) -> Option<usize> {
        Some(usize::from(u16::from_be_bytes([h[0], h[1]])))
    }

    #[test]
    fn framer_caps_and_skips() {
        let mut f = Framer::default();
        let stream = [0u8, 6, 1, 2, 3, 4, 0, 3, 9];
        let mut input = &stream[..];
        assert_eq!(
            f.next(&mut input, 2, 4, be16),
            Next::Msg {
                prefix: vec![0, 6, 1, 2],
                total: 6
            }
        );
        assert_eq!(
            f.next(&mut input, 2, 4, be16),
            Next::Msg {
                prefix: vec![0, 3, 9],
                total: 3
            }
        );
        assert_eq!(f.next(&mut input, 2, 4, be16), Next::NeedMore);
        let mut bad = &[0u8, 1][..];
        assert_eq!(f.next(&mut bad, 2, 4, be16), Next::Bad);
    }

    #[test]
    fn capped_text() {
        assert_eq!(capped(b"abcdef", 3, false), ("abc".into(), true));
        assert_eq!(capped("é".as_bytes(), 1, false), (String::new(), true));
        assert_eq!(cstr(b"ab\0c", 0), Some((&b"ab"[..], 3)));
        assert_eq!(cstr(b"ab", 0), None);
    }
}
