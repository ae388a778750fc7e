"""The headless waiting commands (create --wait, wait, watch) as a log and a terminal see
them: what they wait for said at once on a plain stderr, a line per poll (progress.py), and
desktop notifications with the TUI's rules sent to the controlling terminal only
(alerts.py, notify.Terminal). Every child runs in its own session and is killed with its
process group whatever happens (conftest's spawn)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from helpers_proc import Spawn, child_environment

from starvideos_tui.simulator import Simulator

KEY = "sk-headless-notify-0000"
ESC = b"\x1b"
OSC777 = re.compile(rb"\x1b\]777;notify;([^\x1b\x07]*)\x1b\\")


class Home:
    def __init__(self, tmp_path: Path, sim: Simulator) -> None:
        self.path = tmp_path
        self.env = child_environment(tmp_path / "home")
        for name in ("TMUX", "KITTY_WINDOW_ID", "TERM_PROGRAM", "VTE_VERSION", "WT_SESSION"):
            self.env.pop(name, None)
        self.env.update(
            STARVIDEOS_BASE_URL=sim.base_url,
            STARVIDEOS_API_KEY=KEY,
            STARVIDEOS_DOWNLOAD_DIR=str(tmp_path / "dl"),
            TERM="xterm-256color",
        )

    def command(self, *words: str) -> list[str]:
        return [sys.executable, "-m", "starvideos_tui", *words]

    def start(self, spawn: Spawn, *words: str, **popen: Any) -> subprocess.Popen[bytes]:
        """`starvideos-tui WORDS` as a child in this home; a stream not given is closed."""
        closed = {name: subprocess.DEVNULL for name in ("stdin", "stdout", "stderr")}
        child: subprocess.Popen[bytes] = spawn(
            self.command(*words), env=self.env, cwd=self.path, **(closed | popen)
        )
        return child

    def piped(self, spawn: Spawn, *words: str) -> tuple[subprocess.Popen[bytes], dict[int, str]]:
        """The child with stdout and stderr pipes, and those pipes' names by fd."""
        child = self.start(spawn, *words, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stdout is not None and child.stderr is not None
        return child, {child.stdout.fileno(): "out", child.stderr.fileno(): "err"}

    def on_a_terminal(
        self, spawn: Spawn, *words: str, streams: tuple[str, ...] = ("stdin", "stdout", "stderr")
    ) -> tuple[subprocess.Popen[bytes], list[tuple[float, str, bytes]]]:
        """The child with `streams` on a new pty (no controlling one: a session of its
        own), and all the pty showed until it exited."""
        master, slave = pty.openpty()
        try:
            child = self.start(spawn, *words, **dict.fromkeys(streams, slave))
            os.close(slave)
            slave = -1
            got = read_until_exit(child, {master: "tty"}, 40)
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)
        return child, got

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
    spawn: Spawn,
) -> None:
    sim = start_sim(queued_seconds=1.5, processing_seconds=1.5)
    home = Home(tmp_path, sim)
    child, fds = home.piped(spawn, "--interval", "1", "create", "--prompt", "a cat", "--wait")
    got = read_until_exit(child, fds, 40)
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
    spawn: Spawn,
) -> None:
    """At the default-like 30 s, a log shows the wait within a second, not at a change."""
    sim = start_sim(queued_seconds=600, processing_seconds=600)
    home = Home(tmp_path, sim)
    words = ("--interval", "30", "create", "--prompt", "a slow cat", "--wait")
    child, fds = home.piped(spawn, *words)
    got = read_for(child, fds, 3.0)
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
    assert lines[0] == "waiting for 2 tasks (2 unchecked); polling every 0.5 s", done.stderr
    # A line per pass: each asks one of them or both.
    assert 1 <= max(polls(sim, a), polls(sim, b)) <= len(lines) - 1 <= polls(sim, a) + polls(sim, b)
    assert "\x1b" not in done.stderr


# -- class 15: notifications from watch and wait, on the terminal only ----------------------


def test_watch_notify_osc777_on_a_terminal_sends_one_coalesced_notification(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    spawn: Spawn,
) -> None:
    sim = start_sim()
    home = Home(tmp_path, sim)
    good = sim.seed_task("a cat", queued=0, processing=0)
    bad = sim.seed_task("a dog", queued=0, processing=0, fail=True, error="Too dark.")
    assert home.run("add", good, bad).returncode == 0
    child, got = home.on_a_terminal(spawn, "--notify", "osc777", "--interval", "0.5", "watch")
    assert child.wait(timeout=10) == 1  # one failed
    terminal = b"".join(data for _, _, data in got)
    assert f"{good} saved".encode() in terminal, terminal
    bodies = OSC777.findall(terminal)
    # Both moments of the first pass make one notification that counts them.
    assert bodies in (
        [b"starvideos-tui;1 video ready, 1 failed"],
        [b"starvideos-tui;1 failed, 1 video ready"],
    ), terminal
    assert terminal.count(ESC) == 1 + 1  # its start and its ST: nothing else escapes


def test_wait_notify_auto_in_tmux_under_kitty_strips_the_apis_text_and_wraps_it(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    spawn: Spawn,
) -> None:
    """STARVIDEOS_NOTIFY=auto picks kitty's OSC 99 from KITTY_WINDOW_ID, wraps it for tmux,
    and the API's error, with its own escapes, cannot end the sequence or start one."""
    sim = start_sim()
    home = Home(tmp_path, sim)
    hostile = "Too dark.\x1b]52;c;cm0gLXJmIH4=\x07\x1b\\\x9c then\nmore"
    bad = sim.seed_task("a dog", queued=0, processing=0, fail=True, error=hostile)
    home.env.update(STARVIDEOS_NOTIFY="auto", KITTY_WINDOW_ID="3", TMUX="/tmp/tmux-1/x,1,0")
    child, got = home.on_a_terminal(spawn, "--interval", "0.5", "wait", bad, streams=("stderr",))
    assert child.wait(timeout=10) == 1
    terminal = b"".join(data for _, _, data in got)
    start = b"\x1bPtmux;\x1b\x1b]99;i=1:d=0;Task failed\x1b\x1b\\\x1b\x1b]99;i=1:d=1:p=body;"
    assert start in terminal, terminal
    body, _, rest = terminal.split(start, 1)[1].partition(b"\x1b\x1b\\\x1b\\")
    assert body.decode() == f"{bad} failed: Too dark. ]52;c;cm0gLXJmIH4= \\ then more"
    assert ESC not in rest.replace(b"\r\x1b[K", b""), rest  # only the live line's clearing


def test_watch_notify_with_stderr_a_file_writes_to_the_controlling_terminal_only(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    spawn: Spawn,
) -> None:
    """`watch 2>log` from a shell: the escapes go to /dev/tty, the log stays plain."""
    sim = start_sim()
    home = Home(tmp_path, sim)
    good = sim.seed_task("a cat", queued=0, processing=0)
    assert home.run("add", good).returncode == 0
    master, slave = pty.openpty()  # the slave kept open: some /dev/pts drop a closed one
    name = os.ttyname(slave)
    # A session leader that opens a terminal makes it its controlling one; then exec.
    launcher = (
        "import os, sys; os.close(os.open(sys.argv[1], os.O_RDWR)); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])"
    )
    log, out = tmp_path / "log", tmp_path / "out"
    watch = home.command("--notify", "osc777", "--interval", "0.5", "watch")
    try:
        with log.open("wb") as err_file, out.open("wb") as out_file:
            child = spawn(
                [sys.executable, "-c", launcher, name, *watch[1:]],
                stdin=subprocess.DEVNULL,
                stdout=out_file,
                stderr=err_file,
                env=home.env,
                cwd=tmp_path,
            )
            got = read_until_exit(child, {master: "tty"}, 40)
    finally:
        os.close(master)
        os.close(slave)
    assert child.wait(timeout=10) == 0, log.read_bytes()
    terminal = b"".join(data for _, _, data in got)
    assert OSC777.findall(terminal) == [f"Video ready;{good} completed".encode()], terminal
    assert f"{good} saved".encode() in out.read_bytes()
    for path in (log, out):
        assert ESC not in path.read_bytes() and b"\x07" not in path.read_bytes()


def test_watch_notify_with_no_terminal_at_all_writes_no_escape_anywhere(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    spawn: Spawn,
) -> None:
    """A cron job: stderr a file, no controlling terminal. The notifications have nowhere
    to go, and none lands in the log or the output."""
    sim = start_sim()
    home = Home(tmp_path, sim)
    good = sim.seed_task("a cat", queued=0, processing=0)
    bad = sim.seed_task("a dog", queued=0, processing=0, fail=True, error="Too dark.")
    assert home.run("add", good, bad).returncode == 0
    log, out = tmp_path / "log", tmp_path / "out"
    with log.open("wb") as err_file, out.open("wb") as out_file:
        child = home.start(
            spawn,
            "--notify",
            "osc777",
            "--interval",
            "0.5",
            "watch",
            stdout=out_file,
            stderr=err_file,
        )
        assert child.wait(timeout=40) == 1
    assert f"{good} saved".encode() in out.read_bytes()
    assert b"Too dark." in out.read_bytes()
    for path in (log, out):
        data = path.read_bytes()
        assert ESC not in data and b"\x07" not in data and b"\x9d" not in data, data


def test_watch_sends_no_notification_unless_asked(
    tmp_path: Path,
    start_sim: Callable[..., Simulator],
    spawn: Spawn,
) -> None:
    """Without --notify (or STARVIDEOS_NOTIFY, or the config's notify) a script's terminal
    is not rung: the default `auto` is the TUI's."""
    sim = start_sim()
    home = Home(tmp_path, sim)
    good = sim.seed_task("a cat", queued=0, processing=0)
    assert home.run("add", good).returncode == 0
    home.env["TERM_PROGRAM"] = "WezTerm"
    child, got = home.on_a_terminal(spawn, "--interval", "0.5", "watch")
    assert child.wait(timeout=10) == 0
    terminal = b"".join(data for _, _, data in got)
    assert f"{good} saved".encode() in terminal and ESC not in terminal, terminal
