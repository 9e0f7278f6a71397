//! Application-layer parsers: typed records from identified flows.
//!
//! Once a flow's protocol is identified, the registry's parser for it (if
//! any) receives the flow's bytes: the in-order reassembled stream of each
//! direction for TCP (starting with the bytes the probes saw), or each
//! datagram for UDP. Parsers cope with input cut anywhere (they buffer a
//! bounded amount and wait for more), resynchronise or give up after a gap,
//! never panic, and emit typed [`AppRecord`]s, never alerts. Every parser
//! has explicit caps (buffered bytes, names, headers, records per flow).

use crate::flow::Direction;
use serde::Serialize;

pub use super::records::{DnsAnswer, DnsMessage, HttpTx, SshSession, TlsHandshake};

/// Most records one flow may emit; later ones are counted and dropped.
pub const MAX_RECORDS_PER_FLOW: u32 = 256;

/// One application-layer record, logged as an EVE event of the same name
/// (`http`, `dns`, `tls`, `ssh`) and stored in the case's `app_events` table.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AppRecord {
    /// One HTTP/1.x request and its response (when seen).
    Http(HttpTx),
    /// One DNS message (query or response).
    Dns(DnsMessage),
    /// A TLS handshake.
    Tls(TlsHandshake),
    /// An SSH connection's banners.
    Ssh(SshSession),
    /// A MySQL login or command.
    Mysql(super::parse::mysql::MysqlRecord),
    /// A PostgreSQL request and its response.
    Pgsql(super::parse::pgsql::PgsqlRecord),
    /// A Redis command and its reply.
    Redis(super::parse::redis::RedisRecord),
    /// An MS-SQL TDS login or command.
    Tds(super::parse::tds::TdsRecord),
}

impl AppRecord {
    /// EVE `event_type` and the key the record sits under.
    pub fn event_type(&self) -> &'static str {
        match self {
            AppRecord::Http(_) => "http",
            AppRecord::Dns(_) => "dns",
            AppRecord::Tls(_) => "tls",
            AppRecord::Ssh(_) => "ssh",
            AppRecord::Mysql(_) => "mysql",
            AppRecord::Pgsql(_) => "pgsql",
            AppRecord::Redis(_) => "redis",
            AppRecord::Tds(_) => "tds",
        }
    }
}

/// A protocol parser for one flow.
pub trait AppParser: Send {
    /// In-order bytes of one direction (TCP), or one whole datagram (UDP).
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>);
    /// Bytes of a TCP direction were lost: drop partial state and
    /// resynchronise (or stop) on that direction.
    fn gap(&mut self, dir: Direction);
    /// End of the flow: emit what is pending (e.g. a request without a
    /// response).
    fn finish(&mut self, out: &mut Vec<AppRecord>);
    /// A more specific protocol than the one identified, once the parser
    /// has seen it (gRPC inside HTTP/2); `None` keeps the identified one.
    fn refined(&self) -> Option<super::AppProto> {
        None
    }
}
