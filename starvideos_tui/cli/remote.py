"""The subcommands that talk to the API: refresh, download, create and watch, each a thin
face over the engine (monitor.py) that prints what it reports.

Kept apart from `commands.py` so that `list`, `add` and `remove` never import httpx or
asyncio: they start in the time Python itself takes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

from starvideos_tui.api.client import (
    ApiError,
    BadRequest,
    NetworkError,
    RateLimited,
    StarVideosClient,
)
from starvideos_tui.api.create_request import CreateRequest, record_of_created
from starvideos_tui.cli import batch
from starvideos_tui.cli.cmdline import (
    ids_from,
    json_array,
    out,
    print_records,
    say_plain,
    text_argument,
)
from starvideos_tui.cli.progress import Progress
from starvideos_tui.core.console import say
from starvideos_tui.core.errors import Failure, StarVideosError, TimedOut, UsageError
from starvideos_tui.core.eta import RunTimes
from starvideos_tui.core.formatting import ago
from starvideos_tui.core.mediafacts import human_size
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import clean
from starvideos_tui.engine import alerts
from starvideos_tui.engine.events import (
    DownloadEnded,
    Event,
    GaveUp,
    PassEnded,
    PollFailed,
    StatusChanged,
    Trouble,
)
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.settings import Settings, check_network_settings
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.storage.store import Watchlist, WatchlistError

# -- the API --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[StarVideosClient]:
    check_network_settings()
    key = settings.api_key()
    if key is None:
        raise Failure("no API key: set STARVIDEOS_API_KEY or run 'starvideos-tui login'")
    async with StarVideosClient(settings.base_url, key) as client:
        yield client


@contextlib.asynccontextmanager
async def monitoring(
    settings: Settings,
    client: StarVideosClient,
    emit: Callable[[Event], None],
    only: Iterable[str] | None = None,
    *,
    auto_download: bool = False,
) -> AsyncIterator[Monitor]:
    monitor = Monitor(
        settings.open_watchlist(),
        client,
        emit=emit,
        download_dir=settings.download_dir,
        interval=settings.interval,
        auto_download=auto_download,
        only=only,
    )
    try:
        await monitor.start()
        yield monitor
    finally:
        await monitor.close()


async def refresh(settings: Settings, args: argparse.Namespace) -> int:
    problems: list[str] = []
    limited = 0  # tasks the API did not answer: a 429 is no answer

    def heard(event: Event) -> None:
        nonlocal limited
        if isinstance(event, PollFailed):
            problems.append(event.problem.message)
            limited += event.problem.kind == "rate_limited"

    watchlist = settings.open_watchlist()
    pending = [r.id for r in watchlist.load() if not r.is_final]
    ended = None
    if pending:
        async with api_client(settings) as client, monitoring(settings, client, heard) as m:
            ended = await m.run_pass(pending)
            auth, paused = m.schedule.auth_blocked, m.schedule.is_paused()
            resume_in = m.schedule.paused_until - m.schedule.clock()
    print_records(watchlist.load(), args.json)
    if ended is None:
        return 0
    if auth:
        raise Failure(problems[0] if problems else "the API refused the key")
    if paused:
        not_polled = len(pending) - ended.asked + limited
        raise Failure(
            f"rate limited by the API; {not_polled} task(s) not polled, "
            f"try again in {resume_in:.0f} s"
        )
    if problems and ended.problems == ended.asked:
        raise Failure(f"no task could be polled: {problems[0]}")
    return 0


def _progress_printer(task_id: str) -> Any:
    if not sys.stderr.isatty():
        return None
    last = [0.0]

    def show(done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done != total:
            return
        last[0] = now
        whole = f" of {human_size(total)}, {100 * done // total}%" if total else ""
        sys.stderr.write(f"\r{task_id}: {human_size(done)}{whole}\x1b[K")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


async def download(settings: Settings, args: argparse.Namespace) -> int:
    (task_id,) = ids_from([args.id])
    folder = Path(args.to).expanduser() if args.to else settings.download_dir
    store = AsyncWatchlist(settings.open_watchlist())
    try:
        async with api_client(settings) as client:
            saved = await save_task_video(
                task_id,
                client=client,
                watchlist=store,
                folder=folder,
                progress=_progress_printer(task_id),
            )
    finally:
        store.close()
    out(str(saved.path))
    return 0


def create_request(args: argparse.Namespace) -> CreateRequest:
    request = CreateRequest(
        prompt=text_argument(args.prompt, "--prompt"),
        duration=args.duration,
        ratio=args.ratio,
        reference_images=tuple(args.image),
        first_image=args.first_image,
        last_image=args.last_image,
        reference_videos=tuple(args.video),
    )
    if problems := request.problems():
        raise UsageError("; ".join(problems))
    return request


async def create(settings: Settings, args: argparse.Namespace) -> int:
    if args.from_file is not None:
        return await create_from(settings, args)
    if args.prompt is None:
        raise UsageError("create needs --prompt TEXT, or --from FILE")
    if args.dry_run:
        raise UsageError("--dry-run goes with --from FILE")
    request = create_request(args)
    label = text_argument(args.label, "--label") if args.label else None
    watchlist = settings.open_watchlist()
    # A damaged watchlist stops us before a task exists that nothing tracks.
    history = watchlist.load()
    async with api_client(settings) as client:
        result = await client.create_task(request)
        record = record_of_created(result, request, time.time(), label)
        try:
            watchlist.add([record])
        except WatchlistError as exc:
            out(result.id)
            raise Failure(f"created task {result.id} but could not watch it: {exc}") from None
        if args.json:  # the id is in it; stdout stays one JSON document
            facts = record.public_json() | RunTimes.of(history).fields(record, time.time())
            json.dump(facts, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            out(result.id)
        if not args.wait:
            return 0
        watcher = Watcher(
            Progress(), line=say_plain if args.json else out, alerter=alerter_of(settings)
        )
        only = [result.id]
        async with monitoring(settings, client, watcher.heard, only, auto_download=True) as m:
            return await watcher.watch(m)


# -- create --from ------------------------------------------------------------------------

SENDING_AT_ONCE = 4  # requests in flight to the API at most, in create --from
MAX_RETRY_AFTER = 300.0  # seconds: a longer Retry-After is waited in this many


async def create_from(settings: Settings, args: argparse.Namespace) -> int:
    """Submit every request of a file, each once per watchlist, however often it is run."""
    single = ("prompt", "duration", "ratio", "first_image", "last_image", "label")
    given = [f for f in single if getattr(args, f) is not None]
    given += [f for f in ("image", "video") if getattr(args, f)]
    if given:
        flag = "--" + given[0].replace("_", "-")
        raise UsageError(f"{flag} goes in the file's lines with --from, not on the command line")
    name = "stdin" if args.from_file == "-" else args.from_file
    lines = batch.read_requests(batch.read_file(args.from_file), name)
    watchlist = settings.open_watchlist()
    if args.dry_run:
        _print_plan(lines, batch.submitted(watchlist.load()), args.json)
        return 0
    with batch.Sending(settings.db) as sending:
        # Read under the lock: a run that ended a moment ago has recorded all it made.
        made = batch.submitted(watchlist.load())
        unsure = sending.settle(made)
        ids: dict[int, str] = {}  # line number: task id
        todo = []
        for line in lines:
            done = batch.already(line, made)
            if done is not None:
                ids[line.number] = done
                say_plain(f"line {line.number}: already submitted as {done}, skipped")
            elif (line.key, line.twin) in unsure:
                say_plain(f"line {line.number}: perhaps sent by a run that stopped, not sent again")
                ids[line.number] = ""  # no id to print: the lines after it still are
            else:
                todo.append(line)
        printer = _InOrder(lines, ids, quiet=args.json)
        printer.flush()
        async with api_client(settings) as client:
            sender = _Sender(client, watchlist, sending, printer)
            try:
                async with asyncio.TaskGroup() as group:
                    for line in todo:
                        group.create_task(sender.send(line))
            except* StarVideosError as failures:
                raise failures.exceptions[0] from None
            if args.json:
                everything = watchlist.load()
                by_id = {r.id: r for r in everything}
                shown = [by_id[ids[n]] for n in sorted(ids) if ids[n] in by_id]
                print_records(shown, True, history=everything)
            if unsure:
                raise Failure(
                    f"{len(unsure)} line(s) were being sent when an earlier run stopped and "
                    f"may exist already; not sent again (forget them: rm {sending.path})"
                )
            if not args.wait:
                return 0
            watcher = Watcher(
                Progress(), line=say_plain if args.json else out, alerter=alerter_of(settings)
            )
            wanted = list(dict.fromkeys(i for i in ids.values() if i))
            async with monitoring(settings, client, watcher.heard, wanted, auto_download=True) as m:
                return await watcher.watch(m)


def _print_plan(lines: list[batch.Line], made: dict[str, list[str]], as_json: bool) -> None:
    plan = []
    for line in lines:
        done = batch.already(line, made)
        item = {"line": line.number, "body": line.request.to_json(), "label": line.label}
        plan.append({**item, "skip": done} if done else item)
    if as_json:
        out(json_array(plan))
        return
    for item in plan:
        if item.get("skip"):
            out(f"line {item['line']}: skip, already submitted as {item['skip']}")
        else:
            body = clean(json.dumps(item["body"], ensure_ascii=False))  # C1 controls too
            out(f"line {item['line']}: send {body}")
    sends = sum(1 for item in plan if not item.get("skip"))
    say_plain(f"dry run: {sends} to send, {len(plan) - sends} already submitted; nothing sent")


class _InOrder:
    """The ids of the file's lines on stdout in the file's order, each as soon as every
    line before it has one (lines sent at once come back in any order)."""

    def __init__(self, lines: list[batch.Line], ids: dict[int, str], *, quiet: bool) -> None:
        self.numbers = [line.number for line in lines]
        self.ids = ids
        self.quiet = quiet
        self.next = 0

    def flush(self) -> None:
        while self.next < len(self.numbers) and self.numbers[self.next] in self.ids:
            task_id = self.ids[self.numbers[self.next]]
            if task_id and not self.quiet:  # "": a line not sent, with no id
                out(task_id)
            self.next += 1


class _Sender:
    def __init__(
        self,
        client: StarVideosClient,
        watchlist: Watchlist,
        sending: batch.Sending,
        printer: _InOrder,
    ) -> None:
        self.client = client
        self.watchlist = watchlist
        self.sending = sending
        self.printer = printer
        self.at_once = asyncio.Semaphore(SENDING_AT_ONCE)
        self.paused_until = 0.0

    async def send(self, line: batch.Line) -> None:
        async with self.at_once:
            # Once sent, its answer is awaited and recorded even when the run is stopped:
            # a task the API made and nothing recorded would be made again by a re-run.
            job = asyncio.ensure_future(self._submit(line))
            try:
                await asyncio.shield(job)
            except asyncio.CancelledError:
                if (line.key, line.twin) not in self.sending.entries:
                    job.cancel()  # not sent yet (waiting out a Retry-After): nothing to wait for
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(job, 10)
                raise

    async def _submit(self, line: batch.Line) -> None:
        where = f"line {line.number}"
        while True:
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.sending.add(line)  # on disk before the request leaves
            try:
                result = await self.client.create_task(line.request)
                break
            except RateLimited as exc:  # not taken: ask again when the API says
                self.sending.discard(line)
                pause = min(exc.retry_after, MAX_RETRY_AFTER)
                self.paused_until = max(self.paused_until, time.monotonic() + pause)
            except BadRequest as exc:  # refused: nothing was made
                self.sending.discard(line)
                raise Failure(f"{where}: the API refused it: {exc}") from None
            except ApiError as exc:
                if isinstance(exc, NetworkError) and exc.unsent:  # it never left
                    self.sending.discard(line)
                    raise Failure(f"{where}: {exc}; nothing was sent") from None
                # No answer, or a broken one: perhaps it was made (a re-run will not send it).
                raise Failure(f"{where}: {exc}; it may have been created") from None
        record = record_of_created(result, line.request, time.time(), line.label)
        try:
            await asyncio.to_thread(self.watchlist.add, [record])
        except WatchlistError as exc:
            raise Failure(
                f"{where}: created task {result.id} but could not watch it: {exc}"
            ) from None
        self.sending.discard(line)
        self.printer.ids[line.number] = result.id
        self.printer.flush()


# -- watch -------------------------------------------------------------------------------


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
            self.give_up(event.task_id, f"{event.task_id} is unknown to the API; gave up")
        elif isinstance(event, DownloadEnded):
            if event.error is not None:
                why = f"{event.task_id} completed but not saved: {clean(event.error)}"
                self.give_up(event.task_id, why)
            elif event.record is not None:
                self.saved.add(event.task_id)
                self.out(f"{event.task_id} saved {event.record.local_path}")
        elif isinstance(event, Trouble):
            say(event.message)

    def _settle(self, m: Monitor) -> bool:
        """Start what is due (failed ones told, completed ones saved); True when every
        watched task is settled or the key was refused."""
        for record in m.records.values():
            if record.id in self.saved or record.id in self.failed:
                continue
            if record.kind is TaskStatus.FAILED:
                why = clean(record.error or "no reason given")
                self.give_up(record.id, f"{record.id} failed: {why}")
            elif record.kind is TaskStatus.COMPLETED:
                if self.download:
                    m.downloads.start(record.id)
                else:
                    self.saved.add(record.id)
        if m.schedule.auth_blocked:
            return True
        settled = self.saved | set(self.failed)
        return all(i in settled for i in m.records) and not m.downloads.busy

    async def watch(self, m: Monitor, timeout: float | None = None) -> int:
        """Poll until every watched task is final (each completed video saved, when
        downloading). 0: all settled well. A task the API keeps answering 404 for is given
        up (monitor.GIVE_UP_AFTER), so an unattended `watch` always ends. With `timeout`
        (seconds), TimedOut when it runs out first, unless a task has failed by then."""
        wanted = set(m.records)
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
        if not wanted:
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
    return alerts.headless(settings.notify, os.environ) if settings.notify_given else None


def _some(ids: list[str]) -> str:
    return ", ".join(ids[:3]) + (", …" if len(ids) > 3 else "")


async def wait(settings: Settings, args: argparse.Namespace) -> int:
    """`wait ID...`: poll those tasks until each is final (saved, with --download); the
    verdict in the exit code: 0 all completed, 1 any failed, 3 timed out."""
    ids = ids_from(args.ids)
    timeout = _seconds(args.timeout) if args.timeout is not None else None
    watchlist = settings.open_watchlist()
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
    ids = [r.id for r in settings.open_watchlist().load()]
    if not ids:
        raise Failure("the watchlist is empty: nothing to watch")
    watcher = Watcher(alerter=alerter_of(settings))
    async with (
        api_client(settings) as client,
        monitoring(settings, client, watcher.heard, ids, auto_download=True) as m,
    ):
        return await watcher.watch(m)
