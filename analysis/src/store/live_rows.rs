//! Rows only live capture produces: per-interface capture counters, frames
//! also seen on a second interface, the IP → workload map over time, and
//! the flows still open (for the live view).

use super::query::FlowSummary;
use crate::flow::Flow;
use rusqlite::{params, Transaction};

/// Counters of one captured interface (`capture_stats` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureStatRow {
    /// The `captures` row of the interface.
    pub capture_id: u32,
    /// Interface name.
    pub iface: String,
    /// Who is behind it (pod, or netns name), when known.
    pub label: Option<String>,
    /// Frames libpcap delivered.
    pub delivered: u64,
    /// Frames the kernel saw (includes its drops).
    pub kernel_received: u64,
    /// Frames the kernel dropped (ring full).
    pub kernel_drops: u64,
    /// Frames the interface or driver dropped.
    pub if_drops: u64,
    /// Frames Osprey dropped (queue full).
    pub queue_drops: u64,
    /// Frames not counted again because another interface had them.
    pub duplicates: u64,
}

/// A frame also seen on another interface (`duplicate_frames` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DuplicateRow {
    /// The frame kept (its packet number).
    pub pkt_no: u64,
    /// The capture (interface) that saw it again.
    pub capture_id: u32,
    /// When that interface saw it.
    pub ts_ns: i64,
}

/// Who had an IP address during a time span (`workloads` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadRow {
    /// IP address.
    pub ip: String,
    /// Pod name, else the network namespace's name.
    pub name: String,
    /// Kubernetes namespace, when known.
    pub namespace: Option<String>,
    /// Container id, when known.
    pub container: Option<String>,
    /// Pod UID, when known.
    pub pod_uid: Option<String>,
    /// Host-side interface in front of it.
    pub iface: String,
    /// First time the address was seen held by it.
    pub first_ns: i64,
    /// Last time it was.
    pub last_ns: i64,
}

/// Live-capture rows for the store.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveRows {
    /// Final counters, one row per interface.
    CaptureStats(Vec<CaptureStatRow>),
    /// Frames seen on a second interface.
    Duplicates(Vec<DuplicateRow>),
    /// Workload spans: the ones that closed since the last such rows
    /// (each written once), and the ones still open, up to now (replacing
    /// the open ones written before).
    Workloads {
        /// Closed since the last rows.
        closed: Vec<WorkloadRow>,
        /// Open so far.
        open: Vec<WorkloadRow>,
    },
    /// The flows open now, replacing the `active_flows` rows written
    /// before (empty at the end of a run: every flow ended).
    ActiveFlows(Vec<FlowSummary>),
    /// The alerts open now (more evidence may fold in), replacing the
    /// `active_alerts` rows written before (empty at the end of a run).
    ActiveAlerts(Vec<crate::detect::Alert>),
}

impl FlowSummary {
    /// What a flow still in the table looks like so far.
    pub fn of_open(f: &Flow) -> FlowSummary {
        FlowSummary {
            id: f.id,
            community_id: crate::eve::flow_community_id(f),
            proto: f.key.proto,
            src_ip: f.client.ip.to_string(),
            src_port: f.client.port,
            dest_ip: f.server.ip.to_string(),
            dest_port: f.server.port,
            app_proto: f.app_proto.to_string(),
            pkts_toserver: f.pkts[0],
            pkts_toclient: f.pkts[1],
            bytes_toserver: f.bytes[0],
            bytes_toclient: f.bytes[1],
            start_ns: f.first_ts_ns,
            end_ns: f.last_ts_ns,
            state: f.state_name().to_string(),
            vlan: super::writer::vlan_text(f),
            tunnel: super::writer::tunnel_text(f),
        }
    }
}

/// Writes live rows; `alerts_so_far` is the number of alerts the case
/// holds, after which open alerts are numbered (provisionally: the ids
/// they would get if they closed now, in this order); `closed_spans` counts
/// the closed `workloads` rows, which come first (rowids `1..=n`: rows
/// are only appended after the open ones are deleted).
pub(super) fn write(
    tx: &Transaction<'_>,
    rows: &LiveRows,
    alerts_so_far: u64,
    closed_spans: &mut u64,
) -> rusqlite::Result<()> {
    match rows {
        LiveRows::ActiveAlerts(alerts) => {
            tx.execute("DELETE FROM active_alerts", [])?;
            for (i, a) in alerts.iter().enumerate() {
                super::writer::insert_alert(tx, "active_alerts", alerts_so_far + 1 + i as u64, a)?;
            }
        }
        LiveRows::CaptureStats(rows) => {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO capture_stats(capture_id, iface, label, delivered, kernel_received, kernel_drops, if_drops, queue_drops, duplicates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            for r in rows {
                st.execute(params![
                    r.capture_id,
                    r.iface,
                    r.label,
                    r.delivered as i64,
                    r.kernel_received as i64,
                    r.kernel_drops as i64,
                    r.if_drops as i64,
                    r.queue_drops as i64,
                    r.duplicates as i64
                ])?;
            }
        }
        LiveRows::Duplicates(rows) => {
            let mut st = tx.prepare_cached(
                "INSERT INTO duplicate_frames(pkt_no, capture_id, ts_ns) VALUES (?1, ?2, ?3)",
            )?;
            for r in rows {
                st.execute(params![r.pkt_no as i64, r.capture_id, r.ts_ns])?;
            }
        }
        LiveRows::ActiveFlows(rows) => {
            tx.execute("DELETE FROM active_flows", [])?;
            let mut st = tx.prepare_cached(
                "INSERT INTO active_flows(id, community_id, proto, src_ip, src_port, dest_ip, dest_port, vlan, tunnel, app_proto, start_ns, end_ns, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?;
            for f in rows {
                st.execute(params![
                    f.id as i64,
                    f.community_id,
                    f.proto,
                    f.src_ip,
                    f.src_port,
                    f.dest_ip,
                    f.dest_port,
                    f.vlan,
                    f.tunnel,
                    f.app_proto,
                    f.start_ns,
                    f.end_ns,
                    f.pkts_toserver as i64,
                    f.pkts_toclient as i64,
                    f.bytes_toserver as i64,
                    f.bytes_toclient as i64,
                    f.state,
                ])?;
            }
        }
        LiveRows::Workloads { closed, open } => {
            tx.execute(
                "DELETE FROM workloads WHERE rowid > ?1",
                [*closed_spans as i64],
            )?;
            *closed_spans += closed.len() as u64;
            let mut st = tx.prepare_cached(
                "INSERT INTO workloads(ip, name, namespace, container, pod_uid, iface, first_ns, last_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in closed.iter().chain(open) {
                st.execute(params![
                    r.ip,
                    r.name,
                    r.namespace,
                    r.container,
                    r.pod_uid,
                    r.iface,
                    r.first_ns,
                    r.last_ns
                ])?;
            }
        }
    }
    Ok(())
}

/// Alerts that just closed (`closed`, with their ids; the case now holds
/// `alerts_so_far`) leave the open ones, and the open ones left are
/// numbered after them again, so that no id is both closed and open until
/// the next snapshot.
pub(super) fn close_open_alerts(
    tx: &Transaction<'_>,
    closed: &[(u64, crate::detect::Alert)],
    alerts_so_far: u64,
) -> rusqlite::Result<()> {
    let open: i64 = tx.query_row("SELECT count(*) FROM active_alerts", [], |r| r.get(0))?;
    if open == 0 {
        return Ok(());
    }
    let mut gone = tx.prepare_cached(
        "DELETE FROM active_alerts WHERE category = ?1 AND signature_id = ?2 AND ts_ns = ?3 AND src_ip IS ?4 AND src_port IS ?5 AND dest_ip IS ?6 AND dest_port IS ?7",
    )?;
    for (_, a) in closed {
        let (src_ip, src_port) = super::writer::side_columns(a.src);
        let (dest_ip, dest_port) = super::writer::side_columns(a.dst);
        gone.execute(params![
            a.category.name(),
            a.signature_id,
            a.ts_first_ns,
            src_ip,
            src_port,
            dest_ip,
            dest_port,
        ])?;
    }
    let ids: Vec<i64> = tx
        .prepare("SELECT id FROM active_alerts ORDER BY id")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    // Through negative ids: a new id may still be held by another row.
    let mut renumber = tx.prepare("UPDATE active_alerts SET id = ?1 WHERE id = ?2")?;
    for (i, id) in ids.iter().enumerate() {
        renumber.execute([-(i as i64) - 1, *id])?;
    }
    tx.execute(
        "UPDATE active_alerts SET id = ?1 - id",
        [alerts_so_far as i64],
    )?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn flow(conn: &Connection, id: i64, src: &str, dst: &str, start: i64, end: i64) {
        conn.execute(
            "INSERT INTO flows(id, community_id, proto, src_ip, src_port, dest_ip, dest_port, app_proto, start_ns, end_ns, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, state, reason, anomalies, stream_gaps, overlap_conflicts) VALUES (?1, '', 6, ?2, 40000, ?3, 80, 'http', ?4, ?5, 1, 1, 60, 60, 'closed', 'shutdown', 0, 0, 0)",
            params![id, src, dst, start, end],
        )
        .unwrap();
    }

    #[test]
    fn flows_name_the_workload_that_held_the_ip_at_their_time() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(crate::store::schema::CREATE).unwrap();
        let w = |ip: &str, name: &str, first_ns, last_ns| WorkloadRow {
            ip: ip.into(),
            name: name.into(),
            namespace: Some("shop".into()),
            container: Some(format!("c-{name}")),
            pod_uid: None,
            iface: format!("veth-{name}"),
            first_ns,
            last_ns,
        };
        let tx = conn.transaction().unwrap();
        write(
            &tx,
            &LiveRows::Workloads {
                closed: vec![
                    w("10.0.0.5", "web-1", 0, 100),
                    w("10.0.0.5", "cart-7", 150, 300),
                ],
                open: vec![w("10.0.0.9", "client", 0, 300)],
            },
            0,
            &mut 0,
        )
        .unwrap();
        tx.commit().unwrap();
        flow(&conn, 1, "10.0.0.9", "10.0.0.5", 10, 20);
        flow(&conn, 2, "10.0.0.9", "10.0.0.5", 200, 250);
        flow(&conn, 3, "10.0.0.9", "10.0.0.77", 200, 250);
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = conn
            .prepare("SELECT flow_id, src_workload, dest_workload, dest_container FROM flow_workloads ORDER BY flow_id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    1,
                    "client".into(),
                    Some("web-1".into()),
                    Some("c-web-1".into())
                ),
                (
                    2,
                    "client".into(),
                    Some("cart-7".into()),
                    Some("c-cart-7".into())
                ),
                (3, "client".into(), None, None),
            ]
        );
    }

    #[test]
    fn open_flows_are_listed_until_they_end_and_named_by_workload() {
        use crate::store::{CaseReader, StoreMsg, StoreWriter};
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("case");
        let mut w = StoreWriter::create_durable(&case).unwrap();
        let open = |id: u64, pkts: u64| FlowSummary {
            id,
            community_id: String::new(),
            proto: 1,
            src_ip: "10.0.0.9".into(),
            src_port: 0,
            dest_ip: "10.0.0.5".into(),
            dest_port: 0,
            app_proto: "unknown".into(),
            pkts_toserver: pkts,
            pkts_toclient: 0,
            bytes_toserver: 98 * pkts,
            bytes_toclient: 0,
            start_ns: 10,
            end_ns: 10 + pkts as i64,
            state: "new".into(),
            vlan: None,
            tunnel: None,
        };
        let span = |ip: &str, last_ns| WorkloadRow {
            ip: ip.into(),
            name: "web-1".into(),
            namespace: Some("shop".into()),
            container: None,
            pod_uid: None,
            iface: "veth1".into(),
            first_ns: 0,
            last_ns,
        };
        let spans = |last_ns| LiveRows::Workloads {
            closed: vec![],
            open: vec![span("10.0.0.5", last_ns)],
        };
        let live = |w: &mut StoreWriter, rows| w.write(StoreMsg::Live(rows)).unwrap();
        live(&mut w, LiveRows::ActiveFlows(vec![open(1, 3), open(2, 1)]));
        live(&mut w, spans(20));
        let listed = |case: &std::path::Path| {
            let r = CaseReader::open_running(case).unwrap();
            let flows: Vec<(u64, u64)> = r
                .flows()
                .unwrap()
                .iter()
                .map(|f| (f.id, f.pkts_toserver))
                .collect();
            let named: Vec<(u64, Option<String>)> = r
                .flow_workloads()
                .unwrap()
                .into_iter()
                .map(|f| (f.flow_id, f.dest.map(|d| d.name)))
                .collect();
            (flows, named)
        };
        assert_eq!(
            listed(&case),
            (
                vec![(1, 3), (2, 1)],
                vec![(1, Some("web-1".into())), (2, Some("web-1".into()))]
            )
        );
        // The next snapshot replaces the last: flow 1 grew, flow 2 is gone
        // from the open ones.
        live(&mut w, LiveRows::ActiveFlows(vec![open(1, 7)]));
        assert_eq!(listed(&case).0, vec![(1, 7)]);
        // Open spans are replaced too: one row, extended.
        live(&mut w, spans(40));
        let spans_kept = |case: &std::path::Path| -> Vec<(String, i64)> {
            let r = CaseReader::open_running(case).unwrap();
            let mut st = r
                .connection()
                .prepare("SELECT ip, last_ns FROM workloads ORDER BY ip")
                .unwrap();
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(spans_kept(&case), vec![("10.0.0.5".into(), 40)]);
        // A span that closed stays, written once; the open ones still
        // replace theirs.
        let moved = |closed: Vec<WorkloadRow>, open_last| LiveRows::Workloads {
            closed,
            open: vec![span("10.0.0.6", open_last)],
        };
        live(&mut w, moved(vec![span("10.0.0.5", 45)], 50));
        live(&mut w, moved(vec![], 60));
        assert_eq!(
            spans_kept(&case),
            vec![("10.0.0.5".into(), 45), ("10.0.0.6".into(), 60)]
        );
        // Ended flows win over a stale open row of the same id.
        let conn = rusqlite::Connection::open(case.join(".case.sqlite.partial")).unwrap();
        flow(&conn, 1, "10.0.0.9", "10.0.0.5", 10, 30);
        drop(conn);
        assert_eq!(listed(&case).0, vec![(1, 1)]);
        live(&mut w, LiveRows::ActiveFlows(Vec::new()));
        assert_eq!(listed(&case).0, vec![(1, 1)]);
    }

    #[test]
    fn open_alerts_follow_the_closed_ones_until_they_close() {
        use crate::detect::{Alert, Category};
        use crate::store::{CaseReader, StoreMsg, StoreWriter};
        let dir = tempfile::tempdir().unwrap();
        let case = dir.path().join("case");
        let mut w = StoreWriter::create_durable(&case).unwrap();
        let alert = |category, count| Alert {
            category,
            signature_id: 1,
            severity: 2,
            signature: "s".into(),
            ts_first_ns: 5,
            ts_last_ns: 5 + count as i64,
            flow_id: None,
            src: None,
            dst: None,
            proto: Some(6),
            evidence_packets: vec![1, 2],
            evidence_flows: vec![],
            count,
            metadata: vec![],
        };
        let listed = |case: &std::path::Path| -> Vec<(u64, String, u64, bool)> {
            CaseReader::open_running(case)
                .unwrap()
                .alerts()
                .unwrap()
                .into_iter()
                .map(|a| (a.id, a.category, a.count, a.open))
                .collect()
        };
        w.write(StoreMsg::Alerts(vec![alert(Category::PortScan, 1)]))
            .unwrap();
        let open = |w: &mut StoreWriter, alerts| {
            w.write(StoreMsg::Live(LiveRows::ActiveAlerts(alerts)))
                .unwrap()
        };
        open(&mut w, vec![alert(Category::SynFlood, 40)]);
        assert_eq!(
            listed(&case),
            vec![
                (1, "port_scan".into(), 1, false),
                (2, "syn_flood".into(), 40, true)
            ]
        );
        // The flood goes on: the next snapshot replaces the last.
        open(&mut w, vec![alert(Category::SynFlood, 90)]);
        assert_eq!(listed(&case)[1], (2, "syn_flood".into(), 90, true));
        // A tunnel starts beside it (ids 2 and 3), then the flood closes:
        // it is listed once, closed, and the tunnel follows it, before the
        // next snapshot too.
        open(
            &mut w,
            vec![alert(Category::SynFlood, 92), alert(Category::DnsTunnel, 3)],
        );
        w.write(StoreMsg::Alerts(vec![alert(Category::SynFlood, 95)]))
            .unwrap();
        let closed_flood = vec![
            (1, "port_scan".into(), 1, false),
            (2, "syn_flood".into(), 95, false),
        ];
        let mut with_tunnel = closed_flood.clone();
        with_tunnel.push((3, "dns_tunnel".into(), 3, true));
        assert_eq!(listed(&case), with_tunnel);
        // Nothing left open.
        open(&mut w, vec![]);
        assert_eq!(listed(&case), closed_flood);
    }
}
