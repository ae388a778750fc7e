"""Benchmark inputs: watchlist files of N tasks, and a simulator in its own process.

The watchlist files are written through `Watchlist.add`, so they have exactly the format
the product writes. The simulator runs in a separate process so that its CPU time is
never counted as the app's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

HERE = Path(__file__).resolve().parent
DAY = 86_400.0


def completed_record(i: int, now: float) -> TaskRecord:
    """A finished task as a poll leaves it: status history, a video link, a label."""
    task_id = f"video_starvideos_o3_{1_000_000_000 + i}"
    created = now - 3 * DAY + i
    return TaskRecord(
        id=task_id,
        status="completed",
        created=int(created),
        model="starvideos_o3",
        video_url=f"https://cdn.example.com/videos/{task_id}.mp4?token=Zm9vYmFyYmF6cXV4&expires=1",
        video_url_at=created + 40,
        actual_duration=5.0,
        prompt=f"A red fox running through fresh snow at dawn, take {i}",
        label=f"fox take {i}",
        added_at=created,
        checked_at=created + 40,
        updated_at=created + 40,
        history=(("queued", created), ("processing", created + 5), ("completed", created + 40)),
    )


def write_completed_watchlist(path: Path, count: int) -> Path:
    now = time.time()
    Watchlist(path).add([completed_record(i, now) for i in range(count)])
    return path


def write_history_watchlist(path: Path, finished: int, ids: list[str]) -> Path:
    """A long history of `finished` completed tasks and, added last, the running `ids`."""
    write_completed_watchlist(path, finished)
    return write_unfinished_watchlist(path, ids)


def write_unfinished_watchlist(path: Path, ids: list[str]) -> Path:
    """Watch the simulator's tasks as the app would after a first poll: processing."""
    now = time.time()
    Watchlist(path).add(
        [
            TaskRecord(id=i, status="processing", added_at=now, checked_at=now, updated_at=now)
            for i in ids
        ]
    )
    return path


@contextmanager
def simulator_process(tasks: int, *, queued_seconds: float = 0.0) -> Iterator[dict[str, Any]]:
    """A simulator in a child process holding `tasks` unfinished tasks.

    Yields {"base_url": ..., "ids": [...]}; the child serves until its stdin closes.
    """
    child = subprocess.Popen(
        [
            sys.executable,
            str(HERE / "_sim.py"),
            "--tasks",
            str(tasks),
            "--queued-seconds",
            str(queued_seconds),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process exited before it was ready")
        yield json.loads(line)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
