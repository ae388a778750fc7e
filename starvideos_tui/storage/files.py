"""The watchlist's files: a base file plus a journal of what changed since, read into one
view and written under one lock, surviving crashes and two writers.

A year of history is tens of thousands of finished tasks; a polling pass changes a few.
So a transaction does not rewrite the file: it appends one framed, fsynced entry of the
documents it changed to `<file>.journal` (journal.py). Every transaction:

1. takes an inter-process lock on `<file>.lock` (filelock);
2. brings its view up to date: the base re-read only if another process replaced it, the
   journal read only from where it last stopped;
3. appends its entry and fsyncs it: acknowledged means on disk;
4. compacts when the journal outgrows a fifth of the base (and 256 kB), and on a clean close
   of a process that wrote: the whole state written as a new base (temp file, fsync,
   rename, fsync of the folder), then the journal removed. A crash between the two leaves
   entries the base already holds; the base's `journal` number says which, and they are
   skipped.

The base keeps TinyDB's layout (`{"tasks": {"<doc id>": {...}}, "meta": {...}}`), one
document per line. A reader needs no lock: it reads the base, then the journal's whole
entries, and starts again if the base was replaced meanwhile. A file that does not parse,
or a journal damaged before its end, is never overwritten: every call refuses with a
message that names it. A file of schema 1 (no journal) is read as it is and rewritten as
schema 2 on the first write.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filelock import FileLock

from starvideos_tui.core import localfile, memory
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.paths import why_mkdir_failed
from starvideos_tui.storage import basefile, firstscreen, foldchain, journal
from starvideos_tui.storage.basefile import (
    DOC_ID_RE,
    SCHEMA_VERSION,
    Held,
    Signature,
    WatchlistError,
    atomic_write,
    base_chunks,
    check_lock_file,
    damaged,
    document,
    fsync_dir,
    keep_unknown_keys,
    read_base,
    remove_stale_temp_files,
)

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 30.0
FOLD_LOCK_TIMEOUT = 1.0  # seconds the fold at a clean end waits for the lock: it is optional
COMPACT_MIN_BYTES = 256 * 1024  # a journal smaller than this is never worth a rewrite
# Compact when the journal outgrows this share of the base: every start parses it whole (a
COMPACT_RATIO = 0.2  # pass over a year's dead links, 11 MB: +0.3 s and +30 MB each start)


@dataclass
class State:
    """What the base and the journal say, as of the base's signature and a journal offset."""

    base: Signature | None = None
    journal: tuple[int, int] | None = None  # (inode, device) of the journal read
    offset: int = 0  # journal bytes applied (whole, checked entries)
    seq: int = 0  # the last entry applied (or the base's `journal` number)
    schema: int = SCHEMA_VERSION
    meta: dict[str, Any] = field(default_factory=dict)
    tasks_crc: int | None = None  # of the base's tasks as read (foldchain.py); None: unknown
    records: dict[int, TaskRecord] = field(default_factory=dict)
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)  # see basefile.Base
    by_id: dict[str, int] = field(default_factory=dict)
    # The documents as TinyDB sees them, from its first read on (None: not made yet).
    docs: dict[str, dict[str, Any]] | None = None

    @property
    def next_doc_id(self) -> int:
        return max(self.records, default=0) + 1

    def doc(self, doc_id: int) -> dict[str, Any]:
        return document(self.records[doc_id], self.extras.get(doc_id))


# The watchlists this process wrote: folded (read afresh) when the interpreter ends cleanly.
_WROTE: set[Path] = set()


def _fold_at_exit() -> None:
    for path in sorted(_WROTE):
        files = WatchlistFiles(path)
        files.wrote = True
        files.fold()


class WatchlistFiles:
    """The base file at `path` and `<path>.journal`, read and written as one state."""

    def __init__(self, path: Path | str) -> None:
        self.path = localfile.followed(Path(path).expanduser())
        self.journal_path = Path(f"{self.path}.journal")
        self.compact_min_bytes = COMPACT_MIN_BYTES
        self.wrote = False  # whether this process committed an entry: it folds on close
        self.fold_on_close = True  # False: thrown away at its end (the demo's), never folded
        self.loaded: tuple[Signature | None, Signature | None] | None = None
        self.thread_lock = threading.RLock()
        self._lock: FileLock | None = None  # made on the first write: reading needs none
        self.state = State()
        self.kept = foldchain.KeptJournal(self)  # the journal the view read, kept open
        self.parsed = 0  # task documents read from base files (what following folds costs)

    # -- reading ------------------------------------------------------------------------

    def _signature(self, path: Path) -> Signature | None:
        try:
            st = path.stat()
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def signatures(self) -> tuple[Signature | None, Signature | None]:
        return self._signature(self.path), self._signature(self.journal_path)

    def refresh(self) -> State:
        """Bring the view up to date: the base if it was replaced, the journal's new end."""
        for _ in range(5):
            base = self._signature(self.path)
            if base != self.state.base or base is None:
                self.state = self._replace_base(base)
            self._read_journal()
            if self._signature(self.path) == base:  # no compaction under our feet
                return self.state
        if self._lock is not None and self._lock.is_locked:  # a writer that takes no lock
            raise WatchlistError(f"watchlist {self.path} keeps changing while being read")
        with self.locked() as state:  # a writer folding again and again waits for one read
            return state

    def _replace_base(self, signature: Signature | None) -> State:
        """The view of a base that another process replaced: the view itself, made the new
        base's, when that is a fold of what it holds (foldchain.py); otherwise the new base
        read, keeping the held record of each document that did not change."""
        held = self.state
        for entry in self.kept.rest() if held.base else ():  # those the fold holds, if one
            self.apply(held, entry)
        adopted = foldchain.adopt(self.path, held.seq, held.tasks_crc) if held.base else None
        self.kept.drop()  # read to the fold's end, or of no use now
        if adopted is None:
            return self._read_base(signature, held.records)
        held.base, held.meta, held.tasks_crc = adopted.base, adopted.meta, adopted.crc
        held.schema, held.journal, held.offset = SCHEMA_VERSION, None, 0
        return held

    def _read_base(self, signature: Signature | None, held: Held | None = None) -> State:
        state = State(base=signature)
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
                base = read_base(self.path, handle, held)
            except OSError as exc:
                raise WatchlistError(f"cannot read watchlist {self.path}: {exc.strerror}") from None
        state.meta = base.meta
        info: dict[str, Any] = next(iter(state.meta.values()), {})
        state.schema = info.get("schema", 1) if isinstance(info.get("schema"), int) else 1
        state.seq = basefile.journal_seq(state.meta)
        state.records, state.extras, state.tasks_crc = base.records, base.extras, base.crc
        self.parsed += len(base.records)
        state.by_id = {record.id: doc_id for doc_id, record in base.records.items()}
        return state

    def _read_journal(self) -> None:
        state = self.state
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
                    self.state = state = self._replace_base(state.base)
                state.journal, state.offset = identity, 0
            raw = os.pread(fd, st.st_size - state.offset, state.offset)
            try:
                tail = journal.read_entries(raw, state.offset)
            except journal.JournalDamaged as exc:
                raise damaged(self.journal_path, str(exc)) from None
            large, raw = len(raw) > 1 << 20, b""  # over 1 MiB: a pass over thousands of tasks
            while tail.entries:  # (each parsed entry dropped once applied)
                self.apply(state, tail.entries.pop(0))
            if large:  # its parse freed tens of MB: given back
                memory.give_back()
            state.offset = tail.end  # a torn tail after it is cut by the next append
            self.kept.keep(fd, state.offset)  # the descriptor is the kept one's now
            fd = -1
        finally:
            if fd != -1:
                os.close(fd)

    def apply(self, state: State, entry: dict[str, Any]) -> None:
        """One journal entry onto the view (entries the base already holds are skipped)."""
        if entry["seq"] <= state.seq:
            return
        puts, dels = entry.get("put", {}), entry.get("del", [])
        if not isinstance(puts, dict) or not isinstance(dels, list):
            raise damaged(self.journal_path, f"entry {entry['seq']} has the wrong shape")
        docs = state.docs
        for key in dels:
            if isinstance(key, str) and key.isdigit():
                doc_id = int(key)
                state.extras.pop(doc_id, None)
                gone = state.records.pop(doc_id, None)
                if docs is not None:
                    docs.pop(str(doc_id), None)
                if gone is not None and state.by_id.get(gone.id) == doc_id:
                    del state.by_id[gone.id]
        for key in list(puts):  # each document dropped once it is a record: the records
            doc = puts.pop(key)  # of a large entry reuse its parse's memory as they are made
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
            if docs is not None:
                docs[key] = state.doc(doc_id)
        state.seq = entry["seq"]

    def docs(self) -> dict[str, dict[str, Any]]:
        """The tasks as TinyDB documents by doc id (made once, then kept up to date)."""
        state = self.state
        if state.docs is None:
            state.docs = {str(k): state.doc(k) for k in state.records}
        return state.docs

    # -- writing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self, timeout: float = LOCK_TIMEOUT) -> Iterator[State]:
        """The view brought up to date under the inter-process lock (re-entrant); waiting
        for it at most `timeout` seconds."""
        # Refused before the lock file is made beside it (checked again under the lock).
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

        with self.thread_lock:
            if self._lock is None:
                check_lock_file(self.path)
                self._lock = FileLock(f"{self.path}.lock", timeout=LOCK_TIMEOUT)
            try:
                self._lock.acquire(timeout=timeout)
            except Timeout:
                raise WatchlistError(
                    f"watchlist {self.path} is locked by another process for over {timeout:.0f} s"
                ) from None
            except OSError as exc:
                raise WatchlistError(f"cannot lock watchlist {self.path}: {exc.strerror}") from None
            try:
                remove_stale_temp_files(self.path, time.time())
                yield self.refresh()
            finally:
                self._lock.release()

    def commit(self, state: State, puts: dict[int, dict[str, Any]], dels: Iterable[int]) -> None:
        """Make these changes (whole documents by doc id) durable, then show them in the
        view. Under the lock."""
        dels = list(dels)
        if not puts and not dels:
            return
        up_to_date = self.loaded == self.signatures()
        entry = {
            "seq": state.seq + 1,
            "put": {str(k): doc for k, doc in puts.items()},
            "del": [str(k) for k in dels],
        }
        if not self.wrote:  # a process that wrote folds at its clean end, closed or not
            self.wrote = True
            if self.fold_on_close:
                if not _WROTE:
                    atexit.register(_fold_at_exit)
                _WROTE.add(self.path)
        if state.base is None or state.schema < SCHEMA_VERSION:
            # No base yet, or one of schema 1 (which knows no journal): a whole base first,
            # so an older starvideos-tui refuses the file instead of missing the journal.
            self.apply(state, entry)
            self.compact(state)
        else:
            try:
                end = journal.append(str(self.journal_path), journal.frame(entry), state.offset)
            except OSError as exc:
                raise WatchlistError(
                    f"cannot save watchlist {self.path}: {exc.strerror or exc}; "
                    "the previous version is intact"
                ) from None
            self.apply(state, entry)
            state.offset = end
            if state.journal is None:  # a journal begun: one kept before is of no use
                st = os.stat(self.journal_path)
                state.journal = (st.st_ino, st.st_dev)
                self.kept.drop()
            base_size = state.base[1] if state.base else 0
            if end > max(self.compact_min_bytes, COMPACT_RATIO * base_size):
                try:
                    self.compact(state)
                except WatchlistError as exc:
                    # The change is durable in the journal already; fold it in next time.
                    log.warning("watchlist not compacted: %s", exc)
        if up_to_date:
            self.loaded = self.signatures()

    def compact(self, state: State) -> None:
        """Write the whole view as a new base, then drop the journal it holds."""
        meta = foldchain.fold_meta(state.seq, state.tasks_crc)
        tasks = ((str(k), state.doc(k)) for k in state.records)  # made as written
        crc = foldchain.TasksCrc()
        try:
            atomic_write(self.path, crc.chunks(base_chunks(meta, tasks)), crc.patch)
        except OSError as exc:
            raise WatchlistError(
                f"cannot save watchlist {self.path}: {exc.strerror}; the previous version is intact"
            ) from None
        meta["1"][foldchain.CRC_KEY] = foldchain.hex_crc(crc.crc)
        state.base, state.schema, state.meta = self._signature(self.path), SCHEMA_VERSION, meta
        state.tasks_crc = crc.crc
        firstscreen.index_base(self.path)  # the next first screen skips its history unread
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal_path)
            fsync_dir(self.path.parent)
        state.journal, state.offset = None, 0
        self.kept.drop()  # the journal folded: its disk space is not held open

    def close(self) -> None:
        self.fold()
        self.kept.drop()

    def leave_journal(self) -> None:
        """This process is being stopped (SIGTERM, Ctrl-C): no fold at its end, which at
        50,000 tasks takes seconds. The journal holds every change durably; the next
        clean end of a writer folds it."""
        self.fold_on_close = False  # first: a commit in another thread adds nothing now
        _WROTE.discard(self.path)

    def fold(self) -> None:
        """On a clean close of a process that wrote: the journal folded into the base, so
        plain TinyDB (its JSONStorage) reads the whole state. A failure costs nothing but
        the fold: the journal still holds every change, and is logged. The fold is never
        worth a wait: another process holding the lock for more than a moment (a writer
        suspended with Ctrl-Z) leaves it to the next clean end."""
        if not (self.wrote and self.fold_on_close) or not self.journal_path.exists():
            return
        try:
            with self.locked(timeout=FOLD_LOCK_TIMEOUT) as state:
                if state.journal is not None:
                    up_to_date = self.loaded == self.signatures()
                    self.compact(state)
                    if up_to_date:
                        self.loaded = self.signatures()
        except (WatchlistError, OSError) as exc:
            log.info("watchlist journal not folded on close: %s", exc)  # it is still whole
