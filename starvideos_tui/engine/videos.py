"""Saving the video of a watched task: the one path used by the CLI's `download`, `watch`
and the TUI's `d` key.

It asks the API first when the record is not known to be completed, refreshes an expired
link by polling the task again, and records the file's path, size and sha256 in the
watchlist (or the reason it could not be saved).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.errors import ApiError
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.formatting import ago
from starvideos_tui.core.linkexpiry import certainly_dead, received_at
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.vocabulary import LINK_EXPIRED
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.video.download import (
    DownloadError,
    Progress,
    SavedVideo,
    fetch_to_file,
    prepare_folder,
    target_path,
)

log = logging.getLogger(__name__)

LINK_REFRESHES = 2
BUSY_RECHECK = 0.5  # seconds between looks at another process's download
RECORD_WAITS = 10  # looks for its record once the other process's video is in place


class NotDownloadable(StarVideosError):
    """The task has no video (yet): still running, failed, or unknown."""


def is_saved(record: TaskRecord) -> bool:
    """The record says its video was saved: where, how long, and its sha256."""
    return bool(record.local_path and record.sha256 and record.size is not None)


def already_saved(record: TaskRecord) -> SavedVideo | None:
    """The saved file, if it is still there with the recorded content."""
    if not is_saved(record):
        return None
    assert record.local_path and record.sha256 and record.size is not None
    path = Path(record.local_path)
    try:
        if path.stat().st_size != record.size:
            return None
    except OSError:
        return None
    return SavedVideo(path, record.size, record.sha256, reused=True)


async def _poll_into(
    client: StarVideosClient, watchlist: AsyncWatchlist, task_id: str, now: Callable[[], float]
) -> TaskRecord:
    result = await client.get_result(task_id)
    updated = await watchlist.update({task_id: lambda r: r.with_result(result, now())})
    if task_id not in updated:
        raise NotDownloadable(f"task {task_id} is no longer in the watchlist")
    return updated[task_id]


async def save_task_video(
    task_id: str,
    *,
    client: StarVideosClient,
    watchlist: AsyncWatchlist,
    folder: Path,
    progress: Progress | None = None,
    now: Callable[[], float] = time.time,
) -> SavedVideo:
    """Download the video of `task_id` into `folder` and record it in the watchlist.

    Raises NotDownloadable, DownloadError or ApiError with a message for the user.
    """
    record = await watchlist.get(task_id)
    if record is None:
        raise NotDownloadable(f"task {task_id} is not in the watchlist (add it first)")
    if saved := already_saved(record):
        return saved
    if certainly_dead(record, now()):
        # Past its deadline or older than any link lives: neither the host nor the API is
        # asked, and no `.part` is made. Marked once; the error says it for the face.
        if record.download_error != LINK_EXPIRED:
            await watchlist.update({task_id: lambda r: replace(r, download_error=LINK_EXPIRED)})
        raise DownloadError("expired", f"{LINK_EXPIRED} {dead_for(record, now())}; not tried")
    if record.kind is not TaskStatus.COMPLETED or not record.video_url:
        record = await _poll_into(client, watchlist, task_id, now)
    if record.kind is TaskStatus.FAILED:
        raise NotDownloadable(f"task {task_id} failed: {record.error or 'no reason given'}")
    if record.kind is not TaskStatus.COMPLETED:
        raise NotDownloadable(f"task {task_id} is not completed yet ({record.status or 'new'})")
    if not record.video_url:
        raise NotDownloadable(f"task {task_id} is completed but the API gave no usable video URL")
    try:
        final = target_path(task_id, prepare_folder(folder))
        saved = await _fetch_when_free(record, final, client, watchlist, progress, now)
    except DownloadError as exc:
        message = LINK_EXPIRED if exc.kind == "expired" else exc.message
        log.warning("video of %s not saved: %s", task_id, exc.message)
        await watchlist.update({task_id: lambda r: replace(r, download_error=message)})
        raise
    log.info("saved video of %s to %s (%d bytes)", task_id, saved.path, saved.size)
    await watchlist.update(
        {
            task_id: lambda r: replace(
                r,
                local_path=str(saved.path),
                size=saved.size,
                sha256=saved.sha256,
                media=saved.media.to_json() if saved.media else r.media,
                download_error=None,
            )
        }
    )
    return saved


def dead_for(record: TaskRecord, now: float) -> str:
    """How long ago a certainly dead link died, in words ("3d ago"), or how old it is."""
    deadline = record.link_deadline
    if deadline is not None and deadline < now:
        return f"{ago(now - deadline)} ago"
    received = received_at(record)
    return f"(received {ago(now - received)} ago)" if received is not None else ""


async def _fetch_when_free(
    record: TaskRecord,
    final: Path,
    client: StarVideosClient,
    watchlist: AsyncWatchlist,
    progress: Progress | None,
    now: Callable[[], float],
) -> SavedVideo:
    """Fetch the video; while another process is downloading it, wait for that one and
    take its result: who saved a video does not matter, that it is saved does."""
    while True:
        try:
            return await _fetch_refreshing(record, final, client, watchlist, progress, now)
        except DownloadError as exc:
            if exc.kind != "busy":
                raise
        # The other process may have put the video in place and not recorded it yet: its
        # record is waited for (a while), not the video fetched a second time.
        for _ in range(RECORD_WAITS):
            await asyncio.sleep(BUSY_RECHECK)
            fresh = await watchlist.get(record.id)
            if fresh is None:
                raise NotDownloadable(f"task {record.id} is no longer in the watchlist")
            if saved := already_saved(fresh):
                return saved
            record = fresh if fresh.video_url else record
            if not final.exists():
                break


async def _fetch_refreshing(
    record: TaskRecord,
    final: Path,
    client: StarVideosClient,
    watchlist: AsyncWatchlist,
    progress: Progress | None,
    now: Callable[[], float],
) -> SavedVideo:
    refreshes = 0
    while True:
        try:
            url = record.video_url or ""
            return await fetch_to_file(
                url, final, progress=progress, expected_duration=record.actual_duration
            )
        except DownloadError as exc:
            # A dead link gets a fresh one from the API; so does a page where the video
            # should be, once, in case the host's hiccup is over.
            kind = exc.kind
            retry = kind == "expired" or (kind == "not_video" and not refreshes)
            if not retry or refreshes >= LINK_REFRESHES:
                raise
            failure = exc
        refreshes += 1
        old_url = record.video_url
        try:
            record = await _poll_into(client, watchlist, record.id, now)
        except ApiError as exc:
            if kind == "not_video":
                raise failure from None
            raise DownloadError("expired", f"link expired and refresh failed: {exc}") from None
        if kind == "not_video":
            continue
        if not record.video_url or record.video_url == old_url:
            raise DownloadError("expired", "link expired and the API gave no new one")
