//! The store thread's writer: batched inserts into SQLite and EVE lines.

use super::schema;
use super::StoreError;
use crate::eve;
use crate::flow::Flow;
use crate::model::{AnomalyRow, PacketRow};
use rusqlite::{params, Connection};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// A capture (input file) of the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRow {
    /// 1-based id (packet rows refer to it).
    pub id: u32,
    /// Path as given.
    pub path: String,
    /// `file` (or `interface` for live sources).
    pub kind: &'static str,
    /// File size.
    pub size_bytes: Option<u64>,
    /// Frames read.
    pub packets: u64,
    /// Captured bytes read.
    pub bytes: u64,
    /// First frame time.
    pub first_ts_ns: Option<i64>,
    /// Last frame time.
    pub last_ts_ns: Option<i64>,
    /// `complete` or `truncated`.
    pub status: &'static str,
    /// Warning text (truncation offset), when any.
    pub warning: Option<String>,
}

/// What the pipeline sends to the store thread. Batches, never single packets.
pub enum StoreMsg {
    /// Packet-index rows.
    Packets(Vec<PacketRow>),
    /// Ended flows.
    Flows(Vec<Flow>),
    /// Anomalies.
    Anomalies(Vec<AnomalyRow>),
    /// Final capture rows (written once at the end).
    Captures(Vec<CaptureRow>),
}

/// Row counts written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreSummary {
    /// Packet-index rows.
    pub packets: u64,
    /// Flow rows.
    pub flows: u64,
    /// Anomaly rows.
    pub anomalies: u64,
}

/// Owns the case database connection and the EVE writer.
pub struct StoreWriter {
    conn: Connection,
    eve: BufWriter<File>,
    tmp_db: PathBuf,
    tmp_eve: PathBuf,
    final_db: PathBuf,
    final_eve: PathBuf,
    summary: StoreSummary,
}

/// Rows per SQLite transaction.
const TXN_ROWS: usize = 65_536;

impl StoreWriter {
    /// Creates a new case in `case_dir` (under temporary names).
    pub fn create(case_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(case_dir)?;
        let final_db = case_dir.join("case.sqlite");
        let final_eve = case_dir.join("eve.jsonl");
        let tmp_db = case_dir.join(".case.sqlite.partial");
        let tmp_eve = case_dir.join(".eve.jsonl.partial");
        for p in [&tmp_db, &tmp_eve] {
            remove_db_files(p)?;
        }
        let conn = Connection::open(&tmp_db)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(schema::CREATE)?;
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?1), ('osprey_version', ?2)",
            params![
                schema::SCHEMA_VERSION.to_string(),
                env!("CARGO_PKG_VERSION")
            ],
        )?;
        let eve = BufWriter::with_capacity(1 << 20, File::create(&tmp_eve)?);
        Ok(StoreWriter {
            conn,
            eve,
            tmp_db,
            tmp_eve,
            final_db,
            final_eve,
            summary: StoreSummary::default(),
        })
    }

    /// Writes one message's rows in one transaction.
    pub fn write(&mut self, msg: StoreMsg) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        match msg {
            StoreMsg::Packets(rows) => {
                let mut st = tx.prepare_cached(
                    "INSERT INTO packets(pkt_no, flow_id, direction, capture_id, interface, data_offset, ts_ns, caplen, orig_len, link_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for chunk in rows.chunks(TXN_ROWS) {
                    for r in chunk {
                        st.execute(params![
                            r.pkt_no as i64,
                            r.flow_id.map(|v| v as i64),
                            r.direction,
                            r.capture_id,
                            r.interface,
                            r.data_offset as i64,
                            r.ts_ns,
                            r.caplen,
                            r.orig_len,
                            r.link_type
                        ])?;
                    }
                }
                self.summary.packets += rows.len() as u64;
            }
            StoreMsg::Flows(flows) => {
                let mut st = tx.prepare_cached(
                    "INSERT INTO flows(id, community_id, proto, src_ip, src_port, dest_ip, dest_port, vlan, tunnel, app_proto, start_ns, end_ns, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, state, reason, tcp_state, tcp_flags_ts, tcp_flags_tc, icmp_type, icmp_code, anomalies, stream_gaps, overlap_conflicts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)",
                )?;
                for f in &flows {
                    let cid = eve::flow_community_id(f);
                    let tcp = f.key.proto == 6;
                    let vlan = (f.key.vlans.len > 0).then(|| {
                        f.key.vlans.ids[..usize::from(f.key.vlans.len.min(2))]
                            .iter()
                            .map(u16::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    });
                    let tunnel = f.key.tunnel.map(|t| {
                        format!(
                            "{}:{}:{}-{}",
                            super::tunnel_name(t.kind),
                            t.vni,
                            t.outer_lo,
                            t.outer_hi
                        )
                    });
                    st.execute(params![
                        f.id as i64,
                        cid,
                        f.key.proto,
                        f.client.ip.to_string(),
                        f.client.port,
                        f.server.ip.to_string(),
                        f.server.port,
                        vlan,
                        tunnel,
                        f.app_proto,
                        f.first_ts_ns,
                        f.last_ts_ns,
                        f.pkts[0] as i64,
                        f.pkts[1] as i64,
                        f.bytes[0] as i64,
                        f.bytes[1] as i64,
                        f.state_name(),
                        f.end_reason.name(),
                        tcp.then(|| f.tcp_state.name()),
                        tcp.then_some(f.tcp_flags[0]),
                        tcp.then_some(f.tcp_flags[1]),
                        f.icmp_type_code.map(|t| t.0),
                        f.icmp_type_code.map(|t| t.1),
                        f.anomalies,
                        (f.stream.gaps[0] + f.stream.gaps[1]) as i64,
                        (f.stream.overlap_conflicts[0] + f.stream.overlap_conflicts[1]) as i64,
                    ])?;
                    serde_json::to_writer(&mut self.eve, &eve::flow_event(f, &cid))
                        .map_err(std::io::Error::from)?;
                    self.eve.write_all(b"\n")?;
                }
                self.summary.flows += flows.len() as u64;
            }
            StoreMsg::Anomalies(rows) => {
                let mut st = tx.prepare_cached(
                    "INSERT INTO anomalies(ts_ns, pkt_no, flow_id, type, event) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for a in &rows {
                    st.execute(params![
                        a.ts_ns,
                        a.pkt_no as i64,
                        a.flow_id.map(|v| v as i64),
                        a.kind.name(),
                        a.event
                    ])?;
                    serde_json::to_writer(&mut self.eve, &eve::anomaly_event(a))
                        .map_err(std::io::Error::from)?;
                    self.eve.write_all(b"\n")?;
                }
                self.summary.anomalies += rows.len() as u64;
            }
            StoreMsg::Captures(rows) => {
                let mut st = tx.prepare_cached(
                    "INSERT INTO captures(id, path, kind, size_bytes, packets, bytes, first_ts_ns, last_ts_ns, status, warning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )?;
                for c in &rows {
                    st.execute(params![
                        c.id,
                        c.path,
                        c.kind,
                        c.size_bytes.map(|v| v as i64),
                        c.packets as i64,
                        c.bytes as i64,
                        c.first_ts_ns,
                        c.last_ts_ns,
                        c.status,
                        c.warning
                    ])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Builds the indexes, marks the case complete, and moves the files
    /// into place.
    pub fn finish(mut self) -> Result<StoreSummary, StoreError> {
        self.conn.execute_batch(schema::INDEXES)?;
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES ('status', 'complete')",
            [],
        )?;
        self.conn
            .pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
        self.eve.flush()?;
        let StoreWriter {
            conn,
            eve,
            tmp_db,
            tmp_eve,
            final_db,
            final_eve,
            summary,
        } = self;
        conn.close().map_err(|(_, e)| e)?;
        drop(eve);
        remove_db_files(&final_db)?;
        std::fs::rename(&tmp_db, &final_db)?;
        std::fs::rename(&tmp_eve, &final_eve)?;
        remove_db_files(&tmp_db)?;
        Ok(summary)
    }

    /// Drops a failed case: removes the temporary files.
    pub fn abandon(self) {
        let StoreWriter {
            conn,
            eve,
            tmp_db,
            tmp_eve,
            ..
        } = self;
        drop(conn);
        drop(eve);
        // Best effort: a leftover .partial file never looks like a case.
        let _ = remove_db_files(&tmp_db);
        let _ = std::fs::remove_file(&tmp_eve);
    }
}

/// Removes a database file and its WAL/SHM companions, if present.
fn remove_db_files(db: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
