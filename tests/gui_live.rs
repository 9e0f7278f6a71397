//! The GUI's live source on a real interface (root): a pod namespace made
//! by the test behind a veth whose host end has no address, pinging a
//! neighbour pinned in its ARP table, so echo requests cross the veth and
//! go no further. The GUI lists the veth with the namespace behind it,
//! captures on it, shows the ping's flow (still open) and the pod in the
//! graph while capturing, with growing counts, and the finished case shows
//! the same ICMP flow in the flows table and the pod in the graph; frames
//! come through the capture helper
//! process (`osprey capture-helper`). The namespace (and with it the veth
//! pair) is deleted at the end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::lab::*;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use osprey_ui::OspreyApp;
use std::time::{Duration, Instant};

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
fn gui_captures_a_pinged_pod_and_shows_its_icmp_flow() {
    common::require("ping");
    let t = tag();
    let (pod, veth) = (format!("og{t}-pod"), format!("vg{t}"));
    let mut lab = Lab::new();
    lab.ns(&pod);
    sh(&[
        "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &pod,
    ]);
    // The host end: no address, no IPv6, so only the pod's frames cross it.
    sh(&[
        "sysctl",
        "-qw",
        &format!("net.ipv6.conf.{veth}.disable_ipv6=1"),
    ]);
    sh(&["ip", "link", "set", &veth, "up"]);
    in_ns(&pod, &["ip", "addr", "add", "10.213.0.2/24", "dev", "eth0"]);
    in_ns(&pod, &["ip", "link", "set", "eth0", "up"]);
    in_ns(
        &pod,
        &[
            "ip",
            "neigh",
            "add",
            "10.213.0.9",
            "lladdr",
            "02:00:00:00:02:09",
            "dev",
            "eth0",
            "nud",
            "permanent",
        ],
    );
    lab.spawn(&pod, &["ping", "-q", "-i", "0.05", "10.213.0.9"]);

    let tmp = tempfile::tempdir().unwrap();
    let case_dir = tmp.path().join("case");
    // The GUI captures through the privilege-split helper: here the osprey
    // binary, not this test executable.
    std::env::set_var("OSPREY_CAPTURE_HELPER", env!("CARGO_BIN_EXE_osprey"));
    let mut h = Harness::builder()
        .with_size((1280.0, 800.0))
        .with_max_steps(1_000)
        .build_ui_state(|ui, app: &mut OspreyApp| app.ui(ui), OspreyApp::new(None));
    h.step();
    h.get_by_label("Live").click();
    step_until(&mut h, "interfaces listed", |a| {
        a.state().live.interfaces.is_some()
    });
    let row = format!("{veth} · {pod}");
    assert!(
        h.query_by_label(&row).is_some(),
        "{veth} listed with its netns"
    );
    h.get_by_label(&row).click();
    h.step();
    h.state_mut().state_mut().live.case_dir = case_dir.display().to_string();
    h.get_by_label("Start capture").click();
    h.step();
    step_until(&mut h, "capture started", |a| a.state().live.is_running());
    step_until(&mut h, "frames analysed", |a| a.state().live.packets >= 20);
    let helpers = helper_processes(&veth);
    assert_eq!(helpers, 1, "one capture helper process holds {veth}");
    // While the capture runs, the ping's flow (still open) is in the flows
    // table and its pod in the graph, and its counts grow.
    let open_icmp = |a: &OspreyApp| {
        let st = a.state();
        let case = st.case.as_ref()?;
        let f = case
            .flows
            .iter()
            .find(|f| f.proto == 1 && f.src_ip == "10.213.0.2" && f.dest_ip == "10.213.0.9")?;
        let hits = st.graph.model.search("10.213.0.2");
        let node = st.graph.model.graph.node_weight(*hits.first()?)?;
        (node.label == pod && a.state().live.is_running()).then_some((f.id, f.pkts_toserver))
    };
    step_until(&mut h, "the open ICMP flow and its pod, live", |a| {
        open_icmp(a).is_some()
    });
    let (live_id, seen) = open_icmp(h.state()).unwrap();
    step_until(&mut h, "its packet count growing, live", |a| {
        open_icmp(a).is_some_and(|(_, n)| n > seen)
    });
    h.get_by_label("Stop capture").click();
    h.step();
    step_until(&mut h, "the finished case", |a| {
        !a.busy() && !a.state().live.is_running() && a.state().case.is_some() && !a.state().preview
    });

    let st = h.state().state();
    let case = st.case.as_ref().unwrap();
    assert_eq!(case.dir, case_dir);
    let icmp: Vec<_> = st
        .flows
        .rows
        .iter()
        .map(|i| &case.flows[*i])
        .filter(|f| f.proto == 1 && f.src_ip == "10.213.0.2" && f.dest_ip == "10.213.0.9")
        .collect();
    assert_eq!(icmp.len(), 1, "one ICMP flow in the flows table");
    assert!(icmp[0].pkts_toserver >= 20);
    assert_eq!(icmp[0].id, live_id, "the flow seen live, ended with its id");
    // The pod's address is a node named after the namespace behind it.
    let m = &st.graph.model;
    let hits = m.search("10.213.0.2");
    assert_eq!(hits.len(), 1);
    let node = m.graph.node_weight(hits[0]).unwrap();
    assert_eq!(node.label, pod, "attributed to the pod's namespace");
    drop(h);
    drop(lab);
    // The kernel tears the pair down with the namespace, asynchronously.
    let gone = Instant::now();
    while std::path::Path::new(&format!("/sys/class/net/{veth}")).exists() {
        assert!(
            gone.elapsed() < Duration::from_secs(10),
            "veth removed with the namespace"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Running `osprey capture-helper` processes whose arguments name `iface`.
fn helper_processes(iface: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| {
            let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
            args.iter().any(|a| *a == b"capture-helper")
                && args
                    .iter()
                    .any(|a| a.ends_with(iface.as_bytes()) || *a == iface.as_bytes())
        })
        .count()
}
