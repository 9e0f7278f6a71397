//! Port-independent application-protocol identification.
//!
//! Every protocol is a [`Descriptor`] in one table per transport
//! (`tcp::REGISTRY`, `udp::REGISTRY`): its name, the ports it usually uses
//! (a hint that only orders the probes) and a probe over the first bytes of
//! each direction. Container traffic runs on any port, so a probe must
//! recognise the protocol from its bytes alone, never from the port.
//!
//! Probes are pure functions that never allocate and never panic on any
//! input; they answer [`Probe::Match`], [`Probe::NotMine`] or
//! [`Probe::NeedMore`] (the bytes so far are a valid prefix). The
//! [`Identifier`] of each flow buffers at most [`PROBE_BYTES`] per direction
//! and stops probing once a protocol matched or every probe declined.

mod dns_name;
pub mod parse;
pub mod parser;
pub mod records;
pub mod tcp;
pub mod udp;

use crate::flow::Direction;
use parser::{AppParser, AppRecord, MAX_RECORDS_PER_FLOW};

/// Bytes per direction kept for probing.
pub const PROBE_BYTES: usize = 512;

/// Application protocols Osprey names, with Suricata's names where Suricata
/// has them and lowercase names otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AppProto {
    /// HTTP/1.x.
    Http,
    /// HTTP/2 (h2c, prior knowledge).
    Http2,
    /// TLS.
    Tls,
    /// DNS over UDP or TCP.
    Dns,
    /// SSH.
    Ssh,
    /// SMTP.
    Smtp,
    /// FTP control channel.
    Ftp,
    /// SMB 1/2/3.
    Smb,
    /// PostgreSQL.
    Pgsql,
    /// MySQL / MariaDB.
    Mysql,
    /// Redis (RESP).
    Redis,
    /// MongoDB wire protocol.
    Mongodb,
    /// Apache Kafka.
    Kafka,
    /// Cassandra CQL native protocol.
    Cassandra,
    /// MS-SQL TDS.
    Tds,
    /// Memcached (text or binary).
    Memcached,
    /// AMQP 0-9-1 / 1.0.
    Amqp,
    /// MQTT.
    Mqtt,
    /// ZooKeeper.
    Zookeeper,
    /// QUIC.
    Quic,
    /// DHCP.
    Dhcp,
    /// NTP.
    Ntp,
    /// SNMP.
    Snmp,
    /// Kerberos 5.
    Krb5,
    /// Telnet.
    Telnet,
    /// gRPC (HTTP/2 with `content-type: application/grpc`).
    Grpc,
    /// An FTP data connection announced on a control channel.
    FtpData,
}

impl AppProto {
    /// The EVE `app_proto` name.
    pub fn name(self) -> &'static str {
        match self {
            AppProto::Http => "http",
            AppProto::Http2 => "http2",
            AppProto::Tls => "tls",
            AppProto::Dns => "dns",
            AppProto::Ssh => "ssh",
            AppProto::Smtp => "smtp",
            AppProto::Ftp => "ftp",
            AppProto::Smb => "smb",
            AppProto::Pgsql => "pgsql",
            AppProto::Mysql => "mysql",
            AppProto::Redis => "redis",
            AppProto::Mongodb => "mongodb",
            AppProto::Kafka => "kafka",
            AppProto::Cassandra => "cassandra",
            AppProto::Tds => "tds",
            AppProto::Memcached => "memcached",
            AppProto::Amqp => "amqp",
            AppProto::Mqtt => "mqtt",
            AppProto::Zookeeper => "zookeeper",
            AppProto::Quic => "quic",
            AppProto::Dhcp => "dhcp",
            AppProto::Ntp => "ntp",
            AppProto::Snmp => "snmp",
            AppProto::Krb5 => "krb5",
            AppProto::Telnet => "telnet",
            AppProto::Grpc => "grpc",
            AppProto::FtpData => "ftp-data",
        }
    }
}

/// A probe's answer for the bytes seen so far in one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// These bytes are this protocol.
    Match,
    /// These bytes are not this protocol.
    NotMine,
    /// A valid prefix: more bytes are needed to decide.
    NeedMore,
}

impl Probe {
    /// `Match` or `NotMine`, for probes that decide from one whole unit
    /// (a UDP datagram) and never need more bytes.
    pub fn decided(matched: bool) -> Probe {
        if matched {
            Probe::Match
        } else {
            Probe::NotMine
        }
    }
}

/// One protocol's entry in a registry.
#[derive(Debug, Clone, Copy)]
pub struct Descriptor {
    /// The protocol.
    pub app: AppProto,
    /// Ports it usually runs on: probes of protocols whose port matches the
    /// flow's server port run first. Never required for a match.
    pub ports: &'static [u16],
    /// Recognises the protocol from the first bytes of one direction (for
    /// UDP: one datagram). `Direction::ToServer` is client → server.
    pub probe: fn(Direction, &[u8]) -> Probe,
}

/// Datagrams per direction a UDP flow is probed with before it is
/// declared `unknown`.
pub const UDP_PROBE_DATAGRAMS: u8 = 4;

/// Per-direction probing state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum DirState {
    /// Some probe may still match.
    #[default]
    Pending,
    /// No probe can match this direction.
    Declined,
}

/// Per-flow application layer: identification, then the protocol's
/// parser. At most [`PROBE_BYTES`] are buffered per direction while
/// probing; once a protocol is identified, the buffered bytes are replayed
/// into its parser (if Osprey has one) and later bytes go straight to it.
#[derive(Default)]
pub struct Identifier {
    /// TCP bytes held while probing; boxed and only while probing, so an
    /// identified flow (most of a node's) pays one pointer for it.
    probing: Option<Box<Probing>>,
    state: [DirState; 2],
    datagrams: [u8; 2],
    decided: Option<Option<AppProto>>,
    parser: Option<Box<dyn AppParser>>,
    /// Records parsed and not yet collected by the flow table.
    pending: Vec<AppRecord>,
    /// Records emitted so far (capped by [`MAX_RECORDS_PER_FLOW`]).
    emitted: u32,
    /// Records dropped by the cap.
    dropped: u32,
}

/// TCP bytes held while a flow is being probed.
#[derive(Default)]
struct Probing {
    buf: [Vec<u8>; 2],
    /// Arrival order of the buffered bytes: (direction, length) pieces,
    /// so the parser gets them interleaved as they came (a server's
    /// greeting before the client's first command).
    arrivals: Vec<(Direction, u16)>,
}

impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identifier")
            .field("decided", &self.decided)
            .field("parser", &self.parser.is_some())
            .field("emitted", &self.emitted)
            .finish_non_exhaustive()
    }
}

impl Identifier {
    /// The protocol, once identified.
    pub fn app(&self) -> Option<AppProto> {
        let refined = self.parser.as_ref().and_then(|p| p.refined());
        refined.or(self.decided.flatten())
    }

    /// Names the flow without probing: a connection another flow announced
    /// (an FTP data channel). Its bytes are not parsed.
    pub fn assign(&mut self, app: AppProto) {
        self.decided = Some(Some(app));
        self.probing = None;
    }

    /// True once identification is over (matched, or nothing can match).
    pub fn done(&self) -> bool {
        self.decided.is_some()
    }

    /// Heap bytes held while probing (both directions' buffers), charged
    /// against the flow table's DPI budget.
    pub fn probe_bytes(&self) -> usize {
        self.probing.as_ref().map_or(0, |p| {
            p.buf[0].capacity()
                + p.buf[1].capacity()
                + p.arrivals.capacity() * std::mem::size_of::<(Direction, u16)>()
        })
    }

    /// Ends probing early to give its memory back (the DPI budget is
    /// exceeded): an undecided flow stays unknown. Identified flows and
    /// their parsers are untouched.
    pub fn stop_probing(&mut self) {
        if self.decided.is_none() && self.probing.is_some() {
            self.decide(None, false);
        }
    }

    /// Records dropped because the flow reached [`MAX_RECORDS_PER_FLOW`].
    pub fn dropped_records(&self) -> u32 {
        self.dropped
    }

    /// Feeds in-order TCP stream bytes of one direction.
    pub fn tcp_data(&mut self, dir: Direction, server_port: u16, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.done() {
            self.parse(dir, bytes);
            return;
        }
        let d = dir.idx();
        if self.state[d] == DirState::Declined {
            return;
        }
        let pr = self.probing.get_or_insert_with(Box::default);
        let room = PROBE_BYTES.saturating_sub(pr.buf[d].len());
        let (head, rest) = bytes.split_at(bytes.len().min(room));
        pr.buf[d].extend_from_slice(head);
        if !head.is_empty() {
            // head.len() <= PROBE_BYTES < u16::MAX.
            pr.arrivals.push((dir, head.len() as u16));
        }
        let held = pr.buf[d].len();
        match run(tcp::REGISTRY, server_port, dir, &pr.buf[d]) {
            Some(Some(app)) => {
                self.decide(Some(app), true);
                self.parse(dir, rest);
            }
            Some(None) => self.decline(d),
            None if held >= PROBE_BYTES => self.decline(d),
            None => {}
        }
    }

    /// A hole in a TCP direction. Before its first byte, the start of that
    /// direction is lost and it cannot be probed; after identification the
    /// parser resynchronises or stops.
    pub fn tcp_gap(&mut self, dir: Direction) {
        let d = dir.idx();
        if self.done() {
            if let Some(p) = self.parser.as_mut() {
                p.gap(dir);
            }
        } else if self.probing.as_ref().is_none_or(|p| p.buf[d].is_empty()) {
            self.decline(d);
        }
    }

    /// Feeds one UDP datagram's payload.
    pub fn udp_datagram(&mut self, dir: Direction, server_port: u16, payload: &[u8]) {
        if payload.is_empty() {
            return;
        }
        if self.done() {
            self.parse(dir, payload);
            return;
        }
        let d = dir.idx();
        if self.state[d] == DirState::Declined {
            return;
        }
        match run(udp::REGISTRY, server_port, dir, payload) {
            Some(Some(app)) => {
                self.decide(Some(app), false);
                self.parse(dir, payload);
            }
            _ => {
                self.datagrams[d] += 1;
                if self.datagrams[d] >= UDP_PROBE_DATAGRAMS {
                    self.decline(d);
                }
            }
        }
    }

    /// End of the flow's data (close or end of flow): an undecided flow
    /// stays unknown, and the parser emits what it still holds. Buffers are
    /// freed.
    pub fn finish(&mut self) {
        if self.decided.is_none() {
            self.decided = Some(None);
        }
        self.probing = None;
        if let Some(mut p) = self.parser.take() {
            if let Some(app) = p.refined() {
                self.decided = Some(Some(app));
            }
            let mut out = Vec::new();
            p.finish(&mut out);
            self.collect(out);
        }
    }

    /// The records parsed so far. The vector itself is handed over: a
    /// drained one would keep its capacity in every live flow.
    pub fn take_records(&mut self) -> Vec<AppRecord> {
        std::mem::take(&mut self.pending)
    }

    fn parse(&mut self, dir: Direction, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if let Some(p) = self.parser.as_mut() {
            let mut out = Vec::new();
            p.data(dir, bytes, &mut out);
            self.collect(out);
        }
    }

    fn collect(&mut self, records: Vec<AppRecord>) {
        for r in records {
            if self.emitted < MAX_RECORDS_PER_FLOW {
                self.emitted += 1;
                self.pending.push(r);
            } else {
                self.dropped += 1;
            }
        }
    }

    fn decline(&mut self, d: usize) {
        self.state[d] = DirState::Declined;
        if let Some(pr) = self.probing.as_mut() {
            pr.buf[d] = Vec::new();
            pr.arrivals.retain(|(dir, _)| dir.idx() != d);
        }
        if self.state == [DirState::Declined; 2] {
            self.decide(None, true);
        }
    }

    /// Records the decision; for TCP, replays the probed bytes of both
    /// directions into the new parser in the order they arrived.
    fn decide(&mut self, app: Option<AppProto>, tcp: bool) {
        self.decided = Some(app);
        self.parser = app.and_then(|a| parse::parser_for(a, tcp));
        let Probing { buf, arrivals } = self.probing.take().map(|p| *p).unwrap_or_default();
        if tcp {
            let mut at = [0usize; 2];
            for (dir, len) in arrivals {
                let d = dir.idx();
                let end = (at[d] + usize::from(len)).min(buf[d].len());
                if let Some(piece) = buf[d].get(at[d]..end) {
                    self.parse(dir, piece);
                }
                at[d] = end;
            }
        }
    }
}

/// Runs a registry's probes over one direction's bytes: port-hinted
/// protocols first, then the rest. `Some(Some(app))` on a match,
/// `Some(None)` when every probe declined, `None` when some need more.
fn run(
    registry: &[Descriptor],
    server_port: u16,
    dir: Direction,
    data: &[u8],
) -> Option<Option<AppProto>> {
    let hinted = registry.iter().filter(|d| d.ports.contains(&server_port));
    let others = registry.iter().filter(|d| !d.ports.contains(&server_port));
    let mut pending = false;
    for d in hinted.chain(others) {
        match (d.probe)(dir, data) {
            Probe::Match => return Some(Some(d.app)),
            Probe::NeedMore => pending = true,
            Probe::NotMine => {}
        }
    }
    if pending {
        None
    } else {
        Some(None)
    }
}
