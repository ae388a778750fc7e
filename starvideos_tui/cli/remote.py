"""The subcommands that ask the API about watched tasks: refresh and download, each a thin
face over the engine that prints what it reports (create is in creating.py; watch and
wait in watching.py).

Kept apart from `commands.py` so that `list`, `add` and `remove` never import httpx or
asyncio: they start in the time Python itself takes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from starvideos_tui.cli.cmdline import ids_from, out, print_records
from starvideos_tui.cli.progress import Progress
from starvideos_tui.core.errors import Failure
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
                progress=Progress().saving(task_id),
            )
    finally:
        store.close()
    out(str(saved.path))
    return 0
