#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
use super::*;
use crate::dpi::parse::testutil::{check_segmentation, shared_convos};

#[test]
fn dump() {
    for name in [
        "arkime__postgres-good.pcap",
        "ndpi__pgsql.pcap",
        "suricata__pgsql_pgsql-simple-query-rollback.pcap",
        "zeek__postgresql_psql-login.pcap",
    ] {
        for (port, c) in shared_convos(name, 6) {
            println!("== {name} {port}");
            for r in check_segmentation(new_parser, &c) {
                println!("{}", serde_json::to_string(&r).unwrap());
            }
        }
    }
}
