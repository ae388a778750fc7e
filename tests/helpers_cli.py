"""Helpers shared by the tests split from test_cli_e2e.py (not a test module)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contract import LIST_JSON_KEYS
from helpers_proc import child_environment

from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.video import sample_video

PROG = "starvideos-tui"
KEY = "sk-e2e-test-key-0000"
REQUIRED_KEYS = LIST_JSON_KEYS | {"state"}  # state: the face's word, added by the CLI
FAST = ("--interval", "0.5")
SAMPLE = sample_video(3).data
SUBCOMMANDS = ["add", "remove", "list", "refresh", "download", "create", "watch", "login", "sim"]


# -- running the CLI ----------------------------------------------------------------------


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def __str__(self) -> str:
        return (
            f"{PROG} {' '.join(self.args)} -> {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"
        )


class Cli:
    """Runs the CLI in a child process with its own home, working folder and environment."""

    def __init__(self, tmp_path: Path, base_url: str) -> None:
        self.home = tmp_path / "home"
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir()
        self.env = child_environment(self.home)
        self.env.update(
            STARVIDEOS_BASE_URL=base_url,
            STARVIDEOS_API_KEY=KEY,
        )
        self.runs: list[Run] = []

    @property
    def watchlist(self) -> Path:
        return self.home / "data" / "watchlist.json"

    @property
    def key_file(self) -> Path:
        return self.home / "config" / "api-key"

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "config.toml"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        command: list[str] | None = None,
        timeout: float = 30,
    ) -> Run:
        full_env = self.environment(env, drop)
        proc = subprocess.run(
            [*(command or [sys.executable, "-m", "starvideos_tui"]), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            cwd=self.cwd,
            timeout=timeout,
        )
        result = Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(result)
        return result

    def environment(self, env: dict[str, str] | None, drop: tuple[str, ...]) -> dict[str, str]:
        """A run's environment: this CLI's, `env` over it, the `drop` names left out."""
        full_env = {**self.env, **(env or {})}
        for name in drop:
            full_env.pop(name, None)
        return full_env

    def ok(self, *args: str, **kw: Any) -> Run:
        result = self.run(*args, **kw)
        assert result.code == 0, str(result)
        assert "Traceback" not in result.err, str(result)
        return result

    def records(self, *extra: str) -> list[dict[str, Any]]:
        result = self.ok(*extra, "list", "--json")
        records: list[dict[str, Any]] = json.loads(result.out)
        return records

    def record(self, task_id: str) -> dict[str, Any]:
        return next(r for r in self.records() if r["id"] == task_id)


def assert_fails(result: Run, code: int, *needles: str) -> str:
    """Exit `code`, exactly one line on stderr holding every needle, no traceback."""
    assert result.code == code, str(result)
    assert "Traceback" not in result.err and "Traceback" not in result.out, str(result)
    assert len(result.err_lines) == 1, f"expected one stderr line\n{result}"
    line = result.err_lines[0]
    assert line.strip(), str(result)
    for needle in needles:
        assert needle in line, f"{needle!r} not in stderr\n{result}"
    return line


WAITING = ("waiting for ", "waiting: ", "saving the video")


def without_waiting(result: Run) -> Run:
    """A waiting command's stderr, off a terminal, says what it waits for and a line per
    poll (progress.py) before any error: the run without those lines."""
    kept = [line for line in result.err.splitlines(keepends=True) if not line.startswith(WAITING)]
    return replace(result, err="".join(kept))


def snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def posts(sim: Simulator) -> list[str]:
    return [r.path for r in sim.requests if r.method == "POST"]


def polls(sim: Simulator, task_id: str | None = None) -> list[str]:
    return [
        r.path
        for r in sim.requests
        if r.method == "GET"
        and r.path.startswith("/v1/result/")
        and (task_id is None or r.path == f"/v1/result/{task_id}")
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# -- tasks in the simulator ---------------------------------------------------------------


def done_task(sim: Simulator, prompt: str = "a finished cat") -> str:
    return sim.seed_task(prompt, queued=0, processing=0)


def failed_task(sim: Simulator, error: str = "Reference image resolution is too low.") -> str:
    return sim.seed_task("a doomed cat", queued=0, processing=0, fail=True, error=error)


def pending_task(sim: Simulator) -> str:
    return sim.seed_task("a slow cat", queued=600, processing=600)
