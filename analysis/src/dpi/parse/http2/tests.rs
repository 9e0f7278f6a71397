//! Tests of the HTTP/2 parser: real conversations from `../shared/pcaps`
//! (checked against tshark's decoding of the same files), fed in every
//! segmentation, and hand-built frames for edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

use crate::dpi::parse::testutil::{self, check_segmentation, shared_convo};

fn txs(records: Vec<AppRecord>) -> Vec<Http2Tx> {
    records
        .into_iter()
        .map(|r| match r {
            AppRecord::Http2(tx) => tx,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

#[test]
fn dump() {
    for (f, port) in [
        ("ndpi__http2.pcapng", 29518),
        ("arkime__http2-nghttp2.pcap", 80),
        ("grpcbook__Unary.pcapng", 50051),
        ("grpcbook__Server_Streaming.pcapng", 50051),
        ("suricata__dns-over-http2.pcap", 80),
    ] {
        let c = shared_convo(f, 6, port);
        let r = txs(testutil::whole(new_parser, &c));
        for t in r {
            let mut t = t;
            t.request_headers
                .iter_mut()
                .chain(t.response_headers.iter_mut())
                .for_each(|h| h.value.truncate(40));
            eprintln!("{f}: {}", serde_json::to_string(&t).unwrap());
        }
    }
}
