//! Data-loss prevention: payment card numbers and US social security
//! numbers in raw bytes (the payload of any protocol).
//!
//! Cards: a run of 13–19 digits, either contiguous or in groups separated
//! by single spaces or single dashes (one separator kind per number) in
//! the printed layouts 4-4-4-4, 4-4-4-4-3, 4-6-5 (Amex) and 4-6-4
//! (Diners). The run must not touch a letter, digit, `.`+digit or a
//! further `-`/`/`/`:`+digit on either side (a space+digit only after a
//! space-separated number) (so it is not part of a longer
//! number, a hex string, a decimal, a phone number or an id), must pass
//! the Luhn check, and its prefix and length must belong to a major brand
//! ([`CardBrand`]). Numbers made of a single repeated digit are rejected;
//! well-known test numbers (4111 1111 1111 1111…) are *not*: they are
//! what leaks in test environments and what the sample captures carry.
//!
//! SSNs: `AAA-GG-SSSS` or `AAA GG SSSS` with the same boundary rule, and a
//! bare 9-digit run only when `ssn` or `social security` appears in the 32
//! bytes before it. Valid only with area not 000, 666 or 900–999, group
//! not 00, serial not 0000, and not the advertising numbers 078-05-1120
//! and 219-09-9999.
//!
//! Bounds: [`scan`] looks at the first `window` bytes only and returns at
//! most `max_matches` matches; work is linear in the window.

/// A card brand, from the number's prefix (IIN) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardBrand {
    /// 4, 13/16/19 digits.
    Visa,
    /// 51–55 and 2221–2720, 16 digits.
    Mastercard,
    /// 34, 37, 15 digits.
    Amex,
    /// 6011, 644–649, 65, 16–19 digits.
    Discover,
    /// 3528–3589, 16–19 digits.
    Jcb,
    /// 300–305, 36, 38, 14–19 digits.
    Diners,
    /// 62, 16–19 digits.
    UnionPay,
}

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DlpKind {
    /// A payment card number.
    Card(CardBrand),
    /// A US social security number.
    Ssn,
}

/// One sensitive number in the scanned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlpMatch {
    /// What it is.
    pub kind: DlpKind,
    /// Offset of its first digit in the scanned bytes.
    pub offset: usize,
    /// Length in bytes, separators included.
    pub len: usize,
    /// The number masked: cards keep the first 6 and last 4 digits
    /// (`411111******1111`), SSNs the last 4 (`***-**-6789`).
    pub masked: String,
}

/// Fewest digits of anything reported (an SSN).
const MIN_DIGITS: usize = 9;

/// Longest digit run (separators included) considered.
const MAX_RUN: usize = 19 + 4;

/// The brand of a card number (digits only), if its prefix and length
/// belong to a major brand.
pub fn card_brand(d: &[u8]) -> Option<CardBrand> {
    let n = d.len();
    let p = |k: usize| -> u32 {
        d.iter()
            .take(k)
            .fold(0, |a, &b| a * 10 + u32::from(b.wrapping_sub(b'0')))
    };
    let brand = if d.first() == Some(&b'4') {
        CardBrand::Visa
    } else if (51..=55).contains(&p(2)) || (2221..=2720).contains(&p(4)) {
        CardBrand::Mastercard
    } else if matches!(p(2), 34 | 37) {
        CardBrand::Amex
    } else if p(4) == 6011 || (644..=649).contains(&p(3)) || p(2) == 65 {
        CardBrand::Discover
    } else if (3528..=3589).contains(&p(4)) {
        CardBrand::Jcb
    } else if (300..=305).contains(&p(3)) || matches!(p(2), 36 | 38) {
        CardBrand::Diners
    } else if p(2) == 62 {
        CardBrand::UnionPay
    } else {
        return None;
    };
    let ok = match brand {
        CardBrand::Visa => matches!(n, 13 | 16 | 19),
        CardBrand::Mastercard => n == 16,
        CardBrand::Amex => n == 15,
        CardBrand::Discover | CardBrand::Jcb | CardBrand::UnionPay => (16..=19).contains(&n),
        CardBrand::Diners => (14..=19).contains(&n),
    };
    ok.then_some(brand)
}

/// Whether the digits pass the Luhn check.
pub fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let v = u32::from(b.wrapping_sub(b'0'));
            if i % 2 == 1 {
                let x = v * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                v
            }
        })
        .sum();
    !d.is_empty() && sum.is_multiple_of(10)
}

/// Whether an SSN's parts pass the validity rules of the module doc.
pub fn ssn_valid(area: u32, group: u32, serial: u32) -> bool {
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !matches!((area, group, serial), (78, 5, 1120) | (219, 9, 9999))
}

fn is_alnum(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_alphanumeric)
}

/// A digit run starting at `start`: (digits, byte end, group lengths,
/// separator), or `None` if the layout is mixed.
/// A digit run as read by [`digit_run`]: its digits and group sizes, on
/// the stack (a run is at most MAX_RUN + 1 bytes, so neither overflows).
struct Run {
    digits: [u8; MAX_RUN + 1],
    n_digits: usize,
    groups: [u8; MAX_RUN + 1],
    n_groups: usize,
    end: usize,
    sep: Option<u8>,
}

impl Run {
    fn digits(&self) -> &[u8] {
        &self.digits[..self.n_digits]
    }
    fn groups(&self) -> &[u8] {
        &self.groups[..self.n_groups]
    }
}

fn digit_run(s: &[u8], start: usize) -> Run {
    let mut run = Run {
        digits: [0; MAX_RUN + 1],
        n_digits: 0,
        groups: [0; MAX_RUN + 1],
        n_groups: 1,
        end: start,
        sep: None,
    };
    let mut i = start;
    while i < s.len() && i - start <= MAX_RUN {
        let b = s[i];
        if b.is_ascii_digit() {
            run.digits[run.n_digits] = b;
            run.n_digits += 1;
            run.groups[run.n_groups - 1] += 1;
            i += 1;
            continue;
        }
        let next_digit = s.get(i + 1).is_some_and(u8::is_ascii_digit);
        let short_group = run.groups[run.n_groups - 1] <= 6;
        if (b == b' ' || b == b'-') && next_digit && short_group && run.sep.is_none_or(|x| x == b) {
            run.sep = Some(b);
            run.n_groups += 1;
            i += 1;
            continue;
        }
        break;
    }
    run.end = i;
    run
}

fn masked_card(d: &[u8]) -> String {
    let mut m = String::with_capacity(d.len());
    for (i, &b) in d.iter().enumerate() {
        m.push(if i < 6 || i + 4 >= d.len() {
            char::from(b)
        } else {
            '*'
        });
    }
    m
}

/// Whether a keyword for a bare SSN is in the 32 bytes before `at`.
fn ssn_keyword(s: &[u8], at: usize) -> bool {
    let w = &s[at.saturating_sub(32)..at];
    super::contains_ci(w, b"ssn") || super::contains_ci(w, b"social security")
}

fn num(d: &[u8]) -> u32 {
    d.iter()
        .fold(0, |a, &b| a * 10 + u32::from(b.wrapping_sub(b'0')))
}

/// The sensitive numbers in the first `window` bytes of `bytes`, at most
/// `max_matches`, in order of offset.
pub fn scan(bytes: &[u8], window: usize, max_matches: usize) -> Vec<DlpMatch> {
    let s = &bytes[..bytes.len().min(window)];
    let mut out = Vec::new();
    // Digits are found 64 bytes at a time as a bit mask (`digit_mask`),
    // and only the starts of digit runs are visited: the per-byte work is
    // the mask, and the per-run work is spent where a number can begin.
    // Prefilter: a number (at most MAX_RUN + 1 bytes, at least 9 digits)
    // starting in one chunk ends in it or the next, so a chunk whose
    // digits and its successor's add up to fewer than 9 holds no start.
    let chunks = s.len().div_ceil(CHUNK);
    let mask = |c: usize| digit_mask(s.get(c * CHUNK..).unwrap_or_default());
    let (mut prev, mut cur, mut next) = (0u64, mask(0), mask(1));
    let mut resume = 0; // first byte not yet consumed by a run
    for c in 0..chunks {
        if out.len() >= max_matches {
            break;
        }
        let base = c * CHUNK;
        if cur.count_ones() + next.count_ones() >= MIN_DIGITS as u32 {
            let both = u128::from(cur) | (u128::from(next) << 64);
            // digits whose predecessor is not a digit
            let mut starts = cur & !((cur << 1) | (prev >> 63));
            while starts != 0 && out.len() < max_matches {
                let k = starts.trailing_zeros();
                let i = base + k as usize;
                starts &= starts - 1;
                // Every layout starts with 3+ digits (an SSN's first group;
                // cards' groups are longer) and holds 9+ digits within
                // MAX_RUN + 1 bytes: two bit tests spare most run starts.
                let ahead = both >> k;
                if i < resume
                    || ahead & 0b111 != 0b111
                    || (ahead & ((1 << (MAX_RUN + 1)) - 1)).count_ones() < MIN_DIGITS as u32
                {
                    continue;
                }
                if let Some((m, end)) = number_at(s, i) {
                    out.extend(m);
                    resume = end;
                }
            }
        }
        (prev, cur, next) = (cur, next, mask(c + 2));
    }
    out
}

/// Bytes per digit mask.
const CHUNK: usize = 64;

/// Bit k set when `bytes[k]` is an ASCII digit, for the first 64 bytes.
/// Eight bytes at a time (SWAR): a byte is a digit when `b ^ 0x30 < 10`,
/// tested on every byte of a word at once without carries between bytes.
fn digit_mask(bytes: &[u8]) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ZERO: u64 = 0x3030_3030_3030_3030;
    // adding 0x76 to a byte's low 7 bits sets its high bit iff they are >= 10
    const TEN_UP: u64 = 0x7676_7676_7676_7676;
    // gathers the eight high bits of a word into its top byte
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let word_bits = |word: [u8; 8]| {
        let t = u64::from_le_bytes(word) ^ ZERO;
        let digit = !(((t & LOW7) + TEN_UP) | t) & HIGH;
        ((digit >> 7).wrapping_mul(GATHER)) >> 56
    };
    let mut m = 0u64;
    let (words, tail) = bytes[..bytes.len().min(CHUNK)].as_chunks::<8>();
    for (k, &word) in words.iter().enumerate() {
        m |= word_bits(word) << (8 * k);
    }
    if !tail.is_empty() {
        // zero padding is not a digit (0 ^ 0x30 = 0x30)
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        m |= word_bits(word) << (8 * words.len());
    }
    m
}

/// The number starting at `i` (a digit whose predecessor is not one), if
/// a number may start there: what it is (if it is a card or an SSN) and
/// where its run ends. `None` when `i` is inside a word or a longer number.
fn number_at(s: &[u8], i: usize) -> Option<(Option<DlpMatch>, usize)> {
    let starts = (i == 0
        || !(s[i - 1].is_ascii_alphanumeric()
            || s[i - 1] == b'.'
            || s[i - 1] == b','
            || s[i - 1] == b'_'))
        && !(i >= 2 && matches!(s[i - 1], b'-' | b'/' | b':') && s[i - 2].is_ascii_digit());
    if !starts {
        return None;
    }
    let run = digit_run(s, i);
    let (end, sep) = (run.end, run.sep);
    // the run must end cleanly: no letter/digit, no decimal part, no
    // further separator+digit (a longer run than we read)
    let after = s.get(end);
    let digit_next = s.get(end + 1).is_some_and(u8::is_ascii_digit);
    let decimal = matches!(after, Some(b'.' | b',' | b'_')) && is_alnum(s.get(end + 1));
    let longer = matches!(after, Some(b'-' | b'/' | b':')) && digit_next;
    let spaced_on = after == Some(&b' ') && digit_next && sep == Some(b' ');
    let clean_end = !(is_alnum(after) || decimal || longer || spaced_on);
    let found = if clean_end && run.n_digits >= MIN_DIGITS {
        classify(s, i, end, run.digits(), run.groups(), sep)
    } else {
        None
    };
    Some((found, end.max(i + 1)))
}

fn classify(
    s: &[u8],
    start: usize,
    end: usize,
    d: &[u8],
    groups: &[u8],
    sep: Option<u8>,
) -> Option<DlpMatch> {
    let card_layout = match sep {
        None => groups.len() == 1,
        Some(_) => matches!(
            groups,
            [4, 4, 4, 4] | [4, 4, 4, 4, 3] | [4, 6, 5] | [4, 6, 4]
        ),
    };
    if card_layout && (13..=19).contains(&d.len()) && d.iter().any(|&b| b != d[0]) && luhn(d) {
        if let Some(brand) = card_brand(d) {
            return Some(DlpMatch {
                kind: DlpKind::Card(brand),
                offset: start,
                len: end - start,
                masked: masked_card(d),
            });
        }
    }
    let ssn_layout = match sep {
        Some(_) => groups == [3, 2, 4],
        None => d.len() == 9 && ssn_keyword(s, start),
    };
    if ssn_layout && ssn_valid(num(&d[..3]), num(&d[3..5]), num(&d[5..9])) {
        let last: String = d[5..9].iter().map(|&b| char::from(b)).collect();
        return Some(DlpMatch {
            kind: DlpKind::Ssn,
            offset: start,
            len: end - start,
            masked: format!("***-**-{last}"),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<DlpKind> {
        scan(s.as_bytes(), usize::MAX, 16)
            .into_iter()
            .map(|m| m.kind)
            .collect()
    }

    #[test]
    fn digit_mask_matches_a_byte_by_byte_test() {
        // every byte value at every position of a word, and short tails
        let all: Vec<u8> = (0..=255u8).collect();
        for win in all
            .windows(64)
            .chain(all.windows(13))
            .chain([&b"9"[..], b""])
        {
            let want = win
                .iter()
                .enumerate()
                .fold(0u64, |m, (k, b)| m | (u64::from(b.is_ascii_digit()) << k));
            assert_eq!(digit_mask(win), want, "{win:?}");
        }
        let dense = b"0123456789".repeat(7);
        assert_eq!(digit_mask(&dense), u64::MAX);
    }

    #[test]
    fn cards() {
        use CardBrand::*;
        for (s, b) in [
            ("card 4111111111111111 exp", Visa),
            ("4111-1111-1111-1111", Visa),
            ("<td>5555 5555 5555 4444</td>", Mastercard),
            ("2223003122003222", Mastercard),
            ("3782-822463-10005", Amex),
            ("371449635398431", Amex),
            ("6011111111111117", Discover),
            ("3530111333300000", Jcb),
            ("30569309025904", Diners),
            ("6200000000000005", UnionPay),
        ] {
            assert_eq!(kinds(s), vec![DlpKind::Card(b)], "{s}");
        }
        let m = &scan(b"x 4111 1111 1111 1111.", 100, 4)[0];
        assert_eq!(
            (m.offset, m.len, m.masked.as_str()),
            (2, 19, "411111******1111")
        );
    }

    #[test]
    fn ssns() {
        assert_eq!(kinds("ssn: 123-45-6789"), vec![DlpKind::Ssn]);
        assert_eq!(kinds("id 123 45 6789,"), vec![DlpKind::Ssn]);
        assert_eq!(kinds("SSN=123456789"), vec![DlpKind::Ssn]);
        assert_eq!(scan(b"123-45-6789", 99, 1)[0].masked, "***-**-6789");
        for s in [
            "123456789",
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
            "078-05-1120",
            "219-09-9999",
            "1123-45-6789",
            "123-45-67890",
        ] {
            assert_eq!(kinds(s), vec![], "{s}");
        }
    }

    #[test]
    fn not_cards() {
        for s in [
            "4111111111111112",
            "4111111111111111111111",
            "a4111111111111111",
            "0x4111111111111111",
            "4111111111111111abc",
            "12.4111111111111111",
            "4111111111111111.5",
            "4444444444444444",
            "1700000000000",
            "2024-01-01 12:00:00",
            "+1 (555) 123-4567",
            "order 1234-5678-9012",
            "4111 1111 1111 1111 2222",
            "4111-1111 1111-1111",
            "41111-11111-111111",
            "ORD-2024-000123",
            "deadbeef4111111111111111",
        ] {
            assert_eq!(kinds(s), vec![], "{s}");
        }
    }

    #[test]
    fn bounded() {
        let big = "4111111111111111 ".repeat(1000);
        assert_eq!(scan(big.as_bytes(), usize::MAX, 5).len(), 5);
        assert_eq!(scan(big.as_bytes(), 20, 100).len(), 1);
        assert_eq!(scan(big.as_bytes(), 10, 100).len(), 0);
    }
}
