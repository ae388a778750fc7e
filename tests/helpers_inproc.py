"""The CLI run in the test's own process (`cli.main`), with the same face as helpers_cli's
`Cli`: a command's code, stdout and stderr. A child process costs ~0.3 s of a shared
core; this costs milliseconds. For commands that start no TUI and need no separate
process (two processes at once, a signal, a closed stdout, a crash, a terminal: use `Cli`).

- `InCli` (with `in_process`): the watchlist seeded and read through the storage's API.
- `SameProcessCli`: `Cli` itself (home, working folder, environment, `run(input=, env=,
  drop=)`), each run in this process as it would be in a child (`as_a_child`); a run with
  `command=` (the console script) is still a child process.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import KEY, Cli, Run

from starvideos_tui.cli import main as cli_main
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage import files as storage_files
from starvideos_tui.storage.store import Watchlist

_SIGNALS = (signal.SIGTERM, signal.SIGHUP)  # cli.main sets handlers for them


class InCli:
    """`starvideos-tui ARGS` in this process, its folders under `home`."""

    def __init__(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self.capsys = capsys
        self.runs: list[Run] = []

    @property
    def watchlist(self) -> Path:
        return self.home / "data" / "watchlist.json"

    def run(self, *args: str) -> Run:
        self.capsys.readouterr()
        try:
            code = cli_main.main(list(args))
        except SystemExit as exc:  # argparse's own refusals
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = self.capsys.readouterr()
        result = Run(tuple(args), code, out, err)
        self.runs.append(result)
        return result

    def ok(self, *args: str) -> Run:
        result = self.run(*args)
        assert result.code == 0, str(result)
        assert "Traceback" not in result.err, str(result)
        return result

    def records(self, *flags: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = json.loads(self.ok("list", "--json", *flags).out)
        return records

    def by_id(self, *flags: str) -> dict[str, dict[str, Any]]:
        return {r["id"]: r for r in self.records(*flags)}

    def seed(self, *records: TaskRecord) -> None:
        """Tasks put in the watchlist as another program would (the storage's own API)."""
        self.watchlist.parent.mkdir(parents=True, exist_ok=True)
        watchlist = Watchlist(self.watchlist)
        try:
            watchlist.add(list(records))
        finally:
            watchlist.close()

    def stored(self) -> dict[str, TaskRecord]:
        watchlist = Watchlist(self.watchlist)
        try:
            return {r.id: r for r in watchlist.load()}
        finally:
            watchlist.close()


def in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[InCli]:
    """For a test module's fixture (`yield from in_process(...)`): the CLI in this
    process with every user folder under tmp_path; the app's logger and the signal
    handlers cli.main installs are put back as they were found."""
    for name in list(os.environ):
        if name.startswith("STARVIDEOS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("STARVIDEOS_HOME", str(home))
    monkeypatch.setenv("STARVIDEOS_API_KEY", KEY)
    monkeypatch.setenv("STARVIDEOS_BASE_URL", "http://127.0.0.1:9")  # nothing is asked
    monkeypatch.chdir(tmp_path)
    with _kept_as_found():
        yield InCli(home, capsys)


@contextlib.contextmanager
def _kept_as_found() -> Iterator[None]:
    """The app's logger and the signal handlers cli.main installs, put back after the
    block as they were found (a log file's handler closed)."""
    logger = logging.getLogger("starvideos_tui")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    on_signal = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    try:
        yield
    finally:
        for signum, was in on_signal.items():
            signal.signal(signum, was)
        for handler in logger.handlers:
            if handler not in saved[0]:
                handler.close()
        logger.handlers[:] = saved[0]
        logger.propagate, logger.level = saved[1], saved[2]


def _exit_code(exc: SystemExit) -> int:
    """The status a process ending with `exc` would have (what `python -m` does with it)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def run_main(args: Sequence[str]) -> int:
    """`cli.main(args)` with what the interpreter would add around it in a child: the exit
    status of a SystemExit, a traceback and status 1 for an exception that escapes, and
    the wait at exit for every non-daemon thread the command left running (a watchlist's
    last fold of its journal, closed with wait=False: the process would not end before)."""
    before = set(threading.enumerate())
    try:
        return cli_main.main(list(args))
    except SystemExit as exc:
        return _exit_code(exc)
    except Exception:
        traceback.print_exc()
        return 1
    finally:
        deadline = time.monotonic() + 30
        for thread in set(threading.enumerate()) - before:
            if not thread.daemon:
                thread.join(max(0.0, deadline - time.monotonic()))
        # And the interpreter's exit folds the journal of every watchlist it wrote.
        storage_files._fold_at_exit()
        storage_files._WROTE.clear()


@contextlib.contextmanager
def as_a_child(env: dict[str, str], cwd: Path, stdin: str) -> Iterator[None]:
    """This process made, for the block, what a child of `Cli.run` would see: exactly `env`
    in os.environ, `cwd` as its folder, `stdin` (a pipe's text, not a terminal) on stdin.
    Put back after it, with the app's logger and the signal handlers cli.main sets."""
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_stdin = sys.stdin
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    # The simulator serving the run lives in this process, not in the child's: none of
    # its log lines go to the command's log file.
    simulator_log = logging.getLogger("starvideos_tui.simulator")
    simulator_propagates = simulator_log.propagate
    simulator_log.propagate = False
    try:
        with _kept_as_found():
            yield
    finally:
        simulator_log.propagate = simulator_propagates
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def run_in_process(
    capsys: pytest.CaptureFixture[str],
    args: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path,
    stdin: str = "",
) -> Run:
    """`starvideos-tui ARGS` run in this process as a child with exactly `env`, in `cwd`,
    with `stdin` piped in would run: its exit status, stdout and stderr."""
    capsys.readouterr()
    with as_a_child(env, cwd, stdin):
        code = run_main(args)
    out, err = capsys.readouterr()
    return Run(tuple(args), code, out, err)


class SameProcessCli(Cli):
    """`Cli` with each run (but a `command=` one) in this process: same home, folder,
    environment and checks, no interpreter start. For what a child process itself proves
    nothing about; a signal, a crash, a terminal, a closed stream stay with `Cli`."""

    def __init__(self, tmp_path: Path, base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        super().__init__(tmp_path, base_url)
        self.capsys = capsys

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        command: list[str] | None = None,
        timeout: float = 30,
    ) -> Run:
        if command is not None:
            return super().run(
                *args, input=input, env=env, drop=drop, command=command, timeout=timeout
            )
        full_env = self.environment(env, drop)
        result = run_in_process(self.capsys, args, env=full_env, cwd=self.cwd, stdin=input or "")
        self.runs.append(result)
        return result

    def in_a_child(self, *args: str, **kw: Any) -> Run:
        """`Cli.run`: this one run a real child process (another process's lock, ...)."""
        return Cli.run(self, *args, **kw)
