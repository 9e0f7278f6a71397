//! `osprey`: the thin binary. Parses arguments and hands off to the
//! library crates; every command's contract is in the README.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use osprey_analysis::pipeline::{self, AnalyzeConfig, AnalyzeError, Progress};
use osprey_analysis::store::CaseReader;
use std::path::PathBuf;
use std::process::ExitCode;

mod alerts;
mod capture_helper;
mod check;
mod export;
mod flows;
mod gui;
mod interfaces;
mod live;
mod policy;
mod record;

/// mimalloc instead of glibc malloc: frames are allocated on the reader
/// thread and freed on the engine thread, and parsed records on the engine
/// thread and freed on the store/EVE threads, millions of times per run.
/// On the 1 GiB benchmark glibc spent ~17% of all samples in
/// `malloc_consolidate`/`_int_malloc`/`_int_free`; with mimalloc the run
/// is 1.6x faster for ~25% more peak RSS (bench/run.sh, closing note).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "osprey",
    version,
    about = "Network forensics for container networks"
)]
struct Cli {
    /// With no command, the GUI opens (`osprey gui`).
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Open the desktop GUI on a capture or a case directory (the default
    /// command); without a display, falls back to `osprey analyze`.
    Gui {
        /// pcap/pcapng file or case directory.
        input: Option<PathBuf>,
        /// Open on this alert's drill-down.
        #[arg(long)]
        alert: Option<u64>,
    },
    /// Analyse captures into a case directory (case.sqlite + eve.jsonl).
    Analyze {
        /// pcap or pcapng files; several are merged in timestamp order.
        #[arg(required_unless_present = "live", conflicts_with = "live")]
        inputs: Vec<PathBuf>,
        /// Analyse live interfaces (`-i`) instead of files.
        #[arg(long, requires = "ifaces")]
        live: bool,
        #[command(flatten)]
        capture: CaptureArgs,
        /// Case directory to create.
        #[arg(short = 'o', long = "output")]
        case_dir: PathBuf,
        /// Most flows held at once (memory cap of the flow table).
        #[arg(long)]
        max_flows: Option<usize>,
        #[command(flatten)]
        memcaps: MemcapArgs,
        /// Never expire idle flows (Wireshark's conversation semantics);
        /// flows still end on port reuse, eviction and end of input.
        #[arg(long)]
        no_idle_timeout: bool,
        /// Detection rules overriding the defaults (TOML, see
        /// assets/rules/default.toml), table by table and key by key.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Do not run detection (flows, DPI and records only).
        #[arg(long)]
        no_detect: bool,
        /// Policy (`osprey policy learn`): flows it does not allow raise
        /// `policy_violation` alerts.
        #[arg(long, conflicts_with = "no_detect")]
        policy: Option<PathBuf>,
        /// Flow workers: flow tables on their own threads, packets split
        /// by address pair; the case and EVE output are the same as with
        /// one (files only; see the README for the exceptions).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64), conflicts_with = "live")]
        workers: u16,
    },
    /// Record interfaces headless into a rotating pcapng ring plus a case
    /// (`DIR/case`), e.g. on a Kubernetes node.
    Record {
        #[command(flatten)]
        capture: CaptureArgs,
        /// Directory of the ring files (and the case).
        #[arg(short = 'o', long = "output")]
        dir: PathBuf,
        /// Largest size of one ring file (e.g. 100MiB).
        #[arg(long, default_value = "100MiB", value_parser = live::parse_size)]
        ring_size: u64,
        /// Ring files kept; the oldest are deleted.
        #[arg(long, default_value_t = 20)]
        ring_files: u32,
        /// Do not run detection.
        #[arg(long)]
        no_detect: bool,
        /// Policy (`osprey policy learn`): flows it does not allow raise
        /// `policy_violation` alerts.
        #[arg(long)]
        policy: Option<PathBuf>,
    },
    /// Learn, export and apply connection policies.
    Policy {
        #[command(subcommand)]
        command: policy::PolicyCommand,
    },
    /// CI gate: replay captures, fail on policy violations and alerts;
    /// JUnit and SARIF reports.
    Check(check::CheckArgs),
    /// List this namespace's interfaces and who is behind each veth
    /// (network namespace, processes, container, pod).
    Interfaces {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a case's alerts.
    Alerts {
        /// Case directory.
        case_dir: PathBuf,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List a case's flows, like `tshark -z conv`.
    Flows {
        /// Case directory.
        case_dir: PathBuf,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
        /// Only flows passing this filter, e.g.
        /// `ip.addr == 10.244.0.5 && app == http && bytes > 1000`.
        #[arg(long)]
        filter: Option<String>,
    },
    /// Export flows' or alerts' packets, byte-identical, to pcap (or
    /// pcapng).
    Export {
        /// Case directory.
        case_dir: PathBuf,
        /// Flow id (repeatable).
        #[arg(long = "flow", required_unless_present_any = ["alerts", "filter"])]
        flows: Vec<u64>,
        /// Alert id (repeatable): its evidence (the whole flows involved
        /// and the evidence frames).
        #[arg(long = "alert")]
        alerts: Vec<u64>,
        /// Every flow passing this filter expression (as `osprey flows
        /// --filter`).
        #[arg(long)]
        filter: Option<String>,
        /// Output file; pcapng when it ends in `.pcapng`.
        #[arg(short = 'o', long = "output")]
        output: PathBuf,
    },
    /// The capture helper: the only process that needs CAP_NET_RAW;
    /// `analyze --live` and `record` run it and read its stdout.
    #[command(hide = true)]
    CaptureHelper(capture_helper::HelperArgs),
}

/// Live capture options (`analyze --live`, `record`).
#[derive(clap::Args)]
struct CaptureArgs {
    /// Interface name or glob (`veth*`), repeatable.
    #[arg(short = 'i', long = "interface", id = "ifaces", value_name = "IFACE")]
    ifaces: Vec<String>,
    /// BPF capture filter (tcpdump syntax).
    #[arg(long)]
    filter: Option<String>,
    /// Bytes kept of each frame.
    #[arg(long, default_value_t = 262_144)]
    snaplen: u32,
    /// Promiscuous mode (needs CAP_NET_ADMIN; off by default).
    #[arg(long)]
    promisc: bool,
    /// Kernel capture buffer per interface (e.g. 32MiB).
    #[arg(long, default_value = "32MiB", value_parser = live::parse_size)]
    buffer_size: u64,
    /// Stop after this long (e.g. 30s, 10m); otherwise at SIGINT/SIGTERM.
    #[arg(long, value_parser = live::parse_duration)]
    duration: Option<std::time::Duration>,
    /// Do not attribute IPs to pods/namespaces.
    #[arg(long)]
    no_attribution: bool,
}

impl CaptureArgs {
    fn opts(&self) -> live::LiveOpts {
        live::LiveOpts {
            patterns: self.ifaces.clone(),
            filter: self.filter.clone(),
            snaplen: self.snaplen,
            promisc: self.promisc,
            buffer_bytes: u32::try_from(self.buffer_size).unwrap_or(u32::MAX),
            duration: self.duration,
            attribute: !self.no_attribution,
        }
    }
}

/// Memory budgets (README "Memory caps"; Suricata's names in brackets).
#[derive(clap::Args, Debug)]
struct MemcapArgs {
    /// Flow-table memory, e.g. 128MiB [flow.memcap].
    #[arg(long, value_parser = live::parse_size)]
    flow_memcap: Option<u64>,
    /// Reassembly memory of all TCP streams [stream.reassembly.memcap].
    #[arg(long, value_parser = live::parse_size)]
    stream_memcap: Option<u64>,
    /// Memory of flows being identified (DPI probe buffers).
    #[arg(long, value_parser = live::parse_size)]
    dpi_memcap: Option<u64>,
    /// IP defragmentation memory [defrag.memcap].
    #[arg(long, value_parser = live::parse_size)]
    defrag_memcap: Option<u64>,
}

impl MemcapArgs {
    fn apply(&self, cfg: &mut AnalyzeConfig) {
        let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
        if let Some(v) = self.flow_memcap {
            cfg.flow.memcap_bytes = size(v);
        }
        if let Some(v) = self.stream_memcap {
            cfg.flow.stream_memcap_bytes = size(v);
        }
        if let Some(v) = self.dpi_memcap {
            cfg.flow.dpi_memcap_bytes = size(v);
        }
        if let Some(v) = self.defrag_memcap {
            cfg.defrag.max_bytes = size(v);
        }
    }
}

/// The engine configuration of `analyze` and `record`: detection on or
/// off, and `--policy` loaded (exit 1 on a bad file).
fn engine_config(no_detect: bool, policy: Option<PathBuf>) -> Result<AnalyzeConfig, ExitCode> {
    let mut cfg = AnalyzeConfig {
        no_detect,
        ..AnalyzeConfig::default()
    };
    if let Some(p) = policy {
        match policy::load_checker(&p) {
            Ok(c) => cfg.policy = Some(c),
            Err(e) => {
                eprintln!("osprey: {e:#}");
                return Err(ExitCode::from(1));
            }
        }
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("OSPREY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return gui::run(None, None);
    };
    let result = match command {
        Command::Gui { input, alert } => return gui::run(input, alert),
        Command::CaptureHelper(args) => return capture_helper::run(&args),
        Command::Analyze {
            inputs,
            case_dir,
            max_flows,
            memcaps,
            no_idle_timeout,
            rules,
            no_detect,
            live,
            capture,
            policy,
            workers,
        } => {
            let mut cfg = match engine_config(no_detect, policy) {
                Ok(c) => c,
                Err(code) => return code,
            };
            cfg.workers = usize::from(workers);
            if let Some(n) = max_flows {
                cfg.flow.max_flows = n;
            }
            memcaps.apply(&mut cfg);
            if no_idle_timeout {
                cfg.flow = cfg.flow.without_idle_timeouts();
            }
            if live {
                live::analyze(&capture.opts(), &case_dir, cfg, rules.as_deref())
            } else {
                return analyze(&inputs, case_dir, cfg, rules);
            }
        }
        Command::Record {
            capture,
            dir,
            ring_size,
            ring_files,
            no_detect,
            policy,
        } => {
            let cfg = match engine_config(no_detect, policy) {
                Ok(c) => c,
                Err(code) => return code,
            };
            record::run(&capture.opts(), &dir, ring_size, ring_files, &cfg)
        }
        Command::Flows {
            case_dir,
            json,
            filter,
        } => flows::run(&case_dir, json, filter.as_deref()),
        Command::Alerts { case_dir, json } => alerts::run(&case_dir, json),
        Command::Interfaces { json } => interfaces::run(json),
        Command::Policy { command } => policy::run(command),
        Command::Check(args) => match check::run(args) {
            Ok(code) => return code,
            Err(e) => Err(e),
        },
        Command::Export {
            case_dir,
            flows,
            alerts,
            filter,
            output,
        } => export::run(&case_dir, &flows, &alerts, filter.as_deref(), &output),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osprey: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn analyze(
    inputs: &[PathBuf],
    case_dir: PathBuf,
    mut cfg: AnalyzeConfig,
    rules: Option<PathBuf>,
) -> ExitCode {
    if let Some(path) = rules {
        match osprey_analysis::detect::RuleSet::with_overrides(&path) {
            Ok(r) => cfg.rules = Some(r),
            Err(e) => {
                eprintln!("osprey: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut on_progress = |p: &Progress| {
        bar.set_length(p.bytes_total);
        bar.set_position(p.bytes_read);
        bar.set_message(format!("{} packets", p.packets));
    };
    let result = pipeline::analyze(inputs, &case_dir, &cfg, &mut on_progress);
    bar.finish_and_clear();
    match result {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("osprey: warning: {w}");
            }
            // A closed stdout (`| head`) is not an analysis failure.
            let _ = print_summary(&case_dir, &s);
            ExitCode::SUCCESS
        }
        Err(AnalyzeError::Input(e)) => {
            eprintln!("osprey: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("osprey: {e}");
            ExitCode::from(1)
        }
    }
}

fn print_summary(case_dir: &std::path::Path, s: &pipeline::Summary) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "case:      {}", case_dir.display())?;
    writeln!(out, "packets:   {}", s.packets)?;
    writeln!(out, "bytes:     {}", s.bytes)?;
    let total: u64 = s.flows_by_proto.values().sum();
    let by: Vec<String> = s
        .flows_by_proto
        .iter()
        .map(|(p, n)| format!("{p} {n}"))
        .collect();
    writeln!(out, "flows:     {total} ({})", by.join(", "))?;
    let anomalies: u64 = s.anomalies.values().sum();
    let by: Vec<String> = s
        .anomalies
        .iter()
        .map(|(a, n)| format!("{a} {n}"))
        .collect();
    writeln!(out, "anomalies: {anomalies} ({})", by.join(", "))?;
    writeln!(out, "app records: {}", s.app_records)?;
    let alerts: u64 = s.alerts.values().sum();
    let by: Vec<String> = s.alerts.iter().map(|(c, n)| format!("{c} {n}")).collect();
    writeln!(out, "alerts:    {alerts} ({})", by.join(", "))?;
    if !s.worker_packets.is_empty() {
        let per: Vec<String> = s.worker_packets.iter().map(u64::to_string).collect();
        writeln!(
            out,
            "workers:   {} (packets {})",
            s.worker_packets.len(),
            per.join(", ")
        )?;
    }
    let fs = s.flow_stats;
    writeln!(
        out,
        "flow table: peak {} flows, {} evicted, {} timed out, {} port reuse",
        fs.peak_flows, fs.evicted, fs.timed_out, fs.port_reuse
    )?;
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let by: Vec<String> = s
        .memcap_budgets
        .iter()
        .map(|(n, b)| format!("{n} {:.1} MiB", mib(*b)))
        .collect();
    writeln!(out, "memcaps:   {}", by.join(", "))?;
    let by: Vec<String> = s
        .memcap_counters
        .iter()
        .map(|(n, v)| format!("{n} {v}"))
        .collect();
    writeln!(out, "memcap counters: {}", by.join(", "))?;
    writeln!(
        out,
        "speed:     {:.0} packets/s ({:.2} s)",
        s.packets_per_sec(),
        s.elapsed.as_secs_f64()
    )
}

/// Opens a case or explains why not.
fn open_case(case_dir: &std::path::Path) -> Result<CaseReader> {
    if !case_dir.is_dir() {
        bail!("{} is not a case directory", case_dir.display());
    }
    CaseReader::open(case_dir).with_context(|| format!("opening case {}", case_dir.display()))
}
