"""Processes the tests start, made to end whatever happens (not a test module).

- `start()` is `subprocess.Popen` with the child in a session, so a process group, of its
  own, and with PR_SET_PDEATHSIG: the kernel SIGKILLs it the moment pytest dies, however
  it dies (`os._exit` after a timeout, kill -9, the OOM killer), when no `finally` runs.
- `end()` ends a child's whole group: SIGTERM, a short grace (a TUI gives its terminal
  back, the demo removes its folder), then SIGKILL; reaped, its pipes closed.
- `leftovers()` lists what the run started and did not end: every live descendant of
  pytest (parent chains read from /proc), and the members of every group `start()` made
  and `end()` has not closed (a grandchild whose parent died is no longer a descendant,
  but it is still in its group). `end_all()` ends them: the end-of-session check.
- `Tmux` is a private tmux server (`tmux -L <unique>`, its socket in a folder of its own)
  that `kill()` ends with everything running in it.
- `Backstop` ends the run, stacks dumped and children killed, when a test outlives its
  pytest-timeout by a margin (see conftest.py for why).

Linux only where it reads /proc or calls prctl; elsewhere those parts do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import itertools
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PR_SET_PDEATHSIG = 1
GRACE = 2.0  # seconds between SIGTERM and SIGKILL

try:
    _prctl: Any = ctypes.CDLL(None, use_errno=True).prctl
    _prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    _prctl.restype = ctypes.c_int
except (OSError, AttributeError):  # not Linux
    _prctl = None

Spawn = Callable[..., "subprocess.Popen[Any]"]  # the `spawn` fixture (conftest.py)

# Children from start() that end() has not ended yet (their group ids are their pids).
_started: list[subprocess.Popen[Any]] = []
# Processes the check must watch, with their descendants, though they are not ours by
# parent: a tmux server (tmux makes itself a daemon) while its fixture lives.
_watched: set[int] = set()
_lock = threading.Lock()


def _die_with(parent: int) -> Callable[[], None]:
    """The child's last step before exec: be SIGKILLed when `parent` dies (kept across
    exec), or die now if it already has. As little as can be between fork and exec: a
    prctl through a function looked up before the fork, and a getppid."""

    def preexec() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0)
        if os.getppid() != parent:
            os._exit(111)

    return preexec


def start(args: Any, **popen: Any) -> subprocess.Popen[Any]:
    """`subprocess.Popen(args, **popen)`, the child in a group of its own that dies with
    pytest. End it with `end()` (the `spawn` fixture does). The kernel ties the death
    signal to the thread that starts the child: start children from the test's thread,
    not from a worker thread that ends before they should."""
    for taken in ("start_new_session", "process_group", "preexec_fn"):
        if taken in popen:
            raise TypeError(f"start() sets {taken} itself")
    child = subprocess.Popen(
        args, start_new_session=True, preexec_fn=_die_with(os.getpid()), **popen
    )
    with _lock:
        _started.append(child)
    return child


def _still_names_its_group(child: subprocess.Popen[Any]) -> bool:
    """Whether `child`'s pid, the id of the group it led, can only mean that group still.
    So while the child is unreaped; after that, while no other process holds its pid (the
    group's id stays taken while anything is in the group, but once it is empty the pid
    can go to a stranger who leads a group of its own: that one must never be signalled)."""
    if child.poll() is None:
        return True
    try:
        os.kill(child.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def end(child: subprocess.Popen[Any], grace: float = GRACE) -> None:
    """End `child` and every process left in its group: SIGTERM, up to `grace` seconds,
    SIGKILL. Then reap it and close its pipes. Safe to call twice."""
    pgid = child.pid  # start() made it a group leader
    try:
        if _still_names_its_group(child) and _group_alive(pgid):
            _signal_group(pgid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                # poll() reaps the leader, so a group of only a zombie reads as empty.
                if child.poll() is not None and not _group_alive(pgid):
                    break
                time.sleep(0.02)
            else:
                _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=10)
    finally:
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        with _lock:
            if child in _started and child.returncode is not None:
                _started.remove(child)


def child_environment(home: Path) -> dict[str, str]:
    """This environment for a child: the package importable, every user folder under
    `home` (STARVIDEOS_HOME), no other STARVIDEOS_* setting inherited, nor the terminal size
    pytest-xdist sets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARVIDEOS_")}
    # pytest-xdist's workers say COLUMNS=80, LINES=24: a child's width is its own stdout's.
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["STARVIDEOS_HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def read_until(fd: int, until: float) -> bytes:
    """What `fd` gives until the monotonic time `until`, or until it ends (a pty's master
    side reads EIO once the child's side is closed)."""
    out = b""
    while time.monotonic() < until:
        if not select.select([fd], [], [], 0.05)[0]:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    return out


def demo_in_a_pty(
    spawn: Spawn, env: dict[str, str], *flags: str
) -> tuple[subprocess.Popen[Any], int]:
    """`starvideos-tui FLAGS --demo` with stdin, stdout and stderr on a new pseudo-terminal,
    in `env`; the child and the terminal's master side, to read and type on."""
    master, slave = pty.openpty()
    try:
        child = spawn(
            [sys.executable, "-m", "starvideos_tui", *flags, "--demo"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
        )
    finally:
        os.close(slave)
    return child, master


# -- what is still running ----------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgrp: int
    state: str

    @property
    def command(self) -> str:
        try:
            raw = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return "?"
        return raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace") or "?"


def processes() -> dict[int, Proc]:
    """Every process on the machine, from /proc (empty where there is no /proc)."""
    found: dict[int, Proc] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        found[int(name)] = Proc(int(name), int(fields[1]), int(fields[2]), fields[0])
    return found


def _descendants(procs: dict[int, Proc], roots: Iterable[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    found: set[int] = set()
    todo = list(roots)
    while todo:
        for pid in children.get(todo.pop(), []):
            if pid not in found:
                found.add(pid)
                todo.append(pid)
    return found


def leftovers() -> list[Proc]:
    """Live processes this run started and did not end (zombies are dead: left out)."""
    me = os.getpid()
    procs = processes()
    with _lock:
        started = list(_started)
        watched = {pid for pid in _watched if pid in procs}
    groups = {child.pid for child in started if _still_names_its_group(child)}
    pids = _descendants(procs, [me, *watched]) | watched
    pids |= {proc.pid for proc in procs.values() if proc.pgrp in groups}
    pids.discard(me)
    return sorted((procs[p] for p in pids if procs[p].state not in "ZX"), key=lambda p: p.pid)


def end_all(wait: float = 2.0, grace: float = GRACE) -> list[tuple[int, str]]:
    """The end-of-session check: give what is left `wait` seconds to end by itself, then
    end it (whole groups where they are not pytest's own). Returns (pid, command) of each
    process that was still running."""
    deadline = time.monotonic() + wait
    left = leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = leftovers()
    if not left:
        return []
    named = [(p.pid, p.command) for p in left]
    own_group = os.getpgrp()
    for signum in (signal.SIGTERM, signal.SIGKILL):
        for proc in left:
            if proc.pgrp != own_group:
                _signal_group(proc.pgrp, signum)
            else:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(proc.pid, signum)
        stop = time.monotonic() + (grace if signum == signal.SIGTERM else 5.0)
        while time.monotonic() < stop and (left := leftovers()):
            time.sleep(0.05)
        if not left:
            break
    with _lock:
        for child in _started:
            child.poll()  # reap those that were ours
        _started[:] = [c for c in _started if c.returncode is None]
        _watched.clear()
    return named


# -- a private tmux server ----------------------------------------------------------------

_tmux_names = itertools.count()


class Tmux:
    """A tmux server of its own: `-L <unique name>`, its socket in a fresh short folder
    (a socket path is limited to ~100 bytes, which a test's tmp_path can outgrow), no
    user config. Call it like the tmux command: `tmux("new-session", "-d", "sleep 9")`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="svt-tmux-"))
        self.name = f"svt-{os.getpid()}-{next(_tmux_names)}"
        # Not pytest-xdist's COLUMNS=80, LINES=24 either: a pane's size is the window's.
        drop = ("TMUX", "TMUX_PANE", "COLUMNS", "LINES")
        self.env = {k: v for k, v in os.environ.items() if k not in drop}
        self.env["TMUX_TMPDIR"] = str(self.folder)
        self.server: int | None = None

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 10
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["tmux", "-f", "/dev/null", "-L", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )
        if self.server is None:
            self._note_server()
        return done

    def _note_server(self) -> None:
        pid = self._ask("display-message", "-p", "#{pid}")
        if pid:
            self.server = pid[0]
            with _lock:
                _watched.add(self.server)

    def _ask(self, *args: str) -> list[int]:
        done = subprocess.run(
            ["tmux", "-L", self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return [int(x) for x in done.stdout.split() if x.isdigit()] if done.returncode == 0 else []

    def pane_pids(self) -> list[int]:
        return self._ask("list-panes", "-a", "-F", "#{pane_pid}")

    def kill(self, grace: float = GRACE) -> None:
        """kill-server, then SIGKILL whatever of it outlives `grace` seconds (a pane's
        program that ignores the hangup, the server itself). Safe to call twice."""
        panes = self.pane_pids()
        subprocess.run(
            ["tmux", "-L", self.name, "kill-server"],
            env=self.env,
            capture_output=True,
            timeout=10,
            check=False,
        )
        mine = [p for p in [self.server, *panes] if p is not None]
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_alive(p) for p in mine):
            time.sleep(0.02)
        procs = processes()
        for pid in mine:
            proc = procs.get(pid)
            if proc is None or proc.state in "ZX":
                continue
            # A pane's program leads a session and group of its own (tmux gives each pane
            # one); the server too (it made itself a daemon).
            if proc.pgrp == pid:
                _signal_group(pid, signal.SIGKILL)
            else:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
        with _lock:
            _watched.discard(self.server or -1)
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    proc = processes().get(pid)
    return proc is not None and proc.state not in "ZX"


# -- the backstop -------------------------------------------------------------------------


class Backstop:
    """Ends the run when what it guards outlives its deadline: a note of what, every
    thread's stack, the children ended, exit status 1. For hangs pytest-timeout's SIGALRM
    cannot end (a teardown stuck after the alarm was spent, C code that never returns to
    Python, threads that keep the interpreter from exiting). A Python thread needs the
    GIL: faulthandler's C watchdog, armed 30 s later, ends even a run whose GIL is held."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._what = ""
        self._skip: Callable[[], bool] = lambda: False
        self._thread: threading.Thread | None = None
        # Gives the real stderr back (pytest captures fd 2 during a test) and prints what
        # was captured; set by conftest.py.
        self.before_fire: Callable[[], None] = lambda: None

    def arm(self, seconds: float, what: str, skip: Callable[[], bool] | None = None) -> None:
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._what = what
            self._skip = skip or (lambda: False)
            if sys.__stderr__ is not None:
                faulthandler.dump_traceback_later(seconds + 30, exit=True, file=sys.__stderr__)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, name="test-backstop", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> None:
        with self._cond:
            self._deadline = None
            faulthandler.cancel_dump_traceback_later()
            self._cond.notify()

    def _watch(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                if self._skip():  # a debugger attached, say: leave the user be
                    self._deadline = None
                    faulthandler.cancel_dump_traceback_later()
                    continue
                self._fire()

    def _fire(self) -> None:
        with contextlib.suppress(Exception):
            self.before_fire()
        out = sys.__stderr__
        assert out is not None
        out.write(f"\n\n!!! backstop: {self._what}; ending the run\n")
        faulthandler.dump_traceback(file=out, all_threads=True)
        for pid, command in end_all(wait=0.0, grace=0.5):
            out.write(f"!!! backstop: killed process {pid}: {command}\n")
        out.flush()
        os._exit(1)


def fold_ended(timeout: float = 20.0) -> None:
    """Wait for the watchlist threads an app left behind: a closed Monitor folds the journal
    in its thread without waiting (a process's exit waits for it; the test's does not)."""
    for thread in threading.enumerate():
        if thread.name.startswith("watchlist"):
            thread.join(timeout=timeout)
