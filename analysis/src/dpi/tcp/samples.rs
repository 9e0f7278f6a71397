//! Openings of real (or spec-exact) traffic for every protocol, shared
//! by the cross-protocol tests: each must be claimed by its own probe and
//! by no other.

use super::super::AppProto;
use crate::flow::Direction;

/// `(protocol, direction, first bytes)`; capture openings are cut at 128
/// bytes.
pub(super) static SAMPLES: &[(AppProto, Direction, &[u8])] = &[
    // ndpi__http.pcapng
    (
        AppProto::Http,
        Direction::ToServer,
        b"GET / HTTP/1.1\r\nHost: google.com\r\nUser-Agent: curl/7.68.0\r\nAccep\
          t: */*\r\n\r\n",
    ),
    // ndpi__http.pcapng
    (
        AppProto::Http,
        Direction::ToClient,
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://www.google.com/\r\n\
          Content-Type: text/html; charset=UTF-8\r\nDate: Tue, 25 Jan 2022",
    ),
    // ndpi__http2.pcapng
    (
        AppProto::Http2,
        Direction::ToServer,
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04\x00\x00\x00\x00\x00\
          \x00\x02\x00\x00\x00\x00\x00\x04\x00@\x00\x00\x00\x06\x00\xa0\x00\x00\
          \x00\x00\x04\x08\x00\x00\x00\x00\x00@\x00\x00\x00",
    ),
    // ndpi__http2.pcapng
    (
        AppProto::Http2,
        Direction::ToClient,
        b"\x00\x00\x18\x04\x00\x00\x00\x00\x00\x00\x05\x00\x10\x00\x00\x00\x03\
          \x00\x00\x00\xfa\x00\x06\x00\x10\x01@\x00\x04\x00\x10\x00\x00",
    ),
    // arkime__tls13.pcap
    (
        AppProto::Tls,
        Direction::ToServer,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03CU\xd4\x02\xc12w\x1a\x93\
          \x86\xb6\xe9\x99J\xe3pi\xe0b\x1a\xf5\x04\xc2fs\xb148C\xc2\x1d\x8d\x00\
          \x00&JJ\x13\x01\x13\x02\x13\x03\xc0+\xc0/\xc0,\xc00\xcc\xa9\xcc\xa8\
          \xcc\x14\xcc\x13\xc0\x13\xc0\x14\x00\x9c\x00\x9d\x00/\x005\x00\n\x01\
          \x00\x01\xad\xda\xda\x00\x00\xff\x01\x00\x01\x00\x00\x00\x00\x18\x00\
          \x16\x00\x00\x13blog.cloudflare.com\x00\x17\x00",
    ),
    // arkime__tls13.pcap
    (
        AppProto::Tls,
        Direction::ToClient,
        b"\x16\x03\x01\x00R\x02\x00\x00N\x7f\x12>\xf1`\x9f\xd3\xf4\xfa\x86h\xaa\
          \xc5\x82-P\x0f\xb0c\x9b\"g\x1d\x0f\xb7%\x85\x975W\x95Q\x1b\xf6\x13\x01\
          \x00(\x00(\x00$\x00\x1d\x00 \xae\x0e(*;zF>q\x06N\xcb\xafg\x15\x86\xe9y\
          \xb0\xed\xbe\xbfzG5\xc3\x16x\xc7\x0ff\x0c\x17\x03\x01\x00 \xd6\x02\xbd\
          \xa7\xa3\x93n#fA\xb7\xd2)\xd8\"J\xc4\xa4'\x8b'Y\\$@R{}\x10\xf9m;\x17\
          \x03\x01\x0b",
    ),
    // ndpi__dns2tcp_tunnel.pcap
    (
        AppProto::Tls,
        Direction::ToClient,
        b"\x16\x03\x03\x00z\x02\x00\x00v\x03\x03\x97~\xe0\x0c\x96\x83\x0f&\x91\
          \xdf\x8e\x9f#\xf4\x1b\xdbo\xe0 \xc3\xb1\xc9V&o\x87D\x94\xfa%\x98\xd4 \
          \x15\xb8/(\x04&\xd1o\xc7\n\x9f>0k<\x12W8\xfe\x0cV\xe8\xe4\\\x02\x94\
          \x95w\xe9\x8c\xf4<\x13\x01\x00\x00.\x003\x00$\x00\x1d\x00 \x05\x9a*\
          \xddF\x8e\x0e\x06\x9eY\x8b8X\xf9\xbb\xc8O*@:\xafU0|?\xf6^U\xd1=\x05&\
          \x00+\x00\x02\x03\x04\x14",
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
        Direction::ToClient,
        b"220 pigeon.eyrie.af.mil ESMTP Sendmail 8.8.7/8.8.7; Sat, 7 Aug 1999 08\
          :20:11 -0400\r\n",
    ),
    // ndpi__smtp.pcap
    (
        AppProto::Smtp,
        Direction::ToServer,
        b"EHLO delta.peach.mil\r\n",
    ),
    // arkime__smtp-data-250.pcap
    (
        AppProto::Smtp,
        Direction::ToClient,
        b"220-mtaout-ma02.r1000.mx.aol.com ESMTP MUA/Third Party Client Interfac\
          e\r\n220-AOL and its affiliated companies do not\r\n220-author",
    ),
    // ndpi__ftp.pcap
    (
        AppProto::Ftp,
        Direction::ToClient,
        b"220 (vsFTPd 3.0.3)\r\n",
    ),
    // zeek__ftp_bruteforce.pcap
    (
        AppProto::Ftp,
        Direction::ToClient,
        b"220 redmint FTP server (Version 6.4/OpenBSD/Linux-ftpd-0.17) ready.\r\
          \n",
    ),
    // ndpi__telnet.pcap
    (
        AppProto::Telnet,
        Direction::ToServer,
        b"\xff\xfd\x03\xff\xfb\x18\xff\xfb\x1f\xff\xfb \xff\xfb!\xff\xfb\"\xff\
          \xfb'\xff\xfd\x05\xff\xfb#",
    ),
    // ndpi__smbv1.pcap
    (
        AppProto::Smb,
        Direction::ToServer,
        b"\x00\x00\x00\x85\xffSMBr\x00\x00\x00\x00\x18S\xc0\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xfe\x00\x00@\x00\x00b\x00\x02\
          PC NETWORK PROGRAM 1.0\x00\x02LANMAN1.0\x00\x02Windows for Workgroups \
          3.1a\x00\x02LM1.2X002\x00\x02LANMAN2.1\x00\x02NT",
    ),
    // ndpi__smbv1.pcap
    (
        AppProto::Smb,
        Direction::ToClient,
        b"\x00\x00\x00q\xffSMBr\x00\x00\x00\x00\x98S\xc0\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\xff\xfe\x00\x00@\x00\x11\x05\x00\x032\
          \x00\x01\x00\x04\x11\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\xfc\xe3\
          \x01\x00@\xf4\x9c\xd3D\xb5\xd2\x01\xf0\x00\x08,\x00\x08\xab\x1c/\xe1\
          \xec\xe6\xa9W\x00O\x00R\x00K\x00G\x00R\x00O\x00U\x00P\x00\x00\x00J\x00\
          O\x00H\x00N\x00-\x00P\x00C\x00\x00\x00",
    ),
    // suricata__smb2-06.pcap
    (
        AppProto::Smb,
        Direction::ToClient,
        b"\x00\x00\x00\xf8\xfeSMB@\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\
          \x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00A\x00\x03\x00\
          \xff\x02\x00\x00\x93\xe7\xc6\xae\x11+\x19@\x95-EU\xf1\xd2\n:\x07\x00\
          \x00\x00\x00\x00\x10\x00\x00\x00\x10\x00\x00\x00\x10\x00-\xe5\x14A\x12\
          A\xd3\x01\xf8\xabH\xc2\xd6>\xd3\x01\x80\x00x\x00",
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
    // ndpi__mysql.pcapng
    (
        AppProto::Mysql,
        Direction::ToClient,
        b"j\x00\x00\x00\n5.5.5-10.6.12-MariaDB-0ubuntu0.22.04.1\x00 \x00\x00\x00\
          GgP=!+TH\x00\xfe\xf7-\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\
          \x00\x00\x00Iv7Oe/YRmR1>\x00mysql_native_password\x00",
    ),
    // ndpi__mysql.pcapng
    (
        AppProto::Mysql,
        Direction::ToClient,
        b"J\x00\x00\x00\n8.0.36\x00\x0c\x00\x00\x001tugx_#V\x00\xff\xff\xff\x02\
          \x00\xff\xdf\x15\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00p\">4m\x0f6|1\
          \"j|\x00caching_sha2_password\x00",
    ),
    // zeek__mysql_mysql.pcap
    (
        AppProto::Mysql,
        Direction::ToClient,
        b"4\x00\x00\x00\n5.0.54\x00^\x00\x00\x00>~$4uth,\x00,\xa2!\x02\x00\x00\
          \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00>612IWZ>fhWX\x00",
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
    // ndpi__mongodb.pcap
    (
        AppProto::Mongodb,
        Direction::ToServer,
        b"\xf7\x00\x00\x00\x986nM\x00\x00\x00\x00\xd4\x07\x00\x00\x00\x00\x00\
          \x00admin.$cmd\x00\x00\x00\x00\x00\xff\xff\xff\xff\xd0\x00\x00\x00\x10\
          ismaster\x00\x01\x00\x00\x00\x03client\x00\xb5\x00\x00\x00\x03driver\
          \x00*\x00\x00\x00\x02name\x00\x08\x00\x00\x00PyMongo\x00\x02version\
          \x00\x06\x00\x00\x003.4.0\x00\x00\x03os\x00U\x00\x00\x00\x02",
    ),
    // ndpi__mongodb.pcap
    (
        AppProto::Mongodb,
        Direction::ToServer,
        b"I\x00\x00\x00\x87\x91\x00\x00\xff\xff\xff\xff\xd4\x07\x00\x00\x00\x00\
          \x00\x00InactiveUserIdentity.$cmd\x00\x00\x00\x00\x00\x01\x00\x00\x00\
          \x13\x00\x00\x00\x10getnonce\x00\x01\x00\x00\x00\x00",
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
    // suricata__dns_dns-tcp-www-google-com.pcap
    (
        AppProto::Dns,
        Direction::ToServer,
        b"\x007_x\x01 \x00\x01\x00\x00\x00\x00\x00\x01\x03www\x06google\x03com\
          \x00\x00\x01\x00\x01\x00\x00)\x10\x00\x00\x00\x00\x00\x00\x0c\x00\n\
          \x00\x08Zv\x070\xfb+7\xd5",
    ),
    // suricata__dns_dns-tcp-www-google-com.pcap
    (
        AppProto::Dns,
        Direction::ToClient,
        b"\x00\xeb_x\x81\x80\x00\x01\x00\x0c\x00\x00\x00\x01\x03www\x06google\
          \x03com\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\
          \x00\x04\xd8\xc5\xf2\xf4\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\x00\
          \x04\xd8\xc5\xf2\xe0\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\x00\x04\
          \xd8\xc5\xf2\xee\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\x00\x04\xd8\
          \xc5\xf2\xd2\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\x00\x04\xd8\xc5\
          \xf2\xe6\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x08\x00\x04\xd8\xc5",
    ),
    // chrissanders__dns_axfr.pcapng
    (
        AppProto::Dns,
        Direction::ToClient,
        b"\x04\x82\x00\x07\x81\x80\x00\x01\x00\x15\x00\x00\x00\x00\x07contoso\
          \x05local\x00\x00\xfc\x00\x01\xc0\x0c\x00\x06\x00\x01\x00\x00\x0e\x10\
          \x00'\x04dns3\xc0\x0c\nhostmaster\x00\x00\x00\x00G\x00\x00\x03\x84\x00\
          \x00\x02X\x00\x01Q\x80\x00\x00\x0e\x10\xc0\x0c\x00\x01\x00\x01\x00\x00\
          \x02X\x00\x04\xac\x10\x10\x8b\xc0\x0c\x00\x02\x00\x01\x00\x00\x0e\x10\
          \x00\x07\x04dns3\xc0\x0c\x06_msdcs\xc0\x0c",
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
