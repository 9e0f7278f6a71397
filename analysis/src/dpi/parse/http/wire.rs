//! HTTP/1.x syntax (RFC 9112): start lines, header sections, chunk-size
//! lines, and the small value helpers the state machine in `http.rs` uses.
//! Pure functions over borrowed bytes; nothing here allocates except the
//! capped strings stored in records and the field list of a header section.

use super::MAX_HEADER_FIELDS;
use crate::flow::Direction;

/// How a message body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Neither `Transfer-Encoding` nor `Content-Length`.
    None,
    /// A valid `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding` whose final coding is `chunked`.
    Chunked,
    /// `Transfer-Encoding` whose final coding is not `chunked`.
    OtherCoding,
    /// Unparsable or conflicting `Content-Length` values.
    Invalid,
}

/// A parsed header section, borrowing its bytes.
#[derive(Debug, Clone)]
pub(super) struct Head<'a> {
    /// Start line without its line ending.
    pub start: &'a [u8],
    /// Field names and values (values trimmed of OWS), in order.
    pub fields: Vec<(&'a [u8], &'a [u8])>,
}

impl<'a> Head<'a> {
    /// Values of every field called `name` (lower case), in order.
    pub fn values<'s>(&'s self, name: &'s [u8]) -> impl Iterator<Item = &'a [u8]> + 's {
        self.fields
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// Value of the first field called `name`.
    pub fn field(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.values(name).next()
    }
}

/// Where the header section in `buf` ends (just past its empty line), or,
/// when not yet complete, the offset to resume the search from.
pub(super) fn find_head_end(buf: &[u8], from: usize) -> Result<usize, usize> {
    let mut i = from;
    while let Some(pos) = buf
        .get(i..)
        .and_then(|s| s.iter().position(|&b| b == b'\n'))
    {
        let lf = i + pos;
        match (buf.get(lf + 1), buf.get(lf + 2)) {
            (Some(b'\n'), _) => return Ok(lf + 2),
            (Some(b'\r'), Some(b'\n')) => return Ok(lf + 3),
            (None, _) | (Some(b'\r'), None) => return Err(lf),
            _ => i = lf + 1,
        }
    }
    Err(buf.len())
}

/// Splits a complete header section into start line and fields; `None`
/// beyond [`MAX_HEADER_FIELDS`].
pub(super) fn parse_head(raw: &[u8]) -> Option<Head<'_>> {
    let mut lines = raw
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let start = lines.next().unwrap_or_default();
    let mut fields = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            continue; // obs-fold (RFC 9112 §5.2): continuation, skipped.
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue; // Not a field line; tolerated.
        };
        let (name, value) = line.split_at_checked(colon).unwrap_or((line, &[]));
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        if fields.len() >= MAX_HEADER_FIELDS {
            return None;
        }
        fields.push((name, value));
    }
    Some(Head { start, fields })
}

/// RFC 9110 §5.6.2 token character.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Whether a partial start line can still become a valid one, so that a
/// stream of something else is dropped at once rather than buffered.
pub(super) fn plausible_start(dir: Direction, buf: &[u8]) -> bool {
    match dir {
        Direction::ToServer => {
            let method = buf.split(|&b| b == b' ').next().unwrap_or_default();
            let complete = method.len() < buf.len();
            method.len() <= 32
                && method.iter().all(|&b| is_tchar(b))
                && (complete || buf.len() <= 32)
        }
        Direction::ToClient => {
            let n = buf.len().min(5);
            buf.get(..n) == b"HTTP/".get(..n)
        }
    }
}

/// `method SP request-target SP HTTP-version` (RFC 9112 §3); whitespace
/// runs are accepted as separators.
pub(super) fn parse_request_line(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let mut parts = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|p| !p.is_empty());
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    let ok = parts.next().is_none()
        && method.iter().all(|&b| is_tchar(b))
        && (version == b"HTTP/1.1" || version == b"HTTP/1.0")
        && !target.iter().any(|b| b.is_ascii_control());
    ok.then_some((method, target, version))
}

/// `HTTP-version SP status-code SP [reason-phrase]` (RFC 9112 §4): the
/// status code.
pub(super) fn parse_status_line(line: &[u8]) -> Option<u16> {
    let version = line.get(..8)?;
    let ok = version.starts_with(b"HTTP/1.") && version.get(7).is_some_and(u8::is_ascii_digit);
    let code = line.get(9..12)?;
    if !ok || line.get(8) != Some(&b' ') || !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if line.get(12).is_some_and(|&b| b != b' ' && b != b'\t') {
        return None;
    }
    code.iter()
        .try_fold(0u16, |n, &d| Some(n * 10 + u16::from(d - b'0')))
}

/// `chunk-size [chunk-ext]` (RFC 9112 §7.1): the size.
pub(super) fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let (hex, rest) = line.split_at_checked(digits)?;
    if hex.is_empty() || hex.len() > 16 {
        return None;
    }
    let rest = rest.trim_ascii_start();
    if !(rest.is_empty() || rest.starts_with(b";")) {
        return None;
    }
    hex.iter().try_fold(0u64, |n, &d| {
        let v = char::from(d).to_digit(16)?;
        Some((n << 4) | u64::from(v))
    })
}

/// A `1*DIGIT` value that fits in a `u64`.
pub(super) fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &d| {
        if !d.is_ascii_digit() {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// `Host` value without its port (RFC 9110 §7.2); IPv6 literals keep their
/// brackets.
pub(super) fn host_without_port(v: &[u8]) -> &[u8] {
    if v.starts_with(b"[") {
        return match v.iter().position(|&b| b == b']') {
            Some(end) => v.get(..=end).unwrap_or(v),
            None => v,
        };
    }
    match v.iter().rposition(|&b| b == b':') {
        Some(i)
            if v.get(i + 1..)
                .is_some_and(|p| p.iter().all(u8::is_ascii_digit)) =>
        {
            v.get(..i).unwrap_or(v)
        }
        _ => v,
    }
}

/// At most `cap` bytes of `bytes` as lossy UTF-8, cut on a character
/// boundary so the string stays within `cap` bytes.
pub(super) fn cap_str(bytes: &[u8], cap: usize) -> String {
    let mut s = String::from_utf8_lossy(bytes.get(..cap).unwrap_or(bytes)).into_owned();
    let mut end = cap.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s
}

/// Elasticsearch REST endpoints that name the API in the first path
/// segment (`/_search`) or right after an index (`/logs-*/_search`).
const ES_APIS: &[&[u8]] = &[
    b"_search",
    b"_msearch",
    b"_bulk",
    b"_doc",
    b"_create",
    b"_update",
    b"_source",
    b"_mget",
    b"_count",
    b"_mapping",
    b"_mappings",
    b"_settings",
    b"_alias",
    b"_aliases",
    b"_refresh",
    b"_flush",
    b"_forcemerge",
    b"_stats",
    b"_update_by_query",
    b"_delete_by_query",
    b"_field_caps",
    b"_explain",
    b"_validate",
    b"_rollover",
    b"_open",
    b"_close",
];
/// Endpoints that only exist at the root (`/_cat/indices`, `/_nodes`).
const ES_ROOT_APIS: &[&[u8]] = &[
    b"_cat",
    b"_cluster",
    b"_nodes",
    b"_reindex",
    b"_snapshot",
    b"_ingest",
    b"_security",
    b"_xpack",
    b"_license",
    b"_tasks",
    b"_index_template",
    b"_template",
    b"_sql",
    b"_all",
    b"_ilm",
    b"_data_stream",
    b"_ml",
    b"_async_search",
    b"_pit",
    b"_scripts",
];

/// Whether a request target is an Elasticsearch REST API path: its first
/// segment, or the one after an index name, is a known `_api` segment.
pub(super) fn elasticsearch_path(target: &[u8]) -> bool {
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let Some(path) = path.strip_prefix(b"/") else {
        return false;
    };
    let mut segs = path.split(|&b| b == b'/');
    let first = segs.next().unwrap_or_default();
    if ES_APIS.contains(&first) || ES_ROOT_APIS.contains(&first) {
        return true;
    }
    let second = segs.next().unwrap_or_default();
    !first.is_empty() && !first.starts_with(b"_") && ES_APIS.contains(&second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_crlf_lf_and_partial() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\n", 0), Ok(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\n\n", 0), Ok(16));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r", 0), Err(15));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\nA: b\r\n", 0), Err(21));
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(parse_chunk_size(b"1a"), Some(26));
        assert_eq!(parse_chunk_size(b"1A;name=\"v\""), Some(26));
        assert_eq!(parse_chunk_size(b"0 ; ext"), Some(0));
        assert_eq!(parse_chunk_size(b""), None);
        assert_eq!(parse_chunk_size(b"zz"), None);
        assert_eq!(parse_chunk_size(b"12345678901234567"), None);
        assert_eq!(parse_chunk_size(b"ffffffffffffffff"), Some(u64::MAX));
    }

    #[test]
    fn start_lines() {
        assert_eq!(
            parse_request_line(b"GET /a?b HTTP/1.1"),
            Some((&b"GET"[..], &b"/a?b"[..], &b"HTTP/1.1"[..]))
        );
        assert_eq!(parse_request_line(b"GET / HTTP/2.0"), None);
        assert_eq!(parse_request_line(b"G(T / HTTP/1.1"), None);
        assert_eq!(parse_request_line(b"GET /"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK"), Some(200));
        assert_eq!(parse_status_line(b"HTTP/1.0 304"), Some(304));
        assert_eq!(parse_status_line(b"HTTP/1.1 20 OK"), None);
        assert_eq!(parse_status_line(b"HTTP/1.1 2000 OK"), None);
        assert_eq!(parse_status_line(b"SSH-2.0-OpenSSH"), None);
    }

    #[test]
    fn hosts_and_caps() {
        assert_eq!(host_without_port(b"a.example:8080"), b"a.example");
        assert_eq!(host_without_port(b"a.example"), b"a.example");
        assert_eq!(host_without_port(b"[::1]:80"), b"[::1]");
        assert_eq!(host_without_port(b"a:b"), b"a:b");
        assert_eq!(cap_str("héllo".as_bytes(), 2), "h");
        assert_eq!(cap_str(b"a\xffb", 10), "a\u{fffd}b");
        assert_eq!(parse_decimal(b"18446744073709551616"), None);
        assert_eq!(parse_decimal(b"-1"), None);
    }

    #[test]
    fn elasticsearch_paths() {
        for yes in [
            &b"/_search?q=user:kimchy"[..],
            b"/_bulk",
            b"/_cat/indices?v",
            b"/_cluster/health",
            b"/_nodes/stats",
            b"/logs-2024.01/_search",
            b"/twitter/_doc/1",
            b"/_all/_settings",
        ] {
            assert!(elasticsearch_path(yes), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b"/"[..],
            b"/search",
            b"/index.html",
            b"/a/b/_search",
            b"/_next/static/app.js",
            b"/_/_search",
            b"*",
            b"/api/_cat",
        ] {
            assert!(!elasticsearch_path(no), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn plausibility() {
        assert!(plausible_start(Direction::ToServer, b"GE"));
        assert!(plausible_start(Direction::ToServer, b"GET /x"));
        assert!(!plausible_start(Direction::ToServer, b"\x16\x03\x01"));
        assert!(plausible_start(Direction::ToClient, b"HTT"));
        assert!(!plausible_start(Direction::ToClient, b"HTX"));
    }
}
