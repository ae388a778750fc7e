"""The CLI run in the test's own process (`cli.main`), with the same face as helpers_cli's
`Cli`: a command's code, stdout and stderr. A child process costs ~0.3 s of a shared
core; this costs milliseconds. For commands that start no TUI and need no separate
process (two processes at once, a signal, a closed stdout: use `Cli`)."""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import KEY, Run

from starvideos_tui.cli import main as cli_main
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.watchlists import Watchlist

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
    logger = logging.getLogger("starvideos_tui")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    on_signal = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    yield InCli(home, capsys)
    for signum, was in on_signal.items():
        signal.signal(signum, was)
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]
