//! `osprey export`: copies the exact frames of flows from the original
//! captures, found through the packet index (no rescan of the capture).
//! The work is `osprey_analysis::case_export`, shared with the GUI.

use anyhow::Result;
use osprey_analysis::case_export::{self, Selection};
use osprey_analysis::filter::{Filter, FlowAlerts};
use std::path::Path;

/// Writes the frames of `flow_ids`, of the flows passing `filter`, and the
/// evidence of `alert_ids` (their flows whole, and their evidence frames)
/// to `output` (pcapng when it ends in `.pcapng`, else classic pcap),
/// byte-identical with original timestamps, each frame once, in capture
/// order.
pub fn run(
    case_dir: &Path,
    flow_ids: &[u64],
    alert_ids: &[u64],
    filter: Option<&str>,
    output: &Path,
) -> Result<()> {
    let case = crate::open_case(case_dir)?;
    let mut sel = Selection {
        flows: flow_ids.to_vec(),
        alerts: alert_ids.to_vec(),
        time_range: None,
    };
    if let Some(expr) = filter {
        let f = Filter::parse(expr)?;
        let alerts = FlowAlerts::new(&case.alerts()?);
        sel.flows.extend(
            case.flows()?
                .iter()
                .filter(|x| f.matches(x, &alerts))
                .map(|x| x.id),
        );
    }
    let s = case_export::export(&case, &sel, output)?;
    eprintln!(
        "osprey: wrote {} packets of {} flow(s) to {}",
        s.packets,
        s.flows,
        output.display()
    );
    Ok(())
}
