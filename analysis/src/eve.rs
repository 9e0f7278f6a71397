//! EVE JSON lines with Suricata's field names, so SIEM and Zui pipelines
//! that read Suricata's `eve.json` read Osprey's too.

use crate::community_id::community_id_v1;
use crate::flow::Flow;
use crate::model::AnomalyRow;
use serde_json::{json, Map, Value};

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
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+0000",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
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

/// One `flow` event for an ended flow.
pub fn flow_event(f: &Flow, community_id: &str) -> Value {
    let mut ev = Map::new();
    ev.insert("timestamp".into(), json!(timestamp(f.first_ts_ns)));
    ev.insert("flow_id".into(), json!(f.id));
    ev.insert("event_type".into(), json!("flow"));
    if f.key.vlans.len > 0 {
        let ids: Vec<u16> = f.key.vlans.ids[..usize::from(f.key.vlans.len.min(2))].to_vec();
        ev.insert("vlan".into(), json!(ids));
    }
    ev.insert("src_ip".into(), json!(f.client.ip.to_string()));
    let icmp = matches!(f.key.proto, 1 | 58);
    if !icmp {
        ev.insert("src_port".into(), json!(f.client.port));
    }
    ev.insert("dest_ip".into(), json!(f.server.ip.to_string()));
    if !icmp {
        ev.insert("dest_port".into(), json!(f.server.port));
    }
    ev.insert("proto".into(), json!(proto_name(f.key.proto)));
    if let (true, Some((t, c))) = (icmp, f.icmp_type_code) {
        ev.insert("icmp_type".into(), json!(t));
        ev.insert("icmp_code".into(), json!(c));
    }
    ev.insert("app_proto".into(), json!(f.app_proto));
    if let Some(t) = &f.key.tunnel {
        ev.insert(
            "tunnel".into(),
            json!({
                "type": crate::store::tunnel_name(t.kind),
                "vni": t.vni,
                "outer_ips": [t.outer_lo.to_string(), t.outer_hi.to_string()],
            }),
        );
    }
    let age = (f.last_ts_ns - f.first_ts_ns).max(0) / 1_000_000_000;
    ev.insert(
        "flow".into(),
        json!({
            "pkts_toserver": f.pkts[0],
            "pkts_toclient": f.pkts[1],
            "bytes_toserver": f.bytes[0],
            "bytes_toclient": f.bytes[1],
            "start": timestamp(f.first_ts_ns),
            "end": timestamp(f.last_ts_ns),
            "age": age,
            "state": f.state_name(),
            "reason": f.end_reason.name(),
            "alerted": false,
        }),
    );
    if f.key.proto == 6 {
        let all = f.tcp_flags[0] | f.tcp_flags[1];
        ev.insert(
            "tcp".into(),
            json!({
                "tcp_flags": tcp_flags_hex(all),
                "tcp_flags_ts": tcp_flags_hex(f.tcp_flags[0]),
                "tcp_flags_tc": tcp_flags_hex(f.tcp_flags[1]),
                "syn": all & 0x02 != 0,
                "fin": all & 0x01 != 0,
                "rst": all & 0x04 != 0,
                "psh": all & 0x08 != 0,
                "ack": all & 0x10 != 0,
                "state": f.tcp_state.name(),
            }),
        );
    }
    ev.insert("community_id".into(), json!(community_id));
    Value::Object(ev)
}

/// One `anomaly` event.
pub fn anomaly_event(a: &AnomalyRow) -> Value {
    let mut ev = Map::new();
    ev.insert("timestamp".into(), json!(timestamp(a.ts_ns)));
    if let Some(id) = a.flow_id {
        ev.insert("flow_id".into(), json!(id));
    }
    ev.insert("event_type".into(), json!("anomaly"));
    if let Some(t) = &a.tuple {
        ev.insert("src_ip".into(), json!(t.src_ip.to_string()));
        ev.insert("src_port".into(), json!(t.src_port));
        ev.insert("dest_ip".into(), json!(t.dest_ip.to_string()));
        ev.insert("dest_port".into(), json!(t.dest_port));
        ev.insert("proto".into(), json!(proto_name(t.proto)));
    }
    ev.insert("pcap_cnt".into(), json!(a.pkt_no));
    ev.insert(
        "anomaly".into(),
        json!({ "type": a.kind.name(), "event": a.event }),
    );
    Value::Object(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
