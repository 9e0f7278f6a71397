//! The detection engine: one per pipeline, on a thread of its own
//! ([`crate::stage`]; no locks). It is fed facts — each packet's headers and what the flow
//! table did with it, decode anomalies, ended flows, application records —
//! and turns them into [`Alert`]s by the rules of a [`RuleSet`]. Parsers
//! and the flow table never decide alerts; this module never parses.
//!
//! Alerts with the same category and endpoints within `suppress_s` fold
//! into one (count, last time, evidence); an alert is written when it has
//! been quiet that long, or at the end of the input ([`Detector::tick`],
//! [`Detector::finish`]), in a deterministic order.

use super::alert::{Alert, Category, Side};
use super::rules::RuleSet;
use super::window::Windows;
use crate::decode::meta::{DecodeAnomaly, TcpMeta};
use crate::flow::Direction;
use crate::policy::check::{FlowView, PolicyChecker};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

/// What the engine knows about one packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketFacts {
    /// Capture time.
    pub ts_ns: i64,
    /// Frame number (the last frame of a reassembled datagram).
    pub pkt_no: u64,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IP protocol.
    pub proto: u8,
    /// TCP header, for TCP.
    pub tcp: Option<TcpMeta>,
    /// Destination port (TCP/UDP).
    pub dst_port: Option<u16>,
    /// ICMP type and code, for ICMP/ICMPv6.
    pub icmp: Option<(u8, u8)>,
    /// Transport payload length.
    pub payload_len: usize,
    /// Flow, direction and what the flow table did, when the packet has a
    /// flow.
    pub flow: Option<FlowFacts>,
}

/// What the flow table did with a packet.
#[derive(Debug, Clone, Copy)]
pub struct FlowFacts {
    /// Flow id.
    pub id: u64,
    /// Direction of the packet in the flow.
    pub dir: Direction,
    /// The packet created the flow.
    pub new_flow: bool,
    /// The packet completed the TCP handshake.
    pub established: bool,
    /// The packet closed the TCP connection.
    pub closed: bool,
}

/// What the engine knows about an ended flow.
#[derive(Debug, Clone, Copy)]
pub struct FlowEnd {
    /// Flow id.
    pub id: u64,
    /// Client and server.
    pub client: (IpAddr, u16),
    /// Server.
    pub server: (IpAddr, u16),
    /// IP protocol.
    pub proto: u8,
    /// Identified application protocol name.
    pub app_proto: &'static str,
    /// First and last packet.
    pub first_ts_ns: i64,
    /// Last packet.
    pub last_ts_ns: i64,
    /// Packets per direction.
    pub pkts: [u64; 2],
    /// Wire bytes per direction.
    pub bytes: [u64; 2],
    /// TCP stream length per direction (payload bytes, lost ones
    /// included).
    pub payload_bytes: [u64; 2],
}

#[derive(Debug, Default)]
struct SynCounts {
    completed: u64,
}

#[derive(Debug, Default)]
struct UdpCounts {
    out: u64,
}

#[derive(Debug, Default)]
struct PortSet {
    ports: Vec<u16>,
    udp: u64,
    completed: u64,
}

#[derive(Debug, Default)]
struct HostSet {
    hosts: Vec<IpAddr>,
}

/// Key of an open alert: category, the two endpoints, and a
/// category-specific discriminator (a flow id, a port, 0).
/// A payload match: flow, direction, category, time, details.
pub(super) type DlpFound = (u64, Direction, Category, i64, Vec<(&'static str, String)>);

pub(super) type AlertKey = (Category, Option<IpAddr>, Option<IpAddr>, u64);

/// The detection engine. See the module docs.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
    suppress_ns: i64,
    open: HashMap<AlertKey, Alert, foldhash::fast::RandomState>,
    closed: Vec<Alert>,
    syn_to: Windows<IpAddr, SynCounts>,
    icmp_to: Windows<IpAddr, ()>,
    udp_to: Windows<IpAddr, UdpCounts>,
    sessions: HashMap<IpAddr, u32, foldhash::fast::RandomState>,
    /// Open sessions counted in `sessions`: flow → client.
    open_sessions: HashMap<u64, IpAddr, foldhash::fast::RandomState>,
    scans: Windows<(IpAddr, IpAddr), PortSet>,
    sweeps: Windows<(IpAddr, u16), HostSet>,
    pub(super) slow_http: Windows<IpAddr, ()>,
    logins: Windows<(IpAddr, IpAddr, &'static str), ()>,
    ssh_logins: Windows<(IpAddr, IpAddr), ()>,
    /// Payload inspection state per (flow, direction).
    pub(super) dlp: HashMap<(u64, u8), super::payload::DlpState, foldhash::fast::RandomState>,
    /// Payload matches waiting for their flow's endpoints.
    pub(super) dlp_found: Vec<DlpFound>,
    /// DNS names per registered domain.
    pub(super) tunnels: Windows<u64, super::payload::TunnelState>,
    /// Payload bytes scanned per flow direction by the DLP rules, `None`
    /// when both are off (from the rules, once: asked on every delivery).
    pub(super) dlp_budget: Option<u64>,
    /// The policy ended flows are checked against (`policy_violation`).
    policy: Option<Arc<PolicyChecker>>,
}

impl Detector {
    /// An engine applying `rules`.
    pub fn new(rules: RuleSet) -> Detector {
        let cap = rules.limits.max_tracked_keys;
        let win = |c: Category| rules.get(c).map_or(0, |r| r.window_ns());
        let dlp_budget = [Category::DlpCreditCard, Category::DlpSsn]
            .iter()
            .filter_map(|c| rules.get(*c).and_then(|r| r.scan_bytes))
            .max();
        Detector {
            dlp_budget,
            suppress_ns: (rules.limits.suppress_s * 1e9) as i64,
            open: HashMap::default(),
            closed: Vec::new(),
            syn_to: Windows::new(cap, win(Category::SynFlood)),
            icmp_to: Windows::new(cap, win(Category::IcmpFlood)),
            udp_to: Windows::new(cap, win(Category::UdpFlood)),
            sessions: HashMap::default(),
            open_sessions: HashMap::default(),
            scans: Windows::new(cap, win(Category::PortScan)),
            sweeps: Windows::new(cap, win(Category::HostSweep)),
            slow_http: Windows::new(cap, win(Category::Slowloris)),
            logins: Windows::new(cap, win(Category::BruteForce)),
            ssh_logins: Windows::new(cap, win(Category::BruteForce)),
            dlp: HashMap::default(),
            dlp_found: Vec::new(),
            tunnels: Windows::new(cap, win(Category::DnsTunnel)),
            rules,
            policy: None,
        }
    }

    /// Checks every ended flow, and card numbers in clear, against
    /// `policy`.
    pub fn set_policy(&mut self, policy: Arc<PolicyChecker>) {
        self.policy = Some(policy);
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// One packet.
    pub fn packet(&mut self, p: &PacketFacts) {
        if let Some(f) = p.flow.filter(|f| f.closed) {
            self.session_closed(f.id);
        }
        match (p.tcp, p.icmp) {
            (Some(t), _) => self.tcp_packet(p, &t),
            (None, Some((icmp_type, _))) => self.icmp_packet(p, icmp_type),
            (None, None) if p.proto == 17 => self.udp_packet(p),
            _ => {}
        }
    }

    fn tcp_packet(&mut self, p: &PacketFacts, t: &TcpMeta) {
        let syn = t.has(TcpMeta::SYN);
        let ack = t.has(TcpMeta::ACK);
        if p.flow.is_some_and(|f| f.established) {
            // The client completed the handshake: the server is `dst`.
            if let Some(s) = self.syn_to.get_mut(&p.dst, p.ts_ns) {
                s.v.completed += 1;
            }
            if let Some(s) = self.scans.get_mut(&(p.src, p.dst), p.ts_ns) {
                s.v.completed += 1;
            }
        }
        self.tcp_flag_checks(p, t);
        if !syn || ack || t.has(TcpMeta::RST) || t.has(TcpMeta::FIN) {
            return;
        }
        // A bare SYN.
        if p.flow
            .is_some_and(|f| f.dir == Direction::ToClient && !f.new_flow)
        {
            self.raise(
                Category::TcpSplitHandshake,
                p,
                p.flow.map_or(0, |f| f.id),
                &[],
            );
        }
        if p.payload_len > 0 {
            let len = p.payload_len.to_string();
            self.raise(Category::SynWithData, p, 0, &[("payload_len", len)]);
        }
        if let Some(rule) = self.rules.get(Category::SynFlood) {
            let (threshold, ratio) = (
                rule.threshold.unwrap_or(u64::MAX),
                rule.ratio.unwrap_or(0.0),
            );
            let s = self.syn_to.hit(p.dst, p.ts_ns);
            s.note(p.ts_ns, Some(p.pkt_no));
            let hit = s.events >= threshold && (s.v.completed as f64) <= ratio * s.events as f64;
            let meta = hit.then(|| {
                vec![
                    ("syns", s.events.to_string()),
                    ("completed", s.v.completed.to_string()),
                ]
            });
            let ev = s.evidence.clone();
            if let Some(meta) = meta {
                let pf = PacketFacts { src: p.src, ..*p };
                self.raise_to(Category::SynFlood, &pf, None, Some(p.dst), 0, &meta, &ev);
            }
        }
        if p.dst_port.is_some() {
            self.probe(p, false);
        }
    }

    /// TCP flag combinations no stack sends, and SACK with a tiny MSS.
    fn tcp_flag_checks(&mut self, p: &PacketFacts, t: &TcpMeta) {
        const FIN: u8 = TcpMeta::FIN;
        const SYN: u8 = TcpMeta::SYN;
        const RST: u8 = TcpMeta::RST;
        const ACK: u8 = TcpMeta::ACK;
        const PSH: u8 = TcpMeta::PSH;
        const URG: u8 = 0x20;
        let f = t.flags & 0x3f;
        let what = if f & (SYN | FIN) == SYN | FIN {
            Some("syn_fin")
        } else if f & (SYN | RST) == SYN | RST {
            Some("syn_rst")
        } else if f == 0 {
            Some("null_flags")
        } else if f & (FIN | PSH | URG) == FIN | PSH | URG && f & ACK == 0 {
            Some("xmas")
        } else {
            None
        };
        if let Some(what) = what {
            self.raise(
                Category::InvalidPacket,
                p,
                0,
                &[("reason", what.to_string())],
            );
        }
        if t.has(TcpMeta::SYN) {
            if let (Some(mss), Some(rule)) = (t.mss, self.rules.get(Category::SmallMss)) {
                if mss <= rule.max_mss.unwrap_or(0) {
                    let meta = [
                        ("mss", mss.to_string()),
                        ("sack_permitted", t.sack_permitted.to_string()),
                    ];
                    self.raise(Category::SmallMss, p, 0, &meta);
                }
            }
        }
    }

    /// A connection attempt or a UDP probe from `src` to `dst:port`.
    fn probe(&mut self, p: &PacketFacts, udp: bool) {
        let (Some(port), Some(rule)) = (p.dst_port, self.rules.get(Category::PortScan)) else {
            return;
        };
        let threshold = rule.threshold.unwrap_or(u64::MAX) as usize;
        let s = self.scans.hit((p.src, p.dst), p.ts_ns);
        if s.v.ports.contains(&port) {
            return;
        }
        if s.v.ports.len() < threshold {
            s.v.ports.push(port);
        }
        s.note(p.ts_ns, Some(p.pkt_no));
        s.v.udp += u64::from(udp);
        if s.v.ports.len() >= threshold {
            let kind = if s.v.udp * 2 > s.events {
                "udp"
            } else if s.v.completed * 2 > s.events {
                "tcp_connect"
            } else {
                "tcp_syn"
            };
            let meta = [
                ("scan_type", kind.to_string()),
                ("ports", s.v.ports.len().to_string()),
            ];
            let ev = s.evidence.clone();
            self.raise_to(
                Category::PortScan,
                p,
                Some(p.src),
                Some(p.dst),
                0,
                &meta,
                &ev,
            );
        }
    }

    fn icmp_packet(&mut self, p: &PacketFacts, icmp_type: u8) {
        if let Some(rule) = self.rules.get(Category::IcmpFlood) {
            let threshold = rule.threshold.unwrap_or(u64::MAX);
            let s = self.icmp_to.hit(p.dst, p.ts_ns);
            s.note(p.ts_ns, Some(p.pkt_no));
            if s.events >= threshold {
                let meta = [("packets", s.events.to_string())];
                let ev = s.evidence.clone();
                self.raise_to(Category::IcmpFlood, p, None, Some(p.dst), 0, &meta, &ev);
            }
        }
        // Echo request (ICMPv4 8, ICMPv6 128).
        let echo = (p.proto == 1 && icmp_type == 8) || (p.proto == 58 && icmp_type == 128);
        if echo {
            self.sweep(p.src, 0, p.dst, p.ts_ns, Some(p.pkt_no));
        }
    }

    fn udp_packet(&mut self, p: &PacketFacts) {
        if let Some(rule) = self.rules.get(Category::UdpFlood) {
            let (threshold, ratio) = (
                rule.threshold.unwrap_or(u64::MAX),
                rule.ratio.unwrap_or(0.0),
            );
            if let Some(back) = self.udp_to.get_mut(&p.src, p.ts_ns) {
                back.v.out += 1;
            }
            let s = self.udp_to.hit(p.dst, p.ts_ns);
            s.note(p.ts_ns, Some(p.pkt_no));
            if s.events >= threshold && (s.v.out as f64) <= ratio * s.events as f64 {
                let meta = [
                    ("packets", s.events.to_string()),
                    ("answered", s.v.out.to_string()),
                ];
                let ev = s.evidence.clone();
                self.raise_to(Category::UdpFlood, p, None, Some(p.dst), 0, &meta, &ev);
            }
        }
        if p.flow.is_some_and(|f| f.new_flow) {
            self.probe(p, true);
        }
    }

    /// `src` reached `dst` on `port` (0: ICMP echo) without being asked.
    fn sweep(&mut self, src: IpAddr, port: u16, dst: IpAddr, ts_ns: i64, pkt_no: Option<u64>) {
        let Some(rule) = self.rules.get(Category::HostSweep) else {
            return;
        };
        let threshold = rule.threshold.unwrap_or(u64::MAX) as usize;
        let s = self.sweeps.hit((src, port), ts_ns);
        if s.v.hosts.contains(&dst) {
            return;
        }
        if s.v.hosts.len() < threshold {
            s.v.hosts.push(dst);
        }
        s.note(ts_ns, pkt_no);
        if s.v.hosts.len() >= threshold {
            let meta = [
                ("hosts", s.v.hosts.len().to_string()),
                (
                    "probe",
                    if port == 0 {
                        "icmp_echo".into()
                    } else {
                        format!("tcp/{port}")
                    },
                ),
            ];
            let ev = s.evidence.clone();
            let key = (Category::HostSweep, Some(src), None, u64::from(port));
            self.open_alert(key, ts_ns, None, Some(side(src, None)), None, &meta, &ev);
        }
    }

    /// A decode anomaly of a packet from `src` to `dst`.
    pub fn decode_anomaly(
        &mut self,
        a: &DecodeAnomaly,
        ts_ns: i64,
        pkt_no: u64,
        flow_id: Option<u64>,
        ends: Option<(IpAddr, IpAddr)>,
    ) {
        if matches!(a, DecodeAnomaly::FragInvalid) {
            // A teardrop is overlapping fragments too.
            self.decode_anomaly(&DecodeAnomaly::FragOverlap, ts_ns, pkt_no, flow_id, ends);
        }
        let category = match a {
            DecodeAnomaly::FragTooLarge => Category::PingOfDeath,
            DecodeAnomaly::FragInvalid => Category::Teardrop,
            DecodeAnomaly::FragOverlap => Category::FragOverlap,
            DecodeAnomaly::Ipv4Malformed
            | DecodeAnomaly::Ipv6Malformed
            | DecodeAnomaly::TcpMalformed
            | DecodeAnomaly::UdpMalformed
            | DecodeAnomaly::IcmpMalformed => Category::InvalidPacket,
            _ => return,
        };
        let (src, dst) = ends.map_or((None, None), |(s, d)| (Some(s), Some(d)));
        let key = (category, src, dst, 0);
        let meta = [("anomaly", a.name().to_string())];
        let sides = (src.map(|s| side(s, None)), dst.map(|d| side(d, None)));
        self.open_alert(key, ts_ns, flow_id, sides.0, sides.1, &meta, &[pkt_no]);
    }

    /// A session is no longer open (closed or ended).
    fn session_closed(&mut self, flow_id: u64) {
        let Some(client) = self.open_sessions.remove(&flow_id) else {
            return;
        };
        if let Some(n) = self.sessions.get_mut(&client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.sessions.remove(&client);
            }
        }
    }

    /// A flow ended.
    pub fn flow_ended(&mut self, f: &FlowEnd) {
        self.session_closed(f.id);
        self.payload_done(f);
        // Unanswered TCP attempts to many hosts on one port.
        if f.proto == 6 && f.pkts[1] == 0 && f.pkts[0] > 0 {
            self.sweep(f.client.0, f.server.1, f.server.0, f.first_ts_ns, None);
        }
        if f.app_proto == "ssh" {
            self.ssh_session(f);
        }
        self.policy_check(f);
    }

    /// Raises `policy_violation` when the policy does not allow the flow.
    fn policy_check(&mut self, f: &FlowEnd) {
        let Some(policy) = self.policy.as_ref() else {
            return;
        };
        let view = FlowView {
            client: f.client.0,
            server: f.server.0,
            proto: f.proto,
            server_port: f.server.1,
            app_proto: f.app_proto,
            client_workload: None,
            server_workload: None,
        };
        let Some(v) = policy.check_flow(&view) else {
            return;
        };
        // One alert per edge (groups, protocol, port), whatever the
        // addresses: a spoofed flood from `external` is one violation, not
        // one per source. The alert shows the first flow's endpoints.
        let edge = format!("{}\0{}\0{}\0{:?}", v.from, v.to, v.proto, v.port);
        let key = (Category::PolicyViolation, None, None, hash_str(&edge));
        let (src, dst) = (side(f.client.0, None), side(f.server.0, v.port));
        let meta = v.metadata();
        self.open_alert(
            key,
            f.first_ts_ns,
            Some(f.id),
            Some(src),
            Some(dst),
            &meta,
            &[],
        );
        if let Some(a) = self.open.get_mut(&key) {
            a.proto = Some(f.proto);
            a.add_evidence(f.last_ts_ns, None, Some(f.id));
            if let Some(sev) = v.reason.severity() {
                a.severity = a.severity.min(sev);
            }
        }
    }

    /// `policy_violation` alerts for card numbers in clear that left a PCI
    /// group (one per `dlp_credit_card` alert).
    fn card_violations(&self, alerts: &[Alert]) -> Vec<Alert> {
        let (Some(policy), Some(rule)) = (
            self.policy.as_ref(),
            self.rules.get(Category::PolicyViolation),
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for a in alerts
            .iter()
            .filter(|a| a.category == Category::DlpCreditCard)
        {
            let (Some(src), Some(dst)) = (a.src, a.dst) else {
                continue;
            };
            let Some(v) = policy.card_data(src.ip, dst.ip, a.proto) else {
                continue;
            };
            out.push(Alert {
                category: Category::PolicyViolation,
                signature_id: rule.signature_id,
                severity: v.reason.severity().unwrap_or(rule.severity),
                signature: rule.signature.clone(),
                metadata: v.metadata(),
                ..a.clone()
            });
        }
        out
    }

    /// A flow started (its first packet): concurrent sessions per source.
    pub fn flow_started(&mut self, client: IpAddr, ts_ns: i64, flow_id: u64) {
        let Some(rule) = self.rules.get(Category::SessionLimit) else {
            return;
        };
        let threshold = rule.threshold.unwrap_or(u64::MAX);
        self.open_sessions.insert(flow_id, client);
        let n = self.sessions.entry(client).or_insert(0);
        *n += 1;
        if u64::from(*n) >= threshold {
            let meta = [("sessions", n.to_string())];
            let key = (Category::SessionLimit, Some(client), None, 0);
            self.open_alert(key, ts_ns, None, Some(side(client, None)), None, &meta, &[]);
            if let Some(a) = self.open.get_mut(&key) {
                a.add_evidence(ts_ns, None, Some(flow_id));
            }
        }
    }

    /// SSH authentication outcomes are encrypted: short sessions that got
    /// past the key exchange and moved little data (what a password
    /// guesser's connections look like; a login that worked goes on or
    /// moves data) are counted per
    /// client and server, and `sessions` of them in a window raise
    /// `brute_force`.
    fn ssh_session(&mut self, f: &FlowEnd) {
        // Payload bytes, not packets or wire bytes: how TCP cut the stream
        // must not matter. The client's key exchange alone is ~1.5 KB.
        let short = f.last_ts_ns - f.first_ts_ns <= 30_000_000_000;
        let small = f.payload_bytes[0] + f.payload_bytes[1] <= 32 * 1024;
        let tried = f.payload_bytes[0] > 1024;
        let Some(rule) = self.rules.get(Category::BruteForce) else {
            return;
        };
        if !(short && small && tried) {
            return;
        }
        let threshold = rule.sessions.unwrap_or(u64::MAX);
        let s = self.ssh_logins.hit((f.client.0, f.server.0), f.first_ts_ns);
        s.note(f.first_ts_ns, None);
        if s.events >= threshold {
            let meta = [
                ("service", "ssh".to_string()),
                ("sessions", s.events.to_string()),
            ];
            let key = (
                Category::BruteForce,
                Some(f.client.0),
                Some(f.server.0),
                hash_str("ssh"),
            );
            let src = Some(side(f.client.0, None));
            let dst = Some(side(f.server.0, Some(f.server.1)));
            self.open_alert(key, f.last_ts_ns, None, src, dst, &meta, &[]);
            if let Some(a) = self.open.get_mut(&key) {
                a.add_evidence(f.first_ts_ns, None, Some(f.id));
                a.proto = Some(6);
            }
        }
    }

    /// A failed login from `client` to `server` on `service`.
    pub(super) fn login_failure(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        service: &'static str,
        ts_ns: i64,
        flow_id: u64,
    ) {
        let Some(rule) = self.rules.get(Category::BruteForce) else {
            return;
        };
        let threshold = rule.threshold.unwrap_or(u64::MAX);
        let s = self.logins.hit((client, server, service), ts_ns);
        s.note(ts_ns, None);
        if s.events >= threshold {
            let meta = [
                ("service", service.to_string()),
                ("failures", s.events.to_string()),
            ];
            let key = (
                Category::BruteForce,
                Some(client),
                Some(server),
                hash_str(service),
            );
            let (src, dst) = (Some(side(client, None)), Some(side(server, None)));
            self.open_alert(key, ts_ns, None, src, dst, &meta, &[]);
            if let Some(a) = self.open.get_mut(&key) {
                a.add_evidence(ts_ns, None, Some(flow_id));
            }
        }
    }

    /// Raises `category` for a packet: source and destination of the
    /// packet, folded per (category, src, dst, `disc`).
    fn raise(&mut self, c: Category, p: &PacketFacts, disc: u64, meta: &[(&'static str, String)]) {
        self.raise_to(c, p, Some(p.src), Some(p.dst), disc, meta, &[p.pkt_no]);
    }

    #[allow(clippy::too_many_arguments)]
    fn raise_to(
        &mut self,
        c: Category,
        p: &PacketFacts,
        src: Option<IpAddr>,
        dst: Option<IpAddr>,
        disc: u64,
        meta: &[(&'static str, String)],
        evidence: &[u64],
    ) {
        let key = (c, src, dst, disc);
        let port = |ip: Option<IpAddr>, port: Option<u16>| ip.map(|i| side(i, port));
        let src_port = p.tcp.map(|t| t.src_port);
        let dst_port = p.dst_port.filter(|_| src.is_some());
        let flow = p
            .flow
            .map(|f| f.id)
            .filter(|_| src.is_some() && dst.is_some());
        self.open_alert(
            key,
            p.ts_ns,
            flow,
            port(src, src_port.filter(|_| disc != 0)),
            port(dst, dst_port),
            meta,
            evidence,
        );
        if let Some(a) = self.open.get_mut(&key) {
            a.proto = Some(p.proto);
            a.add_evidence(p.ts_ns, Some(p.pkt_no), p.flow.map(|f| f.id));
        }
    }

    /// Opens an alert or folds this occurrence into the open one.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn open_alert(
        &mut self,
        key: AlertKey,
        ts_ns: i64,
        flow_id: Option<u64>,
        src: Option<Side>,
        dst: Option<Side>,
        meta: &[(&'static str, String)],
        evidence: &[u64],
    ) {
        if self.rules.get(key.0).is_none() {
            return;
        }
        if let Some(a) = self.open.get_mut(&key) {
            if ts_ns.saturating_sub(a.ts_last_ns) <= self.suppress_ns {
                a.count += 1;
                a.add_evidence(ts_ns, None, flow_id);
                if !meta.is_empty() {
                    a.metadata = meta.to_vec();
                }
                return;
            }
            if let Some(old) = self.open.remove(&key) {
                self.closed.push(old);
            }
        }
        if self.open.len() >= self.rules.limits.max_open_alerts.max(1) {
            self.close_oldest_half();
        }
        let Some(rule) = self.rules.get(key.0) else {
            return;
        };
        let (signature_id, severity, signature) =
            (rule.signature_id, rule.severity, rule.signature.clone());
        let mut a = Alert {
            category: key.0,
            signature_id,
            severity,
            signature,
            ts_first_ns: ts_ns,
            ts_last_ns: ts_ns,
            flow_id,
            src,
            dst,
            proto: None,
            evidence_packets: Vec::new(),
            evidence_flows: Vec::new(),
            count: 1,
            metadata: meta.to_vec(),
        };
        for &p in evidence {
            a.add_evidence(ts_ns, Some(p), None);
        }
        a.add_evidence(ts_ns, None, flow_id);
        self.open.insert(key, a);
    }

    fn close_oldest_half(&mut self) {
        let mut by_age: Vec<(i64, AlertKey)> =
            self.open.iter().map(|(k, a)| (a.ts_last_ns, *k)).collect();
        by_age.sort_unstable_by_key(|(t, k)| (*t, k.0, k.1, k.2, k.3));
        for (_, k) in by_age.iter().take(by_age.len().div_ceil(2)) {
            if let Some(a) = self.open.remove(k) {
                self.closed.push(a);
            }
        }
    }

    /// The open alert of `key`.
    pub(super) fn open_mut(&mut self, key: &AlertKey) -> Option<&mut Alert> {
        self.open.get_mut(key)
    }

    /// Sets the IP protocol of an open alert.
    pub(super) fn set_proto(&mut self, key: &AlertKey, proto: u8) {
        if let Some(a) = self.open.get_mut(key) {
            a.proto = Some(proto);
        }
    }

    /// Capture time advanced to `now_ns`: alerts quiet for `suppress_s`
    /// are closed.
    pub fn tick(&mut self, now_ns: i64) {
        let quiet: Vec<AlertKey> = self
            .open
            .iter()
            .filter(|(_, a)| now_ns.saturating_sub(a.ts_last_ns) > self.suppress_ns)
            .map(|(k, _)| *k)
            .collect();
        for k in quiet {
            if let Some(a) = self.open.remove(&k) {
                self.closed.push(a);
            }
        }
    }

    /// Keys the detection windows dropped to stay within
    /// `max_tracked_keys` (each window table is capped on its own).
    pub fn window_drops(&self) -> u64 {
        self.syn_to.dropped
            + self.icmp_to.dropped
            + self.udp_to.dropped
            + self.scans.dropped
            + self.sweeps.dropped
            + self.slow_http.dropped
            + self.logins.dropped
            + self.ssh_logins.dropped
            + self.tunnels.dropped
    }

    /// End of input: every alert is closed.
    pub fn finish(&mut self) {
        let all: Vec<Alert> = self.open.drain().map(|(_, a)| a).collect();
        self.closed.extend(all);
    }

    /// Closed alerts, in (first time, category, endpoints) order.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        let mut out = std::mem::take(&mut self.closed);
        let cards = self.card_violations(&out);
        out.extend(cards);
        sort_alerts(&mut out);
        out
    }

    /// The alerts still open (more evidence may fold in), as they are now,
    /// in the order [`Detector::take_alerts`] uses.
    pub fn open_alerts(&self) -> Vec<Alert> {
        let mut out: Vec<Alert> = self.open.values().cloned().collect();
        sort_alerts(&mut out);
        out
    }
}

/// Alerts in (first time, category, endpoints, flow) order.
fn sort_alerts(out: &mut [Alert]) {
    out.sort_by(|a, b| {
        (a.ts_first_ns, a.category, a.src, a.dst, a.flow_id).cmp(&(
            b.ts_first_ns,
            b.category,
            b.src,
            b.dst,
            b.flow_id,
        ))
    });
}

/// An alert side.
pub(super) fn side(ip: IpAddr, port: Option<u16>) -> Side {
    Side { ip, port }
}

/// A stable discriminator for a service name (FNV-1a).
fn hash_str(s: &str) -> u64 {
    crate::hash::fnv1a(s.as_bytes())
}
