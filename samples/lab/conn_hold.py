#!/usr/bin/env python3
"""Open N TCP connections to HOST:PORT and hold them for SECONDS (stdlib only).

  conn_hold.py HOST PORT N SECONDS

Used for the session_limit scenario: many concurrent, idle sessions from one
source. Connections that fail are counted, not retried.
"""

import socket
import sys
import time

host, port, n, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks, failed = [], 0
for _ in range(n):
    try:
        socks.append(socket.create_connection((host, port), timeout=2))
    except OSError:
        failed += 1
time.sleep(secs)
for s in socks:
    s.close()
print("opened %d failed %d" % (len(socks), failed))
