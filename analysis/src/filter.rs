//! The flow filter language shared by `osprey flows --filter`,
//! `osprey export --filter` and the GUI's filter bar.
//!
//! ```text
//! ip.addr == 10.244.0.5 && app == http && bytes > 1000
//! (port == 53 || proto == udp) && !alert
//! ip.src == 10.0.0.0/8 && severity <= 2
//! ```
//!
//! Grammar (`&&`/`and` binds tighter than `||`/`or`; `!`/`not` tighter
//! still):
//!
//! ```text
//! expr    := and (("||" | "or") and)*
//! and     := unary (("&&" | "and") unary)*
//! unary   := ("!" | "not") unary | "(" expr ")" | field [op value]
//! op      := == | != | < | <= | > | >= | contains
//! value   := word | "quoted string"
//! ```
//!
//! Fields: `ip.addr` (either end), `ip.src`, `ip.dst` (client / server),
//! `port`, `tcp.port`, `udp.port` (either end), `src.port`, `dst.port`,
//! `proto` (`tcp`, `udp`, `icmp` or a number), `app`, `bytes`, `packets`
//! (both directions), `id`, `state`, `community_id`, `alert` (the flow is
//! the subject or evidence of an alert), `severity` (most severe alert on
//! the flow: 1 high, 2 medium, 3 low; `high`/`medium`/`low` accepted).
//! Address values may be CIDR blocks. For two-ended fields (`ip.addr`,
//! `port`) `==` holds when either end matches and `!=` when neither does.
//! A bare field is a truth test: `alert`, `app` (identified), `bytes` (> 0).
//!
//! Parsing never panics; errors carry the 1-based column of the problem.

use crate::store::query::{AlertSummary, FlowSummary};
use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

/// Deepest nesting of parentheses and negations accepted (so hostile input
/// cannot overflow the stack).
const MAX_DEPTH: usize = 64;

/// A filter that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter error at column {column}: {message}")]
pub struct FilterError {
    /// 1-based character column of the offending token.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

/// Alert facts per flow, for the `alert` and `severity` fields.
#[derive(Debug, Clone, Default)]
pub struct FlowAlerts {
    by_flow: HashMap<u64, u8>,
}

impl FlowAlerts {
    /// Indexes alerts by their subject flow and their evidence flows,
    /// keeping the most severe (lowest number) per flow.
    pub fn new(alerts: &[AlertSummary]) -> Self {
        let mut by_flow: HashMap<u64, u8> = HashMap::new();
        for a in alerts {
            for f in a.flow_id.iter().chain(a.evidence_flows.iter()) {
                let e = by_flow.entry(*f).or_insert(a.severity);
                *e = (*e).min(a.severity);
            }
        }
        FlowAlerts { by_flow }
    }

    /// Most severe alert touching this flow.
    pub fn severity(&self, flow_id: u64) -> Option<u8> {
        self.by_flow.get(&flow_id).copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    IpAddr,
    IpSrc,
    IpDst,
    Port,
    TcpPort,
    UdpPort,
    SrcPort,
    DstPort,
    Proto,
    App,
    Bytes,
    Packets,
    Id,
    State,
    CommunityId,
    Alert,
    Severity,
}

const FIELDS: &[(&str, Field)] = &[
    ("ip.addr", Field::IpAddr),
    ("ip.src", Field::IpSrc),
    ("ip.dst", Field::IpDst),
    ("port", Field::Port),
    ("tcp.port", Field::TcpPort),
    ("udp.port", Field::UdpPort),
    ("src.port", Field::SrcPort),
    ("dst.port", Field::DstPort),
    ("proto", Field::Proto),
    ("app", Field::App),
    ("bytes", Field::Bytes),
    ("packets", Field::Packets),
    ("id", Field::Id),
    ("state", Field::State),
    ("community_id", Field::CommunityId),
    ("alert", Field::Alert),
    ("severity", Field::Severity),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Num(u64),
    Str(String),
    Net(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Test(Field),
    Cmp(Field, Op, Value),
}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    root: Node,
    text: String,
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Op(Op),
    Word(String),
    Quoted(String),
}

fn err(column: usize, message: impl Into<String>) -> FilterError {
    FilterError {
        column,
        message: message.into(),
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"()!=<>&|\"".contains(c)
}

/// Splits the input into tokens with their 1-based columns.
fn lex(input: &str) -> Result<Vec<(Tok, usize)>, FilterError> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (tok, len) = match (c, next) {
            ('(', _) => (Tok::LParen, 1),
            (')', _) => (Tok::RParen, 1),
            ('&', Some('&')) => (Tok::And, 2),
            ('|', Some('|')) => (Tok::Or, 2),
            ('!', Some('=')) => (Tok::Op(Op::Ne), 2),
            ('!', _) => (Tok::Not, 1),
            ('=', Some('=')) => (Tok::Op(Op::Eq), 2),
            ('<', Some('=')) => (Tok::Op(Op::Le), 2),
            ('<', _) => (Tok::Op(Op::Lt), 1),
            ('>', Some('=')) => (Tok::Op(Op::Ge), 2),
            ('>', _) => (Tok::Op(Op::Gt), 1),
            ('&', _) => return Err(err(col, "expected '&&'")),
            ('|', _) => return Err(err(col, "expected '||'")),
            ('=', _) => return Err(err(col, "expected '==' (single '=' is not an operator)")),
            ('"', _) => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(err(col, "unterminated string")),
                        Some('"') => break,
                        Some('\\') => {
                            match chars.get(j + 1) {
                                Some(e) => s.push(*e),
                                None => return Err(err(col, "unterminated string")),
                            }
                            j += 2;
                        }
                        Some(ch) => {
                            s.push(*ch);
                            j += 1;
                        }
                    }
                }
                (Tok::Quoted(s), j + 1 - i)
            }
            _ => {
                let mut j = i;
                while j < chars.len() && is_word_char(chars[j]) {
                    j += 1;
                }
                let w: String = chars[i..j].iter().collect();
                let tok = match w.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "contains" => Tok::Op(Op::Contains),
                    _ => Tok::Word(w),
                };
                (tok, j - i)
            }
        };
        out.push((tok, col));
        i += len;
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    pos: usize,
    end_col: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end_col, |(_, c)| *c)
    }

    fn expr(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut left = self.and(depth)?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Node, FilterError> {
        let mut left = self.unary(depth)?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Node, FilterError> {
        if depth > MAX_DEPTH {
            return Err(err(self.col(), "expression nested too deeply"));
        }
        let col = self.col();
        match self.toks.get(self.pos).map(|(t, _)| t.clone()) {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Node::Not(Box::new(self.unary(depth + 1)?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.expr(depth + 1)?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(err(
                        self.col(),
                        format!("expected ')' to close '(' at column {col}"),
                    ));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(Tok::Word(w)) => {
                self.pos += 1;
                let lower = w.to_ascii_lowercase();
                let Some(field) = FIELDS.iter().find(|(n, _)| *n == lower).map(|(_, f)| *f) else {
                    let names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
                    return Err(err(
                        col,
                        format!("unknown field '{w}' (fields: {})", names.join(", ")),
                    ));
                };
                let Some(Tok::Op(op)) = self.peek().cloned() else {
                    return Ok(Node::Test(field));
                };
                let op_col = self.col();
                self.pos += 1;
                let vcol = self.col();
                let raw = match self.toks.get(self.pos).map(|(t, _)| t.clone()) {
                    Some(Tok::Word(v)) | Some(Tok::Quoted(v)) => v,
                    _ => {
                        return Err(err(
                            vcol,
                            format!("expected a value after the operator at column {op_col}"),
                        ))
                    }
                };
                self.pos += 1;
                let value = value_for(field, op, &raw, vcol)?;
                Ok(Node::Cmp(field, op, value))
            }
            Some(Tok::Quoted(_)) => Err(err(col, "expected a field name, found a string")),
            Some(Tok::Op(_)) => Err(err(col, "expected a field name before the operator")),
            Some(Tok::RParen) => Err(err(col, "unexpected ')'")),
            Some(Tok::And) | Some(Tok::Or) => {
                Err(err(col, "expected a field name, found '&&'/'||'"))
            }
            None => Err(err(col, "unexpected end of filter")),
        }
    }
}

fn parse_net(raw: &str) -> Option<(IpAddr, u8)> {
    let (addr, len) = match raw.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (raw, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = match len {
        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max)?,
        None => max,
    };
    Some((ip, len))
}

fn value_for(field: Field, op: Op, raw: &str, col: usize) -> Result<Value, FilterError> {
    use Field::*;
    match field {
        IpAddr | IpSrc | IpDst => {
            if op == Op::Contains {
                return Ok(Value::Str(raw.to_string()));
            }
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(err(col, "addresses compare with ==, != or contains"));
            }
            parse_net(raw)
                .map(|(ip, len)| Value::Net(ip, len))
                .ok_or_else(|| err(col, format!("'{raw}' is not an IP address or CIDR block")))
        }
        Port | TcpPort | UdpPort | SrcPort | DstPort | Bytes | Packets | Id => {
            if op == Op::Contains {
                return Err(err(col, "'contains' applies to text fields"));
            }
            raw.parse::<u64>()
                .map(Value::Num)
                .map_err(|_| err(col, format!("'{raw}' is not a number")))
        }
        Severity => {
            if op == Op::Contains {
                return Err(err(col, "'contains' applies to text fields"));
            }
            let n = match raw.to_ascii_lowercase().as_str() {
                "high" => Some(1),
                "medium" => Some(2),
                "low" => Some(3),
                s => s.parse::<u64>().ok(),
            };
            n.map(Value::Num).ok_or_else(|| {
                err(
                    col,
                    format!("'{raw}' is not a severity (1-3, high, medium, low)"),
                )
            })
        }
        Proto => {
            if op == Op::Contains {
                return Ok(Value::Str(raw.to_ascii_lowercase()));
            }
            let n = match raw.to_ascii_lowercase().as_str() {
                "icmp" => Some(1),
                "tcp" => Some(6),
                "udp" => Some(17),
                "gre" => Some(47),
                "icmpv6" | "ipv6-icmp" => Some(58),
                "sctp" => Some(132),
                s => s.parse::<u8>().ok(),
            };
            n.map(|n| Value::Num(u64::from(n)))
                .ok_or_else(|| err(col, format!("'{raw}' is not a protocol name or number")))
        }
        App | State | CommunityId => {
            if !matches!(op, Op::Eq | Op::Ne | Op::Contains) {
                return Err(err(col, "text fields compare with ==, != or contains"));
            }
            Ok(Value::Str(raw.to_string()))
        }
        Alert => Err(err(col, "'alert' is a truth test; use 'alert' or '!alert'")),
    }
}

fn in_net(addr: &str, net: &IpAddr, len: u8) -> bool {
    let Ok(a) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            u32::from(a) & mask == u32::from(*n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            u128::from(a) & mask == u128::from(*n) & mask
        }
        _ => false,
    }
}

fn cmp_num(a: u64, op: Op, b: u64) -> bool {
    match op {
        Op::Eq => a == b,
        Op::Ne => a != b,
        Op::Lt => a < b,
        Op::Le => a <= b,
        Op::Gt => a > b,
        Op::Ge => a >= b,
        Op::Contains => false,
    }
}

fn cmp_str(a: &str, op: Op, b: &str) -> bool {
    match op {
        Op::Eq => a.eq_ignore_ascii_case(b),
        Op::Ne => !a.eq_ignore_ascii_case(b),
        Op::Contains => a.to_ascii_lowercase().contains(&b.to_ascii_lowercase()),
        _ => false,
    }
}

/// Compares a two-ended field: `==`/`contains`/ordering hold when either
/// end does; `!=` holds when neither end equals.
fn either<T>(ends: [T; 2], op: Op, test: impl Fn(T, Op) -> bool) -> bool {
    if op == Op::Ne {
        let [a, b] = ends;
        !(test(a, Op::Eq) || test(b, Op::Eq))
    } else {
        ends.into_iter().any(|e| test(e, op))
    }
}

fn test_addr(addr: &str, op: Op, v: &Value) -> bool {
    match v {
        Value::Net(net, len) => {
            let hit = in_net(addr, net, *len);
            if op == Op::Ne {
                !hit
            } else {
                hit
            }
        }
        Value::Str(s) => cmp_str(addr, op, s),
        Value::Num(_) => false,
    }
}

impl Filter {
    /// Parses a filter expression.
    pub fn parse(input: &str) -> Result<Filter, FilterError> {
        let toks = lex(input)?;
        let mut p = Parser {
            toks,
            pos: 0,
            end_col: input.chars().count() + 1,
        };
        let root = p.expr(0)?;
        if p.pos < p.toks.len() {
            return Err(err(
                p.col(),
                "unexpected token; expected '&&', '||' or the end",
            ));
        }
        Ok(Filter {
            root,
            text: input.trim().to_string(),
        })
    }

    /// True when `flow` passes the filter.
    pub fn matches(&self, flow: &FlowSummary, alerts: &FlowAlerts) -> bool {
        eval(&self.root, flow, alerts)
    }
}

fn eval(node: &Node, f: &FlowSummary, alerts: &FlowAlerts) -> bool {
    match node {
        Node::And(a, b) => eval(a, f, alerts) && eval(b, f, alerts),
        Node::Or(a, b) => eval(a, f, alerts) || eval(b, f, alerts),
        Node::Not(a) => !eval(a, f, alerts),
        Node::Test(field) => match field {
            Field::Alert | Field::Severity => alerts.severity(f.id).is_some(),
            Field::App => !f.app_proto.is_empty() && f.app_proto != "failed",
            Field::Bytes => f.bytes_toserver + f.bytes_toclient > 0,
            Field::Packets => f.pkts_toserver + f.pkts_toclient > 0,
            Field::TcpPort => f.proto == 6,
            Field::UdpPort => f.proto == 17,
            _ => true,
        },
        Node::Cmp(field, op, v) => cmp(*field, *op, v, f, alerts),
    }
}

fn cmp(field: Field, op: Op, v: &Value, f: &FlowSummary, alerts: &FlowAlerts) -> bool {
    let num = match v {
        Value::Num(n) => Some(*n),
        _ => None,
    };
    let ports = [u64::from(f.src_port), u64::from(f.dest_port)];
    let port_test = |n: u64| either(ports, op, |p, o| cmp_num(p, o, n));
    match field {
        Field::IpAddr => either([&f.src_ip, &f.dest_ip], op, |a, o| test_addr(a, o, v)),
        Field::IpSrc => test_addr(&f.src_ip, op, v),
        Field::IpDst => test_addr(&f.dest_ip, op, v),
        Field::Port => num.is_some_and(port_test),
        Field::TcpPort => f.proto == 6 && num.is_some_and(port_test),
        Field::UdpPort => f.proto == 17 && num.is_some_and(port_test),
        Field::SrcPort => num.is_some_and(|n| cmp_num(u64::from(f.src_port), op, n)),
        Field::DstPort => num.is_some_and(|n| cmp_num(u64::from(f.dest_port), op, n)),
        Field::Proto => match v {
            Value::Num(n) => cmp_num(u64::from(f.proto), op, *n),
            Value::Str(s) => cmp_str(&crate::eve::proto_name(f.proto), op, s),
            Value::Net(..) => false,
        },
        Field::Bytes => num.is_some_and(|n| cmp_num(f.bytes_toserver + f.bytes_toclient, op, n)),
        Field::Packets => num.is_some_and(|n| cmp_num(f.pkts_toserver + f.pkts_toclient, op, n)),
        Field::Id => num.is_some_and(|n| cmp_num(f.id, op, n)),
        Field::App => matches!(v, Value::Str(s) if cmp_str(&f.app_proto, op, s)),
        Field::State => matches!(v, Value::Str(s) if cmp_str(&f.state, op, s)),
        Field::CommunityId => matches!(v, Value::Str(s) if cmp_str(&f.community_id, op, s)),
        Field::Severity => match (alerts.severity(f.id), num) {
            (Some(s), Some(n)) => cmp_num(u64::from(s), op, n),
            _ => false,
        },
        Field::Alert => false,
    }
}

#[cfg(test)]
#[path = "filter_tests.rs"]
mod tests;
