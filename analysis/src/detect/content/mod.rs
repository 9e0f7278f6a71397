//! Pure content detectors the detection engine calls on decoded inputs:
//! SQL injection ([`sqli`]), HTML/JS injection ([`xss`]), remote code
//! execution and traversal ([`rce`]) over the inputs of an HTTP request
//! ([`http`]), card numbers and US SSNs in payloads ([`dlp`]), and the
//! features of DNS names that tunnels give away ([`dns`]).
//!
//! Contract, shared by every detector here:
//! - pure functions, no state: the engine owns windows and thresholds;
//! - bounded work: each detector inspects at most [`MAX_INPUT`] bytes of one
//!   input (documented per function where it differs), and allocates at most
//!   a few copies of that prefix;
//! - never panics, whatever the bytes (tests cut attack strings at every
//!   offset and feed 100 KB of hostile input);
//! - a match says what matched and why: a short `reason` and the matched
//!   fragment, at most [`MAX_FRAGMENT`] characters, for the analyst.

pub mod dlp;
pub mod dns;
pub mod http;
pub mod rce;
pub mod sqli;
pub mod xss;

#[cfg(test)]
mod tests;

/// Bytes of one input a detector inspects; the rest is ignored.
pub const MAX_INPUT: usize = 8 * 1024;

/// Characters of the matched fragment a match carries.
pub const MAX_FRAGMENT: usize = 120;

/// The fragment of `bytes` around `start..end` (clamped), as lossy UTF-8,
/// at most [`MAX_FRAGMENT`] characters.
pub(crate) fn fragment(bytes: &[u8], start: usize, end: usize) -> String {
    let end = end.min(bytes.len());
    let start = start.min(end);
    let s = String::from_utf8_lossy(&bytes[start..end]);
    s.chars().take(MAX_FRAGMENT).collect()
}

/// The value of an ASCII hex digit.
fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `input` (at most [`MAX_INPUT`] bytes of it), with `+`
/// as a space when `plus` is set (form encoding); `%uXXXX` (IIS) becomes
/// the low byte for ASCII code points. Invalid escapes are kept as is. The
/// output is never longer than the input.
pub fn percent_decode(input: &[u8], plus: bool) -> Vec<u8> {
    let input = &input[..input.len().min(MAX_INPUT)];
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'%' {
            let h = |k: usize| input.get(i + k).copied().and_then(hex_val);
            if let (Some(a), Some(c)) = (h(1), h(2)) {
                out.push(a << 4 | c);
                i += 3;
                continue;
            }
            if matches!(input.get(i + 1), Some(b'u' | b'U')) {
                if let (Some(0), Some(0), Some(a), Some(c)) = (h(2), h(3), h(4), h(5)) {
                    out.push(a << 4 | c);
                    i += 6;
                    continue;
                }
            }
        }
        out.push(if plus && b == b'+' { b' ' } else { b });
        i += 1;
    }
    out
}

/// Whether `input` still holds a `%XX` escape.
pub(crate) fn has_escape(input: &[u8]) -> bool {
    input
        .windows(3)
        .any(|w| w[0] == b'%' && hex_val(w[1]).is_some() && hex_val(w[2]).is_some())
}

/// Percent-decodes once, and a second time if escapes remain (double
/// encoding, `%2527`). Output no longer than the input.
pub(crate) fn decode_twice(input: &[u8], plus: bool) -> Vec<u8> {
    let once = percent_decode(input, plus);
    if has_escape(&once) {
        percent_decode(&once, false)
    } else {
        once
    }
}

/// Whether `hay` contains `needle`, ASCII case-insensitively.
pub(crate) fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    find_ci(hay, needle, 0).is_some()
}

/// The first position at or after `from` where `needle` occurs in `hay`,
/// ASCII case-insensitively.
pub(crate) fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    if hay.len() < needle.len() || from > hay.len() - needle.len() {
        return None;
    }
    // Candidates are found with memchr on the first byte in both cases
    // (SIMD), so the per-position comparison runs only where it can match.
    let last_start = hay.len() - needle.len();
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut at = from;
    while at <= last_start {
        let i = at + memchr::memchr2(lo, up, &hay[at..=last_start])?;
        if hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest) {
            return Some(i);
        }
        at = i + 1;
    }
    None
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"a%27+b%2", true), b"a' b%2");
        assert_eq!(percent_decode(b"a+b", false), b"a+b");
        assert_eq!(percent_decode(b"%u0027x%u12", false), b"'x%u12");
        assert_eq!(decode_twice(b"%2527", false), b"'");
        assert_eq!(fragment(b"abc", 2, 99), "c");
        assert_eq!(fragment(&[b'x'; 500], 0, 500).len(), MAX_FRAGMENT);
        assert_eq!(find_ci(b"xxABC", b"abc", 0), Some(2));
        assert_eq!(find_ci(b"ab", b"abc", 0), None);
        assert_eq!(find_ci(b"abc", b"abc", 3), None);
    }
}
