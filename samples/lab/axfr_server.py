#!/usr/bin/env python3
"""Authoritative DNS-over-TCP server that allows zone transfers (stdlib only).

  axfr_server.py BIND ZONE

Answers AXFR for ZONE with one message: SOA, NS, MX, a few A and TXT records,
SOA again (RFC 5936 section 2.2). Any other query gets REFUSED. TCP only; it
exists so the attack lab can record a transfer that succeeds (dnsmasq
does not do AXFR).
"""

import socket
import socketserver
import struct
import sys

BIND, ZONE = sys.argv[1], sys.argv[2].rstrip(".")
T_A, T_NS, T_SOA, T_MX, T_TXT, T_AXFR = 1, 2, 6, 15, 16, 252


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"


def rr(owner, rtype, rdata, ttl=300):
    return name(owner) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def records():
    soa = name("ns1." + ZONE) + name("hostmaster." + ZONE) + struct.pack("!IIIII", 2026112801, 3600, 600, 86400, 300)
    out = [rr(ZONE, T_SOA, soa), rr(ZONE, T_NS, name("ns1." + ZONE)),
           rr(ZONE, T_MX, struct.pack("!H", 10) + name("mail." + ZONE))]
    for host, ip in (("ns1", "10.244.0.4"), ("www", "10.244.0.10"), ("mail", "10.244.0.10"),
                     ("db-internal", "10.244.0.20"), ("vpn", "10.244.0.40"), ("jenkins", "10.244.0.50")):
        out.append(rr(host + "." + ZONE, T_A, socket.inet_aton(ip)))
    txt = b"internal build secrets live on jenkins"
    out.append(rr("notes." + ZONE, T_TXT, bytes([len(txt)]) + txt))
    out.append(out[0])
    return out


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        hdr = self.request.recv(2)
        if len(hdr) < 2:
            return
        (n,) = struct.unpack("!H", hdr)
        q = b""
        while len(q) < n:
            chunk = self.request.recv(n - len(q))
            if not chunk:
                return
            q += chunk
        qid = q[:2]
        end = 12
        while end < len(q) and q[end] != 0:
            end += q[end] + 1
        qname = q[12:end + 1]
        qtype = struct.unpack("!H", q[end + 1:end + 3])[0]
        question = q[12:end + 5]
        asked = ".".join(p.decode() for p in _labels(qname)).lower()
        if qtype == T_AXFR and asked == ZONE.lower():
            ans = records()
            msg = qid + struct.pack("!HHHHH", 0x8400, 1, len(ans), 0, 0) + question + b"".join(ans)
        else:
            msg = qid + struct.pack("!HHHHH", 0x8005, 1, 0, 0, 0) + question
        self.request.sendall(struct.pack("!H", len(msg)) + msg)


def _labels(raw):
    i = 0
    while i < len(raw) and raw[i]:
        yield raw[i + 1:i + 1 + raw[i]]
        i += raw[i] + 1


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server((BIND, 53), Handler).serve_forever()
