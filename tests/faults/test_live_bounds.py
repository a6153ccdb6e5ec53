"""Live mode against a hostile server on 127.0.0.1: every download is bounded and every failure is one line naming
source and URL, with nothing partial kept (no landed file, no scratch copy, nothing under `.rejected/`).

Cases: an endless body (size cap per source), a body announced larger than the cap, a 1-byte-per-second trickle
(overall deadline despite a per-read timeout it never trips), a redirect loop, a broken gzip body (blamed on the
server, not the file), HTTP 304 to a request that sent no validators (no earlier vintage).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines import fetch
from pipelines.sources import RAW_TABLES_BY_NAME

BASES = RAW_TABLES_BY_NAME["us_bases"]


class Hostile(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        path = self.path
        try:
            if path == "/endless":
                self.send_response(200)
                self.end_headers()
                chunk = b"country,site\n" * 5000
                while True:
                    self.wfile.write(chunk)
            elif path == "/announced-huge":
                self.send_response(200)
                self.send_header("Content-Length", str(10**12))
                self.end_headers()
                self.wfile.write(b"x" * 1000)
            elif path == "/trickle":
                self.send_response(200)
                self.end_headers()
                for _ in range(600):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.5)
            elif path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/badgzip":
                body = b"\x1f\x8b\x08\x00 this is not a gzip stream at all" * 10
                self.send_response(200)
                self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path == "/not-modified":
                self.send_response(304)
                self.end_headers()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: that is the point


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


CASES = [
    (
        "endless_body_hits_the_size_cap",
        "/endless",
        {"HPW_US_BASES_MAX_BYTES": "1000000"},
        ["more than the 1,000,000-byte cap", "nothing was kept", "HPW_US_BASES_MAX_BYTES"],
    ),
    (
        "announced_size_over_the_cap",
        "/announced-huge",
        {"HPW_FETCH_MAX_BYTES": "5000000"},
        ["announces 1,000,000,000,000 bytes", "5,000,000-byte cap"],
    ),
    (
        "trickle_hits_the_overall_deadline",
        "/trickle",
        {"HPW_FETCH_DEADLINE": "2", "HPW_FETCH_TIMEOUT": "5"},
        ["did not finish within the 2-s deadline", "HPW_FETCH_DEADLINE"],
    ),
    ("redirect_loop", "/loop", {}, ["redirects in a loop", "nothing was downloaded"]),
    (
        "broken_gzip_body",
        "/badgzip",
        {},
        ["cannot be decoded as its Content-Encoding", "the server's fault, not the file's"],
    ),
    (
        "not_modified_without_an_earlier_vintage",
        "/not-modified",
        {},
        ["answered 304 Not Modified", "no earlier vintage of this file is landed"],
    ),
]


@pytest.mark.parametrize("path, env, fragments", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_hostile_download_ends_in_one_clear_line_and_keeps_nothing(server, tmp_path, monkeypatch, path, env, fragments):
    monkeypatch.setenv("HPW_FETCH_ATTEMPTS", "2")
    monkeypatch.setenv("HPW_FETCH_BACKOFF", "0.01")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    url = server + path
    with pytest.raises(fetch.FetchError) as caught:
        fetch.fetch_live(BASES, url, tmp_path)
    message = str(caught.value)
    assert message.startswith("[us_bases] us_bases: ") and url in message, message
    assert all(f in message for f in fragments), message
    assert "\n" not in message and len(message) < 500
    landing = tmp_path / "landing" / BASES.fetch_key
    assert [p for p in landing.rglob("*") if p.is_file()] == []  # no landed file, no scratch copy
    logged = fetch.read_log(tmp_path)
    assert logged.height == 1 and logged["outcome"][0] == "failed" and logged["error"][0] == message
