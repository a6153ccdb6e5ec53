"""A real HTTP server on 127.0.0.1 serving the bundled snapshot files at paths shaped like the publishers' URLs.

`HPW_LIVE_BASE_URL=<server.base_url>` rewrites scheme and host of every live address, so the production
download code runs unchanged against it. Behaviour per path can be scripted: a queue of status codes to
answer first (e.g. 503, 503, then the file), a delay (timeouts), or replaced content (a new upstream vintage).
Responses carry an ETag (sha256 of the body) and a Last-Modified, and honour If-None-Match with 304.
"""

from __future__ import annotations

import hashlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from pipelines.sources import RAW_TABLES


class LiveServer:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.last_modified: dict[str, str] = {}
        self.script: dict[str, list[int]] = {}
        self.delay: dict[str, float] = {}
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers)
        for table in RAW_TABLES:
            if table.live_url:
                self.set_file(urlsplit(table.live_url).path, table.bundled_path.read_bytes())
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _answer(self, with_body: bool):
                path = urlsplit(self.path).path
                if self.path in server.files:  # a file registered with its query (per-country slices of one path)
                    path = self.path
                server.requests.append((self.command, path, dict(self.headers)))
                if server.delay.get(path):
                    time.sleep(server.delay[path])
                queue = server.script.get(path)
                if queue:
                    status = queue.pop(0)
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = server.files.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", server.last_modified[path])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def do_GET(self):
                self._answer(with_body=True)

            def do_HEAD(self):
                self._answer(with_body=False)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def set_file(self, path: str, body: bytes, last_modified: str = "Mon, 03 Nov 2025 10:00:00 GMT") -> None:
        self.files[path] = body
        self.last_modified[path] = last_modified

    def gets(self, path: str) -> list[dict]:
        return [headers for method, p, headers in self.requests if method == "GET" and p == path]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
