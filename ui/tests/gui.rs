//! Drives the GUI through egui_kittest on cases built from `samples/` at
//! test time: open, the flows table and its filter, selecting a flow and
//! seeing its packets, layers, hex and stream, alerts, the graph search,
//! and export (the exported frames compared byte for byte with the
//! original capture's).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use osprey_analysis::pipeline::{self, AnalyzeConfig};
use osprey_analysis::store::CaseReader;
use osprey_capture::{FileSource, FrameSource};
use osprey_ui::OspreyApp;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(name)
}

/// Analyses a sample into a fresh case; returns (tempdir, case dir).
fn case_of(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let case = tmp.path().join("case");
    pipeline::analyze(
        &[sample(name)],
        &case,
        &AnalyzeConfig::default(),
        &mut |_| {},
    )
    .unwrap();
    (tmp, case)
}

fn harness(open: &Path) -> Harness<'static, OspreyApp> {
    let mut h = Harness::builder()
        .with_size((1280.0, 800.0))
        .with_max_steps(1_000)
        .build_ui_state(
            |ui, app: &mut OspreyApp| app.ui(ui),
            OspreyApp::new(Some(open.to_path_buf())),
        );
    settle(&mut h);
    h
}

/// Steps frames until the worker has answered everything.
fn settle(h: &mut Harness<'static, OspreyApp>) {
    let t0 = Instant::now();
    loop {
        h.step();
        if !h.state().busy() {
            h.step();
            h.step();
            if !h.state().busy() {
                return;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "worker did not answer"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn click(h: &mut Harness<'static, OspreyApp>, label: &str) {
    h.get_by_label(label).click();
    h.step();
    settle(h);
}

fn frames_of(capture: &Path) -> Vec<(i64, u32, Vec<u8>)> {
    let mut src = FileSource::open(capture, 0).unwrap();
    let mut out = Vec::new();
    while let Some(f) = src.next_frame().unwrap() {
        out.push((f.ts_ns, f.orig_len, f.data));
    }
    out
}

#[test]
fn flows_table_filter_and_drill_down() {
    let (_tmp, case_dir) = case_of("lab-basic.pcap");
    let reader = CaseReader::open(&case_dir).unwrap();
    let flows = reader.flows().unwrap();
    let mut h = harness(&case_dir);
    assert!(h
        .query_all_by_label_contains(&format!("{} flows", flows.len()))
        .next()
        .is_some());

    click(&mut h, "Flows");
    let first = &flows[0];
    let client = if first.src_ip.contains(':') {
        format!("[{}]:{}", first.src_ip, first.src_port)
    } else {
        format!("{}:{}", first.src_ip, first.src_port)
    };
    assert!(
        h.query_all_by_label(&client).next().is_some(),
        "row of flow 1"
    );

    // Filter: the same language as the CLI.
    let dns = flows.iter().filter(|f| f.app_proto == "dns").count();
    assert!(dns > 0);
    h.get_by_label("Filter:").focus();
    h.step();
    h.get_by_label("Filter:").type_text("app == dns");
    h.step();
    click(&mut h, "Apply");
    assert!(h
        .query_by_label(&format!("{dns} / {} flows", flows.len()))
        .is_some());
    click(&mut h, "Clear");
    h.get_by_label("Filter:").focus();
    h.step();
    h.get_by_label("Filter:").type_text("port == x");
    h.step();
    click(&mut h, "Apply");
    assert!(h
        .query_all_by_label_contains("filter error at column 9")
        .next()
        .is_some());
    click(&mut h, "Clear");

    // Select an HTTP flow: its packets, layers, hex, stream.
    let http = flows
        .iter()
        .find(|f| f.app_proto == "http")
        .expect("an http flow");
    let id_label = http.id.to_string();
    h.get_all_by_label(&id_label).next().unwrap().click();
    h.step();
    settle(&mut h);
    assert!(h
        .query_all_by_label_contains(&format!("Flow {}:", http.id))
        .next()
        .is_some());
    let nos = reader.flow_packet_numbers(http.id).unwrap();
    assert!(
        h.query_by_label(&format!("#{}", nos[0].0)).is_some(),
        "first packet listed"
    );
    assert!(
        h.query_by_label(&format!("Frame #{}", nos[0].0)).is_some(),
        "first packet selected"
    );
    assert!(
        h.query_all_by_label_contains("Ethernet II")
            .next()
            .is_some()
            || h.query_all_by_label_contains("Linux cooked")
                .next()
                .is_some()
    );
    assert!(h
        .query_all_by_label_contains("Transmission Control Protocol")
        .next()
        .is_some());
    assert!(
        h.query_all_by_label_contains("0000  ").next().is_some(),
        "hex view"
    );
    // Click a field: its bytes are highlighted (state) and it stays shown.
    let sport = format!("Source port: {}", http.src_port);
    if h.query_by_label(&sport).is_some() {
        click(&mut h, &sport);
    }
    click(&mut h, "Follow stream");
    assert!(h
        .query_all_by_label_contains("client -> server")
        .next()
        .is_some());
    assert!(
        h.query_all_by_label_contains("HTTP/1.").next().is_some(),
        "HTTP in the stream"
    );
    click(&mut h, "DPI records");
    assert!(
        h.query_all_by_label_contains("http at").next().is_some(),
        "the http record"
    );
}

#[test]
fn export_flow_is_byte_identical() {
    let (tmp, case_dir) = case_of("lab-basic.pcap");
    let reader = CaseReader::open(&case_dir).unwrap();
    let flows = reader.flows().unwrap();
    let f = flows
        .iter()
        .max_by_key(|f| f.pkts_toserver + f.pkts_toclient)
        .unwrap();
    let mut h = harness(&case_dir);
    click(&mut h, "Flows");
    h.get_all_by_label(&f.id.to_string())
        .next()
        .unwrap()
        .click();
    h.step();
    settle(&mut h);
    let out = tmp.path().join("flow.pcap");
    h.state_mut().state_mut().export_path = out.display().to_string();
    h.step();
    click(&mut h, "Export flow");
    assert!(h.query_all_by_label_contains("exported").next().is_some());
    let exported = frames_of(&out);
    let original = frames_of(&sample("lab-basic.pcap"));
    let nos = reader.flow_packet_numbers(f.id).unwrap();
    assert_eq!(exported.len(), nos.len());
    for ((n, _), e) in nos.iter().zip(&exported) {
        assert_eq!(&original[*n as usize - 1], e, "frame {n}");
    }

    // The filter result, to pcapng, and the table as CSV.
    let udp: Vec<u64> = flows
        .iter()
        .filter(|f| f.proto == 17)
        .map(|f| f.id)
        .collect();
    h.get_by_label("Filter:").focus();
    h.step();
    h.get_by_label("Filter:").type_text("proto == udp");
    h.step();
    click(&mut h, "Apply");
    let out = tmp.path().join("udp.pcapng");
    h.state_mut().state_mut().export_path = out.display().to_string();
    h.step();
    click(&mut h, "Export filter result");
    let mut nos: Vec<u64> = udp
        .iter()
        .flat_map(|id| {
            reader
                .flow_packet_numbers(*id)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
        })
        .collect();
    nos.sort_unstable();
    let exported = frames_of(&out);
    assert_eq!(exported.len(), nos.len());
    for (n, e) in nos.iter().zip(&exported) {
        assert_eq!(&original[*n as usize - 1], e, "frame {n}");
    }
    click(&mut h, "Export flows CSV");
    let csv = std::fs::read_to_string(tmp.path().join("udp-flows.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "Id,Proto,Client,Server,App,Packets,Bytes,Start (s),Alert"
    );
    assert_eq!(lines.len(), udp.len() + 1);
    assert!(lines[1..]
        .iter()
        .all(|l| l.split(',').nth(1) == Some("UDP")));
}

#[test]
fn alerts_drill_down_and_evidence_export() {
    let (tmp, case_dir) = case_of("attacks/nmap-syn-scan.pcap");
    let reader = CaseReader::open(&case_dir).unwrap();
    let alerts = reader.alerts().unwrap();
    assert!(!alerts.is_empty());
    let mut h = harness(&case_dir);
    click(&mut h, "Alerts");
    let a = &alerts[0];
    assert!(h.query_all_by_label(&a.signature).next().is_some());
    h.get_all_by_label(&a.signature).next().unwrap().click();
    h.step();
    settle(&mut h);
    assert!(h
        .query_by_label(&format!("Alert {}: {}", a.id, a.signature))
        .is_some());
    assert!(h
        .query_by_label(&format!(
            "Evidence: {} flow(s), {} frame(s)",
            a.evidence_flows.len(),
            a.evidence_packets.len()
        ))
        .is_some());
    let out = tmp.path().join("evidence.pcapng");
    h.state_mut().state_mut().export_path = out.display().to_string();
    h.step();
    click(&mut h, "Export evidence");
    let mut nos: Vec<u64> = a.evidence_packets.clone();
    for f in &a.evidence_flows {
        nos.extend(
            reader
                .flow_packet_numbers(*f)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n),
        );
    }
    nos.sort_unstable();
    nos.dedup();
    let exported = frames_of(&out);
    let original = frames_of(&sample("attacks/nmap-syn-scan.pcap"));
    assert_eq!(exported.len(), nos.len());
    for (n, e) in nos.iter().zip(&exported) {
        assert_eq!(&original[*n as usize - 1], e);
    }
}

#[test]
fn graph_search_selects_a_workload_and_statistics_list_it() {
    let (_tmp, case_dir) = case_of("lab-basic.pcap");
    let flows = CaseReader::open(&case_dir).unwrap().flows().unwrap();
    let mut h = harness(&case_dir);
    let ip = flows[0].dest_ip.clone();
    h.get_by_label("Find:").focus();
    h.step();
    h.get_by_label("Find:").type_text(&ip);
    h.step();
    h.step();
    assert!(h.query_by_label(&format!("Workload {ip}")).is_some());
    click(&mut h, "Statistics");
    assert!(h.query_all_by_label(&ip).next().is_some(), "endpoint row");
    // Keyboard shortcut back to the flows view.
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Num2);
    h.step();
    assert!(h.query_by_label("Filter:").is_some());
}
