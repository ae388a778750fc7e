"""Benchmark inputs: watchlist files of N tasks, and a simulator in its own process.

The watchlist files are written through `Watchlist.add`, so they have exactly the format
the product writes. The simulator runs in a separate process so that its CPU time is
never counted as the app's.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
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


# A year of history as issue 25 measured it: of 50,000 tasks, 31,563 saved, 12,552
# completed but never saved, 5,865 failed, and 20 running (added last).
YEAR_MIX = (("saved", 31_563), ("unsaved", 12_552), ("failed", 5_865))
YEAR_RUNNING = 20
PROMPT = (
    "Slow aerial push-in over a fog-filled valley at sunrise, pine ridges catching the "
    "first light, a river glinting below, soft volumetric rays, 35mm film look, take "
)


def _hex(i: int, what: str) -> str:
    return hashlib.sha256(f"{what} {i}".encode()).hexdigest()


def year_record(i: int, kind: str, now: float) -> TaskRecord:
    """One task of a year of history: `kind` is saved, unsaved, failed or running."""
    task_id = f"video_starvideos_o3_{1_700_000_000 + i}"
    created = now - 365 * DAY + i * 600 if kind != "running" else now - 600 + i % 100
    done = created + 95
    prompt = (PROMPT + f"{i}").ljust(200, ".")
    history: tuple[tuple[str, float], ...] = (("queued", created), ("processing", created + 8))
    base: dict[str, Any] = {
        "id": task_id,
        "created": int(created),
        "model": "starvideos_o3",
        "prompt": prompt,
        "label": f"valley {i % 97}" if i % 3 == 0 else None,
        "added_at": created,
        "checked_at": done if kind != "running" else now,
        "updated_at": done if kind != "running" else created + 8,
    }
    if kind == "running":
        return TaskRecord(status="processing", history=history, **base)
    if kind == "failed":
        return TaskRecord(
            status="failed",
            error="content policy: the prompt was refused by the safety filter",
            history=(*history, ("failed", done)),
            **base,
        )
    expires = int(done + 86_400)
    url = (
        f"https://cdn.starvideos.example/o3/{task_id}.mp4?X-Amz-Expires=86400"
        f"&X-Amz-Date=20250101T000000Z&Expires={expires}&Signature={_hex(i, 'link')}"
    )
    record = TaskRecord(
        status="completed",
        video_url=url,
        video_url_at=done,
        link_expires_at=float(expires),
        actual_duration=5.0,
        history=(*history, ("completed", done)),
        **base,
    )
    if kind == "unsaved":
        return record
    return replace(
        record,
        local_path=f"/home/user/Videos/starvideos/{task_id}.mp4",
        size=3_145_728 + i,
        sha256=_hex(i, "video"),
        media={
            "container": "mov,mp4,m4a,3gp,3g2,mj2",
            "codec": "h264",
            "width": 1920,
            "height": 1080,
            "fps": 24.0,
            "duration": 5.041667 if i % 4 else 10.041667,
        },
    )


def year_kinds(count: int) -> list[str]:
    """`count` tasks in a year's mix: the finished ones interleaved, the running last."""
    finished = count - YEAR_RUNNING
    total = sum(n for _, n in YEAR_MIX)
    kinds: list[str] = []
    for i in range(finished):  # spread evenly, in the mix's proportions
        at = (i * total) // finished
        kinds.append("saved" if at < 31_563 else "unsaved" if at < 31_563 + 12_552 else "failed")
    mixed = [kinds[(i * 7919) % finished] for i in range(finished)] if finished else []
    return [*mixed, *["running"] * YEAR_RUNNING]


def write_year_watchlist(path: Path, count: int) -> Path:
    """A watchlist of `count` tasks as a year leaves it (`YEAR_MIX`), written in batches
    through `Watchlist.add`, the running tasks added last."""
    now = time.time()
    path.parent.mkdir(parents=True, exist_ok=True)
    watchlist = Watchlist(path)
    records = [year_record(i, kind, now) for i, kind in enumerate(year_kinds(count))]
    for start in range(0, len(records), 5000):
        watchlist.add(records[start : start + 5000])
    watchlist.close()
    return path
