//! TCP protocol registry: one probe per protocol over the first bytes of
//! each direction of a stream.
//!
//! Each protocol lives in its own module exposing a `DESCRIPTOR` of the
//! same shape; [`REGISTRY`] lists them all, the strictest first, so that
//! when two probes could both claim a buffer (they should not) the one
//! resting on more evidence wins. Port hints only reorder this list
//! ([`super::Identifier`]).
//!
//! The contract every probe keeps (see [`super`]):
//! - it decides from the bytes alone: container traffic runs on any port;
//! - it is strict: a miss (`unknown`) is better than claiming another
//!   protocol's traffic, so weak openings (a lone 3-byte Telnet
//!   negotiation, a bare `220` greeting, a PostgreSQL `S`) answer
//!   `NeedMore` or `NotMine`, never `Match`;
//! - it is monotone: a prefix of a stream it matches answers `NeedMore`
//!   until it answers `Match`, and `Match` on every longer prefix;
//! - it never panics, never allocates and reads at most
//!   [`super::PROBE_BYTES`].
//!
//! Byte readers shared by the probes are in `wire`; the `220` greeting
//! SMTP and FTP share is told apart in `reply`.

mod amqp;
mod cassandra;
mod dns;
mod ftp;
mod http;
mod http2;
mod kafka;
mod memcached;
mod mongodb;
mod mqtt;
mod mysql;
mod pgsql;
mod redis;
mod reply;
mod smb;
mod smtp;
mod ssh;
mod tds;
mod telnet;
mod tls;
mod wire;
mod zookeeper;

#[cfg(test)]
mod samples;
#[cfg(test)]
mod testutil;

use super::Descriptor;

/// Every TCP protocol Osprey identifies, in probe order: fixed magic and
/// cross-checked lengths first, then line-based text protocols, then the
/// protocols that need the most context (the `220` greeting, Telnet).
pub static REGISTRY: &[Descriptor] = &[
    tls::DESCRIPTOR,
    ssh::DESCRIPTOR,
    http2::DESCRIPTOR,
    smb::DESCRIPTOR,
    amqp::DESCRIPTOR,
    mqtt::DESCRIPTOR,
    pgsql::DESCRIPTOR,
    mysql::DESCRIPTOR,
    tds::DESCRIPTOR,
    mongodb::DESCRIPTOR,
    cassandra::DESCRIPTOR,
    zookeeper::DESCRIPTOR,
    kafka::DESCRIPTOR,
    dns::DESCRIPTOR,
    http::DESCRIPTOR,
    redis::DESCRIPTOR,
    memcached::DESCRIPTOR,
    smtp::DESCRIPTOR,
    ftp::DESCRIPTOR,
    telnet::DESCRIPTOR,
];

#[cfg(test)]
mod tests {
    use super::super::{AppProto, Identifier, Probe};
    use super::samples::samples;
    use super::*;
    use crate::flow::Direction;

    #[test]
    fn every_protocol_once() {
        for (i, d) in REGISTRY.iter().enumerate() {
            let later = REGISTRY.iter().skip(i + 1);
            assert!(later.clone().all(|o| o.app != d.app), "{:?} twice", d.app);
        }
        assert_eq!(REGISTRY.len(), 20);
    }

    /// Each sample is claimed by its own probe and by no other, on every
    /// prefix.
    #[test]
    fn samples_match_only_their_protocol() {
        for &(app, dir, ref bytes) in samples() {
            let own = REGISTRY.iter().find(|d| d.app == app);
            let Some(own) = own else {
                panic!("{app:?} has no descriptor");
            };
            assert_eq!(
                (own.probe)(dir, bytes),
                Probe::Match,
                "{app:?} {dir:?} {bytes:?}"
            );
            for d in REGISTRY.iter().filter(|d| d.app != app) {
                for n in 0..=bytes.len() {
                    let prefix = bytes.get(..n).unwrap_or_default();
                    assert_ne!(
                        (d.probe)(dir, prefix),
                        Probe::Match,
                        "{:?} claims {app:?} {dir:?} prefix {n}",
                        d.app
                    );
                }
            }
        }
    }

    /// The identifier, fed a sample in one-byte segments on any port,
    /// names the sample's protocol.
    #[test]
    fn identifier_names_samples_bytewise() {
        for &(app, dir, ref bytes) in samples() {
            for port in [0u16, 80, 443, 53, 21, 25] {
                let mut id = Identifier::default();
                for b in bytes.chunks(1) {
                    id.tcp_data(dir, port, b);
                }
                assert_eq!(id.app(), Some(app), "{app:?} {dir:?} port {port}");
            }
        }
    }

    #[test]
    fn unknown_traffic_stays_unknown() {
        let mut id = Identifier::default();
        id.tcp_data(Direction::ToServer, 80, b"hello there\r\n");
        id.tcp_data(Direction::ToClient, 80, b"\x00\x01\x02\x03 binary junk");
        assert!(id.done());
        assert_eq!(id.app(), None);
        // A bare 220 waits for the client.
        let mut id = Identifier::default();
        id.tcp_data(Direction::ToClient, 2525, b"220 Welcome\r\n");
        assert!(!id.done());
        id.tcp_data(Direction::ToServer, 2525, b"EHLO client.example\r\n");
        assert_eq!(id.app(), Some(AppProto::Smtp));
    }
}
