"""Talking to the video host: one GET with redirects, proxies, and reads that never block
for long.

The host is fetched with `http.client` (large reads, no copies: see download.py), never with
the API's client, so no header of ours can carry the key to a CDN. A body is read with
`readinto1`: each read returns what has arrived, so progress moves on a link that drips,
and cancelling shuts the socket down, which ends a read at once. A host that sends nothing
for `stall` seconds is a stalled transfer.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
from collections.abc import Callable, Iterator
from functools import partial
from urllib.parse import SplitResult, urljoin

from starvideos_tui.api.network import (
    describe_network_error,
    is_certificate_error,
    proxy_for,
    ssl_context,
)
from starvideos_tui.core.textsafe import excerpt
from starvideos_tui.core.values import http_url

MAX_REDIRECTS = 5
USER_AGENT = "starvideos-tui"


class HostError(Exception):
    """The host cannot be asked at all (a bad URL, too many redirects): not worth a retry."""


class Unreachable(Exception):
    """No answer this time (refused, reset, timed out, TLS): `reason` says which, in words;
    `retry` is false when trying again cannot help (an untrusted certificate)."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


class CancelToken:
    """A cancel flag that also wakes whatever is blocked on a socket: `set` runs the
    callbacks registered with `on_cancel` (shutting sockets down)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def set(self) -> None:
        with self._lock:
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            with contextlib.suppress(OSError):
                callback()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)

    @contextlib.contextmanager
    def on_cancel(self, callback: Callable[[], None]) -> Iterator[None]:
        with self._lock:
            self._callbacks.append(callback)
            already = self._event.is_set()
        if already:
            with contextlib.suppress(OSError):
                callback()
        try:
            yield
        finally:
            with self._lock:
                self._callbacks.remove(callback)


class VideoResponse(http.client.HTTPResponse):
    """An HTTP response whose body can be read into a buffer one arrival at a time."""

    def readinto1(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Read what has arrived (at least a byte, at most len(buffer)) into `buffer`:
        at most one read of the socket, straight into the buffer when it is large."""
        if self.fp is None or not len(buffer):
            return 0
        if self.chunked:
            data = self.read1(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        if self.length is not None:
            if self.length == 0:
                self.close()
                return 0
            buffer = buffer[: self.length]
        n = self.fp.readinto1(buffer)
        if not n:
            self.close()  # the body ended early if `length` is left: the caller counts
        elif self.length is not None:
            self.length -= n
        return n


class _Connection(http.client.HTTPConnection):
    response_class = VideoResponse
    opened: socket.socket | None = None  # kept after close(): the response still reads it

    def connect(self) -> None:
        super().connect()
        self.opened = self.sock


class _TLSConnection(http.client.HTTPSConnection):
    response_class = VideoResponse
    opened: socket.socket | None = None

    def connect(self) -> None:
        super().connect()
        self.opened = self.sock


def checked_url(url: str) -> SplitResult:
    """The parts of an http(s) URL without credentials and with a valid port, or refuse."""
    # Named without user:password or query: those are secrets, and the message is kept.
    shown = re.sub(r"//[^/?#]*@", "//", url).split("?", 1)[0]
    parts = http_url(url)
    if parts is None:
        raise HostError(f"refusing to fetch {excerpt(shown, 80)!r}")
    return parts


def _connect(
    parts: SplitResult, stall: float
) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection to the host (through its proxy, if any), the request target, and the
    headers the proxy needs."""
    host = parts.hostname or ""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = proxy_for(parts.geturl())
    extra: dict[str, str] = {}
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        if proxy is None:
            conn = _TLSConnection(host, parts.port, timeout=stall, context=ssl_context())
        else:
            conn = _TLSConnection(proxy.host, proxy.port, timeout=stall, context=ssl_context())
            tunnel = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else {}
            conn.set_tunnel(host, parts.port or 443, headers=tunnel)
    elif proxy is None:
        conn = _Connection(host, parts.port, timeout=stall)
    else:
        conn = _Connection(proxy.host, proxy.port, timeout=stall)
        target = parts.geturl()  # an http proxy takes the absolute URL
        if proxy.authorization:
            extra["Proxy-Authorization"] = proxy.authorization
    return conn, target, extra


def open_video(
    url: str,
    headers: dict[str, str],
    *,
    stall: float,
    cancel: CancelToken,
    method: str = "GET",
) -> tuple[http.client.HTTPConnection, VideoResponse]:
    """GET `url` (or HEAD it), following at most MAX_REDIRECTS redirects, http(s) only,
    no credentials.

    Raises HostError (do not retry) or Unreachable (no answer this time)."""
    for _ in range(MAX_REDIRECTS + 1):
        parts = checked_url(url)
        conn, target, extra = _connect(parts, stall)
        asked = {
            "User-Agent": USER_AGENT,
            # A compressed body would be a different file from the video; ask for none.
            "Accept-Encoding": "identity",
            **extra,
            **headers,
        }
        try:
            with cancel.on_cancel(partial(shut_down, conn)):
                if cancel.is_set():
                    raise Unreachable("cancelled")
                conn.request(method, target, headers=asked)
                response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            reason = describe_network_error(exc)
            if via := proxy_for(parts.geturl()):
                reason += f" (through the proxy {via.shown})"
            raise Unreachable(reason, retry=not is_certificate_error(exc)) from None
        assert isinstance(response, VideoResponse)
        if response.status not in (301, 302, 303, 307, 308):
            return conn, response
        location = response.getheader("location") or ""
        response.close()
        conn.close()
        url = urljoin(url, location)
    raise Unreachable(f"the host sent more than {MAX_REDIRECTS} redirects", retry=False)


def ask_link(
    url: str, *, stall: float, cancel: CancelToken, method: str = "HEAD", range_: bool = False
) -> tuple[int, dict[str, str]]:
    """HEAD `url` (or GET its first byte, with `range_`): the host's status and headers
    (names in lower case). Raises as open_video does."""
    asked = {"Range": "bytes=0-0"} if range_ else {}
    conn, response = open_video(url, asked, stall=stall, cancel=cancel, method=method)
    try:
        return response.status, {name.lower(): value for name, value in response.getheaders()}
    finally:
        response.close()
        conn.close()


def shut_down(conn: http.client.HTTPConnection) -> None:
    """End every read on `conn` now, from any thread."""
    sock = getattr(conn, "opened", None) or conn.sock
    if sock is not None:
        # socket.socket's own shutdown: an SSLSocket's would drop its TLS state under a
        # read in progress in the other thread.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
