//! Messages between the UI thread and the worker thread: `UiCommand`s go
//! to the worker, `WorkerEvent`s come back, both over bounded channels.
//! The worker owns every file and the case database; the UI only ever
//! holds what these messages carry.

use crate::graph::model::FlowNames;
use crate::live::IfaceRow;
use osprey_analysis::case_export::Selection;
use osprey_analysis::dissect::{Layer, StreamChunk};
use osprey_analysis::filter::FlowAlerts;
use osprey_analysis::store::query::{AlertSummary, FlowSummary};
use osprey_analysis::store::CaseReader;
use std::path::PathBuf;
use std::sync::Arc;

/// A request for the worker.
#[derive(Debug, Clone)]
pub enum UiCommand {
    /// Open a capture (analysed into a case first) or a case directory.
    Open(PathBuf),
    /// Load a flow's packets, stream and DPI records.
    LoadFlow(u64),
    /// Load and dissect one frame.
    LoadPacket(u64),
    /// Export frames to pcap/pcapng.
    Export {
        /// What.
        selection: Selection,
        /// Where (`.pcapng` selects pcapng).
        path: PathBuf,
    },
    /// Write a CSV file.
    WriteCsv {
        /// Header then rows.
        rows: Vec<Vec<String>>,
        /// Where.
        path: PathBuf,
    },
    /// List the interfaces live capture can use.
    ListInterfaces,
    /// Start a live capture on these interfaces, analysed into `case_dir`.
    StartLive {
        /// The chosen interfaces.
        ifaces: Vec<IfaceRow>,
        /// Where the case goes (readable while it is written).
        case_dir: PathBuf,
    },
    /// Stop the live capture and open its finished case.
    StopLive,
    /// Write an RGBA image as PNG.
    WritePng {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// RGBA bytes, row-major.
        rgba: Vec<u8>,
        /// Where.
        path: PathBuf,
    },
}

/// A loaded case: everything the tables and the graph show.
#[derive(Debug, Clone)]
pub struct CaseData {
    /// Case directory.
    pub dir: PathBuf,
    /// Flows by id.
    pub flows: Vec<FlowSummary>,
    /// Alerts by id.
    pub alerts: Vec<AlertSummary>,
    /// Alert facts per flow (filter fields, colours).
    pub flow_alerts: FlowAlerts,
    /// Workloads at the flows' ends (live captures), by flow id.
    pub workloads: FlowNames,
}

impl CaseData {
    /// Reads what the case holds (a finished case, or a live run's case
    /// so far). Called on worker threads only.
    pub fn read(case: &CaseReader, dir: PathBuf) -> Result<CaseData, String> {
        let flows = case.flows().map_err(|e| e.to_string())?;
        let alerts = case.alerts().map_err(|e| e.to_string())?;
        let workloads = case
            .flow_workloads()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|w| (w.flow_id, w))
            .collect();
        let flow_alerts = FlowAlerts::new(&alerts);
        Ok(CaseData {
            dir,
            flows,
            alerts,
            flow_alerts,
            workloads,
        })
    }
}

/// One row of a flow's packet list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRow {
    /// Run-wide frame number.
    pub pkt_no: u64,
    /// Timestamp.
    pub ts_ns: i64,
    /// 0 client -> server, 1 server -> client.
    pub dir: u8,
    /// Captured length.
    pub caplen: u32,
    /// One-line description.
    pub info: String,
}

/// A flow's drill-down data.
#[derive(Debug, Clone)]
pub struct FlowDetail {
    /// The flow.
    pub flow_id: u64,
    /// Its frames (at most `MAX_DETAIL_PACKETS`).
    pub packets: Vec<PacketRow>,
    /// True when the flow has more frames than listed.
    pub truncated: bool,
    /// Reassembled payload, both directions.
    pub stream: Vec<StreamChunk>,
    /// DPI records: (ts_ns, event type, JSON).
    pub records: Vec<(i64, String, String)>,
}

/// One frame, dissected.
#[derive(Debug, Clone)]
pub struct PacketDetail {
    /// Frame number.
    pub pkt_no: u64,
    /// Captured bytes.
    pub data: Vec<u8>,
    /// Layers with byte ranges.
    pub layers: Vec<Layer>,
}

/// What the worker reports.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// Analysis progress of a capture being opened.
    Progress {
        /// Bytes read.
        bytes_read: u64,
        /// Bytes in total.
        bytes_total: u64,
        /// Frames so far.
        packets: u64,
    },
    /// Conversations of the start of a capture still being analysed (a
    /// first graph); no drill-down until `CaseLoaded`.
    Preview(Arc<CaseData>),
    /// A case finished loading.
    CaseLoaded(Arc<CaseData>),
    /// A flow's drill-down.
    Flow(Arc<FlowDetail>),
    /// A dissected frame.
    Packet(Arc<PacketDetail>),
    /// The interfaces live capture can use.
    Interfaces(Vec<IfaceRow>),
    /// A live capture started on these interfaces.
    LiveStarted(Vec<String>),
    /// What the running live case holds so far (unsolicited, a few times
    /// a second while frames come).
    LiveUpdate {
        /// Flows ended so far, alerts, no drill-down.
        case: Arc<CaseData>,
        /// Frames analysed so far.
        packets: u64,
    },
    /// The live run ended on its own with this error (unsolicited).
    LiveFailed(String),
    /// A command finished with a message for the status bar.
    Done(String),
    /// A command failed.
    Failed(String),
}

impl WorkerEvent {
    /// Sent without a command asking for it (not an answer).
    pub fn unsolicited(&self) -> bool {
        matches!(
            self,
            WorkerEvent::Progress { .. }
                | WorkerEvent::Preview(_)
                | WorkerEvent::LiveUpdate { .. }
                | WorkerEvent::LiveFailed(_)
        )
    }
}
