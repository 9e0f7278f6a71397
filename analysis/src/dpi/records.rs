//! Typed application-layer records, serialised with Suricata's EVE field
//! names so existing pipelines read them.

use serde::Serialize;

/// One HTTP/1.x transaction (Suricata EVE `http`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HttpTx {
    /// `Host` header (port stripped), when sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Request target as sent (capped).
    pub url: String,
    /// `User-Agent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_user_agent: Option<String>,
    /// Response `Content-Type`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_content_type: Option<String>,
    /// `Referer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_refer: Option<String>,
    /// Request method.
    pub http_method: String,
    /// `HTTP/1.0` or `HTTP/1.1` (request line).
    pub protocol: String,
    /// Response status code, when a response was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response body length (Content-Length, or bytes of a chunked or
    /// close-delimited body), when a response was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Request body length.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_body_length: Option<u64>,
}

/// One resource record of a DNS answer section (Suricata EVE v2 `answers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsAnswer {
    /// Owner name.
    pub rrname: String,
    /// Type mnemonic (`A`, `AAAA`, `CNAME`, …) or the number.
    pub rrtype: String,
    /// TTL in seconds.
    pub ttl: u32,
    /// Presentation form of the data (address, name, text), when decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rdata: Option<String>,
}

/// One DNS message (Suricata EVE v2 `dns`): a query, or a response with
/// its answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DnsMessage {
    /// `query` or `answer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Message id.
    pub id: u16,
    /// Header flags, 4 hex digits.
    pub flags: String,
    /// First question's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrname: Option<String>,
    /// First question's type mnemonic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrtype: Option<String>,
    /// Response code mnemonic (`NOERROR`, `NXDOMAIN`, …), responses only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rcode: Option<String>,
    /// Answer records, responses only (capped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<DnsAnswer>,
}
