"""What each headless subcommand does, over the core. `cli.py` parses; this acts."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

from starvideos_tui.api import ApiError, StarVideosClient
from starvideos_tui.cli import Failure, UsageError
from starvideos_tui.download import DownloadError
from starvideos_tui.formatting import (
    ago,
    display_width,
    note,
    pad,
    shorten,
    status_word,
    video_length,
)
from starvideos_tui.logs import setup_logging
from starvideos_tui.models import CreateRequest, TaskRecord, TaskStatus
from starvideos_tui.poll import Poller
from starvideos_tui.schedule import PollSchedule
from starvideos_tui.settings import Settings, resolve
from starvideos_tui.store import Watchlist, WatchlistError
from starvideos_tui.textsafe import clean
from starvideos_tui.videos import NotDownloadable, save_task_video

NOT_FOUND_LIMIT = 3


def describe_failure(exc: BaseException) -> str | None:
    """One line for an expected failure of the core; None for a real bug."""
    if isinstance(exc, ApiError):
        return exc.message
    if isinstance(exc, DownloadError | WatchlistError | NotDownloadable):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return None


def settings_from(args: argparse.Namespace) -> Settings:
    settings = resolve(
        {
            "db": args.db,
            "base_url": args.base_url,
            "interval": args.interval,
            "download_dir": args.download_dir,
            "auto_download": args.auto_download,
            "log_level": args.log_level,
        }
    )
    setup_logging(settings.log_level)
    return settings


def _out(line: str) -> None:
    print(line, flush=True)


# -- watchlist ----------------------------------------------------------------------------


def add_or_remove(settings: Settings, command: str, ids: list[str]) -> int:
    watchlist = Watchlist(settings.db)
    if command == "add":
        now = time.time()
        outcome = watchlist.add([TaskRecord(id=i, added_at=now) for i in ids])
        for task_id, added in outcome:
            _out(f"{'added' if added else 'already watching'} {task_id}")
    else:
        for task_id, was_there in watchlist.remove(ids):
            _out(f"{'removed' if was_there else 'not watched'} {task_id}")
    return 0


def render_table(records: Iterable[TaskRecord], now: float, width: int = 80) -> str:
    header = f"{'ID':<30}  {'STATUS':<12} {'AGE':>4} {'LEN':>4} {'CHECKED':>7}  NOTE"
    lines = [header]
    for r in records:
        age = ago(now - r.created) if r.created else "-"
        checked = ago(now - r.checked_at) if r.checked_at else "never"
        line = (
            f"{pad(shorten(r.id, 30), 30)}  {pad(shorten(status_word(r), 12), 12)} {age:>4} "
            f"{video_length(r):>4} {checked:>7}  "
        )
        lines.append(line + shorten(note(r), max(10, width - display_width(line))))
    return "\n".join(lines)


def _print_records(records: list[TaskRecord], as_json: bool) -> None:
    if as_json:
        json.dump([r.public_json() for r in records], sys.stdout, indent=2, ensure_ascii=True)
        sys.stdout.write("\n")
    elif records:
        _out(render_table(records, time.time()))
    else:
        print("the watchlist is empty: add task ids with 'starvideos-tui add ID'", file=sys.stderr)


def show_list(settings: Settings, *, as_json: bool) -> int:
    _print_records(Watchlist(settings.db).load(), as_json)
    return 0


# -- the API --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[StarVideosClient]:
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
        prompt=args.prompt,
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
        record = TaskRecord.created_here(result, request, time.time(), args.label)
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


# -- login, sim, the TUI ------------------------------------------------------------------


def login(key: str) -> int:
    from starvideos_tui.settings import store_api_key

    path = store_api_key(key)
    _out(f"API key stored in {path} (mode 0600)")
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from starvideos_tui.simulator import SimConfig, Simulator

    if not args.speed > 0:
        raise UsageError(f"--speed must be above 0, got {args.speed:g}")
    if args.rate_limit < 0:
        raise UsageError(f"--rate-limit must be 0 or more, got {args.rate_limit:g}")
    config = SimConfig(host=args.host, port=args.port, speed=args.speed, rate_limit=args.rate_limit)
    sim = Simulator(config)
    try:
        sim.start()
    except OSError as exc:
        raise Failure(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    _out(f"listening on {sim.base_url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def run_tui(args: argparse.Namespace) -> int:
    from starvideos_tui.tui.launch import launch

    return launch(args)
