#!/usr/bin/env python3
"""Minimal FTP control-channel server for the Osprey attack lab (stdlib only).

Speaks just enough RFC 959 for logins: 220 greeting, USER -> 331, PASS -> 230
for the one configured user/password or 530, SYST, PWD, QUIT; else 502.
  ftp_stub.py BIND PORT USER PASSWORD
"""

import socketserver
import sys

BIND, PORT, USER, PASSWORD = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]


class Ftp(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.send("220 osprey-lab FTP ready")
        user = None
        for raw in self.rfile:
            cmd, _, arg = raw.decode("latin-1").strip().partition(" ")
            cmd = cmd.upper()
            if cmd == "USER":
                user = arg
                self.send("331 Password required for %s" % arg)
            elif cmd == "PASS":
                if user == USER and arg == PASSWORD:
                    self.send("230 User %s logged in" % user)
                else:
                    self.send("530 Login incorrect")
            elif cmd == "SYST":
                self.send("215 UNIX Type: L8")
            elif cmd == "PWD":
                self.send('257 "/" is the current directory')
            elif cmd == "QUIT":
                self.send("221 Goodbye")
                return
            else:
                self.send("502 Command not implemented")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server((BIND, PORT), Ftp).serve_forever()
