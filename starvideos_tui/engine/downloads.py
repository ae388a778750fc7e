"""The engine's download queue: at most `slots` videos at once, the rest queued.

What the user is waiting for goes first: a video queued as `later` (a watch's backlog:
completed before the run, never saved) waits while any other waits, and takes at most
LATER_SLOTS of the slots, so a task that completes now never queues behind history.

Each download is `videos.save_task_video` (the same path as the CLI's `download`) in a
task of its own; its transfer runs in a thread, whose progress reaches the loop through
`call_soon_threadsafe` and is passed on a few times a second at most.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Protocol

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.engine.events import (
    DownloadEnded,
    DownloadProgress,
    DownloadQueued,
    Event,
    TasksChanged,
)
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist

log = logging.getLogger(__name__)

DOWNLOAD_SLOTS = 2
LATER_SLOTS = 1  # of them, at most this many for `later` videos: one is always for the new
PROGRESS_EVERY = 0.2  # seconds between progress events of one download
QUEUED = DownloadState("queued")  # one for every queued video (frozen)


class Owner(Protocol):
    """What the queue needs of the engine that owns it (monitor.Monitor)."""

    client: StarVideosClient | None
    store: AsyncWatchlist
    records: dict[str, TaskRecord]
    emit: Callable[[Event], None]
    wall_clock: Callable[[], float]
    monotonic: Callable[[], float]

    async def flush(self) -> None: ...

    def poke(self) -> None: ...


class Slots:
    """`total` slots handed out first come first served, `later` askers only when no other
    waits and fewer than `later_cap` of them hold one."""

    def __init__(self, total: int, later_cap: int) -> None:
        self._free = total
        self._later_cap = later_cap
        self._later_held = 0
        self._now: collections.deque[asyncio.Future[None]] = collections.deque()
        self._later: collections.deque[asyncio.Future[None]] = collections.deque()

    @contextlib.asynccontextmanager
    async def held(self, later: bool) -> AsyncIterator[None]:
        waiter = asyncio.get_running_loop().create_future()
        (self._later if later else self._now).append(waiter)
        self._hand_out()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a slot just now
                self._release(later)
            else:
                (self._later if later else self._now).remove(waiter)
            raise
        try:
            yield
        finally:
            self._release(later)

    def _release(self, later: bool) -> None:
        self._free += 1
        self._later_held -= later
        self._hand_out()

    def _hand_out(self) -> None:
        while self._free:
            if self._now:
                self._now.popleft().set_result(None)
            elif self._later and self._later_held < self._later_cap:
                self._later.popleft().set_result(None)
                self._later_held += 1
            else:
                return
            self._free -= 1


class DownloadQueue:
    def __init__(self, monitor: Owner, folder: Path, slots: int = DOWNLOAD_SLOTS) -> None:
        self.monitor = monitor
        self.folder = folder
        self.states: dict[str, DownloadState] = {}
        self._slots = Slots(slots, min(LATER_SLOTS, slots))
        self._tasks: set[asyncio.Task[None]] = set()
        self._shown: dict[str, float] = {}
        # `later` videos wait as ids, run one after another by one task (`_feed_later`):
        # they never hold more than one slot anyway, and 12,000 of a year's backlog as
        # 12,000 waiting tasks would hold ~3 KB each (a coroutine, its frame, a future).
        self._later: collections.deque[str] = collections.deque()
        self._feeder: asyncio.Task[None] | None = None

    def start(self, task_id: str, *, later: bool = False) -> bool:
        """Queue the video of `task_id` (`later`: after every other); False when it is
        already queued or running."""
        if task_id in self.states:
            return False
        self.states[task_id] = QUEUED
        self.monitor.emit(DownloadQueued(task_id))
        if later:
            self._later.append(task_id)
            if self._feeder is None:
                self._feeder = self._spawn(self._feed_later())
        else:
            self._spawn(self._run(task_id, later))
        return True

    def _spawn(self, work: Coroutine[None, None, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _feed_later(self) -> None:
        """Run the `later` videos in the order queued, one at a time."""
        try:
            while self._later:
                await self._run(self._later.popleft(), later=True)
        except asyncio.CancelledError:
            for task_id in self._later:  # never started: queued no more
                self.states.pop(task_id, None)
            self._later.clear()
            raise
        finally:
            self._feeder = None

    @property
    def busy(self) -> bool:
        return bool(self.states)

    async def _run(self, task_id: str, later: bool) -> None:
        monitor = self.monitor
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int | None) -> None:  # in the transfer's thread
            loop.call_soon_threadsafe(self._progressed, task_id, done, total)

        record = None
        error: str | None = None
        reused = False
        try:
            async with self._slots.held(later):
                self.states[task_id] = DownloadState("downloading")
                if monitor.client is None:
                    raise StarVideosError("no API key: run starvideos-tui login")
                await monitor.flush()  # the download reads the record from disk
                saved = await save_task_video(
                    task_id,
                    client=monitor.client,
                    watchlist=monitor.store,
                    folder=self.folder,
                    progress=progress,
                    now=monitor.wall_clock,
                )
                reused = saved.reused
        except StarVideosError as exc:
            error = str(exc)
        except asyncio.CancelledError:
            self.states.pop(task_id, None)
            raise
        except Exception as exc:  # a bug: told, logged, and the queue goes on
            log.exception("download of %s failed", task_id)
            error = f"download failed: {exc}"
        finally:
            self._shown.pop(task_id, None)
        with contextlib.suppress(StarVideosError):
            record = await monitor.store.get(task_id)
        self.states.pop(task_id, None)
        if record is not None and task_id in monitor.records:
            monitor.records[task_id] = record
            monitor.emit(TasksChanged({task_id: record}))
        monitor.emit(DownloadEnded(task_id, record if error is None else None, error, reused))
        monitor.poke()

    def _progressed(self, task_id: str, done: int, total: int | None) -> None:
        if task_id not in self.states:
            return
        self.states[task_id] = DownloadState("downloading", done, total)
        now = self.monitor.monotonic()
        if done == total or now - self._shown.get(task_id, 0.0) >= PROGRESS_EVERY:
            self._shown[task_id] = now
            self.monitor.emit(DownloadProgress(task_id, done, total))

    async def wait(self) -> None:
        """Until every queued download has ended."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel every download (each keeps its bytes in its `.part`) and wait for them."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
