//! Panic-free byte readers shared by the TCP probes.
//!
//! Every reader takes the whole buffered prefix and an offset and returns
//! `None` when the bytes are not there yet, so a probe can turn "ran out of
//! bytes" into [`Probe::NeedMore`] with `?`-free `match`es and never index
//! out of bounds. Nothing here allocates.

use super::super::Probe;

/// A field check: the field's offset and its validity test.
pub(super) type FieldCheck<T> = (usize, fn(T) -> bool);

/// Byte at `off`.
pub(super) fn u8_at(data: &[u8], off: usize) -> Option<u8> {
    data.get(off).copied()
}

/// Big-endian u16 at `off`.
pub(super) fn be_u16(data: &[u8], off: usize) -> Option<u16> {
    let b = data.get(off..off.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Big-endian 24-bit integer at `off`.
pub(super) fn be_u24(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(3)?)?;
    Some(u32::from_be_bytes([0, *b.first()?, *b.get(1)?, *b.get(2)?]))
}

/// Big-endian u32 at `off`.
pub(super) fn be_u32(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Little-endian 24-bit integer at `off`.
pub(super) fn le_u24(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(3)?)?;
    Some(u32::from_le_bytes([*b.first()?, *b.get(1)?, *b.get(2)?, 0]))
}

/// Little-endian u32 at `off`.
pub(super) fn le_u32(data: &[u8], off: usize) -> Option<u32> {
    let b = data.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Compares `data` with the literal `lit`: [`Probe::Match`] when `data`
/// starts with all of `lit`, [`Probe::NeedMore`] when `data` is a shorter
/// prefix of `lit`, [`Probe::NotMine`] otherwise.
pub(super) fn literal(data: &[u8], lit: &[u8]) -> Probe {
    literal_with(data, lit, |a, b| a == b)
}

/// [`literal`], ASCII case-insensitively.
pub(super) fn literal_ci(data: &[u8], lit: &[u8]) -> Probe {
    literal_with(data, lit, |a, b| a.eq_ignore_ascii_case(&b))
}

fn literal_with(data: &[u8], lit: &[u8], eq: impl Fn(u8, u8) -> bool) -> Probe {
    let same = data.iter().zip(lit).all(|(&a, &b)| eq(a, b));
    if !same {
        Probe::NotMine
    } else if data.len() >= lit.len() {
        Probe::Match
    } else {
        Probe::NeedMore
    }
}

/// True when `hay` contains `needle`, ASCII case-insensitively.
pub(super) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Splits off the first line: the bytes before the first `\n` (without a
/// trailing `\r`) and the bytes after it. `None` when no `\n` yet.
pub(super) fn line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let (head, tail) = data.split_at_checked(nl)?;
    let head = head.strip_suffix(b"\r").unwrap_or(head);
    Some((head, tail.get(1..).unwrap_or_default()))
}

/// Printable ASCII, space included.
pub(super) fn is_text(b: u8) -> bool {
    (0x20..0x7f).contains(&b)
}

/// The larger verdict of two where one must be certain: a `Match` wins,
/// then `NeedMore`, then `NotMine` (used when a probe accepts several
/// alternative openings).
pub(super) fn any_of(a: Probe, b: Probe) -> Probe {
    match (a, b) {
        (Probe::Match, _) | (_, Probe::Match) => Probe::Match,
        (Probe::NeedMore, _) | (_, Probe::NeedMore) => Probe::NeedMore,
        _ => Probe::NotMine,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_stop_at_the_end() {
        let d = [1, 2, 3, 4];
        assert_eq!(be_u16(&d, 2), Some(0x0304));
        assert_eq!(be_u16(&d, 3), None);
        assert_eq!(be_u32(&d, 0), Some(0x0102_0304));
        assert_eq!(be_u32(&d, 1), None);
        assert_eq!(le_u32(&d, 0), Some(0x0403_0201));
        assert_eq!(be_u24(&d, 1), Some(0x0002_0304));
        assert_eq!(le_u24(&d, 2), None);
        assert_eq!(be_u16(&d, usize::MAX), None);
        assert_eq!(u8_at(&d, 4), None);
    }

    #[test]
    fn literal_prefixes() {
        assert_eq!(literal(b"SS", b"SSH-"), Probe::NeedMore);
        assert_eq!(literal(b"SSH-2", b"SSH-"), Probe::Match);
        assert_eq!(literal(b"SSX", b"SSH-"), Probe::NotMine);
        assert_eq!(literal_ci(b"ehlo x", b"EHLO "), Probe::Match);
        assert_eq!(literal(b"", b"X"), Probe::NeedMore);
    }

    #[test]
    fn lines_and_search() {
        assert_eq!(line(b"ab\r\ncd"), Some((&b"ab"[..], &b"cd"[..])));
        assert_eq!(line(b"ab\n"), Some((&b"ab"[..], &b""[..])));
        assert_eq!(line(b"ab\r"), None);
        assert!(contains_ci(b"220 x ESMTP y", b"smtp"));
        assert!(!contains_ci(b"ab", b""));
        assert!(!contains_ci(b"a", b"ab"));
    }
}
