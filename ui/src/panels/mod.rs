//! The panels: each draws from `AppState` and queues `UiCommand`s in its
//! outbox; none does I/O.

pub mod alerts;
pub mod detail;
pub mod flows;
pub mod hexdump;
pub mod live;
pub mod packets;
pub mod stats;
pub mod stream;

/// `ip:port`, IPv6 in brackets.
pub fn endpoint(ip: &str, port: u16) -> String {
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// 1.2 kB style byte counts.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Seconds since `base`, for time columns.
pub fn rel_secs(ts_ns: i64, base: i64) -> String {
    format!("{:.3}", (ts_ns - base) as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting() {
        assert_eq!(endpoint("fd00::1", 80), "[fd00::1]:80");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1500), "1.5 kB");
        assert_eq!(rel_secs(1_500_000_000, 0), "1.500");
    }
}
