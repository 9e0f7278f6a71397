//! Redis: a RESP command from the client, or a few replies only Redis
//! sends.
//!
//! RESP ("Redis serialization protocol specification"): clients send a
//! command as an array of bulk strings, `*<n>\r\n$<len>\r\n<name>\r\n…`;
//! the command name is matched against the commands clients open with
//! (case-insensitive, as Redis does). Inline commands are accepted only
//! for `PING` and `INFO` on a line of their own: other inline openings
//! (`AUTH`, `QUIT`, …) are shared with POP3/IMAP/FTP. From the server,
//! `+PONG`, `-NOAUTH` and `-WRONGPASS` are decisive.

use super::super::{AppProto, Descriptor, Probe};
use super::wire::{any_of, literal, literal_ci};
use crate::flow::Direction;

/// Redis descriptor.
pub(super) const DESCRIPTOR: Descriptor = Descriptor {
    app: AppProto::Redis,
    ports: &[6379, 6380, 26379],
    probe,
};

/// Commands a client plausibly opens with (and the common data commands
/// of clients that skip the handshake).
const COMMANDS: &[&[u8]] = &[
    b"PING",
    b"AUTH",
    b"HELLO",
    b"INFO",
    b"SELECT",
    b"CLIENT",
    b"COMMAND",
    b"CONFIG",
    b"CLUSTER",
    b"GET",
    b"SET",
    b"SETEX",
    b"SETNX",
    b"MGET",
    b"MSET",
    b"DEL",
    b"UNLINK",
    b"EXISTS",
    b"EXPIRE",
    b"TTL",
    b"INCR",
    b"INCRBY",
    b"DECR",
    b"KEYS",
    b"SCAN",
    b"TYPE",
    b"HGET",
    b"HSET",
    b"HMSET",
    b"HMGET",
    b"HGETALL",
    b"HDEL",
    b"LPUSH",
    b"RPUSH",
    b"LPOP",
    b"RPOP",
    b"LRANGE",
    b"LLEN",
    b"BLPOP",
    b"BRPOP",
    b"SADD",
    b"SREM",
    b"SMEMBERS",
    b"ZADD",
    b"ZRANGE",
    b"ZREM",
    b"ZRANGEBYSCORE",
    b"SUBSCRIBE",
    b"PSUBSCRIBE",
    b"PUBLISH",
    b"MULTI",
    b"EXEC",
    b"WATCH",
    b"EVAL",
    b"EVALSHA",
    b"SCRIPT",
    b"FLUSHALL",
    b"FLUSHDB",
    b"DBSIZE",
    b"ECHO",
    b"QUIT",
    b"XADD",
    b"XREAD",
    b"XREADGROUP",
    b"REPLCONF",
    b"PSYNC",
    b"SYNC",
    b"MONITOR",
    b"READONLY",
];
/// Longest command name above.
const MAX_COMMAND: usize = 16;

fn probe(dir: Direction, data: &[u8]) -> Probe {
    match dir {
        Direction::ToServer => any_of(probe_array(data), probe_inline(data)),
        // Replies only Redis sends, whatever the client asked: the
        // handshake answers and the server's own wording of command errors.
        Direction::ToClient => [
            &b"+PONG\r\n"[..],
            b"-NOAUTH ",
            b"-WRONGPASS ",
            b"-ERR unknown command '",
            b"-ERR wrong number of arguments for '",
        ]
        .iter()
        .map(|lit| literal(data, lit))
        .fold(Probe::NotMine, any_of),
    }
}

/// `PING\r\n` / `INFO\r\n` (optionally `\n` only).
fn probe_inline(data: &[u8]) -> Probe {
    [&b"PING\r\n"[..], b"PING\n", b"INFO\r\n", b"INFO\n"]
        .iter()
        .map(|lit| literal_ci(data, lit))
        .fold(Probe::NotMine, any_of)
}

/// Reads `<prefix><decimal>\r\n` at the start of `data`: the number and
/// the rest, or the verdict when it is cut short or malformed.
fn header(data: &[u8], prefix: u8, max: u32) -> Result<(u32, &[u8]), Probe> {
    match data.first() {
        None => return Err(Probe::NeedMore),
        Some(&b) if b == prefix => {}
        Some(_) => return Err(Probe::NotMine),
    }
    let mut n: u32 = 0;
    for (i, &b) in data.iter().enumerate().skip(1) {
        match b {
            b'0'..=b'9' if i <= 10 => {
                n = n.saturating_mul(10).saturating_add(u32::from(b - b'0'));
                if n > max {
                    return Err(Probe::NotMine);
                }
            }
            b'\r' if i > 1 => {
                return match data.get(i + 1) {
                    None => Err(Probe::NeedMore),
                    Some(b'\n') => Ok((n, data.get(i + 2..).unwrap_or_default())),
                    Some(_) => Err(Probe::NotMine),
                };
            }
            _ => return Err(Probe::NotMine),
        }
    }
    Err(Probe::NeedMore)
}

/// `*<n>\r\n$<len>\r\n<COMMAND>\r\n`.
fn probe_array(data: &[u8]) -> Probe {
    let rest = match header(data, b'*', 1_000_000) {
        Ok((n, rest)) if n >= 1 => rest,
        Ok(_) => return Probe::NotMine,
        Err(p) => return p,
    };
    let (len, rest) = match header(rest, b'$', 64) {
        Ok((len, rest))
            if len >= 1 && usize::try_from(len).unwrap_or(usize::MAX) <= MAX_COMMAND =>
        {
            (usize::try_from(len).unwrap_or_default(), rest)
        }
        Ok(_) => return Probe::NotMine,
        Err(p) => return p,
    };
    let name = rest.get(..len.min(rest.len())).unwrap_or_default();
    let known =
        |c: &&[u8]| c.len() == len && c.iter().zip(name).all(|(a, b)| a.eq_ignore_ascii_case(b));
    if !COMMANDS.iter().any(known) {
        return Probe::NotMine;
    }
    if name.len() < len {
        return Probe::NeedMore;
    }
    literal(rest.get(len..).unwrap_or_default(), b"\r\n")
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{assert_no_panic, assert_not_mine, assert_valid};
    use super::*;

    #[test]
    fn commands_match() {
        assert_valid(probe, Direction::ToServer, b"*1\r\n$7\r\nCOMMAND\r\n");
        assert_valid(
            probe,
            Direction::ToServer,
            b"*3\r\n$3\r\nSET\r\n$4\r\ntest\r\n$2\r\nhi\r\n",
        );
        assert_valid(
            probe,
            Direction::ToServer,
            b"*2\r\n$4\r\nauth\r\n$3\r\npwd\r\n",
        );
        assert_valid(probe, Direction::ToServer, b"PING\r\n");
        assert_valid(probe, Direction::ToServer, b"info\n");
        assert_valid(probe, Direction::ToClient, b"+PONG\r\n");
        assert_valid(
            probe,
            Direction::ToClient,
            b"-NOAUTH Authentication required.\r\n",
        );
        // redis-server 7 answering an unknown command (samples/lab-basic.pcap).
        assert_valid(
            probe,
            Direction::ToClient,
            b"-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n",
        );
    }

    #[test]
    fn near_misses() {
        for bytes in [
            &b"*1\r\n$7\r\nCOMMANX\r\n"[..],
            b"*0\r\n",
            b"*1\r\n$0\r\n\r\n",
            b"*1\r\n$99\r\n",
            b"*1\r\n$3\r\nGETX",
            b"*1\n$3\r\nGET\r\n",
            b"*x\r\n",
            b"*\r\n",
            b"AUTH PLAIN\r\n",
            b"PINGS\r\n",
            b"+OK\r\n",
            b"-ERR unknown\r\n",
            b"GET / HTTP/1.1\r\n",
        ] {
            assert_not_mine(probe, Direction::ToServer, bytes);
        }
        assert_not_mine(probe, Direction::ToClient, b"+OK POP3 ready\r\n");
        assert_not_mine(probe, Direction::ToClient, b"-ERR x\r\n");
        assert_not_mine(probe, Direction::ToClient, b"-ERR Unknown command\r\n");
    }

    #[test]
    fn never_panics() {
        assert_no_panic(probe);
    }
}
