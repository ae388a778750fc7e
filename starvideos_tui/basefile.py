"""The watchlist's base file: TinyDB's layout, checked when read, written whole and
atomically (temp file, fsync, rename, fsync of the folder), never in place."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from starvideos_tui.errors import StarVideosError
from starvideos_tui.models import TaskRecord

SCHEMA_VERSION = 2  # 2: a base with a journal beside it; 1 (no journal) is read too
TASKS = "tasks"
META = "meta"
# A temp file this old is a leftover: a save takes well under a second, and under the lock
# only one writer saves at a time.
STALE_TEMP_AGE = 600.0
# TinyDB's document ids as its table keys: str(int), which int() and TinyDB both take back.
DOC_ID_RE = re.compile(r"0|[1-9][0-9]*")

Signature = tuple[int, int, int]


class WatchlistError(StarVideosError):
    """The watchlist cannot be read or saved; the message names the file and why."""


def damaged(path: Path | str, why: str) -> WatchlistError:
    return WatchlistError(
        f"watchlist {path} is damaged ({why}); it was left untouched - "
        "move it aside or fix it, then run again"
    )


def parse_base(path: Path, raw: bytes) -> tuple[dict[str, Any], list[tuple[int, TaskRecord]]]:
    """Check the untrusted bytes of a base file: TinyDB's table dict and the records,
    numbered by document id, in order.

    Every task entry is converted here, for reads and writes alike, so a file that `load`
    refuses is never rewritten by a transaction either.
    """

    def refuse(why: str) -> WatchlistError:
        return damaged(path, why)

    if not raw.strip():
        raise refuse("the file is empty")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise refuse(f"not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise refuse("expected a JSON object at the top")
    meta = data.get(META, {})
    tasks = data.get(TASKS, {})
    if not isinstance(meta, dict) or not isinstance(tasks, dict):
        raise refuse("its tables are not JSON objects")
    for key, doc in meta.items():
        if not isinstance(doc, dict) or not DOC_ID_RE.fullmatch(key):
            raise refuse(f"meta entry {key[:20]!r} is not a document")
        version = doc.get("schema")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise WatchlistError(
                f"watchlist {path} was written by a newer starvideos-tui "
                f"(schema {version}, this one reads {SCHEMA_VERSION}); upgrade to use it"
            )
    numbered: list[tuple[int, TaskRecord]] = []
    for key, doc in tasks.items():
        if not isinstance(doc, dict) or not DOC_ID_RE.fullmatch(key):
            raise refuse(f"task entry {key[:20]!r} is not a document")
        try:
            numbered.append((int(key), TaskRecord.from_doc(doc)))
        except (TypeError, ValueError) as exc:
            raise refuse(f"task entry {key[:20]!r} has the wrong shape: {str(exc)[:80]}") from None
    numbered.sort(key=lambda item: item[0])
    return data, numbered


def encode_base(data: dict[str, Any]) -> bytes:
    """The file's bytes: valid JSON (TinyDB reads it), the meta table on the first line and
    then one document per line, made one document at a time.

    One json.dumps of 10,000 documents is a single C call that holds the GIL for about a
    tenth of a second, freezing the TUI's loop even though the save runs in a thread of
    its own; a call per document lets the loop run between them. A document per line lets
    `peek_base` read the first screen's documents without parsing the rest."""
    meta = data.get(META, {})
    tables = [f"{_dump(META)}:{_dump(meta)}"]
    for name, table in data.items():
        if name == META:
            continue
        if not isinstance(table, dict):  # not TinyDB's shape: encode as it is
            tables.append(f"{_dump(name)}:{_dump(table)}")
            continue
        docs = ",\n".join(f"{_dump(key)}:{_dump(doc)}" for key, doc in table.items())
        tables.append(f"{_dump(name)}:{{\n{docs}\n}}")
    return ("{" + ",\n".join(tables) + "}").encode()


def peek_base(raw: bytes, count: int) -> tuple[dict[str, Any], list[tuple[int, TaskRecord]]] | None:
    """The meta table and the first `count` task documents of a base that `encode_base`
    wrote, parsing only those lines; None for any other layout (read it whole then).
    Nothing here is a verdict on the rest of the file: `parse_base` checks it all."""
    lines = raw.split(b"\n", count + 2)[: count + 2]  # `raw` may be the file's head only
    if len(lines) < 3 or not lines[0].startswith(b'{"meta":') or lines[1] != b'"tasks":{':
        return None
    try:
        meta = json.loads(b"{" + lines[0][1:].rstrip(b",") + b"}")[META]
        numbered = []
        for line in lines[2 : 2 + count]:
            if not line.startswith(b'"') or not line.endswith((b"},", b"}")):
                break  # the end of the table, or a line cut by the end of the head
            ((key, doc),) = json.loads(b"{" + line.rstrip(b",") + b"}").items()
            numbered.append((int(key), TaskRecord.from_doc(doc)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(meta, dict):
        return None
    return meta, numbered


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def remove_stale_temp_files(path: Path, now: float) -> None:
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


def atomic_write(path: Path, payload: bytes) -> None:
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
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
