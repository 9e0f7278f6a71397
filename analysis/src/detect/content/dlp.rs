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

/// Prefilter block (bytes); greater than [`MAX_RUN`].
const BLOCK: usize = 32;
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
fn digit_run(s: &[u8], start: usize) -> (Vec<u8>, usize, Vec<usize>, Option<u8>) {
    let mut digits = Vec::with_capacity(MAX_RUN);
    let mut groups = vec![0usize];
    let mut sep = None;
    let mut i = start;
    while i < s.len() && i - start <= MAX_RUN {
        let b = s[i];
        if b.is_ascii_digit() {
            digits.push(b);
            if let Some(g) = groups.last_mut() {
                *g += 1;
            }
            i += 1;
            continue;
        }
        let next_digit = s.get(i + 1).is_some_and(u8::is_ascii_digit);
        let short_group = groups.last().is_some_and(|&g| g <= 6);
        if (b == b' ' || b == b'-') && next_digit && short_group && sep.is_none_or(|x| x == b) {
            sep = Some(b);
            groups.push(0);
            i += 1;
            continue;
        }
        break;
    }
    (digits, i, groups, sep)
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
    // Prefilter: a number (at most MAX_RUN bytes, at least 9 digits)
    // starting in one block ends in it or the next, so a block whose
    // digits and its successor's add up to fewer than 9 holds no start.
    // Counting digits per block is a tight loop the compiler vectorises;
    // most payload blocks are skipped without the per-byte checks below.
    let digits: Vec<u8> = s
        .chunks(BLOCK)
        .map(|c| c.iter().map(|&b| u8::from(b.wrapping_sub(b'0') < 10)).sum())
        .collect();
    let candidate = |block: usize| {
        let here = digits.get(block).copied().unwrap_or(0);
        let next = digits.get(block + 1).copied().unwrap_or(0);
        usize::from(here) + usize::from(next) >= MIN_DIGITS
    };
    let mut i = 0;
    while i < s.len() && out.len() < max_matches {
        if i % BLOCK == 0 && !candidate(i / BLOCK) {
            i += BLOCK;
            continue;
        }
        if !s[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let starts = true
            && (i == 0
                || !(s[i - 1].is_ascii_alphanumeric()
                    || s[i - 1] == b'.'
                    || s[i - 1] == b','
                    || s[i - 1] == b'_'))
            && !(i >= 2 && matches!(s[i - 1], b'-' | b'/' | b':') && s[i - 2].is_ascii_digit());
        if !starts {
            i += 1;
            continue;
        }
        let (digits, end, groups, sep) = digit_run(s, i);
        // the run must end cleanly: no letter/digit, no decimal part, no
        // further separator+digit (a longer run than we read)
        let after = s.get(end);
        let digit_next = s.get(end + 1).is_some_and(u8::is_ascii_digit);
        let decimal = matches!(after, Some(b'.' | b',' | b'_')) && is_alnum(s.get(end + 1));
        let longer = matches!(after, Some(b'-' | b'/' | b':')) && digit_next;
        let spaced_on = after == Some(&b' ') && digit_next && sep == Some(b' ');
        let clean_end = !(is_alnum(after) || decimal || longer || spaced_on);
        if clean_end {
            if let Some(m) = classify(s, i, end, &digits, &groups, sep) {
                out.push(m);
            }
        }
        i = end.max(i + 1);
    }
    out
}

fn classify(
    s: &[u8],
    start: usize,
    end: usize,
    d: &[u8],
    groups: &[usize],
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
