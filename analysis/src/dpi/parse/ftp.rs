//! FTP control-channel parser: one [`FtpTx`] per command with its reply.
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Both directions are cut into lines (RFC 959 §4.1.3: commands end in
//!   CR LF; a bare LF is accepted) of at most [`MAX_LINE_LEN`] bytes; a
//!   longer line keeps its first [`MAX_LINE_LEN`] bytes and the record is
//!   flagged `truncated`. Server lines are grouped into replies (single or
//!   multi-line `ddd-` … `ddd `, RFC 959 §4.2).
//! - Each client command is queued (at most [`MAX_PENDING`]; older ones
//!   are emitted without a reply when the queue overflows). Replies answer
//!   the oldest queued command: `1yz` replies are preliminary (RFC 959
//!   §4.2) and are added to it; the first `2yz`–`5yz` reply completes it and
//!   the record is emitted. The server's first reply, when it is a
//!   connection-establishment code (`120`, `220`, `421`, RFC 959 §5.4), is
//!   the greeting and answers no command, even when commands are already
//!   queued (the flow's identifier replays the client's probed bytes
//!   before the server's, so commands may arrive before the greeting).
//!   The greeting, and any reply with no command queued (a `421` closing
//!   the service), is emitted on its own, without `command`.
//!   [`AppParser::finish`] emits still-queued commands with
//!   `reply_received: "no"`.
//! - `PASS` (and `ACCT`) arguments are never logged: `command_data` is
//!   left out and `password_seen: true` is set. `USER`'s argument is kept,
//!   and repeated as `user` on the `PASS`/`ACCT` records that follow it.
//!   A `230` reply to `USER`/`PASS`/`ACCT` sets `login: "success"`, a `530`
//!   `login: "failure"` (RFC 959 §5.4).
//! - Data-channel addresses (`data_channel`, `dynamic_port`, `mode`) come
//!   from `PORT` (RFC 959 §4.1.2), `EPRT` (RFC 2428 §2), a `227` reply
//!   (`h1,h2,h3,h4,p1,p2`, RFC 959 §4.1.2) and a `229` reply (`(|||port|)`,
//!   RFC 2428 §3). For `229` the address is the control connection's
//!   server, unknown here: `data_channel.ip` is left out.
//! - `AUTH` answered with `234` (RFC 4217 §4) turns the channel into TLS:
//!   that record is emitted and the parser stops for good.
//! - [`AppParser::gap`] drops the partial line of that direction (and a
//!   multi-line reply being read) and resumes at the next line.
//! - Output follows Suricata's EVE `ftp` record: `command`,
//!   `command_data`, `reply` (texts), `completion_code` (codes as
//!   strings), `dynamic_port`, `mode`, `reply_received` (`yes`/`no`).

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use super::lines::{LineReader, Reply, ReplyReader};
use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

#[cfg(test)]
#[path = "ftp/tests.rs"]
mod tests;

/// Longest command or reply line kept, in bytes.
pub const MAX_LINE_LEN: usize = 4 * 1024;
/// Most commands waiting for their reply.
pub const MAX_PENDING: usize = 64;
/// Longest command verb kept (real verbs have 3–4 letters).
pub const MAX_VERB_LEN: usize = 32;

/// Whether the data connection is opened by the server (`PORT`/`EPRT`)
/// or the client (`PASV`/`EPSV`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FtpMode {
    /// The server connects to the announced address (`PORT`, `EPRT`).
    Active,
    /// The client connects to the announced address (`227`, `229`).
    Passive,
}

/// Outcome of a login command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginOutcome {
    /// `230 User logged in`.
    Success,
    /// `530 Not logged in`.
    Failure,
}

/// Where a data connection will be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DataChannel {
    /// Its address; `None` for a `229` reply, which means the control
    /// connection's server (RFC 2428 §3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Its port.
    pub port: u16,
}

/// One FTP command and its reply (Suricata EVE `ftp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FtpTx {
    /// The command verb, uppercased (`None` for a reply no command asked
    /// for, such as the greeting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The command's argument (never for `PASS`/`ACCT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_data: Option<String>,
    /// A password (or account) was sent in clear.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub password_seen: bool,
    /// For `PASS`/`ACCT`: the name of the session's last `USER` command,
    /// so a login record names whom it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Text of each reply line.
    pub reply: Vec<String>,
    /// Reply codes, preliminary ones first.
    pub completion_code: Vec<String>,
    /// A final reply was seen (`yes`/`no`).
    #[serde(serialize_with = "yes_no")]
    pub reply_received: bool,
    /// Login result, for `USER`/`PASS`/`ACCT` answered `230` or `530`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginOutcome>,
    /// Announced data connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_channel: Option<DataChannel>,
    /// The data connection's port (Suricata's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_port: Option<u16>,
    /// Active or passive data connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<FtpMode>,
    /// A line was longer than [`MAX_LINE_LEN`] and was cut.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

fn yes_no<S: serde::Serializer>(b: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *b { "yes" } else { "no" })
}

/// Builds the FTP parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(FtpParser::new(tcp))
}

/// Per-flow FTP parser; see the module documentation.
#[derive(Debug)]
pub struct FtpParser {
    /// False: ignore everything.
    active: bool,
    /// Client (`ToServer`) then server (`ToClient`) lines.
    lines: [LineReader; 2],
    replies: ReplyReader,
    /// Commands waiting for a final reply, oldest first.
    pending: VecDeque<FtpTx>,
    /// Argument of the last `USER` command.
    user: Option<String>,
    /// The greeting (or a first reply that is not one) was seen.
    greeted: bool,
}

impl FtpParser {
    /// A parser for a TCP flow, or (`tcp == false`) one that ignores input.
    pub fn new(tcp: bool) -> Self {
        FtpParser {
            active: tcp,
            lines: [LineReader::new(MAX_LINE_LEN), LineReader::new(MAX_LINE_LEN)],
            replies: ReplyReader::default(),
            pending: VecDeque::new(),
            user: None,
            greeted: false,
        }
    }

    fn command(&mut self, line: &[u8], truncated: bool, out: &mut Vec<AppRecord>) {
        let (verb, arg) = match line.iter().position(|&b| b == b' ') {
            Some(i) => (&line[..i], line.get(i + 1..).unwrap_or_default()),
            None => (line, &[][..]),
        };
        if verb.is_empty() {
            return;
        }
        let verb_cut = verb.get(..MAX_VERB_LEN).unwrap_or(verb);
        let command = String::from_utf8_lossy(verb_cut).to_ascii_uppercase();
        let secret = matches!(command.as_str(), "PASS" | "ACCT");
        let mut tx = FtpTx {
            password_seen: secret,
            truncated,
            ..Default::default()
        };
        if !secret && !arg.is_empty() {
            tx.command_data = Some(String::from_utf8_lossy(arg).into_owned());
        }
        if command == "USER" {
            self.user.clone_from(&tx.command_data);
        } else if secret {
            tx.user.clone_from(&self.user);
        }
        let channel = match command.as_str() {
            "PORT" => parse_port(arg),
            "EPRT" => parse_eprt(arg),
            _ => None,
        };
        if let Some(c) = channel {
            tx.set_channel(c, FtpMode::Active);
        }
        tx.command = Some(command);
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                out.push(AppRecord::Ftp(old));
            }
        }
        self.pending.push_back(tx);
    }

    /// Handles a whole reply; returns true when the channel turned to TLS.
    fn reply(&mut self, reply: Reply, truncated: bool, out: &mut Vec<AppRecord>) -> bool {
        // RFC 959 §5.4: connection establishment answers 120, 220 or 421;
        // a 120 ("ready in nnn minutes") is followed by the 220.
        let greeting = !self.greeted && matches!(reply.code, 120 | 220 | 421);
        self.greeted |= reply.code != 120;
        let front = if greeting {
            None
        } else {
            self.pending.front_mut()
        };
        let Some(tx) = front else {
            let mut tx = FtpTx {
                reply_received: true,
                ..Default::default()
            };
            tx.add_reply(reply, truncated);
            out.push(AppRecord::Ftp(tx));
            return false;
        };
        let code = reply.code;
        let first = reply.lines.first().cloned().unwrap_or_default();
        tx.add_reply(reply, truncated);
        if code < 200 {
            return false;
        }
        tx.reply_received = true;
        let cmd = tx.command.as_deref().unwrap_or_default();
        if matches!(cmd, "USER" | "PASS" | "ACCT") {
            tx.login = match code {
                230 => Some(LoginOutcome::Success),
                530 => Some(LoginOutcome::Failure),
                _ => None,
            };
        }
        let tls = cmd == "AUTH" && code == 234;
        let channel = match code {
            227 => parse_227(&first),
            229 => parse_229(&first),
            _ => None,
        };
        if let Some(c) = channel {
            tx.set_channel(c, FtpMode::Passive);
        }
        if let Some(tx) = self.pending.pop_front() {
            out.push(AppRecord::Ftp(tx));
        }
        tls
    }

    fn stop(&mut self, out: &mut Vec<AppRecord>) {
        self.active = false;
        out.extend(self.pending.drain(..).map(AppRecord::Ftp));
        self.pending = VecDeque::new();
        for l in &mut self.lines {
            l.clear();
        }
    }
}

impl FtpTx {
    fn add_reply(&mut self, reply: Reply, truncated: bool) {
        self.completion_code.push(reply.code.to_string());
        self.reply.extend(reply.lines);
        self.truncated |= truncated;
    }

    fn set_channel(&mut self, c: DataChannel, mode: FtpMode) {
        self.data_channel = Some(c);
        self.dynamic_port = Some(c.port);
        self.mode = Some(mode);
    }
}

impl AppParser for FtpParser {
    fn data(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        while self.active && !bytes.is_empty() {
            let Some(line) = self.lines[dir.idx()].next_line(&mut bytes) else {
                return;
            };
            match dir {
                Direction::ToServer => self.command(&line.bytes, line.truncated, out),
                Direction::ToClient => {
                    if let Some(r) = self.replies.line(&line.bytes) {
                        if self.reply(r, line.truncated, out) {
                            self.stop(out);
                        }
                    }
                }
            }
        }
    }

    fn gap(&mut self, dir: Direction) {
        if !self.active {
            return;
        }
        self.lines[dir.idx()].gap();
        if dir == Direction::ToClient {
            self.replies.gap();
        }
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        self.stop(out);
    }
}

/// Six comma-separated decimal bytes `h1,h2,h3,h4,p1,p2` (RFC 959
/// §4.1.2) into an address and port.
fn parse_hostport(s: &str) -> Option<DataChannel> {
    let mut n = [0u8; 6];
    let mut parts = s.split(',');
    for slot in &mut n {
        *slot = parts.next()?.trim().parse().ok()?;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(DataChannel {
        ip: Some(IpAddr::V4(Ipv4Addr::new(n[0], n[1], n[2], n[3]))),
        port: u16::from_be_bytes([n[4], n[5]]),
    })
}

/// `PORT h1,h2,h3,h4,p1,p2`.
fn parse_port(arg: &[u8]) -> Option<DataChannel> {
    parse_hostport(std::str::from_utf8(arg).ok()?.trim())
}

/// `EPRT <d><net-prt><d><net-addr><d><tcp-port><d>` (RFC 2428 §2): the
/// first character is the delimiter; protocol 1 is IPv4, 2 IPv6.
fn parse_eprt(arg: &[u8]) -> Option<DataChannel> {
    let s = std::str::from_utf8(arg).ok()?.trim();
    let d = s.chars().next()?;
    let mut f = s.get(d.len_utf8()..)?.split(d);
    let (proto, addr, port) = (f.next()?, f.next()?, f.next()?);
    let ip: IpAddr = addr.parse().ok()?;
    let ok = matches!((proto, ip), ("1", IpAddr::V4(_)) | ("2", IpAddr::V6(_)));
    ok.then_some(())?;
    Some(DataChannel {
        ip: Some(ip),
        port: port.parse().ok()?,
    })
}

/// `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)`: the text format is
/// not fixed (RFC 1123 §4.1.2.6 asks clients to scan for the first digit),
/// so the first run of digits and commas is taken.
fn parse_227(text: &str) -> Option<DataChannel> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let rest = text.get(start..)?;
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == ',' || c == ' '))
        .unwrap_or(rest.len());
    parse_hostport(rest.get(..end)?.trim())
}

/// `229 Entering Extended Passive Mode (|||port|)` (RFC 2428 §3): the
/// delimiter is the character three before the port.
fn parse_229(text: &str) -> Option<DataChannel> {
    let open = text.find('(')?;
    let inner = text.get(open + 1..)?;
    let inner = inner.get(..inner.find(')')?)?;
    let d = inner.chars().next()?;
    let mut f = inner.split(d);
    let (_, _, _, port) = (f.next()?, f.next()?, f.next()?, f.next()?);
    Some(DataChannel {
        ip: None,
        port: port.parse().ok()?,
    })
}
