"""The watchlist's journal: what changed since the base file was written, one framed entry
per committed transaction, appended and fsynced.

An entry is one line: `J1 <length> <crc32> <json>\\n`, the JSON being
`{"seq": n, "put": {"<doc id>": {...}}, "del": ["<doc id>", ...]}`. A crash can leave only
the last entry torn (short, or with a wrong checksum, and nothing after it): it was never
acknowledged, so it is dropped, and cut off before the next append. A bad entry with
valid ones after it is damage, not a crash: the file is refused, never rewritten.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starvideos_tui.core import textsafe
from starvideos_tui.storage.basefile import fsync_dir

MAGIC = b"J1 "


def frame(entry: dict[str, Any]) -> bytes:
    body = textsafe.encode(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
    return MAGIC + f"{len(body)} {zlib.crc32(body):08x} ".encode() + body + b"\n"


class JournalDamaged(Exception):
    """A bad entry with more after it: not a torn tail."""


@dataclass
class Tail:
    """The entries read from a journal, and where the good bytes end."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    end: int = 0  # offset after the last whole, checked entry; bytes after it are torn


def read_entries(raw: bytes, start: int = 0) -> Tail:
    """Parse `raw` (the journal from offset `start`) into whole entries."""
    tail = Tail(end=start)
    at = 0
    while at < len(raw):
        entry, size = _one(raw, at)
        if entry is None:
            # A bad or short entry: a torn tail if it is the last thing in the file.
            newline = raw.find(b"\n", at)
            if newline != -1 and newline + 1 < len(raw):
                raise JournalDamaged(f"entry at byte {start + at} is damaged")
            break
        tail.entries.append(entry)
        at += size
        tail.end = start + at
    return tail


def _one(raw: bytes, at: int) -> tuple[dict[str, Any] | None, int]:
    if not raw.startswith(MAGIC, at):
        return None, 0
    head_end = raw.find(b" ", at + len(MAGIC))
    crc_end = raw.find(b" ", head_end + 1) if head_end != -1 else -1
    if crc_end == -1:
        return None, 0
    try:
        length = int(raw[at + len(MAGIC) : head_end])
        crc = int(raw[head_end + 1 : crc_end], 16)
    except ValueError:
        return None, 0
    body = raw[crc_end + 1 : crc_end + 1 + length]
    if len(body) != length or raw[crc_end + 1 + length : crc_end + 2 + length] != b"\n":
        return None, 0
    if zlib.crc32(body) != crc:
        return None, 0
    try:
        entry = textsafe.loads(body)
    except ValueError:
        return None, 0
    if not isinstance(entry, dict) or not isinstance(entry.get("seq"), int):
        return None, 0
    return entry, crc_end + 2 + length - at


def append(path: str, data: bytes, good_end: int) -> int:
    """Append `data` after the first `good_end` bytes (dropping a torn tail), fsynced.
    On failure the journal is cut back to `good_end` and the OSError raised. Returns the
    new end."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        created = False
    except FileNotFoundError:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        created = True
    try:
        try:
            if os.fstat(fd).st_size != good_end:
                os.ftruncate(fd, good_end)
            written = os.pwrite(fd, data, good_end)
            if written != len(data):
                raise OSError(28, "short write to the journal")  # ENOSPC's number
            # fdatasync: the entry and the file's new length reach the disk (what reading
            # it back needs), without waiting on its times as fsync would.
            getattr(os, "fdatasync", os.fsync)(fd)
            if created:  # the new file's name must survive a crash too
                fsync_dir(Path(path).parent)
        except OSError:
            try:
                os.ftruncate(fd, good_end)
                os.fsync(fd)
            except OSError:
                pass
            raise
        return good_end + len(data)
    finally:
        os.close(fd)
