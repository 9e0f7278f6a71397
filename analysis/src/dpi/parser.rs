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
    /// One FTP command and its reply.
    Ftp(super::parse::ftp::FtpTx),
    /// One SMTP mail transaction or AUTH exchange.
    Smtp(super::parse::smtp::SmtpTx),
    /// One SMB request and its response.
    Smb(super::parse::smb::SmbTx),
    /// One DHCP message.
    Dhcp(super::parse::dhcp::DhcpMessage),
    /// One SNMP message.
    Snmp(super::parse::snmp::SnmpMessage),
    /// One NTP datagram.
    Ntp(super::parse::ntp::NtpMessage),
    /// One Kerberos KDC message.
    Krb5(super::parse::krb5::Krb5Message),
    /// One MongoDB command and its reply.
    Mongodb(super::parse::mongodb::MongodbTx),
    /// One Kafka request and its response.
    Kafka(super::parse::kafka::KafkaTx),
    /// One Cassandra CQL request and its response.
    Cassandra(super::parse::cassandra::CassandraTx),
    /// One memcached command and its reply.
    Memcached(super::parse::memcached::MemcachedTx),
    /// The ZooKeeper handshake, or one request and its reply.
    Zookeeper(super::parse::zookeeper::ZookeeperTx),
    /// One AMQP protocol header or method frame.
    Amqp(super::parse::amqp::AmqpRecord),
    /// One MQTT control packet.
    Mqtt(super::parse::mqtt::MqttRecord),
    /// One HTTP/2 stream (gRPC call included), logged as `http` like
    /// Suricata does.
    Http2(super::parse::http2::Http2Tx),
    /// One side of a QUIC handshake (decrypted Initial packets).
    Quic(super::parse::quic::QuicHandshake),
    /// A MySQL login or command.
    Mysql(super::parse::mysql::MysqlRecord),
    /// A PostgreSQL request and its response.
    Pgsql(super::parse::pgsql::PgsqlRecord),
    /// A Redis command and its reply.
    Redis(super::parse::redis::RedisRecord),
    /// An MS-SQL TDS login or command.
    Tds(super::parse::tds::TdsRecord),
    /// A protocol anomaly a parser saw (Suricata's app-layer events),
    /// logged as an EVE `anomaly` event.
    Anomaly(AppAnomaly),
}

/// A connection a record announces (an FTP `PASV`/`EPSV` reply or
/// `PORT`/`EPRT` command): the endpoint that will accept it.
pub use super::parse::ftp::DataChannel;

/// A protocol anomaly: EVE `anomaly` with `type: applayer`, as Suricata
/// logs its app-layer events. Parsers report it; detection decides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppAnomaly {
    /// Always `applayer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The event, e.g. `dns_forward_pointer`.
    pub event: &'static str,
    /// The protocol whose parser saw it.
    pub app_proto: &'static str,
}

impl AppAnomaly {
    /// An anomaly `event` of protocol `app`.
    pub fn new(app: super::AppProto, event: &'static str) -> AppAnomaly {
        AppAnomaly {
            kind: "applayer",
            event,
            app_proto: app.name(),
        }
    }
}

impl AppRecord {
    /// The connection this record announces, if any.
    pub fn data_channel(&self) -> Option<DataChannel> {
        match self {
            AppRecord::Ftp(tx) => tx.data_channel,
            _ => None,
        }
    }

    /// EVE `event_type` and the key the record sits under.
    pub fn event_type(&self) -> &'static str {
        match self {
            AppRecord::Http(_) => "http",
            AppRecord::Anomaly(_) => "anomaly",
            AppRecord::Dns(_) => "dns",
            AppRecord::Tls(_) => "tls",
            AppRecord::Ssh(_) => "ssh",
            AppRecord::Ftp(_) => "ftp",
            AppRecord::Smtp(_) => "smtp",
            AppRecord::Smb(_) => "smb",
            AppRecord::Dhcp(_) => "dhcp",
            AppRecord::Snmp(_) => "snmp",
            AppRecord::Ntp(_) => "ntp",
            AppRecord::Krb5(_) => "krb5",
            AppRecord::Mongodb(_) => "mongodb",
            AppRecord::Kafka(_) => "kafka",
            AppRecord::Cassandra(_) => "cassandra",
            AppRecord::Memcached(_) => "memcached",
            AppRecord::Zookeeper(_) => "zookeeper",
            AppRecord::Amqp(_) => "amqp",
            AppRecord::Mqtt(_) => "mqtt",
            AppRecord::Http2(_) => "http",
            AppRecord::Quic(_) => super::AppProto::Quic.name(),
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
