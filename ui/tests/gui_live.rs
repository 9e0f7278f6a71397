//! The live source and workload nodes through egui_kittest:
//! - a fake live backend (two "veths" replaying a sample capture, a new
//!   copy every round, two hours later so the last copy's flows end)
//!   drives the interface list, start, live updates, pause, and stop;
//! - a case with `workloads` rows shows pods grouped by namespace.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crossbeam_channel::bounded;
use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use osprey_analysis::live::LiveSource;
use osprey_analysis::pipeline::{self, AnalyzeConfig};
use osprey_analysis::store::CaseReader;
use osprey_capture::live::IfaceCounters;
use osprey_capture::{FileSource, FrameSource, RawFrame};
use osprey_ui::graph::model::NodeKind;
use osprey_ui::live::{IfaceRow, LiveBackend, Started};
use osprey_ui::OspreyApp;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(name)
}

const ROUND_SHIFT_NS: i64 = 2 * 3600 * 1_000_000_000;

/// Two interfaces; frames are `lab-basic.pcap` again and again.
struct FakeBackend;

impl LiveBackend for FakeBackend {
    fn interfaces(&self) -> Result<Vec<IfaceRow>, String> {
        Ok(["web", "db"]
            .iter()
            .map(|p| IfaceRow {
                name: format!("veth-{p}"),
                label: Some(format!("shop/{p}")),
                kind: "veth".into(),
                up: true,
            })
            .collect())
    }

    fn start(&self, ifaces: &[IfaceRow]) -> Result<Started, String> {
        let mut frames: Vec<RawFrame> = Vec::new();
        let mut src = FileSource::open(&sample("lab-basic.pcap"), 0).unwrap();
        while let Some(f) = src.next_frame().unwrap() {
            frames.push(f);
        }
        let (tx, rx) = bounded(16);
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut round = 0;
            while !s.load(Ordering::Relaxed) {
                let batch: Vec<RawFrame> = frames
                    .iter()
                    .map(|f| RawFrame {
                        ts_ns: f.ts_ns + round * ROUND_SHIFT_NS,
                        data_offset: 0,
                        ..f.clone()
                    })
                    .collect();
                if tx.send(batch).is_err() {
                    return;
                }
                round += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let sources = ifaces
            .iter()
            .map(|i| LiveSource {
                name: i.name.clone(),
                label: i.label.clone(),
                counters: Arc::new(IfaceCounters::default()),
            })
            .collect();
        Ok(Started {
            frames: rx,
            ring_ifaces: ifaces
                .iter()
                .map(|i| osprey_capture::ring::RingIface {
                    name: i.name.clone(),
                    description: i.label.clone(),
                    link_type: osprey_capture::LinkType::ETHERNET,
                    snaplen: 262_144,
                })
                .collect(),
            sources,
            stop,
            guard: Box::new(thread),
        })
    }
}

fn step_until(h: &mut Harness<'static, OspreyApp>, what: &str, done: impl Fn(&OspreyApp) -> bool) {
    let t0 = Instant::now();
    while !done(h.state()) {
        h.step();
        assert!(t0.elapsed() < Duration::from_secs(60), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
    h.step();
}

#[test]
fn live_panel_lists_starts_updates_pauses_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let case_dir = tmp.path().join("live-case");
    let mut h = Harness::builder()
        .with_size((1280.0, 800.0))
        .with_max_steps(1_000)
        .build_ui_state(
            |ui, app: &mut OspreyApp| app.ui(ui),
            OspreyApp::new(None).with_live_backend(Arc::new(FakeBackend)),
        );
    h.step();
    h.get_by_label("Live").click();
    step_until(&mut h, "interfaces listed", |a| {
        a.state().live.interfaces.is_some()
    });
    // Each veth with the pod behind it; nothing chosen, no start.
    assert!(h.query_by_label("veth-web · shop/web").is_some());
    assert!(h.query_by_label("veth-db · shop/db").is_some());
    h.get_by_label("Start capture").click();
    h.step();
    assert!(!h.state().state().live.waiting, "start is disabled");

    h.get_by_label("veth-web · shop/web").click();
    h.step();
    h.state_mut().state_mut().live.case_dir = case_dir.display().to_string();
    h.get_by_label("Start capture").click();
    h.step();
    step_until(&mut h, "capture started", |a| a.state().live.is_running());
    assert_eq!(h.state().state().live.running, vec!["veth-web".to_string()]);
    assert!(h.query_by_label("Live (capturing)").is_some());
    // The graph fills while the capture runs (ended flows of past rounds).
    step_until(&mut h, "a live update with flows", |a| {
        a.state().case.as_ref().is_some_and(|c| !c.flows.is_empty())
    });
    assert!(h.state().state().preview, "no drill-down while live");
    assert!(h.state().state().graph.model.graph.node_count() > 0);

    // Paused: updates are held back, the view stays as it is.
    h.get_by_label("Pause live updates").click();
    h.step();
    let shown = h.state().state().live.updates;
    step_until(&mut h, "an update held back", |a| {
        a.state().live.held.is_some()
    });
    assert_eq!(h.state().state().live.updates, shown);
    // Resumed: the held update is shown at once.
    h.get_by_label("Pause live updates").click();
    h.step();
    assert!(h.state().state().live.updates > shown);
    assert!(h.state().state().live.held.is_none());

    h.get_by_label("Stop capture").click();
    h.step();
    step_until(&mut h, "the finished case", |a| {
        !a.busy() && !a.state().live.is_running() && !a.state().preview
    });
    let st = h.state().state();
    let case = st.case.as_ref().unwrap();
    assert_eq!(case.dir, case_dir);
    let on_disk = CaseReader::open(&case_dir).unwrap().flows().unwrap();
    assert_eq!(case.flows.len(), on_disk.len());
    assert_eq!(st.flows.rows.len(), on_disk.len());
    assert!(h.query_by_label("Start capture").is_some());
    // Drill-down reads the frames back from the ring the run kept in the
    // case directory: a flow's packets, and a packet's bytes as captured.
    let flow = on_disk.iter().max_by_key(|f| f.pkts_toserver).unwrap().id;
    h.state_mut().state_mut().select_flow(flow);
    step_until(&mut h, "the flow's packets", |a| {
        a.state()
            .flow_detail
            .as_ref()
            .is_some_and(|d| d.flow_id == flow && !d.packets.is_empty())
    });
    let first = h.state().state().flow_detail.as_ref().unwrap().packets[0].pkt_no;
    h.state_mut().state_mut().select_packet(first);
    step_until(&mut h, "the packet's bytes", |a| {
        a.state().packet.as_ref().is_some_and(|p| p.pkt_no == first)
    });
    let data = h.state().state().packet.as_ref().unwrap().data.clone();
    let sample: Vec<Vec<u8>> = {
        let mut src = FileSource::open(&sample("lab-basic.pcap"), 0).unwrap();
        let mut v = Vec::new();
        while let Some(f) = src.next_frame().unwrap() {
            v.push(f.data);
        }
        v
    };
    assert!(sample.contains(&data), "a frame of the replayed capture");
    assert!(case_dir.join(osprey_ui::live::FRAMES_DIR).is_dir());
}

#[test]
fn workload_rows_make_pod_nodes_grouped_by_namespace() {
    let tmp = tempfile::tempdir().unwrap();
    let case_dir = tmp.path().join("case");
    pipeline::analyze(
        &[sample("lab-basic.pcap")],
        &case_dir,
        &AnalyzeConfig::default(),
        &mut |_| {},
    )
    .unwrap();
    let flows = CaseReader::open(&case_dir).unwrap().flows().unwrap();
    let (client, server) = (flows[0].src_ip.clone(), flows[0].dest_ip.clone());
    assert_ne!(client, server);
    {
        let db = rusqlite::Connection::open(case_dir.join("case.sqlite")).unwrap();
        for (ip, name) in [(&client, "web-7d9f"), (&server, "db-0")] {
            db.execute(
                "INSERT INTO workloads(ip, name, namespace, container, pod_uid, iface, first_ns, last_ns) VALUES (?1, ?2, 'shop', NULL, NULL, 'veth0', ?3, ?4)",
                rusqlite::params![ip, name, i64::MIN, i64::MAX],
            )
            .unwrap();
        }
    }
    let mut h = Harness::builder()
        .with_size((1280.0, 800.0))
        .with_max_steps(1_000)
        .build_ui_state(
            |ui, app: &mut OspreyApp| app.ui(ui),
            OspreyApp::new(Some(case_dir.clone())),
        );
    step_until(&mut h, "case loaded", |a| {
        a.state().case.is_some() && !a.busy()
    });
    let m = &h.state().state().graph.model;
    for pod in ["shop/web-7d9f", "shop/db-0"] {
        let d = m.find(pod).and_then(|n| m.graph.node_weight(n)).unwrap();
        assert_eq!(d.group, "shop");
        assert_eq!(d.kind, NodeKind::Pod);
    }
    assert!(m.find(&client).is_none(), "the address became the pod");
    // Searching by the address finds the pod.
    h.get_by_label("Find:").focus();
    h.step();
    h.get_by_label("Find:").type_text(&server);
    h.step();
    h.step();
    assert!(h.query_by_label("Workload shop/db-0").is_some());
    // The endpoints table lists the pods with their namespace.
    h.get_by_label("Statistics").click();
    h.step();
    h.step();
    assert!(h.query_by_label("shop/web-7d9f").is_some());
    assert!(h.query_all_by_label("shop").next().is_some());
}

/// Lists one interface and cannot open it.
struct DeniedBackend;

impl LiveBackend for DeniedBackend {
    fn interfaces(&self) -> Result<Vec<IfaceRow>, String> {
        FakeBackend.interfaces()
    }

    fn start(&self, ifaces: &[IfaceRow]) -> Result<Started, String> {
        Err(format!("veth capture denied on {}", ifaces[0].name))
    }
}

#[test]
fn a_capture_that_cannot_start_says_why_and_can_be_retried() {
    let mut h = Harness::builder()
        .with_size((1280.0, 800.0))
        .with_max_steps(1_000)
        .build_ui_state(
            |ui, app: &mut OspreyApp| app.ui(ui),
            OspreyApp::new(None).with_live_backend(Arc::new(DeniedBackend)),
        );
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::L);
    step_until(&mut h, "interfaces listed", |a| {
        a.state().live.interfaces.is_some()
    });
    h.get_by_label("veth-db · shop/db").click();
    h.step();
    h.get_by_label("Start capture").click();
    h.step();
    step_until(&mut h, "the answer", |a| !a.busy());
    assert!(h.query_by_label("veth capture denied on veth-db").is_some());
    let live = &h.state().state().live;
    assert!(!live.is_running() && !live.waiting);
    assert!(h.state().state().case.is_none());
}
