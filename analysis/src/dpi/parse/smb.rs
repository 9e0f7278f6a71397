//! SMB parser: one [`SmbTx`] per SMB2/3 request and its response, plus
//! minimal SMB1 (negotiate dialects, session-setup NTLMSSP, tree path).
//!
//! # Contract
//! - TCP only; for `tcp == false` [`new_parser`] returns a parser that
//!   ignores its input.
//! - Framing: NetBIOS session service headers (RFC 1002 §4.3.1; MS-SMB2
//!   §2.1 direct TCP uses the same 4 bytes with a 24-bit length). Of each
//!   session message at most [`MAX_KEEP`] bytes are kept, the rest is
//!   skipped by length (so a big WRITE's data is never buffered; a message
//!   compounded after it in the same frame is then lost). Other NetBIOS
//!   packets (session request, keep-alive, …) are skipped. A session
//!   message not starting with an SMB magic, or a gap, stops that
//!   direction: the framing cannot be found again.
//! - SMB2 (MS-SMB2 §2.2.1): every message of a compound chain
//!   (`NextCommand`, §3.2.4.1.4) is read. A request is kept (at most
//!   [`MAX_PENDING`], keyed by message id) until its response, and the pair
//!   is emitted as one record; an interim `STATUS_PENDING` async response
//!   (§3.3.4.2) keeps it waiting. `CANCEL` (which reuses the id of what it
//!   cancels) and responses without a known request are emitted alone.
//!   [`AppParser::finish`] emits the requests still waiting
//!   (`response_done: false`).
//! - Logged per command: NEGOTIATE offered dialects (`client_dialects`) and
//!   the chosen one (`dialect`, then carried on every later record, as
//!   Suricata does); SESSION_SETUP the NTLMSSP AUTHENTICATE names
//!   (`ntlmssp` {domain, user, host}, MS-NLMP §2.2.1.3; never the
//!   responses); TREE_CONNECT the share path; CREATE the file name;
//!   READ/WRITE length and offset; the share (by tree id) and file name (by
//!   file id, from CREATE responses; the previous CREATE of the chain for a
//!   related compound's `FFFF…` id) on later records. At most
//!   [`MAX_MAP`] trees and open files are remembered.
//! - Encrypted SMB3 messages (transform header `FD 'SMB'`, §2.2.41) are
//!   only counted: one record with `encrypted_messages` at `finish`.
//!   Compressed ones (`FC 'SMB'`) are skipped.
//! - SMB1 (MS-CIFS §2.2.3.1): every message is a record (`command` name or
//!   `SMB1_COMMAND_UNKNOWN_0x..`, status), paired by MID; NEGOTIATE logs the
//!   dialect strings and the chosen one, SESSION_SETUP_ANDX the NTLMSSP
//!   names (or, without extended security, the clear `account` user and
//!   domain; never the password fields), TREE_CONNECT_ANDX the path.
//! - Field names follow Suricata's EVE `smb` (`id`, `command`, `status`,
//!   `status_code`, `session_id`, `tree_id`, `dialect`, `client_dialects`,
//!   `share`, `filename`, `ntlmssp`, `request_done`, `response_done`).

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::dpi::parser::{AppParser, AppRecord};
use crate::flow::Direction;

mod msg;
#[cfg(test)]
#[path = "smb/tests.rs"]
mod tests;

pub use msg::Ntlmssp;
use msg::{le16, le32, le64, utf16, Smb2Header, SMB1_HEADER_LEN, SMB2_HEADER_LEN};

/// Most bytes kept of one NetBIOS session message.
pub const MAX_KEEP: usize = 64 * 1024;
/// Most requests waiting for their response.
pub const MAX_PENDING: usize = 256;
/// Most tree ids and file ids remembered.
pub const MAX_MAP: usize = 256;
/// Most messages read from one compound chain.
pub const MAX_COMPOUND: usize = 64;

const STATUS_PENDING: u32 = 0x0000_0103;
const SMB2_CANCEL: u16 = 12;

/// Which SMB message a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbCommand {
    /// An SMB2/3 command code (MS-SMB2 §2.2.1.2); unknown codes kept.
    Smb2(u16),
    /// An SMB1 command code (MS-CIFS §2.2.2.1); unknown codes kept.
    Smb1(u8),
    /// The count of encrypted SMB3 messages.
    Encrypted,
}

impl Serialize for SmbCommand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match *self {
            SmbCommand::Smb2(c) => match msg::smb2_command_name(c) {
                Some(n) => s.serialize_str(n),
                None => s.collect_str(&format_args!("SMB2_COMMAND_UNKNOWN_0x{c:04x}")),
            },
            SmbCommand::Smb1(c) => match msg::smb1_command_name(c) {
                Some(n) => s.serialize_str(n),
                None => s.collect_str(&format_args!("SMB1_COMMAND_UNKNOWN_0x{c:02x}")),
            },
            SmbCommand::Encrypted => s.serialize_str("SMB3_ENCRYPTED"),
        }
    }
}

/// One SMB request and its response (Suricata EVE `smb`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SmbTx {
    /// Message id (SMB2) or MID (SMB1).
    pub id: u64,
    /// Command.
    pub command: SmbCommand,
    /// NT status name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// NT status code (`0x0`), when a response was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    /// Session id (SMB2) or UID (SMB1).
    pub session_id: u64,
    /// Tree id.
    pub tree_id: u32,
    /// Negotiated dialect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// Dialects offered by the client (NEGOTIATE).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_dialects: Vec<String>,
    /// Share path (`\\server\share`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
    /// File (or pipe) name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// NTLMSSP AUTHENTICATE names (SESSION_SETUP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ntlmssp: Option<Ntlmssp>,
    /// SMB1 SESSION_SETUP_ANDX without extended security: the account and
    /// primary domain sent in clear (`host` is left empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<Ntlmssp>,
    /// READ/WRITE length in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// READ/WRITE file offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// The request was seen.
    pub request_done: bool,
    /// The (final) response was seen.
    pub response_done: bool,
    /// Encrypted messages seen (the `SMB3_ENCRYPTED` record only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_messages: Option<u64>,
    /// A message was longer than [`MAX_KEEP`] and only its start was read.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
}

impl SmbTx {
    fn new(id: u64, command: SmbCommand) -> Self {
        SmbTx {
            id,
            command,
            status: None,
            status_code: None,
            session_id: 0,
            tree_id: 0,
            dialect: None,
            client_dialects: Vec::new(),
            share: None,
            filename: None,
            ntlmssp: None,
            account: None,
            length: None,
            offset: None,
            request_done: false,
            response_done: false,
            encrypted_messages: None,
            truncated: false,
        }
    }

    fn set_status(&mut self, status: u32) {
        self.status = msg::status_name(status);
        self.status_code = Some(format!("{status:#x}"));
    }
}

/// Builds the SMB parser; UDP flows get one that ignores its input.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(SmbParser::new(tcp))
}

/// Framing state of one direction.
#[derive(Debug, Default)]
struct Framer {
    /// NetBIOS header bytes read so far (< 4 while reading it).
    hdr: Vec<u8>,
    /// The current packet is a session message (type 0).
    session: bool,
    /// Bytes of the current packet still to come.
    left: usize,
    /// The kept start of the current session message.
    buf: Vec<u8>,
    /// The current message overran [`MAX_KEEP`].
    truncated: bool,
    /// Framing lost: ignore the direction.
    stopped: bool,
}

/// Per-flow SMB parser; see the module documentation.
#[derive(Debug)]
pub struct SmbParser {
    active: bool,
    dirs: [Framer; 2],
    /// Requests by (SMB version, id).
    pending: BTreeMap<(u8, u64), SmbTx>,
    /// Negotiated dialect.
    dialect: Option<String>,
    /// SMB1 dialects offered, to name the chosen index.
    smb1_dialects: Vec<String>,
    /// Share path by tree id.
    trees: HashMap<u32, String>,
    /// File name by SMB2 file id.
    files: HashMap<[u8; 16], String>,
    /// Encrypted messages seen.
    encrypted: u64,
}

impl SmbParser {
    /// A parser for a TCP flow, or (`tcp == false`) one that ignores input.
    pub fn new(tcp: bool) -> Self {
        SmbParser {
            active: tcp,
            dirs: Default::default(),
            pending: BTreeMap::new(),
            dialect: None,
            smb1_dialects: Vec::new(),
            trees: HashMap::new(),
            files: HashMap::new(),
            encrypted: 0,
        }
    }

    /// Handles one whole (or truncated) NetBIOS session message; returns
    /// false when it is not SMB (framing lost).
    fn message(&mut self, m: &[u8], truncated: bool, out: &mut Vec<AppRecord>) -> bool {
        match m.get(..4) {
            Some(b"\xfeSMB") => self.smb2_chain(m, truncated, out),
            Some(b"\xffSMB") => self.smb1(m, truncated, out),
            Some(b"\xfdSMB") => self.encrypted = self.encrypted.saturating_add(1),
            Some(b"\xfcSMB") => {}
            _ => return false,
        }
        true
    }

    fn smb2_chain(&mut self, m: &[u8], truncated: bool, out: &mut Vec<AppRecord>) {
        let mut at = 0usize;
        let mut chain_name: Option<String> = None;
        for _ in 0..MAX_COMPOUND {
            let Some(rest) = m.get(at..) else { return };
            let Some(h) = Smb2Header::parse(rest) else {
                return;
            };
            let next = h.next_command as usize;
            let one = if next == 0 {
                rest
            } else {
                rest.get(..next).unwrap_or(rest)
            };
            let cut = truncated && (next == 0 || next > one.len());
            if h.is_response() {
                self.smb2_response(&h, one, cut, out);
            } else {
                self.smb2_request(&h, one, cut, &mut chain_name, out);
            }
            // Each message is 8-byte aligned (MS-SMB2 §3.2.4.1.4).
            if next < SMB2_HEADER_LEN || !next.is_multiple_of(8) {
                return;
            }
            at += next;
        }
    }

    fn smb2_request(
        &mut self,
        h: &Smb2Header,
        m: &[u8],
        truncated: bool,
        chain_name: &mut Option<String>,
        out: &mut Vec<AppRecord>,
    ) {
        let body = m.get(SMB2_HEADER_LEN..).unwrap_or_default();
        let mut tx = SmbTx::new(h.message_id, SmbCommand::Smb2(h.command));
        tx.request_done = true;
        tx.session_id = h.session_id;
        tx.tree_id = h.tree_id;
        tx.truncated = truncated;
        let file_id_at = match h.command {
            0 => {
                tx.client_dialects = msg::negotiate_dialects(body);
                None
            }
            1 => {
                tx.ntlmssp = msg::find_ntlmssp_auth(body);
                None
            }
            3 => {
                let off = le16(body, 4).map(usize::from);
                let len = le16(body, 6).map(usize::from);
                tx.share = off.zip(len).and_then(|(o, l)| utf16(m, o, l));
                None
            }
            5 => {
                let off = le16(body, 44).map(usize::from);
                let len = le16(body, 46).map(usize::from);
                tx.filename = off.zip(len).and_then(|(o, l)| utf16(m, o, l));
                chain_name.clone_from(&tx.filename);
                None
            }
            8 | 9 => {
                tx.length = le32(body, 4);
                tx.offset = le64(body, 8);
                Some(16)
            }
            6 | 7 | 10 | 11 | 14 | 15 => Some(8),
            16 => Some(24),
            17 => Some(16),
            _ => None,
        };
        if let Some(fid) = file_id_at.and_then(|o| file_id(body, o)) {
            tx.filename = if fid == [0xff; 16] {
                chain_name.clone()
            } else {
                self.files.get(&fid).cloned()
            };
        }
        if tx.share.is_none() {
            tx.share = self.trees.get(&h.tree_id).cloned();
        }
        if h.command == SMB2_CANCEL {
            self.emit(tx, out);
            return;
        }
        self.queue((2, h.message_id), tx, out);
    }

    fn smb2_response(
        &mut self,
        h: &Smb2Header,
        m: &[u8],
        truncated: bool,
        out: &mut Vec<AppRecord>,
    ) {
        let body = m.get(SMB2_HEADER_LEN..).unwrap_or_default();
        let key = (2, h.message_id);
        // A multi-protocol SMB1 NEGOTIATE is answered in SMB2 (MS-SMB2
        // §3.3.5.3.1) with the same id.
        let smb1_negotiate = (1, h.message_id);
        let upgrade = h.command == 0
            && !self.pending.contains_key(&key)
            && self.pending.get(&smb1_negotiate).map(|t| t.command) == Some(SmbCommand::Smb1(0x72));
        let taken = if upgrade {
            self.pending.remove(&smb1_negotiate)
        } else {
            self.pending.remove(&key)
        };
        let mut tx = match taken {
            Some(tx) if upgrade || tx.command == SmbCommand::Smb2(h.command) => tx,
            other => {
                if let Some(old) = other {
                    self.emit(old, out);
                }
                let mut tx = SmbTx::new(h.message_id, SmbCommand::Smb2(h.command));
                tx.tree_id = h.tree_id;
                tx.share = self.trees.get(&h.tree_id).cloned();
                tx
            }
        };
        tx.set_status(h.status);
        tx.truncated |= truncated;
        if h.status == STATUS_PENDING && h.flags & 2 != 0 {
            // Interim response: the final one follows (MS-SMB2 §3.3.4.2).
            self.pending.insert(key, tx);
            return;
        }
        tx.response_done = true;
        if tx.session_id == 0 {
            tx.session_id = h.session_id;
        }
        let ok = h.status == 0;
        match h.command {
            0 => {
                if let Some(d) = le16(body, 4) {
                    self.dialect = Some(msg::dialect_name(d));
                }
            }
            3 if ok => {
                tx.tree_id = h.tree_id;
                if let Some(share) = &tx.share {
                    if self.trees.len() < MAX_MAP || self.trees.contains_key(&h.tree_id) {
                        self.trees.insert(h.tree_id, share.clone());
                    }
                }
            }
            5 if ok => {
                if let (Some(fid), Some(name)) = (file_id(body, 64), &tx.filename) {
                    if self.files.len() < MAX_MAP || self.files.contains_key(&fid) {
                        self.files.insert(fid, name.clone());
                    }
                }
            }
            6 => {
                if let Some(name) = &tx.filename {
                    self.files.retain(|_, n| n != name);
                }
            }
            8 if tx.length.is_none() => tx.length = le32(body, 4),
            _ => {}
        }
        self.emit(tx, out);
    }

    fn smb1(&mut self, m: &[u8], truncated: bool, out: &mut Vec<AppRecord>) {
        let (Some(&cmd), Some(status), Some(&flags)) = (m.get(4), le32(m, 5), m.get(9)) else {
            return;
        };
        let flags2 = le16(m, 10).unwrap_or(0);
        let tid = le16(m, 24).unwrap_or(0);
        let uid = le16(m, 28).unwrap_or(0);
        let mid = u64::from(le16(m, 30).unwrap_or(0));
        let key = (1, mid);
        if flags & 0x80 == 0 {
            let mut tx = SmbTx::new(mid, SmbCommand::Smb1(cmd));
            tx.request_done = true;
            tx.session_id = u64::from(uid);
            tx.tree_id = u32::from(tid);
            tx.truncated = truncated;
            match cmd {
                0x72 => {
                    tx.client_dialects = msg::smb1_negotiate_dialects(m);
                    self.smb1_dialects.clone_from(&tx.client_dialects);
                }
                0x73 => {
                    let rest = m.get(SMB1_HEADER_LEN..).unwrap_or_default();
                    tx.ntlmssp = msg::find_ntlmssp_auth(rest);
                    if tx.ntlmssp.is_none() {
                        tx.account = smb1_account(m, flags2 & 0x8000 != 0);
                    }
                }
                0x75 => tx.share = smb1_tree_path(m, flags2 & 0x8000 != 0),
                _ => {}
            }
            self.queue(key, tx, out);
            return;
        }
        let mut tx = match self.pending.remove(&key) {
            Some(tx) if tx.command == SmbCommand::Smb1(cmd) => tx,
            other => {
                if let Some(old) = other {
                    self.emit(old, out);
                }
                SmbTx::new(mid, SmbCommand::Smb1(cmd))
            }
        };
        tx.set_status(status);
        tx.response_done = true;
        tx.truncated |= truncated;
        tx.session_id = u64::from(uid);
        tx.tree_id = u32::from(tid);
        if cmd == 0x72 {
            let idx = msg::smb1_words(m).and_then(|w| le16(w, 0));
            if let Some(name) = idx.and_then(|i| self.smb1_dialects.get(usize::from(i))) {
                self.dialect = Some(name.clone());
            }
        }
        self.emit(tx, out);
    }

    fn queue(&mut self, key: (u8, u64), tx: SmbTx, out: &mut Vec<AppRecord>) {
        if let Some(old) = self.pending.insert(key, tx) {
            self.emit(old, out);
        }
        if self.pending.len() > MAX_PENDING {
            if let Some((_, old)) = self.pending.pop_first() {
                self.emit(old, out);
            }
        }
    }

    fn emit(&mut self, mut tx: SmbTx, out: &mut Vec<AppRecord>) {
        if tx.dialect.is_none() {
            tx.dialect.clone_from(&self.dialect);
        }
        out.push(AppRecord::Smb(tx));
    }

    fn feed(&mut self, dir: Direction, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        let d = dir.idx();
        while !bytes.is_empty() && !self.dirs[d].stopped {
            let f = &mut self.dirs[d];
            if f.left == 0 && f.hdr.len() < 4 {
                let n = (4 - f.hdr.len()).min(bytes.len());
                f.hdr.extend_from_slice(&bytes[..n]);
                bytes = &bytes[n..];
                if f.hdr.len() < 4 {
                    return;
                }
                let h = [f.hdr[0], f.hdr[1], f.hdr[2], f.hdr[3]];
                f.session = h[0] == 0;
                f.left = if f.session {
                    u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize
                } else if (0x81..=0x85).contains(&h[0]) {
                    // RFC 1002 §4.3.1: 17-bit length (E bit).
                    u32::from_be_bytes([0, h[1] & 1, h[2], h[3]]) as usize
                } else {
                    f.stopped = true;
                    return;
                };
                f.buf = Vec::new();
                f.truncated = false;
                if f.left == 0 {
                    f.hdr.clear();
                }
                continue;
            }
            let n = f.left.min(bytes.len());
            if f.session {
                let room = MAX_KEEP.saturating_sub(f.buf.len()).min(n);
                f.buf.extend_from_slice(&bytes[..room]);
                f.truncated |= room < n;
            }
            f.left -= n;
            bytes = &bytes[n..];
            if f.left == 0 {
                f.hdr.clear();
                if f.session {
                    let m = std::mem::take(&mut f.buf);
                    let truncated = f.truncated;
                    if !self.message(&m, truncated, out) {
                        self.dirs[d].stopped = true;
                    }
                }
            }
        }
    }
}

/// The 16-byte SMB2 file id at `off` of a body.
fn file_id(body: &[u8], off: usize) -> Option<[u8; 16]> {
    body.get(off..)?.first_chunk::<16>().copied()
}

/// The path of an SMB1 TREE_CONNECT_ANDX request (MS-CIFS §2.2.4.55.1):
/// after `PasswordLength` bytes of password, NUL-terminated.
fn smb1_tree_path(m: &[u8], unicode: bool) -> Option<String> {
    let words = msg::smb1_words(m)?;
    let pw_len = usize::from(le16(words, 6)?);
    let data_at = SMB1_HEADER_LEN + 1 + words.len() + 2;
    smb1_string(m, data_at.checked_add(pw_len)?, unicode).map(|(s, _)| s)
}

/// AccountName and PrimaryDomain of an SMB1 SESSION_SETUP_ANDX request
/// without extended security (13 parameter words, MS-CIFS §2.2.4.53.1):
/// after the OEM and Unicode password fields.
fn smb1_account(m: &[u8], unicode: bool) -> Option<Ntlmssp> {
    let words = msg::smb1_words(m)?;
    if words.len() != 26 {
        return None;
    }
    let pw = usize::from(le16(words, 14)?) + usize::from(le16(words, 16)?);
    let data_at = SMB1_HEADER_LEN + 1 + words.len() + 2;
    let (user, next) = smb1_string(m, data_at.checked_add(pw)?, unicode)?;
    let domain = smb1_string(m, next, unicode)
        .map(|(d, _)| d)
        .unwrap_or_default();
    Some(Ntlmssp {
        domain,
        user,
        host: String::new(),
    })
}

/// A NUL-terminated SMB1 string at `at` (Unicode ones are aligned to 2
/// from the header start, MS-CIFS §2.2.1.1): the text and the offset after
/// its terminator.
fn smb1_string(m: &[u8], mut at: usize, unicode: bool) -> Option<(String, usize)> {
    if unicode {
        at += at % 2;
        let rest = m.get(at..)?;
        let len = rest.chunks_exact(2).position(|c| c == [0, 0])? * 2;
        Some((utf16(m, at, len)?, at + len + 2))
    } else {
        let rest = m.get(at..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        let text = rest.get(..len.min(msg::MAX_NAME_CHARS))?;
        Some((String::from_utf8_lossy(text).into_owned(), at + len + 1))
    }
}

impl AppParser for SmbParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        if self.active {
            self.feed(dir, bytes, out);
        }
    }

    fn gap(&mut self, dir: Direction) {
        let f = &mut self.dirs[dir.idx()];
        f.stopped = true;
        f.buf = Vec::new();
    }

    fn finish(&mut self, out: &mut Vec<AppRecord>) {
        if !self.active {
            return;
        }
        self.active = false;
        let pending = std::mem::take(&mut self.pending);
        for (_, tx) in pending {
            self.emit(tx, out);
        }
        if self.encrypted > 0 {
            let mut tx = SmbTx::new(0, SmbCommand::Encrypted);
            tx.encrypted_messages = Some(self.encrypted);
            self.emit(tx, out);
        }
        for f in &mut self.dirs {
            f.buf = Vec::new();
        }
    }
}
