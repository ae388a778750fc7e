"""The headless waiting commands (create --wait, wait, watch) as a log and a terminal see
them: what they wait for said at once on a plain stderr, a line per poll (progress.py), and
desktop notifications with the TUI's rules sent to the controlling terminal only
(alerts.py, notify.Terminal). Every child runs in its own session and is killed with its
process group whatever happens."""

from __future__ import annotations

import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from starvideos_tui.simulator import Simulator

KEY = "sk-headless-notify-0000"
ESC = b"\x1b"
OSC777 = re.compile(rb"\x1b\]777;notify;([^\x1b\x07]*)\x1b\\")


class Home:
    def __init__(self, tmp_path: Path, sim: Simulator) -> None:
        self.path = tmp_path
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("STARVIDEOS_")}
        for name in ("TMUX", "KITTY_WINDOW_ID", "TERM_PROGRAM", "VTE_VERSION", "WT_SESSION"):
            self.env.pop(name, None)
        self.env.update(
            STARVIDEOS_HOME=str(tmp_path / "home"),
            STARVIDEOS_BASE_URL=sim.base_url,
            STARVIDEOS_API_KEY=KEY,
            STARVIDEOS_DOWNLOAD_DIR=str(tmp_path / "dl"),
            TERM="xterm-256color",
        )

    def command(self, *words: str) -> list[str]:
        return [sys.executable, "-m", "starvideos_tui", *words]

    def run(self, *words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*words),
            env=self.env,
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=30,
            start_new_session=True,
        )


@pytest.fixture
def children() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Popen in a new session; every process group started is killed at the end."""
    started: list[subprocess.Popen[bytes]] = []

    def start(command: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(command, start_new_session=True, **kwargs)
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=10)


def read_until_exit(
    child: subprocess.Popen[bytes], fds: dict[int, str], seconds: float
) -> list[tuple[float, str, bytes]]:
    """Everything the child writes on `fds` (name by fd), each read with its time, until
    it exits and the fds are drained (or `seconds` pass)."""
    got: list[tuple[float, str, bytes]] = []
    open_fds = dict(fds)
    deadline = time.monotonic() + seconds
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 0.1)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # a pty's master reads EIO once the child side is closed
                data = b""
            if not data:
                del open_fds[fd]
                continue
            got.append((time.monotonic(), open_fds[fd], data))
        if not ready and child.poll() is not None:
            break
    return got


def read_for(
    child: subprocess.Popen[bytes], fds: dict[int, str], seconds: float
) -> list[tuple[float, str, bytes]]:
    """What the child writes on `fds` in the next `seconds`, or until it exits."""
    got = read_until_exit(child, fds, seconds)
    assert child.poll() is None, f"it ended early: {got}"
    return got


def lines_of(got: list[tuple[float, str, bytes]], name: str) -> list[tuple[float, str]]:
    """(time first seen, text) of each whole line on stream `name`."""
    lines: list[tuple[float, str]] = []
    buffer = b""
    for when, which, data in got:
        if which != name:
            continue
        buffer += data
        *whole, buffer = buffer.split(b"\n")
        lines += [(when, line.decode()) for line in whole]
    return lines


def polls(sim: Simulator, task_id: str) -> int:
    return sum(1 for r in sim.requests if r.method == "GET" and r.path.endswith(f"/{task_id}"))


# -- class 14: a waiting command off a terminal says what it waits for --------------------


def test_create_wait_with_stderr_a_pipe_says_at_once_what_it_waits_for_then_a_line_per_poll(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    children: Callable[..., subprocess.Popen[bytes]],
) -> None:
    sim = start_sim(queued_seconds=1.5, processing_seconds=1.5)
    home = Home(tmp_path, sim)
    child = children(
        home.command("--interval", "1", "create", "--prompt", "a cat", "--wait"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=home.env,
        cwd=tmp_path,
    )
    assert child.stdout is not None and child.stderr is not None
    got = read_until_exit(child, {child.stdout.fileno(): "out", child.stderr.fileno(): "err"}, 40)
    assert child.wait(timeout=10) == 0, got
    out, err = lines_of(got, "out"), lines_of(got, "err")
    made, task_id = out[0]
    assert task_id.startswith("video_starvideos_o3_")
    first_at, first = err[0]
    assert first == f"waiting for {task_id} (queued); polling every 1 s"
    assert first_at - made < 2.0, "the first line came late"  # a loaded machine: ~0.1 s
    # Then a line after each poll, and nothing a terminal would act on.
    after = [text for _, text in err[1:]]
    assert len(after) == polls(sim, task_id), err
    assert all(t.startswith(("waiting: ", "saving the video")) for t in after), err
    assert not any(ESC in data or b"\r" in data for _, which, data in got if which == "err")
    assert out[-1][1].startswith(f"{task_id} saved ")


def test_create_wait_with_a_long_interval_speaks_well_before_the_second_poll(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    children: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """At the default-like 30 s, a log shows the wait within a second, not at a change."""
    sim = start_sim(queued_seconds=600, processing_seconds=600)
    home = Home(tmp_path, sim)
    child = children(
        home.command("--interval", "30", "create", "--prompt", "a slow cat", "--wait"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=home.env,
        cwd=tmp_path,
    )
    assert child.stdout is not None and child.stderr is not None
    got = read_for(child, {child.stdout.fileno(): "out", child.stderr.fileno(): "err"}, 3.0)
    (made, task_id), *_ = lines_of(got, "out")
    (first_at, first), (_, second) = lines_of(got, "err")
    assert first_at - made < 2.0
    assert first == f"waiting for {task_id} (queued); polling every 30 s"
    # after the first poll, at once; then nothing for 30 s
    assert second.startswith(f"waiting: {task_id} queued for ") and "next poll in 3" in second
    assert polls(sim, task_id) == 1


def test_wait_with_stderr_a_pipe_says_what_it_waits_for_then_a_line_per_pass(
    tmp_path: Path, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim()
    home = Home(tmp_path, sim)
    a = sim.seed_task("a", queued=1, processing=1)
    b = sim.seed_task("b", queued=1, processing=1)
    done = home.run("--interval", "0.5", "wait", a, b)
    assert done.returncode == 0, done
    lines = done.stderr.splitlines()
    assert lines[0] == "waiting for 2 tasks (2 new); polling every 0.5 s", done.stderr
    # A line per pass: each asks one of them or both.
    assert 1 <= max(polls(sim, a), polls(sim, b)) <= len(lines) - 1 <= polls(sim, a) + polls(sim, b)
    assert "\x1b" not in done.stderr
