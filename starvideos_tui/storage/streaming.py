"""The watchlist read as a stream of records, a line of the base at a time, for a command
that prints each task once (`list`): 50,000 records are never in memory together.

The journal is read first (it is small: compaction keeps it under a fifth of the base), so each
document of the base is yielded as the journal left it; the documents the journal added
follow, in the order they were added. The base is held open by its descriptor, so a
compaction by another process meanwhile does not change what is read; one that happened
between opening the base and reading its journal is seen (the base's inode changed) and
the read starts again. A file not in our layout is loaded whole instead, and checked
before anything is yielded. A document found damaged in the middle of the stream raises
WatchlistError there: the caller has printed the tasks before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from starvideos_tui.core import localfile, textsafe
from starvideos_tui.core.models import TaskRecord, checked_fields
from starvideos_tui.storage import journal
from starvideos_tui.storage.basefile import (
    DOC_ID_RE,
    WatchlistError,
    damaged,
    journal_seq,
    read_head,
)

_DOC_LINE = b'"'


def records(
    path: Path, journal_path: Path, load: Callable[[], list[TaskRecord]]
) -> Iterator[TaskRecord]:
    """Every task of the watchlist at `path`, in the order added (`load` for another layout)."""
    return map(TaskRecord.from_fields, fields(path, journal_path, load))


def fields(
    path: Path, journal_path: Path, load: Callable[[], list[TaskRecord]]
) -> Iterator[dict[str, Any]]:
    """The checked field values (`checked_fields`) of every task of the watchlist at
    `path`, in the order added (`load` for another layout): what a record is made of,
    for a reader that prints most tasks without needing their records."""
    opened = _open(path, journal_path)
    if opened is None:
        yield from (record.field_values() for record in load())
        return
    handle, (changed, moved, order) = opened
    with handle:
        yield from _stream(path, handle, changed)
    # What the base did not hold, where `load` puts it: after the base, in the order the
    # journal added it (a document deleted and put again counts from its new put).
    moved.update((k, doc) for k, doc in changed.items() if doc is not None)
    for doc_id in sorted(moved, key=order.__getitem__):
        yield _checked(journal_path, str(doc_id), moved[doc_id])


Changes = tuple[dict[int, Any], dict[int, Any], dict[int, int]]


def _open(path: Path, journal_path: Path) -> tuple[BinaryIO, Changes] | None:
    """The base open past its head, and what the journal changed (`_journal`); None when
    the base is missing or not in our layout."""
    for _ in range(5):
        try:
            handle = localfile.open_binary(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise WatchlistError(f"cannot read watchlist {path}: {exc.strerror}") from None
        try:
            meta = read_head(path, handle)
            if meta is None:
                handle.close()
                return None
            changed = _journal(journal_path, meta)
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                return handle, changed
        except BaseException:
            handle.close()
            raise
        handle.close()  # compacted meanwhile: the journal read may be of the new base
    raise WatchlistError(f"watchlist {path} keeps changing while being read")


def _journal(path: Path, meta: dict[str, Any]) -> Changes:
    """What the journal changed since the base: documents put in their base place by doc
    id (None: deleted), documents put after a delete (at the end), and when each doc id
    was last put in a place of its own (the end's order)."""
    seq = journal_seq(meta)
    try:
        with localfile.open_binary(path) as handle:
            tail = journal.read_entries(handle.read())
    except FileNotFoundError:
        return {}, {}, {}
    except OSError as exc:
        raise WatchlistError(f"cannot read watchlist journal {path}: {exc.strerror}") from None
    except journal.JournalDamaged as exc:
        raise damaged(path, str(exc)) from None
    changed: dict[int, Any] = {}
    moved: dict[int, Any] = {}
    order: dict[int, int] = {}
    puts_seen: list[int] = []  # a counter of puts
    for entry in tail.entries:
        if entry["seq"] <= seq:
            continue
        puts, dels = entry.get("put", {}), entry.get("del", [])
        if not isinstance(puts, dict) or not isinstance(dels, list):
            raise damaged(path, f"entry {entry['seq']} has the wrong shape")
        for key in dels:
            if isinstance(key, str) and key.isdigit():
                changed[int(key)] = None
                moved.pop(int(key), None)
                order.pop(int(key), None)
        for key, doc in puts.items():
            if not (isinstance(key, str) and DOC_ID_RE.fullmatch(key) and isinstance(doc, dict)):
                raise damaged(path, f"entry {entry['seq']} has a bad document")
            doc_id = int(key)
            if doc_id in moved or (doc_id in changed and changed[doc_id] is None):
                moved[doc_id] = doc
            else:
                changed[doc_id] = doc
            order.setdefault(doc_id, len(puts_seen))
            puts_seen.append(doc_id)
    return changed, moved, order


def _stream(path: Path, handle: BinaryIO, changed: dict[int, Any]) -> Iterator[dict[str, Any]]:
    more = True  # whether a document may follow (after a comma)
    for number, line in enumerate(handle, start=3):
        if line == b"}}":
            return
        if line == b"\n":  # the blank line of an empty table
            continue
        colon = line.find(b'":')
        key = line[1:colon].decode("ascii", "replace") if line.startswith(_DOC_LINE) else ""
        if not more or not DOC_ID_RE.fullmatch(key) or not line.endswith((b",\n", b"}\n")):
            raise damaged(path, f"line {number} is not a task document")
        more = line.endswith(b",\n")
        doc_id = int(key)
        if doc_id in changed:
            doc = changed.pop(doc_id)
            if doc is not None:
                yield _checked(path, key, doc)
            continue
        try:
            doc = textsafe.loads(line[colon + 2 : -2 if more else None])
        except ValueError as exc:
            raise damaged(path, f"task entry {key[:20]!r} is not JSON: {str(exc)[:80]}") from None
        yield _checked(path, key, doc)
    raise damaged(path, "the file ends inside the table")


def _checked(path: Path, key: str, doc: Any) -> dict[str, Any]:
    try:
        if not isinstance(doc, dict):
            raise TypeError("not a document")
        return checked_fields(doc)  # printed once, never held: nothing shared
    except (TypeError, ValueError) as exc:
        why = f"task entry {key[:20]!r} has the wrong shape: {str(exc)[:80]}"
        raise damaged(path, why) from None
