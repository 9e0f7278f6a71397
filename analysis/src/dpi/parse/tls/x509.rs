//! A minimal, bounded DER walker for the subject and issuer of the first
//! certificate in a TLS ≤ 1.2 Certificate message.
//!
//! # Contract
//! - Input: the Certificate message body (RFC 5246 §7.4.2): a 24-bit
//!   length-prefixed list of 24-bit length-prefixed DER certificates.
//! - Only the path to the two `Name`s is walked (RFC 5280 §4.1:
//!   `Certificate → TBSCertificate → [version] serialNumber signature
//!   issuer validity subject`); nothing is validated beyond the framing.
//!   DER is definite-length with at most four length octets; high tag
//!   numbers are refused.
//! - A Name prints like Suricata (x509-parser): relative distinguished
//!   names in certificate order joined by `, `, several attributes of one
//!   RDN joined by ` + `, each `SHORT=value`. Short names are `C`, `ST`,
//!   `L`, `O`, `OU`, `CN`, `DC`, `Email` and a few X.520 names; any other
//!   attribute type prints as its dotted OID. String values are decoded
//!   (UTF8, Printable, IA5, Teletex as Latin-1, BMP, Universal); other
//!   value types print as hex.
//!
//! # Caps
//! [`MAX_ATTRIBUTES`] attributes per name and [`MAX_DN_LEN`] octets of
//! output per name (cut at a character boundary).

use std::fmt::Write as _;

use super::hello::Reader;

/// Most attributes printed per name.
pub const MAX_ATTRIBUTES: usize = 64;
/// Longest name string produced, in octets.
pub const MAX_DN_LEN: usize = 1024;
/// Most arcs decoded in one OID.
const MAX_OID_ARCS: usize = 32;

/// DER tags (X.690 §8; X.680 §8.6).
const TAG_INTEGER: u8 = 0x02;
const TAG_OID: u8 = 0x06;
const TAG_UTF8: u8 = 0x0c;
const TAG_PRINTABLE: u8 = 0x13;
const TAG_T61: u8 = 0x14;
const TAG_IA5: u8 = 0x16;
const TAG_NUMERIC: u8 = 0x12;
const TAG_VISIBLE: u8 = 0x1a;
const TAG_UNIVERSAL: u8 = 0x1c;
const TAG_BMP: u8 = 0x1e;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_SET: u8 = 0x31;
/// `[0] EXPLICIT` (TBSCertificate.version).
const TAG_CONTEXT_0: u8 = 0xa0;

/// One DER element: `(tag, value, rest)`; `None` when truncated or not
/// DER-framed.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None; // high tag number form
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81..=0x84 => {
            let (octets, after) = rest.split_at_checked(usize::from(first & 0x7f))?;
            rest = after;
            octets
                .iter()
                .fold(0usize, |acc, &b| acc << 8 | usize::from(b))
        }
        _ => return None, // indefinite length or absurd size
    };
    let (value, rest) = rest.split_at_checked(len)?;
    Some((tag, value, rest))
}

/// The element if it has tag `want`: `(value, rest)`.
fn element(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, value, rest) = tlv(input)?;
    (tag == want).then_some((value, rest))
}

/// `(subject, issuer)` of the first certificate of a Certificate message
/// body; `None` when the message or the certificate's framing is broken.
/// An empty name gives `None` for that name.
pub fn first_certificate_names(body: &[u8]) -> Option<(Option<String>, Option<String>)> {
    let mut list = Reader::new(body).vec24()?;
    let cert = list.vec24()?;
    let (cert, _) = element(cert.rest(), TAG_SEQUENCE)?;
    let (tbs, _) = element(cert, TAG_SEQUENCE)?;
    let tbs = match element(tbs, TAG_CONTEXT_0) {
        Some((_version, rest)) => rest,
        None => tbs,
    };
    let (_serial, tbs) = element(tbs, TAG_INTEGER)?;
    let (_signature, tbs) = element(tbs, TAG_SEQUENCE)?;
    let (issuer, tbs) = element(tbs, TAG_SEQUENCE)?;
    let (_validity, tbs) = element(tbs, TAG_SEQUENCE)?;
    let (subject, _) = element(tbs, TAG_SEQUENCE)?;
    Some((name_string(subject), name_string(issuer)))
}

/// Prints the contents of a `Name` (RDNSequence, RFC 5280 §4.1.2.4);
/// `None` when empty. Malformed parts end the name early.
pub fn name_string(mut rdns: &[u8]) -> Option<String> {
    let mut out = String::new();
    let mut count = 0;
    'rdns: while let Some((set, rest)) = element(rdns, TAG_SET) {
        rdns = rest;
        if !out.is_empty() {
            out.push_str(", ");
        }
        let mut atvs = set;
        let mut first = true;
        while let Some((atv, rest)) = element(atvs, TAG_SEQUENCE) {
            atvs = rest;
            count += 1;
            if count > MAX_ATTRIBUTES || out.len() > MAX_DN_LEN {
                break 'rdns;
            }
            let Some((oid, value)) = element(atv, TAG_OID) else {
                break 'rdns;
            };
            let Some((tag, value, _)) = tlv(value) else {
                break 'rdns;
            };
            if !first {
                out.push_str(" + ");
            }
            first = false;
            out.push_str(&attribute_name(oid));
            out.push('=');
            out.push_str(&value_string(tag, value));
        }
    }
    truncate(&mut out, MAX_DN_LEN);
    (!out.is_empty()).then_some(out)
}

/// Cuts `s` to at most `max` octets at a character boundary.
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

/// Short name of an attribute type, else its dotted OID.
fn attribute_name(oid: &[u8]) -> String {
    let short = match oid {
        [0x55, 0x04, 0x03] => "CN",
        [0x55, 0x04, 0x05] => "serialNumber",
        [0x55, 0x04, 0x06] => "C",
        [0x55, 0x04, 0x07] => "L",
        [0x55, 0x04, 0x08] => "ST",
        [0x55, 0x04, 0x09] => "street",
        [0x55, 0x04, 0x0a] => "O",
        [0x55, 0x04, 0x0b] => "OU",
        [0x55, 0x04, 0x0f] => "businessCategory",
        [0x55, 0x04, 0x11] => "postalCode",
        // 0.9.2342.19200300.100.1.25 (RFC 4519 §2.4)
        [0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19] => "DC",
        // 1.2.840.113549.1.9.1 (PKCS #9)
        [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => "Email",
        _ => return dotted_oid(oid),
    };
    short.into()
}

/// Dotted form of an OID's content octets (X.690 §8.19); undecodable
/// octets print as `?`.
fn dotted_oid(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in oid {
        if arcs.len() >= MAX_OID_ARCS || acc > u64::MAX >> 7 {
            return "?".into();
        }
        acc = acc << 7 | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arcs.push(acc);
            acc = 0;
        }
    }
    let Some((&first, rest)) = arcs.split_first() else {
        return "?".into();
    };
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut s = format!("{a}.{b}");
    for arc in rest {
        let _ = write!(s, ".{arc}");
    }
    s
}

/// Text of an attribute value.
fn value_string(tag: u8, value: &[u8]) -> String {
    match tag {
        TAG_UTF8 | TAG_PRINTABLE | TAG_IA5 | TAG_NUMERIC | TAG_VISIBLE => {
            String::from_utf8_lossy(value).into_owned()
        }
        TAG_T61 => value.iter().map(|&b| char::from(b)).collect(),
        TAG_BMP => char::decode_utf16(
            value
                .chunks_exact(2)
                .filter_map(|p| p.first_chunk::<2>())
                .map(|&p| u16::from_be_bytes(p)),
        )
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect(),
        TAG_UNIVERSAL => value
            .chunks_exact(4)
            .map(|p| {
                let v = p.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
                char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER)
            })
            .collect(),
        _ => value.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        }),
    }
}
