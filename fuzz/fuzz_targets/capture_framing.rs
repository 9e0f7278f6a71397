//! The capture helper's record stream, as the unprivileged reader sees it:
//! any bytes, read whole and in arbitrary chunks, give the same records
//! then the same end or error, never a panic; every frame respects the
//! caplen cap; and the records decoded re-encode to exactly the bytes
//! they were read from (the encoding is canonical).
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_capture::privsep::framing::{Record, RecordReader, RecordWriter, MAX_CAPLEN};
use std::io::{Cursor, Read};

/// Hands out the input in chunks whose sizes come from `sizes`.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<u8>,
    call: usize,
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.call += 1;
        // Now and then a signal interrupts the read.
        if self.call % 7 == 0 {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        let want = match self.sizes.len() {
            0 => usize::MAX,
            n => usize::from(self.sizes[self.call % n]),
        };
        let k = out.len().min(want).min(self.data.len() - self.at);
        out[..k].copy_from_slice(&self.data[self.at..self.at + k]);
        self.at += k;
        Ok(k)
    }
}

fn decode(input: impl Read + Send + 'static) -> (Vec<Record>, Option<String>, u64) {
    let mut r = RecordReader::new(input);
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => {
                if let Record::Frame(f) = &rec {
                    assert!(f.data.len() <= MAX_CAPLEN as usize);
                }
                out.push(rec);
            }
            Ok(None) => return (out, None, r.offset()),
            Err(e) => {
                assert!(matches!(r.next_record(), Ok(None)));
                return (out, Some(e.to_string()), r.offset());
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    // The first bytes (up to 8) are the chunk sizes, the rest the stream.
    let split = input.first().map_or(0, |&b| 1 + usize::from(b % 8)).min(input.len());
    let (sizes, data) = input.split_at(split);
    let (whole, whole_err, consumed) = decode(Cursor::new(data.to_vec()));
    let (chunked, chunked_err, _) = decode(Chunked {
        data: data.to_vec(),
        at: 0,
        sizes: sizes.iter().map(|s| s | 1).collect(),
        call: 0,
    });
    assert_eq!(whole, chunked);
    assert_eq!(whole_err, chunked_err);
    let mut w = RecordWriter::new(Vec::new());
    for r in &whole {
        w.record(r).unwrap();
    }
    let bytes = w.into_inner();
    assert_eq!(bytes.len() as u64, consumed);
    assert_eq!(&bytes[..], &data[..bytes.len()]);
});
