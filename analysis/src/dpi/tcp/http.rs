//! HTTP/1.x: a request line or a status line at the start of a direction.
//!
//! RFC 9112 §3: `request-line = method SP request-target SP HTTP-version`,
//! §4: `status-line = HTTP-version SP status-code SP [reason-phrase]`, with
//! `HTTP-version = "HTTP/" DIGIT "." DIGIT` (§2.3). Only registered methods
//! are accepted (RFC 9110 §9 plus the common WebDAV ones, RFC 4918 §9), so
//! RTSP (`RTSP/1.0`), SIP (`SIP/2.0`) and the HTTP/2 preface (`PRI * HTTP/2.0`)
//! are declined. Either direction may decide: a lone response still names
//! the flow when the request side was lost.

use super::super::{AppProto, Descriptor, Probe, PROBE_BYTES};
use super::wire::any_of;
use crate::flow::Direction;

/// HTTP/1.x descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Http,
    ports: &[80, 8000, 8008, 8080, 8088, 3128, 8888],
    probe,
};

/// Methods a request may start with (case-sensitive, RFC 9110 §9.1).
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"TRACE",
    b"PATCH",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"REPORT",
    b"SEARCH",
];
/// The version up to its minor digit (RFC 9112 §2.3). A request-target
/// longer than the probe buffer ends as `NeedMore` and is declined.
const VERSION_PREFIX: &[u8] = b"HTTP/1.";

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    any_of(probe_status(data), probe_request(data))
}

/// `HTTP/1.x SP 3DIGIT (SP | CR | LF)`.
fn probe_status(data: &[u8]) -> Probe {
    let Some(rest) = after_version(data) else {
        return pending_version(data);
    };
    let code = rest.get(1..4).unwrap_or(rest.get(1..).unwrap_or_default());
    if rest.first().is_some_and(|&b| b != b' ') || !code.iter().all(u8::is_ascii_digit) {
        return Probe::NotMine;
    }
    match rest.get(4) {
        None => Probe::NeedMore,
        Some(b' ' | b'\r' | b'\n') if code.first().is_some_and(|d| (b'1'..=b'5').contains(d)) => {
            Probe::Match
        }
        Some(_) => Probe::NotMine,
    }
}

/// The bytes after `HTTP/1.<digit>`, or `None` when `data` is still a
/// prefix of that (or not HTTP: the caller compares again).
fn after_version(data: &[u8]) -> Option<&[u8]> {
    let rest = data.strip_prefix(VERSION_PREFIX)?;
    match rest.first() {
        Some(d) if d.is_ascii_digit() => rest.get(1..),
        _ => None,
    }
}

/// `method SP request-target SP HTTP/1.x (CR | LF)`, the version found at
/// the end of the line.
fn probe_request(data: &[u8]) -> Probe {
    let sp = data.iter().take(10).position(|&b| b == b' ');
    let Some(sp) = sp else {
        let prefix_of_method = METHODS.iter().any(|m| m.starts_with(data));
        return if prefix_of_method && data.len() < 10 {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    let Some((method, rest)) = data.split_at_checked(sp) else {
        return Probe::NotMine;
    };
    if !METHODS.contains(&method) {
        return Probe::NotMine;
    }
    let rest = rest.get(1..).unwrap_or_default();
    let line_end = rest.iter().position(|&b| b == b'\r' || b == b'\n');
    let line = rest
        .get(..line_end.unwrap_or(rest.len()))
        .unwrap_or_default();
    // request-target: no control characters, non-empty. Unencoded spaces
    // are tolerated (broken clients and attack traffic send them), so the
    // version is looked for at the end of the line.
    if line.first() == Some(&b' ') || line.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Probe::NotMine;
    }
    if line_end.is_none() {
        // A request line longer than the probe buffer: the method and a
        // path- or URL-shaped target that long are evidence enough.
        let target_shaped = line.first() == Some(&b'/') || contains(line, b"://");
        return if data.len() >= PROBE_BYTES && target_shaped {
            Probe::Match
        } else {
            Probe::NeedMore
        };
    }
    let Some(split) = line.len().checked_sub(VERSION_PREFIX.len() + 2) else {
        return Probe::NotMine;
    };
    let Some((target, version)) = line.split_at_checked(split) else {
        return Probe::NotMine;
    };
    let version_ok = version.strip_prefix(b" ").and_then(after_version) == Some(&[][..]);
    if !target.is_empty() && version_ok {
        Probe::Match
    } else {
        Probe::NotMine
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// `data` ended before `HTTP/1.<digit>` was complete: `NeedMore` while it
/// is still a prefix of `HTTP/1.`, else `NotMine`.
fn pending_version(data: &[u8]) -> Probe {
    if data.len() <= VERSION_PREFIX.len() && VERSION_PREFIX.starts_with(data) {
        Probe::NeedMore
    } else {
        Probe::NotMine
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;
    use crate::dpi::parse::testutil::shared_payload;

    #[test]
    fn requests_and_responses_match() {
        assert_valid(
            probe,
            Direction::ToServer,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        );
        assert_valid(probe, Direction::ToServer, b"HEAD /x?y=1 HTTP/1.0\r\n");
        assert_valid(
            probe,
            Direction::ToServer,
            b"CONNECT example.com:443 HTTP/1.1\r\n",
        );
        assert_valid(probe, Direction::ToServer, b"POST /api HTTP/1.1\n");
        assert_valid(probe, Direction::ToClient, b"HTTP/1.1 200 OK\r\n");
        // Unencoded spaces in the target: the 71-byte request line of
        // ndpi__WebattackRCE.pcap frame 535, read from the capture.
        let req = shared_payload("ndpi__WebattackRCE.pcap", 535);
        let end = req
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(0, |i| i + 2);
        assert_eq!(end, 71);
        assert_valid(
            probe,
            Direction::ToServer,
            req.get(..end).unwrap_or_default(),
        );
        assert_valid(probe, Direction::ToClient, b"HTTP/1.0 404\r\n");
    }

    #[test]
    fn overlong_request_line_matches_at_buffer_end() {
        let mut long = b"SEARCH /".to_vec();
        long.resize(PROBE_BYTES, b'A');
        assert_valid(probe, Direction::ToServer, &long);
        let mut junk = b"GET ".to_vec();
        junk.resize(PROBE_BYTES, b'A');
        assert_eq!(probe(Direction::ToServer, &junk), Probe::NeedMore);
    }

    #[test]
    fn near_misses() {
        for bytes in [
            &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
            b"DESCRIBE rtsp://h/x RTSP/1.0\r\n",
            b"OPTIONS rtsp://h/x RTSP/1.0\r\n",
            b"INVITE sip:a@b SIP/2.0\r\n",
            b"RTSP/1.0 200 OK\r\n",
            b"SIP/2.0 200 OK\r\n",
            b"get / HTTP/1.1\r\n",
            b"GET  HTTP/1.1\r\n",
            b"GET / HTTP/1.x\r\n",
            b"GET / HTTP/1.1x\r\n",
            b"GET / HTTP/1.1 \r\n",
            b"GET /\r\n",
            b"GET /a\x01b HTTP/1.1\r\n",
            b"HTTP/1.1 20x OK",
            b"HTTP/1.1 999 OK",
            b"HTTP/1.1200 OK",
            b"HELO example.com\r\n",
            b"GETTING STARTED",
        ] {
            assert_not_mine(probe, Direction::ToServer, bytes);
        }
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
