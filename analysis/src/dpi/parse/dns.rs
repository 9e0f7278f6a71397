//! DNS parser: one [`DnsMessage`] per query or response (RFC 1035 §4).
//!
//! # Contract
//! - UDP (`tcp == false`): every [`AppParser::data`] call is one whole
//!   datagram, decoded into at most one message.
//! - TCP (`tcp == true`): each direction is a stream of messages, each
//!   prefixed by a two-octet length (RFC 1035 §4.2.2). A message may be
//!   split across calls and one call may carry several messages (RFC 7766
//!   §8), so at most one partial message per direction is buffered
//!   ([`MAX_TCP_BUFFER`]). [`AppParser::gap`] drops that buffer and stops
//!   the direction: after lost bytes the length prefixes cannot be found
//!   again reliably.
//! - Output follows Suricata's EVE v2 `dns` record: `type` is `query` or
//!   `answer` from the QR bit, `flags` are four lower-case hex digits,
//!   names carry no trailing dot and the root is `<root>`. Responses get
//!   their `rcode` and the answer section (the EDNS OPT pseudo-RR, type 41,
//!   RFC 6891 §6.1.1, is skipped there).
//! - A malformed message (truncated, bad label type, pointer loop, name over
//!   255 octets, …) yields no record; later datagrams or stream messages are
//!   still parsed. Only the header, question and answer sections are
//!   validated; the authority and additional sections are not read.
//!   Unreadable RDATA of a well-framed record gives `rdata: None` instead of
//!   dropping the message: an IDS should show what it can.
//!
//! # Caps
//! [`MAX_ANSWERS`] answers per message, [`MAX_MESSAGES_PER_DIRECTION`]
//! messages per direction (then the direction stops), [`MAX_POINTER_JUMPS`]
//! compression pointers and [`MAX_NAME_LEN`] octets per name.
//!
//! # Names
//! Compression pointers (RFC 1035 §4.1.4) must point strictly before the
//! start of the label run that contains them. Every accepted jump therefore
//! lowers the read position's floor, so loops are impossible even before the
//! jump cap. Label bytes outside printable ASCII are written `\DDD` (decimal,
//! like dig), and `.` and `\` inside a label are backslash-escaped, so the
//! presentation form is unambiguous.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::dpi::parser::{AppAnomaly, AppParser, AppRecord};
use crate::dpi::records::{DnsAnswer, DnsMessage};
use crate::dpi::AppProto;
use crate::flow::Direction;

#[cfg(test)]
mod tests;

/// Most answers recorded per message; later ones are parsed but not kept.
pub const MAX_ANSWERS: usize = 32;
/// Most messages emitted per flow direction; the direction then stops.
pub const MAX_MESSAGES_PER_DIRECTION: u32 = 64;
/// Most bytes buffered per TCP direction: one length prefix and the largest
/// message it can announce (RFC 1035 §4.2.2).
pub const MAX_TCP_BUFFER: usize = 2 + u16::MAX as usize;
/// Longest name on the wire, length octets included (RFC 1035 §2.3.4).
pub const MAX_NAME_LEN: usize = 255;
/// Most compression pointers followed while reading one name.
pub const MAX_POINTER_JUMPS: usize = 32;

/// Fixed header length (RFC 1035 §4.1.1).
const HEADER_LEN: usize = 12;
/// EDNS pseudo-RR type (RFC 6891 §6.1.1).
const TYPE_OPT: u16 = 41;

/// Why a message could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsError {
    /// The message ended inside a field.
    Truncated,
    /// A label length octet with the reserved `01`/`10` top bits
    /// (RFC 1035 §4.1.4; extended labels are deprecated, RFC 6891 §5).
    BadLabelType,
    /// A compression pointer that does not point strictly backwards.
    ForwardPointer,
    /// More than [`MAX_POINTER_JUMPS`] pointers in one name.
    TooManyPointers,
    /// A name longer than [`MAX_NAME_LEN`] octets.
    NameTooLong,
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DnsError::Truncated => "message truncated",
            DnsError::BadLabelType => "reserved label type",
            DnsError::ForwardPointer => "compression pointer does not point backwards",
            DnsError::TooManyPointers => "too many compression pointers",
            DnsError::NameTooLong => "name longer than 255 octets",
        })
    }
}

impl std::error::Error for DnsError {}

/// Builds the DNS parser for a UDP (`tcp == false`) or TCP flow.
pub fn new_parser(tcp: bool) -> Box<dyn AppParser> {
    Box::new(DnsParser::new(tcp))
}

/// Per-flow DNS parser; see the module documentation for the contract.
#[derive(Debug, Default)]
pub struct DnsParser {
    tcp: bool,
    dirs: [DirState; 2],
}

/// State of one direction.
#[derive(Debug, Default)]
struct DirState {
    /// TCP only: a partial length prefix or message (≤ [`MAX_TCP_BUFFER`]).
    buf: Vec<u8>,
    /// Messages emitted so far.
    emitted: u32,
    /// Messages that failed to decode.
    malformed: u32,
    /// No more parsing in this direction (gap or message cap).
    stopped: bool,
}

impl DirState {
    /// Decodes one message and emits it, honouring the per-direction cap.
    fn emit(&mut self, msg: &[u8], out: &mut Vec<AppRecord>) {
        if self.stopped {
            return;
        }
        match parse_message(msg) {
            Ok(m) => {
                out.push(AppRecord::Dns(m));
                self.emitted += 1;
                if self.emitted >= MAX_MESSAGES_PER_DIRECTION {
                    self.stop();
                }
            }
            Err(e) => {
                self.malformed += 1;
                let event = match e {
                    DnsError::ForwardPointer => "dns_forward_pointer",
                    DnsError::TooManyPointers => "dns_too_many_pointers",
                    DnsError::NameTooLong => "dns_name_too_long",
                    DnsError::BadLabelType => "dns_bad_label_type",
                    DnsError::Truncated => "dns_truncated",
                };
                out.push(AppRecord::Anomaly(AppAnomaly::new(AppProto::Dns, event)));
            }
        }
    }

    fn stop(&mut self) {
        self.stopped = true;
        self.buf = Vec::new();
    }

    /// Feeds TCP stream bytes: completes the buffered message first, then
    /// decodes whole messages straight from `bytes`, and buffers the rest.
    fn tcp_data(&mut self, mut bytes: &[u8], out: &mut Vec<AppRecord>) {
        while !bytes.is_empty() && !self.stopped {
            if self.buf.is_empty() {
                match frame(bytes) {
                    Some((msg, rest)) => {
                        self.emit(msg, out);
                        bytes = rest;
                    }
                    None => {
                        // Incomplete: at most 2 + 65,535 - 1 bytes.
                        self.buf.extend_from_slice(bytes);
                        return;
                    }
                }
            } else {
                let want = buffered_want(&self.buf);
                let take = want.saturating_sub(self.buf.len()).min(bytes.len());
                let (head, rest) = bytes.split_at(take);
                self.buf.extend_from_slice(head);
                bytes = rest;
                // Never exceeds `want`: when the prefix was incomplete, the
                // take stopped at the prefix.
                if self.buf.len() >= 2 && self.buf.len() == buffered_want(&self.buf) {
                    let buf = std::mem::take(&mut self.buf);
                    self.emit(buf.get(2..).unwrap_or_default(), out);
                }
            }
        }
    }
}

/// Bytes the buffered frame needs in all: the prefix, plus the message
/// once the prefix is complete.
fn buffered_want(buf: &[u8]) -> usize {
    match buf.get(..2) {
        Some(&[hi, lo]) => 2 + usize::from(u16::from_be_bytes([hi, lo])),
        _ => 2,
    }
}

/// Splits one length-prefixed message off a TCP stream (RFC 1035 §4.2.2):
/// `(message, rest)`, or `None` when incomplete.
fn frame(stream: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&[hi, lo], rest) = stream.split_first_chunk::<2>()?;
    let len = usize::from(u16::from_be_bytes([hi, lo]));
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

impl DnsParser {
    /// A parser for a UDP (`tcp == false`) or TCP flow.
    pub fn new(tcp: bool) -> Self {
        DnsParser {
            tcp,
            dirs: Default::default(),
        }
    }

    fn dir_mut(&mut self, dir: Direction) -> &mut DirState {
        match dir {
            Direction::ToServer => &mut self.dirs[0],
            Direction::ToClient => &mut self.dirs[1],
        }
    }
}

impl AppParser for DnsParser {
    fn data(&mut self, dir: Direction, bytes: &[u8], out: &mut Vec<AppRecord>) {
        let tcp = self.tcp;
        let state = self.dir_mut(dir);
        if tcp {
            state.tcp_data(bytes, out);
        } else {
            state.emit(bytes, out);
        }
    }

    fn gap(&mut self, dir: Direction) {
        // UDP has no stream to lose sync on; each datagram stands alone.
        if self.tcp {
            self.dir_mut(dir).stop();
        }
    }

    fn finish(&mut self, _out: &mut Vec<AppRecord>) {
        // A partial TCP message cannot be decoded: nothing is pending.
        for d in &mut self.dirs {
            d.buf = Vec::new();
        }
    }
}

/// Bounds-checked reader over one whole message.
struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DnsError> {
        let end = self.pos.checked_add(n).ok_or(DnsError::Truncated)?;
        let b = self.msg.get(self.pos..end).ok_or(DnsError::Truncated)?;
        self.pos = end;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, DnsError> {
        match *self.bytes(2)? {
            [a, b] => Ok(u16::from_be_bytes([a, b])),
            _ => Err(DnsError::Truncated),
        }
    }

    fn u32(&mut self) -> Result<u32, DnsError> {
        match *self.bytes(4)? {
            [a, b, c, d] => Ok(u32::from_be_bytes([a, b, c, d])),
            _ => Err(DnsError::Truncated),
        }
    }

    fn name(&mut self) -> Result<String, DnsError> {
        let (name, end) = read_name(self.msg, self.pos)?;
        self.pos = end;
        Ok(name)
    }
}

/// Decodes one whole DNS message (RFC 1035 §4.1) into its EVE form.
pub fn parse_message(msg: &[u8]) -> Result<DnsMessage, DnsError> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let flags = r.u16()?;
    let qdcount = r.u16()?;
    let ancount = r.u16()?;
    let _nscount = r.u16()?;
    let _arcount = r.u16()?;
    debug_assert_eq!(r.pos, HEADER_LEN);
    let response = flags & 0x8000 != 0;

    // Question section (RFC 1035 §4.1.2); only the first one is logged,
    // as Suricata does, but all must be well formed.
    let mut first = None;
    for _ in 0..qdcount {
        let qname = r.name()?;
        let qtype = r.u16()?;
        let _qclass = r.u16()?;
        if first.is_none() {
            first = Some((qname, qtype));
        }
    }
    let (rrname, rrtype) = match first {
        Some((n, t)) => (Some(n), Some(rrtype_name(t))),
        None => (None, None),
    };

    let mut answers = Vec::new();
    if response {
        // Answer section (RFC 1035 §4.1.3). Each RR needs at least 11
        // octets, so a huge ANCOUNT runs out of message quickly.
        for _ in 0..ancount {
            let name = r.name()?;
            let rtype = r.u16()?;
            let _class = r.u16()?;
            let ttl = r.u32()?;
            let rdlength = usize::from(r.u16()?);
            let start = r.pos;
            let rdata = r.bytes(rdlength)?;
            if rtype == TYPE_OPT || answers.len() >= MAX_ANSWERS {
                continue;
            }
            answers.push(DnsAnswer {
                rrname: name,
                rrtype: rrtype_name(rtype),
                ttl,
                rdata: decode_rdata(msg, start, rdata, rtype),
            });
        }
    }

    Ok(DnsMessage {
        kind: if response { "answer" } else { "query" },
        id,
        flags: format!("{flags:04x}"),
        rrname,
        rrtype,
        rcode: response.then(|| rcode_name(flags & 0x000f)),
        answers,
    })
}

/// Presentation form of the RDATA of common types (RFC 1035 §3.3–3.4,
/// RFC 3596 §2.2, RFC 2782), or `None` for other types and bad RDATA.
/// `start` is the RDATA's offset in `msg`, for names that use compression.
fn decode_rdata(msg: &[u8], start: usize, rdata: &[u8], rtype: u16) -> Option<String> {
    // A name inside RDATA must begin and end within it.
    let name_at = |off: usize| -> Option<String> {
        let (name, end) = read_name(msg, start.checked_add(off)?).ok()?;
        (end <= start + rdata.len()).then_some(name)
    };
    match rtype {
        1 => {
            let b: [u8; 4] = rdata.try_into().ok()?;
            Some(Ipv4Addr::from(b).to_string())
        }
        28 => {
            let b: [u8; 16] = rdata.try_into().ok()?;
            Some(Ipv6Addr::from(b).to_string())
        }
        // NS, CNAME, PTR; SOA logs its MNAME (RFC 1035 §3.3.13).
        2 | 5 | 12 | 6 => name_at(0),
        15 => {
            let (&[hi, lo], _) = rdata.split_first_chunk::<2>()?;
            let pref = u16::from_be_bytes([hi, lo]);
            Some(format!("{pref} {}", name_at(2)?))
        }
        // SRV: priority, weight, port, then the target (RFC 2782).
        33 if rdata.len() > 6 => name_at(6),
        16 => txt(rdata),
        _ => None,
    }
}

/// TXT RDATA (RFC 1035 §3.3.14): the character-strings concatenated, as
/// their consumers do (RFC 7208 §3.3), non-printable octets as `\DDD`.
fn txt(mut rdata: &[u8]) -> Option<String> {
    let mut out = String::new();
    while let Some((&len, rest)) = rdata.split_first() {
        let (s, rest) = rest.split_at_checked(usize::from(len))?;
        for &b in s {
            push_escaped(&mut out, b, b' ', b == b'\\');
        }
        rdata = rest;
    }
    Some(out)
}

/// Appends `b` in presentation form: `\b` when `quote`, itself when
/// printable (from `min` up to `~`), else `\DDD` in decimal, like dig.
fn push_escaped(out: &mut String, b: u8, min: u8, quote: bool) {
    if quote {
        out.push('\\');
        out.push(char::from(b));
    } else if (min..0x7f).contains(&b) {
        out.push(char::from(b));
    } else {
        out.push_str(&format!("\\{b:03}"));
    }
}

/// Reads the (possibly compressed) name at `start` (RFC 1035 §4.1.4).
/// Returns its presentation form and the offset just past it in place.
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::with_capacity(64);
    let mut pos = start;
    // Start of the label run being read; pointers must target before it.
    let mut floor = start;
    let mut end = None;
    let mut jumps = 0;
    // Wire length, counting the final root octet.
    let mut wire_len = 1;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                if out.is_empty() {
                    out.push_str("<root>");
                }
                return Ok((out, end.unwrap_or(pos + 1)));
            }
            0x00 => {
                // Top bits 00: the length is 1..=63 by construction.
                let len = usize::from(len);
                wire_len += len + 1;
                if wire_len > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong);
                }
                let label = msg.get(pos + 1..pos + 1 + len).ok_or(DnsError::Truncated)?;
                if !out.is_empty() {
                    out.push('.');
                }
                match std::str::from_utf8(label) {
                    // The common label: printable ASCII, nothing to escape.
                    Ok(plain)
                        if label
                            .iter()
                            .all(|&b| (b'!'..0x7f).contains(&b) && b != b'.' && b != b'\\') =>
                    {
                        out.push_str(plain);
                    }
                    _ => {
                        for &b in label {
                            // Spaces too are escaped in names, as dig does.
                            push_escaped(&mut out, b, b'!', b == b'.' || b == b'\\');
                        }
                    }
                }
                pos += 1 + len;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                let target = usize::from(u16::from_be_bytes([len & 0x3f, lo]));
                end.get_or_insert(pos + 2);
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(DnsError::TooManyPointers);
                }
                if target >= floor {
                    return Err(DnsError::ForwardPointer);
                }
                floor = target;
                pos = target;
            }
            _ => return Err(DnsError::BadLabelType),
        }
    }
}

/// RR type mnemonic (IANA DNS parameters registry), or the number.
pub fn rrtype_name(t: u16) -> String {
    let s = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        10 => "NULL",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        n => return n.to_string(),
    };
    s.to_owned()
}

/// Header RCODE mnemonic (RFC 1035 §4.1.1, RFC 2136 §2.2), or the number.
pub fn rcode_name(rcode: u16) -> String {
    let s = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        n => return n.to_string(),
    };
    s.to_owned()
}
