"""`list` printed as the watchlist is read (storage/streaming.py): a record at a time, in
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
from collections.abc import Callable, Iterable, Iterator

from starvideos_tui.core.eta import Group, RunTimes, group_of, run_time
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
    records: Iterable[TaskRecord],
    record_json: Callable[[TaskRecord, RunTimes], object],
    shown: Callable[[TaskRecord], bool] | None = None,
) -> bool:
    """`list --json` of `records` read as a stream, each made JSON by `record_json` with
    the run times it needs (from every record read), of those only that `shown` takes:
    the same text as cmdline.json_array. Whether any was written."""
    runs: list[tuple[float, str, Group, float]] = []  # (created, id, group, took)
    held: list[str | TaskRecord] = []  # from the first unfinished task on
    empty = RunTimes()  # a finished task's eta and stalled need no history

    def items() -> Iterator[str]:
        for record in records:
            if record.kind is TaskStatus.COMPLETED:
                took = run_time(record)
                if took is not None:
                    runs.append((record.created or 0, record.id, group_of(record), took))
            if shown is not None and not shown(record):
                continue
            if not record.is_final:
                held.append(record)
            elif held:
                held.append(dumps_ascii(record_json(record, empty)))
            else:
                yield dumps_ascii(record_json(record, empty))
        if not held:
            return
        runs.sort(key=lambda run: run[0])  # as RunTimes.of: oldest first
        times = RunTimes()
        for _, task_id, group, took in runs:
            times.add_run(task_id, group, took)
        for item in held:
            if isinstance(item, str):
                yield item
            else:
                yield dumps_ascii(record_json(item, times))

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
