"""A first screen without reading the whole history: the tasks that can be on top of a
view that hides history, found by a scan of the base file's lines, parsing only those.

A year of history is 50,000 documents, a line each (basefile.encode_base), written by us in
the record's field order: `{"id":"…","status":"…",…,"checked_at":…,"updated_at":…,…}`. A
line whose status is final and whose `checked_at` and `updated_at` (each named once in
the line: a task id or a number holds no quote, and inside a JSON text every quote is
escaped, so the names cannot be faked by a prompt) are both before `since` is a task
that finished before `since` and has not changed since: history. It is skipped unparsed.
Every other line is parsed and checked as `load` does. Nothing here is trusted for a
write, and nothing is a verdict on the skipped lines: `load` reads and checks them all
after the first screen; this only decides which rows can be drawn first.

`check_ends` is what a face can check before it opens a screen, at no cost: the meta
table (a newer schema is refused) and the file's end (a file cut short anywhere).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from array import array
from pathlib import Path
from typing import Any

from starvideos_tui.core import localfile, textsafe
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage import journal, lineindex
from starvideos_tui.storage.basefile import (
    TASKS_LINE,
    WatchlistError,
    damaged,
    journal_seq,
    parse_head,
    read_head,
)
from starvideos_tui.storage.lineindex import LineIndex

# A line of a final task as encode_base writes it: its doc id, id and final status.
_FINAL = re.compile(
    rb'"(?:0|[1-9][0-9]*)":\{"id":"[A-Za-z0-9_.:-]{1,200}","status":"(?:completed|failed)",'
)
_DOC = re.compile(rb'"(0|[1-9][0-9]*)":\{')
_CHECKED = b'"checked_at":'
INF = float("inf")
_RELEASE_EVERY = 2 << 20  # bytes of the mapped base scanned before they are given back
_TIMES = re.compile(rb',"checked_at":([-+.0-9eE]{1,30}),"updated_at":([-+.0-9eE]{1,30}),"history":')


def is_history(record: TaskRecord, since: float) -> bool:
    """Finished, and nothing about it changed (nor was it checked) since `since`."""
    return (
        record.is_final
        and record.checked_at is not None
        and record.updated_at is not None
        and record.checked_at < since
        and record.updated_at < since
    )


def _meta(path: Path, raw: Any) -> tuple[dict[str, Any], int, int] | None:
    """The meta table of a base in our layout and where its documents' lines start and
    end in `raw`; None for any other layout."""
    first = raw.find(b"\n") + 1
    start = first + len(TASKS_LINE)
    if not first or raw[-3:] != b"\n}}":
        return None
    meta = parse_head(path, raw[:first], raw[first:start])
    return None if meta is None else (meta, start, len(raw) - 3)


def check_ends(path: Path) -> bool:
    """Whether the base at `path` begins and ends as our layout does, its meta table
    checked (WatchlistError for a newer schema): its head and its last bytes only, so a
    file cut short anywhere is caught at no cost. False: read it whole to know."""
    try:
        with localfile.open_binary(path) as handle:
            meta = read_head(path, handle)
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - 3))
            tail = handle.read()
    except FileNotFoundError:
        return True  # no watchlist yet: nothing to refuse
    except OSError:
        return False
    return meta is not None and tail.endswith(b"\n}}")


def recent(path: Path, journal_path: Path, since: float) -> list[TaskRecord] | None:
    """Every task of the watchlist but those that are history before `since`, in the
    order they were added; None when the base is not in our layout (read it whole).

    The base's lines are found by its index (lineindex.py) when it has one, else by a scan
    (its index is written by the whole read that follows, once the base is checked: never
    beside a base damaged inside; Watchlist.load). The file is mapped, not read, and
    scanned by positions: no object is made for a line that is skipped (50,000 lines of a
    kilobyte made and freed would leave the heap that much larger for good)."""
    try:
        with localfile.open_binary(path) as handle:
            base = os.fstat(handle.fileno())
            try:
                raw = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:  # an empty file cannot be mapped (nor is it our layout)
                return None
            with raw:
                return _recent(path, base, journal_path, raw, since)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WatchlistError(f"cannot read watchlist {path}: {exc.strerror}") from None


def index_base(path: Path, read: tuple[int, int, int] | None = None) -> None:
    """Write the index of the base at `path`: the next first screen reads its recent
    lines only. `read`: the base as read and checked (inode, size, mtime); one put in its
    place since is left to its writer. Best effort; off the way of any first screen."""
    with contextlib.suppress(OSError, ValueError), localfile.open_binary(path) as handle:
        base = os.fstat(handle.fileno())
        if read is not None and read != (base.st_ino, base.st_size, base.st_mtime_ns):
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as raw:
            found = _meta(path, raw)
            if found is not None:
                lineindex.write(path, base, LineIndex.of(*_lines(raw, found[1], found[2], -INF)))


def _recent(
    path: Path,
    base: os.stat_result,
    journal_path: Path,
    raw: Any,
    since: float,
) -> list[TaskRecord] | None:
    found = _meta(path, raw)
    if found is None:
        return None
    meta, at, end = found
    seq = journal_seq(meta)
    shown: dict[int, TaskRecord] | None = None
    index = lineindex.read(path, base)
    if index is not None:
        shown = _parse(path, raw, at, end, index.changed_since(since), since)
    if shown is None:  # no index for this base, or one that does not fit it: scan
        _, starts, stops = _lines(raw, at, end, since)
        wanted = list(zip(starts, stops, strict=True))
        shown = _parse(path, raw, at, end, wanted, since)
        if shown is None:
            return None
    _apply_journal(journal_path, seq, since, shown)
    return [record for _, record in sorted(shown.items())]


def _lines(
    raw: Any, at: int, end: int, since: float
) -> tuple[array[float], array[int], array[int]]:
    """(change time, start, stop) of each line from `at` to `end` whose task may have
    changed at or after `since`. The change time is the later of a finished task's
    `checked_at` and `updated_at`, read from the line's text (nothing is parsed); +inf
    for every other line (not finished, times not where a line of ours has them)."""
    quiets, starts, stops = array("d"), array("q"), array("q")  # no object a line
    add_quiet, add_start, add_stop = quiets.append, starts.append, stops.append
    final, times, checked, find = _FINAL.match, _TIMES.match, _CHECKED, raw.find
    # The pages scanned are given back as it goes: a mapped file's pages count in the
    # process's memory while mapped (55 MB at 50k, on top of a fold's or a start's own).
    release = getattr(raw, "madvise", None) if hasattr(mmap, "MADV_DONTNEED") else None
    released = at - at % mmap.PAGESIZE
    if at == end + 1:  # an empty table: its blank line
        at = end
    while at < end:
        if release is not None and at - released > _RELEASE_EVERY:
            cut = at - at % mmap.PAGESIZE
            release(mmap.MADV_DONTNEED, released, cut - released)
            released = cut
        stop = find(b"\n", at, end)
        if stop < 0:
            stop = end
        quiet = INF
        if final(raw, at, stop) is not None:  # a finished task: when did it last change?
            name = find(checked, at, stop)
            found_times = times(raw, name - 1, stop) if name > 0 else None
            if (
                found_times is not None
                and find(checked, found_times.end(), stop) < 0  # once: not nested
            ):
                try:  # (not contextlib.suppress: an object a line, 50,000 lines)
                    quiet = max(float(found_times[1]), float(found_times[2]))
                except ValueError:  # "." or "e": the line is read
                    quiet = INF
                if quiet < since:
                    at = stop + 1
                    continue
        add_quiet(quiet)
        add_start(at)
        add_stop(stop)
        at = stop + 1
    return quiets, starts, stops


def _parse(
    path: Path, raw: Any, at: int, end: int, lines: list[tuple[int, int]], since: float
) -> dict[int, TaskRecord] | None:
    """The records of these lines (start, stop), by doc id, but those that are history
    before `since`; None when one of them is not a line framed as ours."""
    shown: dict[int, TaskRecord] = {}
    for start, stop in lines:
        last = stop == end
        if not (at <= start < stop <= end) or raw[start - 1 : start] != b"\n":
            return None
        line = raw[start:stop]
        match = _DOC.match(line)
        if match is None or not line.endswith(b"}" if last else b"},"):
            return None  # not framed as ours: read it whole
        key = match.group(1).decode()
        body = line[match.end() - 1 : None if last else -1]
        try:
            doc = textsafe.loads(body)
            if not isinstance(doc, dict):
                raise TypeError("not a document")
            record = TaskRecord.from_doc(doc)
        except (TypeError, ValueError) as exc:
            why = f"task entry {key[:20]!r} has the wrong shape: {str(exc)[:80]}"
            raise damaged(path, why) from None
        if not is_history(record, since):
            shown[int(key)] = record
    return shown


def _apply_journal(path: Path, seq: int, since: float, shown: dict[int, TaskRecord]) -> None:
    try:
        with localfile.open_binary(path) as handle:
            tail = journal.read_entries(handle.read())
    except FileNotFoundError:
        return
    except (OSError, journal.JournalDamaged) as exc:
        raise damaged(path, str(exc)) from None
    for entry in tail.entries:
        if entry["seq"] <= seq:
            continue
        dels, puts = entry.get("del", []), entry.get("put", {})
        if not isinstance(dels, list) or not isinstance(puts, dict):
            raise damaged(path, f"entry {entry['seq']} has the wrong shape")
        for key in dels:
            if isinstance(key, str) and key.isdigit():
                shown.pop(int(key), None)
        for key, doc in puts.items():
            try:
                record = TaskRecord.from_doc(doc)
            except (TypeError, ValueError, AttributeError) as exc:
                why = f"entry {entry['seq']} has the wrong shape: {str(exc)[:80]}"
                raise damaged(path, why) from None
            if not (isinstance(key, str) and key.isdigit()):
                raise damaged(path, f"entry {entry['seq']} has a bad document")
            if is_history(record, since):
                shown.pop(int(key), None)
            else:
                shown[int(key)] = record
