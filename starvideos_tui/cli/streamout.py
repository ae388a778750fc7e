"""`list` printed as the watchlist is read (storage/streaming.py): a task at a time, in
the bytes `print_records` gives for a list, with neither every record nor the whole
output in memory at once.

`list --json` adds `eta` and `stalled` to an unfinished task, from the run times of the
whole history (core/eta.py), which are known only at the end. So records are written as
they come until the first unfinished one; from there on, finished ones are kept as their
JSON text and unfinished ones as records, and written at the end. The running tasks of a
year of history are its newest, so what is kept is a few lines.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from starvideos_tui.cli.cmdline import EMPTY, finished_json, record_json, table_lines, table_width
from starvideos_tui.core.eta import Run, RunTimes, completed_after, group_of_params
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import dumps_ascii

BATCH = 256  # items per write


def _write(pieces: Iterator[str]) -> bool:
    """Write the JSON array whose items are `pieces`; whether there was any."""
    stdout = sys.stdout
    batch: list[str] = []
    first = True
    for piece in pieces:
        batch.append(piece)
        if len(batch) == BATCH:
            stdout.write(("[\n" if first else ",\n") + ",\n".join(batch))
            first, batch = False, []
    if batch:
        stdout.write(("[\n" if first else ",\n") + ",\n".join(batch))
        first = False
    stdout.write("[]\n" if first else "\n]\n")
    stdout.flush()
    return not first


def json_stream(
    tasks: Iterable[dict[str, Any]],
    now: float,
    shown: Callable[[Mapping[str, Any]], bool] | None = None,
) -> bool:
    """`list --json` of the checked field values of tasks read as a stream, those only
    that `shown` takes: the same text as cmdline.json_array of `record_json` of their
    records at `now`, with the run times (of every task read) that an unfinished one's
    estimate needs. A finished task is printed from its values (cmdline.finished_json),
    without a record. Whether any was written."""
    runs: list[Run] = []
    held: list[str | TaskRecord] = []  # from the first unfinished task on

    def items() -> Iterator[str]:
        for values in tasks:
            kind = TaskStatus.from_word(values.get("status"))
            if kind is TaskStatus.COMPLETED:
                took = completed_after(values.get("created"), values.get("history", ()))
                if took is not None:
                    group = group_of_params(values.get("params"))
                    runs.append((values.get("created") or 0, values["id"], group, took))
            if shown is not None and not shown(values):
                continue
            if not kind.is_final:
                held.append(TaskRecord.from_fields(values))
            elif held:
                held.append(dumps_ascii(finished_json(values, kind)))
            else:
                yield dumps_ascii(finished_json(values, kind))
        if not held:
            return
        times = RunTimes.of_runs(runs)
        for item in held:
            if isinstance(item, str):
                yield item
            else:
                yield dumps_ascii(record_json(item, times, now))

    return _write(items())


def table_stream(lines: Iterable[str]) -> bool:
    """Write the table's lines as they come; whether there was a record in it."""
    stdout = sys.stdout
    batch: list[str] = []
    count = 0
    for line in lines:
        batch.append(line)
        count += 1
        if len(batch) == BATCH:
            stdout.write("\n".join(batch) + "\n")
            batch = []
    if count > 1:  # the header and at least a record
        stdout.write("\n".join(batch) + "\n" if batch else "")
        stdout.flush()
    return count > 1


def print_stream(
    tasks: Iterable[dict[str, Any]],
    as_json: bool,
    shown: Callable[[Mapping[str, Any]], bool] | None = None,
) -> bool:
    """print_records of the tasks of a watchlist read as a stream of their checked field
    values (Watchlist.stream_fields), those only that `shown` takes (every one read counts
    in the run times): the same text, printed as it comes, with neither every record nor
    the whole output in memory."""
    now = time.time()
    if as_json:
        return json_stream(tasks, now, shown)
    seen = False

    def picked() -> Iterator[TaskRecord]:
        nonlocal seen
        for values in tasks:
            seen = True
            if shown is None or shown(values):
                yield TaskRecord.from_fields(values)

    printed = table_stream(table_lines(picked(), now, table_width()))
    if not seen:
        print(EMPTY, file=sys.stderr)
    return printed
