//! Test support shared by the parsers' tests: conversations recorded from
//! real captures (`C`/`S` lines of hex, as `tshark -q -z follow,tcp,raw,N`
//! prints them) replayed whole, byte by byte, split at every offset, and
//! cut short.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

/// Segments of a conversation in capture order.
pub type Convo = Vec<(Direction, Vec<u8>)>;

/// Builds a parser (argument: TCP or not).
pub type NewParser = fn(bool) -> Box<dyn AppParser>;

/// Bytes of a hex string.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Client (`C`) and server (`S`) segments in capture order, consecutive
/// ones of the same direction merged.
pub fn fixture(text: &str) -> Convo {
    let mut out: Convo = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (d, h) = line.split_once(' ').unwrap();
        let dir = if d == "C" {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        match out.last_mut() {
            Some((last, bytes)) if *last == dir => bytes.extend(hex(h)),
            _ => out.push((dir, hex(h))),
        }
    }
    out
}

/// Feeds the segments to a new TCP parser, then finishes it.
pub fn run(new: NewParser, convo: &[(Direction, &[u8])]) -> Vec<AppRecord> {
    let mut p = new(true);
    let mut out = Vec::new();
    for (dir, bytes) in convo {
        p.data(*dir, bytes, &mut out);
    }
    p.finish(&mut out);
    out
}

/// The records of the conversation fed whole.
pub fn whole(new: NewParser, c: &Convo) -> Vec<AppRecord> {
    run(
        new,
        &c.iter().map(|(d, b)| (*d, &b[..])).collect::<Vec<_>>(),
    )
}

/// The conversation's records, after checking that they are identical fed
/// whole, byte by byte, and with any one segment split at any offset, and
/// that every prefix of the conversation neither panics nor yields more
/// records.
pub fn check_segmentation(new: NewParser, c: &Convo) -> Vec<AppRecord> {
    let expected = whole(new, c);
    let bytewise: Vec<(Direction, &[u8])> = c
        .iter()
        .flat_map(|(d, b)| b.chunks(1).map(move |x| (*d, x)))
        .collect();
    assert_eq!(run(new, &bytewise), expected, "byte by byte");
    for (i, (_, seg)) in c.iter().enumerate() {
        for cut in 0..=seg.len() {
            let mut split: Vec<(Direction, &[u8])> = Vec::new();
            for (j, (d, b)) in c.iter().enumerate() {
                if i == j {
                    split.push((*d, &b[..cut]));
                    split.push((*d, &b[cut..]));
                } else {
                    split.push((*d, b));
                }
            }
            assert_eq!(run(new, &split), expected, "segment {i} cut at {cut}");
            assert!(run(new, &split[..=i]).len() <= expected.len(), "prefix");
        }
    }
    expected
}
