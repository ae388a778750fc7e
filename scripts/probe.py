#!/usr/bin/env python3
"""An outside probe of issue #23's classes: hostile servers of its own, the CLI as a user runs it.

    python scripts/probe.py [--cli PATH-TO-starvideos-tui] [--only CLASS[,CLASS]] [--keep]

It imports nothing of starvideos_tui: it drives the installed `starvideos-tui` console script
as subprocesses (each in its own session, killed as a group whatever happens, each with a
timeout) against servers it starts on loopback from raw sockets: a hostile API, a hostile
video host, and a third host that only records what reaches it. Every child gets a private
home (STARVIDEOS_HOME), its own watchlist (STARVIDEOS_DB) and download folder, and a canary
key in STARVIDEOS_API_KEY. One line per attack (PASS/FAIL, class, what, evidence), a count
per class, "N attacks, M failed"; exit 1 if any failed. See docs/probe.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import email.utils
import fcntl
import http
import json
import os
import pty
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import traceback
import unicodedata
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

KEY = "sk-probe-canary-" + secrets.token_hex(12)
RSS_LIMIT_MB = 100  # the bound on peak memory
RSS_KILL_MB = 350  # the probe ends a child that grows past this (it protects the machine)
ROOT: Path  # the probe's temporary folder, set in main()
CLI = "starvideos-tui"
SURR = "\ud83d"  # a lone surrogate: JSON can carry it ("\ud83d"), UTF-8 cannot
TRACEBACK = "Traceback (most recent call last)"

# A real 2-second, 16x16 MPEG-4 video (1,335 bytes), so a download can end "saved".
TINY_MP4 = zlib.decompress(
    base64.b64decode(
        "eNp9lM1rE0EUwN8m6acVskmaxpJi7FbqIY0mhOAxFcEUFb1UUIS6yWxs6G4TdqcBvSSiQj0o4qVHhV4UEaLignhp"
        "1h5EUDybgwcvehD8C6xvNgl9ibZDXt7Mb968r5kEAKJFfqNSssoGgAeERkkZlXQSAIaLpqYBSI8MpnLUr8E/hMr2"
        "b216/rSkmlSrESpvffed1YcfTi8RGGhuDrzTR37PfiMw6Cgjnxrx7Et6POQoo0YjkX1L4bijHDjYmPdNEBZG9qKx"
        "4NsgbMJR5EzzdIiGjjhK0G6yMGWHHCWccfx32+iMW4yjTLdGT20QJDtKvCXLNYICjnLeXjhOCBbxy75OABZw2U6n"
        "CcHsM62x27MEYfKRzPsnPwnC3Cft5nrkMWGY+1Sm+XSSMsz9sN38EEXmvWWUy1W8Id2oLjPoGd4fAENfQALx2R1S"
        "r1X/Ogv7Dg9+nnNTXcH5Vb7ixvT+6w3jwv5x/hvX3xGAGY1xC3VU0y2+e6Lj1z3rUQxWUnESM1h/7cdQLsLitruY"
        "W2a62d2plphGLS/hupxTV5muCRvps1FaLeIkVDVcpzTNGdbeizJTK5IyxtZMPdaeSw8sntdx/tXiFiM2H/GnVN2j"
        "FaJoP+RQ5/a06B+RnR38vqZZzHIvu16vX8BjPtTzMdk1GRRdgAEk4rk2RHZv7gXbzqUYbN9fh0W44wkVcPnqnFot"
        "ZFKJ1MlE8kRqEM9IHtGFPDc77W97E5Et7l5NN88QgE/Mo1hxgfDOnqsZ7t0k2QseRhnvk1CfBIkEUOSO7rIee4sX"
        "yiR+HCW/xrh4IlcMzdViHKHPAZ+QqVYqOm3tXKn95o4+42XhcAr/9NTupWCfitinZEr06S+AhNAd"
    )
)
TINY_SECONDS = 2


def now() -> float:
    return time.monotonic()


def shown(text: Any, limit: int = 110) -> str:
    """Evidence text: one line, control characters escaped, cut."""
    raw = str(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)
    line = "".join(
        c if c.isprintable() and unicodedata.category(c) not in ("Cs", "Cf") else repr(c)[1:-1]
        for c in raw.strip()
    )
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- hostile hosts -----------------------------------------------------------------------------


class Req:
    def __init__(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, raw: bytes
    ) -> None:
        self.method, self.target, self.headers, self.body, self.raw = (
            method,
            target,
            headers,
            body,
            raw,
        )
        self.t = now()

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def read_request(conn: socket.socket, buf: bytes) -> tuple[Req | None, bytes]:
    while b"\r\n\r\n" not in buf:
        if len(buf) > 1 << 20:
            raise ValueError("request head too large")
        chunk = conn.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target = [*lines[0].split(" "), "", ""][:2]
    headers = [(k.strip(), v.strip()) for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)]
    size = int(next((v for k, v in headers if k.lower() == "content-length"), "0") or 0)
    while len(buf) < size:
        chunk = conn.recv(65536)
        if not chunk:
            break
        buf += chunk
    body, buf = buf[:size], buf[size:]
    return Req(method, target, headers, body, head + b"\r\n\r\n" + body), buf


def send(
    conn: socket.socket,
    status: int = 200,
    body: Any = b"",
    headers: Iterable[tuple[str, str | bytes]] = (),
    ctype: str | None = "application/json",
    length: bool = True,
) -> bool:
    """One whole answer; True keeps the connection."""
    if isinstance(body, dict | list):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Whatever"
    hs: list[tuple[str, str | bytes]] = []
    if ctype:
        hs.append(("Content-Type", ctype))
    if length:
        hs.append(("Content-Length", str(len(body))))
    hs += list(headers)
    head = [f"HTTP/1.1 {status} {reason}".encode()]
    head += [
        k.encode() + b": " + (v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in hs
    ]
    conn.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
    return length


Handler = Callable[["Host", Req, socket.socket], bool]


class Host:
    """A raw HTTP/1.1 server on loopback; every request is recorded."""

    ALL: list[Host] = []

    def __init__(self, role: str, handler: Handler) -> None:
        self.role, self.handler = role, handler
        self.requests: list[Req] = []
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.conns: set[socket.socket] = set()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.state: dict[str, Any] = {}
        Host.ALL.append(self)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self.conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            conn.settimeout(120)
            while not self.stopped.is_set():
                req, buf = read_request(conn, buf)
                if req is None:
                    return
                with self.lock:
                    self.requests.append(req)
                if not self.handler(self, req, conn):
                    return
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.conns.discard(conn)
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    def pause(self, seconds: float) -> bool:
        """Sleep; False when the host is being closed."""
        return not self.stopped.wait(seconds)

    def close(self) -> None:
        self.stopped.set()
        self.sock.close()
        with self.lock:
            conns = list(self.conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def count(self, method: str = "GET", needle: str = "", since: float = 0.0) -> int:
        with self.lock:
            return sum(
                1
                for r in self.requests
                if r.method == method and needle in r.target and r.t >= since
            )

    def posts(self) -> int:
        return self.count("POST")


def task(tid: str | None, status: str = "processing", **kw: Any) -> dict[str, Any]:
    doc = {
        "id": tid or "video_starvideos_o3_1",
        "object": "video",
        "created": int(time.time()) - 120,
        "model": "starvideos_o3",
        "status": status,
        "video_url": None,
        "error": None,
    }
    doc.update(kw)
    return doc


Answer = Callable[["Host", Req, "str | None"], Any]


def api_host(answer: Answer) -> Host:
    """The API: answer(host, req, task id or None for a POST) gives a dict (a 200 JSON
    answer), a (status, body, headers) tuple, or a callable(conn) -> keep-alive."""
    created = [0]

    def handler(host: Host, req: Req, conn: socket.socket) -> bool:
        tid = None if req.method == "POST" else req.path.rsplit("/", 1)[-1]
        result = answer(host, req, tid)
        if result is None and req.method == "POST":
            created[0] += 1
            result = task(f"video_starvideos_o3_{1800000000 + created[0]}", "queued")
        if callable(result):
            return bool(result(conn))
        if isinstance(result, tuple):
            return send(conn, result[0], result[1], result[2] if len(result) > 2 else ())
        return send(conn, 200, result)

    return Host("api", handler)


def plain_api(status: str = "processing", **kw: Any) -> Host:
    return api_host(lambda h, r, tid: task(tid or "video_starvideos_o3_1", status, **kw))


def third_host() -> Host:
    return Host("third", lambda h, r, c: send(c, 200, b"third host", ctype="text/plain"))


def video_host(respond: Callable[[Host, Req, socket.socket], bool] | None = None) -> Host:
    def mp4(host: Host, req: Req, conn: socket.socket) -> bool:
        return send(conn, 200, TINY_MP4, ctype="video/mp4")

    return Host("video", respond or mp4)


@contextlib.contextmanager
def hosts(*made: Host) -> Any:
    try:
        yield made if len(made) != 1 else made[0]
    finally:
        for h in made:
            h.close()


def drip(data: bytes, every: float) -> Callable[[Host], Callable[[socket.socket], bool]]:
    def start(host: Host) -> Callable[[socket.socket], bool]:
        def go(conn: socket.socket) -> bool:
            for i in range(len(data)):
                if not host.pause(every if i else 0):
                    return False
                conn.sendall(data[i : i + 1])
            return False

        return go

    return start


_BOMBS: dict[str, bytes] = {}


def bomb(coding: str, megabytes: int = 500) -> bytes:
    """`megabytes` MB of zeros, compressed (gzip: ~0.5 MB for 500 MB)."""
    if coding not in _BOMBS:
        z = zlib.compressobj(9, zlib.DEFLATED, 31 if coding == "gzip" else 15)
        block = bytes(1 << 20)
        _BOMBS[coding] = b"".join(z.compress(block) for _ in range(megabytes)) + z.flush()
    return _BOMBS[coding]


# -- running the CLI -----------------------------------------------------------------------------

LEFTOVERS: list[str] = []
RUNS: list[Result] = []
LIVE: set[Child] = set()  # every child not reaped yet: killed on the probe's way out


class Result:
    def __init__(
        self,
        argv: list[str],
        rc: int,
        out: bytes,
        err: bytes,
        secs: float,
        rss_mb: float,
        timed_out: bool,
        killed_rss: bool,
    ) -> None:
        self.argv, self.rc, self.secs, self.rss_mb = argv, rc, secs, rss_mb
        self.rawout, self.rawerr = out, err
        self.out = out.decode("utf-8", "replace")
        self.err = err.decode("utf-8", "replace")
        self.timed_out, self.killed_rss = timed_out, killed_rss

    @property
    def tb(self) -> bool:
        return TRACEBACK in self.err or TRACEBACK in self.out

    @property
    def lines(self) -> list[str]:
        return [x for x in self.err.splitlines() if x.strip()]

    def brief(self) -> str:
        what = f"rc={self.rc} {self.secs:.1f}s"
        if self.timed_out:
            what += " TIMED OUT"
        if self.killed_rss:
            what += f" KILLED at {self.rss_mb:.0f} MB"
        if self.tb:
            last = [x for x in self.err.splitlines() if x.strip()]
            what += f" TRACEBACK ({shown(last[-1] if last else '', 70)})"
        elif self.lines:
            what += f" «{shown(self.lines[-1], 90)}»"
        return what

    def problems(self, rcs: Iterable[int] = (1, 2), rss: bool = False) -> list[str]:
        """The general rules: no traceback, an expected exit code, the key never printed,
        within its time (and, with rss, under the memory bound)."""
        found = []
        if self.timed_out:
            found.append(f"still running after {self.secs:.0f} s")
        if self.killed_rss:
            found.append(f"grew past {RSS_KILL_MB} MB, killed")
        if self.tb:
            found.append("traceback")
        if not self.timed_out and not self.killed_rss and self.rc not in tuple(rcs):
            found.append(f"exit {self.rc} (expected {'/'.join(map(str, rcs))})")
        if KEY in self.out or KEY in self.err:
            found.append("the key was printed")
        if rss and self.rss_mb >= RSS_LIMIT_MB and not self.killed_rss:
            found.append(f"peak RSS {self.rss_mb:.0f} MB")
        return found


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _rss_kb(pid: int) -> tuple[int, int]:
    rss = hwm = 0
    with contextlib.suppress(OSError), open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class Child:
    """A child in its own session: watched for memory, reaped with wait4 (its max RSS)."""

    def __init__(self, argv: list[str], **popen: Any) -> None:
        self.argv = argv
        self.p = subprocess.Popen(argv, start_new_session=True, **popen)
        self.pid = self.p.pid
        LIVE.add(self)
        self.t0 = now()
        self.peak_kb = 0
        self.killed_rss = False
        self.rc: int | None = None
        self._done = threading.Event()
        threading.Thread(target=self._watch_memory, daemon=True).start()

    def _watch_memory(self) -> None:
        while not self._done.is_set():
            rss, hwm = _rss_kb(self.pid)
            self.peak_kb = max(self.peak_kb, hwm, rss)
            if rss > RSS_KILL_MB * 1024:
                self.killed_rss = True
                _kill_group(self.pid)
                return
            self._done.wait(0.03)

    def poll(self) -> int | None:
        if self.rc is None:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self._reaped(status, ru)
        return self.rc

    def _reaped(self, status: int, ru: Any) -> None:
        self.rc = os.waitstatus_to_exitcode(status)
        self.p.returncode = self.rc
        self.peak_kb = max(self.peak_kb, ru.ru_maxrss)
        self.secs = now() - self.t0
        self._done.set()

    def wait(self, timeout: float) -> int | None:
        end = now() + timeout
        while self.poll() is None and now() < end:
            time.sleep(0.02)
        return self.rc

    def signal(self, sig: int) -> None:
        if self.rc is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def finish(self) -> None:
        """Kill what is left: the child if it still runs, and its whole group."""
        if self.rc is None:
            _kill_group(self.pid)
            _, status, ru = os.wait4(self.pid, 0)
            self._reaped(status, ru)
        if _group_alive(self.pid):
            LEFTOVERS.append(shown(" ".join(self.argv[-3:]), 60))
            _kill_group(self.pid)
        self._done.set()
        LIVE.discard(self)


def run(
    env: dict[str, str],
    *args: str,
    timeout: float = 20.0,
    stdin: bytes | str | None = b"",
    stdout: str = "file",
    stop_after: float | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run the CLI once. stdin: bytes, "closed" or "tty" (then stderr is that terminal too,
    as in an interactive shell, and what it shows is the result's err); stdout: "file",
    "closed" or a path. stop_after: send SIGINT then (the run then has 8 s more to end)."""
    argv = [CLI, *args]
    redirect = (" >&-" if stdout == "closed" else "") + (" <&-" if stdin == "closed" else "")
    if redirect:
        argv = ["/bin/sh", "-c", 'exec "$@"' + redirect, "sh", *argv]
    if stop_after is not None:
        timeout = stop_after + 8
    master = slave = -1
    screen = bytearray()
    with (
        tempfile.TemporaryFile() as fout,
        tempfile.TemporaryFile() as ferr,
        tempfile.TemporaryFile() as fin,
    ):
        if isinstance(stdin, bytes):
            fin.write(stdin)
            fin.seek(0)
            child_in: Any = fin
        elif stdin == "tty":
            master, slave = pty.openpty()
            child_in = slave
        else:
            child_in = subprocess.DEVNULL
        out_target: Any = fout
        opened = None
        if stdout == "closed":
            out_target = subprocess.DEVNULL
        elif stdout != "file":
            opened = open(stdout, "wb")  # noqa: SIM115
            out_target = opened
        child = Child(
            argv,
            stdin=child_in,
            stdout=out_target,
            stderr=slave if slave >= 0 else ferr,
            env=dict(env, TERM="xterm-256color") if slave >= 0 else env,
            cwd=str(cwd or ROOT),
        )
        timed_out = stopped = False
        try:
            if slave >= 0:
                os.close(slave)
            while child.poll() is None:
                elapsed = now() - child.t0
                if stop_after is not None and not stopped and elapsed >= stop_after:
                    child.signal(signal.SIGINT)
                    stopped = True
                if elapsed >= timeout:
                    timed_out = True
                    break
                if master >= 0:
                    _drain(master, screen)
                time.sleep(0.02)
        finally:
            child.finish()
            if master >= 0:
                _drain(master, screen)
                os.close(master)
            if opened:
                opened.close()
        fout.seek(0)
        ferr.seek(0)
        result = Result(
            argv,
            child.rc or 0,
            fout.read(),
            ferr.read() + bytes(screen),
            child.secs,
            child.peak_kb / 1024,
            timed_out,
            child.killed_rss,
        )
    RUNS.append(result)
    return result


def _drain(master: int, into: bytearray) -> None:
    with contextlib.suppress(OSError):
        while select.select([master], [], [], 0)[0]:
            data = os.read(master, 65536)
            if not data:
                return
            into += data


class Tui:
    """The bare command (the TUI) on a pseudo-terminal that is its controlling terminal."""

    ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")

    def __init__(
        self,
        env: dict[str, str],
        *args: str,
        cols: int = 80,
        rows: int = 24,
        stdin_closed: bool = False,
        controlling: bool = True,
    ) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        argv = [CLI, *args]
        if stdin_closed:
            argv = ["/bin/sh", "-c", 'exec "$@" <&-', "sh", *argv]
        env = dict(env, TERM="xterm-256color")
        self.buf = bytearray()
        self.lock = threading.Lock()
        self.closing = threading.Event()
        try:
            self.child = Child(
                argv,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                cwd=str(ROOT),
                preexec_fn=_take_terminal if controlling else None,
            )
        finally:
            os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while not self.closing.is_set():
            try:
                ready = select.select([self.master], [], [], 0.1)[0]
                data = os.read(self.master, 65536) if ready else b""
            except OSError:
                return
            if ready and not data:
                return
            with self.lock:
                self.buf += data

    def screen(self) -> str:
        with self.lock:
            raw = bytes(self.buf)
        return self.ANSI.sub(b"", raw).decode("utf-8", "replace")

    def wait_for(self, text: str, timeout: float) -> bool:
        end = now() + timeout
        while now() < end:
            if text in self.screen():
                return True
            if self.child.poll() is not None:
                return text in self.screen()
            time.sleep(0.05)
        return False

    def hang_up(self) -> None:
        """The terminal goes away: its master side is closed."""
        self.closing.set()
        self.reader.join(1)
        with contextlib.suppress(OSError):
            os.close(self.master)
        self.master = -1

    def finish(self) -> None:
        self.child.finish()
        if self.master >= 0:
            self.hang_up()
        RUNS.append(
            Result(
                self.child.argv,
                self.child.rc or 0,
                b"",
                self.screen().encode(),
                self.child.secs,
                self.child.peak_kb / 1024,
                False,
                False,
            )
        )


def _take_terminal() -> None:
    fcntl.ioctl(1, termios.TIOCSCTTY, 0)


# -- a private world per attack --------------------------------------------------------------------


class Space:
    def __init__(self, name: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=re.sub(r"\W+", "_", name)[:24] + "-", dir=ROOT))
        self.home = self.root / "home"
        self.sv = self.root / "sv"
        self.db = self.root / "watchlist.json"
        self.dl = self.root / "dl"
        self.home.mkdir()
        self.sv.mkdir()
        self.config = self.sv / "config"

    def env(self, api: Host | None = None, **extra: str | None) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not (
                k.lower().endswith("_proxy")
                or k.startswith("STARVIDEOS_")
                or k in ("NO_COLOR", "COLUMNS", "LINES", "TMUX", "LC_ALL")
            )
        }
        env.update(
            HOME=str(self.home),
            STARVIDEOS_HOME=str(self.sv),
            STARVIDEOS_DB=str(self.db),
            STARVIDEOS_DOWNLOAD_DIR=str(self.dl),
            STARVIDEOS_API_KEY=KEY,
            STARVIDEOS_BASE_URL=api.url if api else "http://127.0.0.1:9",
            STARVIDEOS_NOTIFY="off",
            STARVIDEOS_BELL="0",
            STARVIDEOS_PREVIEW="off",
            LANG="C.UTF-8",
            PYTHONDONTWRITEBYTECODE="1",
        )
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def logs(self) -> bytes:
        return b"".join(p.read_bytes() for p in sorted(self.sv.rglob("*.log*")) if p.is_file())

    def add(self, env: dict[str, str], *ids: str) -> None:
        r = run(env, "add", "-", stdin="\n".join(ids).encode(), timeout=30)
        if r.rc != 0:
            raise ProbeError(f"could not seed the watchlist: {r.brief()}")

    def listed(self, env: dict[str, str]) -> tuple[Result, dict[str, dict[str, Any]]]:
        r = run(env, "list", "--json")
        try:
            return r, {t["id"]: t for t in json.loads(r.out)}
        except (ValueError, KeyError, TypeError):
            return r, {}

    def key_file(self, content: bytes) -> Path:
        self.config.mkdir(parents=True, exist_ok=True)
        path = self.config / "api-key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        return path

    def edit_base(self, old: str, new: str) -> None:
        """Hand-edit the watchlist's base file (as a user with an editor would)."""
        if Path(f"{self.db}.journal").exists() and Path(f"{self.db}.journal").stat().st_size:
            raise ProbeError("the watchlist has a journal: cannot hand-edit its base")
        text = self.db.read_text()
        if old not in text:
            raise ProbeError(f"{old!r} not in the watchlist file")
        self.db.write_text(text.replace(old, new, 1))


class ProbeError(Exception):
    """The probe itself could not set an attack up."""


def tid(n: int) -> str:
    return f"video_starvideos_o3_{1774836700 + n}"


A, B, C = tid(1), tid(2), tid(3)

# -- the attacks -------------------------------------------------------------------------------

ATTACKS: list[tuple[str, str, Callable[[], tuple[bool, str]], bool]] = []


def attack(cls: str, what: str, background: bool = False) -> Callable[[Any], Any]:
    def register(fn: Callable[[], tuple[bool, str]]) -> Callable[[], tuple[bool, str]]:
        ATTACKS.append((cls, what, fn, background))
        return fn

    return register


def verdict(problems: list[str], evidence: str) -> tuple[bool, str]:
    return (not problems, ("; ".join(problems) + " | " if problems else "") + evidence)


# 1. Text that is not valid Unicode ------------------------------------------------------------


def _poison(field: str, t: str, elsewhere: str) -> dict[str, Any]:
    if field == "error":
        return task(t, "failed", error=f"reference image {SURR} too small")
    if field == "status":
        return task(t, f"processing{SURR}")
    if field == "model":
        return task(t, "processing", model=f"starvideos_o3{SURR}")
    if field == "video_url":
        return task(t, "completed", video_url=f"{elsewhere}/v{SURR}.mp4", actualDuration=2)
    return task(t + SURR, "processing")  # id


def _surrogate_in(field: str) -> tuple[bool, str]:
    sp = Space(f"c1-{field}")
    third = third_host()

    def answer(h: Host, r: Req, t: str | None) -> Any:
        if h.state.get("healed"):
            return task(t, "failed", error="healed")
        return _poison(field, t, third.url) if t == A else task(t, "processing")

    with hosts(api_host(answer), third) as (api, _):
        env = sp.env(api)
        sp.add(env, A, B)
        first = run(env, "refresh")
        listed, tasks = sp.listed(env)
        b_saved = tasks.get(B, {}).get("status") == "processing"
        api.state["healed"] = True
        later = run(env, "refresh")
        relisted, tasks = sp.listed(env)
        # A was final already when its poisoned answer said failed or completed
        again = (B,) if field in ("error", "video_url") else (A, B)
        later_saved = all(tasks.get(x, {}).get("status") == "failed" for x in again)
    problems = first.problems((0, 1)) + later.problems((0,))
    problems += [f"list: {p}" for p in listed.problems((0,)) + relisted.problems((0,))]
    if not b_saved:
        problems.append("the other task's answer in that pass was not saved")
    if not later_saved:
        problems.append("later polls were not saved")
    return verdict(problems, f"refresh {first.brief()}; later refresh {later.brief()}")


for _field in ("error", "status", "model", "video_url", "id"):
    attack("1", f'refresh: lone surrogate in the answer\'s "{_field}"')(
        lambda f=_field: _surrogate_in(f)
    )


@attack("1", "watch: lone surrogate in an error, another task beside it")
def _() -> tuple[bool, str]:
    sp = Space("c1-watch")

    def answer(h: Host, r: Req, t: str | None) -> Any:
        return _poison("error", t, "") if t == A else task(t, "failed", error="plain")

    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, A, B)
        w = run(env, "--interval", "1", "watch", timeout=25)
        _, tasks = sp.listed(env)
    problems = w.problems((1,))
    if not all(tasks.get(x, {}).get("status") == "failed" for x in (A, B)):
        problems.append(
            "the finals were not saved: "
            + shown({k: v.get("status") for k, v in tasks.items()}, 60)
        )
    return verdict(problems, f"watch {w.brief()}")


def _hand_edited(field: str) -> tuple[bool, str]:
    sp = Space(f"c1-{field}")
    env = sp.env()
    sp.add(env, A)
    sp.edit_base(f'"{field}":null', f'"{field}":"hand-edited \\ud83d {field}"')
    table = run(env, "list")
    as_json = run(env, "list", "--json")
    added = run(env, "add", B)
    problems = [f"list: {p}" for p in table.problems((0,))]
    problems += [f"list --json: {p}" for p in as_json.problems((0,))]
    problems += [f"add: {p}" for p in added.problems((0,))]
    return verdict(problems, f"list {table.brief()}; --json {as_json.brief()}")


attack("1", "list: a label with a lone surrogate in a hand-edited watchlist")(
    lambda: _hand_edited("label")
)
attack("1", "list: a prompt with a lone surrogate in a hand-edited watchlist")(
    lambda: _hand_edited("prompt")
)


def _create_from(name: str, content: bytes, names_line: bool = True) -> tuple[bool, str]:
    sp = Space(f"c1-from-{name}")
    path = sp.root / name
    path.write_bytes(content)
    with hosts(api_host(lambda h, r, t: None if t is None else task(t))) as api:
        env = sp.env(api)
        r = run(env, "create", "--from", str(path))
        sent = api.posts()
    problems = r.problems((2,))
    if sent:
        problems.append(f"{sent} request(s) sent")
    if names_line and r.rc == 2 and not [x for x in r.lines if "line" in x.lower()]:
        problems.append("the message names no line")
    return verdict(problems, f"{r.brief()}; POSTs {sent}")


attack("1", "create --from: a JSONL prompt with a lone surrogate")(
    lambda: _create_from(
        "shots.jsonl",
        b'{"prompt": "a heron lifts off", "duration": 5}\n'
        b'{"prompt": "a heron \\ud83d lifts off", "duration": 5}\n',
    )
)
attack("1", "create --from: a JSONL label with a lone surrogate")(
    lambda: _create_from("label.jsonl", b'{"prompt": "a heron", "label": "x \\udc00 y"}\n')
)
attack("1", "create --from: a CSV cell with a surrogate's UTF-8 bytes")(
    lambda: _create_from(
        "shots.csv", b"prompt,duration\na heron \xed\xa0\xbd lifts off,5\n", names_line=False
    )
)


# 2. Answers that drip -------------------------------------------------------------------------

DRIP_BOUND = 60.0


def _drip_refresh(whole: bool) -> tuple[bool, str]:
    sp = Space("c2-refresh")
    body = json.dumps(task(A)).encode()
    answer_bytes = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    def answer(h: Host, r: Req, t: str | None) -> Any:
        if whole:
            return drip(answer_bytes, 2.0)(h)
        head, rest = answer_bytes.split(b"\r\n\r\n", 1)

        def go(conn: socket.socket) -> bool:
            conn.sendall(head + b"\r\n\r\n")
            return drip(rest, 2.0)(h)(conn)

        return go

    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "refresh", timeout=DRIP_BOUND)
    return verdict(r.problems((1,)), r.brief())


attack("2", "refresh: the API drips its whole answer, a byte every 2 s", background=True)(
    lambda: _drip_refresh(True)
)
attack("2", "refresh: the API drips its body, a byte every 2 s", background=True)(
    lambda: _drip_refresh(False)
)


@attack("2", "watch --interval 1: one task drips, the other is still polled", background=True)
def _() -> tuple[bool, str]:
    sp = Space("c2-watch")
    body = json.dumps(task(A)).encode()
    dripped = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )

    def answer(h: Host, r: Req, t: str | None) -> Any:
        return drip(dripped, 2.0)(h) if t == A else task(t)

    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, A, B)
        t0 = now()
        w = run(env, "--interval", "1", "watch", stop_after=20)
        b_polls = api.count("GET", B, since=t0)
    problems = w.problems((130,))
    if b_polls < 4:
        problems.append(f"the other task was polled {b_polls} time(s) in 20 s")
    return verdict(problems, f"other task polled {b_polls}x in 20 s; watch {w.brief()}")


# 3. Decompression bombs -----------------------------------------------------------------------


def _api_bomb(coding: str) -> tuple[bool, str]:
    sp = Space(f"c3-api-{coding}")
    data = bomb(coding)

    def answer(h: Host, r: Req, t: str | None) -> Any:
        return lambda conn: send(conn, 200, data, [("Content-Encoding", coding)])

    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "refresh", timeout=30)
    return verdict(r.problems((1,), rss=True), f"peak RSS {r.rss_mb:.0f} MB; {r.brief()}")


attack("3", "refresh: the API sends 0.5 MB of gzip that expands to 500 MB")(
    lambda: _api_bomb("gzip")
)
attack("3", "refresh: the API sends 0.5 MB of deflate that expands to 500 MB")(
    lambda: _api_bomb("deflate")
)

SIZE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(bytes|B|kB|KB|KiB|MB|MiB|GB|GiB)\b")
UNITS = {
    "bytes": 1,
    "B": 1,
    "kB": 1e3,
    "KB": 1e3,
    "KiB": 1024,
    "MB": 1e6,
    "MiB": 1 << 20,
    "GB": 1e9,
    "GiB": 1 << 30,
}


def _rejected_matches(message: str, folder: Path) -> str | None:
    """None when the `.rejected` files agree with what the message says, else why not."""
    rejected = sorted(folder.glob("*.rejected*")) if folder.is_dir() else []
    if "rejected" in message and not rejected:
        return "the message names a .rejected file that is not there"
    if not rejected:
        return None
    sizes = [float(n.replace(",", ".")) * UNITS[u] for n, u in SIZE.findall(message)]
    actual = max(p.stat().st_size for p in rejected)
    if not sizes:
        return f"a {actual}-byte .rejected file the message does not describe"
    if not any(abs(s - actual) <= max(0.1 * actual, 1100) for s in sizes):
        return (
            f"the message says {'/'.join(f'{s:.0f}' for s in sizes)} bytes, "
            f"the .rejected holds {actual}"
        )
    return None


def _completed_at(video: Host, path: str = "/v/video.mp4") -> Host:
    return api_host(
        lambda h, r, t: task(
            t, "completed", video_url=video.url + path, actualDuration=TINY_SECONDS
        )
    )


def _video_bomb(coding: str) -> tuple[bool, str]:
    sp = Space(f"c3-video-{coding}")
    data = bomb(coding)
    video = video_host(
        lambda h, r, c: send(c, 200, data, [("Content-Encoding", coding)], ctype="video/mp4")
    )
    with hosts(video, _completed_at(video)) as (_, api):
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "download", A, timeout=40)
    problems = r.problems((1,), rss=True)
    if not r.killed_rss and (why := _rejected_matches(r.err, sp.dl)):
        problems.append(why)
    return verdict(problems, f"peak RSS {r.rss_mb:.0f} MB; {r.brief()}")


attack("3", "download: the video host sends 0.5 MB of gzip that expands to 500 MB")(
    lambda: _video_bomb("gzip")
)
attack("3", "download: the video host sends 0.5 MB of deflate that expands to 500 MB")(
    lambda: _video_bomb("deflate")
)


# 4. Endless and blocking local files ----------------------------------------------------------


def _fifo(sp: Space, name: str) -> Path:
    path = sp.root / name
    os.mkfifo(path)
    return path


def _sparse(sp: Space, name: str, size: int = 1 << 30) -> Path:
    path = sp.root / name
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def _local(
    what: str,
    make: Callable[[Space], dict[str, str]],
    *args: str,
    rcs: tuple[int, ...] = (1, 2),
    posts: bool = False,
) -> tuple[bool, str]:
    sp = Space(f"c4-{what}")
    with hosts(plain_api()) as api:
        env = make(sp) | {"STARVIDEOS_BASE_URL": api.url}
        r = run(env, *args, timeout=10)
        sent = api.posts()
    problems = r.problems(rcs, rss=True)
    if r.secs > 5 and not r.timed_out:
        problems.append(f"took {r.secs:.0f} s")
    if posts and sent:
        problems.append(f"{sent} request(s) sent")
    return verdict(problems, f"peak RSS {r.rss_mb:.0f} MB; {r.brief()}")


attack("4", "list: the watchlist path is /dev/zero")(
    lambda: _local("zero-list", lambda sp: sp.env(STARVIDEOS_DB="/dev/zero"), "list")
)
attack("4", "add: the watchlist path is /dev/zero")(
    lambda: _local("zero-add", lambda sp: sp.env(STARVIDEOS_DB="/dev/zero"), "add", A)
)
attack("4", "list: the watchlist path is a FIFO nobody writes", background=True)(
    lambda: _local("fifo-list", lambda sp: sp.env(STARVIDEOS_DB=str(_fifo(sp, "wl"))), "list")
)
attack("4", "add: the watchlist path is a FIFO nobody writes", background=True)(
    lambda: _local("fifo-add", lambda sp: sp.env(STARVIDEOS_DB=str(_fifo(sp, "wl"))), "add", A)
)


def _from(source: Callable[[Space], str]) -> Callable[[], tuple[bool, str]]:
    """create --from a local file that never ends or never opens: refused, nothing sent."""

    def go() -> tuple[bool, str]:
        sp = Space("c4-from")
        path = source(sp)
        with hosts(plain_api()) as api:
            r = run(sp.env(api), "create", "--from", path, timeout=10)
            sent = api.posts()
        problems = r.problems((2,), rss=True)
        if r.secs > 5 and not r.timed_out:
            problems.append(f"took {r.secs:.0f} s")
        if sent:
            problems.append(f"{sent} request(s) sent")
        return verdict(problems, f"peak RSS {r.rss_mb:.0f} MB; {r.brief()}")

    return go


attack("4", "create --from /dev/zero")(_from(lambda sp: "/dev/zero"))
attack("4", "create --from a FIFO nobody writes", background=True)(
    _from(lambda sp: str(_fifo(sp, "shots.jsonl")))
)
attack("4", "create --from a 1 GB file of one line (sparse, NULs)")(
    _from(lambda sp: str(_sparse(sp, "shots.jsonl")))
)


def _config_is(kind: str) -> Callable[[Space], dict[str, str]]:
    def make(sp: Space) -> dict[str, str]:
        sp.config.mkdir(parents=True)
        path = sp.config / "config.toml"
        if kind == "zero":
            path.symlink_to("/dev/zero")
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            _sparse(sp, "big.toml").rename(path)
        return sp.env()

    return make


attack("4", "list: config.toml is a link to /dev/zero")(
    lambda: _local("cfg-zero", _config_is("zero"), "list")
)
attack("4", "list: config.toml is a FIFO nobody writes", background=True)(
    lambda: _local("cfg-fifo", _config_is("fifo"), "list")
)
attack("4", "list: config.toml is 1 GB (sparse)")(
    lambda: _local("cfg-big", _config_is("big"), "list")
)


def _key_is(kind: str) -> Callable[[Space], dict[str, str]]:
    def make(sp: Space) -> dict[str, str]:
        sp.config.mkdir(parents=True)
        path = sp.config / "api-key"
        if kind == "fifo":
            os.mkfifo(path, 0o600)
        else:
            _sparse(sp, "big.key").rename(path)
            path.chmod(0o600)
        env = sp.env(STARVIDEOS_API_KEY=None)
        run(env, "add", A)
        return env

    return make


attack("4", "refresh: the key file is a FIFO nobody writes", background=True)(
    lambda: _local("key-fifo", _key_is("fifo"), "refresh")
)
attack("4", "refresh: the key file is 1 GB (sparse)")(
    lambda: _local("key-big", _key_is("big"), "refresh")
)

CEILING_BYTES = 8 << 20
ENDLESS_SENT_MAX = 96 << 20


def find_ceiling_env() -> tuple[str | None, str]:
    """The env var that sets the ceiling on a video body, from the docs (then the package's
    own text); an override: PROBE_CEILING_ENV."""
    if name := os.environ.get("PROBE_CEILING_ENV"):
        return name, "PROBE_CEILING_ENV"
    pattern = re.compile(r"STARVIDEOS_[A-Z0-9_]*(?:MAX|LIMIT|CEILING|CAP)[A-Z0-9_]*")
    repo = Path(__file__).resolve().parents[1]
    places = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    cli_python = _cli_python()
    if cli_python:
        where = subprocess.run(
            [
                cli_python,
                "-c",
                "import importlib.util as u;"
                "print(u.find_spec('starvideos_tui').submodule_search_locations[0])",
            ],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout.strip()
        if where:
            places += sorted(Path(where).rglob("*.py"))
    for place in places:
        with contextlib.suppress(OSError):
            for name in pattern.findall(place.read_text(errors="replace")):
                if "VIDEO" in name or "DOWNLOAD" in name or "BODY" in name:
                    return name, place.name
    return None, ""


def _cli_python() -> str | None:
    with contextlib.suppress(OSError):
        first = Path(shutil.which(CLI) or CLI).read_text(errors="replace").splitlines()[0]
        if first.startswith("#!"):
            return first[2:].strip().split()[0]
    return None


def _ceiling_value(name: str, size: int) -> list[str]:
    if name.endswith("_MB"):
        return [str(size >> 20)]
    if name.endswith("_BYTES"):
        return [str(size)]
    return [str(size), f"{size >> 20}M", f"{size >> 20}MB"]


@attack(
    "4", f"download: a video body with no length and no end (ceiling {CEILING_BYTES >> 20} MiB)"
)
def _() -> tuple[bool, str]:
    name, source = find_ceiling_env()

    def endless(h: Host, r: Req, conn: socket.socket) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nConnection: close\r\n\r\n")
        block = TINY_MP4[:64] + bytes(65536 - 64)
        sent = 0
        while sent < ENDLESS_SENT_MAX and not h.stopped.is_set():
            conn.sendall(block)
            sent += len(block)
            h.state["sent"] = sent
        h.pause(60)  # then silence: no end
        return False

    tries = _ceiling_value(name, CEILING_BYTES) if name else [""]
    for value in tries:
        sp = Space("c4-endless")
        video = video_host(endless)
        with hosts(video, _completed_at(video)) as (_, api):
            extra = {name: value} if name else {}
            env = sp.env(api, **extra)
            sp.add(env, A)
            r = run(env, "download", A, timeout=20)
            sent = video.state.get("sent", 0)
        if r.rc == 2 and name and "STARVIDEOS" in r.err:
            continue  # that spelling of the value was refused: try the next
        kept = max([p.stat().st_size for p in sp.dl.glob("*")] + [0]) if sp.dl.is_dir() else 0
        problems = r.problems((1,), rss=True)
        if not name:
            problems.insert(0, "ceiling not configurable (no STARVIDEOS_*MAX/LIMIT* env var found)")
        elif kept > CEILING_BYTES + (8 << 20):
            problems.append(f"{kept >> 20} MiB kept past a {CEILING_BYTES >> 20} MiB ceiling")
        how = f"{name}={value} (from {source})" if name else "no ceiling variable"
        return verdict(
            problems,
            f"{how}; host sent {sent >> 20} MiB, largest file {kept >> 20} MiB; {r.brief()}",
        )
    return False, f"every value for {name} was refused: {r.brief()}"


# 5. Retry-After 0, negative or in the past ----------------------------------------------------

RA_TASKS = 20
RA_SECONDS = 40.0


def _count_429s(retry_after: str | None) -> int:
    sp = Space("c5-ra")
    headers = [("Retry-After", retry_after)] if retry_after is not None else []

    def answer(h: Host, r: Req, t: str | None) -> Any:
        return 429, {"error": "rate limited"}, headers

    ids = [tid(100 + i) for i in range(RA_TASKS)]
    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, *ids)
        t0 = now()
        w = run(env, "--interval", "1", "watch", stop_after=RA_SECONDS)
        n: int = api.count("GET", "/v1/result/", since=t0)
    return -1 if w.tb else n


_RA_BASE: dict[str, int] = {}
_RA_LOCK = threading.Lock()


def _retry_after(value: str) -> tuple[bool, str]:
    with _RA_LOCK:  # the first variant starts the baseline (no Retry-After) beside itself
        if "thread" not in _RA_BASE:
            thread = threading.Thread(
                target=lambda: _RA_BASE.__setitem__("none", _count_429s(None)), daemon=True
            )
            thread.start()
            _RA_BASE["thread"] = thread  # type: ignore[assignment]
    n = _count_429s(value)
    _RA_BASE["thread"].join()  # type: ignore[attr-defined]
    base = _RA_BASE.get("none", -1)
    bound = max(int(base * 1.5), base + 5)
    problems = []
    if n < 0 or base < 0:
        problems.append("watch printed a traceback")
    elif n > bound:
        problems.append(f"{n} requests, more than {bound}")
    return verdict(
        problems,
        f"{n} requests for {RA_TASKS} tasks in {RA_SECONDS:.0f} s "
        f"with Retry-After {value!r}; {base} with no Retry-After",
    )


attack("5", "watch: 429 with Retry-After: 0", background=True)(lambda: _retry_after("0"))
attack("5", "watch: 429 with Retry-After: -5", background=True)(lambda: _retry_after("-5"))
attack("5", "watch: 429 with Retry-After a past HTTP date", background=True)(
    lambda: _retry_after(email.utils.formatdate(time.time() - 3600, usegmt=True))
)


# 6. Escapes in the log ------------------------------------------------------------------------

ESCAPES = "\x1b[2J\x1b[H\x1b]52;c;cHJvYmU=\x07\x1b]0;owned\x07"


def _log_clean(sp: Space, runs: list[Result], marker: str | None) -> tuple[list[str], str]:
    log = sp.logs()
    problems = []
    bad = sorted({f"\\x{b:02x}" for b in log if b in (0x1B, 0x07, 0x9B)})
    if bad:
        problems.append(f"raw {' '.join(bad)} in the log")
    if b"\xc2\x9b" in log or b"\xc2\x9d" in log:
        problems.append("C1 controls in the log")
    for r in runs:
        if re.search("[\x1b\x07\x9b]", r.out + r.err):
            problems.append("raw ESC/BEL on stdout/stderr")
    seen = "the log mentions it" if marker and marker.encode() in log else (f"log {len(log)} bytes")
    return problems, seen


def _escapes_from_api(field: str) -> tuple[bool, str]:
    sp = Space(f"c6-{field}")
    marker = "PROBEMARK"
    if field == "status":
        doc = task(A, f"{marker}{ESCAPES}processing")
    else:
        doc = task(A, "failed", error=f"{marker}{ESCAPES}failed")
    with hosts(api_host(lambda h, r, t: doc)) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "--log-level", "debug", "refresh")
        listed = run(env, "list")
    problems, seen = _log_clean(sp, [r, listed], marker)
    return verdict(problems + r.problems((0, 1)), f"{seen}; refresh {r.brief()}")


attack("6", "log: ESC/OSC 52/BEL in the status text")(lambda: _escapes_from_api("status"))
attack("6", "log: ESC/OSC 52/BEL in the error text")(lambda: _escapes_from_api("error"))

HOSTILE_CODING = b"\x1b[2J\x1b]52;c;cHJvYmU=\x07x-probe"


@attack("6", "log: ESC sequences in the API's Content-Encoding header")
def _() -> tuple[bool, str]:
    sp = Space("c6-api-ce")

    def answer(h: Host, r: Req, t: str | None) -> Any:
        return lambda c: send(c, 200, json.dumps(task(t)), [("Content-Encoding", HOSTILE_CODING)])

    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "--log-level", "debug", "refresh")
    problems, seen = _log_clean(sp, [r], "x-probe")
    return verdict(problems + r.problems((0, 1)), f"{seen}; refresh {r.brief()}")


@attack("6", "log: ESC sequences in the video host's Content-Encoding header")
def _() -> tuple[bool, str]:
    sp = Space("c6-video-ce")
    video = video_host(
        lambda h, r, c: send(c, 200, TINY_MP4, [("Content-Encoding", HOSTILE_CODING)], "video/mp4")
    )
    with hosts(video, _completed_at(video)) as (_, api):
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "--log-level", "debug", "download", A, timeout=30)
    problems, seen = _log_clean(sp, [r], "x-probe")
    return verdict(problems + r.problems((1,)), f"{seen}; download {r.brief()}")


# 7. Files beside a download -------------------------------------------------------------------


def _html(h: Host, r: Req, c: socket.socket) -> bool:
    return send(c, 200, b"<!doctype html><title>login</title>" + b"x" * 1500, ctype="text/html")


def _beside(kind: str) -> tuple[bool, str]:
    sp = Space(f"c7-{kind}")
    sp.dl.mkdir()
    rejected = sp.dl / f"{A}.mp4.rejected"
    outside = sp.root / "outside.txt"
    outside.write_bytes(b"a user's own file, outside the folder\n")
    if kind == "file":
        rejected.write_bytes(b"the user's notes, kept here on purpose\n")
        before = (rejected.read_bytes(), rejected.stat().st_ino)
    else:
        rejected.symlink_to(outside)
    video = video_host(_html)
    with hosts(video, _completed_at(video)) as (_, api):
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "download", A, timeout=30)
    problems = r.problems((1,))
    if kind == "file":
        if (
            not rejected.is_file()
            or rejected.is_symlink()
            or (rejected.read_bytes(), rejected.stat().st_ino) != before
        ):
            problems.append("the user's .rejected file was overwritten or replaced")
    else:
        if not rejected.is_symlink() or os.readlink(rejected) != str(outside):
            problems.append("the symlink at .rejected was replaced")
    if outside.read_bytes() != b"a user's own file, outside the folder\n":
        problems.append("the file outside the folder was written")
    names = sorted(p.name for p in sp.dl.iterdir())
    return verdict(problems, f"folder now {shown(names, 80)}; {r.brief()}")


attack("7", "download: a user's file is already at <id>.mp4.rejected")(lambda: _beside("file"))
attack("7", "download: a symlink is already at <id>.mp4.rejected")(lambda: _beside("link"))

BROKEN_GZIP = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x07" + bytes(range(256)) * 4
BROKEN_GZIP = BROKEN_GZIP[:1000]


@attack("7", "download: a gzip body that fails to decode, then a second run (no Range from it)")
def _() -> tuple[bool, str]:
    sp = Space("c7-gzip")
    phase = {"broken": True}

    def respond(h: Host, r: Req, c: socket.socket) -> bool:
        if phase["broken"]:
            return send(c, 200, BROKEN_GZIP, [("Content-Encoding", "gzip")], "video/mp4")
        return _html(h, r, c)

    video = video_host(respond)
    with hosts(video, _completed_at(video)) as (_, api):
        env = sp.env(api)
        sp.add(env, A)
        first = run(env, "download", A, timeout=30)
        parts = {p.name: p.read_bytes() for p in sp.dl.glob("*.part")} if sp.dl.is_dir() else {}
        phase["broken"] = False
        t0 = now()
        second = run(env, "download", A, timeout=30)
        with video.lock:
            ranges = [r.header("Range") for r in video.requests if r.t >= t0 and r.header("Range")]
    problems = first.problems((1,)) + second.problems((1,))
    raw = [n for n, data in parts.items() if data and BROKEN_GZIP.startswith(data[:16])]
    if raw:
        problems.append(f"{raw[0]} holds the raw gzip bytes")
    if ranges:
        problems.append(f"the next run sent Range: {shown(ranges[0], 40)}")
    return verdict(
        problems, f"first {first.brief()}; .part after: { {n: len(d) for n, d in parts.items()} }"
    )


# 8. Keys and configs --------------------------------------------------------------------------


def _key_case(
    name: str,
    *,
    file: bytes | None = None,
    env_key: str | None = None,
    secret: str,
    allow_ok: str | None = None,
) -> tuple[bool, str]:
    sp = Space(f"c8-{name}")
    with hosts(plain_api()) as api:
        env = sp.env(api, STARVIDEOS_API_KEY=env_key)
        seed = sp.env(api)
        sp.add(seed, A)
        source = "STARVIDEOS_API_KEY"
        if file is not None:
            source = str(sp.key_file(file))
        r = run(env, "refresh")
        with api.lock:
            sent = [q.header("Authorization") for q in api.requests]
    problems = r.problems((0, 1, 2) if allow_ok else (1, 2))
    if secret in r.out or secret in r.err:
        problems.append("the key text was printed")
    if r.rc == 0 and allow_ok is not None:
        if any(s != f"Bearer {allow_ok}" for s in sent):
            problems.append(f"sent {shown(sent[:1], 60)}")
    elif r.rc in (1, 2):
        if len(r.lines) != 1:
            problems.append(f"{len(r.lines)} lines on stderr")
        if source not in r.err:
            problems.append(
                "the message does not name " + ("the key file" if file is not None else source)
            )
        if re.search(r"reach|connection", r.err):
            problems.append("blamed on the network")
    return verdict(problems, r.brief())


attack("8", "key file with a UTF-8 BOM")(
    lambda: _key_case(
        "bom", file=b"\xef\xbb\xbfsk-BOMSECRET42\n", secret="BOMSECRET42", allow_ok="sk-BOMSECRET42"
    )
)
attack("8", "key file in Latin-1 (not UTF-8)")(
    lambda: _key_case("latin1", file=b"sk-caf\xe9SECRET42\n", secret="SECRET42")
)
attack("8", "STARVIDEOS_API_KEY with non-ASCII text")(
    lambda: _key_case("nonascii", env_key="sk-café-SECRET42", secret="SECRET42")
)
attack("8", "STARVIDEOS_API_KEY with CR/LF inside")(
    lambda: _key_case("crlf", env_key="sk-SECRET42\r\nX-Injected: 1", secret="SECRET42")
)
attack("8", "key file of two lines")(
    lambda: _key_case("twolines", file=b"sk-SECRETONE42\nsk-SECRETTWO42\n", secret="SECRETONE42")
)
attack("8", "key file with a CR inside the key")(
    lambda: _key_case("cr", file=b"sk-SECRET\r42\n", secret="SECRET")
)


def _config_case(content: bytes, what: str) -> tuple[bool, str]:
    sp = Space(f"c8-cfg-{what}")
    sp.config.mkdir(parents=True)
    path = sp.config / "config.toml"
    path.write_bytes(content)
    r = run(sp.env(), "list")
    problems = r.problems((2, 1))
    if len(r.lines) != 1:
        problems.append(f"{len(r.lines)} lines on stderr")
    if str(path) not in r.err:
        problems.append("the message does not name the config file")
    return verdict(problems, r.brief())


attack("8", "config.toml not UTF-8 (Latin-1 in a comment)")(
    lambda: _config_case(b"interval = 30\n# caf\xe9 cr\xe8me\n", "latin1")
)
attack("8", "config.toml not UTF-8 (a bad byte in a value)")(
    lambda: _config_case(b'download_dir = "/tmp/\xff\xfe"\n', "value")
)


# 9. Other tracebacks --------------------------------------------------------------------------


def _closed_stdout(*args: str) -> tuple[bool, str]:
    sp = Space("c9-closed")
    with hosts(plain_api()) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, *args, stdout="closed")
    return verdict(r.problems((1, 2)), r.brief())


attack("9", "list >&- (stdout closed)")(lambda: _closed_stdout("list"))
attack("9", "list --json >&- (stdout closed)")(lambda: _closed_stdout("list", "--json"))
attack("9", "refresh >&- (stdout closed)")(lambda: _closed_stdout("refresh"))


@attack("9", "the TUI with stdin closed (stdout a terminal)")
def _() -> tuple[bool, str]:
    sp = Space("c9-tui-stdin")
    with hosts(plain_api()) as api:
        env = sp.env(api)
        sp.add(env, A)
        tui = Tui(env, stdin_closed=True)
        try:
            rc = tui.child.wait(15)
        finally:
            tui.finish()
    screen = tui.screen()
    problems = []
    if rc is None:
        problems.append("still running after 15 s")
    elif rc not in (1, 2):
        problems.append(f"exit {rc}")
    if TRACEBACK in screen:
        problems.append("traceback")
    last = [x for x in screen.splitlines() if x.strip()]
    return verdict(problems, f"rc={rc} «{shown(last[-1] if last else '', 90)}»")


def _sim(*args: str) -> tuple[bool, str]:
    sp = Space("c9-sim")
    r = run(sp.env(), "sim", *args, timeout=10)
    problems = r.problems((2,))
    if len(r.lines) != 1 and not r.timed_out:
        problems.append(f"{len(r.lines)} lines on stderr")
    return verdict(problems, r.brief())


attack("9", "sim --port 99999")(lambda: _sim("--port", "99999"))
attack("9", "sim --port -1")(lambda: _sim("--port", "-1"))


# 10. The TUI's faces --------------------------------------------------------------------------


def _not_a_terminal(target: str) -> tuple[bool, str]:
    sp = Space("c10-notty")
    with hosts(plain_api()) as api:
        env = sp.env(api)
        sp.add(env, A)
        out = target if target != "file" else str(sp.root / "screen.txt")
        r = run(env, stdin="tty", stdout=out, timeout=8)
        written = Path(out).read_bytes() if target == "file" else b""
    problems = r.problems((1, 2))
    if r.secs > 5 and not r.timed_out:
        problems.append(f"took {r.secs:.1f} s")
    if not re.search(r"\blist\b", r.err) or not re.search(r"\bwatch\b", r.err):
        problems.append("the message does not point to list and watch")
    if b"\x1b" in written:
        problems.append(f"{len(written)} bytes of escapes written to the file")
    return verdict(problems, r.brief())


attack("10", "the TUI with stdout a file: refuses within 5 s")(lambda: _not_a_terminal("file"))
attack("10", "the TUI with stdout /dev/null: refuses within 5 s")(
    lambda: _not_a_terminal("/dev/null")
)


def _tui_api() -> Host:
    def answer(h: Host, r: Req, t: str | None) -> Any:
        h.pause(0.05)
        return task(t or A)

    return api_host(answer)


def _tui_signal(sig: signal.Signals) -> tuple[bool, str]:
    sp = Space(f"c10-{sig.name}")
    with hosts(_tui_api()) as api:
        env = sp.env(api)
        sp.add(env, A)
        tui = Tui(env)
        try:
            drawn = tui.wait_for(A[-6:], 25)
            t0 = now()
            tui.child.signal(sig)
            rc = tui.child.wait(5)
            took = now() - t0
        finally:
            tui.finish()
    problems = []
    if not drawn:
        problems.append("the first row never showed")
    want = 128 + sig.value
    if rc is None:
        problems.append(f"still running 5 s after {sig.name}")
    elif rc != want:
        problems.append(f"exit {rc}, not {want}")
    if TRACEBACK in tui.screen():
        problems.append("traceback")
    return verdict(problems, f"{sig.name} -> rc={rc} in {took:.1f} s")


attack("10", "the TUI gets SIGTERM: exit 143")(lambda: _tui_signal(signal.SIGTERM))
attack("10", "the TUI gets SIGHUP: exit 129")(lambda: _tui_signal(signal.SIGHUP))


@attack("10", "the TUI at 20x5: the row shows its id")
def _() -> tuple[bool, str]:
    sp = Space("c10-20x5")
    with hosts(_tui_api()) as api:
        env = sp.env(api)
        sp.add(env, A)
        tui = Tui(env, cols=20, rows=5)
        try:
            # the row, by its id's end: at 20 columns the status is cut to "◐ p…"
            drawn = tui.wait_for(A[-4:], 12)
            time.sleep(0.5)
            screen = tui.screen()
            tui.child.signal(signal.SIGTERM)
            tui.child.wait(5)
        finally:
            tui.finish()
    # the distinctive end (README: ids are shortened to their end), else at least a prefix
    tail = A[-4:] in screen
    head = A[:8] in screen
    problems = [] if tail or head else [f"neither …{A[-4:]} nor {A[:8]}… on the screen"]
    if not drawn:
        problems.append("the row never showed")
    seen = f"…{A[-4:]}" if tail else f"{A[:8]}… (a prefix only)" if head else "no id"
    return verdict(problems, f"the row shows {seen}")


def _hang_up(moments: tuple[float | None, ...], controlling: bool = True) -> tuple[bool, str]:
    """The TUI on 1,000 tasks against a live API; its terminal goes away (the pty's master
    is closed: SIGHUP when it is the controlling terminal, and EIO on every read and write)
    at each moment (None: as soon as the first row shows). It must end within 5 s; if not,
    SIGTERM is tried, as a user would."""
    sp = Space("c10-hangup")
    ids = [tid(10_000 + i) for i in range(1000)]
    seen, problems = [], []
    with hosts(_tui_api()) as api:
        env = sp.env(api)
        sp.add(env, *ids)
        for moment in moments:
            tui = Tui(env, controlling=controlling)
            try:
                if moment is None:
                    # an id's distinctive end: with 1,000 rows the scrollbar takes a
                    # column and the ids are shortened to "…1774846700" (README)
                    if not tui.wait_for(ids[0][-10:-3], 25):
                        problems.append("the first row never showed")
                else:
                    time.sleep(moment)
                tui.hang_up()
                t0 = now()
                rc = tui.child.wait(5)
                took = now() - t0
                when = "first row" if moment is None else f"{moment:g} s"
                if rc is None:
                    tui.child.signal(signal.SIGTERM)
                    after = tui.child.wait(3)
                    problems.append(
                        f"hung up at {when}: still running 5 s later"
                        + ("; SIGTERM did not end it" if after is None else "")
                    )
                seen.append(f"{when}: rc={rc} in {took:.1f} s")
            finally:
                tui.finish()
    return verdict(problems, "; ".join(seen))


attack("10", "the TUI on 1,000 tasks: its terminal goes away once the first row shows (x3)")(
    lambda: _hang_up((None, None, None))
)
attack("10", "the TUI on 1,000 tasks: its terminal goes away during start-up")(
    lambda: _hang_up((0.2, 0.6, 1.2))
)
attack("10", "the TUI on 1,000 tasks: EIO on its terminal (not its controlling one, no SIGHUP)")(
    lambda: _hang_up((None, 0.6), controlling=False)
)


# 11. Long signed links ------------------------------------------------------------------------


def signed_url(base: str, length: int) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    head = (
        f"{base}/bucket/videos/{A}.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=ASIAPROBE%2F{stamp[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date={stamp}&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        "&X-Amz-Security-Token="
    )
    tail = "&X-Amz-Signature=" + secrets.token_hex(32)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789%2B%2F"
    token = "".join(secrets.choice(alphabet) for _ in range(length - len(head) - len(tail)))
    return head + token + tail


def _long_link(length: int) -> tuple[bool, str]:
    sp = Space(f"c11-{length}")
    video = video_host()
    url = signed_url(video.url, length)
    api = api_host(lambda h, r, t: task(t, "completed", video_url=url, actualDuration=TINY_SECONDS))
    with hosts(video, api):
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "download", A, timeout=30)
        with video.lock:
            got = [len(q.target) for q in video.requests]
    problems = r.problems((0,))
    if r.rc == 0 and not Path(r.out.strip().splitlines()[-1] if r.out.strip() else "/").is_file():
        problems.append("no saved file printed")
    full = len(url) - len(video.url)
    if not any(n == full for n in got):
        problems.append("the host never got the whole link")
    return verdict(problems, f"{len(url)}-char link; host got {got or 'nothing'}; {r.brief()}")


attack("11", "download: a 1,000-character presigned S3 link (the control)")(
    lambda: _long_link(1_000)
)
attack("11", "download: a 10,000-character presigned S3 link")(lambda: _long_link(10_000))
attack("11", "download: a 16,000-character presigned S3 link")(lambda: _long_link(16_000))


# 12. Messages that mislead --------------------------------------------------------------------


def _rate_limited(retry_after: str) -> tuple[Result, Result, Space]:
    sp = Space("c12-429")
    with hosts(
        api_host(lambda h, r, t: (429, {"error": "slow down"}, [("Retry-After", retry_after)]))
    ) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "refresh")
        listed = run(env, "list", "--json")
    return r, listed, sp


@attack("12", 'refresh: the single task got a 429: not "0 task(s) not polled"')
def _() -> tuple[bool, str]:
    r, _, _ = _rate_limited("60")
    problems = r.problems((1,))
    if re.search(r"\b0 task\(s\) not polled", r.err):
        problems.append('says "0 task(s) not polled"')
    return verdict(problems, r.brief())


@attack("12", "refresh: Retry-After 1000000000000: the stored note says the real wait")
def _() -> tuple[bool, str]:
    r, listed, _ = _rate_limited("1000000000000")
    problems = r.problems((1,)) + [f"list: {p}" for p in listed.problems((0,))]
    where = [
        w
        for w, text in (("stderr", r.err), ("stdout", r.out), ("list --json", listed.out))
        if "1000000000000" in text or re.search(r"retry after \d{5,} s", text)
    ]
    if where:
        problems.append(f"an absurd wait in {', '.join(where)}")
    note = re.search(r"retry after [^\"]*", listed.out)
    return verdict(problems, f"note «{shown(note.group(0) if note else '', 60)}»; {r.brief()}")


@attack("12", "--interval 0: the message does not say 0 is allowed")
def _() -> tuple[bool, str]:
    sp = Space("c12-interval")
    r = run(sp.env(), "--interval", "0", "list")
    problems = r.problems((2,))
    if re.search(r"between 0 and", r.err):
        problems.append('says "between 0 and …"')
    return verdict(problems, r.brief())


def _malformed(raw: Callable[[str], bytes], what: str) -> tuple[bool, str]:
    sp = Space(f"c12-{what}")

    def answer(h: Host, r: Req, t: str | None) -> Any:
        def go(conn: socket.socket) -> bool:
            conn.sendall(raw(t or A))
            return False

        return go

    with hosts(api_host(answer)) as api:
        env = sp.env(api)
        sp.add(env, A)
        r = run(env, "refresh")
        listed = run(env, "list", "--json")
    problems = r.problems((1,))
    if "connection failed" in r.err + r.out + listed.out:
        problems.append('called "the connection failed"')
    return verdict(problems, r.brief())


def _body(t: str) -> bytes:
    return json.dumps(task(t)).encode()


attack("12", "malformed HTTP: a bad status line")(
    lambda: _malformed(lambda t: b"HTTP/1.1 OK-ish\r\nContent-Length: 2\r\n\r\n{}", "status-line")
)
attack("12", "malformed HTTP: a bad chunk size")(
    lambda: _malformed(
        lambda t: (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json"
            b"\r\n\r\nzz\r\n" + _body(t) + b"\r\n0\r\n\r\n"
        ),
        "chunk",
    )
)
attack("12", "malformed HTTP: two different Content-Lengths")(
    lambda: _malformed(
        lambda t: (
            b"HTTP/1.1 200 OK\r\nContent-Length: "
            + str(len(_body(t))).encode()
            + b"\r\nContent-Length: 7\r\n\r\n"
            + _body(t)
        ),
        "lengths",
    )
)
attack("12", "malformed HTTP: a 200 kB header")(
    lambda: _malformed(
        lambda t: (
            b"HTTP/1.1 200 OK\r\nX-Big: "
            + b"a" * 200_000
            + b"\r\nContent-Length: "
            + str(len(_body(t))).encode()
            + b"\r\n\r\n"
            + _body(t)
        ),
        "header",
    )
)


@attack("12", 'add --: not "unknown option --"')
def _() -> tuple[bool, str]:
    sp = Space("c12-add")
    r = run(sp.env(), "add", "--")
    problems = r.problems((2,))
    if re.search(r"unknown option --(?![\w-])", r.err):
        problems.append('says "unknown option --"')
    return verdict(problems, r.brief())


@attack("12", "--auto-download --no-auto-download together: refused")
def _() -> tuple[bool, str]:
    sp = Space("c12-auto")
    r = run(sp.env(), "--auto-download", "--no-auto-download", "list")
    problems = r.problems((2,))
    return verdict(problems, r.brief())


@attack("12", "--demo list: --demo is not ignored silently")
def _() -> tuple[bool, str]:
    sp = Space("c12-demo")
    env = sp.env()
    sp.add(env, A)
    r = run(env, "--demo", "list", timeout=20)
    problems = r.problems((2, 0))
    if r.rc == 0 and A in r.out:
        problems.append("listed the user's own watchlist: --demo ignored")
    if r.rc == 2 and "--demo" not in r.err:
        problems.append("the message does not name --demo")
    return verdict(problems, r.brief())


@attack("12", "list: a journal that is a directory is named with its path")
def _() -> tuple[bool, str]:
    sp = Space("c12-journal")
    env = sp.env()
    sp.add(env, A)
    journal = Path(f"{sp.db}.journal")
    if journal.exists():
        journal.unlink()
    journal.mkdir()
    r = run(env, "list")
    problems = r.problems((1,))
    if str(journal) not in r.err:
        problems.append("the message does not name the journal's path")
    return verdict(problems, r.brief())


@attack("12", 'list: a status with zero-width characters does not print as "completed"')
def _() -> tuple[bool, str]:
    sp = Space("c12-zw")
    docs = {
        A: task(A, "com\u200bple\u200dted\ufeff", video_url=None),
        B: task(B, "completed", video_url="http://127.0.0.1:9/v.mp4", actualDuration=2),
    }
    with hosts(api_host(lambda h, r, t: docs.get(t or "", task(t)))) as api:
        env = sp.env(api)
        sp.add(env, A, B)
        refreshed = run(env, "refresh")
        r = run(dict(env, COLUMNS="200"), "list")
    rows = {line.split()[0]: line for line in r.out.splitlines() if line.startswith("video_")}
    status = {}
    for t in (A, B):
        line = rows.get(t, "")
        status[t] = line[32:45].strip() if line else ""
    visible = {
        t: "".join(c for c in s if unicodedata.category(c) not in ("Cf", "Mn", "Cc"))
        for t, s in status.items()
    }
    problems = refreshed.problems((0, 1)) + r.problems((0,))
    if status[A] and visible[A] == visible[B]:
        problems.append(f"both print as {shown(visible[B], 30)!r}")
    return verdict(
        problems,
        f"zero-width status shown as «{shown(status[A], 40)}», "
        f"the real one as «{shown(status[B], 40)}»",
    )


# general --------------------------------------------------------------------------------------


@attack("general", "a redirect from the API and from the video host to a third host")
def _() -> tuple[bool, str]:
    sp = Space("gen-redirect")
    third = third_host()
    video = video_host(lambda h, r, c: send(c, 302, b"", [("Location", third.url + "/v.mp4")]))

    def answer(h: Host, r: Req, t: str | None) -> Any:
        if t == A:
            return 307, b"", [("Location", f"{third.url}/v1/result/{t}")]
        return task(t, "completed", video_url=video.url + "/v.mp4", actualDuration=2)

    with hosts(third, video, api_host(answer)) as (_, _, api):
        env = sp.env(api)
        sp.add(env, A, B)
        r1 = run(env, "refresh")
        r2 = run(env, "download", B, timeout=30)
        with third.lock:
            keyed = [
                q for q in third.requests if q.header("Authorization") or KEY.encode() in q.raw
            ]
    problems = r1.problems((0, 1)) + r2.problems((1,))
    if keyed:
        problems.append(f"the third host got the key ({len(keyed)} request(s))")
    return verdict(
        problems,
        f"third host saw {len(third.requests)} request(s); "
        f"refresh {r1.brief()}; download {r2.brief()}",
    )


def general_checks() -> list[tuple[str, str, bool, str]]:
    others = [h for h in Host.ALL if h.role != "api"]
    total = sum(len(h.requests) for h in others)
    leaks = [
        (h.role, q.target[:60])
        for h in others
        for q in h.requests
        if q.header("Authorization") or KEY.encode() in q.raw
    ]
    printed = [r for r in RUNS if KEY in r.out or KEY in r.err]
    tbs = [r for r in RUNS if r.tb]
    return [
        (
            "general",
            f"the key never reached a host but the API's ({total} requests elsewhere)",
            not leaks,
            f"{len(leaks)} with the key: {shown(leaks[:2], 80)}"
            if leaks
            else f"{total} requests to {len(others)} video/third hosts, none with the key",
        ),
        (
            "general",
            "the key never printed",
            not printed,
            f"{len(RUNS)} runs, {len(printed)} printed it",
        ),
        (
            "general",
            "every child ended with its run (no process left in its group)",
            not LEFTOVERS,
            f"{len(LEFTOVERS)} left: {shown(LEFTOVERS[:3], 80)}"
            if LEFTOVERS
            else f"{len(RUNS)} runs",
        ),
        (
            "general",
            "no traceback in any run",
            not tbs,
            f"{len(tbs)} of {len(RUNS)} runs printed one" if tbs else f"{len(RUNS)} runs",
        ),
    ]


# -- the runner --------------------------------------------------------------------------------


def class_key(cls: str) -> tuple[int, str]:
    return (int(cls), "") if cls.isdigit() else (99, cls)


def report(cls: str, what: str, ok: bool, evidence: str, secs: float | None = None) -> None:
    took = f" ({secs:.0f}s)" if secs is not None and secs >= 1 else ""
    print(f"{'PASS' if ok else 'FAIL'}  [{cls:>2}] {what}{took} :: {evidence}", flush=True)


def safely(fn: Callable[[], tuple[bool, str]]) -> tuple[bool, str]:
    try:
        return fn()
    except ProbeError as exc:
        return False, f"PROBE-ERROR {exc}"
    except Exception as exc:  # the probe's own bug: reported, never a crash of the whole run
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return False, f"PROBE-ERROR {type(exc).__name__}: {shown(exc, 80)} (line {where.lineno})"


def main(argv: list[str] | None = None) -> int:
    global CLI, ROOT
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cli",
        help="the starvideos-tui console script (default: the repo's .venv, else the one on PATH)",
    )
    parser.add_argument("--only", help="classes to run, e.g. 1 or 3,4 or general")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    venv_cli = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "starvideos-tui"
    CLI = args.cli or (str(venv_cli) if venv_cli.exists() else shutil.which("starvideos-tui") or "")
    if not CLI or not os.access(CLI, os.X_OK):
        print(f"probe: no starvideos-tui console script at {CLI!r}: give --cli", file=sys.stderr)
        return 2
    CLI = str(Path(CLI).absolute())
    only = {c.strip() for c in args.only.split(",")} if args.only else None
    chosen = [a for a in ATTACKS if only is None or a[0] in only]
    if only and not chosen and "general" not in only:
        print(f"probe: no attacks in class(es) {args.only}", file=sys.stderr)
        return 2
    ROOT = Path(tempfile.mkdtemp(prefix="starvideos-probe-"))
    # SIGTERM or SIGHUP to the probe unwinds like Ctrl-C, so the cleanup below runs
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupted)
    print(f"probe: {CLI} ({len(chosen)} attacks; key canary {KEY[:16]}…; in {ROOT})", flush=True)
    results: list[tuple[str, str, bool, str]] = []
    interrupted = False
    stopping = threading.Event()
    lock = threading.Lock()
    started = now()

    def one(cls: str, what: str, fn: Callable[[], tuple[bool, str]]) -> None:
        t0 = now()
        ok, evidence = safely(fn)
        if stopping.is_set():
            return  # interrupted: its children were killed under it, its verdict means nothing
        with lock:
            results.append((cls, what, ok, evidence))
            report(cls, what, ok, evidence, now() - t0)

    try:
        if any(a[0] == "3" for a in chosen):
            bomb("gzip"), bomb("deflate")
        background = [threading.Thread(target=one, args=a[:3], daemon=True) for a in chosen if a[3]]
        for thread in background:
            thread.start()
            time.sleep(0.3)
        for cls, what, fn, bg in chosen:
            if not bg:
                one(cls, what, fn)
        for thread in background:
            thread.join()
        if only is None or "general" in only:
            for cls, what, ok, evidence in general_checks():
                results.append((cls, what, ok, evidence))
                report(cls, what, ok, evidence)
    except KeyboardInterrupt:
        print("probe: interrupted", file=sys.stderr)
        interrupted = True
        stopping.set()
    finally:
        for child in list(LIVE):  # children of attacks still running in the background
            _kill_group(child.pid)
            with contextlib.suppress(ChildProcessError):
                child.finish()
        for h in Host.ALL:
            h.close()
        if not args.keep:
            shutil.rmtree(ROOT, ignore_errors=True)
    print()
    by_class: dict[str, list[bool]] = {}
    for cls, _, ok, _ in results:
        by_class.setdefault(cls, []).append(ok)
    for cls in sorted(by_class, key=class_key):
        oks = by_class[cls]
        print(f"class {cls:>7}: {len(oks):3} attacks, {oks.count(False):3} failed")
    failed = sum(1 for r in results if not r[2])
    print(f"{len(results)} attacks, {failed} failed ({now() - started:.0f} s)")
    if interrupted:
        return 130
    return 1 if failed else 0


def _interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
