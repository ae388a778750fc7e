"""The watchlist's base file: TinyDB's layout, checked when read, written whole and
atomically (temp file, fsync, rename, fsync of the folder), never in place."""

from __future__ import annotations

import contextlib
import json
import operator
import os
import re
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from starvideos_tui.core import textsafe
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.models import TaskRecord

SCHEMA_VERSION = 2  # 2: a base with a journal beside it; 1 (no journal) is read too
TASKS = "tasks"
META = "meta"
TASKS_LINE = b'"tasks":{\n'  # the second line of a base in our layout
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


@dataclass
class Base:
    """What a base file holds, checked: its meta table and its tasks by document id."""

    meta: dict[str, Any] = field(default_factory=dict)
    records: dict[int, TaskRecord] = field(default_factory=dict)
    # The keys of documents that this version does not know (a newer one wrote them),
    # by document id: kept to be written back, while the documents themselves are not
    # kept (a record is half the memory of its parsed document beside it).
    extras: dict[int, dict[str, Any]] = field(default_factory=dict)
    # The CRC-32 of the file's bytes after its first line (the meta): its tasks as read.
    # None for a file not in our layout (it was parsed whole).
    crc: int | None = None


Held = Mapping[int, TaskRecord]  # the records a view holds, by document id

KNOWN_KEYS = frozenset(TaskRecord.__dataclass_fields__)  # a record's fields
_DOC_LINE_RE = re.compile(rb'"(0|[1-9][0-9]*)":')


def read_base(path: Path, handle: BinaryIO, held: Held | None = None) -> Base:
    """Read and check the untrusted base file open at `handle`; where `held` (the records
    a view holds) has a record equal to a document's, that very record is kept, not a new
    one beside it: a base another process rewrote costs no second copy of 50,000 records.

    A file in the layout `encode_base` writes is read a line (a document) at a time, so
    the whole file and its whole parse are never in memory at once; any other layout (an
    older version's, a hand edit, damage) is parsed whole. Every task entry is checked
    here, for reads and writes alike, so a file that `load` refuses is never rewritten by
    a transaction either.
    """
    base = _read_lines(path, handle, held)
    if base is None:
        handle.seek(0)
        base = parse_base(path, handle.read(), held)
    return base


def read_head(path: Path, handle: BinaryIO) -> dict[str, Any] | None:
    """The checked meta of a base in our layout, read from its first two lines (the
    handle then at the first document); None when the file is not in that layout."""
    return parse_head(path, handle.readline(), handle.readline())


def parse_head(path: Path, head: bytes, tasks: bytes) -> dict[str, Any] | None:
    """The checked meta of a base whose first two lines are `head` and `tasks` (each
    with its newline); None when they are not our layout's. WatchlistError for a meta
    this version cannot read (check_meta)."""
    if not (head.startswith(b'{"meta":') and head.endswith(b",\n")) or tasks != TASKS_LINE:
        return None
    try:
        tables = textsafe.loads(head[:-2] + b"}")
    except ValueError:
        return None
    if not isinstance(tables, dict) or tables.keys() != {META}:
        return None
    return check_meta(path, tables[META])


def _read_lines(path: Path, handle: BinaryIO, held: Held | None = None) -> Base | None:
    """The base read a line at a time, or None when it is not in our layout (or not
    valid JSON: the whole parse names what is wrong)."""
    meta = read_head(path, handle)
    if meta is None:
        return None
    base = Base(meta=meta)
    more, seen = True, False  # whether a document may follow (after a comma); any did
    crc = zlib.crc32(TASKS_LINE)
    for line in handle:
        crc = zlib.crc32(line, crc)
        if line == b"}}":  # with no newline after it: the end of the file
            break
        if line == b"\n":  # the blank line of an empty table
            continue
        match = _DOC_LINE_RE.match(line)
        if match is None or not more:
            return None
        more, seen = line.endswith(b",\n"), True
        try:
            doc = textsafe.loads(line[match.end() : -2 if more else None])
        except ValueError:
            return None
        _check_document(path, base, match.group(1).decode(), doc, held)
    else:
        return None  # the file ends inside the table
    if seen and more:
        return None  # a comma before the end
    base.crc = crc
    return base


def parse_base(path: Path, raw: bytes, held: Held | None = None) -> Base:
    """Check the bytes of a whole base file, whatever its layout."""
    if not raw.strip():
        raise damaged(path, "the file is empty")
    try:
        data = textsafe.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise damaged(path, f"not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise damaged(path, "expected a JSON object at the top")
    meta = data.get(META, {})
    tasks = data.get(TASKS, {})
    if not isinstance(meta, dict) or not isinstance(tasks, dict):
        raise damaged(path, "its tables are not JSON objects")
    base = Base(meta=check_meta(path, meta))
    for key, doc in tasks.items():
        _check_document(path, base, key, doc, held)
    base.records = dict(sorted(base.records.items()))
    return base


def journal_seq(meta: Mapping[str, Any]) -> int:
    """The last journal entry a base holds (its meta's `journal`); 0 when it says none."""
    info = next(iter(meta.values()), None)
    seq = info.get("journal", 0) if isinstance(info, dict) else 0
    return seq if isinstance(seq, int) else 0


def check_meta(path: Path, meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        raise damaged(path, "its tables are not JSON objects")
    for key, doc in meta.items():
        if not isinstance(doc, dict) or not DOC_ID_RE.fullmatch(key):
            raise damaged(path, f"meta entry {key[:20]!r} is not a document")
        version = doc.get("schema")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise WatchlistError(
                f"watchlist {path} was written by a newer starvideos-tui "
                f"(schema {version}, this one reads {SCHEMA_VERSION}); upgrade to use it"
            )
    return meta


def _check_document(path: Path, base: Base, key: str, doc: Any, held: Held | None) -> None:
    if not isinstance(doc, dict) or not DOC_ID_RE.fullmatch(key):
        raise damaged(path, f"task entry {key[:20]!r} is not a document")
    try:
        record = TaskRecord.from_doc(doc)
    except (TypeError, ValueError) as exc:
        raise damaged(
            path, f"task entry {key[:20]!r} has the wrong shape: {str(exc)[:80]}"
        ) from None
    doc_id = int(key)
    same = held.get(doc_id) if held is not None else None
    base.records[doc_id] = same if same is not None and _same(same, record) else record
    keep_unknown_keys(base.extras, doc_id, doc)


_FIELDS = operator.attrgetter(*TaskRecord.__dataclass_fields__)
_NESTED = operator.attrgetter(  # the fields that may hold containers
    *(
        name
        for name, spec in TaskRecord.__dataclass_fields__.items()
        if any(word in str(spec.type) for word in ("dict", "tuple", "list"))
    )
)


def _same(held: TaskRecord, record: TaskRecord) -> bool:
    """Whether `held` may stand for `record`: equal, and not only as numbers are (a
    media fact 1920 is not 1920.0: the held record would be written back so)."""
    return (
        held == record
        and list(map(type, _FIELDS(held))) == list(map(type, _FIELDS(record)))
        and all(map(_alike, _NESTED(held), _NESTED(record)))
    )


def _alike(a: Any, b: Any) -> bool:
    """Whether two equal values are of the same types all the way down."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return all(_alike(value, b[key]) for key, value in a.items())
    if isinstance(a, (tuple, list)):
        return all(map(_alike, a, b))
    return True


def keep_unknown_keys(extras: dict[int, dict[str, Any]], doc_id: int, doc: dict[str, Any]) -> None:
    """Note in `extras` the keys of `doc` that a record does not hold, if any."""
    if doc.keys() <= KNOWN_KEYS:
        extras.pop(doc_id, None)
    else:
        extras[doc_id] = {k: v for k, v in doc.items() if k not in KNOWN_KEYS}


def document(record: TaskRecord, extras: dict[str, Any] | None) -> dict[str, Any]:
    """The stored document of `record`, with the keys a newer version wrote beside it."""
    doc = record.to_doc()
    if extras:
        doc.update(extras)
    return doc


def base_chunks(meta: dict[str, Any], tasks: Iterable[tuple[str, Any]]) -> Iterator[bytes]:
    """The bytes `encode_base({TASKS: dict(tasks), META: meta})` gives, a few hundred
    documents at a time: a fold of 50,000 tasks never holds every document, nor the
    whole file, at once (`tasks` may make each document as it is asked for)."""
    head = "{" + f"{_dump(META)}:{_dump(meta)},\n{_dump(TASKS)}:{{\n"
    batch: list[str] = []
    for key, doc in tasks:
        batch.append(f"{_dump(key)}:{_dump(doc)}")
        if len(batch) == _CHUNK_DOCS:
            yield textsafe.encode(head + ",\n".join(batch))
            head, batch = ",\n", []
    last = head + ",\n".join(batch) if batch or head != ",\n" else ""
    yield textsafe.encode(last + "\n}}")


_CHUNK_DOCS = 256


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
    return textsafe.encode("{" + ",\n".join(tables) + "}")


def peek_base(raw: bytes, count: int) -> tuple[dict[str, Any], list[tuple[int, TaskRecord]]] | None:
    """The meta table and the first `count` task documents of a base that `encode_base`
    wrote, parsing only those lines; None for any other layout (read it whole then).
    Nothing here is a verdict on the rest of the file: `parse_base` checks it all."""
    lines = raw.split(b"\n", count + 2)[: count + 2]  # `raw` may be the file's head only
    if len(lines) < 3 or not lines[0].startswith(b'{"meta":') or lines[1] != b'"tasks":{':
        return None
    try:
        meta = textsafe.loads(b"{" + lines[0][1:].rstrip(b",") + b"}")[META]
        numbered = []
        for line in lines[2 : 2 + count]:
            if not line.startswith(b'"') or not line.endswith((b"},", b"}")):
                break  # the end of the table, or a line cut by the end of the head
            ((key, doc),) = textsafe.loads(b"{" + line.rstrip(b",") + b"}").items()
            numbered.append((int(key), TaskRecord.from_doc(doc)))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(meta, dict):
        return None
    return meta, numbered


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def check_lock_file(path: Path) -> None:
    """Fail at once, naming the cause, where the watchlist's lock file cannot even be
    made: filelock would retry for its timeout and then blame another process."""
    lock = f"{path}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise WatchlistError(
            f"cannot lock watchlist {path}: cannot create {lock}: {exc.strerror}"
        ) from None
    os.close(fd)


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


def atomic_write(
    path: Path,
    payload: bytes | Iterable[bytes],
    finish: Callable[[int], None] | None = None,
    sync: bool = True,
) -> None:
    """Replace `path` with `payload` (or its chunks, written as they come) so that a crash
    leaves the old or the new file; `finish` is given the written file's descriptor
    before it is synced and renamed (to patch in what only the whole file tells). Without
    `sync`, a hint whose loss costs nothing: renamed whole, never synced."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if isinstance(payload, bytes):
                handle.write(payload)
            else:
                for chunk in payload:
                    handle.write(chunk)
            handle.flush()
            if finish is not None:
                finish(handle.fileno())
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync:
        fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
