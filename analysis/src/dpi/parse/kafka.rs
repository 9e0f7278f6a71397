//! Apache Kafka parser: one [`KafkaTx`] per request, with its response's
//! error code where cheap.
//!
//! # Contract
//! - TCP only; for `tcp == false` the parser ignores its input.
//! - Every message is an int32 size and that many bytes (Kafka protocol
//!   guide, "Common Request and Response Structure"). A request header
//!   (v1/v2) is `api_key` int16, `api_version` int16, `correlation_id`
//!   int32, `client_id` nullable string; a response header is the
//!   `correlation_id` (plus tagged fields in flexible versions). A request
//!   with an api key over [`MAX_API_KEY`] or a version over
//!   [`MAX_API_VERSION`] stops the direction (it is not Kafka, or the
//!   stream was joined mid-message); so does a gap.
//! - Api keys are named (`Produce`, `Fetch`, ..., `Unknown(n)`).
//! - Topics are read for `Produce` (v0-8), `Fetch` (v0-11) and `Metadata`
//!   (v0-8): the versions before KIP-482 flexible encodings. Flexible
//!   versions get no topics.
//! - SASL: `SaslHandshake` gives the mechanism; a `SaslAuthenticate`
//!   (v0-1) token for `PLAIN` (RFC 4616) gives the user and
//!   `password_seen`. After a `SaslHandshake` v0 the client's next message
//!   is a raw SASL token (KIP-43), read the same way.
//! - Responses are matched by `correlation_id`. Their `error_code` is read
//!   for `ApiVersions`, `SaslHandshake` and `SaslAuthenticate` (its first
//!   field); `SaslAuthenticate` sets `auth_success` (error 0). A request is
//!   emitted when its response arrives, else on `finish`; a response
//!   without its request is dropped (nothing identifies it).
//! - Also read: the top-level `error_code` of FindCoordinator (v0-3),
//!   JoinGroup, Heartbeat, LeaveGroup, SyncGroup, ListGroups,
//!   InitProducerId, AddOffsetsToTxn, EndTxn and DescribeAcls responses
//!   (after `throttle_time_ms` where the version has it), and the
//!   SaslAuthenticate v0-1 `error_message`.
//!
//! # Caps
//! [`MAX_MSG`] bytes buffered per direction (a longer message, e.g. a big
//! Produce, is read from its head and the rest skipped by length),
//! [`MAX_PENDING`] outstanding requests (the oldest is emitted
//! unanswered), [`MAX_TOPICS`] topics and [`MAX_NAME`] bytes per name.

use super::lenframe::{cut, text, Framer, Framing, LenParser, Pending, Protocol, Rd};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;
use serde::{Serialize, Serializer};

#[cfg(test)]
#[path = "kafka/tests.rs"]
mod tests;

/// Bytes buffered per direction.
pub const MAX_MSG: usize = 64 * 1024;
/// Largest message size accepted (the broker's default
/// `socket.request.max.bytes`, 100 MiB).
pub const MAX_MESSAGE_LEN: usize = 100 * 1024 * 1024;
/// Outstanding requests kept per flow.
pub const MAX_PENDING: usize = 64;
/// Topics kept per request.
pub const MAX_TOPICS: usize = 16;
/// Longest client id, topic or user name kept.
pub const MAX_NAME: usize = 256;
/// Highest api key accepted in a request header.
pub const MAX_API_KEY: u16 = 1000;
/// Highest api version accepted in a request header.
pub const MAX_API_VERSION: u16 = 100;

/// Api key names, by key (Kafka protocol guide, "Api Keys").
const API_NAMES: &[&str] = &[
    "Produce",
    "Fetch",
    "ListOffsets",
    "Metadata",
    "LeaderAndIsr",
    "StopReplica",
    "UpdateMetadata",
    "ControlledShutdown",
    "OffsetCommit",
    "OffsetFetch",
    "FindCoordinator",
    "JoinGroup",
    "Heartbeat",
    "LeaveGroup",
    "SyncGroup",
    "DescribeGroups",
    "ListGroups",
    "SaslHandshake",
    "ApiVersions",
    "CreateTopics",
    "DeleteTopics",
    "DeleteRecords",
    "InitProducerId",
    "OffsetForLeaderEpoch",
    "AddPartitionsToTxn",
    "AddOffsetsToTxn",
    "EndTxn",
    "WriteTxnMarkers",
    "TxnOffsetCommit",
    "DescribeAcls",
    "CreateAcls",
    "DeleteAcls",
    "DescribeConfigs",
    "AlterConfigs",
    "AlterReplicaLogDirs",
    "DescribeLogDirs",
    "SaslAuthenticate",
    "CreatePartitions",
    "CreateDelegationToken",
    "RenewDelegationToken",
    "ExpireDelegationToken",
    "DescribeDelegationToken",
    "DeleteGroups",
    "ElectLeaders",
    "IncrementalAlterConfigs",
    "AlterPartitionReassignments",
    "ListPartitionReassignments",
    "OffsetDelete",
    "DescribeClientQuotas",
    "AlterClientQuotas",
    "DescribeUserScramCredentials",
    "AlterUserScramCredentials",
];

const PRODUCE: u16 = 0;
const FETCH: u16 = 1;
const METADATA: u16 = 3;
const SASL_HANDSHAKE: u16 = 17;
const API_VERSIONS: u16 = 18;
const SASL_AUTHENTICATE: u16 = 36;
/// Correlation id given to a raw SASL token (KIP-43).
const RAW_TOKEN: i32 = -1;

/// A Kafka api key; serialised as its name, or `Unknown(n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiKey(pub u16);

impl ApiKey {
    /// The key's name, when known.
    pub fn name(self) -> Option<&'static str> {
        API_NAMES.get(usize::from(self.0)).copied()
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Unknown({})", self.0),
        }
    }
}

impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// One Kafka request and what its response said (EVE `kafka`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KafkaTx {
    /// Api key name.
    pub api_key: ApiKey,
    /// Api version.
    pub api_version: u16,
    /// Correlation id.
    pub correlation_id: i32,
    /// Client id (capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Topics (Produce, Fetch, Metadata in non-flexible versions; capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<String>,
    /// More topics than [`MAX_TOPICS`], or a name over [`MAX_NAME`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub topics_truncated: bool,
    /// SASL mechanism (SaslHandshake, and the authentication after it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<String>,
    /// User of a SASL PLAIN token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A cleartext password was sent (SASL PLAIN); never logged itself.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// A response with this correlation id was seen.
    pub response: bool,
    /// The response's top-level `error_code`, for the api keys that have
    /// one near the start (ApiVersions, SaslHandshake, SaslAuthenticate,
    /// FindCoordinator v0-3, group membership, transactions, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i16>,
    /// SaslAuthenticate (v0-1) error message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// SaslAuthenticate outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_success: Option<bool>,
}

impl KafkaTx {
    fn new(api_key: ApiKey, api_version: u16, correlation_id: i32) -> Self {
        KafkaTx {
            api_key,
            api_version,
            correlation_id,
            client_id: None,
            topics: Vec::new(),
            topics_truncated: false,
            mechanism: None,
            user: None,
            password_seen: false,
            response: false,
            error_code: None,
            error_message: None,
            auth_success: None,
        }
    }
}

/// Builds the Kafka parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    LenParser::boxed(
        tcp,
        State {
            pending: Pending::new(MAX_PENDING),
            mechanism: None,
            raw_token_next: false,
            raw_reply_next: false,
        },
    )
}

#[derive(Debug)]
struct State {
    pending: Pending<i32, KafkaTx>,
    /// The mechanism of the last SaslHandshake.
    mechanism: Option<String>,
    /// A SaslHandshake v0 was sent: the next client message is a raw
    /// SASL token.
    raw_token_next: bool,
    /// A raw SASL token was sent: the server's next message replies to it.
    raw_reply_next: bool,
}

impl Framer for State {
    fn frame_len(&self, dir: Direction, buf: &[u8]) -> Framing {
        let mut r = Rd(buf);
        let Some(size) = r.be32() else {
            return Framing::Need(4);
        };
        let size = size as usize;
        let total = size.saturating_add(4);
        if size > MAX_MESSAGE_LEN {
            return Framing::Bad;
        }
        if dir == Direction::ToClient || self.raw_token_next {
            return Framing::Frame(total);
        }
        if size < 8 {
            return Framing::Bad;
        }
        match (r.be16(), r.be16()) {
            (Some(k), Some(v)) if k <= MAX_API_KEY && v <= MAX_API_VERSION => Framing::Frame(total),
            (Some(_), Some(_)) => Framing::Bad,
            _ => Framing::Need(8),
        }
    }

    fn frame(&mut self, dir: Direction, msg: &[u8], _truncated: bool, out: &mut Vec<AppRecord>) {
        let body = msg.get(4..).unwrap_or_default();
        if dir == Direction::ToClient {
            self.response(body, out);
        } else if std::mem::take(&mut self.raw_token_next) {
            // KIP-43: after SaslHandshake v0 the client sends a raw token,
            // recorded as a SaslAuthenticate with correlation id -1; the
            // server's next message is the raw reply.
            let mut tx = KafkaTx::new(ApiKey(SASL_AUTHENTICATE), 0, RAW_TOKEN);
            tx.mechanism.clone_from(&self.mechanism);
            plain_token(&mut tx, self.mechanism.as_deref(), body);
            self.raw_reply_next = true;
            if let Some(old) = self.pending.push(RAW_TOKEN, tx) {
                out.push(AppRecord::Kafka(old));
            }
        } else if let Some(tx) = self.request(body) {
            if let Some(old) = self.pending.push(tx.correlation_id, tx) {
                out.push(AppRecord::Kafka(old));
            }
        }
    }
}

impl State {
    /// Parses a request (after the size).
    fn request(&mut self, body: &[u8]) -> Option<KafkaTx> {
        let mut r = Rd(body);
        let key = r.be16()?;
        let version = r.be16()?;
        let correlation_id = r.be32()? as i32;
        let client = r.be16().and_then(|n| {
            // A null client id has length -1.
            if n == 0xffff {
                None
            } else {
                r.take(usize::from(n))
            }
        });
        let mut tx = KafkaTx::new(ApiKey(key), version, correlation_id);
        tx.client_id = client.map(|c| text(c, MAX_NAME));
        let mut topics = Topics::default();
        let _ = match (key, version) {
            (PRODUCE, 0..=8) => produce_topics(r, version, &mut topics),
            (FETCH, 0..=11) => fetch_topics(r, version, &mut topics),
            (METADATA, 0..=8) => metadata_topics(r, &mut topics),
            (SASL_HANDSHAKE, _) => {
                let m = r.str16().map(|m| text(m, MAX_NAME));
                self.mechanism.clone_from(&m);
                tx.mechanism = m;
                self.raw_token_next = version == 0;
                None
            }
            (SASL_AUTHENTICATE, 0..=1) => {
                tx.mechanism.clone_from(&self.mechanism);
                if let Some(token) = r.str32() {
                    plain_token(&mut tx, self.mechanism.as_deref(), token);
                }
                None
            }
            _ => None,
        };
        tx.topics = topics.names;
        tx.topics_truncated = topics.truncated;
        Some(tx)
    }

    /// Matches a response (after the size) to its request.
    fn response(&mut self, body: &[u8], out: &mut Vec<AppRecord>) {
        let mut r = Rd(body);
        if std::mem::take(&mut self.raw_reply_next) {
            if let Some(mut tx) = self.pending.take(&RAW_TOKEN) {
                tx.response = true;
                // A PLAIN server answers success with an empty message and
                // failure by closing the connection.
                if tx.mechanism.as_deref() == Some("PLAIN") {
                    tx.auth_success = Some(body.is_empty());
                }
                out.push(AppRecord::Kafka(tx));
            }
            return;
        }
        let Some(corr) = r.be32() else { return };
        let Some(mut tx) = self.pending.take(&(corr as i32)) else {
            return;
        };
        tx.response = true;
        if let Some((flexible, throttle)) = error_layout(tx.api_key.0, tx.api_version) {
            // Flexible response header v1: tagged fields (KIP-482); only
            // an empty set (a zero count) is read past.
            let header_ok = !flexible || r.u8() == Some(0);
            if header_ok && (!throttle || r.take(4).is_some()) {
                tx.error_code = r.be16().map(|e| e as i16);
                if tx.api_key.0 == SASL_AUTHENTICATE && !flexible {
                    tx.error_message = r
                        .be16()
                        .filter(|&n| n != 0xffff)
                        .and_then(|n| r.take(usize::from(n)))
                        .map(|m| text(m, MAX_NAME));
                }
            }
        }
        if tx.api_key.0 == SASL_AUTHENTICATE {
            tx.auth_success = tx.error_code.map(|e| e == 0);
        }
        out.push(AppRecord::Kafka(tx));
    }
}

/// Where a response's top-level `error_code` sits, for the api keys that
/// have one first: (flexible response header, after `throttle_time_ms`).
/// From the Kafka message definitions (`*Response.json`); ApiVersions
/// responses always use header v0 (KIP-511).
fn error_layout(key: u16, v: u16) -> Option<(bool, bool)> {
    // (key, first flexible version, first version with throttle first,
    // last version with a top-level error).
    const TABLE: &[(u16, u16, u16, u16)] = &[
        (API_VERSIONS, u16::MAX, u16::MAX, u16::MAX),
        (SASL_HANDSHAKE, u16::MAX, u16::MAX, u16::MAX),
        (SASL_AUTHENTICATE, 2, u16::MAX, u16::MAX),
        (10, 3, 1, 3),        // FindCoordinator
        (11, 6, 2, u16::MAX), // JoinGroup
        (12, 4, 1, u16::MAX), // Heartbeat
        (13, 4, 1, u16::MAX), // LeaveGroup
        (14, 4, 1, u16::MAX), // SyncGroup
        (16, 3, 1, u16::MAX), // ListGroups
        (22, 2, 0, u16::MAX), // InitProducerId
        (25, 3, 0, u16::MAX), // AddOffsetsToTxn
        (26, 3, 0, u16::MAX), // EndTxn
        (29, 2, 0, u16::MAX), // DescribeAcls
    ];
    let &(_, flex, throttle, last) = TABLE.iter().find(|e| e.0 == key)?;
    (v <= last).then_some((v >= flex, v >= throttle))
}

/// Topic names collected from a request.
#[derive(Default)]
struct Topics {
    names: Vec<String>,
    truncated: bool,
}

impl Topics {
    fn push(&mut self, name: &[u8]) {
        if self.names.len() >= MAX_TOPICS {
            self.truncated = true;
            return;
        }
        let (n, t) = cut(name, MAX_NAME);
        self.truncated |= t;
        self.names.push(n);
    }
}

/// An int32 array count, negative (null) as 0, bounded by what the bytes
/// could hold at `min` bytes per item.
fn count(r: &mut Rd<'_>, min: usize) -> Option<usize> {
    let n = r.be32()? as i32;
    Some((n.max(0) as usize).min(r.0.len() / min.max(1)))
}

/// Produce v0-8: [transactional_id (v3+)], acks, timeout_ms, then topics
/// [name, partitions [index int32, records bytes]].
fn produce_topics(mut r: Rd<'_>, version: u16, t: &mut Topics) -> Option<()> {
    if version >= 3 {
        let n = r.be16()?;
        if n != 0xffff {
            r.take(usize::from(n))?;
        }
    }
    r.take(6)?;
    for _ in 0..count(&mut r, 6)? {
        t.push(r.str16()?);
        for _ in 0..count(&mut r, 8)? {
            r.take(4)?;
            r.str32()?;
        }
    }
    Some(())
}

/// Fetch v0-11: replica_id, max_wait_ms, min_bytes, [max_bytes v3+],
/// [isolation_level v4+], [session_id, session_epoch v7+], then topics
/// [name, partitions [partition, current_leader_epoch v9+, fetch_offset,
/// log_start_offset v5+, partition_max_bytes]], ...
fn fetch_topics(mut r: Rd<'_>, v: u16, t: &mut Topics) -> Option<()> {
    let head =
        12 + if v >= 3 { 4 } else { 0 } + if v >= 4 { 1 } else { 0 } + if v >= 7 { 8 } else { 0 };
    r.take(head)?;
    let part = 16 + if v >= 9 { 4 } else { 0 } + if v >= 5 { 8 } else { 0 };
    for _ in 0..count(&mut r, 6)? {
        t.push(r.str16()?);
        let n = count(&mut r, part)?;
        r.take(n * part)?;
    }
    Some(())
}

/// Metadata v0-8: topics [name] (null = all topics, v1+), ...
fn metadata_topics(mut r: Rd<'_>, t: &mut Topics) -> Option<()> {
    for _ in 0..count(&mut r, 2)? {
        t.push(r.str16()?);
    }
    Some(())
}

/// User and password flag of a SASL PLAIN token (RFC 4616 §2:
/// [authzid] NUL authcid NUL passwd).
fn plain_token(tx: &mut KafkaTx, mechanism: Option<&str>, token: &[u8]) {
    if mechanism != Some("PLAIN") {
        return;
    }
    let mut parts = token.splitn(3, |&b| b == 0);
    let _authzid = parts.next();
    if let (Some(user), Some(pw)) = (parts.next(), parts.next()) {
        tx.user = Some(text(user, MAX_NAME));
        tx.password_seen = !pw.is_empty();
    }
}

impl Protocol for State {
    const MAX_MSG: usize = MAX_MSG;

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        out.extend(self.pending.drain().map(AppRecord::Kafka));
    }
}
