"""The real TUI beside another process that writes and then folds (issue #25's trial):
`python benchmarks/trial_fold.py [--watchlist /tmp/y50b.json] [--tasks 20] [--speed 0.4]`.

A copy of the watchlist; a simulator (slowed); `--tasks` live tasks created on it; the TUI
(`starvideos-tui`) at 240x40 in a private tmux server; once its RSS settled, `wait --download`
on the live tasks in a process of its own, writing their changes until they are final and
folding its journal into a new base at its exit. The TUI's RSS (VmRSS) and CPU time are
read from /proc before, during and after; the pane is checked to show the live tasks done.
Every process is ended at the end; the copy is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

EXE = Path(sys.executable).with_name("starvideos-tui")
TICK = os.sysconf("SC_CLK_TCK")


def status(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of `pid`."""
    rss = next(
        int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return rss, (int(fields[11]) + int(fields[12])) / TICK


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchlist", type=Path, default=Path("/tmp/y50b.json"))
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--speed", type=float, default=0.4)
    parser.add_argument("--settle", type=float, default=30.0)
    parser.add_argument(
        "--writer", choices=("wait", "watch"), default="wait", help="the other process"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="trial-fold-"))
    db = folder / "w.json"
    shutil.copyfile(args.watchlist, db)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "COLUMNS")}
    env.update(
        STARVIDEOS_HOME=str(folder / "home"),
        STARVIDEOS_API_KEY="trial-key",
        STARVIDEOS_BASE_URL=f"http://127.0.0.1:{port}",
        STARVIDEOS_DB=str(db),
        TMUX_TMPDIR=str(folder),
        TERM="xterm-256color",
    )
    tmux = ["tmux", "-f", "/dev/null", "-L", f"fold-{os.getpid()}"]
    sim = subprocess.Popen(
        [str(EXE), "sim", "--port", str(port), "--speed", str(args.speed)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    waiter: subprocess.Popen[str] | None = None
    seen: list[dict[str, Any]] = []
    try:
        assert sim.stdout is not None and "listening" in sim.stdout.readline()
        requests = folder / "requests.jsonl"
        lines = [
            json.dumps({"prompt": f"trial take {i}", "duration": 5}) for i in range(args.tasks)
        ]
        requests.write_text("\n".join(lines) + "\n")
        made = subprocess.run(
            [str(EXE), "create", "--from", str(requests)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        ids = made.stdout.split()[-args.tasks :]
        subprocess.run(
            [*tmux, "new-session", "-d", "-x", "240", "-y", "40", str(EXE)], env=env, check=True
        )
        pane = subprocess.run(
            [*tmux, "list-panes", "-F", "#{pane_pid}"], env=env, capture_output=True, text=True
        )
        pid = int(pane.stdout.split()[0])
        start = time.monotonic()

        def look(what: str) -> None:
            rss, cpu = status(pid)
            seen.append(
                {"t": round(time.monotonic() - start, 1), "what": what, "rss": rss, "cpu": cpu}
            )
            print(f"{seen[-1]['t']:6.1f} s  {what:<28} RSS {rss:6.1f} MB  CPU {cpu:6.2f} s")

        while time.monotonic() - start < args.settle:
            time.sleep(5)
            look("settling")
        waiter = subprocess.Popen(
            [str(EXE), "wait", "--download", *ids]
            if args.writer == "wait"
            else [str(EXE), "watch"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        inode = db.stat().st_ino
        while waiter.poll() is None:
            time.sleep(5)
            look(f"beside {args.writer}")
        folded = db.stat().st_ino != inode  # a new base (the TUI may have begun a journal)
        look(f"{args.writer} ended ({waiter.returncode}), folded={folded}")
        for _ in range(6):
            time.sleep(5)
            look("after the fold")
        screen = subprocess.run(
            [*tmux, "capture-pane", "-p"], env=env, capture_output=True, text=True
        ).stdout
        listed = subprocess.run(
            [str(EXE), "list", "--json"], env=env, capture_output=True, text=True, check=True
        )
        states = {t["id"]: t["state"] for t in json.loads(listed.stdout) if t["id"] in ids}
        print("the live tasks on disk:", sorted(set(states.values())))
        print(screen)
    finally:
        subprocess.run([*tmux, "kill-server"], env=env, capture_output=True, check=False)
        for child in (waiter, sim):
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
