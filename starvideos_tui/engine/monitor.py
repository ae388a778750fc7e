"""The engine under both faces: records, the poll loop, other processes' changes, the
download queue, auto-download and the give-up policy. No Textual here.
A face makes a `Monitor` with a callback, calls `start()` and `run()`, and turns the events
(events.py) into what it shows. The face decides how things look; the engine when.

- Passes never overlap; the next is armed when the last ends (schedule.py says when).
- Each answer is shown the moment it lands and queued for the watchlist, written at most
  once per `flush_every` seconds and at the end of every pass, as one transaction (writes.py).
- A slow answer does not hold a pass open: the poller hands it on (poll.py).
- Watchlist I/O runs in its own thread (watchlist_io.py); the loop never waits on disk.
- An id the API answers 404 for `give_up_after` times in a row is no longer polled
  (unknownids.py: a typed id's 404s are asked again within seconds).
- A new link that does not say when it dies is asked once (a HEAD; linkdeadlines.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.create_request import CreateRequest
from starvideos_tui.api.errors import ApiError
from starvideos_tui.core.linkexpiry import certainly_dead
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.schedule import DEFAULT_INTERVAL, PollSchedule
from starvideos_tui.engine.downloads import DownloadQueue
from starvideos_tui.engine.events import (
    ApiState,
    Event,
    GaveUp,
    PassEnded,
    PollFailed,
    StatusChanged,
    TasksChanged,
    Trouble,
)
from starvideos_tui.engine.linkdeadlines import DeadlineAsker
from starvideos_tui.engine.poll import DEFAULT_CONCURRENCY, Answer, Poller, change_for
from starvideos_tui.engine.reloads import changes_between, follow, judge_api, read_whole, whole
from starvideos_tui.engine.submit import submit_one
from starvideos_tui.engine.unknownids import GIVE_UP_AFTER, UnknownIds
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.engine.writes import FLUSH_EVERY, WriteQueue
from starvideos_tui.storage.store import Watchlist, WatchlistError

log = logging.getLogger(__name__)

RELOAD_EVERY = 2.0  # seconds between looks for other processes' changes


class Monitor:
    """Watches the tasks of a watchlist (or only some of them) through one API client."""

    def __init__(
        self,
        watchlist: Watchlist,
        client: StarVideosClient | None,
        *,
        emit: Callable[[Event], None],
        download_dir: Path,
        interval: float = DEFAULT_INTERVAL,
        auto_download: bool = False,
        schedule: PollSchedule | None = None,
        wall_clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        concurrency: int = DEFAULT_CONCURRENCY,
        only: Iterable[str] | None = None,
        give_up_after: int = GIVE_UP_AFTER,
        flush_every: float = FLUSH_EVERY,
        reload_every: float = RELOAD_EVERY,
    ) -> None:
        self.store = AsyncWatchlist(watchlist)
        self.client = client
        self.emit = emit
        self.interval = interval
        self.auto_download = auto_download
        self.wall_clock = wall_clock
        self.monotonic = monotonic
        self.schedule = schedule or PollSchedule(interval=interval, clock=monotonic)
        self.poller = Poller(client, self.schedule, concurrency=concurrency) if client else None
        self.records: dict[str, TaskRecord] = {}
        self.downloads = DownloadQueue(self, download_dir)
        self.gave_up: set[str] = set()
        self.api = ApiState("starting", "starting")
        self._only = set(only) if only is not None else None
        self._reload_every = reload_every
        self.unknown = UnknownIds(self.schedule, give_up_after)
        self.writes = WriteQueue(
            self.store, written=self._written, trouble=self._trouble, every=flush_every
        )
        self._heard: dict[str, Answer] = {}  # answers since the last pass judged the API
        self._pass_lock = asyncio.Lock()
        self._poke = asyncio.Event()
        self._stopped = False
        self.links = DeadlineAsker(wall_clock, self._deadline_learned)

    # -- the records ---------------------------------------------------------------------

    async def start(
        self,
        first_screen: int = 0,
        shown: Callable[[], Awaitable[None]] | None = None,
        *,
        records: list[TaskRecord] | None = None,
        since: float | None = None,
    ) -> None:
        """Read the watchlist (a damaged one raises WatchlistError) and schedule its tasks.

        With `first_screen`, that many tasks from the head of the file (or with `since`,
        every task not finished before it) are shown first, then `shown` is awaited; nothing
        is polled or written until the whole file is checked. `records`: the watchlist as
        the face has just read it (not read again)."""
        if records is not None:
            return self._show_all(*whole(records, self._only))
        if first_screen:
            first = await self.store.first_screen(first_screen, since)
            if first:
                self.records = {r.id: r for r in first if self._only is None or r.id in self._only}
                self.emit(TasksChanged(dict(self.records), everything=True))
                if shown is not None:
                    await shown()
        only = None if self._only is None else frozenset(self._only)
        self._show_all(*await self.store.run(read_whole, self.store.sync.load, only))

    def _show_all(self, records: dict[str, TaskRecord], unfinished: list[str]) -> None:
        """`records`: every task by id; `unfinished`: those to poll (reloads.whole)."""
        self.records = records
        self.gave_up &= records.keys()
        self.schedule.sync(i for i in unfinished if i not in self.gave_up)
        self.emit(TasksChanged(dict(self.records), everything=True))
        self.poke()

    async def reload(self) -> None:
        """The watchlist as on disk now; another process's changes as changes (reloads.py)."""
        await self.flush()
        records = await self.store.load()
        news = changes_between(self.records, records, self._only)
        if news is None:
            return self._show_all(*whole(records, self._only))
        self.records, changed, removed = news
        self.gave_up &= self.records.keys()
        self.schedule.forget(removed)
        follow(self.schedule, changed, self.gave_up)
        if changed or removed:  # (a fold of what is held changes nothing: nothing to redo)
            self.emit(TasksChanged(changed, removed=removed))
        self.poke()

    def _merge(self, stored: dict[str, TaskRecord]) -> None:
        """Records as the watchlist holds them after a write of ours or another's."""
        changed = {
            task_id: record
            for task_id, record in stored.items()
            if task_id in self.records
            and task_id not in self.writes.pending  # a newer answer is on its way to disk
            and self.records[task_id] != record
        }
        self.records.update(changed)
        if changed:
            follow(self.schedule, changed, self.gave_up)  # archived here or elsewhere
            self.emit(TasksChanged(changed))

    def poke(self) -> None:
        """Wake the loop: something changed that may make a pass due or `until` true."""
        self._poke.set()

    # -- what a face asks for -----------------------------------------------------------

    async def add(self, ids: Iterable[str]) -> list[tuple[str, bool]]:
        """Watch these ids (one already watched is kept as it is)."""
        now = self.wall_clock()
        fresh = {i: TaskRecord(id=i, added_at=now) for i in ids}
        outcome = await self.store.add(list(fresh.values()))
        added = {i: fresh[i] for i, was_added in outcome if was_added}
        if self._only is not None:
            self._only.update(added)
        # What was written is what we hold: no re-read of a long watchlist for one id.
        self.records.update(added)
        self.schedule.track(added)
        self.emit(TasksChanged(added))
        self.poke()
        return outcome

    async def remove(self, ids: Iterable[str]) -> list[tuple[str, bool]]:
        outcome = await self.store.remove(ids)
        gone = frozenset(i for i, was_there in outcome if was_there)
        for task_id in gone:
            self.records.pop(task_id, None)
            self.writes.drop(task_id)
        self.schedule.forget(gone)
        self.emit(TasksChanged({}, removed=gone))
        return outcome

    async def set_label(self, task_id: str, label: str | None) -> None:
        await self.change([task_id], lambda r: replace(r, label=label))

    async def change(self, ids: Iterable[str], change: Callable[[TaskRecord], TaskRecord]) -> None:
        """The user's change (label, rating, reject, archive), written now in one go."""
        await self.flush()
        self._merge(await self.store.update(dict.fromkeys(ids, change)))

    async def create(self, request: CreateRequest, label: str | None = None) -> TaskRecord:
        """Submit a task (submit.py: a 429 waited out, the ledger kept) and watch it;
        ApiError or Failure for the face to show."""
        if self.client is None:
            raise ApiError("no API key: run starvideos-tui login")
        record = await submit_one(self.client, self.store, request, label, clock=self.wall_clock)
        if self._only is not None:
            self._only.add(record.id)
        await self.reload()
        return self.records.get(record.id, record)

    def poll_now(self, ids: Iterable[str]) -> None:
        """The user asked: poll these now (a Retry-After still holds), given-up ones too."""
        ids = [i for i in ids if i in self.records and self.records[i].needs_polling]
        revived = [i for i in ids if i in self.gave_up]
        self.gave_up.difference_update(revived)
        for task_id in revived:
            self.unknown.forget(task_id)
        self.schedule.track(revived)
        self.schedule.poll_now(ids)
        self.poke()

    def set_auto_download(self, on: bool) -> None:
        self.auto_download = on
        now = self.wall_clock()
        for record in self.records.values() if on else ():  # a dead link is not tried
            usable = not record.local_path and not certainly_dead(record, now)
            if record.kind is TaskStatus.COMPLETED and usable:
                self.downloads.start(record.id)

    # -- the loop ------------------------------------------------------------------------

    async def run(self, until: Callable[[], bool] | None = None) -> None:
        """Poll on the schedule, one pass at a time, until `until()` or `stop()`."""
        while not self._stopped and not (until is not None and until()):
            try:
                if await self.store.changed_since_load():
                    await self.reload()
                    continue
                wake = self.schedule.next_wakeup() if self.poller is not None else None
                now = self.monotonic()
                if wake is None or wake > now:
                    delay = self._reload_every if wake is None else wake - now
                    self._poke.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._poke.wait(), min(delay, self._reload_every))
                    continue
                await self.run_pass()
            except asyncio.CancelledError:
                raise
            except WatchlistError as exc:
                self.emit(Trouble(str(exc)))
                await asyncio.sleep(min(self.interval, 30.0))
            except Exception:  # a bug must not stop polling for good
                log.exception("polling pass failed")
                self._set_api(ApiState("trouble", "poller error (see log)"))
                await asyncio.sleep(min(self.interval, 30.0))

    def stop(self) -> None:
        self._stopped = True
        self.poke()

    async def run_pass(self, ids: Iterable[str] | None = None) -> PassEnded:
        """One round of polls (default: the due tasks); every answer shown as it lands,
        all that landed written by the end. Of the due tasks, a request still out after
        the poller's patience is handed on (its answer is taken when it lands); tasks
        named in `ids` are all waited for, each request ending by the client's deadline."""
        async with self._pass_lock:
            if ids is None:
                self.schedule.pass_started()
                wanted = self.schedule.due()
            else:
                wanted = [i for i in dict.fromkeys(ids) if i in self.records]
            asked = 0
            if self.poller and wanted:
                # Asked for by name (refresh): every answer, each ending by the deadline.
                asked = await self.poller.ask(wanted, self._answered, wait_all=ids is not None)
            await self.flush()
            answers, self._heard = self._heard, {}  # with those that landed after their pass
            self._judge_api(answers)
            ended = PassEnded(
                asked,
                sum(isinstance(a, ApiError) for a in answers.values()),
                self.schedule.next_wakeup(),
            )
            self.emit(ended)
            return ended

    def _answered(self, task_id: str, answer: Answer) -> None:
        self._heard[task_id] = answer
        if not self._pass_lock.locked():  # handed on by a pass that has ended
            self._judge_api(self._heard)  # a refused key must not wait for a pass to be said
            self._heard = {}
            self.poke()  # its task may be due sooner than the loop is waiting for
        old = self.records.get(task_id)
        if old is None:
            return  # removed while the request was out
        change = change_for(answer, self.wall_clock())
        new = change(old)
        self.records[task_id] = new
        self.writes.queue(task_id, change)
        self.emit(TasksChanged({task_id: new}))
        if isinstance(answer, ApiError):
            assert new.last_problem is not None
            first = old.last_problem is None or old.last_problem.message != answer.message
            self.emit(PollFailed(task_id, new.last_problem, first))
            if answer.kind == "not_found" and self.unknown.not_found(old):
                self.gave_up.add(task_id)
                self.emit(GaveUp(task_id, "the API does not know this id"))
            return
        self.unknown.forget(task_id)
        if new.video_url and new.video_url != old.video_url and new.link_expires_at is None:
            self._ask_host(task_id, new.video_url)
        if new.status != old.status:
            log.info("task %s: %s -> %s", task_id, old.status or "unchecked", new.status)
            self.emit(StatusChanged(task_id, old.status, new.status))
            if new.kind is TaskStatus.COMPLETED and self.auto_download and not new.local_path:
                self.downloads.start(task_id)
            self.poke()

    def _ask_host(self, task_id: str, url: str) -> None:
        """Ask the host of a link that does not say when it dies (linkdeadlines.py)."""
        if self.auto_download or self.records[task_id].local_path:
            return  # the download is what matters, and it starts now
        self.links.ask(task_id, url)

    def _deadline_learned(self, task_id: str, url: str, deadline: float) -> None:
        record = self.records.get(task_id)
        if record is None or record.video_url != url:
            return

        def learned(record: TaskRecord) -> TaskRecord:
            if record.video_url != url or record.link_expires_at is not None:
                return record
            return replace(record, link_expires_at=deadline)

        self.records[task_id] = learned(record)
        self.writes.queue(task_id, learned)
        self.emit(TasksChanged({task_id: self.records[task_id]}))

    def _judge_api(self, answers: dict[str, Answer]) -> None:
        """A word for the API as a whole after a pass (reloads.judge_api)."""
        offset = self.wall_clock() - self.monotonic()
        state = judge_api(answers, self.schedule, offset)
        if state is not None:
            self._set_api(state)

    def _set_api(self, state: ApiState) -> None:
        if state != self.api:
            self.api = state
            self.emit(state)

    # -- writing -------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write every queued change now, as one transaction (writes.py)."""
        await self.writes.flush()

    def _written(self, stored: dict[str, TaskRecord], gone: frozenset[str]) -> None:
        self._merge(stored)
        if gone:  # removed by another process meanwhile
            for task_id in gone:
                self.records.pop(task_id, None)
            self.emit(TasksChanged({}, removed=gone))

    def _trouble(self, message: str) -> None:
        self.emit(Trouble(message))

    def save_now(self) -> None:
        """Write what is queued straight to the watchlist, from any thread: the TUI's last
        resort when its loop is stuck and the process is about to be ended."""
        self.writes.save_now()

    async def close(self, *, fold: bool = True) -> None:
        """Stop downloads (their bytes kept for a resume), write what is queued (`fold`:
        False when the process is being stopped: watchlist_io.py)."""
        self.stop()
        if self.poller is not None:
            self.poller.cancel()
        self.links.close()
        await self.downloads.close()
        self.writes.stop_timer()
        try:
            await self.flush()
        finally:
            # Every write was awaited by now (the flush runs after them, in one thread);
            # a read still running (a long watchlist being loaded) is not waited for.
            self.store.close(wait=False, fold=fold)
