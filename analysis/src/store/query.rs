//! Read side of a case: flow listings and packet locations for export.

use super::StoreError;
use rusqlite::{params, Connection, OpenFlags};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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

    /// The underlying connection, for ad-hoc queries (tests, tools).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Every flow, by id.
    pub fn flows(&self) -> Result<Vec<FlowSummary>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT id, community_id, proto, src_ip, src_port, dest_ip, dest_port, app_proto, pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient, start_ns, end_ns, state, vlan, tunnel FROM flows ORDER BY id",
        )?;
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

    /// Frames of the given flows, each frame once, in capture order.
    pub fn packets_of_flows(&self, flow_ids: &[u64]) -> Result<Vec<PacketLocation>, StoreError> {
        let mut st = self.conn.prepare_cached(
            "SELECT pkt_no, capture_id, data_offset, caplen, orig_len, ts_ns, link_type FROM packets WHERE flow_id = ?1 ORDER BY pkt_no",
        )?;
        let mut out = Vec::new();
        for id in flow_ids {
            let rows = st.query_map(params![*id as i64], |r| {
                Ok(PacketLocation {
                    pkt_no: r.get::<_, i64>(0)? as u64,
                    capture_id: r.get(1)?,
                    data_offset: r.get::<_, i64>(2)? as u64,
                    caplen: r.get(3)?,
                    orig_len: r.get(4)?,
                    ts_ns: r.get(5)?,
                    link_type: r.get(6)?,
                })
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        out.sort_by_key(|p| p.pkt_no);
        out.dedup_by_key(|p| p.pkt_no);
        Ok(out)
    }

    /// True when a flow with this id exists.
    pub fn has_flow(&self, id: u64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM flows WHERE id = ?1)",
                params![id as i64],
                |r| r.get::<_, bool>(0),
            )?)
    }
}
