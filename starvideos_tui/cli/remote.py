"""The subcommands that ask the API about watched tasks: refresh and download, each a thin
face over the engine that prints what it reports (create is in creating.py; watch and
wait in watching.py).

Kept apart from `commands.py` so that `list`, `add` and `remove` never import httpx or
asyncio: they start in the time Python itself takes.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from starvideos_tui.cli.cmdline import ids_from, out, print_records, say_plain
from starvideos_tui.cli.progress import Progress
from starvideos_tui.core.errors import Failure, UsageError
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.copies import (
    Placed,
    SavedVideo,
    SourceProblem,
    copy_saved,
    gone_and_dead,
    is_saved,
    save_unsaved,
    unsaved,
)
from starvideos_tui.engine.events import Event, PollFailed
from starvideos_tui.engine.session import api_client, monitoring
from starvideos_tui.engine.settings import Settings
from starvideos_tui.engine.videos import save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist


async def refresh(settings: Settings, args: argparse.Namespace) -> int:
    problems: list[str] = []
    limited = 0  # tasks the API did not answer: a 429 is no answer

    def heard(event: Event) -> None:
        nonlocal limited
        if isinstance(event, PollFailed):
            problems.append(event.problem.message)
            limited += event.problem.kind == "rate_limited"

    watchlist = settings.open_watchlist()
    records = watchlist.load()  # the only read: the monitor answers from these
    pending = [r.id for r in records if r.needs_polling]
    ended = None
    if pending:
        async with (
            api_client(settings) as client,
            monitoring(settings, client, heard, watchlist=watchlist, records=records) as m,
        ):
            ended = await m.run_pass(pending)  # every answer written by its end
            records = list(m.records.values())
            auth, paused = m.schedule.auth_blocked, m.schedule.is_paused()
            resume_in = m.schedule.paused_until - m.schedule.clock()
    print_records([r for r in records if not r.archived], args.json, history=records)
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


async def download(settings: Settings, args: argparse.Namespace) -> int:
    if args.all_unsaved:
        if args.id is not None:
            raise UsageError("download takes a task ID or --all-unsaved, not both")
        return await download_unsaved(settings, args)
    if args.id is None:
        raise UsageError("download needs a task ID (or --all-unsaved)")
    (task_id,) = ids_from([args.id])
    folder = Path(args.to).expanduser() if args.to else settings.download_dir
    store = AsyncWatchlist(settings.open_watchlist())
    try:
        record = await store.get(task_id)
        if record is not None and (dead := gone_and_dead(record, time.time())):
            raise dead
        if record is not None and args.to and is_saved(record):
            placed = await _copied(record, folder)
            if placed is not None:
                out(str(placed.path))
                return 0
        async with api_client(settings) as client:
            saved = await save_task_video(
                task_id,
                client=client,
                watchlist=store,
                folder=folder,
                progress=Progress().saving(task_id),
            )
    finally:
        store.close()
    out(str(saved.path))
    return 0


async def _copied(record: TaskRecord, folder: Path) -> Placed | None:
    """A saved task's file put into `folder` (`download ID --to DIR`), said on stderr;
    None when the saved file is gone, so it is downloaded again."""
    source = record.local_path
    try:
        placed = await copy_saved(record, folder)
    except SourceProblem as exc:
        if exc.kind == "gone":
            say_plain(f"{exc}; downloading it again")
            return None
        raise Failure(f"{exc}; not copied") from None
    name = placed.path.name
    if placed.how == "already there":
        say_plain(f"{placed.path} already holds this video (the same bytes)")
    elif placed.how == "linked":
        say_plain(f"linked {source} as {placed.path} (a hard link: no extra space)")
    else:
        say_plain(f"copied {source} to {placed.path} (checked: size and sha256 match)")
    if placed.passed_over:
        say_plain(
            f"a different file already had the name {Path(source or name).name} in {folder}: "
            f"it was left alone, and this video is {name}"
        )
    return placed


async def download_unsaved(settings: Settings, args: argparse.Namespace) -> int:
    """`download --all-unsaved`: every completed task not saved, whose link may still work."""
    folder = Path(args.to).expanduser() if args.to else settings.download_dir
    watchlist = settings.open_watchlist()
    found = unsaved(watchlist.load(), time.time())
    failures = 0
    store = AsyncWatchlist(watchlist)

    def saved(_record: TaskRecord, video: SavedVideo) -> None:
        out(str(video.path))

    def failed(record: TaskRecord, problem: str) -> None:
        nonlocal failures
        failures += 1
        say_plain(f"error: {record.id}: {problem}")

    try:
        if found.todo:
            async with api_client(settings) as client:
                count = await save_unsaved(
                    found.todo,
                    client=client,
                    watchlist=store,
                    folder=folder,
                    saved=saved,
                    failed=failed,
                )
        else:
            count = 0
    finally:
        store.close()
    say_plain(_unsaved_summary(count, failures, found.left))
    return 1 if failures else 0


def _unsaved_summary(count: int, failures: int, left: Counter[str]) -> str:
    parts = [f"saved {count} video(s)"]
    if failures:
        parts.append(f"{failures} failed")
    skipped = {
        "link expired": "whose link is certainly dead (past its deadline, or older than "
        "any link lives)",
        "rejected": "rejected",
        "archived": "archived",
    }
    for why, words in skipped.items():
        if left[why]:
            parts.append(f"skipped {left[why]} {words}")
    return "; ".join(parts)
