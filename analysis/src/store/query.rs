//! Read side of a case: flow listings and packet locations for export.

use super::writer::LOCATION_BYTES;
use super::StoreError;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// A pod or named network namespace that held an address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Workload {
    /// Pod (or netns) name.
    pub name: String,
    /// Kubernetes namespace, when known.
    pub namespace: Option<String>,
}

/// The workloads at both ends of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowWorkloads {
    /// Flow id.
    pub flow_id: u64,
    /// Client's workload.
    pub src: Option<Workload>,
    /// Server's workload.
    pub dest: Option<Workload>,
}

/// One flow as listed by `osprey flows`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlowSummary {
    /// Flow id.
    pub id: u64,
    /// Community ID v1.
    pub community_id: String,
    /// IP protocol number.
    pub proto: u8,
    /// Client address.
    pub src_ip: String,
    /// Client port.
    pub src_port: u16,
    /// Server address.
    pub dest_ip: String,
    /// Server port.
    pub dest_port: u16,
    /// Application protocol.
    pub app_proto: String,
    /// Packets client → server.
    pub pkts_toserver: u64,
    /// Packets server → client.
    pub pkts_toclient: u64,
    /// Bytes client → server.
    pub bytes_toserver: u64,
    /// Bytes server → client.
    pub bytes_toclient: u64,
    /// First packet, ns since epoch.
    pub start_ns: i64,
    /// Last packet, ns since epoch.
    pub end_ns: i64,
    /// Suricata flow state.
    pub state: String,
    /// VLAN ids, comma separated.
    pub vlan: Option<String>,
    /// Tunnel context.
    pub tunnel: Option<String>,
}

/// One alert as listed by `osprey alerts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertSummary {
    /// Alert id (`osprey export --alert ID`).
    pub id: u64,
    /// First evidence, ns since epoch.
    pub ts_ns: i64,
    /// Last evidence.
    pub ts_last_ns: i64,
    /// 1 high … 3 low.
    pub severity: u8,
    /// Category.
    pub category: String,
    /// Human sentence.
    pub signature: String,
    /// Rule id.
    pub signature_id: u32,
    /// Source address.
    pub src_ip: Option<String>,
    /// Source port.
    pub src_port: Option<u16>,
    /// Destination address.
    pub dest_ip: Option<String>,
    /// Destination port.
    pub dest_port: Option<u16>,
    /// IP protocol.
    pub proto: Option<u8>,
    /// Occurrences folded in.
    pub count: u64,
    /// The flow the alert is about.
    pub flow_id: Option<u64>,
    /// Evidence frames.
    pub evidence_packets: Vec<u64>,
    /// Evidence flows.
    pub evidence_flows: Vec<u64>,
    /// Details (JSON object of strings).
    pub metadata: serde_json::Value,
    /// Still open in a live run (`active_alerts`): more evidence may fold
    /// in, and `id` is provisional until it closes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub open: bool,
}

/// Where one indexed frame lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketLocation {
    /// Run-wide frame number.
    pub pkt_no: u64,
    /// Capture id.
    pub capture_id: u32,
    /// Offset of the first frame byte.
    pub data_offset: u64,
    /// Captured length.
    pub caplen: u32,
    /// Wire length.
    pub orig_len: u32,
    /// Timestamp.
    pub ts_ns: i64,
    /// LINKTYPE_.
    pub link_type: u32,
}

/// Decodes one 36-byte location record (see `store::writer`).
fn decode_location(pkt_no: u64, rec: &[u8]) -> PacketLocation {
    let u32_at = |o: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&rec[o..o + 4]);
        u32::from_le_bytes(b)
    };
    let u64_at = |o: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&rec[o..o + 8]);
        u64::from_le_bytes(b)
    };
    PacketLocation {
        pkt_no,
        capture_id: u32_at(0),
        link_type: u32_at(8),
        data_offset: u64_at(12),
        ts_ns: u64_at(20) as i64,
        caplen: u32_at(28),
        orig_len: u32_at(32),
    }
}

/// Read-only access to a case database.
pub struct CaseReader {
    conn: Connection,
}

impl CaseReader {
    /// Opens `CASE_DIR/case.sqlite` read-only.
    pub fn open(case_dir: &Path) -> Result<Self, StoreError> {
        let db = case_dir.join("case.sqlite");
        if !db.is_file() {
            return Err(StoreError::NotACase(format!("{} not found", db.display())));
        }
        let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let status: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'status'", [], |r| {
                r.get(0)
            })
            .ok();
        if status.as_deref() != Some("complete") {
            return Err(StoreError::NotACase(format!(
                "{} is not a complete case",
                db.display()
            )));
        }
        Ok(CaseReader { conn })
    }

    /// Opens the case a durable live run (`StoreWriter::create_durable`)
    /// is still writing, read-only: what it has committed so far (ended
    /// flows, alerts, frames). The caller must not keep it open across the
    /// run's end, which renames the file.
    pub fn open_running(case_dir: &Path) -> Result<Self, StoreError> {
        let db = case_dir.join(".case.sqlite.partial");
        if !db.is_file() {
            return Err(StoreError::NotACase(format!(
                "{} not found (no live run is writing this case)",
                db.display()
            )));
        }
        let conn = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        Ok(CaseReader { conn })
    }

    /// The memory-cap counters of the run (`counter.<name>` meta rows,
    /// see `crate::memcap`), by name; empty for cases without them.
    pub fn memcap_counters(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT key, value FROM meta WHERE key LIKE 'counter.%'")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (k, v) = row?;
            if let (Some(name), Ok(v)) = (k.strip_prefix("counter."), v.parse()) {
                out.insert(name.to_string(), v);
            }
        }
        Ok(out)
    }

    /// True when the case has table `name` (cases written before it was
    /// added do not).
    fn has_table(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [name],
            |r| r.get(0),
        )?)
    }

    /// The underlying connection, for ad-hoc queries (tests, tools).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Every flow, by id: the ended ones, and while a live run writes the
    /// case, the ones still open as of its last snapshot (`active_flows`).
    pub fn flows(&self) -> Result<Vec<FlowSummary>, StoreError> {
        const COLUMNS: &str = "id, community_id, proto, src_ip, src_port, dest_ip, dest_port, app_proto, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, start_ns, end_ns, state, vlan, tunnel";
        let sql = if self.has_table("active_flows")? {
            format!("SELECT {COLUMNS} FROM flows UNION ALL SELECT {COLUMNS} FROM active_flows WHERE id NOT IN (SELECT id FROM flows) ORDER BY id")
        } else {
            format!("SELECT {COLUMNS} FROM flows ORDER BY id")
        };
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map([], |r| {
            Ok(FlowSummary {
                id: r.get::<_, i64>(0)? as u64,
                community_id: r.get(1)?,
                proto: r.get(2)?,
                src_ip: r.get(3)?,
                src_port: r.get(4)?,
                dest_ip: r.get(5)?,
                dest_port: r.get(6)?,
                app_proto: r.get(7)?,
                pkts_toserver: r.get::<_, i64>(8)? as u64,
                pkts_toclient: r.get::<_, i64>(9)? as u64,
                bytes_toserver: r.get::<_, i64>(10)? as u64,
                bytes_toclient: r.get::<_, i64>(11)? as u64,
                start_ns: r.get(12)?,
                end_ns: r.get(13)?,
                state: r.get(14)?,
                vlan: r.get(15)?,
                tunnel: r.get(16)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Capture id → path.
    pub fn captures(&self) -> Result<HashMap<u32, PathBuf>, StoreError> {
        let mut st = self.conn.prepare("SELECT id, path FROM captures")?;
        let rows = st.query_map([], |r| {
            Ok((r.get::<_, u32>(0)?, PathBuf::from(r.get::<_, String>(1)?)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Frame numbers of a flow with their direction (0 = to server), in
    /// frame order.
    pub fn flow_packet_numbers(&self, flow_id: u64) -> Result<Vec<(u64, u8)>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT entries FROM flow_packets WHERE flow_id = ?1 ORDER BY seq")?;
        let mut rows = st.query(params![flow_id as i64])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let blob: Vec<u8> = row.get(0)?;
            for e in blob.chunks_exact(8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(e);
                let v = u64::from_le_bytes(b);
                out.push((v & !(1 << 63), (v >> 63) as u8));
            }
        }
        Ok(out)
    }

    /// Locations of the given frames (sorted, deduplicated), from the
    /// packet-index chunks.
    pub fn locate(&self, pkt_nos: &[u64]) -> Result<Vec<PacketLocation>, StoreError> {
        let mut nos = pkt_nos.to_vec();
        nos.sort_unstable();
        nos.dedup();
        let mut st = self.conn.prepare_cached(
            "SELECT first_pkt_no, count, locations FROM packet_chunks WHERE first_pkt_no <= ?1 ORDER BY first_pkt_no DESC LIMIT 1",
        )?;
        let mut chunk: Option<(u64, u64, Vec<u8>)> = None;
        let mut out = Vec::with_capacity(nos.len());
        for n in nos {
            let hit = chunk
                .as_ref()
                .is_some_and(|(first, count, _)| n >= *first && n < first + count);
            if !hit {
                chunk = st
                    .query_row(params![n as i64], |r| {
                        Ok((
                            r.get::<_, i64>(0)? as u64,
                            r.get::<_, i64>(1)? as u64,
                            r.get::<_, Vec<u8>>(2)?,
                        ))
                    })
                    .optional()?;
            }
            let Some((first, count, blob)) = chunk.as_ref() else {
                return Err(StoreError::NotACase(format!(
                    "frame {n} is not in the packet index"
                )));
            };
            let i = (n - first) as usize;
            let rec = blob.get(i * LOCATION_BYTES..(i + 1) * LOCATION_BYTES);
            match rec {
                Some(rec) if n < first + count => out.push(decode_location(n, rec)),
                _ => {
                    return Err(StoreError::NotACase(format!(
                        "frame {n} is not in the packet index"
                    )))
                }
            }
        }
        Ok(out)
    }

    /// Frames of the given flows, each frame once, in capture order.
    pub fn packets_of_flows(&self, flow_ids: &[u64]) -> Result<Vec<PacketLocation>, StoreError> {
        let mut nos = Vec::new();
        for id in flow_ids {
            nos.extend(self.flow_packet_numbers(*id)?.into_iter().map(|(n, _)| n));
        }
        self.locate(&nos)
    }

    /// Every alert, by id.
    pub fn alerts(&self) -> Result<Vec<AlertSummary>, StoreError> {
        const COLUMNS: &str = "id, ts_ns, ts_last_ns, severity, category, signature, signature_id, src_ip, src_port, dest_ip, dest_port, proto, count, flow_id, evidence_packets, evidence_flows, metadata";
        let sql = if self.has_table("active_alerts")? {
            format!("SELECT {COLUMNS}, 0 FROM alerts UNION ALL SELECT {COLUMNS}, 1 FROM active_alerts ORDER BY id")
        } else {
            format!("SELECT {COLUMNS}, 0 FROM alerts ORDER BY id")
        };
        let mut st = self.conn.prepare(&sql)?;
        let le = |b: Vec<u8>| -> Vec<u64> {
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()))
                .collect()
        };
        let rows = st.query_map([], |r| {
            Ok(AlertSummary {
                id: r.get::<_, i64>(0)? as u64,
                ts_ns: r.get(1)?,
                ts_last_ns: r.get(2)?,
                severity: r.get(3)?,
                category: r.get(4)?,
                signature: r.get(5)?,
                signature_id: r.get(6)?,
                src_ip: r.get(7)?,
                src_port: r.get(8)?,
                dest_ip: r.get(9)?,
                dest_port: r.get(10)?,
                proto: r.get(11)?,
                count: r.get::<_, i64>(12)? as u64,
                flow_id: r.get::<_, Option<i64>>(13)?.map(|v| v as u64),
                evidence_packets: le(r.get(14)?),
                evidence_flows: le(r.get(15)?),
                metadata: serde_json::from_str(&r.get::<_, String>(16)?)
                    .unwrap_or(serde_json::Value::Null),
                open: r.get(17)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Application records (DPI) of a flow: `(ts_ns, event_type, JSON
    /// record)`, in time order.
    pub fn app_events(&self, flow_id: u64) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT ts_ns, event_type, record FROM app_events WHERE flow_id = ?1 ORDER BY ts_ns, id",
        )?;
        let rows = st.query_map(params![flow_id as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Who each flow's endpoints were (`flow_workloads`), for the flows
    /// with at least one attributed endpoint, by flow id. Empty for a case
    /// without workload rows (offline, or older than the table).
    pub fn flow_workloads(&self) -> Result<Vec<FlowWorkloads>, StoreError> {
        let any: Option<bool> = self
            .conn
            .query_row("SELECT EXISTS(SELECT 1 FROM workloads)", [], |r| r.get(0))
            .optional()
            .unwrap_or(None);
        if any != Some(true) {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare(
            "SELECT flow_id, src_workload, src_namespace, dest_workload, dest_namespace FROM flow_workloads WHERE src_workload IS NOT NULL OR dest_workload IS NOT NULL ORDER BY flow_id",
        )?;
        let who = |name: Option<String>, namespace: Option<String>| {
            name.map(|name| Workload { name, namespace })
        };
        let rows = st.query_map([], |r| {
            Ok(FlowWorkloads {
                flow_id: r.get::<_, i64>(0)? as u64,
                src: who(r.get(1)?, r.get(2)?),
                dest: who(r.get(3)?, r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// True when a flow with this id exists.
    pub fn has_flow(&self, id: u64) -> Result<bool, StoreError> {
        Ok(self.conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM flows WHERE id = ?1)",
            params![id as i64],
            |r| r.get::<_, bool>(0),
        )?)
    }
}
