//! `osprey check`: the CI gate. Replays each capture of a test run (its
//! own temporary case), with a policy when given, and fails when a policy
//! violation (a new edge included) or an alert at or above the chosen
//! severity appears. Writes JUnit XML and SARIF 2.1.0 for the CI.
//!
//! Exit codes: 0 pass, 1 a finding fails the check, 2 a capture could not
//! be read.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use osprey_analysis::pipeline::{self, AnalyzeConfig};
use osprey_analysis::policy::check::PolicyChecker;
use osprey_analysis::policy::report::{self, CaptureResult, Finding};
use osprey_analysis::policy::Policy;
use osprey_analysis::store::query::AlertSummary;
use osprey_analysis::store::CaseReader;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

/// What fails the check besides policy violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Alerts of severity 1.
    High,
    /// Alerts of severity 1–2.
    Medium,
    /// Every alert.
    Low,
    /// Policy violations only.
    Violation,
}

impl FailOn {
    fn fails(self, severity: u8) -> bool {
        match self {
            FailOn::High => severity <= 1,
            FailOn::Medium => severity <= 2,
            FailOn::Low => true,
            FailOn::Violation => false,
        }
    }
}

/// `osprey check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Captures of the test run (each checked on its own).
    #[arg(required = true)]
    captures: Vec<PathBuf>,
    /// Policy: flows it does not allow fail the check.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Alerts at or above this severity fail the check too (`violation`:
    /// only policy violations do).
    #[arg(long, value_enum, default_value = "high")]
    fail_on: FailOn,
    /// JUnit XML report to write.
    #[arg(long)]
    junit: Option<PathBuf>,
    /// SARIF 2.1.0 report to write.
    #[arg(long)]
    sarif: Option<PathBuf>,
}

/// Runs the check.
pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let checker = match &args.policy {
        Some(p) => Some(Arc::new(PolicyChecker::new(Policy::load(p)?)?)),
        None => None,
    };
    let mut results = Vec::new();
    for capture in &args.captures {
        let started = Instant::now();
        let (findings, error) = match check_one(capture, checker.clone(), args.fail_on) {
            Ok(f) => (f, None),
            Err(e) => (Vec::new(), Some(format!("{e:#}"))),
        };
        results.push(CaptureResult {
            capture: capture.display().to_string(),
            findings,
            seconds: started.elapsed().as_secs_f64(),
            error,
        });
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&results))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.sarif {
        let log = report::sarif(&results, env!("CARGO_PKG_VERSION"));
        let text = serde_json::to_string_pretty(&log)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    let (mut failed, mut errored) = (false, false);
    for r in &results {
        let violations: Vec<&Finding> = r
            .findings
            .iter()
            .filter(|f| f.category == "policy_violation")
            .collect();
        let edges: BTreeSet<&str> = violations
            .iter()
            .filter_map(|f| f.edge.as_deref())
            .collect();
        let failing = r.findings.iter().filter(|f| f.failing).count();
        let verdict = match (&r.error, failing) {
            (Some(_), _) => "ERROR",
            (None, 0) => "PASS",
            _ => "FAIL",
        };
        println!(
            "{verdict} {}: {} policy violations ({} distinct edges), {} alerts, {} failing",
            r.capture,
            violations.len(),
            edges.len(),
            r.findings.len() - violations.len(),
            failing
        );
        if let Some(e) = &r.error {
            println!("  {e}");
        }
        for f in r.findings.iter().filter(|f| f.failing) {
            println!("  {}", f.message);
        }
        failed |= failing > 0;
        errored |= r.error.is_some();
    }
    Ok(if errored {
        ExitCode::from(2)
    } else if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn check_one(
    capture: &Path,
    policy: Option<Arc<PolicyChecker>>,
    fail_on: FailOn,
) -> Result<Vec<Finding>> {
    let tmp = tempfile::tempdir().context("creating a temporary case directory")?;
    let case_dir = tmp.path().join("case");
    let cfg = AnalyzeConfig {
        policy,
        ..AnalyzeConfig::default()
    };
    pipeline::analyze(&[capture.to_path_buf()], &case_dir, &cfg, &mut |_| {})?;
    let alerts = CaseReader::open(&case_dir)?.alerts()?;
    Ok(alerts.iter().map(|a| finding(a, fail_on)).collect())
}

fn finding(a: &AlertSummary, fail_on: FailOn) -> Finding {
    let side = |ip: &Option<String>, port: Option<u16>| match (ip, port) {
        (None, _) => "-".to_string(),
        (Some(ip), None) => ip.clone(),
        (Some(ip), Some(p)) => format!("{ip}:{p}"),
    };
    let meta = |k: &str| a.metadata.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let violation = a.category == "policy_violation";
    let edge = violation.then(|| {
        let mut e = format!("{} -> {}", meta("src_group"), meta("dest_group"));
        for (sep, k) in [(" ", "proto"), ("/", "port"), (" ", "app_proto")] {
            if !meta(k).is_empty() {
                e.push_str(sep);
                e.push_str(meta(k));
            }
        }
        e
    });
    let message = match &edge {
        Some(e) => format!(
            "policy_violation {}: {e} (flow {} -> {}, {}x)",
            meta("reason"),
            side(&a.src_ip, a.src_port),
            side(&a.dest_ip, a.dest_port),
            a.count
        ),
        None => format!(
            "{} (severity {}): {} {} -> {} ({}x)",
            a.category,
            a.severity,
            a.signature,
            side(&a.src_ip, a.src_port),
            side(&a.dest_ip, a.dest_port),
            a.count
        ),
    };
    Finding {
        category: a.category.clone(),
        signature: a.signature.clone(),
        severity: a.severity,
        message,
        edge,
        failing: violation || fail_on.fails(a.severity),
    }
}
