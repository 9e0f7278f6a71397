//! Memcached: a text command line or a binary-protocol header.
//!
//! Text protocol (memcached `protocol.txt`): lowercase, space-separated
//! command lines ending in `\r\n`; keys are 1–250 bytes without control
//! characters or spaces. The whole first line is checked against the
//! command's arguments (`set <key> <flags> <exptime> <bytes> [noreply]`, …),
//! so e.g. an HTTP `GET` (uppercase) or a POP3 `stat` without `\r\n`
//! arguments cannot pass. Binary protocol (memcached wiki
//! "BinaryProtocolRevamped", §3): a 24-byte header, magic 0x80 (request) or
//! 0x81 (response), opcode, key length, extras length, data type 0,
//! vbucket/status, total body length ≥ key + extras; the extras length must
//! be the one the opcode defines.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{be_u16, be_u32, line, u8_at};
use crate::flow::Direction;

/// Memcached descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Memcached,
    ports: &[11211],
    probe,
};

/// Longest key (protocol.txt "Keys").
const MAX_KEY: usize = 250;
/// Longest first line looked at.
const MAX_LINE: usize = 300;
/// Largest binary body accepted in an opening (the default item size
/// limit is 1 MiB).
const MAX_BODY: u32 = 2 * 1024 * 1024;

/// Argument kinds of text commands.
#[derive(Clone, Copy)]
enum Arg {
    Key,
    Num,
}
use Arg::{Key, Num};

/// Text commands: name, required arguments, whether more keys may follow,
/// optional trailing arguments allowed.
const TEXT: &[(&[u8], &[Arg], bool, usize)] = &[
    (b"get", &[Key], true, 0),
    (b"gets", &[Key], true, 0),
    (b"set", &[Key, Num, Num, Num], false, 1),
    (b"add", &[Key, Num, Num, Num], false, 1),
    (b"replace", &[Key, Num, Num, Num], false, 1),
    (b"append", &[Key, Num, Num, Num], false, 1),
    (b"prepend", &[Key, Num, Num, Num], false, 1),
    (b"cas", &[Key, Num, Num, Num, Num], false, 1),
    (b"delete", &[Key], false, 2),
    (b"incr", &[Key, Num], false, 1),
    (b"decr", &[Key, Num], false, 1),
    (b"touch", &[Key, Num], false, 1),
    (b"stats", &[], false, 2),
    (b"version", &[], false, 0),
    (b"flush_all", &[], false, 2),
    (b"verbosity", &[Num], false, 1),
];

fn probe(_dir: Direction, data: &[u8]) -> Probe {
    match u8_at(data, 0) {
        None => Probe::NeedMore,
        Some(0x80) => probe_binary(data, false),
        Some(0x81) => probe_binary(data, true),
        Some(b'a'..=b'z') => probe_text(data),
        Some(_) => Probe::NotMine,
    }
}

fn probe_text(data: &[u8]) -> Probe {
    let Some((text, _)) = line(data) else {
        let name = data
            .split(|&b| b == b' ' || b == b'\r')
            .next()
            .unwrap_or_default();
        let known = if name.len() < data.len() {
            TEXT.iter().any(|(n, ..)| *n == name)
        } else {
            TEXT.iter().any(|(n, ..)| n.starts_with(name))
        };
        let clean = data
            .iter()
            .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\r');
        return if known && clean && data.len() < MAX_LINE {
            Probe::NeedMore
        } else {
            Probe::NotMine
        };
    };
    // protocol.txt: lines end in "\r\n".
    let crlf = data.get(text.len()) == Some(&b'\r');
    let mut words = text.split(|&b| b == b' ');
    let name = words.next().unwrap_or_default();
    let Some(&(_, args, more_keys, optional)) = TEXT.iter().find(|(n, ..)| *n == name) else {
        return Probe::NotMine;
    };
    let mut count = 0usize;
    let mut extra = 0usize;
    for word in words {
        let ok = match args.get(count) {
            Some(Key) => is_key(word),
            Some(Num) => {
                !word.is_empty() && word.len() <= 20 && word.iter().all(u8::is_ascii_digit)
            }
            None if more_keys && !args.is_empty() => is_key(word),
            None => {
                extra += 1;
                !word.is_empty() && word.iter().all(|&b| b.is_ascii_graphic())
            }
        };
        if !ok {
            return Probe::NotMine;
        }
        count += 1;
    }
    if crlf && count >= args.len() && extra <= optional {
        Probe::Match
    } else {
        Probe::NotMine
    }
}

fn is_key(word: &[u8]) -> bool {
    !word.is_empty() && word.len() <= MAX_KEY && word.iter().all(|&b| b.is_ascii_graphic())
}

/// Binary header: magic(1) opcode(1) key_len(2) extras_len(1) data_type(1)
/// vbucket|status(2) body_len(4) opaque(4) cas(8).
fn probe_binary(data: &[u8], response: bool) -> Probe {
    let (Some(opcode), Some(key_len), Some(extras), Some(data_type)) = (
        u8_at(data, 1),
        be_u16(data, 2),
        u8_at(data, 4),
        u8_at(data, 5),
    ) else {
        return match u8_at(data, 1) {
            Some(op) if opcode_extras(op, response).is_none() => Probe::NotMine,
            _ => Probe::NeedMore,
        };
    };
    let Some((want_extras, needs_key)) = opcode_extras(opcode, response) else {
        return Probe::NotMine;
    };
    let key_ok = usize::from(key_len) <= MAX_KEY && (!needs_key || key_len > 0);
    if data_type != 0 || !want_extras.contains(&extras) || !key_ok {
        return Probe::NotMine;
    }
    if response {
        match be_u16(data, 6) {
            None => return Probe::NeedMore,
            Some(0x0000..=0x0008 | 0x0020 | 0x0021 | 0x0081..=0x0086) => {}
            Some(_) => return Probe::NotMine,
        }
    }
    let Some(body) = be_u32(data, 8) else {
        return Probe::NeedMore;
    };
    if body < u32::from(key_len) + u32::from(extras) || body > MAX_BODY {
        return Probe::NotMine;
    }
    if data.len() < 24 {
        Probe::NeedMore
    } else {
        Probe::Match
    }
}

/// Allowed extras lengths and whether a key is required, per opcode.
fn opcode_extras(opcode: u8, response: bool) -> Option<(&'static [u8], bool)> {
    let req = !response;
    Some(match opcode {
        // GET, GETQ, GETK, GETKQ: response extras are the 4-byte flags
        // (absent on a miss).
        0x00 | 0x09 | 0x0c | 0x0d => (if response { &[0, 4] } else { &[0] }, req),
        // SET, ADD, REPLACE.
        0x01..=0x03 => (if response { &[0] } else { &[8] }, req),
        // DELETE.
        0x04 => (&[0], req),
        // INCREMENT, DECREMENT.
        0x05 | 0x06 => (if response { &[0] } else { &[20] }, req),
        // QUIT, NOOP, VERSION, SASL list mechanisms.
        0x07 | 0x0a | 0x0b | 0x20 => (&[0], false),
        // FLUSH.
        0x08 => (&[0, 4], false),
        // STAT.
        0x10 => (&[0], false),
        // SASL auth.
        0x21 => (&[0], req),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    /// Binary GET "Hello" (protocol wiki example).
    const BIN_GET: &[u8] = b"\x80\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x05\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00Hello";
    /// Its response: flags 0xdeadbeef, value "World".
    const BIN_GET_RESP: &[u8] = b"\x81\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x09\
      \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\xde\xad\xbe\xefWorld";

    #[test]
    fn commands_match() {
        assert_valid(probe, Direction::ToServer, b"get foo\r\n");
        assert_valid(probe, Direction::ToServer, b"gets a b c\r\n");
        assert_valid(probe, Direction::ToServer, b"set foo 0 3600 3\r\nbar\r\n");
        assert_valid(
            probe,
            Direction::ToServer,
            b"set foo 0 0 3 noreply\r\nbar\r\n",
        );
        assert_valid(probe, Direction::ToServer, b"stats\r\n");
        assert_valid(probe, Direction::ToServer, b"stats slabs\r\n");
        assert_valid(probe, Direction::ToServer, b"version\r\n");
        assert_valid(probe, Direction::ToServer, b"incr n 1\r\n");
        assert_valid(probe, Direction::ToServer, BIN_GET);
        assert_valid(probe, Direction::ToClient, BIN_GET_RESP);
    }

    #[test]
    fn near_misses() {
        for bytes in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"get\r\n",
            b"get foo\n",
            b"set foo x 0 3\r\n",
            b"set foo 0 0\r\n",
            b"set foo 0 0 3 noreply extra\r\n",
            b"version 1\r\n",
            b"getx foo\r\n",
            b"stat\r\n",
            b"user anonymous\r\n",
            // SET without its 8 bytes of extras, data type set, unknown
            // opcode, body shorter than the key.
            b"\x80\x01\x00\x03\x00\x00\x00\x00\x00\x00\x00\x03",
            b"\x80\x00\x00\x05\x00\x01\x00\x00\x00\x00\x00\x05",
            b"\x80\x55\x00\x05\x00\x00\x00\x00\x00\x00\x00\x05",
            b"\x80\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x04",
            // SSLv2 ClientHello.
            b"\x80\x22\x01\x03\x01\x00\x09\x00\x00\x00\x10",
        ] {
            assert_not_mine(probe, Direction::ToServer, bytes);
        }
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
