//! `osprey interfaces` on a real lab: a network namespace with a process
//! in it, joined to this one by a veth pair. The host side must be listed
//! as a veth whose peer is that namespace, with that process.
//! Needs root and iproute2 (CI runs as root).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::process::Command;

struct Lab {
    ns: String,
    veth: String,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .status();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().unwrap();
    assert!(st.success(), "ip {args:?}");
}

#[test]
fn a_veth_is_traced_to_its_namespace_and_processes() {
    require("ip");
    let tag = std::process::id() % 100_000;
    let lab = Lab {
        ns: format!("osprey-it-{tag}"),
        veth: format!("ospit{tag}"),
    };
    ip(&["netns", "add", &lab.ns]);
    ip(&[
        "link", "add", &lab.veth, "type", "veth", "peer", "name", "eth0", "netns", &lab.ns,
    ]);
    ip(&["link", "set", &lab.veth, "up"]);
    ip(&["netns", "exec", &lab.ns, "ip", "link", "set", "eth0", "up"]);
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &lab.ns, "sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let json = stdout_of(osprey().args(["interfaces", "--json"]));
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let ifaces: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lo = ifaces
        .iter()
        .find(|i| i["name"] == "lo")
        .expect("lo listed");
    assert_eq!(lo["kind"], "loopback");
    let v = ifaces
        .iter()
        .find(|i| i["name"] == lab.veth.as_str())
        .unwrap_or_else(|| panic!("{} not in {json}", lab.veth));
    assert_eq!(v["kind"], "veth");
    assert_eq!(v["peer"]["netns_name"], lab.ns.as_str());
    let procs = v["peer"]["processes"].as_array().unwrap();
    assert!(
        procs
            .iter()
            .any(|p| p["pid"] == sleeper.id() && p["comm"] == "sleep"),
        "{procs:?}"
    );
    // The table names the namespace too.
    let table = stdout_of(osprey().arg("interfaces"));
    assert!(table.contains(&format!("netns {}", lab.ns)), "{table}");
}
