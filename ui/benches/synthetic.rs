//! The synthetic case of the GUI benchmarks: 2,000 workloads and
//! 100,000 flows (shared by `benches/graph.rs` and
//! `examples/synthetic_frames.rs`).

use osprey_analysis::filter::FlowAlerts;
use osprey_analysis::store::query::FlowSummary;
use osprey_ui::command::CaseData;

/// Workloads.
pub const NODES: u64 = 2_000;
/// Flows.
pub const FLOWS: u64 = 100_000;
const APPS: [&str; 6] = ["http", "dns", "tls", "postgresql", "redis", ""];

/// The case.
pub fn synthetic() -> CaseData {
    // Deterministic LCG. Each workload mostly talks to its three usual
    // peers (one of them among 40 shared services: DNS, databases, ...),
    // sometimes to a random one: ~15,000 distinct conversations.
    let mut s: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s >> 33
    };
    let ip = |n: u64| format!("10.244.{}.{}", n / 250, n % 250 + 1);
    let flows: Vec<FlowSummary> = (1..=FLOWS)
        .map(|id| {
            let a = rnd() % NODES;
            let b = match rnd() % 10 {
                0 => rnd() % NODES,
                1..=4 => (a * 7 + 3) % 40,
                5..=7 => (a * 31 + 17) % NODES,
                _ => (a * 131 + 71) % NODES,
            };
            let b = if a == b { (b + 1) % NODES } else { b };
            let start = (rnd() % 600_000) as i64 * 1_000_000;
            FlowSummary {
                id,
                community_id: String::new(),
                proto: 6,
                src_ip: ip(a),
                src_port: 30_000 + (rnd() % 30_000) as u16,
                dest_ip: ip(b),
                dest_port: 80,
                app_proto: APPS[(rnd() % 6) as usize].to_string(),
                pkts_toserver: 5,
                pkts_toclient: 4,
                bytes_toserver: 500 + rnd() % 5_000,
                bytes_toclient: 500 + rnd() % 50_000,
                start_ns: start,
                end_ns: start + (rnd() % 5_000) as i64 * 1_000_000,
                state: "closed".into(),
                vlan: None,
                tunnel: None,
            }
        })
        .collect();
    CaseData {
        dir: std::env::temp_dir(),
        flows,
        alerts: Vec::new(),
        flow_alerts: FlowAlerts::default(),
        workloads: Default::default(),
    }
}
