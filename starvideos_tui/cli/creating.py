"""`create` and `create --from FILE`: a request from the flags, or every request of a file,
submitted through the engine's one submit path (engine/submit.py: a 429 waited out, each
request noted in `<watchlist>.sending` on its way); `--wait` watches what was made.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence

from starvideos_tui.cli import batch
from starvideos_tui.cli.cmdline import (
    json_array,
    out,
    print_records,
    record_json,
    say_plain,
    text_argument,
)
from starvideos_tui.cli.progress import Progress
from starvideos_tui.cli.watching import Watcher, alerter_of
from starvideos_tui.core.errors import Failure, StarVideosError, UsageError
from starvideos_tui.core.eta import RunTimes
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.textsafe import clean
from starvideos_tui.engine import submit
from starvideos_tui.engine.session import Watchlist, api_client, monitoring
from starvideos_tui.engine.settings import Settings
from starvideos_tui.engine.submit import CreateRequest
from starvideos_tui.engine.watchlist_io import AsyncWatchlist


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
    store = AsyncWatchlist(settings.open_watchlist())
    try:
        async with api_client(settings) as client:
            try:
                record = await submit.submit_one(client, store, request, label)
            except submit.NotWatched as exc:
                out(exc.task_id)
                raise
            if args.json:  # the id is in it; stdout stays one JSON document
                history = await store.load()
                facts = record_json(record, RunTimes.of(history), time.time())
                json.dump(facts, sys.stdout, indent=2)
                sys.stdout.write("\n")
            else:
                out(record.id)
            if not args.wait:
                return 0
            watcher = Watcher(
                Progress(), line=say_plain if args.json else out, alerter=alerter_of(settings)
            )
            only = [record.id]
            async with monitoring(settings, client, watcher.heard, only, auto_download=True) as m:
                return await watcher.watch(m)
    finally:
        store.close()


# -- create --from ------------------------------------------------------------------------


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
    async with submit.holding(watchlist.path) as sending:
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
            elif line.entry in unsure:
                say_plain(f"line {line.number}: perhaps sent by a run that stopped, not sent again")
                ids[line.number] = ""  # no id to print: the lines after it still are
            else:
                todo.append(line)
        printer = _InOrder(lines, ids, quiet=args.json)
        printer.flush()
        async with api_client(settings) as client:
            sender = _Sender(submit.Submitter(client, _adder(watchlist), sending), printer)
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


def _adder(watchlist: Watchlist) -> Callable[[Sequence[TaskRecord]], Awaitable[object]]:
    async def add(records: Sequence[TaskRecord]) -> object:
        return await asyncio.to_thread(watchlist.add, records)

    return add


class _Sender:
    """Each line through the engine's submitter, its id printed in the file's order."""

    def __init__(self, submitter: submit.Submitter, printer: _InOrder) -> None:
        self.submitter = submitter
        self.printer = printer

    async def send(self, line: batch.Line) -> None:
        record = await self.submitter.send_line(line)
        self.printer.ids[line.number] = record.id
        self.printer.flush()
