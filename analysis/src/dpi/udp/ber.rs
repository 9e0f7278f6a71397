//! Minimal BER (ITU-T X.690) TLV reader shared by the SNMP and Kerberos
//! probes and parsers (`dpi::parse::{snmp, krb5}`).
//!
//! Contract: [`tlv`] reads one header with a single-byte tag (X.690 §8.1.2.3
//! high tag numbers are refused: neither SNMP nor Kerberos uses them at the
//! levels probed) and a definite length in short or long form of at most
//! four octets (§8.1.3). Indefinite lengths (`0x80`, §8.1.3.6) are refused:
//! RFC 3417 §8 (SNMP) and RFC 4120 §5.1 (Kerberos, DER) forbid them. The
//! content must lie inside the buffer, so callers can slice it safely.

/// One BER element: its tag and where its content lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv {
    /// The identifier octet.
    pub tag: u8,
    /// Offset of the first content octet.
    pub start: usize,
    /// Offset just past the last content octet (≤ buffer length).
    pub end: usize,
}

/// Reads the element at `pos`, or `None` if it is malformed or does not
/// fit in `data`.
pub(crate) fn tlv(data: &[u8], pos: usize) -> Option<Tlv> {
    let tag = *data.get(pos)?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *data.get(pos.checked_add(1)?)?;
    let (len, start) = if first < 0x80 {
        (usize::from(first), pos + 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*data.get(pos + 2 + i)?);
        }
        (len, pos + 2 + n)
    };
    let end = start.checked_add(len)?;
    (end <= data.len()).then_some(Tlv { tag, start, end })
}

/// Reads a small non-negative INTEGER (tag `0x02`, 1 content octet) at
/// `pos`: the encoding of SNMP versions and Kerberos `pvno`/`msg-type`.
pub(crate) fn small_int(data: &[u8], pos: usize) -> Option<(u8, usize)> {
    let t = tlv(data, pos)?;
    if t.tag != 0x02 || t.end - t.start != 1 {
        return None;
    }
    Some((*data.get(t.start)?, t.end))
}

/// Reads an INTEGER (tag `0x02`, 1 to 8 content octets, two's complement,
/// X.690 §8.3) at `pos`: its value and the offset after it.
pub(crate) fn int(data: &[u8], pos: usize) -> Option<(i64, usize)> {
    let t = tlv(data, pos)?;
    let content = data.get(t.start..t.end)?;
    if t.tag != 0x02 || content.is_empty() || content.len() > 8 {
        return None;
    }
    let first = i64::from(*content.first()? as i8);
    let v = content
        .iter()
        .skip(1)
        .fold(first, |acc, &b| (acc << 8) | i64::from(b));
    Some((v, t.end))
}

/// Most arcs an OID is decoded to; longer ones are cut with `…`.
pub(crate) const MAX_OID_ARCS: usize = 128;

/// The dotted form of OBJECT IDENTIFIER content octets (X.690 §8.19), or
/// `None` when an arc is cut short or overflows 64 bits.
pub(crate) fn oid_string(content: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    let mut cut = false;
    for (i, &b) in content.iter().enumerate() {
        if v > (u64::MAX >> 7) {
            return None;
        }
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 != 0 {
            if i + 1 == content.len() {
                return None;
            }
            continue;
        }
        if arcs.is_empty() {
            // §8.19.4: the first subidentifier packs the first two arcs.
            let first = (v / 40).min(2);
            arcs.push(first);
            arcs.push(v - first * 40);
        } else if arcs.len() < MAX_OID_ARCS {
            arcs.push(v);
        } else {
            cut = true;
        }
        v = 0;
    }
    if arcs.is_empty() {
        return None;
    }
    let mut s: Vec<String> = arcs.iter().map(u64::to_string).collect();
    if cut {
        s.push("…".into());
    }
    Some(s.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_forms() {
        assert_eq!(
            tlv(&[0x30, 0x01, 0x00], 0),
            Some(Tlv {
                tag: 0x30,
                start: 2,
                end: 3
            })
        );
        assert_eq!(
            tlv(&[0x30, 0x81, 0x01, 0x00], 0),
            Some(Tlv {
                tag: 0x30,
                start: 3,
                end: 4
            })
        );
        assert_eq!(
            tlv(&[0x30, 0x82, 0x00, 0x01, 0xaa], 0),
            Some(Tlv {
                tag: 0x30,
                start: 4,
                end: 5
            })
        );
    }

    #[test]
    fn refuses_malformed() {
        assert_eq!(tlv(&[], 0), None);
        assert_eq!(tlv(&[0x30], 0), None);
        assert_eq!(tlv(&[0x30, 0x02, 0x00], 0), None); // overruns
        assert_eq!(tlv(&[0x30, 0x80, 0x00, 0x00], 0), None); // indefinite
        assert_eq!(tlv(&[0x30, 0x85, 0, 0, 0, 0, 0], 0), None); // 5 length octets
        assert_eq!(tlv(&[0x1f, 0x01, 0x00], 0), None); // high tag number
        assert_eq!(tlv(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff], 0), None);
        assert_eq!(tlv(&[0x30, 0x00], usize::MAX), None);
    }

    #[test]
    fn integers_and_oids() {
        assert_eq!(int(&[0x02, 0x01, 0xff], 0), Some((-1, 3)));
        assert_eq!(int(&[0x02, 0x02, 0x01, 0x00], 0), Some((256, 4)));
        assert_eq!(int(&[0x02, 0x00], 0), None);
        assert_eq!(int(&[0x02, 0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0), None);
        assert_eq!(
            oid_string(&[0x2b, 6, 1, 2, 1, 1, 1, 0]).as_deref(),
            Some("1.3.6.1.2.1.1.1.0")
        );
        assert_eq!(
            oid_string(&[0x2b, 0x86, 0x8d, 0x1f]).as_deref(),
            Some("1.3.99999")
        );
        assert_eq!(oid_string(&[0x88, 0x37]).as_deref(), Some("2.999"));
        assert_eq!(oid_string(&[0x2b, 0x86]), None);
        assert_eq!(oid_string(&[]), None);
        assert_eq!(oid_string(&[0xff; 12]), None);
    }

    #[test]
    fn small_integers() {
        assert_eq!(small_int(&[0x02, 0x01, 0x05], 0), Some((5, 3)));
        assert_eq!(small_int(&[0x02, 0x02, 0x00, 0x05], 0), None);
        assert_eq!(small_int(&[0x04, 0x01, 0x05], 0), None);
    }
}
