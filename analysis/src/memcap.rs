//! Memory budgets of the engine, in one place: what each table may hold
//! ([`budgets`]) and the counters that show a cap biting ([`counters`]).
//! Both go into the case (`meta` rows `memcap.<name>` and
//! `counter.<name>`) and the `osprey analyze` summary.
//!
//! | budget | default | when it bites |
//! |---|---|---|
//! | `flow` ([`FlowConfig::memcap_bytes`], also [`FlowConfig::max_flows`]) | 256 MiB, 262,144 flows | the flow nearest its timeout is evicted (`flow_evicted`) |
//! | `stream` ([`FlowConfig::stream_memcap_bytes`]) | 256 MiB | oldest buffering streams give up their holes (`stream_memcap_sheds`) |
//! | `dpi` ([`FlowConfig::dpi_memcap_bytes`]) | 32 MiB | oldest probing flows stop probing (`dpi_memcap_sheds`) |
//! | `defrag` ([`DefragConfig::max_bytes`]) | 16 MiB, 4,096 trains | oldest train dropped (`defrag_evicted`) |
//! | `detect` (`max_tracked_keys` per window table) | 9 × 65,536 keys × [`DETECT_KEY_BYTES`] | one-event and expired keys dropped (`detect_window_drops`) |
//!
//! Past 95 % of any flow-table budget the emergency mode shortens flow
//! timeouts ([`crate::flow::table::memory`]).

use crate::decode::{DefragConfig, DefragStats};
use crate::flow::{FlowConfig, FlowStats};

/// Window tables of the detection engine, each capped at
/// `max_tracked_keys` keys.
pub const DETECT_WINDOW_TABLES: usize = 9;

/// Bytes one detection-window key may cost: the largest key (two
/// addresses and a name), the slot with its 16 evidence frames, the
/// per-detector state at the default thresholds (20 hosts of a sweep), and the hash table's spare capacity.
pub const DETECT_KEY_BYTES: usize = 768;

/// The configured budgets in bytes, by name.
pub fn budgets(
    flow: &FlowConfig,
    defrag: &DefragConfig,
    max_tracked_keys: usize,
) -> Vec<(&'static str, u64)> {
    vec![
        ("flow", flow.memcap_bytes as u64),
        ("stream", flow.stream_memcap_bytes as u64),
        ("dpi", flow.dpi_memcap_bytes as u64),
        ("defrag", defrag.max_bytes as u64),
        (
            "detect",
            (DETECT_WINDOW_TABLES * max_tracked_keys * DETECT_KEY_BYTES) as u64,
        ),
    ]
}

/// Cap and emergency counters of a run, by name (zero ones included, so
/// a case always says whether a cap bit).
pub fn counters(
    flow: &FlowStats,
    defrag: &DefragStats,
    detect_window_drops: u64,
) -> Vec<(&'static str, u64)> {
    vec![
        ("flow_peak", flow.peak_flows),
        ("flow_peak_bytes", flow.peak_flow_bytes),
        ("flow_evicted", flow.evicted),
        ("stream_peak_bytes", flow.peak_stream_bytes),
        ("stream_memcap_sheds", flow.stream_memcap_sheds),
        ("dpi_peak_bytes", flow.peak_dpi_bytes),
        ("dpi_memcap_sheds", flow.dpi_memcap_sheds),
        ("defrag_evicted", defrag.evicted_by_cap),
        ("defrag_timed_out", defrag.timed_out),
        ("detect_window_drops", detect_window_drops),
        ("emergency_entered", flow.emergency_entered),
        ("emergency_left", flow.emergency_left),
        ("emergency_ms", flow.emergency_ns / 1_000_000),
    ]
}
