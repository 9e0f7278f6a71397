//! The case database schema (documented in docs/schema.md; keep both in step).

/// Schema version stored in `meta.schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Columns of `alerts` and of `active_alerts` (live runs' open alerts).
macro_rules! alert_columns {
    () => {
        r#"    id               INTEGER PRIMARY KEY,
    ts_ns            INTEGER NOT NULL,
    ts_last_ns       INTEGER NOT NULL,
    flow_id          INTEGER,
    pkt_no           INTEGER,
    severity         INTEGER NOT NULL,
    category         TEXT NOT NULL,
    signature        TEXT NOT NULL,
    signature_id     INTEGER NOT NULL,
    src_ip           TEXT,
    src_port         INTEGER,
    dest_ip          TEXT,
    dest_port        INTEGER,
    proto            INTEGER,
    count            INTEGER NOT NULL,
    evidence_packets BLOB NOT NULL,
    evidence_flows   BLOB NOT NULL,
    metadata         TEXT NOT NULL
"#
    };
}

/// DDL run on a new case database.
pub const CREATE: &str = concat!(
    r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE captures (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    size_bytes  INTEGER,
    packets     INTEGER NOT NULL DEFAULT 0,
    bytes       INTEGER NOT NULL DEFAULT 0,
    first_ts_ns INTEGER,
    last_ts_ns  INTEGER,
    status      TEXT NOT NULL,
    warning     TEXT
);
CREATE TABLE flows (
    id                INTEGER PRIMARY KEY,
    community_id      TEXT NOT NULL,
    proto             INTEGER NOT NULL,
    src_ip            TEXT NOT NULL,
    src_port          INTEGER NOT NULL,
    dest_ip           TEXT NOT NULL,
    dest_port         INTEGER NOT NULL,
    vlan              TEXT,
    tunnel            TEXT,
    app_proto         TEXT NOT NULL,
    parent_id         INTEGER,
    start_ns          INTEGER NOT NULL,
    end_ns            INTEGER NOT NULL,
    pkts_toserver     INTEGER NOT NULL,
    pkts_toclient     INTEGER NOT NULL,
    bytes_toserver    INTEGER NOT NULL,
    bytes_toclient    INTEGER NOT NULL,
    state             TEXT NOT NULL,
    reason            TEXT NOT NULL,
    tcp_state         TEXT,
    tcp_flags_ts      INTEGER,
    tcp_flags_tc      INTEGER,
    icmp_type         INTEGER,
    icmp_code         INTEGER,
    anomalies         INTEGER NOT NULL,
    stream_gaps       INTEGER NOT NULL,
    overlap_conflicts INTEGER NOT NULL
);
CREATE TABLE active_flows (
    id             INTEGER PRIMARY KEY,
    community_id   TEXT NOT NULL,
    proto          INTEGER NOT NULL,
    src_ip         TEXT NOT NULL,
    src_port       INTEGER NOT NULL,
    dest_ip        TEXT NOT NULL,
    dest_port      INTEGER NOT NULL,
    vlan           TEXT,
    tunnel         TEXT,
    app_proto      TEXT NOT NULL,
    start_ns       INTEGER NOT NULL,
    end_ns         INTEGER NOT NULL,
    pkts_toserver  INTEGER NOT NULL,
    pkts_toclient  INTEGER NOT NULL,
    bytes_toserver INTEGER NOT NULL,
    bytes_toclient INTEGER NOT NULL,
    state          TEXT NOT NULL
);
CREATE TABLE packet_chunks (
    first_pkt_no INTEGER PRIMARY KEY,
    count        INTEGER NOT NULL,
    first_ts_ns  INTEGER NOT NULL,
    last_ts_ns   INTEGER NOT NULL,
    locations    BLOB NOT NULL
);
CREATE TABLE flow_packets (
    flow_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    entries BLOB NOT NULL,
    PRIMARY KEY (flow_id, seq)
) WITHOUT ROWID;
CREATE TABLE app_events (
    id         INTEGER PRIMARY KEY,
    flow_id    INTEGER NOT NULL,
    ts_ns      INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    record     TEXT NOT NULL
);
CREATE TABLE anomalies (
    id      INTEGER PRIMARY KEY,
    ts_ns   INTEGER NOT NULL,
    pkt_no  INTEGER,
    flow_id INTEGER,
    type    TEXT NOT NULL,
    event   TEXT NOT NULL
);
CREATE TABLE alerts (
"#,
    alert_columns!(),
    r#");
CREATE TABLE active_alerts (
"#,
    alert_columns!(),
    r#");
CREATE TABLE capture_stats (
    capture_id      INTEGER PRIMARY KEY,
    iface           TEXT NOT NULL,
    label           TEXT,
    delivered       INTEGER NOT NULL,
    kernel_received INTEGER NOT NULL,
    kernel_drops    INTEGER NOT NULL,
    if_drops        INTEGER NOT NULL,
    queue_drops     INTEGER NOT NULL,
    duplicates      INTEGER NOT NULL
);
CREATE TABLE duplicate_frames (
    pkt_no     INTEGER NOT NULL,
    capture_id INTEGER NOT NULL,
    ts_ns      INTEGER NOT NULL
);
CREATE TABLE workloads (
    ip        TEXT NOT NULL,
    name      TEXT NOT NULL,
    namespace TEXT,
    container TEXT,
    pod_uid   TEXT,
    iface     TEXT NOT NULL,
    first_ns  INTEGER NOT NULL,
    last_ns   INTEGER NOT NULL
);
CREATE VIEW flow_workloads AS
SELECT x.flow_id,
       s.name AS src_workload, s.namespace AS src_namespace,
       s.container AS src_container, s.pod_uid AS src_pod_uid,
       d.name AS dest_workload, d.namespace AS dest_namespace,
       d.container AS dest_container, d.pod_uid AS dest_pod_uid
FROM (SELECT f.id AS flow_id,
        (SELECT w.rowid FROM workloads w WHERE w.ip = f.src_ip
          AND w.first_ns <= f.end_ns AND w.last_ns >= f.start_ns
          ORDER BY w.last_ns DESC LIMIT 1) AS s_id,
        (SELECT w.rowid FROM workloads w WHERE w.ip = f.dest_ip
          AND w.first_ns <= f.end_ns AND w.last_ns >= f.start_ns
          ORDER BY w.last_ns DESC LIMIT 1) AS d_id
      FROM (SELECT id, src_ip, dest_ip, start_ns, end_ns FROM flows
            UNION ALL
            SELECT id, src_ip, dest_ip, start_ns, end_ns FROM active_flows
            WHERE id NOT IN (SELECT id FROM flows)) f) x
LEFT JOIN workloads s ON s.rowid = x.s_id
LEFT JOIN workloads d ON d.rowid = x.d_id;
CREATE VIEW alert_workloads AS
SELECT x.alert_id,
       s.name AS src_workload, s.namespace AS src_namespace,
       s.container AS src_container, s.pod_uid AS src_pod_uid,
       d.name AS dest_workload, d.namespace AS dest_namespace,
       d.container AS dest_container, d.pod_uid AS dest_pod_uid
FROM (SELECT a.id AS alert_id,
        (SELECT w.rowid FROM workloads w WHERE w.ip = a.src_ip
          AND w.first_ns <= a.ts_last_ns AND w.last_ns >= a.ts_ns
          ORDER BY w.last_ns DESC LIMIT 1) AS s_id,
        (SELECT w.rowid FROM workloads w WHERE w.ip = a.dest_ip
          AND w.first_ns <= a.ts_last_ns AND w.last_ns >= a.ts_ns
          ORDER BY w.last_ns DESC LIMIT 1) AS d_id
      FROM alerts a) x
LEFT JOIN workloads s ON s.rowid = x.s_id
LEFT JOIN workloads d ON d.rowid = x.d_id;
"#
);

/// Indexes built once ingest is done (cheaper than maintaining them per row).
pub const INDEXES: &str = r#"
CREATE INDEX anomalies_by_flow ON anomalies(flow_id);
CREATE INDEX app_events_by_flow ON app_events(flow_id);
CREATE INDEX alerts_by_flow ON alerts(flow_id);
CREATE INDEX workloads_by_ip ON workloads(ip);
"#;
