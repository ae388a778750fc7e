"""Following another process's fold without reading its documents.

A fold (files.py: the journal written into a new base, renamed over the old) changes the
base's form, not what it holds. A process holding a view of 50,000 tasks that read the
new base whole would hold two copies of them while it reads (the old records are still
shown) and spend a second of CPU on it, at the end of every `watch` beside the TUI.

So a fold says what it was made of, in the base's meta:

    {"1": {"schema": 2, "journal": N, "folded_from": "<crc>", "tasks_crc": "<crc>"}}

`journal`: the last entry it holds; `folded_from`: the CRC-32 of the tasks of the base
it was folded onto, as its writer read them (computed from the bytes, never copied from
a meta); `tasks_crc`: the CRC-32 of its own bytes after its first line (the meta), patched
in once the file is written. A view that holds exactly that base (the same CRC of its
tasks) with every entry up to N applied holds what the new base holds, so it takes the
new base as its own (`adopt`) after checking the new file's bytes against `tasks_crc`
(a CRC-32 of 55 MB: about 20 ms, no parse). Anything else (a missed entry, a second fold,
a hand edit, a restore, a file of an older version or of plain TinyDB) is read whole,
keeping the held record of each document that did not change (basefile.read_base).

The entries a fold holds that the view has not read yet (the last pass `watch` wrote
just before it folded at its exit) are read from the journal it folded: the view keeps
that file open (`KeptJournal`), and an unlinked file is still whole behind its descriptor.
The fold held the lock from reading that journal to removing it, so nothing was added to
it after: it holds every entry up to the fold's `journal`, and only those.
"""

from __future__ import annotations

import os
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starvideos_tui.core import localfile
from starvideos_tui.storage import journal
from starvideos_tui.storage.basefile import SCHEMA_VERSION, TASKS_LINE, Signature, read_head

CRC_KEY = "tasks_crc"
FROM_KEY = "folded_from"
_PLACEHOLDER = "00000000"
_READ = 1 << 20


def hex_crc(crc: int) -> str:
    return f"{crc:08x}"


def fold_meta(seq: int, folded_from: int | None) -> dict[str, Any]:
    """The meta of a base folded up to entry `seq` onto a base whose tasks' CRC is
    `folded_from` (None: not known; no reader adopts it then)."""
    info: dict[str, Any] = {"schema": SCHEMA_VERSION, "journal": seq}
    if folded_from is not None:
        info[FROM_KEY] = hex_crc(folded_from)
    info[CRC_KEY] = _PLACEHOLDER
    return {"1": info}


class TasksCrc:
    """The CRC-32 of a base's bytes after its first line, taken as they are written, and
    patched into the placeholder of its meta line at the end (`patch`)."""

    def __init__(self) -> None:
        self.crc = 0
        self._head: bytes | None = None  # the first line, once it was passed

    def chunks(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        pending = b""
        for chunk in chunks:
            if self._head is None:
                pending += chunk
                end = pending.find(b"\n")
                if end != -1:
                    self._head = pending[: end + 1]
                    self.crc = zlib.crc32(pending[end + 1 :])
            else:
                self.crc = zlib.crc32(chunk, self.crc)
            yield chunk

    def patch(self, fd: int) -> None:
        if self._head is None:
            raise OSError("the base written has no meta line")
        at = self._head.index(f'"{CRC_KEY}":"{_PLACEHOLDER}"'.encode()) + len(CRC_KEY) + 4
        if os.pwrite(fd, hex_crc(self.crc).encode(), at) != len(_PLACEHOLDER):
            raise OSError(28, "short write to the base")


@dataclass
class Adopted:
    """A new base that holds what the view holds: its signature, meta and tasks' CRC."""

    base: Signature
    meta: dict[str, Any]
    crc: int


def adopt(path: Path, seq: int, crc: int | None) -> Adopted | None:
    """The base at `path`, if it is a fold of the base whose tasks' CRC is `crc` up to
    entry `seq` (what the view holds), checked against its own CRC; None when it must be
    read. A base of a newer schema raises WatchlistError (as reading it would)."""
    if crc is None:
        return None
    try:
        handle = localfile.open_binary(path)
    except OSError:
        return None  # gone or unreadable: reading it says what is wrong
    with handle:
        st = os.fstat(handle.fileno())
        meta = read_head(path, handle)
        info = next(iter(meta.values()), None) if meta is not None else None
        if (
            meta is None
            or len(meta) != 1
            or not isinstance(info, dict)
            or info.get("schema") != SCHEMA_VERSION
            or info.get("journal") != seq
            or type(info.get("journal")) is not int
            or info.get(FROM_KEY) != hex_crc(crc)
            or not isinstance(info.get(CRC_KEY), str)
        ):
            return None
        own = zlib.crc32(TASKS_LINE)
        while chunk := handle.read(_READ):
            own = zlib.crc32(chunk, own)
    if info[CRC_KEY] != hex_crc(own):
        return None  # changed after its fold (a hand edit keeping the meta line)
    return Adopted((st.st_ino, st.st_size, st.st_mtime_ns), meta, own)


class KeptJournal:
    """The journal file a view last read, kept open with how far the view applied it."""

    def __init__(self, owner: object) -> None:
        self._owner = owner
        self._close: Callable[[], None] | None = None  # closes the descriptor, once
        self._fd = -1
        self.offset = 0

    def keep(self, fd: int, offset: int) -> None:
        """Keep `fd` (its owner's now) instead of the file kept before."""
        self.drop()
        self._fd, self.offset = fd, offset
        self._close = weakref.finalize(self._owner, os.close, fd)  # at the latest

    def drop(self) -> None:
        if self._close is not None:
            self._close()
        self._close, self._fd, self.offset = None, -1, 0

    def rest(self) -> list[dict[str, Any]]:
        """The whole entries after `offset` (none when there is no file kept, or when
        they are damaged: the base is read whole then)."""
        if self._close is None:
            return []
        try:
            size = os.fstat(self._fd).st_size
            raw = os.pread(self._fd, max(0, size - self.offset), self.offset)
            return journal.read_entries(raw, self.offset).entries
        except (OSError, journal.JournalDamaged):
            return []
