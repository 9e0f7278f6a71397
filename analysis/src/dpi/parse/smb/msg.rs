//! Decoding of single SMB1 / SMB2 messages (header and the few request and
//! response bodies the parser logs). Every accessor is bounds-checked:
//! a field outside the kept bytes reads as `None`.

/// Size of the SMB2 header (MS-SMB2 §2.2.1).
pub const SMB2_HEADER_LEN: usize = 64;
/// Size of the SMB1 header (MS-CIFS §2.2.3.1).
pub const SMB1_HEADER_LEN: usize = 32;
/// Longest name (share, file, user, dialect) kept, in characters.
pub const MAX_NAME_CHARS: usize = 256;
/// Most dialects listed.
pub const MAX_DIALECTS: usize = 32;

/// Little-endian `u16` at `off`.
pub fn le16(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(*b.get(off..)?.first_chunk::<2>()?))
}

/// Little-endian `u32` at `off`.
pub fn le32(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(*b.get(off..)?.first_chunk::<4>()?))
}

/// Little-endian `u64` at `off`.
pub fn le64(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*b.get(off..)?.first_chunk::<8>()?))
}

/// UTF-16LE string of `len` bytes at `off`, capped at [`MAX_NAME_CHARS`].
pub fn utf16(b: &[u8], off: usize, len: usize) -> Option<String> {
    let raw = b.get(off..off.checked_add(len)?)?;
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take(MAX_NAME_CHARS);
    Some(
        char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{fffd}'))
            .collect(),
    )
}

/// 8-bit string of `len` bytes at `off`, capped.
fn oem(b: &[u8], off: usize, len: usize) -> Option<String> {
    let raw = b.get(off..off.checked_add(len)?)?;
    let raw = raw.get(..MAX_NAME_CHARS).unwrap_or(raw);
    Some(String::from_utf8_lossy(raw).into_owned())
}

/// The fixed SMB2 header fields (MS-SMB2 §2.2.1.1 / §2.2.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Smb2Header {
    /// NT status (responses).
    pub status: u32,
    /// Command code.
    pub command: u16,
    /// Credits requested or granted.
    pub credits: u16,
    /// Flags (`0x1` response, `0x2` async).
    pub flags: u32,
    /// Offset of the next compounded message, 0 for the last.
    pub next_command: u32,
    /// Message id.
    pub message_id: u64,
    /// Tree id (sync messages; 0 for async ones).
    pub tree_id: u32,
    /// Session id.
    pub session_id: u64,
}

impl Smb2Header {
    /// Reads the header at the start of `b` (which starts with `FE 'SMB'`).
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < SMB2_HEADER_LEN {
            return None;
        }
        let flags = le32(b, 16)?;
        Some(Smb2Header {
            status: le32(b, 8)?,
            command: le16(b, 12)?,
            credits: le16(b, 14)?,
            flags,
            next_command: le32(b, 20)?,
            message_id: le64(b, 24)?,
            tree_id: if flags & 2 == 0 { le32(b, 36)? } else { 0 },
            session_id: le64(b, 40)?,
        })
    }

    /// A server-to-client message.
    pub fn is_response(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// SMB2 command names as Suricata logs them (MS-SMB2 §2.2.1.2).
pub fn smb2_command_name(cmd: u16) -> Option<&'static str> {
    Some(match cmd {
        0 => "SMB2_COMMAND_NEGOTIATE_PROTOCOL",
        1 => "SMB2_COMMAND_SESSION_SETUP",
        2 => "SMB2_COMMAND_SESSION_LOGOFF",
        3 => "SMB2_COMMAND_TREE_CONNECT",
        4 => "SMB2_COMMAND_TREE_DISCONNECT",
        5 => "SMB2_COMMAND_CREATE",
        6 => "SMB2_COMMAND_CLOSE",
        7 => "SMB2_COMMAND_FLUSH",
        8 => "SMB2_COMMAND_READ",
        9 => "SMB2_COMMAND_WRITE",
        10 => "SMB2_COMMAND_LOCK",
        11 => "SMB2_COMMAND_IOCTL",
        12 => "SMB2_COMMAND_CANCEL",
        13 => "SMB2_COMMAND_KEEPALIVE",
        14 => "SMB2_COMMAND_FIND",
        15 => "SMB2_COMMAND_CHANGE_NOTIFY",
        16 => "SMB2_COMMAND_GET_INFO",
        17 => "SMB2_COMMAND_SET_INFO",
        18 => "SMB2_COMMAND_OPLOCK_BREAK",
        _ => return None,
    })
}

/// SMB1 command names (MS-CIFS §2.2.2.1), the common ones.
pub fn smb1_command_name(cmd: u8) -> Option<&'static str> {
    Some(match cmd {
        0x04 => "SMB1_COMMAND_CLOSE",
        0x06 => "SMB1_COMMAND_DELETE",
        0x24 => "SMB1_COMMAND_LOCKING_ANDX",
        0x25 => "SMB1_COMMAND_TRANS",
        0x2b => "SMB1_COMMAND_ECHO",
        0x2d => "SMB1_COMMAND_OPEN_ANDX",
        0x2e => "SMB1_COMMAND_READ_ANDX",
        0x2f => "SMB1_COMMAND_WRITE_ANDX",
        0x32 => "SMB1_COMMAND_TRANS2",
        0x71 => "SMB1_COMMAND_TREE_DISCONNECT",
        0x72 => "SMB1_COMMAND_NEGOTIATE_PROTOCOL",
        0x73 => "SMB1_COMMAND_SESSION_SETUP_ANDX",
        0x74 => "SMB1_COMMAND_LOGOFF_ANDX",
        0x75 => "SMB1_COMMAND_TREE_CONNECT_ANDX",
        0xa0 => "SMB1_COMMAND_NT_TRANS",
        0xa2 => "SMB1_COMMAND_NT_CREATE_ANDX",
        _ => return None,
    })
}

/// NT status names (MS-ERREF §2.3.1), the ones SMB sessions commonly
/// carry; others are logged by code only.
pub fn status_name(status: u32) -> Option<&'static str> {
    Some(match status {
        0x0000_0000 => "STATUS_SUCCESS",
        0x0000_0103 => "STATUS_PENDING",
        0x0000_010c => "STATUS_NOTIFY_ENUM_DIR",
        0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        0x8000_0006 => "STATUS_NO_MORE_FILES",
        0xc000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        0xc000_000d => "STATUS_INVALID_PARAMETER",
        0xc000_000f => "STATUS_NO_SUCH_FILE",
        0xc000_0011 => "STATUS_END_OF_FILE",
        0xc000_0022 => "STATUS_ACCESS_DENIED",
        0xc000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        0xc000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        0xc000_003a => "STATUS_OBJECT_PATH_NOT_FOUND",
        0xc000_006d => "STATUS_LOGON_FAILURE",
        0xc000_006e => "STATUS_ACCOUNT_RESTRICTION",
        0xc000_0071 => "STATUS_PASSWORD_EXPIRED",
        0xc000_0072 => "STATUS_ACCOUNT_DISABLED",
        0xc000_00bb => "STATUS_NOT_SUPPORTED",
        0xc000_00cc => "STATUS_BAD_NETWORK_NAME",
        0xc000_0120 => "STATUS_CANCELLED",
        0xc000_0128 => "STATUS_FILE_CLOSED",
        0xc000_0203 => "STATUS_USER_SESSION_DELETED",
        0xc000_0234 => "STATUS_ACCOUNT_LOCKED_OUT",
        _ => return None,
    })
}

/// SMB2 dialect revision as Suricata writes it (`2.02`, `3.11`, `2.??`
/// for the wildcard of MS-SMB2 §2.2.4), or the hex code.
pub fn dialect_name(d: u16) -> String {
    match d {
        0x0202 => "2.02".into(),
        0x0210 => "2.10".into(),
        0x0222 => "2.22".into(),
        0x0224 => "2.24".into(),
        0x0300 => "3.00".into(),
        0x0302 => "3.02".into(),
        0x0310 => "3.10".into(),
        0x0311 => "3.11".into(),
        0x02ff => "2.??".into(),
        other => format!("0x{other:04x}"),
    }
}

/// Dialects offered by an SMB2 NEGOTIATE request body (MS-SMB2 §2.2.3).
pub fn negotiate_dialects(body: &[u8]) -> Vec<String> {
    let count = le16(body, 2).map_or(0, usize::from).min(MAX_DIALECTS);
    (0..count)
        .map_while(|i| le16(body, 36 + 2 * i))
        .map(dialect_name)
        .collect()
}

/// NTLMSSP AUTHENTICATE message fields (MS-NLMP §2.2.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ntlmssp {
    /// Domain name.
    pub domain: String,
    /// User name.
    pub user: String,
    /// Workstation name.
    pub host: String,
}

/// Finds an NTLMSSP AUTHENTICATE message (type 3) anywhere in `b` (it
/// sits inside SPNEGO in a session-setup security blob) and reads its
/// names; Unicode unless `NTLMSSP_NEGOTIATE_UNICODE` (0x1) is clear.
pub fn find_ntlmssp_auth(b: &[u8]) -> Option<Ntlmssp> {
    const SIG: &[u8] = b"NTLMSSP\0";
    let mut from = 0;
    loop {
        let at = from + b.get(from..)?.windows(SIG.len()).position(|w| w == SIG)?;
        let m = b.get(at..)?;
        if le32(m, 8) == Some(3) {
            let unicode = le32(m, 60).is_none_or(|f| f & 1 != 0);
            let field = |off: usize| -> Option<String> {
                let len = usize::from(le16(m, off)?);
                let start = usize::try_from(le32(m, off + 4)?).ok()?;
                if unicode {
                    utf16(m, start, len)
                } else {
                    oem(m, start, len)
                }
            };
            return Some(Ntlmssp {
                domain: field(28).unwrap_or_default(),
                user: field(36).unwrap_or_default(),
                host: field(44).unwrap_or_default(),
            });
        }
        from = at + 1;
    }
}

/// The SMB1 dialect strings of a NEGOTIATE request (MS-CIFS §2.2.4.52.1):
/// after the parameter words, `0x02 name NUL` repeated.
pub fn smb1_negotiate_dialects(msg: &[u8]) -> Vec<String> {
    let Some(data) = smb1_data(msg) else {
        return Vec::new();
    };
    data.split(|&b| b == 0)
        .filter_map(|s| s.strip_prefix(&[2u8]))
        .take(MAX_DIALECTS)
        .map(|s| String::from_utf8_lossy(s.get(..MAX_NAME_CHARS).unwrap_or(s)).into_owned())
        .collect()
}

/// The parameter words and data bytes of an SMB1 message.
pub fn smb1_words(msg: &[u8]) -> Option<&[u8]> {
    let wc = usize::from(*msg.get(SMB1_HEADER_LEN)?);
    msg.get(SMB1_HEADER_LEN + 1..SMB1_HEADER_LEN + 1 + 2 * wc)
}

fn smb1_data(msg: &[u8]) -> Option<&[u8]> {
    let wc = usize::from(*msg.get(SMB1_HEADER_LEN)?);
    let at = SMB1_HEADER_LEN + 1 + 2 * wc;
    let bc = usize::from(le16(msg, at)?);
    let data = msg.get(at + 2..)?;
    Some(data.get(..bc).unwrap_or(data))
}
