"""The watchlist, off the event loop: every read, write, lock wait and fsync of the engine
runs here, in one thread of its own, so neither face's loop ever waits on the disk.

One thread also means one transaction at a time from this process, in the order asked.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

T = TypeVar("T")


class AsyncWatchlist:
    """`Watchlist`'s methods as coroutines that run in the watchlist's own thread."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.sync = watchlist
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="watchlist")

    @property
    def path(self) -> object:
        return self.sync.path

    async def run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, partial(function, *args))

    async def load(self) -> list[TaskRecord]:
        return await self.run(self.sync.load)

    async def first_screen(self, count: int, since: float | None) -> list[TaskRecord] | None:
        """`count` tasks from the head of the file, or (`since`) every task but those
        finished before `since`: a first screen, read before the whole history."""
        if since is None:
            return await self.run(self.sync.peek, count)
        return await self.run(self.sync.recent, since)

    async def get(self, task_id: str) -> TaskRecord | None:
        return await self.run(self.sync.get, task_id)

    async def changed_since_load(self) -> bool:
        return await self.run(self.sync.changed_since_load)

    async def add(self, records: Sequence[TaskRecord]) -> list[tuple[str, bool]]:
        return await self.run(self.sync.add, records)

    async def remove(self, ids: Iterable[str]) -> list[tuple[str, bool]]:
        return await self.run(self.sync.remove, list(ids))

    async def update(
        self, changes: Mapping[str, Callable[[TaskRecord], TaskRecord]]
    ) -> dict[str, TaskRecord]:
        return await self.run(self.sync.update, dict(changes))

    def close(self, *, wait: bool = True, fold: bool = True) -> None:
        """No more calls. The watchlist is closed by the thread's last job: its journal
        folded into the base, so plain TinyDB sees every task (without `fold`, as when the
        process is being stopped, it is left for the next clean end). `wait`: until the
        thread's work is done (without, the interpreter's exit still waits for it)."""
        if not fold:
            self.sync.leave_journal()
        with contextlib.suppress(RuntimeError):  # closed before
            self._thread.submit(self.sync.close)  # the last job: after every write
        self._thread.shutdown(wait=wait)
