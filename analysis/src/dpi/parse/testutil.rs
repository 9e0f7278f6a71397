//! Test support shared by the parsers' tests: conversations of the real
//! captures in `../shared/pcaps`, read and reassembled at test time (never
//! copied into the repository), replayed whole, byte by byte, split at
//! every offset, and cut short.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

/// Segments of a conversation in capture order.
pub type Convo = Vec<(Direction, Vec<u8>)>;

/// Bytes of a hex string (test vectors written out from RFCs).
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// `n` bytes of reproducible noise (a linear congruential generator
/// seeded with `seed`), for garbage-input tests.
pub fn noise(seed: u32, n: usize) -> Vec<u8> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect()
}

/// Builds a parser (argument: TCP or not).
pub type NewParser = fn(bool) -> Box<dyn AppParser>;

/// Feeds the segments to a new TCP parser, then finishes it.
pub fn run(new: NewParser, convo: &[(Direction, &[u8])]) -> Vec<AppRecord> {
    let mut p = new(true);
    let mut out = Vec::new();
    for (dir, bytes) in convo {
        p.data(*dir, bytes, &mut out);
    }
    p.finish(&mut out);
    out
}

/// The records of the conversation fed whole.
pub fn whole(new: NewParser, c: &Convo) -> Vec<AppRecord> {
    run(
        new,
        &c.iter().map(|(d, b)| (*d, &b[..])).collect::<Vec<_>>(),
    )
}

/// The conversation's records, after checking that they are identical fed
/// whole, byte by byte, and with any one segment split at any offset, and
/// that every prefix of the conversation neither panics nor yields more
/// records.
pub fn check_segmentation(new: NewParser, c: &Convo) -> Vec<AppRecord> {
    let expected = whole(new, c);
    let bytewise: Vec<(Direction, &[u8])> = c
        .iter()
        .flat_map(|(d, b)| b.chunks(1).map(move |x| (*d, x)))
        .collect();
    assert_eq!(run(new, &bytewise), expected, "byte by byte");
    for (i, (_, seg)) in c.iter().enumerate() {
        for cut in 0..=seg.len() {
            let mut split: Vec<(Direction, &[u8])> = Vec::new();
            for (j, (d, b)) in c.iter().enumerate() {
                if i == j {
                    split.push((*d, &b[..cut]));
                    split.push((*d, &b[cut..]));
                } else {
                    split.push((*d, b));
                }
            }
            assert_eq!(run(new, &split), expected, "segment {i} cut at {cut}");
            // A cut conversation may end in an anomaly (an incomplete
            // message), never in more transactions.
            let prefix = run(new, &split[..=i]);
            let txs = prefix
                .iter()
                .filter(|r| !matches!(r, AppRecord::Anomaly(_)));
            assert!(txs.count() <= expected.len(), "prefix");
        }
    }
    expected
}

/// Path of a capture in the shared public corpus (`../shared/pcaps`,
/// beside the checkout). Its files are read at test time, never copied
/// into the repository.
pub fn shared_pcap(name: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/pcaps")
        .join(name);
    assert!(
        p.exists(),
        "{} missing: the tests need ../shared",
        p.display()
    );
    p
}

/// Calls `f(frame, meta, payload)` for every frame of the capture at
/// `path` that decodes to a packet, with its frame
/// number (1-based, as tshark numbers them) and its transport payload; a
/// frame that completes an IP datagram gives the reassembled datagram's,
/// a fragment held for reassembly is skipped.
fn each_packet(path: &std::path::Path, mut f: impl FnMut(u64, &crate::decode::PacketMeta, &[u8])) {
    use crate::decode::{Decoded, Decoder};
    use osprey_capture::FrameSource;

    let mut src = osprey_capture::FileSource::open(path, 0).unwrap();
    let mut dec = Decoder::default();
    let mut n = 0;
    while let Ok(Some(frame)) = src.next_frame() {
        n += 1;
        match dec.decode(&frame, n) {
            Decoded::Packet(m) => f(n, &m, &frame.data[m.payload.clone()]),
            Decoded::Reassembled { meta, datagram, .. } => {
                f(n, &meta, &datagram[meta.payload.clone()]);
            }
            Decoded::FragmentHeld(_) => {}
        }
    }
}

/// The transport (UDP or TCP) payload of frame `frame` of
/// `../shared/pcaps/<name>`, numbered as tshark numbers them (1-based);
/// the bytes `tshark -r <name> -Y frame.number==<frame> -T fields -e
/// udp.payload -e tcp.payload` shows.
pub fn shared_payload(name: &str, frame: u64) -> Vec<u8> {
    let mut out = None;
    each_packet(&shared_pcap(name), |n, meta, payload| {
        if n == frame && meta.transport.is_some() {
            out = Some(payload.to_vec());
        }
    });
    out.unwrap_or_else(|| panic!("{name}: frame {frame} has no transport payload"))
}

/// One transport conversation of a capture, keyed without direction.
type ConvKey = (u8, std::net::IpAddr, u16, std::net::IpAddr, u16);

/// Every conversation of one transport (`proto` 6 = TCP, 17 = UDP) in
/// `../shared/pcaps/<name>`, in order of first packet, with its server
/// port and its payloads: for TCP the reassembled stream of each
/// direction (Osprey's own reassembler; consecutive pieces of the same
/// direction merged), for UDP each datagram. The client is the SYN sender,
/// else the first packet's sender.
pub fn shared_convos(name: &str, proto: u8) -> Vec<(u16, Convo)> {
    convos_at(&shared_pcap(name), proto)
}

/// Like [`shared_convos`], for a capture recorded by this project in
/// `samples/` (committed, small; see `samples/README.md`).
pub fn sample_convos(name: &str, proto: u8) -> Vec<(u16, Convo)> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(name);
    convos_at(&p, proto)
}

/// Every conversation of one transport in the capture at `path` (see
/// [`shared_convos`]).
pub fn convos_at(path: &std::path::Path, proto: u8) -> Vec<(u16, Convo)> {
    use crate::decode::Transport;
    use crate::flow::tcp_reasm::{ReasmConfig, StreamReassembler, StreamSink};

    struct Sink<'a>(&'a mut Convo, Direction);
    impl StreamSink for Sink<'_> {
        fn data(&mut self, _offset: u64, bytes: &[u8]) {
            push(self.0, self.1, bytes, true);
        }
        fn gap(&mut self, _offset: u64, _len: u64) {}
    }
    fn push(c: &mut Convo, dir: Direction, bytes: &[u8], merge: bool) {
        match c.last_mut() {
            Some((d, b)) if merge && *d == dir => b.extend_from_slice(bytes),
            _ => c.push((dir, bytes.to_vec())),
        }
    }
    struct Conv {
        client: (std::net::IpAddr, u16),
        server_port: u16,
        convo: Convo,
        reasm: [StreamReassembler; 2],
    }

    let mut order: Vec<ConvKey> = Vec::new();
    let mut convs: std::collections::HashMap<ConvKey, Conv> = Default::default();
    let cfg = ReasmConfig::default();
    each_packet(path, |_, meta, payload| {
        let (Some(ip), Some(t)) = (&meta.ip, &meta.transport) else {
            return;
        };
        let (sport, dport, tcp) = match t {
            Transport::Tcp(t) if proto == 6 => (t.src_port, t.dst_port, Some(t)),
            Transport::Udp { src_port, dst_port } if proto == 17 => (*src_port, *dst_port, None),
            _ => return,
        };
        let a = (ip.src, sport);
        let b = (ip.dst, dport);
        let key = if a <= b {
            (proto, a.0, a.1, b.0, b.1)
        } else {
            (proto, b.0, b.1, a.0, a.1)
        };
        let conv = convs.entry(key).or_insert_with(|| {
            order.push(key);
            let syn_ack = tcp.is_some_and(|t| t.flags & 0x12 == 0x12);
            let (client, server) = if syn_ack { (b, a) } else { (a, b) };
            Conv {
                client,
                server_port: server.1,
                convo: Vec::new(),
                reasm: [StreamReassembler::new(&cfg), StreamReassembler::new(&cfg)],
            }
        });
        let dir = if a == conv.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        match tcp {
            None => push(&mut conv.convo, dir, payload, false),
            Some(t) => {
                let r = &mut conv.reasm[dir.idx()];
                if t.flags & 0x02 != 0 {
                    r.set_isn(t.seq);
                } else if r.next_seq().is_none() && !payload.is_empty() {
                    r.set_isn(t.seq.wrapping_sub(1));
                }
                r.segment(t.seq, payload, &mut Sink(&mut conv.convo, dir));
            }
        }
    });
    order
        .into_iter()
        .filter_map(|k| convs.remove(&k))
        .map(|mut c| {
            for (i, dir) in [Direction::ToServer, Direction::ToClient]
                .into_iter()
                .enumerate()
            {
                c.reasm[i].flush(&mut Sink(&mut c.convo, dir));
            }
            (c.server_port, c.convo)
        })
        .collect()
}

/// The first conversation of `../shared/pcaps/<name>` whose server port
/// is `port` (see [`shared_convos`]).
pub fn shared_convo(name: &str, proto: u8, port: u16) -> Convo {
    shared_convos(name, proto)
        .into_iter()
        .find(|(p, _)| *p == port)
        .map(|(_, c)| c)
        .unwrap_or_else(|| panic!("{name}: no conversation to port {port}"))
}

/// The bytes one direction of a conversation carries, in order.
pub fn stream(c: &Convo, dir: Direction) -> Vec<u8> {
    c.iter()
        .filter(|(d, _)| *d == dir)
        .flat_map(|(_, b)| b.iter().copied())
        .collect()
}

/// The conversation cut to its first `keep[dir.idx()]` bytes in each
/// direction (to server, to client), segments kept in order; consecutive
/// ones of the same direction are merged again, as in [`shared_convos`].
pub fn prefix(c: &Convo, keep: [usize; 2]) -> Convo {
    let mut left = keep;
    let mut out: Convo = Vec::new();
    for (dir, bytes) in c {
        let n = bytes.len().min(left[dir.idx()]);
        left[dir.idx()] -= n;
        if n == 0 {
            continue;
        }
        match out.last_mut() {
            Some((d, b)) if d == dir => b.extend_from_slice(&bytes[..n]),
            _ => out.push((*dir, bytes[..n].to_vec())),
        }
    }
    out
}

#[test]
fn shared_convos_reassemble_a_real_capture() {
    let c = shared_convo("zeek__redis_set.pcap", 6, 6379);
    assert!(c.len() >= 2);
    assert_eq!(c[0].0, Direction::ToServer);
    assert!(
        c[0].1.starts_with(b"*"),
        "{:?}",
        String::from_utf8_lossy(&c[0].1)
    );
    assert_eq!(c[1].0, Direction::ToClient);
}
