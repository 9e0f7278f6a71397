//! One module per protocol parser; [`PARSERS`] maps an identified protocol
//! to the constructor of its parser.

pub mod amqp;
pub mod cassandra;
pub mod dhcp;
pub mod dns;
pub mod ftp;
pub mod http;
pub mod http2;
pub mod kafka;
pub mod krb5;
pub mod lenframe;
mod lines;
pub mod memcached;
pub mod mongodb;
pub mod mqtt;
pub mod mysql;
pub mod ntp;
pub mod pgsql;
pub mod quic;
pub mod redis;
pub mod smb;
pub mod smtp;
pub mod snmp;
pub mod sqlwire;
pub mod ssh;
pub mod tds;
pub mod tls;
pub mod zookeeper;

#[cfg(test)]
pub(crate) mod testutil;

use super::parser::AppParser;
use super::AppProto;

/// Builds a parser for a flow of the given transport.
pub type NewParser = fn(tcp: bool) -> Box<dyn AppParser>;

/// Protocols with a parser, and how to build one.
pub static PARSERS: &[(AppProto, NewParser)] = &[
    (AppProto::Dns, dns::new_parser),
    (AppProto::Http, http::new_parser),
    (AppProto::Tls, tls::new_parser),
    (AppProto::Ssh, ssh::new_parser),
    (AppProto::Quic, quic::new_parser),
    (AppProto::Http2, http2::new_parser),
    (AppProto::Mongodb, mongodb::new_parser),
    (AppProto::Kafka, kafka::new_parser),
    (AppProto::Cassandra, cassandra::new_parser),
    (AppProto::Memcached, memcached::new_parser),
    (AppProto::Zookeeper, zookeeper::new_parser),
    (AppProto::Amqp, amqp::new_parser),
    (AppProto::Mqtt, mqtt::new_parser),
    (AppProto::Ftp, ftp::new_parser),
    (AppProto::Smtp, smtp::new_parser),
    (AppProto::Smb, smb::new_parser),
    (AppProto::Dhcp, dhcp::new_parser),
    (AppProto::Snmp, snmp::new_parser),
    (AppProto::Ntp, ntp::new_parser),
    (AppProto::Krb5, krb5::new_parser),
    (AppProto::Mysql, mysql::new_parser),
    (AppProto::Pgsql, pgsql::new_parser),
    (AppProto::Redis, redis::new_parser),
    (AppProto::Tds, tds::new_parser),
];

/// A parser for `app`, when Osprey has one.
pub fn parser_for(app: AppProto, tcp: bool) -> Option<Box<dyn AppParser>> {
    PARSERS
        .iter()
        .find(|(a, _)| *a == app)
        .map(|(_, new)| new(tcp))
}
