//! The store thread's writer: batched inserts into SQLite and EVE lines.

use super::eve_out::{EveMsg, EveOut};
use super::schema;
use super::StoreError;
use crate::eve;
use crate::flow::table::{AppEvent, FlowPackets};
use crate::flow::Flow;
use crate::model::{AnomalyRow, PacketRow};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};

/// A capture (input file) of the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRow {
    /// 1-based id (packet rows refer to it).
    pub id: u32,
    /// Path as given.
    pub path: String,
    /// `file`, `interface` (a live source), or `ring` (a file a live run
    /// stored its frames in; the packet index points there).
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

impl CaptureRow {
    /// A capture with nothing read yet.
    pub fn new(id: u32, path: String, kind: &'static str, size_bytes: Option<u64>) -> Self {
        CaptureRow {
            id,
            path,
            kind,
            size_bytes,
            packets: 0,
            bytes: 0,
            first_ts_ns: None,
            last_ts_ns: None,
            status: "complete",
            warning: None,
        }
    }

    /// Counts a frame read from (or stored in) this capture.
    pub fn count(&mut self, frame: &osprey_capture::RawFrame) {
        self.packets += 1;
        self.bytes += frame.data.len() as u64;
        self.first_ts_ns.get_or_insert(frame.ts_ns);
        self.last_ts_ns = Some(frame.ts_ns);
    }
}

/// Packet-index entries, pieces of live flows' frame lists, and ended
/// flows (each with the rest of its frame list).
#[derive(Default)]
pub struct Batch {
    /// Frame locations, in frame-number order.
    pub packets: Vec<PacketRow>,
    /// Frame-list pieces of flows still live.
    pub pieces: Vec<FlowPackets>,
    /// Application-layer records.
    pub app_events: Vec<AppEvent>,
    /// Flows that ended.
    pub flows: Vec<Flow>,
}

/// What the pipeline sends to the store thread. Batches, never single packets.
pub enum StoreMsg {
    /// Packets, memberships and ended flows.
    Batch(Batch),
    /// Anomalies.
    Anomalies(Vec<AnomalyRow>),
    /// Final capture rows (written once at the end).
    Captures(Vec<CaptureRow>),
    /// Closed alerts, in the order they get their ids.
    Alerts(Vec<crate::detect::Alert>),
    /// Rows of live capture (interface counters, duplicates, workloads).
    Live(super::live_rows::LiveRows),
    /// Memory budgets and cap counters (`crate::memcap`), written once at
    /// the end as `meta` rows `memcap.<name>` and `counter.<name>`.
    Memcap {
        /// Budget name → bytes.
        budgets: Vec<(&'static str, u64)>,
        /// Counter name → value.
        counters: Vec<(&'static str, u64)>,
    },
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
    /// Application-layer records.
    pub app_events: u64,
    /// Alerts (also the last alert id given).
    pub alerts: u64,
}

/// Owns the case database connection and the EVE writer.
pub struct StoreWriter {
    conn: Connection,
    eve: EveOut,
    tmp_db: PathBuf,
    tmp_eve: PathBuf,
    final_db: PathBuf,
    final_eve: PathBuf,
    summary: StoreSummary,
    chunk: Chunk,
    /// Commit each batch's frames at once (a live case readable as it goes).
    durable: bool,
    /// Closed workload spans written so far (a live run's `workloads`
    /// rows `1..=n`; the open ones follow and are replaced).
    closed_spans: u64,
}

/// Frames per `packet_chunks` row.
pub const CHUNK_FRAMES: usize = 1024;
/// Bytes of one frame location record in a chunk.
pub const LOCATION_BYTES: usize = 36;
/// Packet-index chunk being filled.
#[derive(Default)]
struct Chunk {
    first_pkt_no: u64,
    count: usize,
    first_ts_ns: i64,
    last_ts_ns: i64,
    records: Vec<u8>,
}

/// Encodes one frame location (little endian): capture_id u32, interface
/// u32, link_type u32, data_offset u64, ts_ns i64, caplen u32, orig_len u32.
fn encode_location(out: &mut Vec<u8>, r: &PacketRow) {
    out.extend_from_slice(&r.capture_id.to_le_bytes());
    out.extend_from_slice(&r.interface.to_le_bytes());
    out.extend_from_slice(&r.link_type.to_le_bytes());
    out.extend_from_slice(&r.data_offset.to_le_bytes());
    out.extend_from_slice(&r.ts_ns.to_le_bytes());
    out.extend_from_slice(&r.caplen.to_le_bytes());
    out.extend_from_slice(&r.orig_len.to_le_bytes());
}

impl StoreWriter {
    /// Creates a new case in `case_dir` (under temporary names).
    pub fn create(case_dir: &Path) -> Result<Self, StoreError> {
        Self::create_with(case_dir, false)
    }

    /// Like [`StoreWriter::create`], but every written batch survives the
    /// process being killed (WAL, one commit per batch): a recorder's case
    /// is readable as it goes. A case an earlier killed run left behind
    /// is kept first, see [`StoreWriter::salvage`].
    pub fn create_durable(case_dir: &Path) -> Result<Self, StoreError> {
        Self::create_with(case_dir, true)
    }

    /// Keeps the case database a killed durable run left under its
    /// temporary name: renamed to `interrupted-<unix ns>.sqlite` (with
    /// its WAL), a valid database up to its last committed batch.
    pub fn salvage(case_dir: &Path) -> Result<Option<PathBuf>, StoreError> {
        let tmp = case_dir.join(".case.sqlite.partial");
        if !tmp.exists() {
            return Ok(None);
        }
        let ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let to = case_dir.join(format!("interrupted-{ns}.sqlite"));
        for suffix in ["-wal", "-shm", ""] {
            let (mut a, mut b) = (tmp.as_os_str().to_owned(), to.as_os_str().to_owned());
            a.push(suffix);
            b.push(suffix);
            if Path::new(&a).exists() {
                std::fs::rename(&a, &b)?;
            }
        }
        Ok(Some(to))
    }

    fn create_with(case_dir: &Path, durable: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(case_dir)?;
        let final_db = case_dir.join("case.sqlite");
        let final_eve = case_dir.join("eve.jsonl");
        let tmp_db = case_dir.join(".case.sqlite.partial");
        let tmp_eve = case_dir.join(".eve.jsonl.partial");
        for p in [&tmp_db, &tmp_eve] {
            remove_db_files(p)?;
        }
        let conn = Connection::open(&tmp_db)?;
        // A new case is built under a temporary name and deleted if ingest
        // fails, so ingest needs no rollback journal; the finished case is
        // switched to WAL (see `finish`) for readers and later writers.
        if durable {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        } else {
            conn.pragma_update(None, "journal_mode", "OFF")?;
            conn.pragma_update(None, "synchronous", "OFF")?;
        }
        conn.execute_batch(schema::CREATE)?;
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?1), ('osprey_version', ?2)",
            params![
                schema::SCHEMA_VERSION.to_string(),
                env!("CARGO_PKG_VERSION")
            ],
        )?;
        let eve = EveOut::create(&tmp_eve)?;
        Ok(StoreWriter {
            conn,
            eve,
            tmp_db,
            tmp_eve,
            final_db,
            final_eve,
            summary: StoreSummary::default(),
            chunk: Chunk::default(),
            durable,
            closed_spans: 0,
        })
    }

    /// Writes one message's rows in one transaction.
    pub fn write(&mut self, msg: StoreMsg) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        match msg {
            StoreMsg::Batch(batch) => {
                for r in &batch.packets {
                    if self.chunk.count == CHUNK_FRAMES
                        || (self.chunk.count > 0
                            && r.pkt_no != self.chunk.first_pkt_no + self.chunk.count as u64)
                    {
                        write_chunk(&tx, &mut self.chunk)?;
                    }
                    if self.chunk.count == 0 {
                        self.chunk.first_pkt_no = r.pkt_no;
                        self.chunk.first_ts_ns = r.ts_ns;
                    }
                    self.chunk.last_ts_ns = r.ts_ns;
                    self.chunk.count += 1;
                    encode_location(&mut self.chunk.records, r);
                }
                self.summary.packets += batch.packets.len() as u64;
                if self.durable {
                    // A shorter chunk now rather than frames unreadable
                    // until 1024 have come.
                    write_chunk(&tx, &mut self.chunk)?;
                }
                for p in &batch.pieces {
                    write_list(&tx, p.flow_id, p.seq, &p.entries)?;
                }
                if !batch.app_events.is_empty() {
                    let mut st = tx.prepare_cached(
                        "INSERT INTO app_events(flow_id, ts_ns, event_type, record) VALUES (?1, ?2, ?3, ?4)",
                    )?;
                    let mut lines = Vec::with_capacity(batch.app_events.len());
                    for e in batch.app_events {
                        // Serialised once: the same text goes to SQLite and EVE.
                        let record = serde_json::value::to_raw_value(&e.record)
                            .map_err(std::io::Error::from)?;
                        st.execute(params![
                            e.flow_id as i64,
                            e.ts_ns,
                            e.record.event_type(),
                            record.get()
                        ])?;
                        lines.push((e, record));
                    }
                    self.summary.app_events += lines.len() as u64;
                    self.eve.send(EveMsg::AppEvents(lines))?;
                }
                let flows = batch.flows;
                for f in &flows {
                    write_list(&tx, f.id, f.packets_seq, &f.packets)?;
                }
                let mut st = tx.prepare_cached(
                    "INSERT INTO flows(id, community_id, proto, src_ip, src_port, dest_ip, dest_port, vlan, tunnel, app_proto, start_ns, end_ns, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, state, reason, tcp_state, tcp_flags_ts, tcp_flags_tc, icmp_type, icmp_code, anomalies, stream_gaps, overlap_conflicts, parent_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
                )?;
                let mut with_ids = Vec::with_capacity(flows.len());
                for f in flows {
                    let cid = eve::flow_community_id(&f);
                    let tcp = f.key.proto == 6;
                    let (vlan, tunnel) = (vlan_text(&f), tunnel_text(&f));
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
                        f.parent_id.map(|p| p as i64),
                    ])?;
                    with_ids.push((f, cid));
                }
                self.summary.flows += with_ids.len() as u64;
                self.eve.send(EveMsg::Flows(with_ids))?;
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
                }
                self.summary.anomalies += rows.len() as u64;
                self.eve.send(EveMsg::Anomalies(rows))?;
            }
            StoreMsg::Alerts(alerts) => {
                let mut numbered = Vec::with_capacity(alerts.len());
                for a in alerts {
                    self.summary.alerts += 1;
                    let id = self.summary.alerts;
                    insert_alert(&tx, "alerts", id, &a)?;
                    numbered.push((id, a));
                }
                if self.durable {
                    super::live_rows::close_open_alerts(&tx, &numbered, self.summary.alerts)?;
                }
                self.eve.send(EveMsg::Alerts(numbered))?;
            }
            StoreMsg::Captures(rows) => {
                let mut st = tx.prepare_cached(
                    "INSERT OR REPLACE INTO captures(id, path, kind, size_bytes, packets, bytes, first_ts_ns, last_ts_ns, status, warning) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
            StoreMsg::Live(rows) => {
                super::live_rows::write(&tx, &rows, self.summary.alerts, &mut self.closed_spans)?;
            }
            StoreMsg::Memcap { budgets, counters } => {
                let mut stmt =
                    tx.prepare_cached("INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2)")?;
                let rows = budgets
                    .iter()
                    .map(|(k, v)| (format!("memcap.{k}"), v))
                    .chain(counters.iter().map(|(k, v)| (format!("counter.{k}"), v)));
                for (key, value) in rows {
                    stmt.execute(params![key, value.to_string()])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Builds the indexes, marks the case complete, and moves the files
    /// into place.
    pub fn finish(mut self) -> Result<StoreSummary, StoreError> {
        let tx = self.conn.transaction()?;
        write_chunk(&tx, &mut self.chunk)?;
        tx.commit()?;
        self.conn.execute_batch(schema::INDEXES)?;
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES ('status', 'complete')",
            [],
        )?;
        // No fsync of the finished case: `analyze` output is derived data,
        // reproducible from the captures, and forcing ~100 MB out to disk
        // per GiB of input cost a fifth of the run. Later writers (the
        // recorder) open the case in WAL mode with their own durability.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        let StoreWriter {
            conn,
            eve,
            tmp_db,
            tmp_eve,
            final_db,
            final_eve,
            summary,
            ..
        } = self;
        tracing::debug!("case database switched to WAL");
        conn.close().map_err(|(_, e)| e)?;
        tracing::debug!("case database closed");
        eve.finish()?;
        tracing::debug!("EVE file written");
        // The new case replaces an old one in one atomic rename: a run
        // killed at any moment leaves the old case or the new one, never
        // none (only the old case's WAL sidecars go first; it was closed
        // cleanly, so they hold nothing).
        remove_files(&final_db, &["-wal", "-shm"])?;
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
        // The write error that made us give up was already reported.
        let _ = eve.finish();
        // Best effort: a leftover .partial file never looks like a case.
        let _ = remove_db_files(&tmp_db);
        let _ = std::fs::remove_file(&tmp_eve);
    }
}

/// Writes the chunk being filled, if it holds any frame, and empties it.
fn write_chunk(tx: &rusqlite::Transaction<'_>, chunk: &mut Chunk) -> Result<(), StoreError> {
    if chunk.count == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO packet_chunks(first_pkt_no, count, first_ts_ns, last_ts_ns, locations) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        chunk.first_pkt_no as i64,
        chunk.count as i64,
        chunk.first_ts_ns,
        chunk.last_ts_ns,
        chunk.records
    ])?;
    chunk.count = 0;
    chunk.records.clear();
    Ok(())
}

/// Writes one piece of a flow's frame list as a `flow_packets` row.
fn write_list(
    tx: &rusqlite::Transaction<'_>,
    flow_id: u64,
    seq: u32,
    entries: &[u64],
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let blob: Vec<u8> = entries.iter().flat_map(|e| e.to_le_bytes()).collect();
    tx.prepare_cached("INSERT INTO flow_packets(flow_id, seq, entries) VALUES (?1, ?2, ?3)")?
        .execute(params![flow_id as i64, seq, blob])?;
    Ok(())
}

/// Removes a database file and its WAL/SHM companions, if present.
fn remove_db_files(db: &Path) -> std::io::Result<()> {
    remove_files(db, &["", "-wal", "-shm"])
}

/// Removes `db` + each suffix that exists.
fn remove_files(db: &Path, suffixes: &[&str]) -> std::io::Result<()> {
    for suffix in suffixes {
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

/// A flow's VLAN ids as stored (`flows.vlan`): comma separated.
pub(super) fn vlan_text(f: &Flow) -> Option<String> {
    (f.key.vlans.len > 0).then(|| {
        f.key.vlans.ids[..usize::from(f.key.vlans.len.min(2))]
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// A flow's tunnel as stored (`flows.tunnel`): `kind:vni:outer-outer`.
pub(super) fn tunnel_text(f: &Flow) -> Option<String> {
    f.key.tunnel.map(|t| {
        format!(
            "{}:{}:{}-{}",
            super::tunnel_name(t.kind),
            t.vni,
            t.outer_lo,
            t.outer_hi
        )
    })
}

/// An alert side as its `*_ip` and `*_port` columns.
pub(super) fn side_columns(s: Option<crate::detect::Side>) -> (Option<String>, Option<u16>) {
    (s.map(|s| s.ip.to_string()), s.and_then(|s| s.port))
}

/// Inserts alert `a` as `id` into `table` (`alerts`, or `active_alerts`
/// with the same columns).
pub(super) fn insert_alert(
    tx: &rusqlite::Transaction<'_>,
    table: &str,
    id: u64,
    a: &crate::detect::Alert,
) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(&format!(
        "INSERT INTO {table}(id, ts_ns, ts_last_ns, flow_id, pkt_no, severity, category, signature, signature_id, src_ip, src_port, dest_ip, dest_port, proto, count, evidence_packets, evidence_flows, metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    ))?;
    let le = |v: &[u64]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let (src_ip, src_port) = side_columns(a.src);
    let (dest_ip, dest_port) = side_columns(a.dst);
    st.execute(params![
        id as i64,
        a.ts_first_ns,
        a.ts_last_ns,
        a.flow_id.map(|v| v as i64),
        a.evidence_packets.first().map(|&v| v as i64),
        a.severity,
        a.category.name(),
        a.signature,
        a.signature_id,
        src_ip,
        src_port,
        dest_ip,
        dest_port,
        a.proto,
        a.count as i64,
        le(&a.evidence_packets),
        le(&a.evidence_flows),
        crate::eve::alert_metadata_json(a),
    ])?;
    Ok(())
}
