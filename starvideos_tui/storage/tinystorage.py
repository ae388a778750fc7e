"""The watchlist as a TinyDB database: a TinyDB `Storage` over the base file and its
journal (files.py), so that

    db = TinyDB(path, storage=WatchlistStorage)

*is* the watchlist, for the product and for a user's script alike: the same lock, the
same crash guarantees, and writes that append only the documents they changed.

TinyDB hands a storage the whole state on every write (`Table._update_table` reads it,
changes documents in place, writes it back), so how this storage learns what changed:

- a script's write is compared with the state its read returned (the records, which
  TinyDB cannot change in place), document by document; under the lock each changed
  document gets only the fields the script changed, onto what is on disk now, so a
  monitor's write in between is kept. A document id that another process took meanwhile
  (TinyDB's table caches its next id) is refused, not overwritten.
- the product names the documents a call changes (`scope`): the read then holds only
  those documents, so TinyDB's per-call work follows the change, not the history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from starvideos_tui.core.models import TaskRecord, validate_task_id
from starvideos_tui.storage.basefile import META, TASKS
from starvideos_tui.storage.files import State, WatchlistFiles

_MISSING = object()


class WatchlistStorage(Storage):
    """TinyDB's storage for a starvideos-tui watchlist at `path` (and `<path>.journal`).

    Reads take no lock; each write takes the watchlist's lock, re-reads what changed,
    and appends one fsynced journal entry. `close()` (TinyDB's, or the end of a `with
    TinyDB(...)` block) folds the journal into the base if this process wrote.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.files = WatchlistFiles(path)
        self._scope: set[int] | None = None

    @contextlib.contextmanager
    def scope(self, doc_ids: Iterable[int]) -> Iterator[None]:
        """Within this block, TinyDB reads only these task documents, and a write puts
        the ones it holds and deletes the others (new doc ids are inserts)."""
        with self.files.thread_lock:
            self._scope = set(doc_ids)
            try:
                yield
            finally:
                self._scope = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        with self.files.thread_lock:
            if self._scope is not None:
                state = self.files.state  # refreshed under the lock by the caller
                tasks = {str(k): state.doc(k) for k in self._scope if k in state.records}
            else:
                state = self.files.refresh()
                # Copies: TinyDB's update changes the documents it read in place, and a
                # change that raises halfway must not leak into the next read.
                tasks = {key: dict(doc) for key, doc in self.files.docs().items()}
            if state.base is None and not state.records:
                return None
            return {META: {k: dict(v) for k, v in state.meta.items()}, TASKS: tasks}

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        with self.files.thread_lock:
            if self._scope is not None:
                self._write_scoped(data, self._scope)
            else:
                self._write_changes(data)

    def close(self) -> None:
        self.files.close()

    # -- writing ------------------------------------------------------------------------

    def _write_scoped(self, data: dict[str, dict[str, Any]], scope: set[int]) -> None:
        tasks = data.get(TASKS) or {}
        with self.files.locked() as state:
            puts: dict[int, dict[str, Any]] = {}
            for key, doc in tasks.items():
                doc_id = int(key)
                if doc_id in scope or doc_id not in state.records:
                    puts[doc_id] = _checked(doc_id, doc)
            dels = [k for k in scope if str(k) not in tasks and k in state.records]
            self.files.commit(state, puts, dels)

    def _write_changes(self, data: dict[str, dict[str, Any]]) -> None:
        basis = self.files.state  # what the last read returned
        tasks = {str(k): doc for k, doc in (data.get(TASKS) or {}).items()}
        _check_tables(data, basis)
        changed: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
        new: dict[int, dict[str, Any]] = {}
        for key, doc in tasks.items():
            if not key.isdigit():
                raise ValueError(f"watchlist document id {key[:20]!r} is not a number")
            doc_id = int(key)
            if doc_id not in basis.records:
                new[doc_id] = dict(doc)
                continue
            old = basis.doc(doc_id)
            if doc != old:
                changed[doc_id] = (old, dict(doc))
        gone = [k for k in basis.records if str(k) not in tasks]
        if not changed and not new and not gone:
            return
        with self.files.locked() as now:
            puts: dict[int, dict[str, Any]] = {}
            for doc_id, (old, doc) in changed.items():
                if doc_id not in now.records:
                    continue  # removed meanwhile: not brought back
                merged = now.doc(doc_id)  # the fields changed here, onto what is on disk
                for name in old.keys() - doc.keys():
                    merged.pop(name, None)
                for name, value in doc.items():
                    if old.get(name, _MISSING) != value:
                        merged[name] = value
                puts[doc_id] = _checked(doc_id, merged)
            for doc_id, doc in new.items():
                if doc_id in now.records:
                    raise ValueError(
                        f"Document with ID {doc_id} already exists: another process added "
                        "it meanwhile; open the TinyDB again and repeat the insert"
                    )
                puts[doc_id] = _checked(doc_id, doc)
            self.files.commit(now, puts, [k for k in gone if k in now.records])


def _check_tables(data: dict[str, Any], state: State) -> None:
    for name, table in data.items():
        if name == META:
            if table != state.meta:
                raise ValueError("the watchlist's 'meta' table is its own: it cannot be changed")
        elif name != TASKS and table:
            raise ValueError(f"a watchlist holds only the 'tasks' table, not {name[:40]!r}")


def _checked(doc_id: int, doc: Any) -> dict[str, Any]:
    """A document the watchlist can hold (what a later read would refuse is never written)."""
    try:
        if not isinstance(doc, dict):
            raise TypeError("not a JSON object")
        validate_task_id(TaskRecord.from_doc(doc).id)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"watchlist document {doc_id} is not a task: {str(exc)[:120]}") from None
    return dict(doc)
