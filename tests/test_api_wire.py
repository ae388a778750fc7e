"""The API client against hostile servers of our own on loopback (issue 23): answers that
drip, decompression bombs, Retry-After values that would speed polling up, long signed
links, and HTTP that is not HTTP. Raw sockets where the bytes themselves are the attack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from helpers_cli import Cli
from helpers_http import Reply, ScriptedHTTPServer, Seen, ranged
from helpers_inproc import SameProcessCli
from helpers_media import padded_video

from starvideos_tui.api import client as api
from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.create_request import CreateRequest
from starvideos_tui.api.errors import (
    DEFAULT_RETRY_AFTER,
    MalformedResponse,
    NetworkError,
    RateLimited,
)
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.core.values import MAX_URL_LENGTH
from starvideos_tui.engine.events import ApiState
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.poll import DEFAULT_CONCURRENCY
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.storage.store import Watchlist

KEY = "sk-wire-test-0123456789"
TASK = "video_starvideos_o3_2300000001"
OTHER = "video_starvideos_o3_2300000002"
Serve = Callable[..., ScriptedHTTPServer]


def answer(task_id: str = TASK, **extra: object) -> bytes:
    body = {"id": task_id, "object": "video", "status": "processing", "created": 1774836724}
    return json.dumps(body | extra).encode()


def json_reply(body: bytes, **headers: str) -> Reply:
    return Reply(200, body, {"Content-Type": "application/json", **headers})


def task_of(seen: Seen) -> str:
    return seen.path.rsplit("/", 1)[-1]


class RawServer:
    """Each connection on 127.0.0.1 handled by `script(conn, closing)` in a thread of its
    own: for bytes no HTTP server library would send. `close()` ends them all."""

    def __init__(self, script: Callable[[socket.socket, threading.Event], None]) -> None:
        self.script = script
        self.closing = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.threads: list[threading.Thread] = []
        self.accepted = 0
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.05)  # a close() elsewhere does not wake a blocked accept()
        while not self.closing.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            thread = threading.Thread(target=self._run, args=(conn,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                _read_request(conn)
                self.script(conn, self.closing)
            except OSError:
                pass

    def close(self) -> None:
        self.closing.set()
        self._accepting.join(timeout=5)
        self.sock.close()
        for thread in self.threads:
            thread.join(timeout=5)


def _read_request(conn: socket.socket) -> bytes:
    seen = b""
    while b"\r\n\r\n" not in seen:
        data = conn.recv(65536)
        if not data:
            break
        seen += data
    return seen


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    started: list[RawServer] = []

    def start(script: Callable[[socket.socket, threading.Event], None]) -> RawServer:
        server = RawServer(script)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def drip(data: bytes, every: float) -> Callable[[socket.socket, threading.Event], None]:
    """A byte of `data` every `every` seconds, until it is all sent or the test ends."""

    def script(conn: socket.socket, closing: threading.Event) -> None:
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            if closing.wait(every):
                return

    return script


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


# == class 2: an answer that drips ===========================================================

DRIPS = {
    "body": HEAD + b"Content-Length: %d\r\n\r\n" % len(answer()) + answer(),
    "status-line": HEAD + b"Content-Length: 2\r\n\r\n{}",
    "chunked": HEAD + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n1\r\n}\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("how", ["body", "status-line", "chunked"])
async def test_an_answer_that_drips_is_given_up_at_the_whole_requests_deadline(
    raw_server: Callable[..., RawServer], how: str
) -> None:
    """A byte every 0.2 s never trips a read timeout; the deadline of the whole request
    ends it, as a network error that says what happened."""
    raw = DRIPS[how]
    if how == "body":
        head, body = raw.split(b"\r\n\r\n", 1)
        script = _then_drip(head + b"\r\n\r\n", body)
    else:
        script = drip(raw, 0.2)
    server = raw_server(script)
    async with StarVideosClient(server.url, KEY, deadline=1.5) as client:
        started = time.monotonic()
        with pytest.raises(NetworkError) as caught:
            await client.get_result(TASK)
        took = time.monotonic() - started
    assert 1.4 <= took < 4.0, took  # the deadline, give or take a loaded machine's lag
    message = caught.value.message
    assert message == "the API sent its answer too slowly: no whole answer within 1.5 s"
    assert not caught.value.unsent  # it may have been acted on: a create is "perhaps made"


def _then_drip(first: bytes, rest: bytes) -> Callable[[socket.socket, threading.Event], None]:
    def script(conn: socket.socket, closing: threading.Event) -> None:
        conn.sendall(first)
        drip(rest, 0.2)(conn, closing)

    return script


async def test_a_create_whose_answer_drips_ends_at_the_deadline_as_perhaps_made(
    raw_server: Callable[..., RawServer],
) -> None:
    server = raw_server(drip(DRIPS["status-line"], 0.2))
    async with StarVideosClient(server.url, KEY, deadline=1.0) as client:
        with pytest.raises(NetworkError) as caught:
            await client.create_task(CreateRequest(prompt="a cat"))
    assert "too slowly" in caught.value.message and not caught.value.unsent


async def run_for(seconds: float, monitor: Monitor, client: StarVideosClient) -> None:
    """`watch`'s engine for `seconds`, then stopped where it is (a pass held open by a
    request does not end the test late), closed, and its client too."""
    try:
        await monitor.start()
        runner = asyncio.create_task(monitor.run())
        await asyncio.sleep(seconds)
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    finally:
        await monitor.close()
        await client.aclose()


def _dripping_api(serve: Serve, slow: str, counts: dict[str, int]) -> ScriptedHTTPServer:
    lock = threading.Lock()

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = task_of(seen)
        with lock:
            counts[task_id] = counts.get(task_id, 0) + 1
        body = answer(task_id)
        if task_id == slow:
            return Reply(200, body, {"Content-Type": "application/json"}, pace=0.2, piece=1)
        return json_reply(body)

    return serve(respond)


async def test_watch_keeps_polling_the_others_while_one_answer_drips(
    serve: Serve, tmp_path: Path
) -> None:
    """Polled every 0.5 s, with the deadline far off (10 s): the dripping request is handed
    on by its pass (after 0.5 s here), and the other task keeps its schedule (the issue:
    once in 80 s)."""
    counts: dict[str, int] = {}
    api_server = _dripping_api(serve, TASK, counts)
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=TASK), TaskRecord(id=OTHER)])
    schedule = PollSchedule(interval=0.5, jitter=0.0)
    client = StarVideosClient(api_server.url(""), KEY, deadline=10.0)
    monitor = Monitor(
        watchlist, client, emit=lambda _: None, download_dir=tmp_path, schedule=schedule
    )
    assert monitor.poller is not None
    monitor.poller.patience = 0.5
    await run_for(3.0, monitor, client)
    assert counts.get(OTHER, 0) >= 3, counts  # about every 0.5 s: 5-6; once if held
    assert counts.get(TASK) == 1, counts  # still out: not asked again meanwhile


def test_the_watch_command_keeps_polling_the_others_while_one_answer_drips(
    serve: Serve, tmp_path: Path
) -> None:
    """The issue's case from outside: `watch` every 0.5 s (loopback) on two tasks, one
    answer dripping a byte every 0.2 s; in 4 s from its first request the other task is
    asked again and again (it was once in 80 s), the dripping one once."""
    counts: dict[str, int] = {}
    api_server = _dripping_api(serve, TASK, counts)
    cli = Cli(tmp_path, api_server.url(""))
    cli.ok("add", TASK, OTHER)
    child = subprocess.Popen(
        [sys.executable, "-m", "starvideos_tui", "--interval", "0.5", "watch"],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        start = time.monotonic()  # from its first request: a loaded machine starts slowly
        while not counts.get(OTHER) and time.monotonic() < start + 20:
            time.sleep(0.05)
        time.sleep(4.0)
        polled = dict(counts)
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=10)
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert polled.get(OTHER, 0) >= 3, polled  # 5-6 with the pass not waiting
    assert polled.get(TASK) == 1, polled


async def test_a_refused_key_in_an_answer_handed_on_is_said_at_once(
    serve: Serve, tmp_path: Path
) -> None:
    """The pass ended before the slow answer, a 401, landed: no later pass is coming (a
    refused key stops polling), so the API's state is judged as it lands."""

    def respond(_n: int, _seen: Seen) -> Reply:
        time.sleep(1.0)
        return Reply(401, b'{"error": {"message": "invalid api key"}}')

    server = serve(respond)
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=TASK)])
    states: list[str] = []
    client = StarVideosClient(server.url(""), KEY)
    monitor = Monitor(
        watchlist,
        client,
        emit=lambda e: states.append(e.word) if isinstance(e, ApiState) else None,
        download_dir=tmp_path,
        schedule=PollSchedule(interval=0.5),
    )
    assert monitor.poller is not None
    monitor.poller.patience = 0.2
    await run_for(2.0, monitor, client)
    assert states[-1:] == ["bad key"], states


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The CLI in this process with its folders under tmp_path, and the app's logger left
    as it was found (cli.main installs its log handler)."""
    for name in list(os.environ):
        if name.startswith("STARVIDEOS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("STARVIDEOS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("STARVIDEOS_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("starvideos_tui")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield monkeypatch
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]


def test_refresh_of_a_dripping_answer_ends_by_the_deadline(
    serve: Serve, own_home: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`refresh` with one dripping answer among two: done in about the deadline (here made
    1.5 s), the slow task's row says why, the other is polled."""
    from starvideos_tui.cli import main as cli

    counts: dict[str, int] = {}
    api_server = _dripping_api(serve, TASK, counts)
    own_home.setenv("STARVIDEOS_BASE_URL", api_server.url(""))
    own_home.setattr(api, "API_DEADLINE", 1.5)
    assert cli.main(["add", TASK, OTHER]) == 0
    capsys.readouterr()

    started = time.monotonic()
    code = cli.main(["refresh", "--json"])
    took = time.monotonic() - started
    out, err = capsys.readouterr()

    assert took < 4.0, took
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    assert rows[OTHER]["status"] == "processing"
    problem = rows[TASK]["last_problem"]
    assert problem["kind"] == "network"
    assert "too slowly: no whole answer within 1.5 s" in problem["message"]


# == class 3: decompression bombs ============================================================


def gzip_bomb(megabytes: int) -> bytes:
    """A valid gzip member of `megabytes` MB of zeros, made in a blink: after a full flush
    each megabyte compresses to the same bytes, so one is repeated."""
    zeros = bytes(1 << 20)
    maker = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = maker.compress(zeros) + maker.flush(zlib.Z_FULL_FLUSH)
    again = maker.compress(zeros) + maker.flush(zlib.Z_FULL_FLUSH)
    assert maker.compress(zeros) + maker.flush(zlib.Z_FULL_FLUSH) == again
    end = maker.flush()[:-8]  # the last block; the trailer is for the whole
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (megabytes << 20) & 0xFFFFFFFF)
    return first + again * (megabytes - 1) + end + trailer


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = gzip_bomb(500)
    assert len(data) < 600_000
    return data


def test_the_bomb_is_a_real_500_mb_gzip() -> None:
    small = gzip_bomb(20)
    inflate = zlib.decompressobj(31)
    size = 0
    for start in range(0, len(small), 4096):
        size += len(inflate.decompress(small[start : start + 4096]))
    assert inflate.eof and size == 20 << 20


def _zlib_wrapped(raw_deflate: bytes) -> bytes:
    """The bomb's deflate data as zlib wraps it (header, data, Adler-32 of the 500 MB)."""
    zeros, check = bytes(1 << 20), 1
    for _ in range(500):
        check = zlib.adler32(zeros, check)
    return b"\x78\xda" + raw_deflate + struct.pack(">I", check)


def _deflate(data: bytes, wbits: int) -> bytes:
    maker = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return maker.compress(data) + maker.flush()


BOMBS: dict[str, Callable[[bytes], tuple[bytes, str]]] = {
    "gzip": lambda b: (b, "gzip"),
    "x-gzip": lambda b: (b, "x-gzip"),
    "gzip-in-gzip": lambda b: (_deflate(b, 31), "gzip, gzip"),
    "deflate-zlib": lambda b: (_zlib_wrapped(b[10:-8]), "deflate"),
    "deflate-raw": lambda b: (b[10:-8], "deflate"),  # the gzip member's own deflate data
    "identity-then-gzip": lambda b: (b, "identity, gzip"),
}


@pytest.mark.parametrize("kind", BOMBS, ids=BOMBS.keys())
async def test_a_compressed_answer_that_expands_past_the_ceiling_is_refused(
    serve: Serve, bomb: bytes, kind: str
) -> None:
    body, coding = BOMBS[kind](bomb)
    server = serve(lambda _n, _s: json_reply(body, **{"Content-Encoding": coding}))
    async with StarVideosClient(server.url(""), KEY) as client:
        with pytest.raises(MalformedResponse) as caught:
            await client.get_result(TASK)
    assert caught.value.message == "malformed answer: larger than 1000 kB once decompressed"


CODED: dict[str, Callable[[bytes], tuple[bytes, str]]] = {
    "gzip": lambda b: (_deflate(b, 31), "gzip"),
    "deflate-zlib": lambda b: (_deflate(b, 15), "deflate"),
    "deflate-raw": lambda b: (_deflate(b, -15), "deflate"),
    "stacked": lambda b: (_deflate(_deflate(b, 15), 31), "deflate, gzip"),
    "upper-case": lambda b: (_deflate(b, 31), "GZIP"),
}


@pytest.mark.parametrize("kind", CODED, ids=CODED.keys())
async def test_an_honest_compressed_answer_is_read(serve: Serve, kind: str) -> None:
    body, coding = CODED[kind](answer(error="x" * 500_000))  # under the ceiling decoded
    server = serve(lambda _n, _s: json_reply(body, **{"Content-Encoding": coding}))
    async with StarVideosClient(server.url(""), KEY) as client:
        result = await client.get_result(TASK)
    assert result.status == "processing" and result.error == "x" * 4000
    assert server.seen[0].headers["accept-encoding"] == "gzip, deflate"


BAD_CODINGS = {
    "brotli-not-asked": (b"\x8b\x03\x80{}\x03", "br", "not asked for ('br')"),
    "zstd-not-asked": (b"(\xb5/\xfd", "zstd", "not asked for ('zstd')"),
    "escape-in-coding": (b"{}", "\x1b[2Jx", "not asked for"),
    "damaged-gzip": (b"\x1f\x8b\x08\x00garbage-garbage", "gzip", "gzip data is damaged"),
    "not-deflate-at-all": (b"\x07\x00 neither zlib nor raw", "deflate", "deflate data is damaged"),
    "ten-codings": (b"{}", ", ".join(["gzip"] * 10), "10 stacked content codings"),
}


@pytest.mark.parametrize(("body", "coding", "said"), BAD_CODINGS.values(), ids=BAD_CODINGS.keys())
async def test_an_answer_in_a_coding_not_asked_for_or_damaged_is_malformed(
    raw_server: Callable[..., RawServer], body: bytes, coding: str, said: str
) -> None:
    head = HEAD + f"Content-Encoding: {coding}\r\n".encode("latin-1")
    raw = head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    server = raw_server(lambda conn, _closing: conn.sendall(raw))
    async with StarVideosClient(server.url, KEY) as client:
        with pytest.raises(MalformedResponse) as caught:
            await client.get_result(TASK)
    assert said in caught.value.message
    assert "\x1b" not in caught.value.message


# `starvideos-tui ARGS` that writes its peak RSS (VmHWM, kB) to $PEAK_FILE as it exits.
# Not wait4's ru_maxrss: that keeps the peak from before exec, when the child still counted
# the pages of the parent it was forked from (this test process, itself near 100 MB).
PEAK_OF = """
import atexit, os, runpy, sys

def peak():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    with open(os.environ["PEAK_FILE"], "w") as out:
        out.write(line.split()[1])

atexit.register(peak)
runpy.run_module("starvideos_tui", run_name="__main__", alter_sys=True)
"""


def _peak_rss_of(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int]:
    """Run `starvideos-tui ARGS`; its exit code and its peak RSS in bytes."""
    peak_file = cwd / "peak"
    child = subprocess.Popen(
        [sys.executable, "-c", PEAK_OF, *args],
        env={**env, "PEAK_FILE": str(peak_file)},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        code = child.wait(timeout=60)
    finally:
        if child.returncode is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return code, int(peak_file.read_text()) * 1024


def test_refresh_against_a_gzip_bomb_stays_far_under_100_mb(
    serve: Serve, bomb: bytes, tmp_path: Path
) -> None:
    """0.5 MB of gzip that expands to 500 MB, as the API's answer: `refresh` records a
    malformed answer and its peak memory stays under 100 MB (it was 170 MB)."""
    server = serve(lambda _n, _s: json_reply(bomb, **{"Content-Encoding": "gzip"}))
    cli = Cli(tmp_path, server.url(""))
    cli.env["STARVIDEOS_API_KEY"] = KEY
    cli.ok("add", TASK)

    code, peak = _peak_rss_of(["refresh"], cli.env, cli.cwd)

    assert code == 1, f"exit {code}"  # no task could be polled
    assert peak < 100 * 2**20, f"peak RSS {peak / 2**20:.0f} MB"
    problem = cli.record(TASK)["last_problem"]
    assert problem["message"] == "malformed answer: larger than 1000 kB once decompressed"
    assert len(server.seen) == 1


# == class 5: a Retry-After that would speed polling up ======================================

SOON = {
    "none": None,
    "zero": "0",
    "negative": "-30",
    "a-date-in-the-past": formatdate(time.time() - 3600, usegmt=True),
    "fraction": "0.001",
    "one-second": "1",
    "under-the-interval": "20",
}


def _counting_429(serve: Serve, retry_after: str | None) -> tuple[ScriptedHTTPServer, list[float]]:
    sent: list[float] = []

    def respond(_n: int, _seen: Seen) -> Reply:
        sent.append(time.monotonic())
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        return Reply(429, b'{"error": {"message": "slow down"}}', headers)

    return serve(respond), sent


@pytest.mark.parametrize("retry_after", SOON.values(), ids=SOON.keys())
async def test_a_429_never_makes_polling_faster_than_the_schedule(
    serve: Serve, tmp_path: Path, retry_after: str | None
) -> None:
    """20 tasks, every answer a 429, polled every 30 s (passes at most 0.1 s apart): whatever
    the Retry-After says below the interval, the first round's requests are all there are
    for the next seconds, as with no Retry-After at all (the issue: 112 requests in 40 s
    with `Retry-After: 0`, 16 without one)."""
    server, sent = _counting_429(serve, retry_after)
    ids = [f"video_starvideos_o3_23100000{i:02d}" for i in range(20)]
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=i) for i in ids])
    schedule = PollSchedule(interval=30.0, min_gap=0.1)
    client = StarVideosClient(server.url(""), KEY)
    monitor = Monitor(
        watchlist, client, emit=lambda _: None, download_dir=tmp_path, schedule=schedule
    )
    await run_for(2.2, monitor, client)
    assert len(sent) <= DEFAULT_CONCURRENCY, f"{len(sent)} requests in 2.2 s"
    assert schedule.paused_until - sent[0] >= 29.0
    problems = [r.last_problem for r in Watchlist(tmp_path / "w.json").load() if r.last_problem]
    assert problems and all("retry after 30 s" in p.message for p in problems), problems[0]


@pytest.mark.parametrize("retry_after", ["0", "-5", "0.2"])
async def test_a_short_retry_after_is_raised_to_the_pause_of_none_even_on_loopback(
    serve: Serve, tmp_path: Path, retry_after: str
) -> None:
    """Polled every 0.3 s (allowed on loopback), `Retry-After: 0` paused for 0 s and then
    some: now it pauses as long as a 429 without one, and says so."""
    server, sent = _counting_429(serve, retry_after)
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=f"video_starvideos_o3_23200000{i:02d}") for i in range(20)])
    schedule = PollSchedule(interval=0.3, jitter=0.0)
    client = StarVideosClient(server.url(""), KEY)
    monitor = Monitor(
        watchlist, client, emit=lambda _: None, download_dir=tmp_path, schedule=schedule
    )
    await run_for(1.6, monitor, client)
    assert len(sent) <= DEFAULT_CONCURRENCY, f"{len(sent)} requests in 1.6 s"
    message = next(r.last_problem.message for r in monitor.records.values() if r.last_problem)
    assert message.startswith("rate limited (HTTP 429), retry after 30 s (its Retry-After said")


def test_the_wait_stored_is_the_wait_kept_not_the_one_asked_for(
    serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = _counting_429(serve, "1000000000000")
    cli = SameProcessCli(tmp_path, server.url(""), capsys)
    cli.ok("add", TASK)
    run = cli.run("refresh")
    assert run.code == 1
    message = cli.record(TASK)["last_problem"]["message"]
    assert "retry after 900 s" in message and "1000000000000 s" not in message, message
    assert "900 s is the longest wait" in message
    assert "try again in 900 s" in run.err


def test_refresh_counts_a_task_refused_by_a_429_as_not_polled(
    serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server, _ = _counting_429(serve, None)
    cli = SameProcessCli(tmp_path, server.url(""), capsys)
    cli.ok("add", TASK)
    run = cli.run("refresh")
    assert run.code == 1 and "Traceback" not in run.err
    assert "rate limited by the API; 1 task(s) not polled, try again in 30 s" in run.err


# == class 11: long signed links =============================================================


def test_the_bound_of_a_link_is_documented_and_at_least_16_kb() -> None:
    assert MAX_URL_LENGTH >= 16_384
    docs = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    assert f"{MAX_URL_LENGTH:,}" in docs


def _presigned(host: str, token_length: int) -> str:
    boto3 = pytest.importorskip("boto3")
    from botocore.config import Config

    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        endpoint_url=host,
        aws_access_key_id="ASIAEXAMPLEEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="IQoJb3JpZ2luX2VjE" + "A" * token_length,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    return str(
        client.generate_presigned_url(
            "get_object", Params={"Bucket": "videos", "Key": f"{TASK}.mp4"}, ExpiresIn=3600
        )
    )


async def test_a_link_presigned_with_a_long_session_token_is_downloaded(
    serve: Serve, tmp_path: Path
) -> None:
    video = padded_video(200_000)
    host = serve(lambda _n, seen: ranged(video, '"v"', seen))
    url = _presigned(host.url(""), 12_000)
    assert len(url) > 12_000 and "X-Amz-Security-Token=" in url
    api_server = serve(
        lambda _n, _s: json_reply(answer(status="completed", video_url=url, actualDuration=3))
    )
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=TASK)])
    async with StarVideosClient(api_server.url(""), KEY) as client:
        saved = await save_task_video(
            TASK, client=client, watchlist=AsyncWatchlist(watchlist), folder=tmp_path / "v"
        )
    assert saved.path.read_bytes() == video
    assert host.seen and host.seen[0].path == url.removeprefix(host.url(""))
    record = watchlist.load()[0]
    assert record.video_url == url and record.link_expires_at is not None


async def test_a_link_over_the_bound_is_no_usable_link(serve: Serve, tmp_path: Path) -> None:
    from starvideos_tui.engine.videos import NotDownloadable

    url = "http://127.0.0.1:9/" + "a" * MAX_URL_LENGTH
    api_server = serve(lambda _n, _s: json_reply(answer(status="completed", video_url=url)))
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=TASK)])
    async with StarVideosClient(api_server.url(""), KEY) as client:
        with pytest.raises(NotDownloadable, match="no usable video URL"):
            await save_task_video(
                TASK, client=client, watchlist=AsyncWatchlist(watchlist), folder=tmp_path / "v"
            )


# == class 12: malformed HTTP is named as such ===============================================

MALFORMED_HTTP = {
    "bad-status-line": (b"HTTP/1.1 OK-ish " + KEY.encode() + b"\r\n\r\n", "a bad status line"),
    "not-http-at-all": (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "a bad status line"),
    "bad-chunk": (HEAD + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", "a bad chunk"),
    "conflicting-lengths": (
        HEAD + b"Content-Length: 2\r\nContent-Length: 9\r\n\r\n{}",
        "conflicting Content-Length headers",
    ),
    "bad-length": (HEAD + b"Content-Length: lots\r\n\r\n{}", "a bad Content-Length"),
    "huge-header": (HEAD + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n{}", "a header section over"),
    "bad-header-line": (HEAD + b"no colon here\r\n\r\n{}", "a bad header line"),
    "escape-in-header-name": (HEAD + b"\x1b[2J: x\r\n\r\n{}", "a bad header"),
    "unknown-transfer-encoding": (
        HEAD + b"Transfer-Encoding: gzip\r\n\r\n{}",
        "an unsupported Transfer-Encoding",
    ),
}


@pytest.mark.parametrize(("raw", "words"), MALFORMED_HTTP.values(), ids=MALFORMED_HTTP.keys())
async def test_malformed_http_from_the_api_is_named_as_such(
    raw_server: Callable[..., RawServer], raw: bytes, words: str
) -> None:
    server = raw_server(lambda conn, _closing: conn.sendall(raw))
    async with StarVideosClient(server.url, KEY) as client:
        with pytest.raises(NetworkError) as caught:
            await client.get_result(TASK)
    message = caught.value.message
    assert message.startswith("the API sent malformed HTTP: "), message
    assert words in message, message
    assert KEY not in message and "\x1b" not in message and "connection failed" not in message


async def test_a_connection_closed_mid_answer_is_not_called_malformed(
    raw_server: Callable[..., RawServer],
) -> None:
    raw = HEAD + b'Content-Length: 500\r\n\r\n{"id": '
    server = raw_server(lambda conn, _closing: conn.sendall(raw))
    async with StarVideosClient(server.url, KEY) as client:
        with pytest.raises(NetworkError) as caught:
            await client.get_result(TASK)
    assert caught.value.message == "the API closed the connection mid-answer"


def test_the_hostile_inputs_of_this_file_are_counted() -> None:
    """Distinct hostile answers, each counted once however many surfaces (get, create, a
    pass, watch, refresh) it is tried through."""
    inputs = {
        "drips": len(DRIPS) + 1,  # and the slow 401 handed on
        "bombs": len(BOMBS),  # refresh's is the gzip one
        "codings": len(BAD_CODINGS),
        "retry-after": (len(SOON) - 1) + 1 + 1,  # not "none"; 0.2 on loopback; 1e12 s
        "links": 2,  # the presigned one with a 12 kB token, the one over the bound
        "http": len(MALFORMED_HTTP) + 1,  # and the connection closed mid-answer
    }
    assert sum(inputs.values()) == 36, inputs


def test_rate_limited_is_a_wait_with_its_words() -> None:
    error = RateLimited("rate limited (HTTP 429)", said=0.0, status_code=429)
    assert error.retry_after == DEFAULT_RETRY_AFTER
    assert error.waiting(45.0).message.startswith("rate limited (HTTP 429), retry after 45 s")
