//! Rows only live capture produces: per-interface capture counters, frames
//! also seen on a second interface, and the IP → workload map over time.

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveRows {
    /// Final counters, one row per interface.
    CaptureStats(Vec<CaptureStatRow>),
    /// Frames seen on a second interface.
    Duplicates(Vec<DuplicateRow>),
    /// Workload spans (each span's final extent).
    Workloads(Vec<WorkloadRow>),
}

pub(super) fn write(tx: &Transaction<'_>, rows: &LiveRows) -> rusqlite::Result<()> {
    match rows {
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
        LiveRows::Workloads(rows) => {
            let mut st = tx.prepare_cached(
                "INSERT INTO workloads(ip, name, namespace, container, pod_uid, iface, first_ns, last_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in rows {
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
