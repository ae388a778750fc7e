"""Helpers shared by the tests split from test_download.py (not a test module)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from helpers_media import padded_video

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.simulator import RequestLog, Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.video import download
from starvideos_tui.video.download import (
    SavedVideo,
)

KEY = "sk-test-DOWNLOAD-SECRET-0042"
MiB = 1 << 20
# Two blocks of the module's and an odd tail, so cuts and resumes fall mid-block and
# off the direct-I/O alignment.
# A real video, padded with a `free` box (which players skip) to that size: only a video
# is ever called saved.
SOURCE = padded_video(2 * download.BLOCK + 12_345)
SOURCE_ETAG = '"source-v1"'
TASK = "video_starvideos_o3_5550001111"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# -- retries without sleeping ---------------------------------------------------------------


class NoWaitEvent(download.CancelToken):
    """A cancel token whose back-off `wait` returns at once and remembers what was asked."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


# -- the simulator's video host, through save_task_video ------------------------------------


def watch_task(watchlist: Watchlist, task_id: str) -> None:
    watchlist.add([TaskRecord(id=task_id, added_at=time.time())])


def record_of(watchlist: Watchlist, task_id: str) -> TaskRecord:
    return next(r for r in watchlist.load() if r.id == task_id)


async def save(sim: Simulator, watchlist: Watchlist, task_id: str, folder: Path) -> SavedVideo:
    async with StarVideosClient(sim.base_url, KEY) as client:
        return await save_task_video(
            task_id, client=client, watchlist=AsyncWatchlist(watchlist), folder=folder
        )


async def poll_once(sim: Simulator, watchlist: Watchlist, task_id: str) -> TaskRecord:
    """Poll as the monitor would, so the watchlist holds a completed task with its link."""
    async with StarVideosClient(sim.base_url, KEY) as client:
        result = await client.get_result(task_id)
    watchlist.update({task_id: lambda r: r.with_result(result, time.time())})
    return record_of(watchlist, task_id)


def video_requests(sim: Simulator) -> list[RequestLog]:
    return [r for r in sim.requests if not r.path.startswith("/v1/")]
