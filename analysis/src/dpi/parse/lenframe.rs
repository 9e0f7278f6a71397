//! Bounded framing shared by the length-prefixed parsers (MongoDB, Kafka,
//! Cassandra, Memcached, ZooKeeper, AMQP, MQTT).
//!
//! # Contract
//! - A [`FrameBuf`] holds at most `cap` bytes of one direction. The
//!   protocol's [`Framer`] says, from the buffered prefix, how many bytes
//!   it needs ([`Framing::Need`]) or how long the current message is
//!   ([`Framing::Frame`]).
//! - A message of at most `cap` bytes is delivered whole. A longer one is
//!   delivered as its first `cap` bytes (`truncated == true`) and the rest
//!   is skipped by length as it arrives: no allocation follows a length
//!   field before the bytes are there.
//! - [`Framing::Bad`], a `Need` beyond `cap` or not beyond what is
//!   buffered, or a zero-length `Frame` stop the direction for good (no
//!   loop can spin). So does [`FrameBuf::gap`]: these protocols have no
//!   marker to resynchronise on.
//! - The outcome depends only on the bytes, never on how they were cut.

use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

/// What a [`Framer`] makes of the buffered prefix of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// More bytes are needed to decide: up to this many (in all) are
    /// buffered, then the framer is asked again.
    Need(usize),
    /// The current message is this long (header included).
    Frame(usize),
    /// Not this protocol (any more): stop the direction.
    Bad,
}

/// One protocol's message boundaries and message handler.
pub trait Framer {
    /// Boundaries of the message starting the buffer `buf` of `dir`.
    fn frame_len(&self, dir: Direction, buf: &[u8]) -> Framing;
    /// One message (its first `cap` bytes when `truncated`).
    fn frame(&mut self, dir: Direction, msg: &[u8], truncated: bool, out: &mut Vec<AppRecord>);
}

/// A protocol whose parser is two [`FrameBuf`]s and its state: the state
/// frames and handles the messages, [`LenParser`] does the rest.
pub trait Protocol: Framer + Send {
    /// Most bytes of one message kept (the rest is skipped by length).
    const MAX_MSG: usize;
    /// End of the flow: emits what is pending.
    fn finish(&mut self, out: &mut Vec<AppRecord>);
}

/// The parser of a length-framed protocol: one bounded buffer per
/// direction feeding the protocol's state; UDP input is ignored.
#[derive(Debug)]
pub struct LenParser<P> {
    tcp: bool,
    io: [FrameBuf; 2],
    st: P,
}

impl<P: Protocol + 'static> LenParser<P> {
    /// A parser over `st` for a flow of the given transport.
    pub fn boxed(tcp: bool, st: P) -> Box<dyn AppParser> {
        Box::new(LenParser {
            tcp,
            io: Default::default(),
            st,
        })
    }
}

impl<P: Protocol> AppParser for LenParser<P> {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if self.tcp {
            self.io[dir.idx()].feed(dir, bytes, P::MAX_MSG, &mut self.st, out);
        }
    }

    fn gap(&mut self, dir: Direction) {
        self.io[dir.idx()].gap();
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        self.st.finish(out);
    }
}

/// The bounded buffer of one direction.
#[derive(Debug, Default)]
pub struct FrameBuf {
    buf: Vec<u8>,
    /// Bytes of an oversized message still to skip.
    skip: usize,
    /// The direction stopped.
    dead: bool,
}

impl FrameBuf {
    /// Whether the direction stopped (bad framing or gap).
    pub fn dead(&self) -> bool {
        self.dead
    }

    /// Stops the direction: lost bytes cannot be found again.
    pub fn gap(&mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.dead = true;
        self.buf = Vec::new();
        self.skip = 0;
    }

    /// Feeds stream bytes of `dir`, delivering each whole message to `f`.
    pub fn feed<F: Framer>(
        &mut self,
        dir: Direction,
        mut bytes: &[u8],
        cap: usize,
        f: &mut F,
        out: &mut Vec<AppRecord>,
    ) {
        loop {
            if self.dead {
                return;
            }
            if self.skip > 0 {
                let n = self.skip.min(self.buf.len());
                self.buf.drain(..n);
                self.skip -= n;
                let n = self.skip.min(bytes.len());
                bytes = bytes.get(n..).unwrap_or_default();
                self.skip -= n;
                if self.skip > 0 {
                    return;
                }
            }
            match f.frame_len(dir, &self.buf) {
                Framing::Bad => return self.stop(),
                Framing::Need(n) => {
                    if n <= self.buf.len() || n > cap {
                        return self.stop();
                    }
                    // Take what is there and ask again: a line-based
                    // framer's `Need` is only a read-ahead.
                    let before = self.buf.len();
                    self.fill(n, &mut bytes);
                    if self.buf.len() == before {
                        return;
                    }
                }
                Framing::Frame(0) => return self.stop(),
                Framing::Frame(total) => {
                    let want = total.min(cap);
                    if !self.fill(want, &mut bytes) {
                        return;
                    }
                    let msg = self.buf.get(..want).unwrap_or_default();
                    f.frame(dir, msg, total > want, out);
                    self.buf.drain(..want);
                    self.skip = total - want;
                }
            }
        }
    }

    /// Moves input into the buffer until it holds `n` bytes; whether it
    /// does.
    fn fill(&mut self, n: usize, bytes: &mut &[u8]) -> bool {
        let take = n.saturating_sub(self.buf.len()).min(bytes.len());
        let (head, rest) = bytes.split_at(take);
        self.buf.extend_from_slice(head);
        *bytes = rest;
        self.buf.len() >= n
    }
}

/// `b` as text (lossy UTF-8), cut at `max` bytes; whether it was cut.
pub fn cut(b: &[u8], max: usize) -> (String, bool) {
    let t = b.len() > max;
    (
        String::from_utf8_lossy(b.get(..max).unwrap_or(b)).into_owned(),
        t,
    )
}

/// `b` as text (lossy UTF-8), cut at `max` bytes.
pub fn text(b: &[u8], max: usize) -> String {
    cut(b, max).0
}

/// A bounded queue of requests awaiting their response, matched by id.
#[derive(Debug)]
pub struct Pending<K, V> {
    items: std::collections::VecDeque<(K, V)>,
    cap: usize,
}

impl<K: PartialEq, V> Pending<K, V> {
    /// An empty queue holding at most `cap` requests.
    pub fn new(cap: usize) -> Self {
        Pending {
            items: Default::default(),
            cap,
        }
    }

    /// Queues a request; returns the oldest one when the queue was full.
    pub fn push(&mut self, k: K, v: V) -> Option<V> {
        let old = if self.items.len() >= self.cap {
            self.items.pop_front().map(|(_, v)| v)
        } else {
            None
        };
        self.items.push_back((k, v));
        old
    }

    /// Removes and returns the request with id `k`.
    pub fn take(&mut self, k: &K) -> Option<V> {
        let i = self.items.iter().position(|(x, _)| x == k)?;
        self.items.remove(i).map(|(_, v)| v)
    }

    /// Removes and returns the oldest request (FIFO protocols).
    pub fn pop(&mut self) -> Option<V> {
        self.items.pop_front().map(|(_, v)| v)
    }

    /// Removes all requests, oldest first.
    pub fn drain(&mut self) -> impl Iterator<Item = V> + '_ {
        self.items.drain(..).map(|(_, v)| v)
    }
}

/// Little cursor over a message: reads fail (None) past the end.
#[derive(Debug, Clone, Copy)]
pub struct Rd<'a>(pub &'a [u8]);

impl<'a> Rd<'a> {
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (h, t) = self.0.split_at(n);
        self.0 = t;
        Some(h)
    }
    /// One byte.
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }
    /// Big-endian u16.
    pub fn be16(&mut self) -> Option<u16> {
        self.take(2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_be_bytes)
    }
    /// Big-endian u32.
    pub fn be32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
    }
    /// Big-endian u64.
    pub fn be64(&mut self) -> Option<u64> {
        self.take(8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
    }
    /// Little-endian u32.
    pub fn le32(&mut self) -> Option<u32> {
        self.take(4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
    }
    /// Bytes up to a NUL (consumed, not returned).
    pub fn cstr(&mut self) -> Option<&'a [u8]> {
        let i = self.0.iter().position(|&b| b == 0)?;
        let s = self.take(i)?;
        self.take(1)?;
        Some(s)
    }
    /// A big-endian u16-length string.
    pub fn str16(&mut self) -> Option<&'a [u8]> {
        let n = self.be16()?;
        self.take(usize::from(n))
    }
    /// A big-endian u32-length string (negative = null → empty).
    pub fn str32(&mut self) -> Option<&'a [u8]> {
        let n = self.be32()? as i32;
        if n < 0 {
            return Some(&[]);
        }
        self.take(n as usize)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Fixed;
    impl Framer for Fixed {
        fn frame_len(&self, _: Direction, buf: &[u8]) -> Framing {
            match buf.first() {
                None => Framing::Need(1),
                Some(&n) => Framing::Frame(usize::from(n)),
            }
        }
        fn frame(&mut self, _: Direction, m: &[u8], t: bool, out: &mut Vec<AppRecord>) {
            out.push(AppRecord::Memcached(super::super::memcached::MemcachedTx {
                command: format!("{}{}", m.len(), t),
                ..Default::default()
            }));
        }
    }

    #[test]
    fn oversized_is_truncated_then_skipped() {
        let mut b = FrameBuf::default();
        let mut out = Vec::new();
        let mut msg = vec![10u8; 10];
        msg.extend([2, 0, 0]);
        for c in msg.chunks(3) {
            b.feed(Direction::ToServer, c, 4, &mut Fixed, &mut out);
        }
        let got: Vec<_> = out
            .iter()
            .map(|r| match r {
                AppRecord::Memcached(m) => m.command.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(got, ["4true", "2false"]);
        // Zero length stops the direction.
        assert!(b.dead());
        b.feed(Direction::ToServer, &[1, 1], 4, &mut Fixed, &mut out);
        assert_eq!(out.len(), 2);
        let mut g = FrameBuf::default();
        g.gap();
        assert!(g.dead());
    }
}

/// The identifier end to end (probes, then the registry's parser) over
/// the real and recorded conversations of the NoSQL parsers.
#[cfg(test)]
mod identified {
    #![allow(clippy::unwrap_used)]
    use crate::dpi::parse::testutil::{sample_convos, shared_convos, whole, Convo};
    use crate::dpi::{AppProto, Identifier};

    fn identify(port: u16, c: &Convo) -> (Option<AppProto>, usize) {
        let mut id = Identifier::default();
        for (d, b) in c {
            id.tcp_data(*d, port, b);
        }
        id.finish();
        (id.app(), id.take_records().len())
    }

    /// Conversations, the protocol they are, and its parser.
    type Case = (Vec<(u16, Convo)>, AppProto, super::super::NewParser);

    #[test]
    fn captures_are_identified_and_parsed() {
        let cases: [Case; 6] = [
            (
                shared_convos("ndpi__mongodb.pcap", 6),
                AppProto::Mongodb,
                super::super::mongodb::new_parser,
            ),
            (
                shared_convos("ndpi__kafka.pcapng", 6),
                AppProto::Kafka,
                super::super::kafka::new_parser,
            ),
            (
                sample_convos("memcached.pcap", 6),
                AppProto::Memcached,
                super::super::memcached::new_parser,
            ),
            (
                sample_convos("amqp.pcap", 6),
                AppProto::Amqp,
                super::super::amqp::new_parser,
            ),
            (
                sample_convos("zookeeper.pcap", 6),
                AppProto::Zookeeper,
                super::super::zookeeper::new_parser,
            ),
            (
                sample_convos("mqtt.pcap", 6),
                AppProto::Mqtt,
                super::super::mqtt::new_parser,
            ),
        ];
        for (convos, app, new) in cases {
            let mut total = 0;
            for (port, c) in &convos {
                let (got, n) = identify(*port, c);
                // ndpi__kafka's stream joined mid-way with the broker
                // speaking first is the only one left unidentified.
                if *port == 58052 {
                    continue;
                }
                assert_eq!(got, Some(app), "port {port}");
                assert_eq!(n, whole(new, c).len(), "{app:?} port {port}");
                total += n;
            }
            assert!(total > 0, "{app:?}: nothing identified and parsed");
        }
    }
}
