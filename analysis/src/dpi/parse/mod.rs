//! One module per protocol parser; [`PARSERS`] maps an identified protocol
//! to the constructor of its parser.

pub mod dns;
pub mod http;
pub mod mysql;
pub mod pgsql;
pub mod redis;
pub mod sqlwire;
pub mod ssh;
pub mod tds;
pub mod tls;

#[cfg(test)]
mod testutil;

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
