//! HTML/JavaScript injection (XSS) in HTTP parameters and headers.
//!
//! The value is first URL-decoded (twice when escapes remain, for double
//! encoding), HTML-entity-decoded (`&lt;`, `&#60;`, `&#x3c;`), JS-escape
//! decoded for `<>"'` (`\u003c`, `\x3c`), then lower-cased. It fires on:
//! - a `<script` tag (followed by `>`, `/` or a space);
//! - a dangerous tag: `<iframe`, `<frame`, `<object`, `<embed`,
//!   `<applet`, `<base`, `<meta … http-equiv`;
//! - an event-handler attribute (`onerror=`, `onload=`, `onmouseover=`…,
//!   from a list of event names) inside a tag opened by `<letter`
//!   (`<img src=x onerror=…>`, `<svg/onload=…>`);
//! - a `javascript:` or `vbscript:` URL (tabs and newlines inside the
//!   scheme ignored, as browsers do) followed within 64 bytes by a call
//!   `(`, a backtick or `=`: "javascript: the good parts" does not fire;
//! - a JS breakout: a quote followed by `;`, `)`, `+` or `-` and then
//!   `alert(`, `prompt(`, `confirm(`, `eval(` or `document.cookie`;
//! - `document.cookie`, `alert(`, `prompt(` or `confirm(` together with a
//!   tag (`<letter`) in the same value.
//!
//! Text with `<` (`a < b`), words like "script" or "onion" and ordinary
//! URLs do not fire. Bounds: at most [`MAX_INPUT`] bytes inspected; two
//! decoded copies of them.

use super::{contains_ci, decode_twice, find_ci, fragment, MAX_INPUT};

/// Which XSS pattern fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XssRule {
    /// A `<script` tag.
    ScriptTag,
    /// A tag that loads or runs content (`<iframe`, `<object`…).
    DangerousTag,
    /// An `on…=` event handler inside a tag.
    EventHandler,
    /// A `javascript:` URL with code.
    JavascriptUrl,
    /// A quote closed then a JS call.
    JsBreakout,
    /// A JS sink (`alert(`, `document.cookie`) with a tag.
    JsWithTag,
}

/// An XSS found in one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XssMatch {
    /// The pattern that fired.
    pub rule: XssRule,
    /// Why, for the analyst.
    pub reason: &'static str,
    /// The decoded input from the match on, capped.
    pub fragment: String,
}

const DANGEROUS_TAGS: &[&[u8]] = &[b"iframe", b"frame", b"object", b"embed", b"applet", b"base"];

/// Event names after `on`; a prefix match (`mouse` covers `mouseover`).
const EVENTS: &[&[u8]] = &[
    b"load",
    b"error",
    b"mouse",
    b"click",
    b"dblclick",
    b"key",
    b"focus",
    b"blur",
    b"change",
    b"submit",
    b"input",
    b"toggle",
    b"animation",
    b"transition",
    b"pointer",
    b"touch",
    b"drag",
    b"drop",
    b"wheel",
    b"scroll",
    b"resize",
    b"begin",
    b"end",
    b"start",
    b"abort",
    b"play",
    b"pause",
    b"select",
    b"copy",
    b"cut",
    b"paste",
    b"contextmenu",
    b"hashchange",
    b"message",
    b"page",
    b"popstate",
    b"show",
    b"unload",
    b"beforeunload",
    b"readystatechange",
    b"canplay",
    b"auxclick",
    b"search",
    b"afterprint",
    b"beforeprint",
    b"invalid",
    b"reset",
    b"finish",
];

const SINKS: &[&[u8]] = &[
    b"alert(",
    b"prompt(",
    b"confirm(",
    b"eval(",
    b"document.cookie",
];

/// Decodes HTML entities for `<`, `>`, `"`, `'`, `(`, `)`, `:` and numeric
/// references to ASCII; anything else is kept. Output no longer than input.
pub fn decode_entities(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'&' {
            if let Some((b, used)) = entity(&s[i..]) {
                out.push(b);
                i += used;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// The ASCII byte an entity at the start of `s` stands for, and its length
/// (the `;` is optional, as browsers accept).
fn entity(s: &[u8]) -> Option<(u8, usize)> {
    let body = &s[1..s.len().min(12)];
    let semi = |n: usize| n + 1 + usize::from(body.get(n) == Some(&b';'));
    if let Some(num) = body.strip_prefix(b"#") {
        let (digits, radix, skip) = match num.first() {
            Some(b'x' | b'X') => (&num[1..], 16, 2),
            _ => (num, 10, 1),
        };
        let n = digits
            .iter()
            .take_while(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
            .count();
        let v = std::str::from_utf8(&digits[..n])
            .ok()
            .and_then(|t| u32::from_str_radix(t, radix).ok())?;
        let b = u8::try_from(v).ok().filter(u8::is_ascii)?;
        return Some((b, semi(skip + n)));
    }
    for (name, b) in [
        (&b"lt"[..], b'<'),
        (b"gt", b'>'),
        (b"quot", b'"'),
        (b"apos", b'\''),
        (b"lpar", b'('),
        (b"rpar", b')'),
        (b"colon", b':'),
        (b"tab", b'\t'),
        (b"newline", b'\n'),
    ] {
        if body.len() >= name.len() && body[..name.len()].eq_ignore_ascii_case(name) {
            return Some((b, semi(name.len())));
        }
    }
    None
}

/// The decoded, lower-cased form detectors look at.
fn normalise(value: &[u8]) -> Vec<u8> {
    let s = &value[..value.len().min(MAX_INPUT)];
    let mut d = decode_js_escapes(&decode_entities(&decode_twice(s, false)));
    d.make_ascii_lowercase();
    d
}

/// Decodes the JS/JSON escapes of `<` and `>` (`\u003c`, `\x3c`), the
/// way a reflected JSON string reaches an HTML sink. Output no longer than
/// the input.
fn decode_js_escapes(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let t = &s[i..];
        let (b, used) = if t.len() >= 6 && t[0] == b'\\' && t[1..4].eq_ignore_ascii_case(b"u00") {
            (hex_byte(t[4], t[5]), 6)
        } else if t.len() >= 4 && t[0] == b'\\' && t[1].eq_ignore_ascii_case(&b'x') {
            (hex_byte(t[2], t[3]), 4)
        } else {
            (None, 1)
        };
        match b.filter(|b| matches!(b, b'<' | b'>' | b'"' | b'\'')) {
            Some(b) => {
                out.push(b);
                i += used;
            }
            None => {
                out.push(s[i]);
                i += 1;
            }
        }
    }
    out
}

fn hex_byte(a: u8, b: u8) -> Option<u8> {
    let h = |c: u8| char::from(c).to_digit(16);
    u8::try_from(h(a)? * 16 + h(b)?).ok()
}

/// XSS in one HTTP input (a parameter value, cookie or header value). The
/// value may still be URL-encoded; `+` is not turned into a space.
pub fn in_http_value(value: &[u8]) -> Option<XssMatch> {
    if !value
        .iter()
        .any(|b| matches!(b, b'<' | b'%' | b'&' | b':' | b'\'' | b'"' | b'('))
    {
        return None;
    }
    let s = normalise(value);
    let hit = |rule, reason, at: usize| XssMatch {
        rule,
        reason,
        fragment: fragment(&s, at, s.len()),
    };
    let mut has_tag = None;
    let mut i = 0;
    while let Some(lt) = s[i..].iter().position(|&b| b == b'<').map(|p| p + i) {
        i = lt + 1;
        let name_len = s[i..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if name_len == 0 || !s[i].is_ascii_alphabetic() {
            continue;
        }
        let name = &s[i..i + name_len];
        let after = s.get(i + name_len).copied();
        let ends_name = matches!(
            after,
            None | Some(b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
        );
        if !ends_name {
            continue;
        }
        has_tag.get_or_insert(lt);
        if name == b"script" {
            return Some(hit(XssRule::ScriptTag, "<script> tag", lt));
        }
        if DANGEROUS_TAGS.contains(&name)
            || (name == b"meta" && contains_ci(&s[lt..], b"http-equiv"))
        {
            return Some(hit(
                XssRule::DangerousTag,
                "tag that loads or runs content",
                lt,
            ));
        }
        // the tag's inside ends at `>`, or at the next `<` (so each byte
        // is scanned for attributes once: linear work)
        let tag_end = s[i..]
            .iter()
            .position(|&b| b == b'>' || b == b'<')
            .map_or(s.len(), |p| i + p);
        if let Some(at) = event_handler(&s[i + name_len..tag_end]) {
            return Some(hit(
                XssRule::EventHandler,
                "event-handler attribute in a tag",
                i + name_len + at,
            ));
        }
    }
    if let Some(at) = js_url(&s) {
        return Some(hit(XssRule::JavascriptUrl, "javascript: URL with code", at));
    }
    for sink in SINKS {
        let mut from = 0;
        while let Some(at) = find_ci(&s, sink, from) {
            from = at + 1;
            if breakout_before(&s[..at]) {
                return Some(hit(
                    XssRule::JsBreakout,
                    "quote closed, then a JavaScript sink",
                    at,
                ));
            }
            if let Some(lt) = has_tag {
                return Some(hit(
                    XssRule::JsWithTag,
                    "JavaScript sink with an HTML tag",
                    lt.min(at),
                ));
            }
        }
    }
    None
}

/// Offset of an `on<event>=` attribute in the inside of a tag.
fn event_handler(attrs: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_ci(attrs, b"on", from) {
        from = at + 1;
        let before_ok = at == 0
            || matches!(
                attrs[at - 1],
                b' ' | b'/' | b'"' | b'\'' | b'\t' | b'\n' | b'\r' | 0x0c
            );
        if !before_ok {
            continue;
        }
        let name_len = attrs[at + 2..]
            .iter()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let name = &attrs[at + 2..at + 2 + name_len];
        let rest = &attrs[at + 2 + name_len..];
        let eq = rest.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'=');
        if eq && EVENTS.iter().any(|e| name.starts_with(e)) {
            return Some(at);
        }
    }
    None
}

/// Offset of a `javascript:`/`vbscript:` URL followed by code.
fn js_url(s: &[u8]) -> Option<usize> {
    for scheme in [&b"javascript"[..], b"vbscript"] {
        let mut from = 0;
        while let Some(at) = find_ci(s, &scheme[..4], from) {
            from = at + 1;
            // match the scheme ignoring tabs and newlines
            let mut k = at;
            let mut m = 0;
            while k < s.len() && m < scheme.len() {
                if matches!(s[k], b'\t' | b'\n' | b'\r') {
                    k += 1;
                } else if s[k] == scheme[m] {
                    k += 1;
                    m += 1;
                } else {
                    break;
                }
            }
            if m < scheme.len() || s.get(k) != Some(&b':') {
                continue;
            }
            let tail = &s[k + 1..s.len().min(k + 65)];
            if tail.iter().any(|b| matches!(b, b'(' | b'`' | b'=')) {
                return Some(at);
            }
        }
    }
    None
}

/// Whether the text before a sink ends with a quote and a JS separator.
fn breakout_before(before: &[u8]) -> bool {
    let trimmed: Vec<u8> = before
        .iter()
        .rev()
        .take(8)
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    // `trimmed` is reversed: separator(s) first, then the quote
    let seps = trimmed
        .iter()
        .take_while(|b| matches!(b, b';' | b')' | b'+' | b'-' | b'}' | b'|' | b'&'))
        .count();
    seps > 0 && matches!(trimmed.get(seps), Some(b'\'' | b'"' | b'`'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks() {
        use XssRule::*;
        for (s, r) in [
            ("English%3Cscript%3Ealert(1)%3C/script%3E", ScriptTag),
            ("<ScRiPt src=//x.io>", ScriptTag),
            ("%253Cscript%253E", ScriptTag),
            ("&lt;script&gt;alert(1)", ScriptTag),
            ("<img src=x onerror=alert(1)>", EventHandler),
            ("<svg/onload=alert(1)>", EventHandler),
            ("\"><body onload = x()>", EventHandler),
            ("<iframe src=//evil>", DangerousTag),
            ("javascript:alert(document.cookie)", JavascriptUrl),
            ("java\tscript:alert(1)", JavascriptUrl),
            ("&#106;avascript&colon;alert(1)", JavascriptUrl),
            ("x\";alert(1);//", JsBreakout),
            ("'-prompt(1)-'", JsBreakout),
            ("<b>hi</b>document.cookie", JsWithTag),
            ("<body onload=alert(1)>", EventHandler),
            ("\"><img src=x onerror=prompt(1)>", EventHandler),
            ("<a href=\"javascript:alert(1)\">x</a>", JavascriptUrl),
            ("<details open ontoggle=alert(1)>", EventHandler),
            ("<input autofocus onfocus=alert(1)>", EventHandler),
            ("<IMG SRC=JaVaScRiPt:alert('XSS')>", JavascriptUrl),
            ("<scr<script>ipt>alert(1)", ScriptTag),
            ("\\u003cscript\\u003ealert(1)", ScriptTag),
            ("<object data=x.swf>", DangerousTag),
        ] {
            assert_eq!(in_http_value(s.as_bytes()).map(|m| m.rule), Some(r), "{s}");
        }
    }

    #[test]
    fn benign() {
        for s in [
            "a < b and c > d",
            "the script was good",
            "onion=3&x<b",
            "javascript: the good parts",
            "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0",
            "https://example.com/search?q=alert",
            "<b>bold</b> text",
            "i<3u",
            "alert(1) is a function call",
            "O'Reilly; confirm order",
            "%3C%3E",
            "&amp;&#9999999999;&#x;",
        ] {
            assert_eq!(in_http_value(s.as_bytes()), None, "{s}");
        }
        assert_eq!(decode_entities(b"&#60;&#x3C&lt;&GT;&x"), b"<<<>&x");
    }
}
