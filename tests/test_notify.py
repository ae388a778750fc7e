"""Desktop notifications by terminal escape: each protocol's bytes, tmux's passthrough, no
control character of untrusted text inside, a burst made one, and the real TUI sending one
when a demo task completes, read from its raw output in a pseudo-terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_proc import Spawn, demo_in_a_pty, read_until

from starvideos_tui.core.burst import TOGETHER, Burst
from starvideos_tui.core.errors import UsageError
from starvideos_tui.terminal.notify import Notifier, check_mode, choose, plain, sequence

ESC = "\x1b"


@pytest.mark.parametrize(
    ("env", "way"),
    [
        ({"KITTY_WINDOW_ID": "1", "TERM": "xterm-kitty"}, "osc99"),
        ({"TERM": "xterm-kitty"}, "osc99"),
        ({"TERM_PROGRAM": "iTerm.app"}, "osc9"),
        ({"TERM_PROGRAM": "WezTerm"}, "osc9"),
        ({"WT_SESSION": "x"}, "osc9"),
        ({"VTE_VERSION": "7600", "TERM": "xterm-256color"}, "osc777"),
        ({"TERM": "foot"}, "osc777"),
        ({"TERM_PROGRAM": "ghostty"}, "osc777"),
        ({"TERM": "xterm-256color"}, "bell"),
        ({"TERM": "screen-256color", "TMUX": "/tmp/tmux-0/default,1,0"}, "bell"),
        ({}, "bell"),
    ],
)
def test_auto_picks_what_the_terminal_tells(env: dict[str, str], way: str) -> None:
    assert choose("auto", env) == way
    assert choose("osc9", env) == "osc9"  # a chosen mode is kept whatever the terminal


def test_each_protocols_bytes() -> None:
    assert sequence("osc777", "Video ready", "v1 completed", tmux=False) == (
        f"{ESC}]777;notify;Video ready;v1 completed{ESC}\\"
    )
    assert sequence("osc9", "Video ready", "v1", tmux=False) == f"{ESC}]9;Video ready: v1{ESC}\\"
    assert sequence("osc99", "T", "B", tmux=False, ident=7) == (
        f"{ESC}]99;i=7:d=0;T{ESC}\\{ESC}]99;i=7:d=1:p=body;B{ESC}\\"
    )
    assert sequence("bell", "T", "B", tmux=True) == "\a"  # tmux makes its own alert
    assert sequence("off", "T", "B", tmux=False) == ""


def test_inside_tmux_the_escape_goes_through_its_passthrough() -> None:
    wrapped = sequence("osc777", "T", "B", tmux=True)
    assert wrapped == f"{ESC}Ptmux;{ESC}{ESC}]777;notify;T;B{ESC}{ESC}\\{ESC}\\"


def test_untrusted_text_cannot_end_or_start_a_sequence() -> None:
    hostile = f"v1{ESC}\\{ESC}]52;c;cm0gLXJmIH4={ESC}\\\a\x9c\x07\nrm -rf"
    for way in ("osc777", "osc9", "osc99"):
        seq = sequence(way, hostile, hostile, tmux=False)
        inner = seq[len(f"{ESC}]") : -2]  # the sequence without its own start and end
        assert ESC not in inner.replace(f"{ESC}\\{ESC}]", "") and "\a" not in seq, repr(seq)
        assert "\x9c" not in seq and "\n" not in seq
    assert plain("a;b\tc" + "x" * 500) == "a;b c" + "x" * 195
    assert ";" not in sequence("osc777", "a;b", "c", tmux=False).split(";")[2]


def test_a_burst_makes_one_notification() -> None:
    """The notes of a burst (core/burst.py gathers them) make one notification."""
    timers: list[Callable[[], None]] = []
    sent: list[str] = []
    notifier = Notifier("osc777", tmux=False)

    def arm(delay: float, fire: Callable[[], None]) -> None:
        assert delay == TOGETHER
        timers.append(fire)

    burst: Burst[tuple[str, str]] = Burst(arm, lambda notes: sent.append(notifier.escape(notes)))
    burst.add(("completed", "v1 completed"))
    burst.add(("completed", "v2 completed"))
    burst.add(("failed", "v3 failed: too dark"))
    assert len(timers) == 1 and sent == []  # the first arms the timer, once
    timers.pop()()
    assert sent == [f"{ESC}]777;notify;starvideos-tui;2 videos ready, 1 failed{ESC}\\"]
    burst.add(("failed", "v3 failed: too dark"))
    burst.flush()  # a command that ends sends what is pending at once
    assert sent[-1] == f"{ESC}]777;notify;Task failed;v3 failed: too dark{ESC}\\"
    burst.add(("completed", "v4 completed"))
    timers.pop(0)()  # the timer of the burst flushed early fires: nothing told
    assert len(sent) == 2
    timers.pop()()
    assert len(sent) == 3 and "Video ready;v4 completed" in sent[-1]
    assert Notifier("off", tmux=False).escape([("completed", "v1")]) == ""
    assert notifier.escape([]) == ""


def test_a_bad_mode_is_named() -> None:
    assert check_mode(" OSC9 ") == "osc9"
    with pytest.raises(UsageError, match="--notify must be one of"):
        check_mode("desktop")


def run_demo(
    spawn: Spawn, tmp: Path, env_extra: dict[str, str], wanted: bytes, seconds: float
) -> bytes:
    """The demo in a pseudo-terminal until `wanted` shows in its raw output (or time is up).
    Its throw-away folder goes in `tmp` (TMPDIR), where a killed demo's stays."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30", **env_extra}
    env.pop("STARVIDEOS_BELL", None)
    env["TMPDIR"] = str(tmp)
    child, master = demo_in_a_pty(spawn, env)
    seen = b""
    try:
        deadline = time.monotonic() + seconds
        while wanted not in seen and time.monotonic() < deadline:
            seen += read_until(master, time.monotonic() + 0.5)
    finally:
        child.send_signal(signal.SIGTERM)
        seen += read_until(master, time.monotonic() + 3)
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5)
        os.close(master)
    return seen


def test_the_tui_in_tmux_notifies_through_the_passthrough_when_a_demo_task_completes(
    spawn: Spawn, tmp_path: Path
) -> None:
    wanted = b"\x1bPtmux;\x1b\x1b]777;notify;Video ready;video_starvideos_o3_"
    tmux = {"STARVIDEOS_NOTIFY": "osc777", "TMUX": "/tmp/tmux-1/default,1,0"}
    seen = run_demo(spawn, tmp_path, tmux, wanted, 20)
    assert wanted in seen
    assert b"completed\x1b\x1b\\\x1b\\" in seen  # the body, then the doubled and the own ST


def test_notify_off_sends_no_notification(spawn: Spawn, tmp_path: Path) -> None:
    seen = run_demo(spawn, tmp_path, {"STARVIDEOS_NOTIFY": "off"}, b"Video ready", 15)
    assert b"Video ready" in seen  # the toast
    assert b"]777;" not in seen and b"]9;" not in seen and b"]99;" not in seen


def test_a_bad_notify_setting_is_refused_before_the_screen_opens() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "starvideos_tui", "--notify", "loud", "--demo"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr
    assert "--notify must be one of" in done.stderr
