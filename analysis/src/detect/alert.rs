//! Alerts: what the detection engine concluded, with the evidence that
//! proves it (frame numbers of the case's packet index, and flows).

use serde::Serialize;
use std::net::IpAddr;

/// Most evidence frames an alert keeps (the first ones seen).
pub const MAX_EVIDENCE_PACKETS: usize = 64;
/// Most evidence flows an alert keeps.
pub const MAX_EVIDENCE_FLOWS: usize = 64;

macro_rules! categories {
    ($($variant:ident => $name:literal,)*) => {
        /// An alert category: the EVE `alert.category` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Category {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
        }

        impl Category {
            /// Every category, in rule-file order.
            pub const ALL: &'static [Category] = &[$(Category::$variant,)*];

            /// The EVE `alert.category` (and rule table) name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Category::$variant => $name,)*
                }
            }

            /// The category named `name`.
            pub fn from_name(name: &str) -> Option<Category> {
                match name {
                    $($name => Some(Category::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

categories! {
    SynFlood => "syn_flood",
    IcmpFlood => "icmp_flood",
    UdpFlood => "udp_flood",
    SessionLimit => "session_limit",
    PortScan => "port_scan",
    HostSweep => "host_sweep",
    PingOfDeath => "ping_of_death",
    Teardrop => "teardrop",
    FragOverlap => "frag_overlap",
    TcpSplitHandshake => "tcp_split_handshake",
    SynWithData => "syn_with_data",
    SmallMss => "small_mss",
    InvalidPacket => "invalid_packet",
    SqlInjection => "sql_injection",
    Xss => "xss",
    RceInjection => "rce_injection",
    HttpSmuggling => "http_smuggling",
    Slowloris => "slowloris",
    Heartbleed => "heartbleed",
    TlsOldVersion => "tls_old_version",
    SshV1 => "ssh_v1",
    DnsTunnel => "dns_tunnel",
    DnsZoneTransfer => "dns_zone_transfer",
    DnsLoopPointer => "dns_loop_pointer",
    DnsNullType => "dns_null_type",
    BruteForce => "brute_force",
    CleartextCredentials => "cleartext_credentials",
    DlpCreditCard => "dlp_credit_card",
    DlpSsn => "dlp_ssn",
    PolicyViolation => "policy_violation",
}

impl Category {
    /// Categories that are not attacks (policy hygiene): they may fire on
    /// benign traffic.
    pub fn is_informational(self) -> bool {
        matches!(
            self,
            Category::CleartextCredentials | Category::TlsOldVersion
        )
    }
}

/// One side of an alert: an address and, for TCP/UDP, a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Side {
    /// Address.
    pub ip: IpAddr,
    /// Port, when the alert is about one.
    pub port: Option<u16>,
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Category.
    pub category: Category,
    /// Rule's signature id.
    pub signature_id: u32,
    /// Severity: 1 high, 2 medium, 3 low (Suricata's scale).
    pub severity: u8,
    /// Human sentence.
    pub signature: String,
    /// Time of the first evidence.
    pub ts_first_ns: i64,
    /// Time of the last evidence.
    pub ts_last_ns: i64,
    /// The flow the alert is about, when there is one.
    pub flow_id: Option<u64>,
    /// Source (attacker side as far as known).
    pub src: Option<Side>,
    /// Destination (victim side).
    pub dst: Option<Side>,
    /// IP protocol, when one.
    pub proto: Option<u8>,
    /// Evidence frame numbers, first ones, at most [`MAX_EVIDENCE_PACKETS`].
    pub evidence_packets: Vec<u64>,
    /// Evidence flows, first ones, at most [`MAX_EVIDENCE_FLOWS`].
    pub evidence_flows: Vec<u64>,
    /// Occurrences folded into this alert (packets, requests, attempts).
    pub count: u64,
    /// Category-specific details (what matched, thresholds, kinds).
    pub metadata: Vec<(&'static str, String)>,
}

impl Alert {
    /// Adds one piece of evidence.
    pub fn add_evidence(&mut self, ts_ns: i64, pkt_no: Option<u64>, flow_id: Option<u64>) {
        self.ts_first_ns = self.ts_first_ns.min(ts_ns);
        self.ts_last_ns = self.ts_last_ns.max(ts_ns);
        if let Some(p) = pkt_no {
            if self.evidence_packets.len() < MAX_EVIDENCE_PACKETS
                && !self.evidence_packets.contains(&p)
            {
                self.evidence_packets.push(p);
            }
        }
        if let Some(f) = flow_id {
            if self.evidence_flows.len() < MAX_EVIDENCE_FLOWS && !self.evidence_flows.contains(&f) {
                self.evidence_flows.push(f);
            }
        }
    }
}
