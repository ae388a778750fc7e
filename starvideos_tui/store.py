"""The watchlist: TinyDB documents in one JSON file that survives crashes and two writers.

TinyDB's own JSONStorage rewrites the file in place, so a crash mid-write leaves broken
JSON, and two processes with long-lived TinyDB objects hand out the same document ids.
Here every change is one short transaction:

1. take an inter-process lock on `<file>.lock` (filelock);
2. read the file afresh into a `BatchedStorage` and open TinyDB on it;
3. apply all the changes through TinyDB (they stay in memory);
4. write the file once: temp file in the same folder, fsync, `os.replace`, fsync the folder.

A reader never needs the lock: `os.replace` means it sees the old file or the new one.
A file that does not parse is never overwritten: every call refuses with a message that
names it, so its bytes stay where they are for the user to inspect.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filelock import FileLock
    from tinydb import TinyDB

from starvideos_tui.errors import StarVideosError
from starvideos_tui.models import TaskRecord, validate_task_id
from starvideos_tui.paths import why_mkdir_failed

SCHEMA_VERSION = 1
TASKS = "tasks"
META = "meta"
LOCK_TIMEOUT = 30.0
# A temp file this old is a leftover: a save takes well under a second, and under the lock
# only one writer saves at a time.
STALE_TEMP_AGE = 600.0
# TinyDB's document ids as its table keys: str(int), which int() and TinyDB both take back.
_DOC_ID_RE = re.compile(r"0|[1-9][0-9]*")


Signature = tuple[int, int, int]


class WatchlistError(StarVideosError):
    """The watchlist cannot be read or saved; the message names the file and why."""


def _parse(path: Path, raw: bytes) -> tuple[dict[str, Any], list[TaskRecord]]:
    """Check the untrusted bytes of a watchlist file: TinyDB's table dict and the records.

    Every task entry is converted here, for reads and writes alike, so a file that `load`
    refuses is never rewritten by a transaction either.
    """

    def damaged(why: str) -> WatchlistError:
        return WatchlistError(
            f"watchlist {path} is damaged ({why}); it was left untouched - "
            "move it aside or fix it, then run again"
        )

    if not raw.strip():
        raise damaged("the file is empty")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise damaged(f"not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise damaged("expected a JSON object at the top")
    meta = data.get(META, {})
    tasks = data.get(TASKS, {})
    if not isinstance(meta, dict) or not isinstance(tasks, dict):
        raise damaged("its tables are not JSON objects")
    for key, doc in meta.items():
        if not isinstance(doc, dict) or not _DOC_ID_RE.fullmatch(key):
            raise damaged(f"meta entry {key[:20]!r} is not a document")
        version = doc.get("schema")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise WatchlistError(
                f"watchlist {path} was written by a newer starvideos-tui "
                f"(schema {version}, this one reads {SCHEMA_VERSION}); upgrade to use it"
            )
    numbered: list[tuple[int, TaskRecord]] = []
    for key, doc in tasks.items():
        if not isinstance(doc, dict) or not _DOC_ID_RE.fullmatch(key):
            raise damaged(f"task entry {key[:20]!r} is not a document")
        try:
            numbered.append((int(key), TaskRecord.from_doc(doc)))
        except (TypeError, ValueError) as exc:
            raise damaged(f"task entry {key[:20]!r} has the wrong shape: {str(exc)[:80]}") from None
    numbered.sort(key=lambda item: item[0])
    return data, [record for _, record in numbered]


def _in_order(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The task documents of checked data, in the order they were added."""
    return sorted(((int(k), doc) for k, doc in data.get(TASKS, {}).items()), key=lambda x: x[0])


def _encode(data: dict[str, Any]) -> bytes:
    """The file's bytes: what json.dumps would write, made one document at a time.

    One json.dumps of 10,000 documents is a single C call that holds the GIL for about a
    tenth of a second, freezing the TUI's loop even though the save runs in a thread of
    its own; a call per document lets the loop run between them."""
    tables = []
    for name, table in data.items():
        if not isinstance(table, dict):  # not TinyDB's shape: encode as it is
            tables.append(f"{_dump(name)}:{_dump(table)}")
            continue
        docs = ",".join(f"{_dump(key)}:{_dump(doc)}" for key, doc in table.items())
        tables.append(f"{_dump(name)}:{{{docs}}}")
    return ("{" + ",".join(tables) + "}").encode()


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _remove_stale_temp_files(path: Path, now: float) -> None:
    """Delete temp files that a writer killed mid-save left beside the watchlist."""
    prefix = f".{path.name}."
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
                continue
            with contextlib.suppress(OSError):
                if (
                    entry.is_file(follow_symlinks=False)
                    and now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP_AGE
                ):
                    os.unlink(entry.path)


def _atomic_write(path: Path, payload: bytes) -> None:
    """Replace `path` with `payload` so that a crash leaves the old or the new file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class BatchedStorage:
    """A TinyDB storage that holds one transaction's data in memory.

    TinyDB calls `write` after every operation; keeping those in memory and saving once
    in `Watchlist._transaction` is what makes a whole polling pass one file write. (It has
    the methods of `tinydb.storages.Storage` without importing TinyDB: `list` never needs it.)
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.dirty = False

    def read(self) -> dict[str, Any] | None:
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        self.data = data
        self.dirty = True

    def close(self) -> None:
        pass


class Watchlist:
    """The persisted set of watched tasks at `path`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser()
        self._lock: FileLock | None = None  # made on the first write: reading needs none
        self._thread_lock = threading.Lock()
        self._signature: Signature | None = None
        # The checked content of the file as of a signature: a polling pass over a file
        # nobody else touched needs no read, no parse and no second check of every entry.
        self._cache: tuple[Signature, dict[str, Any], list[TaskRecord] | None] | None = None

    # -- reading ------------------------------------------------------------------------

    def _read(self) -> tuple[dict[str, Any], list[TaskRecord] | None]:
        signature = self._stat_signature()
        if signature is not None and self._cache is not None and self._cache[0] == signature:
            return self._cache[1], self._cache[2]
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}, []
        except OSError as exc:
            raise WatchlistError(f"cannot read watchlist {self.path}: {exc.strerror}") from None
        data, records = _parse(self.path, raw)
        # Replacing the file between the stat and the read only costs a re-read later.
        if signature is not None:
            self._cache = (signature, data, records)
        return data, records

    def _stat_signature(self) -> Signature | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self) -> list[TaskRecord]:
        """Every watched task, in the order they were added. No lock needed."""
        signature = self._stat_signature()
        data, records = self._read()
        if records is None:  # our own last write: its entries were checked as records
            records = [TaskRecord.from_doc(doc) for _, doc in _in_order(data)]
            if self._cache is not None:
                self._cache = (self._cache[0], data, records)
        self._signature = signature
        return list(records)

    def get(self, task_id: str) -> TaskRecord | None:
        """One watched task as the file holds it now, or None. Served from the checked
        content while nobody else wrote the file: no read, and one record converted."""
        data, records = self._read()
        if records is not None:
            return next((r for r in records if r.id == task_id), None)
        doc = next((d for d in data.get(TASKS, {}).values() if d.get("id") == task_id), None)
        return TaskRecord.from_doc(doc) if doc is not None else None

    def changed_since_load(self) -> bool:
        """Whether another writer (or we) replaced the file since the last `load`."""
        return self._stat_signature() != self._signature

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[TinyDB]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = why_mkdir_failed(self.path.parent, exc)
            raise WatchlistError(
                f"cannot create the folder of watchlist {self.path}: {why}"
            ) from None
        from filelock import FileLock, Timeout
        from tinydb import TinyDB

        with self._thread_lock:
            if self._lock is None:
                self._check_lock_file()
                self._lock = FileLock(f"{self.path}.lock", timeout=LOCK_TIMEOUT)
            try:
                self._lock.acquire()
            except Timeout:
                raise WatchlistError(
                    f"watchlist {self.path} is locked by another process for over "
                    f"{LOCK_TIMEOUT:.0f} s"
                ) from None
            except OSError as exc:
                raise WatchlistError(f"cannot lock watchlist {self.path}: {exc.strerror}") from None
            try:
                _remove_stale_temp_files(self.path, time.time())
                before = self._stat_signature()
                data, _ = self._read()
                # TinyDB changes the documents in place: a failed save must not leave
                # the cache holding what never reached the disk.
                self._cache = None
                storage = BatchedStorage(data)
                db = TinyDB(storage=lambda: storage)
                yield db
                if storage.dirty:
                    self._save(db, storage, before)
                elif before is not None:
                    self._cache = (before, data, None)
            finally:
                self._lock.release()

    def _check_lock_file(self) -> None:
        """Fail at once, naming the cause, where the lock file cannot even be made:
        filelock would retry for LOCK_TIMEOUT and then blame another process."""
        lock = f"{self.path}.lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise WatchlistError(
                f"cannot lock watchlist {self.path}: cannot create {lock}: {exc.strerror}"
            ) from None
        os.close(fd)

    def _save(self, db: TinyDB, storage: BatchedStorage, before: Signature | None) -> None:
        meta = db.table(META)
        if not meta.all():
            meta.insert({"schema": SCHEMA_VERSION})
        payload = _encode(storage.data)
        try:
            _atomic_write(self.path, payload)
        except OSError as exc:
            raise WatchlistError(
                f"cannot save watchlist {self.path}: {exc.strerror}; the previous version is intact"
            ) from None
        after = self._stat_signature()
        if after is not None:
            self._cache = (after, storage.data, None)
        if before == self._signature:
            # The caller had seen everything before this write, and knows what it wrote.
            self._signature = after

    @staticmethod
    def _doc_ids(db: TinyDB) -> dict[str, int]:
        # From the raw table, not Table.all(): that builds a Document per task.
        raw = db.storage.read() or {}
        return {doc["id"]: int(key) for key, doc in raw.get(TASKS, {}).items()}

    def add(self, records: Sequence[TaskRecord]) -> list[tuple[str, bool]]:
        """Add tasks; one already watched is kept as it is. Returns (id, was_added)."""
        outcome: list[tuple[str, bool]] = []
        with self._transaction() as db:
            present = self._doc_ids(db)
            fresh: list[dict[str, Any]] = []
            for record in records:
                validate_task_id(record.id)
                is_new = record.id not in present
                outcome.append((record.id, is_new))
                if is_new:
                    present[record.id] = -1
                    fresh.append(record.to_doc())
            if fresh:
                db.table(TASKS).insert_multiple(fresh)
        return outcome

    def remove(self, ids: Iterable[str]) -> list[tuple[str, bool]]:
        """Stop watching tasks. Returns (id, was_there)."""
        ids = list(ids)
        with self._transaction() as db:
            present = self._doc_ids(db)
            gone = [present[i] for i in dict.fromkeys(ids) if i in present]
            if gone:
                db.table(TASKS).remove(doc_ids=gone)
        return [(i, i in present) for i in ids]

    def update(
        self, changes: Mapping[str, Callable[[TaskRecord], TaskRecord]]
    ) -> dict[str, TaskRecord]:
        """Apply each change to the task's current record, all in one file write.

        Each function gets the record as it is on disk now (another process may have
        changed it), so nothing anyone else wrote is lost. Tasks removed meanwhile are
        skipped. Returns the new records.
        """
        updated: dict[str, TaskRecord] = {}
        if not changes:
            return updated
        with self._transaction() as db:
            present = self._doc_ids(db)
            targets = [present[i] for i in changes if i in present]

            def apply(doc: MutableMapping[str, Any]) -> None:
                new = changes[doc["id"]](TaskRecord.from_doc(doc))
                updated[new.id] = new
                doc.clear()
                doc.update(new.to_doc())

            if targets:
                db.table(TASKS).update(apply, doc_ids=targets)
        return updated
