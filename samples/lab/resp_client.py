#!/usr/bin/env python3
"""Minimal Redis (RESP2) client for the Osprey namespace lab (python3 stdlib only).

  resp_client.py HOST PORT 'CMD ARG...' ['CMD ARG...' ...]

Sends each command as a RESP array on ONE connection and waits for its reply
before the next, as an application's connection pool would.  (redis-cli reading
commands from a pipe first downloads COMMAND DOCS, ~180 kB, which would swamp
the sample.)
"""

import socket
import sys


def encode(cmd):
    parts = cmd.split()
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        b = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Reader:
    def __init__(self, sock):
        self.f = sock.makefile("rb")

    def reply(self):
        line = self.f.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b"-", b":"):
            return line.decode()
        if kind == b"$":
            n = int(rest)
            return "(nil)" if n < 0 else self.f.read(n + 2)[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return "(nil)" if n < 0 else [self.reply() for _ in range(n)]
        raise ValueError(f"bad RESP reply {line!r}")


def main():
    host, port, cmds = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with socket.create_connection((host, port), timeout=5) as s:
        r = Reader(s)
        for c in cmds:
            s.sendall(encode(c))
            print(c, "->", r.reply())


if __name__ == "__main__":
    main()
