"""The TUI run for real in a pseudo-terminal, its raw output read as a terminal would:
SIGTERM and SIGHUP end it as `q` does (within a second or two, exit 128 + the signal, the
terminal given back, no alternate screen or mouse tracking left on, the demo's folder
removed), and what it sends a 16-colour terminal or one with NO_COLOR."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from helpers_proc import Spawn, demo_in_a_pty, read_until

ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


@pytest.fixture
def demo_tmp(tmp_path: Path) -> Path:
    """The demo child's temp folder (TMPDIR): its throw-away folder is made there, so one
    left by a killed demo goes with tmp_path, and no other run's demo is taken for it."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def _demo_folders(tmp: Path) -> set[str]:
    return {p.name for p in tmp.glob("starvideos-demo-*")}


def _demo_in_a_pty(spawn: Spawn, demo_tmp: Path) -> tuple[subprocess.Popen[Any], int]:
    """The demo TUI on a pseudo-terminal of 100x30, its folder made in `demo_tmp`."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    return demo_in_a_pty(spawn, {**env, "TMPDIR": str(demo_tmp)})


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_the_tui_and_gives_the_terminal_back(
    signum: int, spawn: Spawn, demo_tmp: Path
) -> None:
    child, master = _demo_in_a_pty(spawn, demo_tmp)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while ALT_SCREEN_ON not in seen or b"API ok" not in seen:
            assert time.monotonic() < deadline, "the TUI did not start"
            seen += read_until(master, time.monotonic() + 0.5)
        assert _demo_folders(demo_tmp), "the demo made no folder"
        child.send_signal(signum)
        sent = time.monotonic()
        rest = read_until(master, sent + 5)
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
    assert code == 128 + signum, code  # as the README says: 143, 129
    assert f"stopped by {signal.Signals(signum).name}".encode() in rest
    assert not _demo_folders(demo_tmp), "the demo's throw-away folder was left behind"


def test_quitting_the_demo_after_a_download_removes_its_folder(
    spawn: Spawn, demo_tmp: Path
) -> None:
    """`q` after the demo saved a video: the watchlist's last writes (its journal folded on
    close, in the watchlist's own thread) must not land in the folder being removed."""
    child, master = _demo_in_a_pty(spawn, demo_tmp)
    try:
        seen = b""
        deadline = time.monotonic() + 30
        while b"API ok" not in seen or b"completed" not in seen:
            assert time.monotonic() < deadline, "the demo's first task did not complete"
            seen += read_until(master, time.monotonic() + 0.5)
        os.write(master, b"d")  # the cursor starts on the first task, completed at once
        while b"downloaded" not in seen:
            assert time.monotonic() < deadline, "the download did not end"
            seen += read_until(master, time.monotonic() + 0.5)
        os.write(master, b"q")
        read_until(master, time.monotonic() + 5)
        code = child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    assert code == 0
    assert not _demo_folders(demo_tmp), "the demo's throw-away folder was left behind"


# SGR parameters that set a colour: 30-37, 39 aside 90-97 (foreground), 40-47, 100-107
# (background), and 38;5/48;5 (256 colours) or 38;2/48;2 (truecolour).
SGR = re.compile(rb"\x1b\[([0-9;]*)m")


def _colours(raw: bytes) -> set[str]:
    found: set[str] = set()
    for params in SGR.findall(raw):
        codes = params.decode().split(";")
        i = 0
        while i < len(codes):
            code = codes[i]
            if code in ("38", "48"):
                found.add(";".join(codes[i : i + (3 if codes[i + 1 : i + 2] == ["5"] else 5)]))
                i += 3 if codes[i + 1 : i + 2] == ["5"] else 5
                continue
            if code.isdigit() and (
                30 <= int(code) <= 37
                or 40 <= int(code) <= 47
                or 90 <= int(code) <= 97
                or 100 <= int(code) <= 107
            ):
                found.add(code)
            i += 1
    return found


def _demo_screen(spawn: Spawn, tmp: Path, env: dict[str, str]) -> bytes:
    """The demo's raw output until its API answered, then `q`."""
    env = {**os.environ, "COLUMNS": "80", "LINES": "24", "TMPDIR": str(tmp), **env}
    child, master = demo_in_a_pty(spawn, env)
    seen = b""
    try:
        deadline = time.monotonic() + 30
        while b"API ok" not in seen:
            assert time.monotonic() < deadline, "the TUI did not start"
            seen += read_until(master, time.monotonic() + 0.5)
        seen += read_until(master, time.monotonic() + 1.0)
        os.write(master, b"q")
        seen += read_until(master, time.monotonic() + 5)
        child.wait(timeout=5)
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    return seen


def test_a_16_colour_terminal_gets_its_own_16_colours_only(spawn: Spawn, demo_tmp: Path) -> None:
    """TERM=xterm: the terminal's palette (no 256 or truecolour codes, which it cannot
    show), with the statuses still in colour."""
    colours = _colours(_demo_screen(spawn, demo_tmp, {"TERM": "xterm", "COLORTERM": ""}))
    assert not {c for c in colours if c.startswith(("38", "48"))}, colours
    assert {"32", "33"} <= colours  # API ok and completed in green, unknown id in yellow
    assert "44" in colours  # the cursor row: white on blue


def test_no_color_sends_no_colour_at_all_and_the_cursor_is_reverse_video(
    spawn: Spawn, demo_tmp: Path
) -> None:
    raw = _demo_screen(spawn, demo_tmp, {"TERM": "xterm-256color", "NO_COLOR": "1"})
    assert _colours(raw) == set()
    assert b"\x1b[7m" in raw or re.search(rb"\x1b\[[0-9;]*;7[;m]", raw)  # reverse video
