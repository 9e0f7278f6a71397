//! One HTTP/2 stream (RFC 9113 §5, §8): the request and response fields
//! taken from its decoded header blocks, its DATA byte counts and, for
//! gRPC, its message counts and status (gRPC over HTTP/2, "PROTOCOL-HTTP2"
//! in the grpc/grpc repository).

use super::{
    cap_str, Http2Header, Http2Tx, MAX_FIELD_LEN, MAX_STORED_HEADERS, MAX_STORED_HEADER_BYTES,
    MAX_URL_LEN,
};
use crate::dpi::records::HttpTx;
use crate::flow::Direction;

/// Length of the gRPC message prefix: compressed flag + u32 length.
const GRPC_PREFIX: usize = 5;

/// Counts gRPC length-prefixed messages in a DATA byte stream without
/// buffering them: 5 prefix octets, then the message length is skipped.
#[derive(Debug, Default, Clone)]
pub(super) struct MsgCounter {
    prefix: [u8; GRPC_PREFIX],
    have: usize,
    left: u64,
    /// Messages whose prefix was read.
    pub count: u32,
}

impl MsgCounter {
    /// Feeds DATA payload bytes (padding excluded).
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if self.left > 0 {
                let take = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                self.left -= take as u64;
                data = data.get(take..).unwrap_or_default();
                continue;
            }
            let take = (GRPC_PREFIX - self.have).min(data.len());
            if let (Some(dst), Some(src)) = (
                self.prefix.get_mut(self.have..self.have + take),
                data.get(..take),
            ) {
                dst.copy_from_slice(src);
            }
            self.have += take;
            data = data.get(take..).unwrap_or_default();
            if self.have == GRPC_PREFIX {
                let [_, a, b, c, d] = self.prefix;
                self.left = u64::from(u32::from_be_bytes([a, b, c, d]));
                self.have = 0;
                self.count = self.count.saturating_add(1);
            }
        }
    }
}

/// State of one stream.
#[derive(Debug, Clone)]
pub(super) struct Stream {
    /// The record being filled.
    pub tx: Http2Tx,
    /// END_STREAM (or a reset) seen, per [`Direction::idx`].
    pub ended: [bool; 2],
    /// A final (non-1xx) response header block was seen: later blocks from
    /// the server are trailers (RFC 9113 §8.1).
    response_seen: bool,
    /// A request header block was seen: later ones are trailers.
    request_seen: bool,
    /// Request `content-type`.
    request_content_type: Option<String>,
    /// `host` header, used when there is no `:authority`.
    host: Option<String>,
    /// gRPC message counters per direction.
    pub msgs: [MsgCounter; 2],
    /// DATA bytes per direction.
    pub data_bytes: [u64; 2],
    /// Octets of stored header names and values per direction.
    stored: [usize; 2],
}

impl Stream {
    /// A new stream (`pushed`: promised by the server, RFC 9113 §8.4, so
    /// it has no request body).
    pub fn new(id: u32, pushed: bool) -> Stream {
        Stream {
            tx: Http2Tx {
                version: "2",
                stream_id: id,
                pushed,
                ..Http2Tx::default()
            },
            ended: [pushed, false],
            response_seen: false,
            request_seen: false,
            request_content_type: None,
            host: None,
            msgs: Default::default(),
            data_bytes: [0; 2],
            stored: [0; 2],
        }
    }

    /// Stream 1 of an h2c upgrade: the HTTP/1.1 request, already sent.
    pub fn upgraded(req: &HttpTx) -> Stream {
        let mut s = Stream::new(1, false);
        s.tx.http_method = Some(req.http_method.clone());
        s.tx.url = Some(req.url.clone());
        s.tx.hostname = req.hostname.clone();
        s.tx.http_user_agent = req.http_user_agent.clone();
        s.ended[0] = true;
        s.request_seen = true;
        s.data_bytes[0] = req.request_body_length.unwrap_or(0);
        s
    }

    /// Whether both directions have ended.
    pub fn complete(&self) -> bool {
        self.ended == [true, true]
    }

    /// Whether the stream carries gRPC (`content-type: application/grpc*`).
    pub fn is_grpc(&self) -> bool {
        let grpc = |ct: &Option<String>| {
            ct.as_deref()
                .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/grpc"))
        };
        grpc(&self.request_content_type) || grpc(&self.tx.http_content_type)
    }

    /// One decoded header field of a block sent in direction `dir`.
    pub fn field(&mut self, dir: Direction, name: &[u8], value: &[u8]) {
        let tx = &mut self.tx;
        match dir {
            Direction::ToServer if !self.request_seen => match name {
                b":method" => tx.http_method = Some(cap_str(value, MAX_FIELD_LEN)),
                b":path" => tx.url = Some(cap_str(value, MAX_URL_LEN)),
                b":authority" => tx.hostname = Some(host_of(value)),
                b"host" => self.host = Some(host_of(value)),
                b"user-agent" => tx.http_user_agent = Some(cap_str(value, MAX_FIELD_LEN)),
                b"content-type" => self.request_content_type = Some(cap_str(value, MAX_FIELD_LEN)),
                _ => {}
            },
            Direction::ToClient => match name {
                b":status" => tx.status = parse_status(value),
                b"content-type" if !self.response_seen => {
                    tx.http_content_type = Some(cap_str(value, MAX_FIELD_LEN));
                }
                b"grpc-status" => {
                    tx.grpc_status = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok());
                }
                b"grpc-message" => tx.grpc_message = Some(cap_str(value, MAX_FIELD_LEN)),
                _ => {}
            },
            Direction::ToServer => {}
        }
        // Never log a credential: keep the scheme, flag the rest.
        let redacted;
        let value = if matches!(name, b"authorization" | b"proxy-authorization") {
            tx.credentials_seen = true;
            redacted = redact(value);
            redacted.as_bytes()
        } else {
            value
        };
        let (list, stored) = match dir {
            Direction::ToServer => (&mut tx.request_headers, &mut self.stored[0]),
            Direction::ToClient => (&mut tx.response_headers, &mut self.stored[1]),
        };
        let h = Http2Header {
            name: cap_str(name, MAX_FIELD_LEN),
            value: cap_str(value, MAX_FIELD_LEN),
        };
        let size = h.name.len() + h.value.len();
        if list.len() < MAX_STORED_HEADERS && *stored + size <= MAX_STORED_HEADER_BYTES {
            *stored += size;
            list.push(h);
        } else {
            tx.headers_truncated = true;
        }
    }

    /// A header block of direction `dir` has been decoded.
    pub fn block_done(&mut self, dir: Direction) {
        match dir {
            Direction::ToServer => self.request_seen = true,
            // An interim 1xx response is followed by the final one (§8.1).
            Direction::ToClient => {
                if self.tx.status.is_none_or(|s| s >= 200) {
                    self.response_seen = true;
                }
            }
        }
    }

    /// The finished record: body lengths, host fallback and gRPC fields.
    pub fn into_record(mut self) -> Http2Tx {
        let [req, resp] = self.data_bytes;
        self.tx.request_body_length = self.request_seen.then_some(req);
        self.tx.length = self.response_seen.then_some(resp);
        if self.tx.hostname.is_none() {
            self.tx.hostname = self.host.take();
        }
        if self.is_grpc() {
            let [to_server, to_client] = &self.msgs;
            self.tx.grpc_request_messages = Some(to_server.count);
            self.tx.grpc_response_messages = self.response_seen.then_some(to_client.count);
            if let Some((service, method)) = self.tx.url.as_deref().and_then(grpc_path) {
                self.tx.grpc_product = product(service);
                self.tx.grpc_service = Some(service.to_string());
                self.tx.grpc_method = Some(method.to_string());
            }
        }
        self.tx
    }
}

/// An `Authorization` value with its credentials replaced (RFC 9110
/// §11.4: `auth-scheme [ SP token68 / #auth-param ]`).
fn redact(value: &[u8]) -> String {
    match value.iter().position(|&b| b == b' ') {
        Some(sp) => format!(
            "{} [redacted]",
            cap_str(value.get(..sp).unwrap_or_default(), 64)
        ),
        None => "[redacted]".to_string(),
    }
}

/// `:status` as a 3-digit code (RFC 9113 §8.3.2).
fn parse_status(v: &[u8]) -> Option<u16> {
    if v.len() != 3 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// `:authority` or `host` without its port, lower case (as the HTTP/1
/// records give `hostname`).
fn host_of(v: &[u8]) -> String {
    let s = cap_str(v, MAX_FIELD_LEN);
    let host = if s.starts_with('[') {
        s.split_inclusive(']').next().unwrap_or(&s)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => &s,
        }
    };
    host.to_ascii_lowercase()
}

/// `/package.Service/Method` (gRPC "Path" = "/" Service-Name "/"
/// Method-Name) split into service and method.
pub(super) fn grpc_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// Products known from their gRPC service packages: etcd v3's API
/// (`etcdserverpb.KV`, `.Watch`, `.Lease`, `.Cluster`, `.Maintenance`,
/// `.Auth`) and its election and lock services.
fn product(service: &str) -> Option<&'static str> {
    let pkg = service.rsplit_once('.').map_or("", |(p, _)| p);
    matches!(pkg, "etcdserverpb" | "v3electionpb" | "v3lockpb").then_some("etcd")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_message_counter() {
        let mut c = MsgCounter::default();
        // Two messages (3 and 0 bytes) fed in odd pieces.
        let bytes = b"\x00\x00\x00\x00\x03abc\x00\x00\x00\x00\x00";
        for chunk in bytes.chunks(2) {
            c.feed(chunk);
        }
        assert_eq!(c.count, 2);
        // A huge declared length is skipped, never allocated.
        c.feed(b"\x01\xff\xff\xff\xffzz");
        assert_eq!(c.count, 3);
        assert!(c.left > 0);
    }

    #[test]
    fn paths_hosts_products() {
        assert_eq!(
            grpc_path("/etcdserverpb.KV/Range"),
            Some(("etcdserverpb.KV", "Range"))
        );
        assert_eq!(grpc_path("/index.html"), None);
        assert_eq!(grpc_path("/a/b/c"), None);
        assert_eq!(product("etcdserverpb.Watch"), Some("etcd"));
        assert_eq!(product("greet.GreetService"), None);
        assert_eq!(host_of(b"LocalHost:50051"), "localhost");
        assert_eq!(host_of(b"[::1]:443"), "[::1]");
        assert_eq!(parse_status(b"200"), Some(200));
        assert_eq!(parse_status(b"20x"), None);
    }
}
