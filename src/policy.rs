//! `osprey policy`: learn the allowed graph from cases, export it as
//! Kubernetes or Cilium policies, write a quarantine policy, and list what
//! a policy would have dropped.

use anyhow::{bail, Context, Result};
use clap::{Subcommand, ValueEnum};
use osprey_analysis::policy::check::{FlowView, PolicyChecker};
use osprey_analysis::policy::groups::GroupsFile;
use osprey_analysis::policy::k8s::Manifest;
use osprey_analysis::policy::{cilium, k8s, learn, Policy};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Output format of `export` and `quarantine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Kubernetes NetworkPolicy (networking.k8s.io/v1).
    K8s,
    /// CiliumNetworkPolicy (cilium.io/v2), with L7 rules.
    Cilium,
}

/// `osprey policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Learn the allowed connection graph of cases (flows that raised
    /// attack alerts are left out) into a policy file.
    Learn {
        /// Case directories (`osprey analyze` output).
        #[arg(required = true)]
        cases: Vec<PathBuf>,
        /// Groups file: names, CIDRs and labels of workloads, the cluster's
        /// DNS, API server and nodes.
        #[arg(long)]
        groups: Option<PathBuf>,
        /// Policy file to write.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Write a policy as Kubernetes or Cilium network policies, one file
    /// per group.
    Export {
        /// Policy file.
        policy: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "k8s")]
        format: Format,
        /// Directory to write (created).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// Write a deny-all policy for one workload: a group of --policy, or
    /// `NAMESPACE/APP` or `NAMESPACE/key=value,...` (pod labels).
    Quarantine {
        /// The workload.
        workload: String,
        /// Policy whose group this is.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "k8s")]
        format: Format,
        /// Directory to write (created).
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// List the flows of a case that a policy would have dropped.
    Whatif {
        /// Policy file.
        policy: PathBuf,
        /// Case directory.
        case_dir: PathBuf,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Loads a policy for monitoring (`osprey analyze --policy`).
pub fn load_checker(path: &Path) -> Result<Arc<PolicyChecker>> {
    Ok(Arc::new(PolicyChecker::new(Policy::load(path)?)?))
}

/// Runs a `policy` subcommand.
pub fn run(cmd: PolicyCommand) -> Result<()> {
    match cmd {
        PolicyCommand::Learn {
            cases,
            groups,
            output,
        } => learn_cmd(&cases, groups.as_deref(), &output),
        PolicyCommand::Export {
            policy,
            format,
            output,
        } => {
            let p = Policy::load(&policy)?;
            let manifests = match format {
                Format::K8s => k8s::network_policies(&p)?,
                Format::Cilium => cilium::cilium_policies(&p)?,
            };
            if manifests.is_empty() {
                bail!(
                    "{} defines no groups to write policies for",
                    policy.display()
                );
            }
            write_manifests(&output, &manifests)
        }
        PolicyCommand::Quarantine {
            workload,
            policy,
            format,
            output,
        } => {
            let (ns, pods) = workload_selector(&workload, policy.as_deref())?;
            let m = match format {
                Format::K8s => k8s::quarantine(&workload, &ns, &pods)?,
                Format::Cilium => cilium::quarantine(&workload, &ns, &pods)?,
            };
            write_manifests(&output, &[m])
        }
        PolicyCommand::Whatif {
            policy,
            case_dir,
            json,
        } => whatif(&policy, &case_dir, json),
    }
}

fn learn_cmd(cases: &[PathBuf], groups: Option<&Path>, output: &Path) -> Result<()> {
    let groups = match groups {
        Some(g) => GroupsFile::load(g)?,
        None => GroupsFile::default(),
    };
    for c in cases {
        crate::open_case(c)?;
    }
    let dirs: Vec<&Path> = cases.iter().map(|c| c.as_path()).collect();
    let (policy, stats) = learn::learn(&dirs, &groups)?;
    policy.save(output)?;
    println!(
        "{}: {} edges from {} flows ({} left out for attack alerts)",
        output.display(),
        policy.edges.len(),
        stats.flows,
        stats.skipped
    );
    Ok(())
}

fn write_manifests(dir: &Path, manifests: &[Manifest]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for m in manifests {
        let path = dir.join(&m.file);
        std::fs::write(&path, &m.yaml).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// Namespace and pod labels of a workload argument.
fn workload_selector(
    workload: &str,
    policy: Option<&Path>,
) -> Result<(String, BTreeMap<String, String>)> {
    if let Some(p) = policy {
        let p = Policy::load(p)?;
        if let Some(g) = p.groups.iter().find(|g| g.name == workload) {
            return Ok((k8s::namespace(g), k8s::pod_labels(g)));
        }
    }
    let (ns, sel) = workload
        .split_once('/')
        .unwrap_or((k8s::DEFAULT_NAMESPACE, workload));
    if ns.is_empty() || sel.is_empty() {
        bail!("workload `{workload}`: expected a group, NAMESPACE/APP or NAMESPACE/key=value");
    }
    let mut labels = BTreeMap::new();
    if sel.contains('=') {
        for kv in sel.split(',') {
            let Some((k, v)) = kv.split_once('=') else {
                bail!("workload `{workload}`: `{kv}` is not key=value");
            };
            labels.insert(k.trim().to_string(), v.trim().to_string());
        }
    } else {
        labels.insert("app".to_string(), sel.to_string());
    }
    Ok((ns.to_string(), labels))
}

fn whatif(policy: &Path, case_dir: &Path, json: bool) -> Result<()> {
    let checker = PolicyChecker::new(Policy::load(policy)?)?;
    let case = crate::open_case(case_dir)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !json {
        writeln!(
            out,
            "{:>6}  {:<20} {:<22} {:<22} {:<8} {:<10} {:<10} {:<18} from -> to",
            "flow", "reason", "client", "server", "proto", "port", "app", "first seen (UTC)"
        )?;
    }
    let mut dropped = 0;
    let flows = case.flows()?;
    for f in &flows {
        let (Ok(client), Ok(server)) = (f.src_ip.parse(), f.dest_ip.parse()) else {
            continue;
        };
        let Some(v) = checker.check_flow(&FlowView {
            client,
            server,
            proto: f.proto,
            server_port: f.dest_port,
            app_proto: &f.app_proto,
            client_workload: None,
            server_workload: None,
        }) else {
            continue;
        };
        dropped += 1;
        if json {
            let o = serde_json::json!({
                "flow_id": f.id,
                "reason": v.reason.name(),
                "src_ip": f.src_ip,
                "src_port": f.src_port,
                "dest_ip": f.dest_ip,
                "dest_port": f.dest_port,
                "proto": v.proto,
                "app_proto": f.app_proto,
                "src_group": v.from,
                "dest_group": v.to,
                "start": osprey_analysis::eve::timestamp(f.start_ns),
            });
            serde_json::to_writer(&mut out, &o)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:>6}  {:<20} {:<22} {:<22} {:<8} {:<10} {:<10} {:<18} {} -> {}",
                f.id,
                v.reason.name(),
                f.src_ip,
                f.dest_ip,
                v.proto,
                v.port.map_or("-".into(), |p| p.to_string()),
                f.app_proto,
                osprey_analysis::eve::timestamp(f.start_ns),
                v.from,
                v.to
            )?;
        }
    }
    if !json {
        writeln!(out, "{dropped} of {} flows would be dropped", flows.len())?;
    }
    Ok(out.flush()?)
}
