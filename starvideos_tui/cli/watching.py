"""`watch` and `wait`, and the face they share with `create --wait`: the Watcher, a line
per change of what the engine reports, and a verdict in the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

from starvideos_tui.cli.cmdline import ids_from, out, print_records, say_plain
from starvideos_tui.cli.progress import Progress
from starvideos_tui.core import memory
from starvideos_tui.core.console import say
from starvideos_tui.core.errors import Failure, TimedOut, UsageError
from starvideos_tui.core.formatting import ago
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import clean
from starvideos_tui.core.vocabulary import LINK_EXPIRED
from starvideos_tui.engine import alerts
from starvideos_tui.engine.events import (
    DownloadEnded,
    Event,
    GaveUp,
    PassEnded,
    PollFailed,
    StatusChanged,
    TasksChanged,
    Trouble,
)
from starvideos_tui.engine.history import read_history
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.session import Watchlist, api_client, monitoring
from starvideos_tui.engine.settings import Settings


class Watcher:
    """The face of `watch`, `wait` and `create --wait`: a line per change, and a verdict.

    With `download` (watch, create --wait, wait --download) a completed task is settled
    when its video is saved; without, when it is completed. `line` prints a line (stdout;
    stderr when stdout carries JSON). With `alerter`, desktop notifications as the TUI
    sends them (alerts.py)."""

    def __init__(
        self,
        progress: Progress | None = None,
        *,
        download: bool = True,
        line: Callable[[str], None] = out,
        alerter: alerts.Alerter | None = None,
    ) -> None:
        self.saved: set[str] = set()  # saved, or completed when not downloading
        self.failed: dict[str, str] = {}  # id: why it has no video, for the last line
        self.pending: set[str] = set()  # the tasks waited for that have not ended yet
        self.backlog: set[str] = set()  # `watch`: older videos saved after the present's
        self.wanted: set[str] = set()  # the tasks its verdict counts
        self.known: set[str] | None = None  # `follow`: every task seen, to tell a new one
        self.progress = progress  # what it is waiting for, on stderr
        self.download = download
        self.out = line
        self.alerter = alerter

    def give_up(self, task_id: str, why: str) -> None:
        if task_id not in self.failed and task_id not in self.saved:
            self.failed[task_id] = why
            self.out(why)

    def heard(self, event: Event) -> None:
        if self.alerter is not None:
            self.alerter.heard(event)
        if isinstance(event, TasksChanged) and self.known is not None:
            self._follow(event.records.values(), self.known)
        if isinstance(event, PassEnded):
            if self.progress is not None:
                self.progress.polled(event)
            return
        if self.progress is not None:
            self.progress.clear()  # the next tick shows it again, under the new line
        if isinstance(event, StatusChanged):
            self.out(f"{event.task_id} {event.old or 'new'} -> {clean(event.new)}")
        elif isinstance(event, PollFailed) and event.first:
            self.out(f"{event.task_id} poll failed: {clean(event.problem.message)}")
        elif isinstance(event, GaveUp):
            self.give_up(event.task_id, f"unknown id {event.task_id}: the API does not know it")
        elif isinstance(event, DownloadEnded):
            if event.error is not None:
                why = f"{event.task_id} completed but not saved: {clean(event.error)}"
                if event.task_id in self.backlog:
                    self.out(why)  # history: told, not counted in the verdict
                else:
                    self.give_up(event.task_id, why)
            elif event.record is not None:
                self.saved.add(event.task_id)
                self.out(f"{event.task_id} saved {event.record.local_path}")
        elif isinstance(event, Trouble):
            say(event.message)

    def _follow(self, records: Iterable[TaskRecord], known: set[str]) -> None:
        """Tasks another process added while `watch` runs (`create`, `add`), not `known`
        yet, are waited for too: still running, or completed with a video to save."""
        for record in records:
            if record.id in known:
                continue
            known.add(record.id)
            if record.archived or record.kind is TaskStatus.FAILED:
                continue
            if record.kind is TaskStatus.COMPLETED and (record.local_path or not self.download):
                continue
            self.wanted.add(record.id)
            self.pending.add(record.id)

    def _settle(self, m: Monitor) -> bool:
        """Start what is due (failed ones told, completed ones saved); True when every
        task waited for is settled (and every download ended) or the key was refused.
        It looks at the tasks not settled yet alone: a long history costs nothing here."""
        for task_id in list(self.pending):
            record = m.records.get(task_id)
            if record is None or task_id in self.saved or task_id in self.failed:
                self.pending.discard(task_id)  # removed meanwhile, or settled
            elif record.kind is TaskStatus.FAILED:
                why = clean(record.error or "no reason given")
                self.give_up(task_id, f"{task_id} failed: {why}")
            elif record.kind is TaskStatus.COMPLETED:
                if self.download:
                    m.downloads.start(task_id)
                else:
                    self.saved.add(task_id)
        if m.schedule.auth_blocked:
            return True
        return not self.pending and not m.downloads.busy

    async def watch(
        self,
        m: Monitor,
        timeout: float | None = None,
        *,
        wanted: set[str] | None = None,
        follow: bool = False,
    ) -> int:
        """Poll until every task `wanted` (default: every watched one) is final (each
        completed video saved, when downloading). 0: all settled well. A task the API
        keeps answering 404 for is given up (engine/unknownids.py), so an unattended
        `watch` always ends. With `follow`, tasks added meanwhile by another process are
        waited for too. With `timeout` (seconds), TimedOut when it runs out first, unless
        a task has failed by then."""
        wanted = self.wanted = set(m.records) if wanted is None else set(wanted)
        self.known = set(m.records) if follow else None
        self.pending = set(wanted)
        waited_for = bool(wanted)
        timed_out = False
        ticking = self.progress.ticking(m) if self.progress else contextlib.nullcontext()
        links = self.alerter.looking(m.downloads.states) if self.alerter else None
        try:
            async with asyncio.timeout(timeout), links or contextlib.nullcontext():
                with ticking:
                    await m.run(until=lambda: self._settle(m))
        except TimeoutError:
            timed_out = True
        finally:
            if self.alerter is not None:
                self.alerter.close()  # what the last second told, sent before the verdict
        if m.schedule.auth_blocked:
            raise Failure("the API refused the key; stopped watching")
        wanted &= set(m.records)
        failed = sorted(set(self.failed) & wanted)
        if failed:
            if len(wanted) == 1:
                raise Failure(self.failed[failed[0]])
            shown = _some(failed)
            without = "a saved video" if self.download else "a video"
            raise Failure(f"{len(failed)} of {len(wanted)} task(s) without {without}: {shown}")
        if waited_for and not wanted:
            raise Failure("every watched task was removed while watching")
        if timed_out:
            left = sorted(wanted - self.saved)
            raise TimedOut(
                f"timed out after {ago(timeout or 0)}: {len(left)} of {len(wanted)} task(s) "
                f"not {'saved' if self.download else 'final'}: {_some(left)}"
            )
        return 0


def alerter_of(settings: Settings) -> alerts.Alerter | None:
    """Notifications when --notify, STARVIDEOS_NOTIFY or the config asks (not by default)."""
    return alerts.headless(settings.notify, settings.environ) if settings.notify_given else None


def _some(ids: list[str]) -> str:
    return ", ".join(ids[:3]) + (", …" if len(ids) > 3 else "")


async def wait(settings: Settings, args: argparse.Namespace) -> int:
    """`wait ID...`: poll those tasks until each is final (saved, with --download); the
    verdict in the exit code: 0 all completed, 1 any failed, 3 timed out."""
    ids = ids_from(args.ids)
    timeout = _seconds(args.timeout) if args.timeout is not None else None
    watchlist = settings.open_watchlist()
    _refuse_archived(watchlist, ids)
    line = say_plain if args.json else out
    watcher = Watcher(
        Progress() if not args.json else None,
        download=args.download,
        line=line,
        alerter=alerter_of(settings),
    )
    async with api_client(settings) as client:  # no key: nothing added to the watchlist
        now = time.time()
        watchlist.add([TaskRecord(id=i, added_at=now) for i in ids])  # one watched is kept
        try:
            auto = args.download
            async with monitoring(settings, client, watcher.heard, ids, auto_download=auto) as m:
                return await watcher.watch(m, timeout)
        finally:
            if args.json:
                _print_waited(watchlist, ids)


def _refuse_archived(watchlist: Watchlist, ids: list[str]) -> None:
    """An archived task that is not final is never polled: waiting for it would last until
    the timeout. Said at once, nothing waited for (exit 2). An archived final task has its
    verdict already, and is waited for as any other."""
    stuck = [
        i for i in ids if (r := watchlist.get(i)) is not None and r.archived and not r.is_final
    ]
    if stuck:
        named = " ".join(stuck)
        are, them = ("is", "it") if len(stuck) == 1 else ("are", "them")
        raise UsageError(
            f"{', '.join(stuck)} {are} archived: not polled; "
            f"'archive --undo {named}' to watch {them} again"
        )


def _print_waited(watchlist: Watchlist, ids: list[str]) -> None:
    """`wait --json`: the tasks waited for, in the order they were given."""
    everything = watchlist.load()
    order = {task_id: n for n, task_id in enumerate(ids)}
    records = sorted((r for r in everything if r.id in order), key=lambda r: order[r.id])
    print_records(records, as_json=True, history=everything)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < 10**9:  # NaN is not in range either
        raise UsageError(f"--timeout must be a number of seconds above 0, got {text!r}")
    return seconds


async def watch(settings: Settings, args: argparse.Namespace) -> int:
    """`watch`: one line for the history, then what changes during the run; the verdict
    counts what ended during it (with --all-history, every watched task)."""
    watchlist = settings.open_watchlist()
    records = watchlist.load()
    if all(r.archived for r in records):  # archived: never polled, not waited for
        empty = "the watchlist is empty" if not records else "every watched task is archived"
        raise Failure(f"{empty}: nothing to watch")
    watcher = Watcher(alerter=alerter_of(settings))
    async with (
        api_client(settings) as client,
        monitoring(
            settings,
            client,
            watcher.heard,
            None,  # every task: those another process adds meanwhile too
            auto_download=True,
            watchlist=watchlist,
            records=records,
        ) as m,
    ):
        history = read_history(m.records.values(), m.wall_clock())
        del records
        watcher.out(history.summary())
        if history.newly_dead:  # marked once, in one write; never asked for
            await m.change(history.newly_dead, _link_expired)
            memory.give_back(collect=True)  # a year's dead links: a write of ~12 MB
        watcher.backlog.update(history.backlog)
        for task_id in history.backlog:
            m.downloads.start(task_id, later=True)
        verdict = await watcher.watch(m, wanted=set(history.running), follow=True)
        if args.all_history:
            _judge_all(m.records.values())
        return verdict


def _link_expired(record: TaskRecord) -> TaskRecord:
    return replace(record, download_error=LINK_EXPIRED)


def _judge_all(records: Iterable[TaskRecord]) -> None:
    """`watch --all-history`: Failure when any watched task (archived ones aside) failed or
    has no saved video, old ones too."""
    shown = [r for r in records if not r.archived]
    bad = sorted(r.id for r in shown if r.kind is TaskStatus.FAILED or not r.local_path)
    if bad:
        raise Failure(
            f"{len(bad):,} of {len(shown):,} task(s) without a saved video, counting "
            f"history: {_some(bad)}"
        )
