#!/usr/bin/env python3
"""Deliberately vulnerable HTTP app for the Osprey attack lab (python3 stdlib only).

  GET  /item?id=N      sqlite3 query built by string concatenation (SQL injection)
  GET  /search?q=TEXT  reflects q into the HTML page unescaped (XSS)
  POST /form, /order   echoes the url-encoded or text body back in the response
  anything else        200 with a short page (so scanners get answers)

Binds only to the address given; the lab has no route out.
"""

import argparse
import sqlite3
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB = sqlite3.connect(":memory:", check_same_thread=False)
DB.executescript(
    "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, price REAL);"
    "INSERT INTO items VALUES (1,'widget',9.5),(2,'gadget',12.0),(3,'gizmo',3.25);"
)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "osprey-vulnapp/1.0"
    sys_version = ""

    def reply(self, code, body, ctype="text/html; charset=utf-8"):
        data = body.encode("utf-8", "replace")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        qs = urllib.parse.parse_qs(url.query)
        if url.path == "/item":
            sql = "SELECT id, name, price FROM items WHERE id=" + qs.get("id", ["1"])[0]
            try:
                rows = DB.execute(sql).fetchall()
            except sqlite3.Error as e:
                self.reply(500, "<p>db error: %s</p>" % e)
                return
            self.reply(200, "".join("<p>%s %s %s</p>" % r for r in rows) or "<p>none</p>")
        elif url.path == "/search":
            self.reply(200, "<p>results for %s</p>" % qs.get("q", [""])[0])
        else:
            self.reply(200, "<p>osprey vulnapp %s</p>" % url.path)

    def do_POST(self):  # noqa: N802
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        self.reply(200, "received:\n" + body + "\n", "text/plain; charset=utf-8")

    def log_message(self, fmt, *args):
        print(fmt % args, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=8080)
    a = ap.parse_args()
    ThreadingHTTPServer((a.bind, a.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
