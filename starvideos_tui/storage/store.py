"""The watchlist: TinyDB documents in a base file plus a journal of what changed since,
surviving crashes and two writers, with a write cost that follows the change.

A year of history is tens of thousands of finished tasks; a polling pass changes a few.
So a transaction does not rewrite the file (TinyDB's JSONStorage rewrites it in place, and
its table operations touch every document): it appends one framed, fsynced entry of the
documents it changed to `<file>.journal` (journal.py). Every transaction:

1. takes an inter-process lock on `<file>.lock` (filelock);
2. brings its view up to date: the base re-read only if another process replaced it, the
   journal read only from where it last stopped;
3. appends its entry and fsyncs it: acknowledged means on disk;
4. compacts when the journal outgrows half the base (and 256 kB): the whole state
   written as a new base (temp file, fsync, rename, fsync of the folder), then the journal
   removed. A crash between the two leaves entries the base already holds; the base's
   `journal` number says which, and they are skipped.

The base keeps TinyDB's layout (`{"tasks": {"<doc id>": {...}}, "meta": {...}}`). A reader
needs no lock: it reads the base, then the journal's whole entries, and starts again if
the base was replaced meanwhile. A file that does not parse, or a journal damaged before
its end, is never overwritten: every call refuses with a message that names it. A file
of schema 1 (no journal) is read as it is and rewritten as schema 2 on the first write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filelock import FileLock

from starvideos_tui.core import localfile
from starvideos_tui.core.models import TaskRecord, validate_task_id
from starvideos_tui.core.paths import why_mkdir_failed
from starvideos_tui.storage import journal
from starvideos_tui.storage.basefile import (
    DOC_ID_RE,
    META,
    SCHEMA_VERSION,
    TASKS,
    Signature,
    WatchlistError,
    atomic_write,
    damaged,
    document,
    encode_base,
    fsync_dir,
    keep_unknown_keys,
    peek_base,
    read_base,
    remove_stale_temp_files,
)

__all__ = ["SCHEMA_VERSION", "Watchlist", "WatchlistError"]

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 30.0
COMPACT_MIN_BYTES = 256 * 1024  # a journal smaller than this is never worth a rewrite
PEEK_BYTES = 1 << 20  # a first screen's documents are in the first MiB of the base
COMPACT_RATIO = 0.5  # compact when the journal is larger than this share of the base


@dataclass
class _State:
    """What the base and the journal say, as of the base's signature and a journal offset."""

    base: Signature | None = None
    journal: tuple[int, int] | None = None  # (inode, device) of the journal read
    offset: int = 0  # journal bytes applied (whole, checked entries)
    seq: int = 0  # the last entry applied (or the base's `journal` number)
    schema: int = SCHEMA_VERSION
    meta: dict[str, Any] = field(default_factory=dict)
    records: dict[int, TaskRecord] = field(default_factory=dict)
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)  # see basefile.Base
    by_id: dict[str, int] = field(default_factory=dict)

    @property
    def next_doc_id(self) -> int:
        return max(self.records, default=0) + 1


class Watchlist:
    """The persisted set of watched tasks at `path` (and `<path>.journal`)."""

    def __init__(self, path: Path | str) -> None:
        self.path = localfile.followed(Path(path).expanduser())
        self.journal_path = Path(f"{self.path}.journal")
        self._lock: FileLock | None = None  # made on the first write: reading needs none
        self._thread_lock = threading.Lock()
        self._state = _State()
        self._loaded: tuple[Signature | None, Signature | None] | None = None

    # -- reading ------------------------------------------------------------------------

    def _signature(self, path: Path) -> Signature | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _signatures(self) -> tuple[Signature | None, Signature | None]:
        return self._signature(self.path), self._signature(self.journal_path)

    def _refresh(self) -> _State:
        """Bring the view up to date: the base if it was replaced, the journal's new end."""
        for _ in range(5):
            base = self._signature(self.path)
            if base != self._state.base or base is None:
                self._state = self._read_base(base)
            self._read_journal()
            if self._signature(self.path) == base:  # no compaction under our feet
                return self._state
        raise WatchlistError(f"watchlist {self.path} keeps changing while being read")

    def _read_base(self, signature: Signature | None) -> _State:
        state = _State(base=signature)
        try:
            handle = localfile.open_binary(self.path)  # a FIFO or /dev/zero is refused
        except FileNotFoundError:
            state.base = None
            return state
        except OSError as exc:
            raise WatchlistError(f"cannot read watchlist {self.path}: {exc.strerror}") from None
        with handle:
            st = os.fstat(handle.fileno())
            state.base = (st.st_ino, st.st_size, st.st_mtime_ns)  # the file read, if replaced
            try:
                base = read_base(self.path, handle)
            except OSError as exc:
                raise WatchlistError(f"cannot read watchlist {self.path}: {exc.strerror}") from None
        state.meta = base.meta
        info: dict[str, Any] = next(iter(state.meta.values()), {})
        state.schema = info.get("schema", 1) if isinstance(info.get("schema"), int) else 1
        state.seq = info.get("journal", 0) if isinstance(info.get("journal"), int) else 0
        state.records, state.extras = base.records, base.extras
        state.by_id = {record.id: doc_id for doc_id, record in base.records.items()}
        return state

    def _read_journal(self) -> None:
        state = self._state
        try:
            fd = localfile.open_regular(self.journal_path)
        except FileNotFoundError:
            state.journal, state.offset = None, 0
            return
        except OSError as exc:
            raise WatchlistError(
                f"cannot read watchlist journal {self.journal_path}: {exc.strerror}"
            ) from None
        try:
            st = os.fstat(fd)
            identity = (st.st_ino, st.st_dev)
            if identity != state.journal or st.st_size < state.offset:
                if state.journal is not None:  # a new journal over an old view: start over
                    self._state = state = self._read_base(state.base)
                state.journal, state.offset = identity, 0
            if st.st_size == state.offset:
                return
            raw = os.pread(fd, st.st_size - state.offset, state.offset)
        finally:
            os.close(fd)
        try:
            tail = journal.read_entries(raw, state.offset)
        except journal.JournalDamaged as exc:
            raise damaged(self.journal_path, str(exc)) from None
        for entry in tail.entries:
            self._apply(state, entry)
        state.offset = tail.end  # a torn tail after it is cut by the next append

    def _apply(self, state: _State, entry: dict[str, Any]) -> None:
        """One journal entry onto the view (entries the base already holds are skipped)."""
        if entry["seq"] <= state.seq:
            return
        puts, dels = entry.get("put", {}), entry.get("del", [])
        if not isinstance(puts, dict) or not isinstance(dels, list):
            raise damaged(self.journal_path, f"entry {entry['seq']} has the wrong shape")
        for key in dels:
            if isinstance(key, str) and key.isdigit():
                doc_id = int(key)
                state.extras.pop(doc_id, None)
                gone = state.records.pop(doc_id, None)
                if gone is not None and state.by_id.get(gone.id) == doc_id:
                    del state.by_id[gone.id]
        for key, doc in puts.items():
            if not (isinstance(key, str) and DOC_ID_RE.fullmatch(key) and isinstance(doc, dict)):
                raise damaged(self.journal_path, f"entry {entry['seq']} has a bad document")
            try:
                record = TaskRecord.from_doc(doc)
            except (TypeError, ValueError) as exc:
                why = f"entry {entry['seq']} has the wrong shape: {str(exc)[:80]}"
                raise damaged(self.journal_path, why) from None
            doc_id = int(key)
            state.records[doc_id] = record
            keep_unknown_keys(state.extras, doc_id, doc)
            state.by_id[record.id] = doc_id
        state.seq = entry["seq"]

    def load(self) -> list[TaskRecord]:
        """Every watched task, in the order they were added. No lock needed."""
        with self._thread_lock:
            before = self._signatures()
            state = self._refresh()
            self._loaded = before
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

    def get(self, task_id: str) -> TaskRecord | None:
        """One watched task as the files hold it now, or None."""
        with self._thread_lock:
            state = self._refresh()
            doc_id = state.by_id.get(task_id)
            return state.records[doc_id] if doc_id is not None else None

    def changed_since_load(self) -> bool:
        """Whether anyone changed the watchlist since the last `load` (our own writes
        made after it do not count: the caller knows what it wrote)."""
        return self._signatures() != self._loaded

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_State]:
        # Refused before the lock file is made beside it (reading under the lock checks
        # again, on the descriptor it reads).
        for path, what in ((self.path, "watchlist"), (self.journal_path, "watchlist journal")):
            try:
                localfile.check_regular(path)
            except localfile.NotRegularFile as exc:
                raise WatchlistError(f"cannot read {what} {path}: {exc.strerror}") from None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = why_mkdir_failed(self.path.parent, exc)
            raise WatchlistError(
                f"cannot create the folder of watchlist {self.path}: {why}"
            ) from None
        from filelock import FileLock, Timeout

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
                remove_stale_temp_files(self.path, time.time())
                yield self._refresh()
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

    def _commit(self, state: _State, puts: dict[int, TaskRecord], dels: Iterable[int] = ()) -> None:
        """Make these changes durable, then show them in the view. Under the lock."""
        dels = list(dels)
        if not puts and not dels:
            return
        up_to_date = self._loaded == self._signatures()
        entry = {
            "seq": state.seq + 1,
            "put": {str(k): r.to_doc() for k, r in puts.items()},
            "del": [str(k) for k in dels],
        }
        if state.base is None or state.schema < SCHEMA_VERSION:
            # No base yet, or one of schema 1 (which knows no journal): a whole base first,
            # so an older starvideos-tui refuses the file instead of missing the journal.
            self._apply(state, entry)
            self._compact(state)
        else:
            try:
                end = journal.append(str(self.journal_path), journal.frame(entry), state.offset)
            except OSError as exc:
                raise WatchlistError(
                    f"cannot save watchlist {self.path}: {exc.strerror or exc}; "
                    "the previous version is intact"
                ) from None
            self._apply(state, entry)
            state.offset = end
            if state.journal is None:
                st = os.stat(self.journal_path)
                state.journal = (st.st_ino, st.st_dev)
            base_size = state.base[1] if state.base else 0
            if end > max(COMPACT_MIN_BYTES, COMPACT_RATIO * base_size):
                try:
                    self._compact(state)
                except WatchlistError as exc:
                    # The change is durable in the journal already; fold it in next time.
                    log.warning("watchlist not compacted: %s", exc)
        if up_to_date:
            self._loaded = self._signatures()

    def _compact(self, state: _State) -> None:
        """Write the whole view as a new base, then drop the journal it holds."""
        meta = {"1": {"schema": SCHEMA_VERSION, "journal": state.seq}}
        tasks = {str(k): document(r, state.extras.get(k)) for k, r in state.records.items()}
        try:
            atomic_write(self.path, encode_base({TASKS: tasks, META: meta}))
        except OSError as exc:
            raise WatchlistError(
                f"cannot save watchlist {self.path}: {exc.strerror}; the previous version is intact"
            ) from None
        state.base, state.schema, state.meta = self._signature(self.path), SCHEMA_VERSION, meta
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal_path)
            fsync_dir(self.path.parent)
        state.journal, state.offset = None, 0

    def add(self, records: Sequence[TaskRecord]) -> list[tuple[str, bool]]:
        """Add tasks; one already watched is kept as it is. Returns (id, was_added)."""
        for record in records:
            validate_task_id(record.id)
        outcome: list[tuple[str, bool]] = []
        with self._transaction() as state:
            puts: dict[int, TaskRecord] = {}
            taken = set(state.by_id)
            next_id = state.next_doc_id
            for record in records:
                is_new = record.id not in taken
                outcome.append((record.id, is_new))
                if is_new:
                    taken.add(record.id)
                    puts[next_id] = record
                    next_id += 1
            self._commit(state, puts)
        return outcome

    def remove(self, ids: Iterable[str]) -> list[tuple[str, bool]]:
        """Stop watching tasks. Returns (id, was_there)."""
        ids = list(ids)
        with self._transaction() as state:
            present = {i: state.by_id[i] for i in dict.fromkeys(ids) if i in state.by_id}
            self._commit(state, {}, present.values())
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
            puts: dict[int, TaskRecord] = {}
            for task_id, change in changes.items():
                doc_id = state.by_id.get(task_id)
                if doc_id is None:
                    continue
                new = change(state.records[doc_id])
                if new != state.records[doc_id]:
                    puts[doc_id] = new
                updated[task_id] = new
            self._commit(state, puts)
        return updated
