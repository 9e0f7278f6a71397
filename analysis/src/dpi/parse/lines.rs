//! Line framing and reply grouping shared by the text protocols FTP and
//! SMTP.
//!
//! # Contract
//! - [`LineReader`] cuts one direction's stream at LF (a preceding CR is
//!   stripped), buffering at most its cap. A longer line keeps its first
//!   `cap` bytes, is flagged truncated, and the rest up to its LF is
//!   skipped. After [`LineReader::gap`] the partial line is dropped and so
//!   is the (cut) line the stream resumes in, up to its LF.
//! - [`ReplyReader`] groups reply lines into replies (RFC 959 §4.2, RFC
//!   5321 §4.2.1): `ddd text` is a whole reply, `ddd-text` opens a
//!   multi-line one that ends at a line starting with the same code and a
//!   space (or the bare code). Lines that are not replies outside a
//!   multi-line reply are ignored and counted. At most [`MAX_REPLY_LINES`]
//!   texts of [`MAX_REPLY_TEXT`] bytes are kept per reply.

/// Most lines of text kept per reply (later ones are dropped).
pub const MAX_REPLY_LINES: usize = 32;
/// Longest reply text kept per line, in bytes.
pub const MAX_REPLY_TEXT: usize = 512;

/// Cuts a byte stream into lines of at most `cap` bytes.
#[derive(Debug, Default)]
pub struct LineReader {
    /// The partial line (≤ `cap` bytes).
    buf: Vec<u8>,
    /// Longest line kept.
    cap: usize,
    /// The current line overran `cap`.
    truncated: bool,
    /// Bytes were lost: drop everything up to the next LF.
    resync: bool,
}

/// One line, without its CR LF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The line's bytes (at most the reader's cap).
    pub bytes: Vec<u8>,
    /// The line was longer than the cap and was cut.
    pub truncated: bool,
}

impl LineReader {
    /// A reader keeping at most `cap` bytes per line.
    pub fn new(cap: usize) -> Self {
        LineReader {
            cap,
            ..Default::default()
        }
    }

    /// Consumes `bytes` up to and including the next LF and returns that
    /// line, or buffers them all (returning `None`) when there is no LF.
    pub fn next_line(&mut self, bytes: &mut &[u8]) -> Option<Line> {
        let Some(i) = bytes.iter().position(|&b| b == b'\n') else {
            self.push(bytes);
            *bytes = &[];
            return None;
        };
        let (line, rest) = bytes.split_at(i);
        self.push(line);
        *bytes = rest.get(1..).unwrap_or_default();
        let mut line = std::mem::take(&mut self.buf);
        let truncated = std::mem::take(&mut self.truncated);
        if std::mem::take(&mut self.resync) {
            return self.next_line(bytes);
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(Line {
            bytes: line,
            truncated,
        })
    }

    fn push(&mut self, b: &[u8]) {
        if self.resync {
            return;
        }
        let room = self.cap.saturating_sub(self.buf.len());
        if b.len() > room {
            self.truncated = true;
        }
        self.buf
            .extend_from_slice(b.get(..room.min(b.len())).unwrap_or_default());
    }

    /// Bytes were lost: drop the partial line and the rest of the line the
    /// stream resumes in.
    pub fn gap(&mut self) {
        self.buf = Vec::new();
        self.truncated = false;
        self.resync = true;
    }

    /// Frees the buffer.
    pub fn clear(&mut self) {
        self.buf = Vec::new();
    }
}

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The three-digit code (100..=999).
    pub code: u16,
    /// The text of each line (code and separator removed), capped.
    pub lines: Vec<String>,
}

/// Groups reply lines into [`Reply`]s.
#[derive(Debug, Default)]
pub struct ReplyReader {
    /// The multi-line reply being read.
    open: Option<Reply>,
    /// Lines that were not replies.
    pub junk_lines: u32,
}

/// The code of a line starting with three digits, and what follows them.
fn split_code(line: &[u8]) -> Option<(u16, &[u8])> {
    let (digits, rest) = line.split_first_chunk::<3>()?;
    if !digits.iter().all(u8::is_ascii_digit) || digits[0] == b'0' {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some((code, rest))
}

/// Reply text as a capped, lossily decoded string.
pub fn text(b: &[u8]) -> String {
    let cut = b.get(..MAX_REPLY_TEXT).unwrap_or(b);
    String::from_utf8_lossy(cut).into_owned()
}

impl ReplyReader {
    /// Feeds one line; returns the reply it completes.
    pub fn line(&mut self, line: &[u8]) -> Option<Reply> {
        if let Some(open) = &mut self.open {
            // RFC 959 §4.2: the last line is `ddd` + SP with the same code.
            if let Some((code, rest)) = split_code(line) {
                if code == open.code && matches!(rest.first(), None | Some(b' ')) {
                    push_text(open, rest.get(1..).unwrap_or_default());
                    return self.open.take();
                }
            }
            push_text(open, line);
            return None;
        }
        let Some((code, rest)) = split_code(line) else {
            self.junk_lines = self.junk_lines.saturating_add(1);
            return None;
        };
        let mut reply = Reply {
            code,
            lines: Vec::new(),
        };
        push_text(&mut reply, rest.get(1..).unwrap_or_default());
        if rest.first() == Some(&b'-') {
            self.open = Some(reply);
            None
        } else {
            Some(reply)
        }
    }

    /// Bytes were lost: drop the multi-line reply being read.
    pub fn gap(&mut self) {
        self.open = None;
    }
}

fn push_text(reply: &mut Reply, t: &[u8]) {
    if reply.lines.len() < MAX_REPLY_LINES {
        reply.lines.push(text(t));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn lines_cut_and_capped() {
        let mut r = LineReader::new(4);
        let mut b: &[u8] = b"ab\r\nabcdefg\nxy";
        assert_eq!(r.next_line(&mut b).unwrap().bytes, b"ab");
        let l = r.next_line(&mut b).unwrap();
        assert_eq!((l.bytes.as_slice(), l.truncated), (&b"abcd"[..], true));
        assert_eq!(r.next_line(&mut b), None);
        assert!(b.is_empty());
        let mut b: &[u8] = b"z\n";
        assert_eq!(r.next_line(&mut b).unwrap().bytes, b"xyz");
        r.gap();
        let mut b: &[u8] = b"lost\nkept\n";
        assert_eq!(r.next_line(&mut b).unwrap().bytes, b"kept");
    }

    #[test]
    fn replies_single_and_multi() {
        let mut r = ReplyReader::default();
        assert_eq!(
            r.line(b"220 hi"),
            Some(Reply {
                code: 220,
                lines: vec!["hi".into()]
            })
        );
        assert_eq!(r.line(b"211-Features:"), None);
        assert_eq!(r.line(b" EPRT"), None);
        assert_eq!(r.line(b"211-still inside"), None);
        let end = r.line(b"211 End").unwrap();
        assert_eq!(end.lines, ["Features:", " EPRT", "211-still inside", "End"]);
        assert_eq!(r.line(b"xyz"), None);
        assert_eq!(r.junk_lines, 1);
        assert_eq!(
            r.line(b"123"),
            Some(Reply {
                code: 123,
                lines: vec![String::new()]
            })
        );
    }
}
