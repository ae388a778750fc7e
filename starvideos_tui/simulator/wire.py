"""The HTTP plumbing: a quiet, keep-alive, threaded server that hands each request to an app.

The app (the Simulator) turns a `Request` into an `Answer`; this module only reads bodies,
writes answers in one piece and survives clients that vanish mid-answer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

logger = logging.getLogger(__name__)

# Create bodies are a few hundred bytes; anything far larger is a client bug or an attack.
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # as received, query string included
    headers: dict[str, str]  # lower-case names
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    cut: bool = False  # close the connection without answering at all
    close: bool = False  # answer, then close the connection


def json_answer(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Answer:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Answer(status, body, [("Content-Type", "application/json"), *(headers or [])])


def error_answer(
    status: int, message: str, error_type: str, headers: list[tuple[str, str]] | None = None
) -> Answer:
    return json_answer(status, {"error": {"message": message, "type": error_type}}, headers)


class App(Protocol):
    def answer(self, request: Request) -> Answer: ...

    def record(self, request: Request, received_at: float, status: int | None) -> None: ...

    def now(self) -> float: ...


class _BadBody(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class SimRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StarVideosSimulator/1.0"
    sys_version = ""
    # Headers and body go out in one write, but small answers must not wait for an ACK.
    disable_nagle_algorithm = True
    # An idle keep-alive connection holds a thread; free it eventually.
    timeout = 120
    server: SimHTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the TUI shares the terminal and tests read stderr."""

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        app = self.server.app
        received_at = app.now()
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        request = Request(self.command, self.path, headers, b"")
        try:
            request = Request(self.command, self.path, headers, self._read_body(headers))
            answer = app.answer(request)
        except _BadBody as bad:
            answer = bad.answer
        except (ConnectionError, TimeoutError):
            answer = Answer(0, cut=True)
        except Exception:
            # A simulator bug must look like a server error to the client, not a hang.
            logger.debug("failed to answer %s %s", self.command, self.path, exc_info=True)
            answer = error_answer(500, "simulator internal error", "server_error")
        # Logged before answering: a test reads the log as soon as its answer arrives.
        app.record(request, received_at, None if answer.cut else answer.status)
        if answer.cut:
            self.close_connection = True
            return
        try:
            self._write(answer)
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        raw_length = headers.get("content-length")
        if raw_length is None:
            return b""
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise _BadBody(error_answer(400, "bad Content-Length", "invalid_request_error"))
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise _BadBody(error_answer(413, "request body too large", "invalid_request_error"))
        body = self.rfile.read(length)
        if len(body) < length:
            raise ConnectionResetError("client went away mid-body")
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                raise _BadBody(
                    error_answer(400, "bad chunked encoding", "invalid_request_error")
                ) from None
            if size == 0:
                # Trailers, then the blank line that ends the body.
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                self.close_connection = True
                raise _BadBody(error_answer(413, "request body too large", "invalid_request_error"))
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionResetError("client went away mid-body")
            chunks.append(chunk)
            self.rfile.readline(1024)

    def _write(self, answer: Answer) -> None:
        try:
            phrase = HTTPStatus(answer.status).phrase
        except ValueError:
            phrase = "Unknown"
        if answer.close:
            self.close_connection = True
        lines = [
            f"HTTP/1.1 {answer.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
        ]
        for name, value in answer.headers:
            if name.lower() in ("content-length", "connection"):
                continue  # framing is ours to decide, or keep-alive breaks
            lines.append(f"{name}: {_one_line(value)}")
        lines.append(f"Content-Length: {len(answer.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if self.command == "HEAD" else head + answer.body)


def _one_line(value: str) -> str:
    return value.replace("\r", " ").replace("\n", " ")


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # The benchmark opens up to 2,000 connections at once; the default backlog of 5
    # would turn that into SYN retries and second-long stalls.
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], app: App) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.app = app
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, SimRequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind does a reverse DNS lookup that can stall for seconds.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        """Wake every handler blocked on a keep-alive read so stop() really stops."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: a client hanging up mid-answer is normal, and stderr belongs to the TUI."""
