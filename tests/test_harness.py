"""The suite never hangs and leaves nothing running (issue 23): children end with their
whole group, die with pytest however it dies, a private tmux server ends with what runs in
it, and a run whose test leaves a process behind fails, naming it, with the process killed.

The end-of-session check and the backstop are proven on inner pytest runs that load the
real tests/conftest.py as a plugin."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers_proc import Spawn, Tmux, end, processes, start

TESTS = Path(__file__).resolve().parent


def _alive(pid: int) -> bool:
    proc = processes().get(pid)
    return proc is not None and proc.state not in "ZX"


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _pids_in(path: Path) -> list[int]:
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def test_end_kills_the_childs_whole_group_its_children_too(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    # A shell that starts a grandchild deaf to SIGTERM, then waits: ending the shell alone
    # would leave the grandchild running, an orphan.
    child = start(
        ["sh", "-c", f"sh -c 'trap \"\" TERM; echo $$ >> {pids}; exec sleep 60' & wait"],
        stdout=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not _pids_in(pids):
            assert time.monotonic() < deadline, "the grandchild never started"
            time.sleep(0.02)
        [grandchild] = _pids_in(pids)
        assert processes()[grandchild].pgrp == child.pid
    finally:
        end(child, grace=0.3)
    assert child.returncode is not None
    assert child.stdout is not None and child.stdout.closed
    assert _gone_within([grandchild], 5), "the grandchild outlived end()"


def test_a_child_dies_with_its_parent_even_when_no_finally_runs(
    tmp_path: Path, spawn: Spawn
) -> None:
    """PR_SET_PDEATHSIG: a parent that os._exit()s, as pytest-timeout's thread method and
    the backstop do, takes its children (each in a session of its own) with it."""
    pids = tmp_path / "pids"
    parent = spawn(
        [
            sys.executable,
            "-c",
            "import os, sys\n"
            "from helpers_proc import start\n"
            "child = start(['sleep', '60'])\n"
            f"open({str(pids)!r}, 'w').write(str(child.pid))\n"
            "os._exit(1)\n",
        ],
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )
    assert parent.wait(timeout=30) == 1
    [orphan] = _pids_in(pids)
    assert _gone_within([orphan], 5), "the child outlived its parent's os._exit"


def test_a_private_tmux_server_ends_with_a_program_that_ignores_the_hangup() -> None:
    """What a terminal closing means to a program in tmux: kill-server hangs up its pane. A
    program deaf to that (as a TUI stuck at start-up could be) is killed all the same."""
    if subprocess.run(["which", "tmux"], capture_output=True).returncode != 0:
        pytest.skip("needs tmux")
    tmux = Tmux()
    try:
        tmux("new-session", "-d", "-x", "80", "-y", "24", "trap '' HUP TERM; sleep 60")
        panes = tmux.pane_pids()
        assert panes and tmux.server is not None
        mine = [tmux.server, *panes]
        socket_folder = tmux.folder
    finally:
        tmux.kill(grace=0.5)
    assert _gone_within(mine, 5)
    assert not socket_folder.exists()


# -- the end-of-session check and the backstop, on inner runs ---------------------------------

INNER_TESTS = """
import os, signal, subprocess, threading, time
import pytest
from helpers_proc import start

PIDS = {pids!r}

def note(pid):
    with open(PIDS, "a") as f:
        f.write(f"{{pid}}\\n")

def test_ended_by_its_fixture(spawn):
    note(spawn(["sleep", "61"]).pid)

def test_leaves_a_child_running():
    note(subprocess.Popen(["sleep", "62"]).pid)

def test_leaves_an_orphan_in_a_group_it_started():
    start(["sh", "-c", "sleep 63 & echo $! >> " + PIDS])
    time.sleep(0.5)

def test_leaves_a_thread_that_never_ends():
    threading.Thread(target=time.sleep, args=(600,), name="forever").start()

@pytest.mark.timeout(1)
def test_stuck_where_the_alarm_cannot_reach():
    note(subprocess.Popen(["sleep", "64"]).pid)
    signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGALRM}})
    time.sleep(60)
"""


def _inner_run(
    spawn: Spawn, folder: Path, *selected: str, workers: int = 0
) -> tuple[int, str, list[int]]:
    """pytest on INNER_TESTS with the real conftest.py, the backstop's margins made 4 s (a
    loaded machine's xdist workers may take a second or two to end after their tests);
    with `workers`, in that many pytest-xdist workers (the README's command uses them)."""
    pids = folder / "pids"
    (folder / "test_inner.py").write_text(textwrap.dedent(INNER_TESTS.format(pids=str(pids))))
    (folder / "fast_backstop.py").write_text(
        "import conftest\nconftest.BACKSTOP_MARGIN = conftest.EXIT_DEADLINE = 4.0\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(folder)])}
    args = [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "fast_backstop"]
    args += ["-p", "no:cacheprovider", "-q", "--rootdir", str(folder)]
    args += ["-o", "asyncio_default_fixture_loop_scope=function"]
    args += ["-n", str(workers)] if workers else ["-p", "no:xdist"]
    args += [f"test_inner.py::{name}" for name in selected]
    inner = spawn(args, env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = inner.communicate(timeout=60)
    return inner.returncode, out.decode(errors="replace"), _pids_in(pids)


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist"])
def test_a_run_that_leaves_a_process_running_fails_naming_it_and_kills_it(
    tmp_path: Path, spawn: Spawn, workers: int
) -> None:
    """Under xdist each worker checks its own children and sends what it found to the
    controller, which names it and fails the run (a worker's own output is lost)."""
    code, out, pids = _inner_run(
        spawn,
        tmp_path,
        "test_ended_by_its_fixture",
        "test_leaves_a_child_running",
        "test_leaves_an_orphan_in_a_group_it_started",
        workers=workers,
    )
    assert code == 1, out
    assert "3 passed" in out  # every test passed: the leftovers alone fail the run
    assert "2 process(es) started by the tests were still running" in out, out
    assert "sleep 62" in out and "sleep 63" in out and "sleep 61" not in out
    # sleep 62 was in pytest's own group: killed alone, or pytest would have died too
    assert len(pids) == 3
    assert _gone_within(pids, 5), "a leftover outlived the check"


@pytest.mark.parametrize("workers", [0, 2], ids=["serial", "xdist"])
def test_a_run_that_ends_what_it_starts_passes(tmp_path: Path, spawn: Spawn, workers: int) -> None:
    """Under xdist the controller's check comes after xdist has ended its workers: they
    are its children, but no leftovers, and no worker is killed by another's check."""
    code, out, pids = _inner_run(spawn, tmp_path, "test_ended_by_its_fixture", workers=workers)
    assert code == 0, out
    assert "still running" not in out
    assert len(pids) == 1 and _gone_within(pids, 5)


def test_a_test_the_timeout_cannot_end_meets_the_backstop(tmp_path: Path, spawn: Spawn) -> None:
    """SIGALRM blocked: pytest-timeout's alarm never arrives. The backstop ends the run a
    margin after the timeout, with every thread's stack and the test's children killed."""
    started = time.monotonic()
    code, out, pids = _inner_run(spawn, tmp_path, "test_stuck_where_the_alarm_cannot_reach")
    assert code == 1, out
    assert time.monotonic() - started < 30, "the backstop did not end the run"
    assert "backstop: test_inner.py::test_stuck_where_the_alarm_cannot_reach" in out, out
    assert "in test_stuck_where_the_alarm_cannot_reach" in out  # its stack
    assert "killed process" in out and "sleep 64" in out
    assert len(pids) == 1 and _gone_within(pids, 5)


def test_a_thread_that_keeps_pytest_from_exiting_meets_the_backstop(
    tmp_path: Path, spawn: Spawn
) -> None:
    """The hang of issue 23 came after the last test: pytest waiting at exit on a thread
    that never ends. It is named, and the process ends EXIT_DEADLINE later, exit 1."""
    started = time.monotonic()
    code, out, _ = _inner_run(spawn, tmp_path, "test_leaves_a_thread_that_never_ends")
    assert code == 1, out
    assert time.monotonic() - started < 30, "the backstop did not end the run"
    assert "1 passed" in out
    assert "threads still running, which keep pytest from exiting: ['forever']" in out, out
    assert "backstop: pytest has not exited 4 s after its tests" in out, out
