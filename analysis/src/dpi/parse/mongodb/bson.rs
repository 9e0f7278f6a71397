//! A small bounded BSON reader (bsonspec.org, version 1.1): the top-level
//! elements of one document, without allocation.
//!
//! The document's `int32` length is honoured when the bytes are there, but
//! a document cut short (a truncated message) is read as far as it goes.
//! Iteration stops at the terminating NUL, at an unknown element type, at
//! an element running past the end, or after [`MAX_ELEMS`] elements.

use super::super::lenframe::Rd;

/// Most top-level elements read from one document.
pub const MAX_ELEMS: usize = 64;

/// One element: type byte, key and raw value bytes.
#[derive(Debug, Clone, Copy)]
pub struct Elem<'a> {
    /// Element type (0x01 double, 0x02 string, ...).
    pub ty: u8,
    /// Key (cstring without its NUL).
    pub name: &'a [u8],
    /// Value bytes as encoded.
    pub val: &'a [u8],
}

impl<'a> Elem<'a> {
    /// A string value's bytes (type 0x02), without its NUL.
    pub fn str(&self) -> Option<&'a [u8]> {
        if self.ty != 0x02 {
            return None;
        }
        let b = self.val.get(4..)?;
        Some(b.strip_suffix(&[0]).unwrap_or(b))
    }

    /// A binary value's bytes (type 0x05), subtype skipped.
    pub fn binary(&self) -> Option<&'a [u8]> {
        (self.ty == 0x05).then(|| self.val.get(5..)).flatten()
    }

    /// A numeric value (double, int32, int64) as f64.
    pub fn f64(&self) -> Option<f64> {
        let mut r = Rd(self.val);
        match self.ty {
            0x01 => r
                .take(8)
                .and_then(|b| b.try_into().ok())
                .map(f64::from_le_bytes),
            0x10 => r.le32().map(|v| f64::from(v as i32)),
            0x12 => r
                .take(8)
                .and_then(|b| b.try_into().ok())
                .map(|b| i64::from_le_bytes(b) as f64),
            0x08 => r.u8().map(|b| f64::from(u8::from(b != 0))),
            _ => None,
        }
    }

    /// A boolean value (type 0x08).
    pub fn bool(&self) -> Option<bool> {
        (self.ty == 0x08)
            .then(|| self.val.first().map(|&b| b != 0))
            .flatten()
    }
}

/// The top-level elements of the document at the start of `doc`.
pub fn elems(doc: &[u8]) -> impl Iterator<Item = Elem<'_>> {
    let mut r = Rd(doc);
    let body = match r.le32() {
        Some(n) if (5..=doc.len()).contains(&(n as usize)) => doc.get(4..n as usize - 1),
        Some(n) if n >= 5 => Some(r.0),
        _ => None,
    };
    let mut r = Rd(body.unwrap_or_default());
    let mut n = 0;
    std::iter::from_fn(move || {
        if n >= MAX_ELEMS {
            return None;
        }
        n += 1;
        let e = next(&mut r);
        if e.is_none() {
            r = Rd(&[]);
        }
        e
    })
}

/// Reads one element, None at the end or on anything malformed.
fn next<'a>(r: &mut Rd<'a>) -> Option<Elem<'a>> {
    let ty = r.u8()?;
    if ty == 0 {
        return None;
    }
    let name = r.cstr()?;
    let len = match ty {
        0x06 | 0x0A | 0xFF | 0x7F => 0,
        0x08 => 1,
        0x10 => 4,
        0x01 | 0x09 | 0x11 | 0x12 => 8,
        0x07 => 12,
        0x13 => 16,
        // string, JavaScript code, symbol: int32 length of the bytes (NUL
        // included) that follow it.
        0x02 | 0x0D | 0x0E => 4 + r.clone().le32()? as usize,
        // document, array, code with scope: int32 total length.
        0x03 | 0x04 | 0x0F => r.clone().le32()? as usize,
        // binary: int32 length, subtype, bytes.
        0x05 => 5 + r.clone().le32()? as usize,
        // regex: two cstrings.
        0x0B => {
            let mut t = *r;
            let a = t.cstr()?.len();
            let b = t.cstr()?.len();
            a + b + 2
        }
        // DBPointer: string then 12-byte ObjectId.
        0x0C => 16 + r.clone().le32()? as usize,
        _ => return None,
    };
    let val = r.take(len)?;
    Some(Elem { ty, name, val })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn reads_elements_and_stops_on_garbage() {
        // {"ok": 1.0, "errmsg": "x", "n": int32 7}
        let mut d = vec![0, 0, 0, 0];
        d.extend([0x01, b'o', b'k', 0]);
        d.extend(1.0f64.to_le_bytes());
        d.extend([
            0x02, b'e', b'r', b'r', b'm', b's', b'g', 0, 2, 0, 0, 0, b'x', 0,
        ]);
        d.extend([0x10, b'n', 0, 7, 0, 0, 0, 0]);
        let n = d.len() as u32;
        d[..4].copy_from_slice(&n.to_le_bytes());
        let v: Vec<_> = elems(&d).collect();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].f64(), Some(1.0));
        assert_eq!(v[1].str(), Some(&b"x"[..]));
        assert_eq!(v[2].f64(), Some(7.0));
        // Cut anywhere: never more elements, never a panic.
        for cut in 0..d.len() {
            assert!(elems(&d[..cut]).count() <= 3);
        }
        // Unknown type stops, huge lengths stop.
        assert_eq!(elems(&[9, 0, 0, 0, 0x42, b'a', 0, 0]).count(), 0);
        assert_eq!(
            elems(&[12, 0, 0, 0, 0x02, b'a', 0, 0xff, 0xff, 0xff, 0x7f, 0]).count(),
            0
        );
    }
}
