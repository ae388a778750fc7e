"""`watch` lives in the present (#25 item 3), and a mistyped id is named within seconds
(item 5): a real child process on the simulator, over a watchlist with a history made
with the storage API.

- The first line sums up the history; no line is printed for an old task.
- A task that completes during the run is saved first, ahead of older unsaved videos.
- A link past its signed deadline, or received longer ago than any link lives, is never
  requested: marked "link expired" once.
- The exit status counts what ended during the run (`--all-history`: every task).
- SIGTERM ends it within a second while a download is stuck (a host that never answers,
  a connect that never completes, a name that never resolves), with no traceback.
"""

from __future__ import annotations

import asyncio
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import FAST, SAMPLE, Cli
from helpers_http import Reply, ScriptedHTTPServer, Seen
from helpers_proc import Spawn

from starvideos_tui.core.linkexpiry import CLOCK_SKEW, LONGEST_LINK_LIFE, certainly_dead
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import LINK_EXPIRED
from starvideos_tui.engine.downloads import Slots
from starvideos_tui.engine.history import read_history
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist

YEAR = 365 * 24 * 3600.0
SAVED, SIGNED_DEAD, AGED_DEAD, FAILED, LATER = 60, 40, 40, 30, 2


def old_id(n: int) -> str:
    return f"video_starvideos_o3_{1_000_000_000 + n}"


def make_history(path: Path, host: str, now: float, later: int = LATER) -> list[str]:
    """A year of history: saved videos, unsaved ones whose links died (by their signed
    deadline, or by age alone), failures, and LATER unsaved ones received a minute ago
    (their links may work). Returns the ids of the LATER ones."""
    then = now - YEAR

    def done(n: int, **fields: Any) -> TaskRecord:
        base = TaskRecord(old_id(n), "completed", actual_duration=3.0, checked_at=then)
        return replace(base, added_at=then, **fields)

    records: list[TaskRecord] = []
    n = 0
    for _ in range(SAVED):
        n += 1
        records.append(done(n, local_path=f"/nowhere/{old_id(n)}.mp4", size=1, sha256="0"))
    for _ in range(SIGNED_DEAD):  # the link says when it died: a year ago
        n += 1
        url = f"{host}/dead/{n}.mp4?Expires={int(then + 300)}&Signature=x"
        records.append(done(n, video_url=url, video_url_at=then))
    for _ in range(AGED_DEAD):  # the link says nothing: received a year ago
        n += 1
        records.append(done(n, video_url=f"{host}/dead/{n}.mp4", video_url_at=then))
    for _ in range(FAILED):
        n += 1
        records.append(done(n, status="failed", actual_duration=None, error="Too dark."))
    live = []
    for _ in range(later):
        n += 1
        live.append(old_id(n))
        url = f"{host}/later/{n}.mp4"
        records.append(done(n, video_url=url, video_url_at=now - 60, checked_at=now - 60))
    Watchlist(path).add(records)
    return live


class Lines:
    """A child's stdout, each line with the monotonic time it arrived."""

    def __init__(self, child: subprocess.Popen[str]) -> None:
        self.child = child
        self.seen: list[tuple[float, str]] = []
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.child.stdout is not None
        for line in self.child.stdout:
            self._queue.put((time.monotonic(), line.rstrip("\n")))
        self._queue.put(None)

    def until(self, wanted: str, timeout: float) -> float:
        """Wait for a line holding `wanted`; the time it arrived."""
        deadline = time.monotonic() + timeout
        for at, line in self.seen:
            if wanted in line:
                return at
        while (left := deadline - time.monotonic()) > 0:
            try:
                item = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if item is None:
                break
            self.seen.append(item)
            if wanted in item[1]:
                return item[0]
        raise AssertionError(f"no line with {wanted!r} in {timeout} s: {self.text()}")

    def rest(self) -> list[str]:
        """Every line, once the child has ended."""
        while (item := self._queue.get(timeout=10)) is not None:
            self.seen.append(item)
        return [line for _, line in self.seen]

    def text(self) -> str:
        return "\n".join(line for _, line in self.seen)


def watch(spawn: Spawn, cli: Cli, *args: str) -> tuple[subprocess.Popen[str], Lines]:
    child = spawn(
        [sys.executable, "-m", "starvideos_tui", *args],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return child, Lines(child)


@pytest.fixture
def slow_host(serve: object) -> ScriptedHTTPServer:
    """A video host that takes about 2.5 s for each video."""

    def respond(_n: int, seen: Seen) -> Reply:
        if not seen.path.startswith("/later/"):
            return Reply(403, b"expired")
        return Reply(200, SAMPLE, {"Content-Type": "video/mp4"}, pace=0.25, piece=1_000)

    server: ScriptedHTTPServer = serve(respond)  # type: ignore[operator]
    return server


def test_watch_sums_up_history_saves_the_present_first_and_never_asks_dead_links(
    cli: Cli, sim: Simulator, slow_host: ScriptedHTTPServer, spawn: Spawn, tmp_path: Path
) -> None:
    host = slow_host.url("").rstrip("/")
    later = make_history(cli.watchlist, host, time.time())
    fresh = sim.seed_task("a heron, now", queued=0.2, processing=0.3)
    cli.ok("add", fresh)
    folder = tmp_path / "dl"

    started = time.monotonic()
    child, lines = watch(spawn, cli, *FAST, "--download-dir", str(folder), "watch")
    first = lines.until("tasks:", 10)
    fresh_saved = lines.until(f"{fresh} saved", 15)
    for task_id in later:
        assert lines.until(f"{task_id} saved", 20) > fresh_saved, lines.text()
    _, err = child.communicate(timeout=20)
    out = lines.rest()

    assert child.returncode == 0, (out, err)  # a year of failures does not count
    assert "Traceback" not in err
    total = SAVED + SIGNED_DEAD + AGED_DEAD + FAILED + LATER + 1
    assert out[0] == (
        f"{total} tasks: {SAVED} saved, {SIGNED_DEAD + AGED_DEAD + LATER} completed unsaved "
        f"({SIGNED_DEAD + AGED_DEAD} links expired), {FAILED} failed, 1 running"
    )
    assert first - started < 5
    assert fresh_saved - started < 8  # its poll times and a download, no backlog ahead
    # No line for any old task but the ones saved now.
    spoken = {word for line in out[1:] for word in line.split()}
    old = {old_id(n) for n in range(1, total)} - set(later)
    assert not spoken & old, out
    assert not [s.path for s in slow_host.seen if s.path.startswith("/dead/")]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{i}.mp4" for i in [fresh, *later]
    )  # no .part, no .part.json for the dead ones
    records = {r.id: r for r in Watchlist(cli.watchlist).load()}
    dead = [old_id(n) for n in range(SAVED + 1, SAVED + SIGNED_DEAD + AGED_DEAD + 1)]
    assert all(records[i].download_error == LINK_EXPIRED for i in dead)
    assert all(records[i].local_path for i in [fresh, *later])

    # Again: nothing running, nothing to save. The history is one line and exit 0; with
    # --all-history the old failures and dead links count.
    again = cli.ok(*FAST, "--download-dir", str(folder), "watch", timeout=20)
    assert again.out_lines == [
        f"{total} tasks: {SAVED + LATER + 1} saved, {SIGNED_DEAD + AGED_DEAD} completed "
        f"unsaved ({SIGNED_DEAD + AGED_DEAD} links expired), {FAILED} failed, 0 running"
    ]
    strict = cli.run(*FAST, "--download-dir", str(folder), "watch", "--all-history")
    assert strict.code == 1, str(strict)
    assert f"{FAILED + SIGNED_DEAD + AGED_DEAD} of {total} task(s)" in strict.err
    assert len(slow_host.seen) == LATER  # each live link asked once, the dead never


def test_a_task_that_fails_during_the_run_still_exits_1(cli: Cli, sim: Simulator) -> None:
    make_history(cli.watchlist, "http://127.0.0.1:9", time.time(), later=0)
    bad = sim.seed_task("FAIL now", queued=0.1, processing=0.2, fail=True, error="Too dark.")
    cli.ok("add", bad)
    result = cli.run(*FAST, "watch", timeout=30)
    assert result.code == 1, str(result)
    assert f"{bad} failed: Too dark." in result.out_lines
    assert "1 of 1 task" in result.err or bad in result.err


# -- SIGTERM while a download cannot move -------------------------------------------------

SLOW_DNS = """
import os, socket, time
_real = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.endswith(".slow-dns.test"):
        open(os.environ["SLOW_DNS_MARK"], "a").close()
        time.sleep(60)  # a resolver that never answers
    return _real(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
"""


@pytest.fixture
def silent_host() -> Iterator[str]:
    """A host that accepts connections, reads the request and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v.mp4"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.fixture
def full_backlog() -> Iterator[str]:
    """A host whose accept queue is full: a connect to it never completes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):  # fill the queue: the kernel then drops further SYNs
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/v.mp4"
    for filler in fillers:
        filler.close()
    listener.close()


@pytest.mark.parametrize("stuck", ["silent host", "connect", "dns", "api dns"])
def test_sigterm_ends_watch_within_a_second_while_a_download_is_stuck(
    cli: Cli,
    sim: Simulator,
    spawn: Spawn,
    tmp_path: Path,
    stuck: str,
    silent_host: str,
    full_backlog: str,
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_DNS)
    mark = tmp_path / "resolving"
    cli.env["PYTHONPATH"] = f"{site}:{cli.env['PYTHONPATH']}"
    cli.env["SLOW_DNS_MARK"] = str(mark)
    task_id = "video_starvideos_o3_1774836724"
    url = {
        "silent host": silent_host,
        "connect": full_backlog,
        "dns": "http://videos.slow-dns.test/v.mp4",
        "api dns": silent_host,
    }[stuck]
    body = {"id": task_id, "object": "video", "status": "completed", "video_url": url}
    sim.add_fixed(task_id, {**body, "created": 1774836724, "model": "starvideos_o3"})
    cli.ok("add", task_id)
    if stuck == "api dns":
        cli.env["STARVIDEOS_BASE_URL"] = "https://api.slow-dns.test"  # no fast polls there
    fast = FAST if stuck != "api dns" else ()
    child, lines = watch(spawn, cli, *fast, "--download-dir", str(tmp_path / "dl"), "watch")
    lines.until("1 task: 1 running", 10)
    if stuck in ("dns", "api dns"):
        deadline = time.monotonic() + 10
        while not mark.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mark.exists(), "the slow lookup never started"
    else:
        lines.until(f"{task_id} new -> completed", 10)
    time.sleep(0.5)  # the download is under way, and stuck
    assert child.poll() is None
    sent = time.monotonic()
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=10)
    took = time.monotonic() - sent

    assert took < 1.0, (took, err)
    assert child.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "never retrieved" not in err, err
    assert err.strip().splitlines()[-1] == "starvideos-tui: stopped by SIGTERM", err


# -- a mistyped id ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["wait", "watch"])
def test_a_mistyped_id_is_named_unknown_within_ten_seconds(
    cli: Cli, sim: Simulator, command: str
) -> None:
    typo = "video_starvideos_o3_17748367240"
    args = ("wait", typo) if command == "wait" else ("watch",)
    if command == "watch":
        cli.ok("add", typo)
    started = time.monotonic()
    result = cli.run(*args, timeout=30)  # the default 30 s interval
    took = time.monotonic() - started

    assert result.code == 1, str(result)
    assert f"unknown id {typo}: the API does not know it" in result.out_lines
    assert took < 12, took
    assert "Traceback" not in result.err
    assert len([r for r in sim.requests if r.path.endswith(typo)]) == 3


def test_a_task_we_created_is_not_given_up_in_seconds(cli: Cli, sim: Simulator) -> None:
    """A task we made may be briefly unknown to the API: its 404s wait the usual interval."""
    made = "video_starvideos_o3_17748367241"
    Watchlist(cli.watchlist).add([TaskRecord(id=made, params={"prompt": "a cat"})])
    result = cli.run("wait", made, "--timeout", "6", timeout=30)
    assert result.code == 3, str(result)  # still waiting when the timeout came
    assert "unknown id" not in result.out
    assert len([r for r in sim.requests if r.path.endswith(made)]) == 1


# -- the parts, in process ------------------------------------------------------------------


def test_certainly_dead_is_past_the_deadline_or_older_than_any_link_lives() -> None:
    now = 1_800_000_000.0
    signed = f"https://cdn.example.com/v.mp4?Expires={int(now - 3600)}&Signature=x"
    link = TaskRecord("t", "completed", video_url=signed, video_url_at=now - 7200)
    assert certainly_dead(link, now)
    assert not certainly_dead(link, now - 3600 + CLOCK_SKEW - 1)  # within the clock's skew
    plain = TaskRecord("t", "completed", video_url="https://cdn.example.com/v.mp4")
    assert not certainly_dead(plain, now)  # nothing says when it dies, nor how old it is
    assert certainly_dead(replace(plain, checked_at=now - LONGEST_LINK_LIFE - 1), now)
    assert not certainly_dead(replace(plain, checked_at=now - LONGEST_LINK_LIFE + 60), now)
    young = replace(plain, video_url_at=now - 60, checked_at=now - LONGEST_LINK_LIFE - 1)
    assert not certainly_dead(young, now)  # received a minute ago
    assert not certainly_dead(replace(link, video_url=None), now)  # no link at all


async def test_a_later_download_waits_behind_every_other_and_takes_one_slot() -> None:
    slots = Slots(2, 1)
    order: list[str] = []
    gate = asyncio.Event()

    async def take(name: str, later: bool) -> None:
        async with slots.held(later):
            order.append(name)
            await gate.wait()

    tasks = [asyncio.create_task(take(f"old{i}", True)) for i in range(3)]
    await asyncio.sleep(0)
    assert order == ["old0"]  # one slot for history, one kept free
    tasks.append(asyncio.create_task(take("new", False)))
    await asyncio.sleep(0)
    assert order == ["old0", "new"]
    tasks.append(asyncio.create_task(take("newer", False)))
    gate.set()
    await asyncio.gather(*tasks)
    assert order.index("newer") < order.index("old1")  # waiting history goes last


def test_history_sums_up_in_one_line() -> None:
    now = time.time()
    records = [
        TaskRecord("a", "completed", local_path="/a.mp4"),
        TaskRecord("b", "failed"),
        TaskRecord("c", "processing"),
        TaskRecord("d", "completed", video_url="https://x/d", video_url_at=now - 60),
        TaskRecord("e", "completed", video_url="https://x/e", video_url_at=now - YEAR),
        TaskRecord("f", "completed", video_url="https://x/f", download_error=LINK_EXPIRED),
        TaskRecord("g", "completed", local_path="/g.mp4", archived=True),
    ]
    history = read_history(records, now)
    assert history.summary() == (
        "7 tasks: 1 saved, 3 completed unsaved (2 links expired), 1 failed, 1 running, 1 archived"
    )
    assert (history.running, history.backlog, history.newly_dead) == (["c"], ["d"], ["e"])
    assert read_history([TaskRecord("x")], now).summary() == "1 task: 1 running"


def test_a_stopped_watch_leaves_its_journal_unfolded_and_whole(
    cli: Cli, sim: Simulator, spawn: Spawn, silent_host: str
) -> None:
    """Folding the journal into the base takes seconds at 50,000 tasks: a watch stopped by
    SIGTERM leaves it for the next clean end, every change kept."""
    make_history(cli.watchlist, "http://127.0.0.1:9", time.time(), later=0)
    task_id = "video_starvideos_o3_1774836725"
    body = {"id": task_id, "object": "video", "status": "completed", "video_url": silent_host}
    sim.add_fixed(task_id, body)
    cli.ok("add", task_id)
    child, lines = watch(spawn, cli, *FAST, "watch")
    lines.until(f"{task_id} new -> completed", 10)
    time.sleep(0.5)
    child.send_signal(signal.SIGTERM)
    child.communicate(timeout=10)

    assert child.returncode == 128 + signal.SIGTERM
    assert Path(f"{cli.watchlist}.journal").exists()  # not folded
    records = {r.id: r for r in Watchlist(cli.watchlist).load()}
    assert records[task_id].status == "completed"
    dead = [old_id(n) for n in range(SAVED + 1, SAVED + SIGNED_DEAD + AGED_DEAD + 1)]
    assert all(records[i].download_error == LINK_EXPIRED for i in dead)
