"""Whole-process figures, measured from outside as a user would see them (issue 25, item 4):

- the TUI in a private tmux server at 120x40: from the command to the first row of the
  watchlist on screen (`capture-pane -p` polled), and its RSS some seconds later;
- `list --json` and `list` as processes: wall time, CPU time and peak RSS (`wait4`'s
  rusage);
- `watch`: its RSS some seconds after it started.

    python benchmarks/_outside.py tui --db W.json [--rss-after 30]
    python benchmarks/_outside.py list --db W.json [--json]
    python benchmarks/_outside.py watch --db W.json [--rss-after 30]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# A row of the watchlist: a task id (its end, when shortened from the front) in a pane line.
ROW = re.compile(r"o3_1\d{6,}|…\d{6,}")
SIZE = (120, 40)
DEAD_API = "http://127.0.0.1:9"  # nothing listens: the TUI starts, its polls fail at once


def app_env(home: Path) -> dict[str, str]:
    drop = ("TMUX", "TMUX_PANE", "COLUMNS", "LINES")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(
        STARVIDEOS_HOME=str(home),
        STARVIDEOS_API_KEY="bench-key",
        STARVIDEOS_BASE_URL=DEAD_API,
        TERM="xterm-256color",
    )
    return env


def rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found.group(1)) / 1024 if found else None


def tui(db: Path, rss_after: float, timeout: float = 60.0) -> dict[str, Any]:
    """Start `starvideos-tui --db db` in a private tmux server at 120x40; time until a row
    of the watchlist is on the pane; optionally the app's RSS `rss_after` s later."""
    exe = Path(sys.executable).with_name("starvideos-tui")
    command = (
        f"{exe} --db {db}" if exe.exists() else f"{sys.executable} -m starvideos_tui --db {db}"
    )
    folder = Path(tempfile.mkdtemp(prefix="svt-out-"))
    env = app_env(folder / "home")
    env["TMUX_TMPDIR"] = str(folder)
    tmux = ["tmux", "-f", "/dev/null", "-L", f"bench-{os.getpid()}"]
    width, height = SIZE
    result: dict[str, Any] = {}
    try:
        start = time.perf_counter()
        subprocess.run(
            [*tmux, "new-session", "-d", "-x", str(width), "-y", str(height), command],
            env=env,
            check=True,
        )
        while True:
            pane = subprocess.run(
                [*tmux, "capture-pane", "-p"], env=env, capture_output=True, text=True
            ).stdout
            if ROW.search(pane):
                result["first_rows_s"] = time.perf_counter() - start
                break
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"no row after {timeout:.0f} s:\n{pane}")
            time.sleep(0.005)
        result["screen"] = pane
        if rss_after:
            pid = subprocess.run(
                [*tmux, "list-panes", "-F", "#{pane_pid}"], env=env, capture_output=True, text=True
            ).stdout.split()[0]
            time.sleep(max(0.0, rss_after - (time.perf_counter() - start)))
            result["rss_mb"] = rss_mb(int(pid))
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
    return result


def listing(db: Path, as_json: bool) -> dict[str, Any]:
    """`starvideos-tui --db db list [--json] > /dev/null`: wall time and peak RSS."""
    folder = Path(tempfile.mkdtemp(prefix="svt-out-"))
    command = [sys.executable, "-m", "starvideos_tui", "--db", str(db), "list"]
    if as_json:
        command.append("--json")
    try:
        start = time.perf_counter()
        child = subprocess.Popen(
            command,
            env=app_env(folder / "home"),
            stdout=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"list exited {child.returncode}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cpu = usage.ru_utime + usage.ru_stime  # the figure a loaded machine moves least
    return {"wall_s": elapsed, "cpu_s": cpu, "peak_rss_mb": usage.ru_maxrss / 1024}


def watch(db: Path, rss_after: float) -> dict[str, Any]:
    """`starvideos-tui --db db watch` (its API unreachable: its polls fail at once) and its
    RSS `rss_after` seconds on; then SIGTERM."""
    folder = Path(tempfile.mkdtemp(prefix="svt-out-"))
    command = [sys.executable, "-m", "starvideos_tui", "--db", str(db), "watch"]
    child = subprocess.Popen(
        command,
        env=app_env(folder / "home"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(rss_after)
        result = {"rss_mb": rss_mb(child.pid)}
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        shutil.rmtree(folder, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("tui", "list", "watch"))
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--rss-after", type=float, default=0.0)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--result", type=Path)
    args = parser.parse_args()
    if args.what == "tui":
        result = tui(args.db.resolve(), args.rss_after)
        result.pop("screen")
    elif args.what == "watch":
        result = watch(args.db.resolve(), args.rss_after or 30.0)
    else:
        result = listing(args.db.resolve(), args.json)
    text = json.dumps(result)
    if args.result:
        args.result.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
