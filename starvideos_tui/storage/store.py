"""The watchlist: a TinyDB database (tinystorage.py) whose storage is a base file plus a
journal of what changed since (files.py), surviving crashes and two writers, with a write
cost that follows the change.

The product reads and writes it as a user's script would: every change is one TinyDB
call (`insert_multiple`, `update`, `remove` with the changed doc ids), made inside the
watchlist's lock after the view was brought up to date, so the ids it hands out are never
another process's. The call names its documents to the storage (`scope`): a polling pass
of 20 changed tasks among 50,000 costs TinyDB 20 documents, not a rebuild of its table,
and appends one fsynced journal entry of those 20. Reads use the storage's view, already
checked and turned into records, without asking TinyDB to build 50,000 dicts.

A clean close (`close()`: the TUI, `watch`, every CLI command) folds the journal into the
base if this process wrote, so plain `TinyDB(path)` sees every task whenever no process
holds the watchlist open.
"""

from __future__ import annotations

import contextlib
import os  # noqa: F401  (the store's tests patch store.os: the process-wide module)
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from starvideos_tui.core import localfile
from starvideos_tui.core.models import TaskRecord, validate_task_id
from starvideos_tui.storage import firstscreen, journal, lineindex, streaming
from starvideos_tui.storage.basefile import (
    KNOWN_KEYS,
    SCHEMA_VERSION,
    TASKS,
    WatchlistError,
    peek_base,
)
from starvideos_tui.storage.files import COMPACT_MIN_BYTES, State
from starvideos_tui.storage.tinystorage import WatchlistStorage

__all__ = ["SCHEMA_VERSION", "Watchlist", "WatchlistError", "WatchlistStorage"]

PEEK_BYTES = 1 << 20  # a first screen's documents are in the first MiB of the base


class Watchlist:
    """The persisted set of watched tasks at `path` (and `<path>.journal`)."""

    def __init__(self, path: Path | str) -> None:
        self.db = TinyDB(path, storage=WatchlistStorage)
        storage = self.db.storage
        assert isinstance(storage, WatchlistStorage)
        self.storage = storage
        self.files = storage.files
        self.path = self.files.path
        self.journal_path = self.files.journal_path
        self._tasks = self.db.table(TASKS, cache_size=0)

    def close(self) -> None:
        """The end of a clean run: the journal folded into the base if this process wrote."""
        self.db.close()

    def leave_journal(self) -> None:
        """The process is being stopped: its journal is not folded at the end (files.py)."""
        self.files.leave_journal()

    # -- reading ------------------------------------------------------------------------

    def load(self) -> list[TaskRecord]:
        """Every watched task, in the order they were added. No lock needed."""
        with self.files.thread_lock:
            before = self.files.signatures()
            read = self.files.state.base
            state = self.files.refresh()
            self.files.loaded = before
            # A base read and checked just now (a first start, a base another tool wrote)
            # without an index of it: one is written, for the next first screen.
            if state.base != read and not lineindex.names(self.path, state.base):
                firstscreen.index_base(self.path, state.base)
            return list(state.records.values())

    def peek(self, count: int) -> list[TaskRecord] | None:
        """The first `count` tasks, quickly, for a first screen: only their documents are
        parsed (the rest of a long history is not). Not checked beyond them, and nothing is
        written on their strength: `load` reads and checks everything. None when the file
        cannot be peeked at (no file, an older layout): load it whole."""
        try:
            with localfile.open_binary(self.path) as handle:
                head = handle.read(PEEK_BYTES)  # the head of the file only, whatever its size
        except OSError:
            return None
        peeked = peek_base(head, count)
        if peeked is None:
            return None
        meta, numbered = peeked
        info: Any = next(iter(meta.values()), {})
        seq = info.get("journal", 0) if isinstance(info, dict) else 0
        shown = dict(numbered)
        try:
            with localfile.open_binary(self.journal_path) as handle:
                tail = journal.read_entries(handle.read())
        except (OSError, journal.JournalDamaged):
            return [r for _, r in sorted(shown.items())]
        for entry in tail.entries:
            if not isinstance(seq, int) or entry["seq"] <= seq:
                continue
            for key in entry.get("del", []) if isinstance(entry.get("del"), list) else []:
                if isinstance(key, str) and key.isdigit():
                    shown.pop(int(key), None)
            puts = entry.get("put", {})
            for key, doc in puts.items() if isinstance(puts, dict) else []:
                if isinstance(key, str) and key.isdigit() and int(key) in shown:
                    with contextlib.suppress(TypeError, ValueError, AttributeError):
                        shown[int(key)] = TaskRecord.from_doc(doc)
        return [r for _, r in sorted(shown.items())]

    def stream(self) -> Iterator[TaskRecord]:
        """Every watched task in the order added, as `load` gives them, read a document at
        a time (`list` prints each as it comes: a year of history is never in memory at
        once). A document damaged in the middle raises WatchlistError when it is reached."""
        return streaming.records(self.path, self.journal_path, self.load)

    def stream_fields(self) -> Iterator[dict[str, Any]]:
        """`stream`, each task as its checked field values (TaskRecord.from_fields makes
        its record): what `list --json` prints a finished task from."""
        return streaming.fields(self.path, self.journal_path, self.load)

    def recent(self, since: float) -> list[TaskRecord] | None:
        """For a first screen that hides history: every task but those that finished
        before `since` and did not change after, read without parsing those (a year of
        history costs a scan of its lines). None for a file not in our layout: `load` it.
        Nothing is written on their strength: `load` reads and checks everything."""
        with self.files.thread_lock:
            return firstscreen.recent(self.path, self.journal_path, since)

    def check_quickly(self) -> None:
        """Refuse (WatchlistError) a base cut short, or of a newer schema, from its head
        and its end alone; a base not in our layout is read and checked whole. For a face
        that must refuse a damaged file before its screen opens; `load` checks every
        document after (a document damaged in the middle is found then)."""
        if not firstscreen.check_ends(self.path):
            self.load()

    def get(self, task_id: str) -> TaskRecord | None:
        """One watched task as the files hold it now, or None."""
        with self.files.thread_lock:
            state = self.files.refresh()
            doc_id = state.by_id.get(task_id)
            return state.records[doc_id] if doc_id is not None else None

    def changed_since_load(self) -> bool:
        """Whether anyone changed the watchlist since the last `load` (our own writes
        made after it do not count: the caller knows what it wrote)."""
        return self.files.signatures() != self.files.loaded

    # -- writing: each a TinyDB call on the documents it changes, under the lock ------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[State]:
        self.files.compact_min_bytes = COMPACT_MIN_BYTES
        with self.files.locked() as state:
            yield state

    def add(self, records: Sequence[TaskRecord]) -> list[tuple[str, bool]]:
        """Add tasks; one already watched is kept as it is. Returns (id, was_added)."""
        for record in records:
            validate_task_id(record.id)
        outcome: list[tuple[str, bool]] = []
        with self._transaction() as state:
            new: list[Document] = []
            taken = set(state.by_id)
            next_id = state.next_doc_id
            for record in records:
                is_new = record.id not in taken
                outcome.append((record.id, is_new))
                if is_new:
                    taken.add(record.id)
                    new.append(Document(record.to_doc(), next_id))
                    next_id += 1
            if new:
                with self.storage.scope(doc.doc_id for doc in new):
                    self._tasks.insert_multiple(new)
        return outcome

    def remove(self, ids: Iterable[str]) -> list[tuple[str, bool]]:
        """Stop watching tasks. Returns (id, was_there)."""
        ids = list(ids)
        with self._transaction() as state:
            present = {i: state.by_id[i] for i in dict.fromkeys(ids) if i in state.by_id}
            if present:
                with self.storage.scope(present.values()):
                    self._tasks.remove(doc_ids=list(present.values()))
        return [(i, i in present) for i in ids]

    def update(
        self, changes: Mapping[str, Callable[[TaskRecord], TaskRecord]]
    ) -> dict[str, TaskRecord]:
        """Apply each change to the task's current record, in one committed entry.

        Each function gets the record as it is on disk now (another process may have
        changed it), so nothing anyone else wrote is lost. Tasks removed meanwhile are
        skipped. Returns the new records.
        """
        updated: dict[str, TaskRecord] = {}
        if not changes:
            return updated
        with self._transaction() as state:
            docs: dict[int, dict[str, Any]] = {}
            by_task: dict[str, dict[str, Any]] = {}  # by the id the stored document has
            for task_id, change in changes.items():
                doc_id = state.by_id.get(task_id)
                if doc_id is None:
                    continue
                old = state.records[doc_id]
                new = change(old)
                if new != old:
                    docs[doc_id] = new.to_doc()
                    by_task[task_id] = docs[doc_id]
                updated[task_id] = new
            if docs:
                with self.storage.scope(docs):
                    self._tasks.update(lambda doc: _put(doc, by_task[doc["id"]]), doc_ids=docs)
        return updated


def _put(doc: MutableMapping[str, Any], new: Mapping[str, Any]) -> None:
    """`doc` made `new`: a field `new` leaves out (a rating cleared, an archive undone:
    to_doc leaves fields at their default out) leaves the stored document too; keys a
    newer version wrote stay."""
    for name in KNOWN_KEYS - new.keys():
        doc.pop(name, None)
    doc.update(new)
