//! Detection inspectors on attacker-chosen bytes: SQL injection (HTTP
//! values and SQL queries), XSS, command injection, DLP number scan, DNS
//! name features.
#![no_main]
use libfuzzer_sys::fuzz_target;
use osprey_analysis::detect::content::{dlp, dns, rce, sqli, xss};

fuzz_target!(|data: &[u8]| {
    let _ = sqli::in_http_value(data);
    let _ = sqli::in_sql_query(data);
    let _ = xss::in_http_value(data);
    let _ = rce::in_http_value(data);
    for m in dlp::scan(data, data.len(), 8) {
        assert!(m.offset + m.len <= data.len());
    }
    let _ = dns::features(data);
    let _ = dns::registered_domain(data);
    let _ = dns::subdomain(data);
    let e = dns::entropy_bits(data);
    assert!(e.is_finite() && e >= 0.0);
});
