#!/usr/bin/env python3
"""Tiny HTTP/1.1 app for the Osprey namespace lab (python3 stdlib only).

GET  serves files from --root (index.html, api/status.json; anything else 404)
POST /api/login reads a JSON body and answers 201 with a JSON document.
Keep-alive is on (HTTP/1.1 with Content-Length), so one curl invocation with
two URLs yields two requests on one TCP connection.
"""

import argparse
import functools
import json
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class LabHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "osprey-lab-web/1.0"
    sys_version = ""

    def do_POST(self):  # noqa: N802 (stdlib naming)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            doc = json.loads(raw or b"{}")
        except ValueError:
            self.send_error(400, "bad json")
            return
        if self.path != "/api/login":
            self.send_error(404)
            return
        body = json.dumps({"ok": True, "user": doc.get("user"), "session": 42}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--root", required=True)
    a = ap.parse_args()
    handler = functools.partial(LabHandler, directory=a.root)
    ThreadingHTTPServer((a.bind, a.port), handler).serve_forever()


if __name__ == "__main__":
    main()
