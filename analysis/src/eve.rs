//! EVE JSON lines with Suricata's field names, so SIEM and Zui pipelines
//! that read Suricata's `eve.json` read Osprey's too.

use crate::community_id::community_id_v1;
use crate::detect::Alert;
use crate::flow::table::AppEvent;
use crate::flow::Flow;
use crate::model::AnomalyRow;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Suricata's `proto` string for an IP protocol number.
pub fn proto_name(proto: u8) -> String {
    match proto {
        1 => "ICMP".into(),
        6 => "TCP".into(),
        17 => "UDP".into(),
        47 => "GRE".into(),
        50 => "ESP".into(),
        51 => "AH".into(),
        58 => "IPv6-ICMP".into(),
        132 => "SCTP".into(),
        n => n.to_string(),
    }
}

/// Suricata's timestamp form: `2009-11-24T21:27:09.534255+0000` (UTC).
pub fn timestamp(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let micros = ts_ns.rem_euclid(1_000_000_000) / 1000;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // i64 nanoseconds span the years 1677–2262: always four digits.
    // Digits go straight into a fixed buffer: this runs several times for
    // every EVE line, and `format!` (then a digit-by-digit `String`) was a
    // visible share of the EVE thread.
    let mut out = *b"0000-00-00T00:00:00.000000+0000";
    for (v, end, width) in [
        (y, 4, 4),
        (i64::from(m), 7, 2),
        (i64::from(d), 10, 2),
        (sod / 3600, 13, 2),
        (sod % 3600 / 60, 16, 2),
        (sod % 60, 19, 2),
        (micros, 26, 6),
    ] {
        let mut v = v;
        for b in out[end - width..end].iter_mut().rev() {
            *b = b'0' + v.rem_euclid(10) as u8;
            v /= 10;
        }
    }
    // Only ASCII digits and separators were written.
    std::str::from_utf8(&out)
        .map(str::to_owned)
        .unwrap_or_default()
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn tcp_flags_hex(f: u8) -> String {
    format!("{f:02x}")
}

/// The flow's Community ID (client → server tuple; ICMP uses type/code).
pub fn flow_community_id(f: &Flow) -> String {
    let (sp, dp) = match (f.key.proto, f.icmp_type_code) {
        (1 | 58, Some((t, c))) => (u16::from(t), u16::from(c)),
        _ => (f.client.port, f.server.port),
    };
    community_id_v1(f.client.ip, f.server.ip, f.key.proto, sp, dp)
}

/// EVE `flow` event. Field order and names follow Suricata's `eve.json`.
#[derive(Debug, Serialize)]
pub struct FlowEvent<'a> {
    /// Flow start, Suricata's timestamp form.
    pub timestamp: String,
    /// Flow id.
    pub flow_id: u64,
    /// Always `flow`.
    pub event_type: &'static str,
    /// VLAN ids, outermost first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan: Option<&'a [u16]>,
    /// Client address.
    pub src_ip: IpAddr,
    /// Client port (absent for ICMP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Server address.
    pub dest_ip: IpAddr,
    /// Server port (absent for ICMP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// `TCP`, `UDP`, `ICMP`, `IPv6-ICMP`, …
    pub proto: String,
    /// ICMP type of the first packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// ICMP code of the first packet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_code: Option<u8>,
    /// Application protocol.
    pub app_proto: &'a str,
    /// The flow that announced this one (FTP data connections).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<u64>,
    /// Overlay context of a decapsulated flow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<TunnelInfo>,
    /// Counters and state.
    pub flow: FlowInfo,
    /// TCP summary (TCP flows only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<TcpInfo>,
    /// Community ID v1.
    pub community_id: &'a str,
}

/// EVE `flow.tunnel` (Osprey extension).
#[derive(Debug, Serialize)]
pub struct TunnelInfo {
    /// `vxlan`, `geneve`, `gre`, `ipip`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// VNI or GRE key.
    pub vni: u32,
    /// Outer endpoints, lower first.
    pub outer_ips: [IpAddr; 2],
}

/// EVE `flow.flow`.
#[derive(Debug, Serialize)]
pub struct FlowInfo {
    /// Packets client → server.
    pub pkts_toserver: u64,
    /// Packets server → client.
    pub pkts_toclient: u64,
    /// Bytes client → server.
    pub bytes_toserver: u64,
    /// Bytes server → client.
    pub bytes_toclient: u64,
    /// First packet.
    pub start: String,
    /// Last packet.
    pub end: String,
    /// Whole seconds between first and last packet.
    pub age: i64,
    /// `new`, `established`, `closed`.
    pub state: &'static str,
    /// Why the record was written.
    pub reason: &'static str,
    /// Whether the flow raised an alert.
    pub alerted: bool,
}

/// EVE `flow.tcp`.
#[derive(Debug, Serialize)]
pub struct TcpInfo {
    /// Union of flags, hex.
    pub tcp_flags: String,
    /// Flags client → server, hex.
    pub tcp_flags_ts: String,
    /// Flags server → client, hex.
    pub tcp_flags_tc: String,
    /// SYN seen.
    pub syn: bool,
    /// FIN seen.
    pub fin: bool,
    /// RST seen.
    pub rst: bool,
    /// PSH seen.
    pub psh: bool,
    /// ACK seen.
    pub ack: bool,
    /// TCP state at the end.
    pub state: &'static str,
}

impl FlowEvent<'_> {
    /// Appends the event as one JSON object, byte for byte what
    /// `serde_json::to_writer` writes for it (same order, no spaces),
    /// without serde: the EVE thread writes one per flow, and the generic
    /// path (string escaping, formatter calls) was its largest cost.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":");
        json_str(out, &self.timestamp);
        out.extend_from_slice(b",\"flow_id\":");
        json_u64(out, self.flow_id);
        out.extend_from_slice(b",\"event_type\":");
        json_str(out, self.event_type);
        if let Some(v) = self.vlan {
            out.extend_from_slice(b",\"vlan\":[");
            for (i, id) in v.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_u64(out, u64::from(*id));
            }
            out.push(b']');
        }
        out.extend_from_slice(b",\"src_ip\":");
        json_ip(out, self.src_ip);
        if let Some(p) = self.src_port {
            out.extend_from_slice(b",\"src_port\":");
            json_u64(out, u64::from(p));
        }
        out.extend_from_slice(b",\"dest_ip\":");
        json_ip(out, self.dest_ip);
        if let Some(p) = self.dest_port {
            out.extend_from_slice(b",\"dest_port\":");
            json_u64(out, u64::from(p));
        }
        out.extend_from_slice(b",\"proto\":");
        json_str(out, &self.proto);
        if let Some(t) = self.icmp_type {
            out.extend_from_slice(b",\"icmp_type\":");
            json_u64(out, u64::from(t));
        }
        if let Some(c) = self.icmp_code {
            out.extend_from_slice(b",\"icmp_code\":");
            json_u64(out, u64::from(c));
        }
        out.extend_from_slice(b",\"app_proto\":");
        json_str(out, self.app_proto);
        if let Some(p) = self.parent_id {
            out.extend_from_slice(b",\"parent_id\":");
            json_u64(out, p);
        }
        if let Some(t) = &self.tunnel {
            out.extend_from_slice(b",\"tunnel\":{\"type\":");
            json_str(out, t.kind);
            out.extend_from_slice(b",\"vni\":");
            json_u64(out, u64::from(t.vni));
            out.extend_from_slice(b",\"outer_ips\":[");
            json_ip(out, t.outer_ips[0]);
            out.push(b',');
            json_ip(out, t.outer_ips[1]);
            out.extend_from_slice(b"]}");
        }
        let f = &self.flow;
        out.extend_from_slice(b",\"flow\":{\"pkts_toserver\":");
        json_u64(out, f.pkts_toserver);
        out.extend_from_slice(b",\"pkts_toclient\":");
        json_u64(out, f.pkts_toclient);
        out.extend_from_slice(b",\"bytes_toserver\":");
        json_u64(out, f.bytes_toserver);
        out.extend_from_slice(b",\"bytes_toclient\":");
        json_u64(out, f.bytes_toclient);
        out.extend_from_slice(b",\"start\":");
        json_str(out, &f.start);
        out.extend_from_slice(b",\"end\":");
        json_str(out, &f.end);
        out.extend_from_slice(b",\"age\":");
        if f.age < 0 {
            out.push(b'-');
        }
        json_u64(out, f.age.unsigned_abs());
        out.extend_from_slice(b",\"state\":");
        json_str(out, f.state);
        out.extend_from_slice(b",\"reason\":");
        json_str(out, f.reason);
        out.extend_from_slice(b",\"alerted\":");
        json_bool(out, f.alerted);
        out.push(b'}');
        if let Some(t) = &self.tcp {
            out.extend_from_slice(b",\"tcp\":{\"tcp_flags\":");
            json_str(out, &t.tcp_flags);
            out.extend_from_slice(b",\"tcp_flags_ts\":");
            json_str(out, &t.tcp_flags_ts);
            out.extend_from_slice(b",\"tcp_flags_tc\":");
            json_str(out, &t.tcp_flags_tc);
            for (name, v) in [
                (&b",\"syn\":"[..], t.syn),
                (b",\"fin\":", t.fin),
                (b",\"rst\":", t.rst),
                (b",\"psh\":", t.psh),
                (b",\"ack\":", t.ack),
            ] {
                out.extend_from_slice(name);
                json_bool(out, v);
            }
            out.extend_from_slice(b",\"state\":");
            json_str(out, t.state);
            out.push(b'}');
        }
        out.extend_from_slice(b",\"community_id\":");
        json_str(out, self.community_id);
        out.push(b'}');
    }
}

/// A JSON string: bytes that need no escaping are copied, anything else
/// goes through serde_json.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f)
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// A decimal integer.
fn json_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn json_bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// An address as a JSON string (its `Display` form, as serde writes it).
fn json_ip(out: &mut Vec<u8>, ip: IpAddr) {
    use std::io::Write;
    out.push(b'"');
    let _ = write!(out, "{ip}");
    out.push(b'"');
}

/// The `flow` event of an ended flow.
pub fn flow_event<'a>(f: &'a Flow, community_id: &'a str) -> FlowEvent<'a> {
    let icmp = matches!(f.key.proto, 1 | 58);
    let ports = |p: u16| (!icmp).then_some(p);
    let icmp_tc = f.icmp_type_code.filter(|_| icmp);
    let vlans = usize::from(f.key.vlans.len.min(2));
    let all = f.tcp_flags[0] | f.tcp_flags[1];
    FlowEvent {
        timestamp: timestamp(f.first_ts_ns),
        flow_id: f.id,
        event_type: "flow",
        vlan: (vlans > 0).then(|| &f.key.vlans.ids[..vlans]),
        src_ip: f.client.ip,
        src_port: ports(f.client.port),
        dest_ip: f.server.ip,
        dest_port: ports(f.server.port),
        proto: proto_name(f.key.proto),
        icmp_type: icmp_tc.map(|t| t.0),
        icmp_code: icmp_tc.map(|t| t.1),
        app_proto: f.app_proto,
        parent_id: f.parent_id,
        tunnel: f.key.tunnel.map(|t| TunnelInfo {
            kind: crate::store::tunnel_name(t.kind),
            vni: t.vni,
            outer_ips: [t.outer_lo, t.outer_hi],
        }),
        flow: FlowInfo {
            pkts_toserver: f.pkts[0],
            pkts_toclient: f.pkts[1],
            bytes_toserver: f.bytes[0],
            bytes_toclient: f.bytes[1],
            start: timestamp(f.first_ts_ns),
            end: timestamp(f.last_ts_ns),
            age: (f.last_ts_ns - f.first_ts_ns).max(0) / 1_000_000_000,
            state: f.state_name(),
            reason: f.end_reason.name(),
            alerted: false,
        },
        tcp: (f.key.proto == 6).then(|| TcpInfo {
            tcp_flags: tcp_flags_hex(all),
            tcp_flags_ts: tcp_flags_hex(f.tcp_flags[0]),
            tcp_flags_tc: tcp_flags_hex(f.tcp_flags[1]),
            syn: all & 0x02 != 0,
            fin: all & 0x01 != 0,
            rst: all & 0x04 != 0,
            psh: all & 0x08 != 0,
            ack: all & 0x10 != 0,
            state: f.tcp_state.name(),
        }),
        community_id,
    }
}

/// EVE `anomaly` event.
#[derive(Debug, Serialize)]
pub struct AnomalyEvent {
    /// When.
    pub timestamp: String,
    /// Flow, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// Always `anomaly`.
    pub event_type: &'static str,
    /// Packet source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    /// Packet source port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Packet destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<IpAddr>,
    /// Packet destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// Protocol name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// Frame number (Suricata's `pcap_cnt`).
    pub pcap_cnt: u64,
    /// What was found.
    pub anomaly: AnomalyInfo,
}

/// EVE `anomaly.anomaly`.
#[derive(Debug, Serialize)]
pub struct AnomalyInfo {
    /// `decode` or `stream`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Event name.
    pub event: &'static str,
}

/// The `anomaly` event of an anomaly row.
pub fn anomaly_event(a: &AnomalyRow) -> AnomalyEvent {
    let t = a.tuple.as_ref();
    AnomalyEvent {
        timestamp: timestamp(a.ts_ns),
        flow_id: a.flow_id,
        event_type: "anomaly",
        src_ip: t.map(|t| t.src_ip),
        src_port: t.map(|t| t.src_port),
        dest_ip: t.map(|t| t.dest_ip),
        dest_port: t.map(|t| t.dest_port),
        proto: t.map(|t| proto_name(t.proto)),
        pcap_cnt: a.pkt_no,
        anomaly: AnomalyInfo {
            kind: a.kind.name(),
            event: a.event,
        },
    }
}

/// An application-layer EVE event (`http`, `dns`): the flow's tuple and
/// the record (already serialised) under the key named by its event type,
/// as Suricata writes them.
pub struct AppEventLine<'a>(pub &'a AppEvent, pub &'a serde_json::value::RawValue);

impl Serialize for AppEventLine<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let e = self.0;
        let kind = e.record.event_type();
        let ports = !matches!(e.proto, 1 | 58);
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("timestamp", &timestamp(e.ts_ns))?;
        m.serialize_entry("flow_id", &e.flow_id)?;
        m.serialize_entry("event_type", kind)?;
        m.serialize_entry("src_ip", &e.client.ip)?;
        if ports {
            m.serialize_entry("src_port", &e.client.port)?;
        }
        m.serialize_entry("dest_ip", &e.server.ip)?;
        if ports {
            m.serialize_entry("dest_port", &e.server.port)?;
        }
        m.serialize_entry("proto", &proto_name(e.proto))?;
        m.serialize_entry(kind, self.1)?;
        m.end()
    }
}

impl AppEventLine<'_> {
    /// Appends the event as one JSON object, byte for byte what its
    /// `Serialize` writes (see [`FlowEvent::write_json`] for why).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let e = self.0;
        let kind = e.record.event_type();
        let ports = !matches!(e.proto, 1 | 58);
        out.extend_from_slice(b"{\"timestamp\":");
        json_str(out, &timestamp(e.ts_ns));
        out.extend_from_slice(b",\"flow_id\":");
        json_u64(out, e.flow_id);
        out.extend_from_slice(b",\"event_type\":");
        json_str(out, kind);
        out.extend_from_slice(b",\"src_ip\":");
        json_ip(out, e.client.ip);
        if ports {
            out.extend_from_slice(b",\"src_port\":");
            json_u64(out, u64::from(e.client.port));
        }
        out.extend_from_slice(b",\"dest_ip\":");
        json_ip(out, e.server.ip);
        if ports {
            out.extend_from_slice(b",\"dest_port\":");
            json_u64(out, u64::from(e.server.port));
        }
        out.extend_from_slice(b",\"proto\":");
        json_str(out, &proto_name(e.proto));
        out.push(b',');
        json_str(out, kind);
        out.push(b':');
        out.extend_from_slice(self.1.get().as_bytes());
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event<'a>(vlan: Option<&'a [u16]>, tcp: bool, app: &'a str, cid: &'a str) -> FlowEvent<'a> {
        FlowEvent {
            timestamp: timestamp(1_700_000_000_123_456_000),
            flow_id: 42,
            event_type: "flow",
            vlan,
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: tcp.then_some(40000),
            dest_ip: "2001:db8::1".parse().unwrap(),
            dest_port: tcp.then_some(443),
            proto: proto_name(if tcp { 6 } else { 58 }),
            icmp_type: (!tcp).then_some(128),
            icmp_code: (!tcp).then_some(0),
            app_proto: app,
            parent_id: tcp.then_some(7),
            tunnel: vlan.map(|_| TunnelInfo {
                kind: "vxlan",
                vni: 4096,
                outer_ips: ["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()],
            }),
            flow: FlowInfo {
                pkts_toserver: 0,
                pkts_toclient: u64::MAX,
                bytes_toserver: 1,
                bytes_toclient: 1_234_567_890,
                start: timestamp(0),
                end: timestamp(-1),
                age: -3,
                state: "established",
                reason: "timeout",
                alerted: false,
            },
            tcp: tcp.then(|| TcpInfo {
                tcp_flags: tcp_flags_hex(0x1b),
                tcp_flags_ts: tcp_flags_hex(0x02),
                tcp_flags_tc: tcp_flags_hex(0x12),
                syn: true,
                fin: true,
                rst: false,
                psh: true,
                ack: true,
                state: "closed",
            }),
            community_id: cid,
        }
    }

    #[test]
    fn app_event_lines_are_written_as_serde_writes_them() {
        use crate::dpi::parser::AppRecord;
        use crate::dpi::records::HttpTx;
        use crate::flow::key::Endpoint;
        for (proto, port) in [(6u8, 80u16), (58, 0)] {
            let e = AppEvent {
                flow_id: 9,
                ts_ns: 1_700_000_000_000_001_000,
                client: Endpoint {
                    ip: "10.1.2.3".parse().unwrap(),
                    port: 51000,
                },
                server: Endpoint {
                    ip: "fe80::1".parse().unwrap(),
                    port,
                },
                proto,
                record: AppRecord::Http(HttpTx {
                    url: "/a?b=\"c\"".into(),
                    http_method: "GET".into(),
                    ..HttpTx::default()
                }),
            };
            let raw = serde_json::value::to_raw_value(&e.record).unwrap();
            let line = AppEventLine(&e, &raw);
            let mut ours = Vec::new();
            line.write_json(&mut ours);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&line).unwrap()
            );
        }
    }

    #[test]
    fn flow_events_are_written_as_serde_writes_them() {
        for ev in [
            event(None, true, "http", "1:abc+/="),
            event(Some(&[10, 20]), false, "unknown", "1:x"),
            event(Some(&[7]), true, "we\"ird\\\n\u{e9}", "1:\u{1}"),
        ] {
            let mut ours = Vec::new();
            ev.write_json(&mut ours);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&ev).unwrap()
            );
        }
    }

    #[test]
    fn timestamps_match_suricata_form() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            timestamp(1_259_098_029_534_255_000),
            "2009-11-24T21:27:09.534255+0000"
        );
        assert_eq!(
            timestamp(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000+0000"
        );
        assert_eq!(timestamp(-1_000), "1969-12-31T23:59:59.999999+0000");
        assert_eq!(timestamp(i64::MAX), "2262-04-11T23:47:16.854775+0000");
        assert_eq!(timestamp(i64::MIN), "1677-09-21T00:12:43.145224+0000");
    }
}

/// EVE `alert` event (Suricata's shape: `alert.signature_id`,
/// `signature`, `category`, `severity`, `metadata` as lists of strings),
/// with Osprey's evidence: first and last evidence times, how many
/// occurrences were folded in, and the frames and flows that prove it.
#[derive(Debug, Serialize)]
pub struct AlertEvent<'a> {
    /// First evidence time.
    pub timestamp: String,
    /// The flow the alert is about, when one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<u64>,
    /// Always `alert`.
    pub event_type: &'static str,
    /// Source address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_ip: Option<IpAddr>,
    /// Source port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src_port: Option<u16>,
    /// Destination address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_ip: Option<IpAddr>,
    /// Destination port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dest_port: Option<u16>,
    /// IP protocol name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    /// First evidence frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pcap_cnt: Option<u64>,
    /// The alert.
    pub alert: AlertInfo<'a>,
}

/// EVE `alert` object.
#[derive(Debug, Serialize)]
pub struct AlertInfo<'a> {
    /// Osprey only detects: always `allowed`.
    pub action: &'static str,
    /// Generator id (1, like Suricata's rules).
    pub gid: u32,
    /// Rule id.
    pub signature_id: u32,
    /// Rule revision.
    pub rev: u32,
    /// Human sentence.
    pub signature: &'a str,
    /// Category name.
    pub category: &'static str,
    /// 1 high … 3 low.
    pub severity: u8,
    /// Details as lists of strings (Suricata's metadata form).
    pub metadata: BTreeMap<&'static str, [&'a str; 1]>,
    /// Case alert id (`osprey export --alert ID`).
    pub alert_id: u64,
    /// First evidence time.
    pub first_seen: String,
    /// Last evidence time.
    pub last_seen: String,
    /// Occurrences folded into the alert.
    pub count: u64,
    /// Evidence: frame numbers of the case's packet index and flow ids.
    pub evidence: Evidence<'a>,
}

/// Evidence references.
#[derive(Debug, Serialize)]
pub struct Evidence<'a> {
    /// Frame numbers (first ones).
    pub packets: &'a [u64],
    /// Flow ids (first ones).
    pub flows: &'a [u64],
}

/// The `alert` event of alert `id`.
pub fn alert_event(id: u64, a: &Alert) -> AlertEvent<'_> {
    let ports = !a.proto.is_some_and(|p| matches!(p, 1 | 58));
    AlertEvent {
        timestamp: timestamp(a.ts_first_ns),
        flow_id: a.flow_id,
        event_type: "alert",
        src_ip: a.src.map(|s| s.ip),
        src_port: a.src.and_then(|s| s.port).filter(|_| ports),
        dest_ip: a.dst.map(|s| s.ip),
        dest_port: a.dst.and_then(|s| s.port).filter(|_| ports),
        proto: a.proto.map(proto_name),
        pcap_cnt: a.evidence_packets.first().copied(),
        alert: AlertInfo {
            action: "allowed",
            gid: 1,
            signature_id: a.signature_id,
            rev: 1,
            signature: &a.signature,
            category: a.category.name(),
            severity: a.severity,
            metadata: a.metadata.iter().map(|(k, v)| (*k, [v.as_str()])).collect(),
            alert_id: id,
            first_seen: timestamp(a.ts_first_ns),
            last_seen: timestamp(a.ts_last_ns),
            count: a.count,
            evidence: Evidence {
                packets: &a.evidence_packets,
                flows: &a.evidence_flows,
            },
        },
    }
}

/// An alert's metadata as a JSON object of strings (the case's
/// `alerts.metadata` column).
pub fn alert_metadata_json(a: &Alert) -> String {
    let m: BTreeMap<&str, &str> = a.metadata.iter().map(|(k, v)| (*k, v.as_str())).collect();
    serde_json::to_string(&m).unwrap_or_else(|_| "{}".into())
}
