use super::*;
use crate::testutil::Dribble;

fn ifaces() -> Vec<HelloIface> {
    vec![
        HelloIface {
            name: "veth-web".into(),
            link_type: LinkType::ETHERNET,
            snaplen: 262_144,
        },
        HelloIface {
            name: "any".into(),
            link_type: LinkType::LINUX_SLL2,
            snaplen: 96,
        },
    ]
}

fn sample() -> Vec<Record> {
    vec![
        Record::Hello(ifaces()),
        Record::Frame(FrameRecord {
            iface: 0,
            ts_ns: 1_700_000_000_123_456_789,
            orig_len: 60,
            data: (0..60).collect(),
        }),
        Record::Stats {
            iface: 1,
            stats: IfaceStats {
                delivered: 1,
                delivered_bytes: 2,
                queue_drops: 3,
                kernel_received: 4,
                kernel_drops: 5,
                if_drops: u64::MAX,
            },
        },
        Record::Frame(FrameRecord {
            iface: 1,
            ts_ns: -5,
            orig_len: 1500,
            data: vec![0xab; 96],
        }),
        Record::Frame(FrameRecord {
            iface: 0,
            ts_ns: 0,
            orig_len: 0,
            data: Vec::new(),
        }),
        Record::Error("interface vanished — ünïcode".into()),
        Record::End,
    ]
}

fn encode(records: &[Record]) -> Vec<u8> {
    let mut w = RecordWriter::new(Vec::new());
    for r in records {
        w.record(r).unwrap();
    }
    w.into_inner()
}

/// Every record up to the first error, and the error.
fn decode(input: impl Read + Send + 'static) -> (Vec<Record>, Option<FramingError>) {
    let mut r = RecordReader::new(input);
    let mut out = Vec::new();
    loop {
        match r.next_record() {
            Ok(Some(rec)) => out.push(rec),
            Ok(None) => return (out, None),
            Err(e) => {
                // Fused: nothing after an error.
                assert!(matches!(r.next_record(), Ok(None)));
                return (out, Some(e));
            }
        }
    }
}

fn decode_bytes(b: &[u8]) -> (Vec<Record>, Option<FramingError>) {
    decode(io::Cursor::new(b.to_vec()))
}

#[test]
fn records_round_trip_whole_and_in_dribbles() {
    let records = sample();
    let bytes = encode(&records);
    let (got, err) = decode_bytes(&bytes);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, records);
    let (got, err) = decode(Dribble::new(bytes.clone()));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, records);
    // Canonical: the decoded records encode to the same bytes.
    assert_eq!(encode(&got), bytes);
}

#[test]
fn a_cut_at_every_offset_keeps_every_whole_record_before_it() {
    let records = sample();
    let bytes = encode(&records);
    // Where each record ends.
    let mut ends = Vec::new();
    let mut at = 0;
    for r in &records {
        at += encode(std::slice::from_ref(r)).len();
        ends.push(at);
    }
    for cut in 0..bytes.len() {
        let (got, err) = decode_bytes(&bytes[..cut]);
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(got, records[..whole], "cut at {cut}");
        if ends.contains(&cut) || cut == 0 {
            assert!(err.is_none(), "cut at {cut}: {err:?}");
        } else {
            let e = err.unwrap();
            assert!(matches!(e, FramingError::Truncated { .. }), "{e}");
            assert_eq!(
                e.offset(),
                if whole == 0 { 0 } else { ends[whole - 1] } as u64
            );
        }
    }
}

#[test]
fn nothing_is_read_after_the_end_record() {
    let mut bytes = encode(&[Record::Hello(ifaces()), Record::End]);
    bytes.extend_from_slice(b"garbage after the end");
    let (got, err) = decode_bytes(&bytes);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.last(), Some(&Record::End));
    let mut r = RecordReader::new(io::Cursor::new(bytes));
    while r.next_record().unwrap().is_some() {}
    assert!(r.ended());
}

fn hello() -> Vec<u8> {
    encode(&[Record::Hello(ifaces())])
}

fn header(kind: u8, len: u32) -> Vec<u8> {
    let l = len.to_le_bytes();
    vec![kind, 0, 0, 0, l[0], l[1], l[2], l[3]]
}

/// The error after the hello for `tail`.
fn error_after_hello(tail: &[u8]) -> FramingError {
    let mut b = hello();
    let at = b.len() as u64;
    b.extend_from_slice(tail);
    let (got, err) = decode_bytes(&b);
    assert_eq!(got, vec![Record::Hello(ifaces())]);
    let e = err.unwrap();
    assert_eq!(e.offset(), at, "{e}");
    assert!(!e.to_string().contains('\n'));
    e
}

fn reason(e: &FramingError) -> &'static str {
    match e {
        FramingError::Malformed { reason, .. } => reason,
        other => panic!("not malformed: {other}"),
    }
}

#[test]
fn bad_headers_are_errors() {
    let e = error_after_hello(&header(9, 0));
    assert!(
        matches!(e, FramingError::UnknownKind { kind: 9, .. }),
        "{e}"
    );
    let mut h = header(KIND_END, 0);
    h[2] = 1;
    let e = error_after_hello(&h);
    assert_eq!(reason(&e), "reserved header bytes are not zero");
    let e = error_after_hello(&header(KIND_END, 1));
    assert!(
        matches!(e, FramingError::TooLong { len: 1, max: 0, .. }),
        "{e}"
    );
}

#[test]
fn a_caplen_over_the_limit_is_refused_before_its_bytes_are_read() {
    /// The header of a frame one byte over the cap, then endless zeros.
    struct Endless {
        head: Vec<u8>,
        served: usize,
    }
    impl Read for Endless {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let k = out.len();
            for (i, b) in out.iter_mut().enumerate() {
                *b = self.head.get(self.served + i).copied().unwrap_or(0);
            }
            self.served += k;
            assert!(self.served < 4 << 20, "reader kept reading");
            Ok(k)
        }
    }
    let mut head = hello();
    head.extend(header(KIND_FRAME, FRAME_FIXED as u32 + MAX_CAPLEN + 1));
    let (got, err) = decode(Endless { head, served: 0 });
    assert_eq!(got.len(), 1);
    let e = err.unwrap();
    assert!(
        matches!(e, FramingError::TooLong { kind: KIND_FRAME, len, .. } if len == FRAME_FIXED as u32 + MAX_CAPLEN + 1),
        "{e}"
    );
    // The largest legal frame is fine.
    let big = Record::Frame(FrameRecord {
        iface: 0,
        ts_ns: 1,
        orig_len: MAX_CAPLEN,
        data: vec![7; MAX_CAPLEN as usize],
    });
    let (got, err) = decode_bytes(&encode(&[Record::Hello(ifaces()), big.clone()]));
    assert!(err.is_none());
    assert_eq!(got[1], big);
}

#[test]
fn bad_frames_and_stats_are_errors() {
    // Shorter than its fixed part.
    let mut b = header(KIND_FRAME, 4);
    b.extend([0; 4]);
    assert_eq!(
        reason(&error_after_hello(&b)),
        "frame record shorter than its header"
    );
    // caplen disagrees with the record length.
    let mut f = encode(&[Record::Frame(FrameRecord {
        iface: 0,
        ts_ns: 0,
        orig_len: 10,
        data: vec![1; 10],
    })]);
    f[HEADER_BYTES + 16] = 11;
    assert_eq!(
        reason(&error_after_hello(&f)),
        "frame caplen does not match the record length"
    );
    // An interface the hello does not list.
    let f = encode(&[Record::Frame(FrameRecord {
        iface: 2,
        ts_ns: 0,
        orig_len: 1,
        data: vec![1],
    })]);
    let e = error_after_hello(&f);
    assert!(
        matches!(
            e,
            FramingError::UnknownIface {
                iface: 2,
                count: 2,
                ..
            }
        ),
        "{e}"
    );
    let s = encode(&[Record::Stats {
        iface: 7,
        stats: IfaceStats::default(),
    }]);
    assert!(matches!(
        error_after_hello(&s),
        FramingError::UnknownIface { iface: 7, .. }
    ));
    let mut b = header(KIND_STATS, 8);
    b.extend([0; 8]);
    assert_eq!(
        reason(&error_after_hello(&b)),
        "stats record of the wrong length"
    );
    let mut b = header(KIND_ERROR, 2);
    b.extend([0xff, 0xfe]);
    assert_eq!(reason(&error_after_hello(&b)), "error message is not UTF-8");
}

#[test]
fn the_order_of_records_is_checked() {
    let e = error_after_hello(&hello());
    assert_eq!(reason(&e), "a second hello");
    let (got, err) = decode_bytes(&encode(&[Record::End]));
    assert!(got.is_empty());
    assert_eq!(
        reason(&err.unwrap()),
        "the stream does not start with a hello"
    );
}

/// Decodes a hello body made by `edit` from a good one.
fn bad_hello(edit: impl FnOnce(&mut Vec<u8>)) -> FramingError {
    let mut body = hello()[HEADER_BYTES..].to_vec();
    edit(&mut body);
    let mut b = header(KIND_HELLO, body.len() as u32);
    b.extend(body);
    let (got, err) = decode_bytes(&b);
    assert!(got.is_empty());
    err.unwrap()
}

#[test]
fn bad_hellos_are_errors() {
    let e = bad_hello(|b| b[0] = b'X');
    assert_eq!(reason(&e), "hello without the OSPRYCAP magic");
    let e = bad_hello(|b| b.truncate(5));
    assert_eq!(reason(&e), "hello without the OSPRYCAP magic");
    let e = bad_hello(|b| b[8] = 2);
    assert!(
        matches!(e, FramingError::UnsupportedVersion { version: 2, .. }),
        "{e}"
    );
    let e = bad_hello(|b| b[10..12].copy_from_slice(&0u16.to_le_bytes()));
    assert_eq!(reason(&e), "hello interface count out of range");
    let e = bad_hello(|b| b[10..12].copy_from_slice(&257u16.to_le_bytes()));
    assert_eq!(reason(&e), "hello interface count out of range");
    let e = bad_hello(|b| b[10..12].copy_from_slice(&3u16.to_le_bytes()));
    assert_eq!(reason(&e), "hello shorter than its interfaces");
    // First name: length at 12 + 8.
    let e = bad_hello(|b| b[20..22].copy_from_slice(&0u16.to_le_bytes()));
    assert_eq!(reason(&e), "hello interface name length out of range");
    let e = bad_hello(|b| b[20..22].copy_from_slice(&65u16.to_le_bytes()));
    assert_eq!(reason(&e), "hello interface name length out of range");
    let e = bad_hello(|b| b[20..22].copy_from_slice(&60u16.to_le_bytes()));
    assert_eq!(reason(&e), "hello shorter than its interfaces");
    let e = bad_hello(|b| b[22] = 0xff);
    assert_eq!(reason(&e), "hello interface name is not UTF-8");
    let e = bad_hello(|b| b.push(0));
    assert_eq!(reason(&e), "hello longer than its interfaces");
}

#[test]
fn the_writer_refuses_what_the_reader_would_reject() {
    let mut w = RecordWriter::new(Vec::new());
    let kind = |r: io::Result<()>| r.unwrap_err().kind();
    assert_eq!(kind(w.hello(&[])), io::ErrorKind::InvalidInput);
    let long = HelloIface {
        name: "x".repeat(MAX_NAME_BYTES + 1),
        link_type: LinkType::ETHERNET,
        snaplen: 0,
    };
    assert_eq!(kind(w.hello(&[long])), io::ErrorKind::InvalidInput);
    let many = vec![ifaces()[0].clone(); MAX_IFACES + 1];
    assert_eq!(kind(w.hello(&many)), io::ErrorKind::InvalidInput);
    let huge = vec![0; MAX_CAPLEN as usize + 1];
    assert_eq!(kind(w.frame(0, 0, 0, &huge)), io::ErrorKind::InvalidInput);
    assert!(w.into_inner().is_empty());
    // Long messages are cut at a character boundary, and still decode.
    let msg = "é".repeat(MAX_MESSAGE_BYTES);
    let (got, err) = decode_bytes(&encode(&[Record::Hello(ifaces()), Record::Error(msg)]));
    assert!(err.is_none());
    let Record::Error(m) = &got[1] else { panic!() };
    assert_eq!(m.len(), MAX_MESSAGE_BYTES);
    // The largest hello fits its cap.
    let most: Vec<HelloIface> = (0..MAX_IFACES)
        .map(|i| HelloIface {
            name: format!("{i:0>64}"),
            link_type: LinkType::ETHERNET,
            snaplen: 1,
        })
        .collect();
    let (got, err) = decode_bytes(&encode(&[Record::Hello(most.clone())]));
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, vec![Record::Hello(most)]);
}
