//! Assertions shared by the probe tests (test builds only).

use super::super::Probe;
use crate::flow::Direction;

/// The probe signature every descriptor uses.
pub(super) type ProbeFn = fn(Direction, &[u8]) -> Probe;

/// `bytes` is this protocol: the whole buffer matches, every prefix is
/// `NeedMore` or `Match` (never `NotMine`), and once a prefix matches every
/// longer one does too.
#[track_caller]
pub(super) fn assert_valid(probe: ProbeFn, dir: Direction, bytes: &[u8]) {
    let mut matched_at = None;
    for n in 0..=bytes.len() {
        let prefix = bytes.get(..n).unwrap_or_default();
        let got = probe(dir, prefix);
        match (got, matched_at) {
            (Probe::NotMine, _) => panic!("prefix of {n} bytes declined"),
            (Probe::NeedMore, Some(at)) => panic!("matched at {at} but NeedMore at {n}"),
            (Probe::Match, None) => matched_at = Some(n),
            _ => {}
        }
    }
    assert!(
        matched_at.is_some(),
        "never matched ({} bytes)",
        bytes.len()
    );
}

/// `bytes` is not this protocol: no prefix matches and the whole buffer is
/// declined.
#[track_caller]
pub(super) fn assert_not_mine(probe: ProbeFn, dir: Direction, bytes: &[u8]) {
    for n in 0..=bytes.len() {
        let prefix = bytes.get(..n).unwrap_or_default();
        assert_ne!(probe(dir, prefix), Probe::Match, "prefix of {n} bytes");
    }
    assert_eq!(probe(dir, bytes), Probe::NotMine);
}

/// Runs the probe over every window of some pseudo-random bytes and the
/// openings of all samples: it must not panic.
pub(super) fn assert_no_panic(probe: ProbeFn) {
    let mut x: u32 = 0x1234_5678;
    let mut noise = [0u8; 600];
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x.to_le_bytes().first().copied().unwrap_or_default();
    }
    for dir in [Direction::ToServer, Direction::ToClient] {
        for start in 0..64 {
            let window = noise.get(start..).unwrap_or_default();
            for n in 0..=window.len().min(super::super::PROBE_BYTES) {
                let _ = probe(dir, window.get(..n).unwrap_or_default());
            }
        }
        for (_, _, bytes) in super::samples::samples() {
            for n in 0..=bytes.len() {
                let _ = probe(dir, bytes.get(..n).unwrap_or_default());
            }
        }
    }
}
