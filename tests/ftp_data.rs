//! FTP data connections: announced on the control connection (PASV/EPSV
//! replies, PORT/EPRT commands), then named `ftp-data` and linked to it
//! (`parent_id` in EVE and in the case's `flows` table). The set of data
//! connections must be exactly the conversations tshark's FTP dissector
//! marks as `ftp-data` on the same captures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::collections::BTreeSet;
use std::process::Command;

/// (client port, server port) of the TCP conversations tshark decodes as
/// FTP data.
fn tshark_ftp_data(file: &std::path::Path) -> BTreeSet<(u16, u16)> {
    let out = stdout_of(Command::new("tshark").arg("-r").arg(file).args([
        "-Y",
        "ftp-data && tcp.len > 0",
        "-T",
        "fields",
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.dstport",
    ]));
    let mut convs: BTreeSet<(u16, u16)> = BTreeSet::new();
    for l in out.lines() {
        let mut it = l.split('\t').map(|p| p.parse::<u16>().unwrap());
        let (a, b) = (it.next().unwrap(), it.next().unwrap());
        // Direction-free: keep the pair once, as (low, high).
        convs.insert((a.min(b), a.max(b)));
    }
    convs
}

#[test]
fn data_connections_are_named_and_linked_to_their_control_connection() {
    require("tshark");
    let tmp = tempfile::tempdir().unwrap();
    let mut linked = 0;
    for name in [
        "suricata__ftp_ftp-download-passive.pcap",
        "ndpi__ftp.pcap",
        "arkime__ftp.pcap",
    ] {
        let file = corpus(name).expect("corpus capture");
        let case = tmp.path().join(name);
        let out = analyze(&[&file], &case);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let flows = flow_rows(&case);
        let control: Vec<u64> = flows
            .iter()
            .filter(|f| f.app_proto == "ftp")
            .map(|f| f.id)
            .collect();
        let ours: BTreeSet<(u16, u16)> = flows
            .iter()
            .filter(|f| f.app_proto == "ftp-data")
            .map(|f| (f.src_port.min(f.dest_port), f.src_port.max(f.dest_port)))
            .collect();
        let want = tshark_ftp_data(&file);
        // tshark marks only connections that carried bytes; Osprey names
        // empty ones too.
        assert!(!want.is_empty() || name == "arkime__ftp.pcap", "{name}");
        assert!(
            want.is_subset(&ours),
            "{name}: tshark {want:?}, osprey {ours:?}"
        );
        // Every ftp-data flow points at a control flow of the same case,
        // in the database and in EVE alike.
        let db = open_db(&case);
        let mut st = db
            .prepare("SELECT id, parent_id FROM flows WHERE app_proto = 'ftp-data'")
            .unwrap();
        let rows: Vec<(i64, Option<i64>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), ours.len());
        for (id, parent) in &rows {
            let parent = parent.unwrap_or_else(|| panic!("{name}: flow {id} has no parent"));
            assert!(
                control.contains(&(parent as u64)),
                "{name}: flow {id} parent {parent}"
            );
            linked += 1;
        }
        for ev in eve(&case) {
            if ev["event_type"] == "flow" && ev["app_proto"] == "ftp-data" {
                let p = ev["parent_id"].as_u64().expect("parent_id in EVE");
                assert!(control.contains(&p));
            } else if ev["event_type"] == "flow" {
                assert!(ev.get("parent_id").is_none(), "{ev}");
            }
        }
    }
    assert!(linked >= 4, "only {linked} data connections linked");
}
