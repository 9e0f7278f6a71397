//! Features of DNS query names that give tunnels away (iodine, dns2tcp,
//! dnscat): long, high-entropy, hex- or base32-looking labels under one
//! registered domain. Pure functions; the engine keeps the per-domain
//! windows (query rate, distinct names, bytes per domain) and thresholds.
//!
//! The registered ("base") domain is a heuristic, not the Public Suffix
//! List: the last two labels, or three when the last two are a common
//! second-level public suffix ([`SECOND_LEVEL_SUFFIXES`], `co.uk`,
//! `com.au`…). Names are compared case-insensitively; a trailing dot is
//! ignored. At most [`MAX_NAME`] bytes of a name are looked at (a DNS name
//! is at most 255 bytes on the wire, RFC 1035 §2.3.4).

/// Bytes of a name looked at.
pub const MAX_NAME: usize = 255;

/// Second-level public suffixes under which the registered domain has
/// three labels.
pub const SECOND_LEVEL_SUFFIXES: &[&str] = &[
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "com.au",
    "net.au", "org.au", "edu.au", "gov.au", "co.nz", "org.nz", "co.jp", "ne.jp", "or.jp", "ac.jp",
    "co.kr", "or.kr", "com.br", "net.br", "com.cn", "net.cn", "org.cn", "com.tw", "com.hk",
    "co.in", "co.za", "com.mx", "com.tr", "com.sg", "com.ar", "co.il", "com.ru", "com.ua",
    "com.pl", "co.id", "com.my", "com.vn", "com.ph", "com.sa", "com.eg",
];

/// Features of one query name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NameFeatures {
    /// Labels in the subdomain part (left of the registered domain).
    pub sub_labels: usize,
    /// Longest label of the whole name, in bytes.
    pub longest_label: usize,
    /// Bytes of the subdomain part, dots included.
    pub subdomain_len: usize,
    /// Shannon entropy of the subdomain's bytes (dots excluded, letters
    /// lower-cased), in bits per byte; 0 without a subdomain.
    pub entropy_bits: f64,
    /// Fraction of the subdomain's bytes that are digits.
    pub digit_frac: f64,
    /// Fraction of the subdomain's bytes outside the hostname alphabet
    /// (letters, digits, `-`, `_`): binary encodings (iodine's raw mode).
    pub odd_byte_frac: f64,
    /// Fraction of subdomain labels (of 8+ bytes) made only of hex digits.
    pub hex_label_frac: f64,
    /// Fraction of subdomain labels (of 8+ bytes) made only of base32
    /// characters (letters and digits 2–7) with both letters and digits.
    pub base32_label_frac: f64,
}

fn trim(name: &[u8]) -> &[u8] {
    let name = &name[..name.len().min(MAX_NAME)];
    name.strip_suffix(b".").unwrap_or(name)
}

/// The registered domain of `name` (see the module doc); the name itself
/// when it has no more labels than that. Names are bytes: DNS labels may
/// hold any octet (RFC 2181 §11), and tunnels use that.
pub fn registered_domain(name: &[u8]) -> &[u8] {
    let name = trim(name);
    let dots: Vec<usize> = (0..name.len()).filter(|&i| name[i] == b'.').collect();
    let take = |labels: usize| -> &[u8] {
        if dots.len() < labels {
            name
        } else {
            &name[dots[dots.len() - labels] + 1..]
        }
    };
    let last_two = take(2);
    let suffix = SECOND_LEVEL_SUFFIXES
        .iter()
        .any(|s| last_two.eq_ignore_ascii_case(s.as_bytes()));
    if suffix && dots.len() >= 2 {
        take(3)
    } else {
        last_two
    }
}

/// The subdomain part of `name`: what is left of its registered domain,
/// without the joining dot (empty when none).
pub fn subdomain(name: &[u8]) -> &[u8] {
    let name = trim(name);
    let reg = registered_domain(name);
    let s = &name[..name.len() - reg.len()];
    s.strip_suffix(b".").unwrap_or(s)
}

/// Shannon entropy of the bytes of `s`, in bits per byte.
pub fn entropy_bits(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Features of a query name (see [`NameFeatures`]).
pub fn features(name: &[u8]) -> NameFeatures {
    let name = trim(name);
    let sub = subdomain(name);
    let chars: Vec<u8> = sub
        .iter()
        .filter(|&&b| b != b'.')
        .map(u8::to_ascii_lowercase)
        .collect();
    let labels: Vec<&[u8]> = if sub.is_empty() {
        Vec::new()
    } else {
        sub.split(|&b| b == b'.').collect()
    };
    let long: Vec<&[u8]> = labels.iter().copied().filter(|l| l.len() >= 8).collect();
    let frac = |n: usize, d: usize| if d == 0 { 0.0 } else { n as f64 / d as f64 };
    let hex = long
        .iter()
        .filter(|l| l.iter().all(u8::is_ascii_hexdigit))
        .count();
    let b32 = long
        .iter()
        .filter(|l| {
            l.iter()
                .all(|b| b.is_ascii_alphabetic() || (b'2'..=b'7').contains(b))
                && l.iter().any(u8::is_ascii_alphabetic)
                && l.iter().any(u8::is_ascii_digit)
        })
        .count();
    let odd = chars
        .iter()
        .filter(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')))
        .count();
    NameFeatures {
        sub_labels: labels.len(),
        longest_label: name
            .split(|&b| b == b'.')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0),
        subdomain_len: sub.len(),
        entropy_bits: entropy_bits(&chars),
        digit_frac: frac(
            chars.iter().filter(|b| b.is_ascii_digit()).count(),
            chars.len(),
        ),
        odd_byte_frac: frac(odd, chars.len()),
        hex_label_frac: frac(hex, long.len()),
        base32_label_frac: frac(b32, long.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        for (n, r) in [
            ("www.example.com", "example.com"),
            ("example.com.", "example.com"),
            ("com", "com"),
            ("a.b.bbc.co.uk", "bbc.co.uk"),
            ("co.uk", "co.uk"),
            ("x.abc.com.au", "abc.com.au"),
            ("", ""),
        ] {
            assert_eq!(registered_domain(n.as_bytes()), r.as_bytes(), "{n}");
        }
        assert_eq!(subdomain(b"a.b.example.com"), b"a.b");
        assert_eq!(subdomain(b"example.com"), b"");
    }

    #[test]
    fn tunnel_vs_normal() {
        let t = features(b"paaaaambvbmvzlgrkmtzaaaaaaaaaa23mfaobzgizdsmrsgu.t.example.org");
        assert!(t.longest_label > 40 && t.entropy_bits > 3.0, "{t:?}");
        assert_eq!(t.sub_labels, 2);
        let h = features(b"4f6e2a9c1d3b5e7f8a0b.deadbeefcafe1234.tun.example.net");
        assert_eq!(h.hex_label_frac, 1.0);
        let b = features(b"mfrggzdfmztwq2lk.tun.example.net");
        assert_eq!(b.base32_label_frac, 1.0);
        let n = features(b"www.google.com");
        assert_eq!(
            (n.sub_labels, n.subdomain_len, n.hex_label_frac),
            (1, 3, 0.0)
        );
        assert!(n.entropy_bits < 2.0);
        let e = features(b"example.com");
        assert_eq!((e.entropy_bits, e.digit_frac), (0.0, 0.0));
        let long = "a.".repeat(1000);
        assert!(features(long.as_bytes()).subdomain_len <= MAX_NAME);
        assert_eq!(features("é.ü.example.com".as_bytes()).sub_labels, 2);
        let bin = features(b"\xff\x01\x80abc.t.example.org");
        assert!(bin.odd_byte_frac > 0.4, "{bin:?}");
    }
}
