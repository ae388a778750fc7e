"""`download` beyond one fresh video: a saved task put into another folder (`--to DIR`),
and every completed task not saved yet (`--all-unsaved`), through the one save path
(videos.save_task_video), at most DOWNLOAD_SLOTS at once.

A task whose link is certainly dead (core.linkexpiry.certainly_dead) is not asked for:
neither the API nor the video host hears of it, and the face says how many were left so.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.errors import Failure, StarVideosError
from starvideos_tui.core.linkexpiry import certainly_dead
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.engine.downloads import DOWNLOAD_SLOTS
from starvideos_tui.engine.videos import already_saved, is_saved, save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.video.copies import Placed, SourceProblem, place
from starvideos_tui.video.download import Progress, SavedVideo

__all__ = [
    "Placed",
    "SavedVideo",
    "SourceProblem",
    "copy_saved",
    "dead_link_problem",
    "gone_and_dead",
    "is_saved",
    "save_unsaved",
    "unsaved",
]


def _when(moment: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(moment))


def dead_link_problem(record: TaskRecord, now: float) -> str | None:
    """Why the video of `record` cannot be downloaded again without asking anyone: its
    link is certainly dead. None when it may still work."""
    if not certainly_dead(record, now):
        return None
    deadline = record.link_deadline
    if deadline is not None and deadline <= now:
        return f"its link expired on {_when(deadline)}"
    return "its link is older than any link of the API lives"


async def copy_saved(record: TaskRecord, folder: Path) -> Placed:
    """Put the saved video of `record` into `folder` under the same name (hard-linked
    where it can be, else copied; checked against the record's size and sha256).
    SourceProblem when the saved file is gone or changed; DownloadError for the folder."""
    assert record.local_path and record.sha256 and record.size is not None
    source = Path(record.local_path)
    return await asyncio.to_thread(place, source, record.size, record.sha256, folder, source.name)


@dataclass
class Unsaved:
    """The completed tasks `--all-unsaved` takes, and those it leaves, by why."""

    todo: list[TaskRecord] = field(default_factory=list)
    left: Counter[str] = field(default_factory=Counter)


def unsaved(records: Iterable[TaskRecord], now: float) -> Unsaved:
    """Every completed task whose video is not on disk as recorded, soonest-dying link
    first; a link certainly dead, a rejected or archived take is left (and counted)."""
    found = Unsaved()
    for record in records:
        if record.kind is not TaskStatus.COMPLETED or already_saved(record) is not None:
            continue
        if record.rejected:
            found.left["rejected"] += 1
        elif record.archived:
            found.left["archived"] += 1
        elif certainly_dead(record, now):
            found.left["link expired"] += 1
        else:
            found.todo.append(record)
    found.todo.sort(key=lambda r: (r.link_deadline or math.inf, -(r.created or 0)))
    return found


async def save_unsaved(
    todo: list[TaskRecord],
    *,
    client: StarVideosClient,
    watchlist: AsyncWatchlist,
    folder: Path,
    saved: Callable[[TaskRecord, SavedVideo], Awaitable[None] | None],
    failed: Callable[[TaskRecord, str], Awaitable[None] | None],
    progress: Callable[[str], Progress | None] = lambda _id: None,
    slots: int = DOWNLOAD_SLOTS,
) -> int:
    """Save each task's video, `slots` at once; `saved`/`failed` told as each ends.
    The number saved."""
    gate = asyncio.Semaphore(slots)
    count = 0

    async def one(record: TaskRecord) -> None:
        nonlocal count
        async with gate:
            try:
                video = await save_task_video(
                    record.id,
                    client=client,
                    watchlist=watchlist,
                    folder=folder,
                    progress=progress(record.id),
                )
            except StarVideosError as exc:
                told = failed(record, str(exc))
            else:
                count += 1
                told = saved(record, video)
            if told is not None:
                await told

    await asyncio.gather(*(one(r) for r in todo))
    return count


def gone_and_dead(record: TaskRecord, now: float) -> Failure | None:
    """A saved file gone from disk whose link is certainly dead: nothing can bring it back."""
    if not record.local_path or Path(record.local_path).exists():
        return None
    dead = dead_link_problem(record, now)
    if dead is None:
        return None
    return Failure(f"the saved file {record.local_path} is gone and {dead}: nothing to download")
