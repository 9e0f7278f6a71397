//! SQL injection, in the spirit of libinjection: a small SQL tokenizer, a
//! short fingerprint of token classes, and structural rules over the
//! tokens rather than a regular expression over the text.
//!
//! An HTTP value ([`in_http_value`]) is tokenized in three contexts, as
//! libinjection does: as is (numeric injection, `1 OR 1=1`), as if it
//! started inside a single-quoted string, and inside a double-quoted one
//! (`x' OR 'a'='a`: the first token is then the string the application
//! opened, and the injection is what follows its closing quote). A value
//! only fires when a rule matches: text with an apostrophe, search words
//! like "select a product" or "union", JSON and URLs do not.
//!
//! Rules for HTTP values:
//! - tautology after a closed string: `' OR 1=1`, `' OR 'a'='a`,
//!   `') or ('x'='x`, `' or 1--` (as is: only `<number> OR a=a` with two
//!   equal literals);
//! - `UNION [ALL|DISTINCT] SELECT` followed by a select item, after a
//!   closed string, a number, `)`, a comment or at the start;
//! - stacked query: `;` then `DROP TABLE`, `DELETE FROM`, `INSERT INTO`,
//!   `UPDATE x SET`, `EXEC x`, `SHUTDOWN`, `DECLARE @`, `WAITFOR DELAY`,
//!   `SELECT <item>`, after a closed string (as is: after a number or `)`);
//! - comment truncation right after a closed string: `admin'--`,
//!   `admin')#`, `x'/*`, the comment ending the input and carrying no
//!   letter or digit (`-- -`), or for `--`/`/*` at most two in at most four
//!   bytes;
//! - a subquery `(SELECT` within 7 tokens after a logic operator right
//!   after a closed string or a leading number (`1 AND
//!   ASCII(SUBSTRING((SELECT …`);
//! - column-count probing after a closed string: `' ORDER BY 3--`;
//! - time/blind functions anywhere: `SLEEP(n`, `BENCHMARK(n,`,
//!   `PG_SLEEP(n`, `WAITFOR DELAY '`, `DBMS_LOCK.SLEEP(`,
//!   `DBMS_PIPE.RECEIVE_MESSAGE(`;
//! - error-based functions anywhere: `EXTRACTVALUE(`, `UPDATEXML(`,
//!   `UTL_INADDR.GET_HOST_ADDRESS(`;
//! - schema probes: `information_schema`, `sqlite_master`, `sysobjects`,
//!   `pg_shadow`, `mysql.user` with a `FROM`/`SELECT`/`UNION` or after a
//!   closed string; `@@version`, `@@datadir`; `LOAD_FILE(`;
//!   `INTO OUTFILE|DUMPFILE`.
//!
//! A database query ([`in_sql_query`]) is legitimate SQL by nature, so only
//! injection artefacts fire there, tokenized as is:
//! - a tautology after `WHERE`/`ON`/`HAVING`: `OR` (or `||`, `XOR`)
//!   followed by two equal literals compared with `=`/`LIKE` (`OR 1=1`,
//!   `OR 'x'='x'`), or by a lone true literal (`OR 1`, `OR true`) ending
//!   the condition;
//! - `UNION [ALL] SELECT` whose select list starts with at least two
//!   `NULL`s (column-count padding), or whose branch reads
//!   `information_schema`;
//! - a string closed then `;` and a stacked statement (as above) with a
//!   comment after it (`x'; DROP TABLE u; --'`: legitimate batches of
//!   statements do not comment out their tail), or a
//!   string closed then a line comment running to the end that still holds
//!   a quote (`WHERE u='admin'--' AND p='x'`);
//! - the time/blind functions above.
//!
//! Bounds: at most [`MAX_INPUT`] bytes and [`MAX_TOKENS`] tokens per
//! context; no allocation beyond the token vector and the fingerprint.

use super::{fragment, MAX_INPUT};

/// Tokens read per context; the rules only look at these.
pub const MAX_TOKENS: usize = 64;

/// Token classes of a fingerprint.
pub const FINGERPRINT_LEN: usize = 5;

/// Where the input is assumed to sit inside the application's query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqlContext {
    /// Inserted as is (numeric parameter, or a whole query).
    AsIs,
    /// Inserted inside a single-quoted string.
    SingleQuote,
    /// Inserted inside a double-quoted string.
    DoubleQuote,
}

impl SqlContext {
    fn quote(self) -> Option<u8> {
        match self {
            SqlContext::AsIs => None,
            SqlContext::SingleQuote => Some(b'\''),
            SqlContext::DoubleQuote => Some(b'"'),
        }
    }
}

/// Which structural rule fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliRule {
    /// Always-true condition (`OR 1=1`).
    Tautology,
    /// `UNION SELECT`.
    UnionSelect,
    /// A second statement after `;`.
    StackedQuery,
    /// The rest of the query commented out after a string.
    CommentTruncation,
    /// Time-based blind injection (`SLEEP(`).
    TimeBlind,
    /// Error-based extraction (`EXTRACTVALUE(`).
    ErrorBased,
    /// Reads the schema or server files (`information_schema`).
    SchemaProbe,
    /// A subquery behind a logic operator (boolean blind extraction).
    BlindSubquery,
    /// `ORDER BY <n>` then a comment: column-count probing.
    OrderByProbe,
}

/// A SQL injection found in one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliMatch {
    /// The rule that fired.
    pub rule: SqliRule,
    /// The context the input was read in.
    pub context: SqlContext,
    /// Classes of the first [`FINGERPRINT_LEN`] tokens, libinjection-like:
    /// `s` string, `1` number/literal, `v` variable, `o` operator, `&`
    /// logic, `k` keyword, `E` statement, `U` union, `f` function, `n`
    /// bareword, `c` comment, and `(`, `)`, `,`, `;`.
    pub fingerprint: String,
    /// Why, for the analyst.
    pub reason: &'static str,
    /// The input from the first injected token, capped.
    pub fragment: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Str,
    Num,
    Var,
    Op,
    Cmp,
    Logic,
    Kw,
    Stmt,
    Union,
    Func,
    Word,
    Comment,
    LParen,
    RParen,
    Comma,
    Semi,
}

impl Class {
    fn code(self) -> char {
        match self {
            Class::Str => 's',
            Class::Num => '1',
            Class::Var => 'v',
            Class::Op | Class::Cmp => 'o',
            Class::Logic => '&',
            Class::Kw => 'k',
            Class::Stmt => 'E',
            Class::Union => 'U',
            Class::Func => 'f',
            Class::Word => 'n',
            Class::Comment => 'c',
            Class::LParen => '(',
            Class::RParen => ')',
            Class::Comma => ',',
            Class::Semi => ';',
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Tok {
    class: Class,
    start: usize,
    end: usize,
    /// Strings: ended by their quote.
    closed: bool,
    /// Strings: the opening quote is in the input (not the context's).
    opened: bool,
}

/// The longest word of the keyword table ("procedure").
const LONGEST_KEYWORD: usize = 9;

/// The class of a word from the keyword table (lower-case), if it is one:
/// logic (and, or, xor), comparison (like, rlike, regexp, sounds), `union`,
/// statement starts, literals (null, true, false) and other SQL keywords.
fn keyword(lower: &[u8]) -> Option<Class> {
    Some(match lower {
        b"and" | b"or" | b"xor" => Class::Logic,
        b"like" | b"rlike" | b"regexp" | b"sounds" => Class::Cmp,
        b"union" => Class::Union,
        b"select" | b"insert" | b"update" | b"delete" | b"drop" | b"create" | b"alter"
        | b"truncate" | b"exec" | b"execute" | b"declare" | b"shutdown" | b"waitfor" | b"grant" => {
            Class::Stmt
        }
        b"null" | b"true" | b"false" => Class::Num,
        b"from" | b"where" | b"into" | b"values" | b"set" | b"table" | b"database" | b"schema"
        | b"order" | b"group" | b"by" | b"having" | b"limit" | b"offset" | b"all" | b"distinct"
        | b"as" | b"join" | b"on" | b"case" | b"when" | b"then" | b"else" | b"end" | b"delay"
        | b"outfile" | b"dumpfile" | b"procedure" | b"function" | b"view" | b"user" | b"top"
        | b"is" | b"in" | b"not" | b"between" | b"exists" | b"asc" | b"desc" | b"collate"
        | b"div" | b"mod" => Class::Kw,
        _ => return None,
    })
}

/// The class of a word token: a keyword's class, else a function name
/// when `(` follows, else a plain word. One lower-casing into a stack
/// buffer and one `match`, since every word of every inspected value
/// passes here.
fn word_class(w: &[u8], paren_next: bool) -> Class {
    let mut lower = [0u8; LONGEST_KEYWORD];
    let found = match lower.get_mut(..w.len()) {
        Some(buf) => {
            for (d, s) in buf.iter_mut().zip(w) {
                *d = s.to_ascii_lowercase();
            }
            keyword(buf)
        }
        None => None,
    };
    match found {
        Some(Class::Kw) | None if paren_next => Class::Func,
        Some(c) => c,
        None => Class::Word,
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0)
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'$' | b'.') || b >= 0x80
}

/// Whether `word` is one of the space-separated `list`, case-insensitively.
fn in_list(word: &[u8], list: &str) -> bool {
    list.split(' ')
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

/// End of a string whose body starts at `from` (the index of its closing
/// quote or the input's end) and whether the quote was found. `''` and
/// backslash escapes stay inside.
fn scan_string(s: &[u8], from: usize, q: u8) -> (usize, bool) {
    let mut j = from;
    while j < s.len() {
        if s[j] == b'\\' {
            j += 2;
            continue;
        }
        if s[j] == q {
            if s.get(j + 1) == Some(&q) {
                j += 2;
                continue;
            }
            return (j, true);
        }
        j += 1;
    }
    (s.len(), false)
}

fn tokenize(s: &[u8], ctx: SqlContext) -> Vec<Tok> {
    let mut toks = Vec::with_capacity(16);
    let mut i = 0;
    if let Some(q) = ctx.quote() {
        let (end, closed) = scan_string(s, 0, q);
        toks.push(Tok {
            class: Class::Str,
            start: 0,
            end,
            closed,
            opened: false,
        });
        i = end + usize::from(closed);
    }
    while i < s.len() && toks.len() < MAX_TOKENS {
        let b = s[i];
        let next = s.get(i + 1).copied();
        let start = i;
        let mut closed = false;
        let class = match b {
            _ if is_space(b) => {
                i += 1;
                continue;
            }
            b'\'' | b'"' => {
                let (end, c) = scan_string(s, i + 1, b);
                closed = c;
                i = end + usize::from(c);
                Class::Str
            }
            b'`' => {
                let (end, c) = scan_string(s, i + 1, b);
                i = end + usize::from(c);
                Class::Word
            }
            b'#' => {
                i = line_end(s, i);
                Class::Comment
            }
            b'-' if next == Some(b'-') => {
                i = line_end(s, i);
                Class::Comment
            }
            b'/' if next == Some(b'*') => {
                i = super::find_ci(s, b"*/", i + 2).map_or(s.len(), |e| e + 2);
                Class::Comment
            }
            b'(' | b')' | b',' | b';' => {
                i += 1;
                match b {
                    b'(' => Class::LParen,
                    b')' => Class::RParen,
                    b',' => Class::Comma,
                    _ => Class::Semi,
                }
            }
            b'@' => {
                i += 1;
                while i < s.len() && (s[i] == b'@' || is_word(s[i])) {
                    i += 1;
                }
                Class::Var
            }
            b'0'..=b'9' => {
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                    i += 1;
                }
                Class::Num
            }
            b'.' if next.is_some_and(|n| n.is_ascii_digit()) => {
                i += 1;
                while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'.') {
                    i += 1;
                }
                Class::Num
            }
            b'=' | b'<' | b'>' | b'!' => {
                while i < s.len() && matches!(s[i], b'=' | b'<' | b'>' | b'!') && i - start < 3 {
                    i += 1;
                }
                if &s[start..i] == b"!" {
                    Class::Op
                } else {
                    Class::Cmp
                }
            }
            b'&' | b'|' if next == Some(b) => {
                i += 2;
                Class::Logic
            }
            _ if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 => {
                while i < s.len() && is_word(s[i]) {
                    i += 1;
                }
                word_class(&s[start..i], s.get(i) == Some(&b'('))
            }
            _ => {
                i += 1;
                Class::Op
            }
        };
        toks.push(Tok {
            class,
            start,
            end: i.min(s.len()),
            closed,
            opened: class == Class::Str,
        });
    }
    toks
}

fn line_end(s: &[u8], from: usize) -> usize {
    s[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(s.len(), |p| from + p)
}

/// One tokenized context of one input.
struct View<'a> {
    s: &'a [u8],
    t: Vec<Tok>,
}

impl View<'_> {
    fn class(&self, i: usize) -> Option<Class> {
        self.t.get(i).map(|t| t.class)
    }
    fn text(&self, i: usize) -> &[u8] {
        self.t.get(i).map_or(&[][..], |t| &self.s[t.start..t.end])
    }
    fn is(&self, i: usize, word: &str) -> bool {
        self.text(i).eq_ignore_ascii_case(word.as_bytes())
    }
    fn is_any(&self, i: usize, words: &str) -> bool {
        in_list(self.text(i), words)
    }
    /// Literal text without quotes, for comparing two literals.
    fn literal(&self, i: usize) -> Option<&[u8]> {
        let t = self.t.get(i)?;
        match t.class {
            Class::Num => Some(self.text(i)),
            Class::Str => {
                let from = (t.start + usize::from(t.opened)).min(t.end);
                let to = if t.closed && t.opened {
                    t.end - 1
                } else {
                    t.end
                };
                Some(&self.s[from..to.max(from)])
            }
            _ => None,
        }
    }
    fn skip(&self, mut i: usize, class: Class) -> usize {
        while self.class(i) == Some(class) {
            i += 1;
        }
        i
    }
    fn fingerprint(&self) -> String {
        self.t
            .iter()
            .take(FINGERPRINT_LEN)
            .map(|t| t.class.code())
            .collect()
    }
    /// Whether tokens from `i` on are done: none, a comment, `;`.
    fn ends(&self, i: usize) -> bool {
        matches!(self.class(i), None | Some(Class::Comment | Class::Semi))
    }
    fn is_item(&self, i: usize) -> bool {
        match self.class(i) {
            Some(Class::Num | Class::Str | Class::Func | Class::Var | Class::LParen) => true,
            Some(Class::Op) => self.is(i, "*"),
            Some(Class::Word) => {
                matches!(self.class(i + 1), Some(Class::Comma)) || self.is(i + 1, "from")
            }
            _ => false,
        }
    }

    /// `; <statement>` at `semi`.
    fn stacked_statement(&self, semi: usize) -> bool {
        let k = semi + 1;
        let n = |w: &str| self.is(k + 1, w);
        match self.text(k).to_ascii_lowercase().as_slice() {
            b"drop" => self.is_any(k + 1, "table database schema view procedure function user"),
            b"delete" => n("from"),
            b"insert" => n("into"),
            b"update" => self.is(k + 2, "set"),
            b"truncate" | b"create" | b"alter" => self.is_any(k + 1, "table database user"),
            b"exec" | b"execute" => {
                matches!(
                    self.class(k + 1),
                    Some(Class::Word | Class::Func | Class::LParen)
                )
            }
            b"shutdown" => self.ends(k + 1),
            b"declare" => self.class(k + 1) == Some(Class::Var),
            b"waitfor" => n("delay"),
            b"select" => self.is_item(k + 1),
            _ => false,
        }
    }

    fn time_blind(&self, i: usize) -> bool {
        let arg = |k: usize| self.class(k) == Some(Class::LParen) && self.class(k + 1).is_some();
        match self.class(i) {
            Some(Class::Func) => {
                (self.is_any(i, "sleep pg_sleep dbms_lock.sleep")
                    && arg(i + 1)
                    && matches!(
                        self.class(i + 2),
                        Some(Class::Num | Class::LParen | Class::Func)
                    ))
                    || (self.is(i, "benchmark")
                        && self.class(i + 2) == Some(Class::Num)
                        && self.class(i + 3) == Some(Class::Comma))
                    || (self.is(i, "dbms_pipe.receive_message") && arg(i + 1))
            }
            Some(Class::Stmt) => {
                self.is(i, "waitfor")
                    && self.is(i + 1, "delay")
                    && self.class(i + 2) == Some(Class::Str)
            }
            _ => false,
        }
    }

    /// `UNION [ALL|DISTINCT] [(] SELECT` at `i`: index of `SELECT`.
    fn union_select(&self, i: usize) -> Option<usize> {
        if self.class(i) != Some(Class::Union) {
            return None;
        }
        let mut k = i + 1;
        if self.is_any(k, "all distinct") {
            k += 1;
        }
        k = self.skip(k, Class::LParen);
        self.is(k, "select").then_some(k)
    }
}

/// A rule's verdict: rule, reason, first token.
type Hit = (SqliRule, &'static str, usize);

fn judge_http(v: &View, ctx: SqlContext) -> Option<Hit> {
    let broke = ctx != SqlContext::AsIs;
    if broke && !v.t.first().is_some_and(|t| t.closed) {
        return None;
    }
    let first = usize::from(broke);
    // comment truncation right after the closed string
    if broke {
        let k = v.skip(first, Class::RParen);
        if let Some(t) = v.t.get(k) {
            if t.class == Class::Comment && v.t.len() == k + 1 && terminal_comment(v.s, t) {
                return Some((
                    SqliRule::CommentTruncation,
                    "comment truncates the query after a closed string",
                    first,
                ));
            }
        }
    }
    // tautology
    let k = if broke {
        v.skip(first, Class::RParen)
    } else {
        (1..4.min(v.t.len()))
            .find(|&k| v.class(k) == Some(Class::Logic))
            .unwrap_or(0)
    };
    if v.class(k) == Some(Class::Logic) && (broke || tautology_lead(v, k)) {
        let a = v.skip(k + 1, Class::LParen);
        let a_lit = matches!(v.class(a), Some(Class::Num))
            || (v.class(a) == Some(Class::Str) && v.t.get(a).is_some_and(|t| t.closed));
        let operand = matches!(
            v.class(a),
            Some(Class::Num | Class::Str | Class::Word | Class::Var)
        );
        if broke && a_lit && v.ends(a + 1) {
            return Some((
                SqliRule::Tautology,
                "logic operator and a literal after a closed string",
                k,
            ));
        }
        if operand && v.class(a + 1) == Some(Class::Cmp) {
            let b = a + 2;
            let b_operand = matches!(v.class(b), Some(Class::Num | Class::Str | Class::Word));
            let equal = v.literal(a).is_some() && v.literal(a) == v.literal(b);
            if b_operand && (broke || equal) {
                return Some((
                    SqliRule::Tautology,
                    "logic operator and a comparison after the input's start",
                    k,
                ));
            }
        }
    }
    // `' ORDER BY 3--`
    if broke
        && v.is(first, "order")
        && v.is(first + 1, "by")
        && v.class(first + 2) == Some(Class::Num)
        && v.ends(first + 3)
        && v.class(first + 3).is_some()
    {
        return Some((SqliRule::OrderByProbe, "ORDER BY <n> then a comment", first));
    }
    // `1 AND ASCII(SUBSTRING((SELECT …` / `' and (select …`
    let lead = if broke { first } else { 1 };
    let lead_ok = broke || matches!(v.class(0), Some(Class::Num | Class::RParen));
    if lead_ok && v.class(lead) == Some(Class::Logic) {
        let window = lead + 1..(lead + 8).min(v.t.len());
        if window
            .into_iter()
            .any(|k| v.class(k) == Some(Class::LParen) && v.is(k + 1, "select"))
        {
            return Some((
                SqliRule::BlindSubquery,
                "subquery behind a logic operator",
                lead,
            ));
        }
    }
    for i in first..v.t.len() {
        if let Some(sel) = v.union_select(i) {
            let lead_ok = broke
                || i == 0
                || matches!(
                    v.class(i - 1),
                    Some(Class::Num | Class::Str | Class::RParen | Class::Comment)
                );
            if lead_ok && v.is_item(sel + 1) {
                return Some((SqliRule::UnionSelect, "UNION SELECT", i));
            }
        }
        if v.class(i) == Some(Class::Semi)
            && (broke || (i > 0 && matches!(v.class(i - 1), Some(Class::Num | Class::RParen))))
            && v.stacked_statement(i)
        {
            return Some((SqliRule::StackedQuery, "stacked query after ';'", i));
        }
        if v.time_blind(i) {
            return Some((SqliRule::TimeBlind, "time-delay function", i));
        }
        if v.class(i) == Some(Class::Func)
            && v.is_any(i, "extractvalue updatexml utl_inaddr.get_host_address")
        {
            return Some((SqliRule::ErrorBased, "error-based extraction function", i));
        }
        if schema_probe(v, i, broke) {
            return Some((
                SqliRule::SchemaProbe,
                "reads the schema, server variables or files",
                i,
            ));
        }
    }
    None
}

fn tautology_lead(v: &View, logic: usize) -> bool {
    logic > 0 && matches!(v.class(logic - 1), Some(Class::Num | Class::RParen))
}

/// A comment that carries almost nothing: the truncation of `admin'--`.
fn terminal_comment(s: &[u8], t: &Tok) -> bool {
    let body = &s[t.start..t.end];
    let rest = if body.starts_with(b"/*") || body.starts_with(b"--") {
        &body[2..]
    } else {
        &body[1..]
    };
    // no letters or digits at all (`-- -`, `#`, `/**/`), or for `--` and
    // `/*` at most two (`--+a`); `Joes' #1` is prose, not a truncation
    let alnum = rest.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    alnum == 0 || (!body.starts_with(b"#") && alnum <= 2 && rest.len() <= 4)
}

fn schema_probe(v: &View, i: usize, broke: bool) -> bool {
    let sqlish = || {
        broke
            || v.t.iter().any(|t| {
                matches!(t.class, Class::Union | Class::Stmt)
                    || v.s[t.start..t.end].eq_ignore_ascii_case(b"from")
            })
    };
    match v.class(i) {
        Some(Class::Word | Class::Kw) => {
            let w = v.text(i);
            let w = w.split(|&b| b == b'.').next().unwrap_or(w);
            (in_list(w, "information_schema sqlite_master sysobjects pg_shadow")
                || v.is(i, "mysql.user"))
                && sqlish()
                || (v.is(i, "into") && v.is_any(i + 1, "outfile dumpfile"))
        }
        Some(Class::Var) => v.is_any(i, "@@version @@datadir @@hostname"),
        Some(Class::Func) => v.is(i, "load_file"),
        _ => false,
    }
}

fn judge_query(v: &View) -> Option<Hit> {
    let mut cond = false;
    for i in 0..v.t.len() {
        if v.is_any(i, "where on having") {
            cond = true;
        }
        if cond && v.class(i) == Some(Class::Logic) && !v.is(i, "and") && !v.is(i, "&&") {
            let a = v.skip(i + 1, Class::LParen);
            if v.class(a + 1) == Some(Class::Cmp)
                && (v.is(a + 1, "=") || v.is(a + 1, "like"))
                && v.literal(a).is_some()
                && v.literal(a) == v.literal(a + 2)
            {
                return Some((SqliRule::Tautology, "OR between two equal literals", i));
            }
            let truthy = v.is_any(a, "1 true");
            if truthy
                && (v.ends(a + 1) || matches!(v.class(a + 1), Some(Class::RParen | Class::Logic)))
            {
                return Some((SqliRule::Tautology, "OR with a true literal", i));
            }
        }
        if let Some(sel) = v.union_select(i) {
            let nulls = (sel + 1..(sel + 8).min(v.t.len()))
                .filter(|&k| v.is(k, "null"))
                .count();
            let schema = v.t[sel..]
                .iter()
                .take_while(|t| t.class != Class::Union)
                .any(|t| contains_word(&v.s[t.start..t.end], b"information_schema"));
            if nulls >= 2 || schema {
                return Some((
                    SqliRule::UnionSelect,
                    "UNION SELECT padded with NULLs or reading information_schema",
                    i,
                ));
            }
        }
        let str_closed =
            |k: usize| v.class(k) == Some(Class::Str) && v.t.get(k).is_some_and(|t| t.closed);
        if i > 0 && str_closed(i - 1) {
            let commented = || v.t[i..].iter().any(|t| t.class == Class::Comment);
            if v.class(i) == Some(Class::Semi) && v.stacked_statement(i) && commented() {
                return Some((
                    SqliRule::StackedQuery,
                    "stacked query after a closed string",
                    i,
                ));
            }
            if let Some(t) = v.t.get(i) {
                let body = &v.s[t.start..t.end];
                let line = body.starts_with(b"--") || body.starts_with(b"#");
                if t.class == Class::Comment
                    && line
                    && t.end == v.s.len()
                    && body.iter().any(|&b| b == b'\'' || b == b'"')
                {
                    return Some((
                        SqliRule::CommentTruncation,
                        "string closed then the rest of the query commented out",
                        i,
                    ));
                }
            }
        }
        if v.time_blind(i) {
            return Some((SqliRule::TimeBlind, "time-delay function", i));
        }
    }
    None
}

fn contains_word(hay: &[u8], w: &[u8]) -> bool {
    super::contains_ci(hay, w)
}

fn verdict(v: &View, ctx: SqlContext, hit: Hit) -> SqliMatch {
    let start = v.t.get(hit.2).map_or(0, |t| t.start);
    SqliMatch {
        rule: hit.0,
        context: ctx,
        fingerprint: v.fingerprint(),
        reason: hit.1,
        fragment: fragment(v.s, start, v.s.len()),
    }
}

/// SQL injection in a decoded HTTP value (query or body parameter, cookie,
/// header), read in the three contexts; the first context that matches
/// wins. Inspects at most [`MAX_INPUT`] bytes.
pub fn in_http_value(value: &[u8]) -> Option<SqliMatch> {
    let s = &value[..value.len().min(MAX_INPUT)];
    // cheap prefilter: injection needs one of these
    if !s.iter().any(|b| {
        matches!(
            b,
            b'\'' | b'"' | b'(' | b';' | b'#' | b'-' | b'=' | b'@' | b' ' | b'/' | b'|' | b'&'
        )
    }) {
        return None;
    }
    for ctx in [
        SqlContext::AsIs,
        SqlContext::SingleQuote,
        SqlContext::DoubleQuote,
    ] {
        if ctx.quote().is_some_and(|q| !s.contains(&q)) {
            continue;
        }
        let v = View {
            s,
            t: tokenize(s, ctx),
        };
        if let Some(hit) = judge_http(&v, ctx) {
            return Some(verdict(&v, ctx, hit));
        }
    }
    None
}

/// Injection artefacts in a query a database server received (see the
/// module doc for exactly which). Inspects at most [`MAX_INPUT`] bytes.
pub fn in_sql_query(query: &[u8]) -> Option<SqliMatch> {
    let s = &query[..query.len().min(MAX_INPUT)];
    let v = View {
        s,
        t: tokenize(s, SqlContext::AsIs),
    };
    judge_query(&v).map(|hit| verdict(&v, SqlContext::AsIs, hit))
}

#[cfg(test)]
#[path = "sqli_tests.rs"]
mod tests;
