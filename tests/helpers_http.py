"""A scripted HTTP server on 127.0.0.1 for the download tests: hosts that cut, lie, drip,
stall or redirect, answering each request as the test's `respond(number, seen)` says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from starvideos_tui.video.download import CancelToken


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]  # lower-case names
    method: str = "GET"


@dataclass
class Reply:
    status: int
    body: bytes = b""  # what is actually sent before the connection closes
    headers: dict[str, str] = field(default_factory=dict)  # Content-Length defaults to len(body)
    pace: float = 0.0  # seconds between pieces of the body: a slow link
    piece: int = 64 * 1024  # bytes per piece when paced
    length: bool = True  # False: no Content-Length, the body ends when the connection does
    hold: float = 0.0  # seconds to keep the connection open, silent, after the body: a stall


Respond = Callable[[int, Seen], Reply]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedHTTPServer

    def do_GET(self) -> None:
        seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, self.command)
        with self.server.lock:
            self.server.seen.append(seen)
            number = len(self.server.seen) - 1
        reply = self.server.respond(number, seen)
        self.send_response(reply.status)
        headers = {"Content-Length": str(len(reply.body))} if reply.length else {}
        headers.update(reply.headers)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        step = reply.piece if reply.pace else len(reply.body) or 1
        for start in range(0, len(reply.body), step):
            try:
                self.wfile.write(reply.body[start : start + step])
                self.wfile.flush()
            except ConnectionError:  # the client is gone (killed, in one test)
                break
            if reply.pace:
                time.sleep(reply.pace)
        if reply.hold:
            time.sleep(reply.hold)
        self.close_connection = True  # a short body ends with the connection: a cut

    do_HEAD = do_GET

    def log_message(self, *args: Any) -> None:
        pass


class ScriptedHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a pass's burst of connections,
    # and a dropped SYN is retried after 1 s: a delay that is the harness's, not ours.
    request_queue_size = 128

    def __init__(self, respond: Respond) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.scheme = "http"

    def url(self, path: str = "/video.mp4") -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_port}{path}"


def ranged(data: bytes, etag: str, seen: Seen) -> Reply:
    """What an honest CDN answers: 206 from the asked offset when If-Range still matches."""
    common = {"ETag": etag, "Accept-Ranges": "bytes", "Content-Type": "video/mp4"}
    asked = seen.headers.get("range", "")
    if_range = seen.headers.get("if-range")
    if asked.startswith("bytes=") and asked.endswith("-") and if_range in (None, etag):
        start = int(asked[len("bytes=") : -1])
        return Reply(
            206,
            data[start:],
            {**common, "Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"},
        )
    return Reply(200, data, common)


def leave_part(final: Path, data: bytes, etag: str | None) -> None:
    """What a previous process killed mid-download leaves beside the final name."""
    final.parent.mkdir(parents=True, exist_ok=True)
    final.with_name(final.name + ".part").write_bytes(data)
    final.with_name(final.name + ".part.json").write_text(json.dumps({"etag": etag}))


# -- a forward proxy on 127.0.0.1 -------------------------------------------------------------


class ProxyServer(ThreadingHTTPServer):
    """A small HTTP forward proxy: absolute-form GETs for http URLs and CONNECT tunnels for
    https ones, as corporate proxies do. `seen` records each request line and its
    Proxy-Authorization; with `password` set it answers 407 to anything else."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, password: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.password = password
        self.seen: list[tuple[str, str, str | None]] = []  # method, target, authorization
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ProxyServer

    def _allowed(self) -> bool:
        authorization = self.headers.get("Proxy-Authorization")
        with self.server.lock:
            self.server.seen.append((self.command, self.path, authorization))
        if self.server.password is None:
            return True
        import base64

        wanted = "Basic " + base64.b64encode(f"user:{self.server.password}".encode()).decode()
        if authorization == wanted:
            return True
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="test"')
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        return False

    def do_CONNECT(self) -> None:
        import select
        import socket

        if not self._allowed():
            return
        host, _, port = self.path.rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        self.send_response(200, "Connection established")
        self.end_headers()
        client = self.connection
        try:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 10)
                if not ready:
                    break
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        finally:
            upstream.close()
            self.close_connection = True

    def _forward(self) -> None:
        import http.client
        from urllib.parse import urlsplit

        if not self._allowed():
            return
        parts = urlsplit(self.path)
        if parts.scheme != "http":
            self.send_error(400, "absolute http URL expected")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ("proxy-authorization",)
        }
        conn = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(self.command, target or "/", body=body, headers=headers)
        answer = conn.getresponse()
        data = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        conn.close()

    do_GET = do_POST = do_HEAD = _forward

    def log_message(self, *args: Any) -> None:
        pass


def start_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    return thread


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key, made by openssl."""
    import subprocess

    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def serve_tls(server: ScriptedHTTPServer, cert: Path, key: Path) -> None:
    """Make `server` speak TLS with `cert` (call before starting it)."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.scheme = "https"


class NoWait(CancelToken):
    """A cancel token whose waits between a download's retries return at once."""

    def wait(self, timeout: float | None = None) -> bool:
        return self.is_set()
