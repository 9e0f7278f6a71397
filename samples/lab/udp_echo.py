#!/usr/bin/env python3
"""UDP request/response for the Osprey namespace lab (python3 stdlib only).

  udp_echo.py serve ADDR PORT          answer each datagram with b"ECHO " + upper-cased payload
  udp_echo.py send  ADDR PORT MSG...   send each MSG, wait up to 1 s for the answer
                                       (a closed port yields ICMP port unreachable,
                                       reported as "refused", not as an error)
"""

import socket
import sys


def serve(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(b"ECHO " + data.upper(), peer)


def send(addr, port, msgs):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    s.connect((addr, port))
    for m in msgs:
        s.send(m.encode())
        try:
            print(s.recv(2048).decode(errors="replace"))
        except ConnectionRefusedError:
            print(f"{addr}:{port} refused (ICMP port unreachable)")
        except socket.timeout:
            print(f"{addr}:{port} no answer")


if __name__ == "__main__":
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "serve":
        serve(addr, port)
    else:
        send(addr, port, sys.argv[4:])
