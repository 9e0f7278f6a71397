//! Openings of real (or spec-exact) traffic for every protocol, shared
//! by the cross-protocol tests: each must be claimed by its own probe and
//! by no other.
//!
//! The captured openings are read at test time from the shared public
//! corpus in `../shared/pcaps` (never copied into the repository); only
//! short banners and spec-exact messages are written out here.

use super::super::AppProto;
use crate::dpi::parse::testutil::shared_payload;
use crate::flow::Direction;

/// `(protocol, direction, capture in ../shared/pcaps, frame)`: the TCP
/// payload of that frame (numbered as tshark numbers them), cut at 128
/// bytes.
static CAPTURED: &[(AppProto, Direction, &str, u64)] = &[
    (AppProto::Http, Direction::ToServer, "ndpi__http.pcapng", 4),
    (AppProto::Http, Direction::ToClient, "ndpi__http.pcapng", 6),
    (
        AppProto::Http2,
        Direction::ToServer,
        "ndpi__http2.pcapng",
        1,
    ),
    (AppProto::Tls, Direction::ToServer, "arkime__tls13.pcap", 4),
    (AppProto::Tls, Direction::ToClient, "arkime__tls13.pcap", 6),
    (
        AppProto::Tls,
        Direction::ToClient,
        "ndpi__dns2tcp_tunnel.pcap",
        6,
    ),
    (AppProto::Smtp, Direction::ToClient, "ndpi__smtp.pcap", 4),
    (
        AppProto::Smtp,
        Direction::ToClient,
        "arkime__smtp-data-250.pcap",
        4,
    ),
    (
        AppProto::Ftp,
        Direction::ToClient,
        "zeek__ftp_bruteforce.pcap",
        4,
    ),
    (AppProto::Smb, Direction::ToServer, "ndpi__smbv1.pcap", 1),
    (AppProto::Smb, Direction::ToClient, "ndpi__smbv1.pcap", 2),
    (
        AppProto::Smb,
        Direction::ToClient,
        "suricata__smb2-06.pcap",
        5,
    ),
    (
        AppProto::Mysql,
        Direction::ToClient,
        "ndpi__mysql.pcapng",
        4,
    ),
    (
        AppProto::Mysql,
        Direction::ToClient,
        "ndpi__mysql.pcapng",
        19,
    ),
    (
        AppProto::Mysql,
        Direction::ToClient,
        "zeek__mysql_mysql.pcap",
        4,
    ),
    (
        AppProto::Mongodb,
        Direction::ToServer,
        "ndpi__mongodb.pcap",
        6,
    ),
    (
        AppProto::Mongodb,
        Direction::ToServer,
        "ndpi__mongodb.pcap",
        27,
    ),
    (
        AppProto::Dns,
        Direction::ToServer,
        "suricata__dns_dns-tcp-www-google-com.pcap",
        4,
    ),
    (
        AppProto::Dns,
        Direction::ToClient,
        "suricata__dns_dns-tcp-www-google-com.pcap",
        6,
    ),
    (
        AppProto::Dns,
        Direction::ToClient,
        "chrissanders__dns_axfr.pcapng",
        7,
    ),
];

/// `(protocol, direction, first bytes)` written out: short capture
/// banners (capture named) and spec-exact messages.
static WRITTEN: &[(AppProto, Direction, &[u8])] = &[
    // ndpi__http2.pcapng
    (
        AppProto::Http2,
        Direction::ToClient,
        b"\x00\x00\x18\x04\x00\x00\x00\x00\x00\x00\x05\x00\x10\x00\x00\x00\x03\
          \x00\x00\x00\xfa\x00\x06\x00\x10\x01@\x00\x04\x00\x10\x00\x00",
    ),
    // ndpi__ssh.pcap
    (
        AppProto::Ssh,
        Direction::ToServer,
        b"SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11\r\n",
    ),
    // tcpdump__ssh.pcap
    (
        AppProto::Ssh,
        Direction::ToClient,
        b"SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u3\n",
    ),
    // ndpi__smtp.pcap
    (
        AppProto::Smtp,
        Direction::ToServer,
        b"EHLO delta.peach.mil\r\n",
    ),
    // ndpi__ftp.pcap
    (
        AppProto::Ftp,
        Direction::ToClient,
        b"220 (vsFTPd 3.0.3)\r\n",
    ),
    // ndpi__telnet.pcap
    (
        AppProto::Telnet,
        Direction::ToServer,
        b"\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb \xff\xfb!\xff\xfb\"\xff\
          \xfb'\xff\xfd\x05\xff\xfb#",
    ),
    // ndpi__pgsql.pcap
    (
        AppProto::Pgsql,
        Direction::ToServer,
        b"\x00\x00\x00&\x00\x03\x00\x00user\x00oryx\x00database\x00mailstore\x00\
          \x00",
    ),
    // arkime__postgres-good.pcap
    (
        AppProto::Pgsql,
        Direction::ToServer,
        b"\x00\x00\x00\x08\x04\xd2\x16/",
    ),
    // ndpi__pgsql.pcap
    (
        AppProto::Pgsql,
        Direction::ToServer,
        b"\x00\x00\x00\x08\x04\xd2\x160",
    ),
    // ndpi__resp.pcap
    (
        AppProto::Redis,
        Direction::ToServer,
        b"*1\r\n$7\r\nCOMMAND\r\n",
    ),
    // zeek__redis_set.pcap
    (
        AppProto::Redis,
        Direction::ToServer,
        b"*3\r\n$3\r\nSET\r\n$4\r\ntest\r\n$2\r\nhi\r\n",
    ),
    // ndpi__kafka.pcapng
    (
        AppProto::Kafka,
        Direction::ToServer,
        b"\x00\x00\x00\x15\x00\x12\x00\x00\x00\x00\x00\x81\x00\x07rdkafka\x00\
          \x00\x00\x00",
    ),
    // ndpi__kafka.pcapng
    (
        AppProto::Kafka,
        Direction::ToServer,
        b"\x00\x00\x00(\x00\x03\x00\x02\x00\x00\x00\x8e\x00\x07rdkafka\x00\x00\
          \x00\x01\x00\x11LB_MAIN_LOG_INPUT",
    ),
    // grpc-go server SETTINGS (grpcbook Unary.pcapng)
    (
        AppProto::Http2,
        Direction::ToClient,
        b"\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x05\x00\x00@\x00",
    ),
    // client login then SYST
    (
        AppProto::Ftp,
        Direction::ToServer,
        b"USER anonymous\r\nPASS ftp@example.com\r\nSYST\r\n",
    ),
    // explicit FTPS
    (AppProto::Ftp, Direction::ToServer, b"AUTH TLS\r\n"),
    // generic greeting then USER reply
    (
        AppProto::Ftp,
        Direction::ToClient,
        b"220 Welcome\r\n331 Please specify the password.\r\n",
    ),
    // generic greeting then EHLO reply
    (
        AppProto::Smtp,
        Direction::ToClient,
        b"220 mx.example.com\r\n250-mx.example.com Hello\r\n",
    ),
    // server negotiation
    (
        AppProto::Telnet,
        Direction::ToClient,
        b"\xff\xfd\x18\xff\xfd \xff\xfd#\xff\xfd'",
    ),
    // SCRAM authentication request
    (
        AppProto::Pgsql,
        Direction::ToClient,
        b"R\x00\x00\x00\x17\x00\x00\x00\nSCRAM-SHA-256\x00\x00",
    ),
    // inline PING
    (AppProto::Redis, Direction::ToServer, b"PING\r\n"),
    // CQL v4 OPTIONS
    (
        AppProto::Cassandra,
        Direction::ToServer,
        b"\x04\x00\x00\x00\x05\x00\x00\x00\x00",
    ),
    // CQL v4 STARTUP
    (
        AppProto::Cassandra,
        Direction::ToServer,
        b"\x04\x00\x00\x01\x01\x00\x00\x00\x16\x00\x01\x00\x0bCQL_VERSION\x00\
          \x053.0.0",
    ),
    // CQL v4 SUPPORTED
    (
        AppProto::Cassandra,
        Direction::ToClient,
        b"\x84\x00\x00\x00\x06\x00\x00\x00\x18\x00\x01\x00\x0bCQL_VERSION\x00\
          \x01\x00\x053.4.5",
    ),
    // PRELOGIN
    (
        AppProto::Tds,
        Direction::ToServer,
        b"\x12\x01\x00/\x00\x00\x01\x00\x00\x00\x1a\x00\x06\x01\x00 \x00\x01\x02\
          \x00!\x00\x01\x03\x00\"\x00\x04\x04\x00&\x00\x01\xff\x09\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ),
    // PRELOGIN response
    (
        AppProto::Tds,
        Direction::ToClient,
        b"\x04\x01\x00%\x00\x00\x01\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\
          \x02\x00\x1c\x00\x01\x03\x00\x1d\x00\x00\xff\x0f\x00\x07\xd0\x00\x00\
          \x02\x00",
    ),
    // text get
    (AppProto::Memcached, Direction::ToServer, b"get foo\r\n"),
    // text set
    (
        AppProto::Memcached,
        Direction::ToServer,
        b"set foo 0 3600 3\r\nbar\r\n",
    ),
    // binary GET Hello
    (
        AppProto::Memcached,
        Direction::ToServer,
        b"\x80\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00Hello",
    ),
    // binary GET response
    (
        AppProto::Memcached,
        Direction::ToClient,
        b"\x81\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x01\xde\xad\xbe\xefWorld",
    ),
    // AMQP 0-9-1 header
    (AppProto::Amqp, Direction::ToServer, b"AMQP\x00\x00\x09\x01"),
    // AMQP 1.0 header
    (AppProto::Amqp, Direction::ToServer, b"AMQP\x00\x01\x00\x00"),
    // Connection.Start
    (
        AppProto::Amqp,
        Direction::ToClient,
        b"\x01\x00\x00\x00\x00\x01\x9c\x00\n\x00\n\x00\x09",
    ),
    // MQTT 3.1.1 CONNECT
    (
        AppProto::Mqtt,
        Direction::ToServer,
        b"\x10\x1a\x00\x04MQTT\x04\x02\x00<\x00\x0emosqpub|1234-h",
    ),
    // MQTT 3.1 CONNECT
    (
        AppProto::Mqtt,
        Direction::ToServer,
        b"\x10$\x00\x06MQIsdp\x03\x02\x00<\x00\x16mosq/8dEb2dX4cKIXsTIMc",
    ),
    // ConnectRequest
    (
        AppProto::Zookeeper,
        Direction::ToServer,
        b"\x00\x00\x00,\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00u\
          0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ),
    // ConnectRequest with readOnly
    (
        AppProto::Zookeeper,
        Direction::ToServer,
        b"\x00\x00\x00-\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00u\
          0\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x10\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ),
    // ConnectResponse
    (
        AppProto::Zookeeper,
        Direction::ToClient,
        b"\x00\x00\x00$\x00\x00\x00\x00\x00\x00u0\x01\x00\x00\n\x8f|\x00\x00\x00\
          \x00\x00\x10ZZZZZZZZZZZZZZZZ",
    ),
];

/// Every sample, `(protocol, direction, first bytes)`: the captured
/// openings, then the written ones. Read once per test run.
pub(super) fn samples() -> &'static [(AppProto, Direction, Vec<u8>)] {
    static ALL: std::sync::OnceLock<Vec<(AppProto, Direction, Vec<u8>)>> =
        std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let captured = CAPTURED.iter().map(|&(app, dir, name, frame)| {
            let mut bytes = shared_payload(name, frame);
            bytes.truncate(128);
            (app, dir, bytes)
        });
        let written = WRITTEN.iter().map(|&(app, dir, b)| (app, dir, b.to_vec()));
        captured.chain(written).collect()
    })
}
