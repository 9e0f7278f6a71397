//! The view model: what the panels show and what is selected. Updated from
//! worker events and user input; no I/O here.

use crate::command::{CaseData, FlowDetail, PacketDetail, UiCommand};
use crate::graph::draw::GraphView;
use crate::graph::model::GraphModel;
use osprey_analysis::filter::Filter;
use osprey_analysis::store::query::FlowSummary;
use std::ops::Range;
use std::sync::Arc;

/// The main views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Connection graph.
    Graph,
    /// Flows table.
    Flows,
    /// Alerts table.
    Alerts,
    /// Endpoints and IO graph.
    Stats,
}

impl View {
    /// All views with their tab titles and shortcut digit.
    pub const ALL: [(View, &'static str); 4] = [
        (View::Graph, "Graph"),
        (View::Flows, "Flows"),
        (View::Alerts, "Alerts"),
        (View::Stats, "Statistics"),
    ];
}

/// What the detail panel is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected {
    /// Nothing.
    None,
    /// A workload (address).
    Node(String),
    /// A conversation between two addresses, with its flows.
    Edge(String, String, Vec<u64>),
    /// A flow.
    Flow(u64),
    /// An alert.
    Alert(u64),
}

/// Tabs of a flow's drill-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailTab {
    /// Packet list, layers, hex.
    Packets,
    /// Follow stream.
    Stream,
    /// DPI records.
    Records,
}

/// Flows table columns (sort keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowCol {
    /// Flow id.
    Id,
    /// Protocol.
    Proto,
    /// Client.
    Client,
    /// Server.
    Server,
    /// App protocol.
    App,
    /// Packets.
    Packets,
    /// Bytes.
    Bytes,
    /// Start time.
    Start,
    /// Alert severity.
    Alert,
}

/// The flows table: filter and sort over the case's flows.
#[derive(Debug, Clone)]
pub struct FlowsTable {
    /// Filter bar text.
    pub filter_text: String,
    /// Parse error of the filter text.
    pub filter_error: Option<String>,
    /// The applied filter.
    pub filter: Option<Filter>,
    /// Sort column and ascending.
    pub sort: (FlowCol, bool),
    /// Indices into `CaseData::flows`, filtered and sorted.
    pub rows: Vec<usize>,
}

impl Default for FlowsTable {
    fn default() -> Self {
        FlowsTable {
            filter_text: String::new(),
            filter_error: None,
            filter: None,
            sort: (FlowCol::Id, true),
            rows: Vec::new(),
        }
    }
}

impl FlowsTable {
    /// Parses the filter text; on success re-filters.
    pub fn apply_filter(&mut self, case: &CaseData) {
        let t = self.filter_text.trim();
        if t.is_empty() {
            self.filter = None;
            self.filter_error = None;
        } else {
            match Filter::parse(t) {
                Ok(f) => {
                    self.filter = Some(f);
                    self.filter_error = None;
                }
                Err(e) => {
                    self.filter_error = Some(e.to_string());
                    return;
                }
            }
        }
        self.refresh(case);
    }

    /// Recomputes the rows from the case, filter and sort.
    pub fn refresh(&mut self, case: &CaseData) {
        let flows = &case.flows;
        self.rows = (0..flows.len())
            .filter(|i| {
                self.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&flows[*i], &case.flow_alerts))
            })
            .collect();
        let (col, asc) = self.sort;
        let key = |f: &FlowSummary| -> (u64, String) {
            match col {
                FlowCol::Id => (f.id, String::new()),
                FlowCol::Proto => (u64::from(f.proto), String::new()),
                FlowCol::Client => (0, f.src_ip.clone()),
                FlowCol::Server => (0, f.dest_ip.clone()),
                FlowCol::App => (0, f.app_proto.clone()),
                FlowCol::Packets => (f.pkts_toserver + f.pkts_toclient, String::new()),
                FlowCol::Bytes => (f.bytes_toserver + f.bytes_toclient, String::new()),
                FlowCol::Start => (f.start_ns.max(0) as u64, String::new()),
                FlowCol::Alert => (
                    u64::from(4 - case.flow_alerts.severity(f.id).unwrap_or(4).min(4)),
                    String::new(),
                ),
            }
        };
        self.rows.sort_by(|a, b| {
            let o = key(&flows[*a])
                .cmp(&key(&flows[*b]))
                .then(flows[*a].id.cmp(&flows[*b].id));
            if asc {
                o
            } else {
                o.reverse()
            }
        });
    }

    /// Ids of the rows shown.
    pub fn ids(&self, case: &CaseData) -> Vec<u64> {
        self.rows
            .iter()
            .filter_map(|i| case.flows.get(*i).map(|f| f.id))
            .collect()
    }
}

/// The graph view model.
#[derive(Default)]
pub struct GraphState {
    /// Nodes and edges of the current window.
    pub model: GraphModel,
    /// Pan, zoom, layout.
    pub view: GraphView,
    /// Search box text.
    pub search: String,
    /// Time window in seconds from the first flow, when narrowed.
    pub window: Option<(f64, f64)>,
}

/// Everything the panels show.
pub struct AppState {
    /// Current main view.
    pub view: View,
    /// Dark theme.
    pub dark: bool,
    /// Text of the open box.
    pub open_path: String,
    /// Status line.
    pub status: String,
    /// Analysis progress (bytes read, bytes total, packets).
    pub progress: Option<(u64, u64, u64)>,
    /// The loaded case.
    pub case: Option<Arc<CaseData>>,
    /// `case` is a preview of a capture still being analysed.
    pub preview: bool,
    /// Flows table.
    pub flows: FlowsTable,
    /// Graph.
    pub graph: GraphState,
    /// Selection.
    pub selected: Selected,
    /// Drill-down of the selected flow.
    pub flow_detail: Option<Arc<FlowDetail>>,
    /// Selected packet, dissected.
    pub packet: Option<Arc<PacketDetail>>,
    /// Bytes highlighted in the hex view.
    pub highlight: Option<Range<usize>>,
    /// Flow drill-down tab.
    pub tab: DetailTab,
    /// Export path box.
    pub export_path: String,
    /// Commands for the worker, sent at the end of the frame.
    pub outbox: Vec<UiCommand>,
    /// IO graph series of the case.
    pub io: crate::panels::stats::IoSeries,
    /// Live capture panel.
    pub live: crate::panels::live::LiveState,
    /// First flow start and last flow end of the case, ns.
    bounds: Option<(i64, i64)>,
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            view: View::Graph,
            dark: true,
            open_path: String::new(),
            status: "Open a capture (pcap/pcapng) or a case directory: type a path or drop a file."
                .into(),
            progress: None,
            case: None,
            preview: false,
            flows: FlowsTable::default(),
            graph: GraphState::default(),
            selected: Selected::None,
            flow_detail: None,
            packet: None,
            highlight: None,
            tab: DetailTab::Packets,
            export_path: String::new(),
            outbox: Vec::new(),
            io: Default::default(),
            live: Default::default(),
            bounds: None,
        }
    }
}

impl AppState {
    /// Installs a newly loaded case.
    pub fn set_case(&mut self, case: Arc<CaseData>) {
        self.status = format!(
            "{}: {} flows, {} alerts",
            case.dir.display(),
            case.flows.len(),
            case.alerts.len()
        );
        self.export_path = case.dir.join("export.pcap").display().to_string();
        self.flows.apply_filter(&case);
        // After a preview the layout is kept, so the full graph grows from it.
        let view = std::mem::take(&mut self.graph.view);
        self.graph = GraphState::default();
        if self.preview {
            self.graph.view = view;
        }
        self.preview = false;
        self.selected = Selected::None;
        self.flow_detail = None;
        self.packet = None;
        self.install(case);
    }

    /// Installs a snapshot of a running live case: the graph keeps its
    /// layout (new nodes join, old ones stay put), the selection and the
    /// table's filter and sort stay; no drill-down until it ends.
    pub fn update_live(&mut self, case: Arc<CaseData>) {
        self.status = format!(
            "live: {} flows ended, {} alerts, {} frames",
            case.flows.len(),
            case.alerts.len(),
            self.live.packets
        );
        self.flows.refresh(&case);
        self.preview = true;
        self.live.updates += 1;
        self.install(case);
    }

    /// Series, bounds and graph of a new case.
    fn install(&mut self, case: Arc<CaseData>) {
        self.io = crate::panels::stats::IoSeries::of(&case);
        self.bounds = case
            .flows
            .iter()
            .map(|f| f.start_ns)
            .min()
            .zip(case.flows.iter().map(|f| f.end_ns).max());
        self.case = Some(case);
        self.rebuild_graph();
    }

    /// First flow start and last flow end, ns.
    pub fn time_bounds(&self) -> Option<(i64, i64)> {
        self.bounds
    }

    /// The graph's time window in absolute ns.
    pub fn window_ns(&self) -> Option<(i64, i64)> {
        let (a, _) = self.time_bounds()?;
        let (s, e) = self.graph.window?;
        Some((a + (s * 1e9) as i64, a + (e * 1e9) as i64))
    }

    /// Rebuilds the graph model for the current window (positions kept).
    pub fn rebuild_graph(&mut self) {
        let window = self.window_ns();
        if let Some(c) = &self.case {
            self.graph.model = GraphModel::build(&c.flows, &c.flow_alerts, &c.workloads, window);
            self.graph.view.layout.sync(&self.graph.model);
        }
    }

    /// Selects a flow and asks for its drill-down.
    pub fn select_flow(&mut self, id: u64) {
        if self.preview || self.selected == Selected::Flow(id) {
            return;
        }
        self.selected = Selected::Flow(id);
        self.flow_detail = None;
        self.packet = None;
        self.highlight = None;
        self.outbox.push(UiCommand::LoadFlow(id));
    }

    /// Selects a packet of the shown flow.
    pub fn select_packet(&mut self, pkt_no: u64) {
        if self.packet.as_ref().is_some_and(|p| p.pkt_no == pkt_no) {
            return;
        }
        self.highlight = None;
        self.outbox.push(UiCommand::LoadPacket(pkt_no));
    }

    /// The selected flow's summary.
    pub fn flow(&self, id: u64) -> Option<&FlowSummary> {
        let c = self.case.as_ref()?;
        c.flows
            .binary_search_by_key(&id, |f| f.id)
            .ok()
            .and_then(|i| c.flows.get(i))
    }
}

impl AppState {
    /// Selects an alert; its subject flow (or first evidence flow) is
    /// loaded for the packet drill-down.
    pub fn select_alert(&mut self, id: u64) {
        if self.preview {
            return;
        }
        let flow = self.case.as_ref().and_then(|c| {
            c.alerts
                .iter()
                .find(|a| a.id == id)
                .and_then(|a| a.flow_id.or(a.evidence_flows.first().copied()))
        });
        self.flow_detail = None;
        self.packet = None;
        self.highlight = None;
        self.selected = Selected::Alert(id);
        if let Some(f) = flow {
            self.outbox.push(UiCommand::LoadFlow(f));
        }
    }
}
