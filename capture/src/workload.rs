//! Which workload holds which IP address right now, for attributing flows.
//!
//! Built on [`iface::discover`]: every host-side veth whose peer namespace
//! is known gives a workload (the pod, else the namespace's name, else its
//! processes' names), and that namespace's addresses are read from
//! `ip -n <name> -j addr` for named namespaces, or else from
//! `/proc/<pid>/net/fib_trie` of a process inside (IPv4 local addresses;
//! readable with `hostPID` and no extra capability). Loopback addresses
//! are left out. Anything unreadable means fewer addresses, never an error.

use crate::iface::{self, Interface};
use std::net::IpAddr;
use std::process::Command;

/// One address held by a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadAddr {
    /// The address.
    pub ip: IpAddr,
    /// Pod name, else the namespace's name, else its processes' names.
    pub name: String,
    /// Kubernetes namespace, when known.
    pub namespace: Option<String>,
    /// Container id of the first process with one, when known.
    pub container: Option<String>,
    /// Pod UID, when known.
    pub pod_uid: Option<String>,
    /// The host-side interface in front of it.
    pub iface: String,
}

/// A short label for who sits behind an interface: `namespace/pod`, the
/// netns name, or the processes' names; `None` when nothing is known.
pub fn label(i: &Interface) -> Option<String> {
    let p = i.peer.as_ref()?;
    if let Some(pod) = &p.pod {
        return Some(format!("{}/{}", pod.namespace, pod.name));
    }
    if let Some(n) = &p.netns_name {
        return Some(n.clone());
    }
    let names: Vec<&str> = p
        .processes
        .iter()
        .map(|x| x.comm.as_str())
        .take(4)
        .collect();
    (!names.is_empty()).then(|| names.join(","))
}

/// Every workload address behind this namespace's veths, now.
pub fn snapshot() -> Vec<WorkloadAddr> {
    let Ok(ifaces) = iface::discover() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for i in &ifaces {
        let (Some(p), Some(name)) = (&i.peer, label(i)) else {
            continue;
        };
        let addrs = match (&p.netns_name, p.processes.first()) {
            (Some(ns), _) => netns_addrs(ns),
            (None, Some(proc_)) => {
                std::fs::read_to_string(format!("/proc/{}/net/fib_trie", proc_.pid))
                    .map(|t| fib_trie_locals(&t))
                    .unwrap_or_default()
            }
            (None, None) => Vec::new(),
        };
        let name = p.pod.as_ref().map_or(name, |pod| pod.name.clone());
        for ip in addrs {
            out.push(WorkloadAddr {
                ip,
                name: name.clone(),
                namespace: p.pod.as_ref().map(|pod| pod.namespace.clone()),
                container: p.processes.iter().find_map(|x| x.container_id.clone()),
                pod_uid: p.pod.as_ref().map(|pod| pod.uid.clone()),
                iface: i.name.clone(),
            });
        }
    }
    out
}

/// Global addresses of a named namespace, from `ip -n NAME -j addr show`.
fn netns_addrs(ns: &str) -> Vec<IpAddr> {
    let Ok(out) = Command::new("ip")
        .args(["-n", ns, "-j", "addr", "show"])
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    addrs_from_ip_json(&out.stdout)
}

fn addrs_from_ip_json(json: &[u8]) -> Vec<IpAddr> {
    let v: serde_json::Value = serde_json::from_slice(json).unwrap_or_default();
    let mut out = Vec::new();
    for link in v.as_array().into_iter().flatten() {
        for a in link["addr_info"].as_array().into_iter().flatten() {
            if let Some(ip) = a["local"].as_str().and_then(|s| s.parse::<IpAddr>().ok()) {
                if !ip.is_loopback() && a["scope"].as_str() != Some("link") {
                    out.push(ip);
                }
            }
        }
    }
    out
}

/// IPv4 addresses marked `/32 host LOCAL` in a `/proc/net/fib_trie` text
/// (each follows the `|-- a.b.c.d` line naming it).
fn fib_trie_locals(text: &str) -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut last: Option<IpAddr> = None;
    for line in text.lines() {
        let t = line.trim_start_matches([' ', '|', '+', '-']).trim();
        if let Ok(ip) = t.parse::<IpAddr>() {
            last = Some(ip);
        } else if line.contains("/32 host LOCAL") {
            if let Some(ip) = last.filter(|ip| !ip.is_loopback() && !out.contains(ip)) {
                out.push(ip);
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_from_fib_trie() {
        let text = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n     +-- 10.244.1.0/24 2 0 2\n        +-- 10.244.1.0/28 2 0 2\n           |-- 10.244.1.0\n              /24 link UNICAST\n           |-- 10.244.1.10\n              /32 host LOCAL\n     |-- 127.0.0.1\n        /32 host LOCAL\nLocal:\n           |-- 10.244.1.10\n              /32 host LOCAL\n";
        assert_eq!(
            fib_trie_locals(text),
            vec!["10.244.1.10".parse::<IpAddr>().unwrap()]
        );
        assert!(fib_trie_locals("garbage\n/32 host LOCAL\n").is_empty());
    }

    #[test]
    fn global_addresses_from_ip_json() {
        let j = br#"[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","scope":"host"}]},
            {"ifname":"eth0","addr_info":[{"family":"inet","local":"10.1.2.3","scope":"global"},
            {"family":"inet6","local":"fe80::1","scope":"link"}]}]"#;
        assert_eq!(
            addrs_from_ip_json(j),
            vec!["10.1.2.3".parse::<IpAddr>().unwrap()]
        );
        assert!(addrs_from_ip_json(b"not json").is_empty());
    }
}
