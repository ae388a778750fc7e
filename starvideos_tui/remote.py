"""The subcommands that talk to the API: refresh, download, create and watch.

Kept apart from `commands.py` so that `list`, `add` and `remove` never import httpx or
asyncio: they start in the time Python itself takes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starvideos_tui.api import ApiError, StarVideosClient
from starvideos_tui.cli import Failure, UsageError, text_argument
from starvideos_tui.commands import _out, _print_records
from starvideos_tui.download import DownloadError
from starvideos_tui.models import CreateRequest, TaskRecord, TaskStatus
from starvideos_tui.poll import Poller
from starvideos_tui.schedule import PollSchedule
from starvideos_tui.settings import Settings, check_network_settings
from starvideos_tui.store import Watchlist, WatchlistError
from starvideos_tui.textsafe import clean
from starvideos_tui.videos import NotDownloadable, save_task_video

NOT_FOUND_LIMIT = 3


# -- the API --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[StarVideosClient]:
    check_network_settings()
    key = settings.api_key()
    if key is None:
        raise Failure("no API key: set STARVIDEOS_API_KEY or run 'starvideos-tui login'")
    async with StarVideosClient(settings.base_url, key) as client:
        yield client


def _schedule(settings: Settings) -> PollSchedule:
    return PollSchedule(interval=settings.interval)


async def refresh(settings: Settings, args: argparse.Namespace) -> int:
    watchlist = Watchlist(settings.db)
    records = watchlist.load()
    pending = [r.id for r in records if not r.is_final]
    report = None
    if pending:
        async with api_client(settings) as client:
            poller = Poller(client, watchlist, _schedule(settings))
            poller.sync(records)
            report = await poller.run_pass(pending)
    _print_records(watchlist.load(), args.json)
    if report is None:
        return 0
    if report.auth_failed:
        raise Failure(next(iter(report.problems.values())).message)
    if report.paused_until is not None:
        unpolled = len(pending) - report.polled
        raise Failure(
            f"rate limited by the API; {unpolled} task(s) not polled, try again in "
            f"{report.paused_until - time.monotonic():.0f} s"
        )
    if report.problems and len(report.problems) == report.polled:
        raise Failure(f"no task could be polled: {next(iter(report.problems.values())).message}")
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
        share = f"{100 * done / total:5.1f}%" if total else ""
        sys.stderr.write(f"\r{task_id}: {done / 1e6:8.1f} MB {share}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


async def _save(settings: Settings, client: StarVideosClient, task_id: str, folder: Path) -> Path:
    saved = await save_task_video(
        task_id,
        client=client,
        watchlist=Watchlist(settings.db),
        folder=folder,
        progress=_progress_printer(task_id),
    )
    return saved.path


async def download(settings: Settings, args: argparse.Namespace) -> int:
    from starvideos_tui.cli import _ids_from

    (task_id,) = _ids_from([args.id])
    folder = Path(args.to).expanduser() if args.to else settings.download_dir
    async with api_client(settings) as client:
        path = await _save(settings, client, task_id, folder)
    _out(str(path))
    return 0


def create_request(args: argparse.Namespace) -> CreateRequest:
    request = CreateRequest(
        prompt=text_argument(args.prompt),
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
    request = create_request(args)
    watchlist = Watchlist(settings.db)
    watchlist.load()  # a damaged watchlist stops us before a task exists that nothing tracks
    async with api_client(settings) as client:
        result = await client.create_task(request)
        label = text_argument(args.label) if args.label else None
        record = TaskRecord.created_here(result, request, time.time(), label)
        try:
            watchlist.add([record])
        except WatchlistError as exc:
            _out(result.id)
            raise Failure(f"created task {result.id} but could not watch it: {exc}") from None
        if args.json:
            json.dump(record.public_json(), sys.stdout, indent=2)
            sys.stdout.write("\n")
        _out(result.id)
        if args.wait:
            return await _watch(settings, client, watchlist, [result.id])
    return 0


# -- watch -------------------------------------------------------------------------------


async def watch(settings: Settings, args: argparse.Namespace) -> int:
    watchlist = Watchlist(settings.db)
    ids = [r.id for r in watchlist.load()]
    if not ids:
        raise Failure("the watchlist is empty: nothing to watch")
    async with api_client(settings) as client:
        return await _watch(settings, client, watchlist, ids)


async def _watch(
    settings: Settings, client: StarVideosClient, watchlist: Watchlist, ids: list[str]
) -> int:
    """Poll `ids` until all are final, saving each completed video. 0: all saved.

    A task the API keeps answering 404 for is given up after NOT_FOUND_LIMIT answers,
    so an unattended `watch` always ends.
    """
    schedule = _schedule(settings)
    poller = Poller(client, watchlist, schedule)
    wanted = set(ids)
    saved: set[str] = set()
    failed: set[str] = set()
    reasons: dict[str, str] = {}  # why each failed one has no video, for the last line

    def give_up(task_id: str, why: str) -> None:
        failed.add(task_id)
        reasons[task_id] = why
        _out(why)

    not_found: dict[str, int] = {}
    while True:
        records = {r.id: r for r in watchlist.load() if r.id in wanted}
        wanted &= set(records)
        for record in records.values():
            if record.kind is TaskStatus.FAILED and record.id not in failed:
                why = clean(record.error or "no reason given")
                give_up(record.id, f"{record.id} failed: {why}")
            elif record.kind is TaskStatus.COMPLETED and record.id not in saved | failed:
                try:
                    path = await _save(settings, client, record.id, settings.download_dir)
                except (DownloadError, NotDownloadable, ApiError) as exc:
                    give_up(record.id, f"{record.id} completed but not saved: {clean(str(exc))}")
                else:
                    saved.add(record.id)
                    _out(f"{record.id} saved {path}")
        poller.sync(r for r in records.values() if r.id not in failed)
        if schedule.auth_blocked:
            raise Failure("the API refused the key; stopped watching")
        if not schedule.next_due:
            break
        wake = schedule.next_wakeup()
        if wake is not None:
            await asyncio.sleep(max(0.0, wake - schedule.clock()))
        report = await poller.run_pass()
        for task_id, old, new in report.transitions:
            not_found.pop(task_id, None)
            _out(f"{task_id} {old or 'new'} -> {clean(new)}")
        for task_id, problem in report.problems.items():
            previous = records[task_id].last_problem if task_id in records else None
            if previous is None or previous.message != problem.message:
                _out(f"{task_id} poll failed: {clean(problem.message)}")
            if problem.kind == "not_found":
                not_found[task_id] = not_found.get(task_id, 0) + 1
                if not_found[task_id] >= NOT_FOUND_LIMIT:
                    give_up(task_id, f"{task_id} is unknown to the API; gave up")
    if failed:
        shown = ", ".join(sorted(failed)[:3]) + (", …" if len(failed) > 3 else "")
        if len(wanted) == 1:
            raise Failure(reasons.get(shown, f"task {shown} has no saved video"))
        raise Failure(f"{len(failed)} of {len(wanted)} task(s) without a saved video: {shown}")
    if not wanted:
        raise Failure("every watched task was removed while watching")
    return 0
