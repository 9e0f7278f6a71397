//! SSH parser: banners and HASSH fingerprints, one [`SshSession`] per flow.
//!
//! # Contract
//! - TCP only. For `tcp == false` [`new_parser`] returns a parser that
//!   ignores all input and never emits.
//! - Each direction is read in two stages, then stops for good:
//!   1. The identification string `SSH-protoversion-softwareversion
//!      [SP comments] CR LF` (RFC 4253 §4.2). Before it, other lines are
//!      skipped (the RFC allows them from the server; they are tolerated
//!      from both sides), at most [`MAX_PRE_BANNER_LINES`] lines and
//!      [`MAX_PRE_BANNER_BYTES`] bytes. A bare LF ends a line too (RFC 4253
//!      §4.2 compatibility note).
//!   2. Unless the banner is SSH 1 (`1.x` other than `1.99`, which means
//!      "2.0 and 1.x", RFC 4253 §5.1), the first binary packet (RFC 4253
//!      §6). When it is
//!      SSH_MSG_KEXINIT (RFC 4253 §7.1) its name-lists give the HASSH
//!      (client) or HASSH-server fingerprint. Any other first packet stops
//!      the direction without a fingerprint. An SSH 1 banner (`1.5`) stops
//!      the direction right after the banner: SSH 1 packets have another
//!      layout and carry no KEXINIT.
//!
//!   Nothing after that first packet is read: everything after NEWKEYS is
//!   encrypted, and the banners and KEXINITs are all that identify the
//!   software.
//! - [`AppParser::gap`] stops the direction: a lost banner or packet
//!   cannot be found again in a stream that soon turns to ciphertext.
//! - One [`SshSession`] per flow at most. It is emitted from
//!   [`AppParser::data`] / [`AppParser::gap`] as soon as both directions
//!   have stopped (normally: both banners and KEXINITs seen), else from
//!   [`AppParser::finish`] with what is known. A flow with no banner at all
//!   emits nothing. `ToServer` bytes are the client's, `ToClient` the
//!   server's.
//! - Output follows Suricata's EVE `ssh` record. `software_version` stops
//!   at the first space, as Suricata's does (comments are dropped).
//!   Non-UTF-8 bytes are replaced (lossy); a fingerprint's `hash` is always
//!   the MD5 of its `string` as shown.
//! - Malformed input (overlong banner, bad packet length, name-list cut
//!   short) stops the direction; what was already read is kept.
//!
//! # HASSH
//! Salesforce's HASSH: MD5 (lowercase hex) of `kex;enc;mac;cmp`, the
//! sender's KEXINIT name-lists, taking the client-to-server lists for the
//! client and the server-to-client lists for the server ("HASSH-server").
//!
//! # Caps
//! [`MAX_LINE_LEN`] bytes per identification string, [`MAX_PRE_BANNER_LINES`]
//! / [`MAX_PRE_BANNER_BYTES`] for lines before it, [`MAX_PACKET_LEN`] per
//! buffered packet and [`MAX_NAME_LIST_LEN`] per name-list. At most one
//! line or packet is buffered per direction.

use md5::{Digest, Md5};

use crate::dpi::parser::{AppParser, AppRecord};
use crate::dpi::records::{Fingerprint, SshSession, SshSide};
use crate::flow::Direction;

#[cfg(test)]
#[path = "ssh/tests.rs"]
mod tests;

/// Longest identification string, CR LF included (RFC 4253 §4.2).
pub const MAX_LINE_LEN: usize = 255;
/// Most lines skipped before the identification string.
pub const MAX_PRE_BANNER_LINES: u32 = 16;
/// Most bytes skipped before the identification string.
pub const MAX_PRE_BANNER_BYTES: usize = 8 * 1024;
/// Largest `packet_length` accepted: the size every implementation must
/// handle (RFC 4253 §6.1). A KEXINIT is far smaller.
pub const MAX_PACKET_LEN: usize = 35_000;
/// Longest name-list read from a KEXINIT.
pub const MAX_NAME_LIST_LEN: usize = 4 * 1024;

/// SSH_MSG_KEXINIT (RFC 4253 §12).
const MSG_KEXINIT: u8 = 20;
/// KEXINIT cookie length (RFC 4253 §7.1).
const COOKIE_LEN: usize = 16;
/// Start of every identification string (RFC 4253 §4.2).
const BANNER_PREFIX: &[u8] = b"SSH-";

/// Why a direction stopped before reading a KEXINIT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SshError {
    /// More than [`MAX_PRE_BANNER_LINES`] lines or [`MAX_PRE_BANNER_BYTES`]
    /// bytes before the identification string.
    PreBannerTooLong,
    /// An identification string longer than [`MAX_LINE_LEN`].
    BannerTooLong,
    /// An identification string without `protoversion-`.
    BadBanner,
    /// A `packet_length` of 0, 1 or over [`MAX_PACKET_LEN`], or padding
    /// that leaves no payload (RFC 4253 §6).
    BadPacketLength,
    /// A KEXINIT cut short, or with a name-list over [`MAX_NAME_LIST_LEN`].
    BadKexinit,
}

impl std::fmt::Display for SshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SshError::PreBannerTooLong => "too many lines before the identification string",
            SshError::BannerTooLong => "identification string over 255 bytes",
            SshError::BadBanner => "malformed identification string",
            SshError::BadPacketLength => "bad packet length",
            SshError::BadKexinit => "malformed KEXINIT",
        })
    }
}

impl std::error::Error for SshError {}

/// Builds the SSH parser; UDP flows (`tcp == false`) get one that ignores
/// its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(SshParser::new(tcp))
}

/// Per-flow SSH parser; see the module documentation for the contract.
#[derive(Debug, Default)]
pub struct SshParser {
    /// False: ignore everything (SSH runs over TCP only).
    tcp: bool,
    /// Client (`ToServer`) then server (`ToClient`).
    dirs: [DirState; 2],
    /// The session record was emitted (or there was none to emit).
    emitted: bool,
}

/// Where a direction is.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Reading lines until the identification string.
    #[default]
    Banner,
    /// Reading the first binary packet.
    Packet,
    /// Nothing more is read.
    Done(End),
}

/// How a direction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The first packet was a KEXINIT and was fingerprinted.
    Kexinit,
    /// The first packet was some other message.
    NotKexinit,
    /// SSH 1 banner: no KEXINIT will come.
    Ssh1,
    /// Bytes were lost.
    Gap,
    /// Malformed input.
    Error(SshError),
}

/// State of one direction.
#[derive(Debug, Default)]
struct DirState {
    /// The client's direction (`ToServer`): picks the HASSH lists.
    client: bool,
    stage: Stage,
    /// The partial banner line (without LF, ≤ [`MAX_LINE_LEN`]) or packet
    /// (≤ 4 + [`MAX_PACKET_LEN`]).
    buf: Vec<u8>,
    /// Banner stage: the current line is not an identification string and
    /// is being skipped up to its LF.
    skipping: bool,
    /// Lines skipped before the identification string.
    skipped_lines: u32,
    /// Bytes skipped before the identification string.
    skipped_bytes: usize,
    /// Banner and (once read) fingerprint.
    side: Option<SshSide>,
}

impl DirState {
    fn done(&self) -> bool {
        matches!(self.stage, Stage::Done(_))
    }

    fn stop(&mut self, end: End) {
        self.stage = Stage::Done(end);
        self.buf = Vec::new();
    }

    /// Feeds stream bytes until the direction is done or they run out.
    fn data(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            bytes = match self.stage {
                Stage::Banner => self.banner_data(bytes),
                Stage::Packet => self.packet_data(bytes),
                Stage::Done(_) => return,
            };
        }
    }

    /// Consumes banner-stage bytes (at most one line); returns the rest.
    fn banner_data<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        let (line, rest, complete) = match bytes.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let (line, rest) = bytes.split_at(i);
                (line, rest.get(1..).unwrap_or_default(), true)
            }
            None => (bytes, &[][..], false),
        };
        if self.skipping {
            self.skip(line.len() + usize::from(complete), complete);
        } else if !self.may_be_banner(line, complete) {
            let n = self.buf.len() + line.len() + usize::from(complete);
            self.buf = Vec::new();
            self.skipping = true;
            self.skip(n, complete);
        } else if self.buf.len() + line.len() >= MAX_LINE_LEN {
            // With its LF the line would exceed the cap (RFC 4253 §4.2).
            self.stop(End::Error(SshError::BannerTooLong));
        } else {
            self.buf.extend_from_slice(line);
            if complete {
                let line = std::mem::take(&mut self.buf);
                self.on_banner(&line);
            }
        }
        rest
    }

    /// Whether the buffered line plus `more` is, or (when not `complete`)
    /// may still become, an identification string.
    fn may_be_banner(&self, more: &[u8], complete: bool) -> bool {
        let len = self.buf.len() + more.len();
        if complete && len < BANNER_PREFIX.len() {
            return false;
        }
        let have = self.buf.iter().chain(more).take(BANNER_PREFIX.len());
        have.zip(BANNER_PREFIX).all(|(a, b)| a == b)
    }

    /// Accounts `n` skipped bytes; `complete` when they end the line.
    fn skip(&mut self, n: usize, complete: bool) {
        self.skipped_bytes = self.skipped_bytes.saturating_add(n);
        if complete {
            self.skipping = false;
            self.skipped_lines += 1;
        }
        if self.skipped_bytes > MAX_PRE_BANNER_BYTES || self.skipped_lines > MAX_PRE_BANNER_LINES {
            self.stop(End::Error(SshError::PreBannerTooLong));
        }
    }

    /// Handles a whole identification string (LF stripped).
    fn on_banner(&mut self, line: &[u8]) {
        match parse_banner(line) {
            Ok(side) => {
                // `1.99` announces 2.0 with 1.x fallback (RFC 4253 §5.1).
                let v = side.proto_version.as_str();
                let ssh1 = v.starts_with("1.") && v != "1.99";
                self.side = Some(side);
                if ssh1 {
                    self.stop(End::Ssh1);
                } else {
                    self.stage = Stage::Packet;
                }
            }
            Err(e) => self.stop(End::Error(e)),
        }
    }

    /// Consumes packet-stage bytes; returns the rest.
    fn packet_data<'a>(&mut self, bytes: &'a [u8]) -> &'a [u8] {
        // The length field first, then (once checked) the rest of the packet.
        let want = if self.buf.len() < 4 {
            4
        } else {
            want_len(&self.buf).saturating_add(4)
        };
        let take = want.saturating_sub(self.buf.len()).min(bytes.len());
        let (head, rest) = bytes.split_at(take);
        self.buf.extend_from_slice(head);
        if self.buf.len() < want {
            return rest;
        }
        if want == 4 {
            // The length is complete: check it before buffering the body.
            let len = want_len(&self.buf);
            if !(2..=MAX_PACKET_LEN).contains(&len) {
                self.stop(End::Error(SshError::BadPacketLength));
            }
            return rest;
        }
        let packet = std::mem::take(&mut self.buf);
        let end = match packet_payload(&packet) {
            Err(e) => End::Error(e),
            Ok(payload) if payload.first() != Some(&MSG_KEXINIT) => End::NotKexinit,
            Ok(payload) => match kexinit_hassh(payload, self.client) {
                Ok(lists) => {
                    if let Some(side) = &mut self.side {
                        side.hassh = Some(lists);
                    }
                    End::Kexinit
                }
                Err(e) => End::Error(e),
            },
        };
        self.stop(end);
        rest
    }
}

/// `packet_length` of a buffer holding at least its four bytes.
fn want_len(buf: &[u8]) -> usize {
    buf.first_chunk::<4>()
        .map_or(0, |b| u32::from_be_bytes(*b) as usize)
}

impl SshParser {
    /// A parser for a TCP flow, or (`tcp == false`) one that ignores input.
    pub fn new(tcp: bool) -> Self {
        let mut parser = SshParser {
            tcp,
            ..Default::default()
        };
        parser.dirs[0].client = true;
        parser
    }

    fn dir_mut(&mut self, dir: Direction) -> &mut DirState {
        match dir {
            Direction::ToServer => &mut self.dirs[0],
            Direction::ToClient => &mut self.dirs[1],
        }
    }

    /// Emits the session once both directions are done.
    fn emit_if_settled(&mut self, out: &mut Vec<AppRecord>) {
        if self.dirs.iter().all(DirState::done) {
            self.emit(out);
        }
    }

    /// Emits the session (once), if any banner was seen.
    fn emit(&mut self, out: &mut Vec<AppRecord>) {
        if self.emitted {
            return;
        }
        self.emitted = true;
        let [client, server] = &mut self.dirs;
        let session = SshSession {
            client: client.side.take(),
            server: server.side.take(),
        };
        if session.client.is_some() || session.server.is_some() {
            out.push(AppRecord::Ssh(session));
        }
    }
}

impl AppParser for SshParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if !self.tcp || self.emitted {
            return;
        }
        self.dir_mut(dir).data(bytes);
        self.emit_if_settled(out);
    }

    fn gap(&mut self, dir: Direction) {
        if !self.tcp || self.emitted {
            return;
        }
        let state = self.dir_mut(dir);
        if !state.done() {
            state.stop(End::Gap);
        }
        // Emission waits for the next `data` or `finish`: `gap` has no
        // output.
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        if self.tcp {
            self.emit(out);
        }
        for d in &mut self.dirs {
            d.buf = Vec::new();
        }
    }
}

/// Parses an identification string without its LF (RFC 4253 §4.2):
/// `SSH-protoversion-softwareversion[ SP comments][CR]`.
pub fn parse_banner(line: &[u8]) -> Result<SshSide, SshError> {
    if line.len() + 1 > MAX_LINE_LEN {
        return Err(SshError::BannerTooLong);
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line
        .strip_prefix(BANNER_PREFIX)
        .ok_or(SshError::BadBanner)?;
    let dash = rest
        .iter()
        .position(|&b| b == b'-')
        .ok_or(SshError::BadBanner)?;
    let (proto, software) = rest.split_at(dash);
    if proto.is_empty() {
        return Err(SshError::BadBanner);
    }
    let software = software.get(1..).unwrap_or_default();
    let software = software.split(|&b| b == b' ').next().unwrap_or_default();
    Ok(SshSide {
        proto_version: String::from_utf8_lossy(proto).into_owned(),
        software_version: String::from_utf8_lossy(software).into_owned(),
        hassh: None,
    })
}

/// The payload of one whole binary packet (RFC 4253 §6): after
/// `packet_length` and `padding_length`, before the padding. No MAC
/// follows before the first NEWKEYS.
fn packet_payload(packet: &[u8]) -> Result<&[u8], SshError> {
    let len = want_len(packet);
    let padding = usize::from(*packet.get(4).ok_or(SshError::BadPacketLength)?);
    let payload_len = len
        .checked_sub(1 + padding)
        .filter(|&n| n > 0)
        .ok_or(SshError::BadPacketLength)?;
    packet
        .get(5..5 + payload_len)
        .ok_or(SshError::BadPacketLength)
}

/// HASSH (`client`) or HASSH-server of a KEXINIT payload, message byte
/// included (RFC 4253 §7.1: byte 20, cookie, then the name-lists
/// kex_algorithms, server_host_key_algorithms, encryption c2s / s2c,
/// mac c2s / s2c, compression c2s / s2c, ...). Each name-list is a uint32
/// length and that many bytes (RFC 4251 §5). The languages, the
/// first_kex_packet_follows flag and the reserved field are not read.
pub fn kexinit_hassh(payload: &[u8], client: bool) -> Result<Fingerprint, SshError> {
    let mut rest = payload.get(1 + COOKIE_LEN..).ok_or(SshError::BadKexinit)?;
    let mut lists: [&[u8]; 8] = [&[]; 8];
    for slot in &mut lists {
        let (len, tail) = rest.split_first_chunk::<4>().ok_or(SshError::BadKexinit)?;
        let len = u32::from_be_bytes(*len) as usize;
        if len > MAX_NAME_LIST_LEN || len > tail.len() {
            return Err(SshError::BadKexinit);
        }
        let (list, tail) = tail.split_at(len);
        *slot = list;
        rest = tail;
    }
    let [kex, _host_key, enc_cs, enc_sc, mac_cs, mac_sc, cmp_cs, cmp_sc] = lists;
    Ok(if client {
        hassh(kex, enc_cs, mac_cs, cmp_cs)
    } else {
        hassh(kex, enc_sc, mac_sc, cmp_sc)
    })
}

/// HASSH of the given lists: MD5 of `kex;enc;mac;cmp` in lowercase hex.
pub fn hassh(kex: &[u8], enc: &[u8], mac: &[u8], cmp: &[u8]) -> Fingerprint {
    let string = [kex, enc, mac, cmp]
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .join(";");
    let hash = format!("{:x}", Md5::digest(string.as_bytes()));
    Fingerprint { hash, string }
}
