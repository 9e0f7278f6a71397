//! Interface discovery: the interfaces of this network namespace, what
//! kind each is, and — for the host side of a veth pair, where a pod's
//! traffic is captured — which network namespace holds the peer, which
//! processes live there, and which container and Kubernetes pod they
//! belong to when the cgroup paths tell.
//!
//! Sources, all read-only: `ip -j -d link show` and `ip -j netns list`
//! (iproute2's JSON, the kernel's rtnetlink view: link kind, peer netns
//! id, bridge master), `/run/netns/*` (names given by `ip netns add`,
//! which count as labels so a lab looks like pods), `/proc/<pid>/ns/net`
//! (which processes share a namespace), `/proc/<pid>/cgroup` (container id
//! from docker, containerd and CRI-O paths, pod UID from kubepods slices)
//! and `/var/log/pods/<namespace>_<pod>_<uid>` (pod names, when the node
//! has them). Whatever is missing degrades to less detail, never to an
//! error: only the interface list itself is required.

use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// What an interface is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IfaceKind {
    /// The loopback interface.
    Loopback,
    /// A NIC (has a device behind it).
    Physical,
    /// One end of a veth pair.
    Veth,
    /// A Linux bridge.
    Bridge,
    /// An overlay or tunnel (vxlan, geneve, gre, ipip, wireguard, …).
    Tunnel,
    /// Anything else, with the kernel's kind name.
    Other,
}

/// A process in a peer namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsProcess {
    /// Process id (in this pid namespace).
    pub pid: u32,
    /// Command name (`/proc/<pid>/comm`).
    pub comm: String,
    /// Container id (64 hex digits) from its cgroup path, when there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
    /// Kubernetes pod UID from its cgroup path, when there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
}

/// A Kubernetes pod, as the node's pod log directory names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PodRef {
    /// Kubernetes namespace.
    pub namespace: String,
    /// Pod name.
    pub name: String,
    /// Pod UID.
    pub uid: String,
}

/// Who sits behind the host side of a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Peer {
    /// The peer's network namespace id as the kernel numbers it here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_id: Option<i64>,
    /// Its name, when it was given one with `ip netns add`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns_name: Option<String>,
    /// Processes in that namespace (found only for named namespaces).
    pub processes: Vec<NsProcess>,
    /// The pod, when the processes' cgroups and the pod logs say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodRef>,
}

/// One interface of this namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interface {
    /// Name.
    pub name: String,
    /// Interface index.
    pub index: u32,
    /// Kind.
    pub kind: IfaceKind,
    /// The kernel's kind name (`veth`, `bridge`, `vxlan`, …), when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_kind: Option<String>,
    /// The bridge it is enslaved to, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// Administratively and operationally up.
    pub up: bool,
    /// MTU.
    pub mtu: u32,
    /// For a veth whose peer is in another namespace: who is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<Peer>,
}

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// `ip` could not be run or failed.
    #[error("running `ip -j -d link show`: {0}")]
    Ip(String),
    /// Its output was not the expected JSON.
    #[error("reading `ip -j -d link show` output: {0}")]
    Json(#[from] serde_json::Error),
}

/// The interfaces of this network namespace, by index.
pub fn discover() -> Result<Vec<Interface>, DiscoveryError> {
    let links = ip_json(&["-j", "-d", "link", "show"]).map_err(DiscoveryError::Ip)?;
    let links: serde_json::Value = serde_json::from_slice(&links)?;
    // Named namespaces: id → name (ids only exist for namespaces this one
    // has a link into), name → inode.
    let netns: serde_json::Value = ip_json(&["-j", "netns", "list"])
        .ok()
        .and_then(|o| serde_json::from_slice(&o).ok())
        .unwrap_or(serde_json::Value::Null);
    let mut ns_by_id = BTreeMap::new();
    for n in netns.as_array().into_iter().flatten() {
        if let (Some(name), Some(id)) = (n["name"].as_str(), n["id"].as_i64()) {
            ns_by_id.insert(id, name.to_string());
        }
    }
    let procs = processes_by_netns();
    let pods = pods_by_uid(Path::new("/var/log/pods"));
    let by_index: BTreeMap<u64, String> = links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| Some((l["ifindex"].as_u64()?, l["ifname"].as_str()?.to_string())))
        .collect();
    let mut out = Vec::new();
    for l in links.as_array().into_iter().flatten() {
        let (Some(index), Some(name)) = (l["ifindex"].as_u64(), l["ifname"].as_str()) else {
            continue;
        };
        let kernel_kind = l["linkinfo"]["info_kind"].as_str().map(str::to_string);
        let kind = kind_of(name, kernel_kind.as_deref(), l["link_type"].as_str());
        let flags: Vec<&str> = l["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .collect();
        let peer = (kind == IfaceKind::Veth)
            .then(|| l["link_netnsid"].as_i64())
            .flatten()
            .map(|id| {
                let netns_name = ns_by_id.get(&id).cloned();
                let processes = netns_name
                    .as_deref()
                    .and_then(netns_inode)
                    .and_then(|ino| procs.get(&ino).cloned())
                    .unwrap_or_default();
                let pod = processes
                    .iter()
                    .filter_map(|p| p.pod_uid.as_deref())
                    .find_map(|uid| pods.get(uid).cloned());
                Peer {
                    netns_id: Some(id),
                    netns_name,
                    processes,
                    pod,
                }
            });
        out.push(Interface {
            name: name.to_string(),
            index: index as u32,
            kind,
            kernel_kind,
            master: l["master"]
                .as_str()
                .map(str::to_string)
                .or_else(|| l["master"].as_u64().and_then(|m| by_index.get(&m).cloned())),
            up: flags.contains(&"UP") && flags.contains(&"LOWER_UP"),
            mtu: l["mtu"].as_u64().unwrap_or(0) as u32,
            peer,
        });
    }
    out.sort_by_key(|i| i.index);
    Ok(out)
}

fn ip_json(args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(out.stdout)
}

/// The kind of an interface from the kernel's kind name, or for the ones
/// without one, from sysfs (a device behind it) and the link type.
fn kind_of(name: &str, kernel_kind: Option<&str>, link_type: Option<&str>) -> IfaceKind {
    match kernel_kind {
        Some("veth") => IfaceKind::Veth,
        Some("bridge") => IfaceKind::Bridge,
        Some(
            "vxlan" | "geneve" | "gre" | "gretap" | "ip6gre" | "ipip" | "ip6tnl" | "sit"
            | "wireguard" | "vti" | "ip_vti",
        ) => IfaceKind::Tunnel,
        Some(_) => IfaceKind::Other,
        None if link_type == Some("loopback") => IfaceKind::Loopback,
        None if Path::new("/sys/class/net")
            .join(name)
            .join("device")
            .exists() =>
        {
            IfaceKind::Physical
        }
        None => IfaceKind::Other,
    }
}

/// The inode of a named namespace's handle (`/run/netns/<name>`), which
/// `/proc/<pid>/ns/net` links name as `net:[<inode>]`.
fn netns_inode(name: &str) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(Path::new("/run/netns").join(name))
        .ok()
        .map(|m| m.ino())
}

/// Every process, grouped by the inode of its network namespace.
fn processes_by_netns() -> BTreeMap<u64, Vec<NsProcess>> {
    let mut out: BTreeMap<u64, Vec<NsProcess>> = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(link) = std::fs::read_link(e.path().join("ns/net")) else {
            continue;
        };
        let Some(ino) = link
            .to_str()
            .and_then(|s| s.strip_prefix("net:["))
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let comm = std::fs::read_to_string(e.path().join("comm"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let cgroup = std::fs::read_to_string(e.path().join("cgroup")).unwrap_or_default();
        let (container_id, pod_uid) = container_of(&cgroup);
        out.entry(ino).or_default().push(NsProcess {
            pid,
            comm,
            container_id,
            pod_uid,
        });
    }
    for v in out.values_mut() {
        v.sort_by_key(|p| p.pid);
    }
    out
}

/// Container id and pod UID from a `/proc/<pid>/cgroup` text: docker
/// (`/docker/<id>`, `docker-<id>.scope`), containerd
/// (`cri-containerd-<id>.scope`, `/kubepods/…/<id>`), CRI-O
/// (`crio-<id>.scope`); pods from `kubepods…-pod<uid>.slice` (systemd
/// driver, underscores for dashes) or `/kubepods/…/pod<uid>/` (cgroupfs).
pub fn container_of(cgroup: &str) -> (Option<String>, Option<String>) {
    let mut container = None;
    let mut pod = None;
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or_default();
        for seg in path.split('/') {
            let seg = seg.strip_suffix(".scope").unwrap_or(seg);
            let seg = seg.strip_suffix(".slice").unwrap_or(seg);
            let id = seg.rsplit(['-', ':']).next().unwrap_or(seg);
            if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
                container.get_or_insert_with(|| id.to_string());
            }
            if let Some(i) = seg.rfind("pod") {
                let uid = seg[i + 3..].replace('_', "-");
                let uuid =
                    uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
                if uuid {
                    pod.get_or_insert(uid);
                }
            }
        }
    }
    (container, pod)
}

/// Pods the node keeps logs for: `<namespace>_<name>_<uid>` directories.
fn pods_by_uid(dir: &Path) -> BTreeMap<String, PodRef> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let mut parts = name.splitn(3, '_');
        if let (Some(ns), Some(pod), Some(uid)) = (parts.next(), parts.next(), parts.next()) {
            out.insert(
                uid.to_string(),
                PodRef {
                    namespace: ns.to_string(),
                    name: pod.to_string(),
                    uid: uid.to_string(),
                },
            );
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn containers_and_pods_from_cgroup_paths() {
        let id = "3f4e".repeat(16);
        let systemd = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901.slice/cri-containerd-{id}.scope\n"
        );
        assert_eq!(
            container_of(&systemd),
            (
                Some(id.clone()),
                Some("1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901".into())
            )
        );
        let cgroupfs = format!(
            "12:memory:/kubepods/besteffort/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/{id}\n"
        );
        assert_eq!(
            container_of(&cgroupfs),
            (
                Some(id.clone()),
                Some("1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901".into())
            )
        );
        assert_eq!(
            container_of(&format!("0::/system.slice/docker-{id}.scope")).0,
            Some(id.clone())
        );
        assert_eq!(
            container_of(&format!("0::/system.slice/crio-{id}.scope")).0,
            Some(id)
        );
        assert_eq!(
            container_of("0::/user.slice/session-2.scope\n9:pids:/"),
            (None, None)
        );
    }

    #[test]
    fn pods_from_log_directories() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(
            d.path()
                .join("shop_cart-7d9f_0a1b2c3d-0000-1111-2222-333344445555"),
        )
        .unwrap();
        let pods = pods_by_uid(d.path());
        let p = &pods["0a1b2c3d-0000-1111-2222-333344445555"];
        assert_eq!(
            (p.namespace.as_str(), p.name.as_str()),
            ("shop", "cart-7d9f")
        );
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of("x", Some("veth"), None), IfaceKind::Veth);
        assert_eq!(kind_of("x", Some("vxlan"), None), IfaceKind::Tunnel);
        assert_eq!(kind_of("lo", None, Some("loopback")), IfaceKind::Loopback);
        assert_eq!(kind_of("x", Some("dummy"), None), IfaceKind::Other);
    }
}
