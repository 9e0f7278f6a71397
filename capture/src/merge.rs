//! Several frame sources read as one stream in timestamp order.
//!
//! Contract:
//! - A k-way merge: a `BinaryHeap` holds one lookahead frame per input, so
//!   memory is O(inputs) and each frame costs O(log inputs).
//! - Order: `ts_ns`, then the frame's `source` index, then the input's
//!   position; frames of one input keep their file order (an input that is
//!   itself slightly out of order is not reordered, only interleaved).
//! - Errors: when an input fails, [`MergedSource::next`] returns that error
//!   once, tagged with the input's position, and drops that input; the next
//!   call carries on with the others. A truncated file thus simply ends after
//!   its warning. The caller decides whether a non-truncation error is fatal.
//! - A frame is never returned before every live input has a lookahead, so
//!   an error of input B may be reported before a frame of input A that has
//!   an earlier timestamp; no frame is lost or reordered because of it.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use crate::error::CaptureError;
use crate::frame::RawFrame;
use crate::FrameSource;

/// An error from one input of a [`MergedSource`].
#[derive(Debug, thiserror::Error)]
#[error("input {input}: {error}")]
pub struct MergeError {
    /// Position of the failing input in the `Vec` given to
    /// [`MergedSource::new`].
    pub input: usize,
    /// What went wrong; check [`CaptureError::is_truncation`].
    pub error: CaptureError,
}

/// A lookahead frame, ordered by (timestamp, source, input).
struct Lookahead {
    input: usize,
    frame: RawFrame,
}

impl Lookahead {
    fn key(&self) -> (i64, u32, usize) {
        (self.frame.ts_ns, self.frame.source, self.input)
    }
}

impl PartialEq for Lookahead {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Lookahead {}

impl PartialOrd for Lookahead {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Lookahead {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// Merges inputs into one timestamp-ordered stream. See the module docs.
pub struct MergedSource<S = Box<dyn FrameSource + Send>> {
    inputs: Vec<S>,
    live: Vec<bool>,
    heap: BinaryHeap<Reverse<Lookahead>>,
    /// Inputs that need a new lookahead before the next frame is chosen,
    /// popped from the back (lowest position first).
    refill: Vec<usize>,
}

impl<S: FrameSource> MergedSource<S> {
    /// Merges `inputs`; nothing is read until the first call to `next`.
    pub fn new(inputs: Vec<S>) -> MergedSource<S> {
        let n = inputs.len();
        MergedSource {
            inputs,
            live: vec![true; n],
            heap: BinaryHeap::with_capacity(n),
            refill: (0..n).rev().collect(),
        }
    }

    /// The inputs, in the order given (finished ones included), e.g. to sum
    /// `FileSource::bytes_read` for progress.
    pub fn inputs(&self) -> &[S] {
        &self.inputs
    }

    /// How many inputs have not yet ended or failed.
    pub fn live_inputs(&self) -> usize {
        self.live.iter().filter(|l| **l).count()
    }

    /// The next frame in timestamp order, `Ok(None)` when every input has
    /// ended, or one input's error (after which the merge goes on).
    #[allow(clippy::should_implement_trait)] // fallible, so not an Iterator
    pub fn next(&mut self) -> Result<Option<RawFrame>, MergeError> {
        while let Some(input) = self.refill.pop() {
            let (Some(src), Some(live)) = (self.inputs.get_mut(input), self.live.get_mut(input))
            else {
                continue;
            };
            if !*live {
                continue;
            }
            match src.next_frame() {
                Ok(Some(frame)) => self.heap.push(Reverse(Lookahead { input, frame })),
                Ok(None) => *live = false,
                Err(error) => {
                    *live = false;
                    return Err(MergeError { input, error });
                }
            }
        }
        Ok(self.heap.pop().map(|Reverse(head)| {
            self.refill.push(head.input);
            head.frame
        }))
    }
}

impl<S: FrameSource> FrameSource for MergedSource<S> {
    /// Like [`MergedSource::next`], without the input position (the error
    /// still names the file).
    fn next_frame(&mut self) -> Result<Option<RawFrame>, CaptureError> {
        self.next().map_err(|e| e.error)
    }

    /// Hands the buffer to the input read next (the one whose lookahead
    /// was taken last).
    fn recycle(&mut self, buf: Vec<u8>) {
        if let Some(src) = self.refill.last().and_then(|&i| self.inputs.get_mut(i)) {
            src.recycle(buf);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic
mod tests {
    use std::collections::VecDeque;
    use std::path::PathBuf;

    use super::*;
    use crate::frame::LinkType;
    use crate::testutil::PcapBuilder;
    use crate::FileSource;

    /// A scripted source: frames and errors in a fixed order.
    struct Script(VecDeque<Result<RawFrame, CaptureError>>);

    impl FrameSource for Script {
        fn next_frame(&mut self) -> Result<Option<RawFrame>, CaptureError> {
            self.0.pop_front().transpose()
        }
    }

    fn frame(ts_ns: i64, source: u32, tag: u8) -> RawFrame {
        RawFrame {
            ts_ns,
            link_type: LinkType::ETHERNET,
            orig_len: 1,
            data: vec![tag],
            source,
            interface: 0,
            data_offset: 0,
        }
    }

    fn drain<S: FrameSource>(m: &mut MergedSource<S>) -> (Vec<RawFrame>, Vec<MergeError>) {
        let (mut frames, mut errors) = (Vec::new(), Vec::new());
        loop {
            match m.next() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => errors.push(e),
            }
        }
        (frames, errors)
    }

    #[test]
    fn three_files_merge_in_time_order_with_ties_by_source() {
        // Source 0: 10, 30, 30, 50 s; source 1: 20, 30, 60; source 2: 5, 30.
        let specs: [&[(u32, u8)]; 3] = [
            &[(10, 1), (30, 2), (30, 3), (50, 4)],
            &[(20, 5), (30, 6), (60, 7)],
            &[(5, 8), (30, 9)],
        ];
        let sources: Vec<Box<dyn FrameSource + Send>> = specs
            .iter()
            .enumerate()
            .map(|(i, recs)| {
                let mut b = PcapBuilder::new(false, false, 1, 65535);
                for &(sec, tag) in recs.iter() {
                    b.record(sec, 0, 1, &[tag]);
                }
                let src = FileSource::from_reader(
                    std::io::Cursor::new(b.bytes),
                    PathBuf::from(format!("in{i}.pcap")),
                    i as u32,
                )
                .unwrap();
                Box::new(src) as Box<dyn FrameSource + Send>
            })
            .collect();
        let mut m = MergedSource::new(sources);
        let (frames, errors) = drain(&mut m);
        assert!(errors.is_empty());
        let tags: Vec<u8> = frames.iter().map(|f| f.data[0]).collect();
        assert_eq!(tags, [8, 1, 5, 2, 3, 6, 9, 4, 7]);
        assert!(frames.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        assert_eq!(m.live_inputs(), 0);
        assert!(m.next().unwrap().is_none());
    }

    #[test]
    fn an_error_is_reported_once_and_the_others_go_on() {
        let trunc = CaptureError::Truncated {
            path: "b.pcap".into(),
            offset: 99,
        };
        let bad = CaptureError::NotACapture {
            path: "c.pcap".into(),
            offset: 0,
        };
        let a = Script(VecDeque::from([Ok(frame(1, 0, 1)), Ok(frame(4, 0, 2))]));
        let b = Script(VecDeque::from([
            Ok(frame(2, 1, 3)),
            Ok(frame(3, 1, 4)),
            Err(trunc),
        ]));
        let c = Script(VecDeque::from([Err(bad)]));
        let mut m = MergedSource::new(vec![a, b, c]);
        let (frames, errors) = drain(&mut m);
        let tags: Vec<u8> = frames.iter().map(|f| f.data[0]).collect();
        assert_eq!(tags, [1, 3, 4, 2]);
        let failed: Vec<(usize, bool)> = errors
            .iter()
            .map(|e| (e.input, e.error.is_truncation()))
            .collect();
        assert_eq!(failed, [(2, false), (1, true)]);
        assert!(errors[1].to_string().contains("b.pcap"));
    }

    #[test]
    fn sources_can_move_to_a_reader_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<FileSource>();
        assert_send::<MergedSource>();
        assert_send::<MergedSource<FileSource>>();
    }

    #[test]
    fn merged_source_is_a_frame_source() {
        let a = Script(VecDeque::from([Ok(frame(2, 0, 1))]));
        let b = Script(VecDeque::from([Ok(frame(1, 1, 2))]));
        let mut m: Box<dyn FrameSource> = Box::new(MergedSource::new(vec![a, b]));
        assert_eq!(m.next_frame().unwrap().unwrap().data, [2]);
        assert_eq!(m.next_frame().unwrap().unwrap().data, [1]);
        assert!(m.next_frame().unwrap().is_none());
        let empty: MergedSource<Script> = MergedSource::new(Vec::new());
        assert_eq!(empty.inputs().len(), 0);
    }
}
