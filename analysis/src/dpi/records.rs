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
    /// Service recognised behind the HTTP API: `elasticsearch` (response
    /// `X-elastic-product: Elasticsearch`, or an Elasticsearch REST path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<&'static str>,
    /// What detection inspects beyond the logged fields (not logged).
    #[serde(skip)]
    pub inspect: Option<Box<HttpInspect>>,
}

/// Request parts of an HTTP/1.x transaction kept for detection, capped:
/// [`HttpInspect::MAX_HEADERS`] header fields of at most
/// [`HttpInspect::MAX_VALUE`] bytes and the first
/// [`HttpInspect::MAX_BODY`] bytes of the request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpInspect {
    /// Request header fields (name lower-cased, value), in order.
    pub headers: Vec<(String, String)>,
    /// First bytes of the request body (de-chunked).
    pub body: Vec<u8>,
    /// The request's message-length headers disagree (RFC 9112 §6.3,
    /// §11.2): `te_and_cl` (both `Transfer-Encoding` and
    /// `Content-Length`), `cl_conflict` (several different or invalid
    /// `Content-Length` values), `te_not_chunked` (a final coding other
    /// than chunked), `te_obfuscated` (a `Transfer-Encoding` value that is
    /// not a plain token list).
    pub length_conflict: Option<&'static str>,
    /// Authorization scheme sent (`basic`, `bearer`, `digest`, …),
    /// lower-cased; credentials themselves are never kept.
    pub auth_scheme: Option<String>,
}

impl HttpInspect {
    /// Header fields kept.
    pub const MAX_HEADERS: usize = 32;
    /// Bytes kept of one header value.
    pub const MAX_VALUE: usize = 1024;
    /// Request body bytes kept.
    pub const MAX_BODY: usize = 8192;
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

/// A JA3/JA3S/HASSH-style fingerprint: the canonical string and its MD5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    /// MD5 of `string`, lowercase hex.
    pub hash: String,
    /// The canonical string.
    pub string: String,
}

/// A TLS handshake as far as it is visible (Suricata EVE `tls`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TlsHandshake {
    /// Server name from the ClientHello.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Negotiated version (`TLS 1.2`, `TLS 1.3`, `SSLv3`, …), from the
    /// ServerHello (supported_versions for TLS 1.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Certificate subject (TLS ≤ 1.2, where the certificate is in clear).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Certificate issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuerdn: Option<String>,
    /// Negotiated cipher suite, `0x` + 4 hex digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cipher_suite: Option<String>,
    /// ALPN protocols the client offered.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_alpns: Vec<String>,
    /// ALPN protocol the server chose.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_alpn: Option<String>,
    /// JA3 client fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3: Option<Fingerprint>,
    /// JA3S server fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja3s: Option<Fingerprint>,
    /// JA4 client fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ja4: Option<String>,
}

/// One side of an SSH connection (Suricata EVE `ssh.client` / `ssh.server`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SshSide {
    /// Protocol version from the banner (`2.0`, `1.99`, `1.5`).
    pub proto_version: String,
    /// Software version from the banner (`OpenSSH_8.2p1`).
    pub software_version: String,
    /// HASSH (client) or HASSH-server fingerprint of the KEXINIT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hassh: Option<Fingerprint>,
}

/// An SSH connection's banners and key-exchange fingerprints (Suricata EVE
/// `ssh`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SshSession {
    /// Client side, when its banner was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<SshSide>,
    /// Server side, when its banner was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<SshSide>,
}
