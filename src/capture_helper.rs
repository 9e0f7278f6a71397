//! `osprey capture-helper` (hidden): the only part of Osprey that needs
//! `CAP_NET_RAW`. Run by `osprey analyze --live` and `osprey record`
//! through `HelperCapture`; see `osprey_capture::privsep` for its
//! contract and its stream.

use osprey_capture::live::LiveConfig;
use osprey_capture::privsep::helper;
use std::os::fd::AsFd;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The helper's options (written by `privsep::client::helper_args`).
#[derive(clap::Args, Debug)]
pub struct HelperArgs {
    /// Interface name, repeatable.
    #[arg(short = 'i', long = "interface", required = true)]
    ifaces: Vec<String>,
    /// BPF capture filter.
    #[arg(long)]
    filter: Option<String>,
    /// Bytes kept of each frame.
    #[arg(long, default_value_t = 262_144,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(osprey_capture::privsep::framing::MAX_CAPLEN)))]
    snaplen: u32,
    /// Promiscuous mode (keeps CAP_NET_ADMIN too).
    #[arg(long)]
    promisc: bool,
    /// Kernel capture buffer per interface, in bytes.
    #[arg(long, default_value_t = 32 << 20)]
    buffer_bytes: u32,
    /// Longest the kernel holds a partly filled block, in milliseconds.
    #[arg(long, default_value_t = 20)]
    timeout_ms: u32,
}

impl HelperArgs {
    fn config(&self) -> LiveConfig {
        LiveConfig {
            snaplen: self.snaplen,
            promisc: self.promisc,
            filter: self.filter.clone(),
            buffer_bytes: self.buffer_bytes,
            timeout_ms: self.timeout_ms,
        }
    }
}

/// Runs the helper; its stdout is the record stream.
pub fn run(args: &HelperArgs) -> ExitCode {
    // First, while this is the only thread: the capabilities of the
    // threads started later are inherited from this one.
    let mut keep = vec![helper::Capability::CAP_NET_RAW];
    if args.promisc {
        keep.push(helper::Capability::CAP_NET_ADMIN);
    }
    if let Err(e) = helper::drop_capabilities(&keep) {
        eprintln!("osprey capture-helper: dropping capabilities: {e}");
        return ExitCode::from(1);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("osprey capture-helper: installing signal handler: {e}");
            return ExitCode::from(1);
        }
    }
    if let Err(e) = helper::stop_on_eof(std::io::stdin(), stop.clone()) {
        eprintln!("osprey capture-helper: {e}");
        return ExitCode::from(1);
    }
    // The raw descriptor, not Rust's line-buffered stdout.
    let out = match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => std::fs::File::from(fd),
        Err(e) => {
            eprintln!("osprey capture-helper: stdout: {e}");
            return ExitCode::from(1);
        }
    };
    match helper::serve(&args.ifaces, &args.config(), out, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("osprey capture-helper: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use clap::Parser;
    use osprey_capture::privsep::client::helper_args;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        cmd: Cmd,
    }

    #[derive(clap::Subcommand)]
    enum Cmd {
        CaptureHelper(HelperArgs),
    }

    #[test]
    fn the_helper_parses_what_the_client_writes() {
        let cfg = LiveConfig {
            snaplen: 96,
            promisc: true,
            filter: Some("udp and -x".into()),
            buffer_bytes: 1 << 20,
            timeout_ms: 7,
        };
        let names = vec!["veth-a".to_string(), "-odd".to_string()];
        let mut argv = vec![std::ffi::OsString::from("osprey")];
        argv.extend(helper_args(&names, &cfg));
        let Cmd::CaptureHelper(a) = Cli::try_parse_from(argv).unwrap().cmd;
        assert_eq!(a.ifaces, names);
        let got = a.config();
        assert_eq!(
            (
                got.snaplen,
                got.promisc,
                got.filter,
                got.buffer_bytes,
                got.timeout_ms
            ),
            (96, true, cfg.filter, 1 << 20, 7)
        );
        // A snaplen over the stream's cap is refused.
        let argv = ["osprey", "capture-helper", "-i", "x", "--snaplen=262145"];
        assert!(Cli::try_parse_from(argv).is_err());
    }
}
