"""SIGTERM and SIGHUP end the TUI as `q` does: within a second or two, the terminal given
back (no alternate screen, no mouse tracking left on) and the demo's folder removed. The
TUI runs for real in a pseudo-terminal, its raw output read as a terminal would."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


def _read(fd: int, until: float) -> bytes:
    out = b""
    while time.monotonic() < until:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    return out


def _demo_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("starvideos-demo-*")}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_the_tui_and_gives_the_terminal_back(signum: int) -> None:
    before = _demo_folders()
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    child = subprocess.Popen(
        [sys.executable, "-m", "starvideos_tui", "--demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while ALT_SCREEN_ON not in seen or b"API ok" not in seen:
            assert time.monotonic() < deadline, "the TUI did not start"
            seen += _read(master, time.monotonic() + 0.5)
        assert _demo_folders() - before, "the demo made no folder"
        child.send_signal(signum)
        sent = time.monotonic()
        rest = _read(master, sent + 5)
        code = child.wait(timeout=5)
        took = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)

    assert took < 2.5, took
    assert ALT_SCREEN_OFF in rest and MOUSE_OFF in rest
    assert rest.rfind(ALT_SCREEN_OFF) > rest.rfind(ALT_SCREEN_ON)
    assert b"Traceback" not in rest
    assert code in (0, -signum, 128 + signum)
    assert not (_demo_folders() - before), "the demo's throw-away folder was left behind"
