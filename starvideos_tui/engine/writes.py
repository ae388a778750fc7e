"""The engine's writes to the watchlist: each task's changes queued (one after another) and
written together, as one transaction, at most once per `every` seconds (the first change
arms the write) and whenever the engine flushes (at the end of every pass, on close). A
failed write keeps its changes queued, before any that came since."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.poll import Change
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.storage.store import WatchlistError

FLUSH_EVERY = 1.0  # seconds: at most one watchlist write per this, and one per pass


class WriteQueue:
    """`written(stored, gone)` is told what the watchlist holds after each write, and which
    of the written tasks another process removed meanwhile; `trouble` a write that failed
    on its own timer."""

    def __init__(
        self,
        store: AsyncWatchlist,
        *,
        written: Callable[[dict[str, TaskRecord], frozenset[str]], None],
        trouble: Callable[[str], None],
        every: float = FLUSH_EVERY,
    ) -> None:
        self.store = store
        self.written = written
        self.trouble = trouble
        self.every = every
        self.pending: dict[str, Change] = {}
        self._timer: asyncio.Task[None] | None = None

    def queue(self, task_id: str, change: Change) -> None:
        earlier = self.pending.get(task_id)
        self.pending[task_id] = change if earlier is None else _then(earlier, change)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._flush_soon())

    def drop(self, task_id: str) -> None:
        """The task is no longer watched: nothing of it is written."""
        self.pending.pop(task_id, None)

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.every)
        self._timer = None
        try:
            await self.flush()
        except WatchlistError as exc:
            self.trouble(str(exc))

    async def flush(self) -> None:
        """Write every queued change now, as one transaction."""
        if self._timer is not None and self._timer is not asyncio.current_task():
            self.stop_timer()
        if not self.pending:
            return
        changes, self.pending = self.pending, {}
        try:
            stored = await self.store.update(changes)
        except BaseException:
            # Not written: keep the changes (before any that came since) for the next try.
            for task_id, change in changes.items():
                later = self.pending.get(task_id)
                self.pending[task_id] = change if later is None else _then(change, later)
            raise
        self.written(stored, frozenset(changes) - set(stored))

    def save_now(self) -> None:
        """Write what is queued straight to the watchlist, from any thread."""
        changes = dict(self.pending)
        if changes:
            self.store.sync.update(changes)

    def stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _then(first: Change, second: Change) -> Change:
    return lambda record: second(first(record))
