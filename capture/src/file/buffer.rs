//! A fixed-size read buffer that knows the file offset of every byte in it.
//!
//! The readers ask for "at least `n` bytes from here" (`n` is always checked
//! against [`MAX_RECORD_BYTES`](crate::MAX_RECORD_BYTES) first), look at them
//! in place, then consume them. Refills move the few unconsumed bytes to the
//! front and read as much as fits, so the underlying reader sees large reads
//! (about one syscall per buffer, not per frame) and memory stays constant
//! whatever the file size.

use std::io::{self, Read};

/// Buffer size: room for the largest legal record several times over.
pub(crate) const BUF_BYTES: usize = 1 << 20;

/// A window `buf[start..end]` onto the file, starting at file offset `pos`.
pub(crate) struct ChunkBuffer {
    reader: Box<dyn Read + Send>,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    pos: u64,
    eof: bool,
}

impl ChunkBuffer {
    /// Wraps `reader`, positioned at file offset 0.
    pub(crate) fn new(reader: Box<dyn Read + Send>, capacity: usize) -> ChunkBuffer {
        ChunkBuffer {
            reader,
            buf: vec![0; capacity].into_boxed_slice(),
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
        }
    }

    /// File offset of the first unconsumed byte.
    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    /// The buffered, unconsumed bytes (starting at [`Self::pos`]).
    #[inline]
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Makes at least `n` bytes available in [`Self::data`].
    ///
    /// Returns `Ok(false)` when the input ends first (whatever was there is
    /// still in `data()`), or when `n` exceeds the buffer capacity.
    #[inline]
    pub(crate) fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        self.refill(n)
    }

    #[cold]
    fn refill(&mut self, n: usize) -> io::Result<bool> {
        if n > self.buf.len() {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < n {
            if self.eof {
                return Ok(false);
            }
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Marks `n` buffered bytes as used. `n` must not exceed `data().len()`.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.pos += n as u64;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use super::*;
    use crate::testutil::Dribble;

    #[test]
    fn short_reads_and_interrupts_are_absorbed() {
        let data: Vec<u8> = (0..100u8).collect();
        let reader = Dribble::new(data.clone());
        let mut b = ChunkBuffer::new(Box::new(reader), 16);
        let mut seen = Vec::new();
        loop {
            let ok = b.fill(10).unwrap();
            let take = if ok { 10 } else { b.data().len() };
            assert_eq!(b.pos(), seen.len() as u64);
            seen.extend_from_slice(&b.data()[..take]);
            b.consume(take);
            if !ok {
                break;
            }
        }
        assert_eq!(seen, data);
        assert!(!b.fill(1).unwrap());
        assert!(!b.fill(17).unwrap(), "larger than capacity");
    }
}
