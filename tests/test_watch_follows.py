"""`watch` waits for every watched task, those another process adds while it runs too (a
user's `create` or `add` in another terminal): it polls them, saves their videos, and
counts them in its verdict. Real processes: `watch` a child, the add from the test."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from helpers_cli import FAST, SAMPLE, Cli
from helpers_proc import Spawn

from starvideos_tui.simulator import Simulator


def test_a_task_added_while_watch_runs_is_waited_for_and_saved(
    cli: Cli, sim: Simulator, spawn: Spawn, tmp_path: Path
) -> None:
    first = sim.seed_task("a cat", queued=0.3, processing=2.0)
    cli.ok("add", first)
    folder = tmp_path / "dl"
    watch = spawn(
        [sys.executable, "-m", "starvideos_tui", *FAST, "--download-dir", str(folder), "watch"],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not cli.records() or not any(r["checked_at"] for r in cli.records()):
        assert watch.poll() is None and time.monotonic() < deadline, watch.communicate()
        time.sleep(0.1)  # watch has answered for the first task: it is running
    later = sim.seed_task("a dog", queued=0.3, processing=4.0)  # ends after the first
    cli.ok("add", later)
    out, err = watch.communicate(timeout=60)

    assert watch.returncode == 0, (out, err)
    assert f"{later} saved" in out and f"{first} saved" in out, out
    assert (folder / f"{later}.mp4").read_bytes() == SAMPLE
