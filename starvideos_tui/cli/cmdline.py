"""What every command shares, below them all: reading ids and texts from the command line,
and printing lines, tables and JSON (docs/contract.md's outside). No network, no Textual."""

from __future__ import annotations

import getpass
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.eta import RunTimes
from starvideos_tui.core.formatting import (
    ago,
    display_width,
    note,
    pad,
    seen,
    short_id,
    shorten,
    video_length,
)
from starvideos_tui.core.models import TaskRecord, TaskStatus, validate_task_id
from starvideos_tui.core.publicjson import public_of
from starvideos_tui.core.textsafe import dumps_ascii
from starvideos_tui.core.vocabulary import final_look, status_word

MAX_STDIN_IDS = 16_000_000  # characters of ids read from stdin (`add -`): 500,000 ids
EMPTY = "the watchlist is empty: add task ids with 'starvideos-tui add ID'"
MAX_KEY = 4_000  # characters of a key read by `login`: a key is one short line


def text_argument(text: str, flag: str) -> str:
    """A command-line text as the user typed it. Under an ASCII locale Python decodes the
    UTF-8 bytes of "猫" or "…" into surrogates, which no API request can carry: they are
    read as the UTF-8 they are. Bytes that are no UTF-8 at all (a Latin-1 terminal's "é")
    are refused, naming `flag`: sent, they would be a prompt nobody wrote."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        return text
    try:
        raw = os.fsencode(text)
    except UnicodeEncodeError:  # not from the command line's bytes: half a character
        raise UsageError(f"{flag} is not text (it holds a lone surrogate)") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{flag} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at byte {exc.start})"
        ) from None


def ids_from(args: Sequence[str]) -> list[str]:
    """Validate every id first, so one bad id writes nothing."""
    ids: list[str] = []
    for arg in args:
        if arg == "-":
            ids += _read_stdin(MAX_STDIN_IDS, "task ids").replace(",", " ").split()
        else:
            ids.append(arg)
    if not ids:
        raise UsageError("no task ids given")
    for task_id in ids:
        validate_task_id(task_id)  # InvalidTaskId is a UsageError
    return list(dict.fromkeys(ids))


def _read_stdin(limit: int, what: str) -> str:
    """All of stdin, refused past `limit` characters (`add - < /dev/zero` never ends)."""
    if sys.stdin is None:
        raise UsageError(f"stdin is closed: no {what} to read")
    try:
        text = sys.stdin.read(limit + 1)
    except UnicodeDecodeError:
        raise UsageError(f"stdin is not text in {sys.stdin.encoding}: no {what} in it") from None
    if len(text) > limit:
        raise UsageError(f"stdin holds over {limit:,} characters of {what}")
    return text


def read_key() -> str:
    if sys.stdin is None:
        raise UsageError("stdin is closed: run login in a terminal, or pipe the key in")
    if sys.stdin.isatty():
        key = getpass.getpass("StarVideos API key (not echoed): ")
    else:
        try:
            key = sys.stdin.readline(MAX_KEY + 1)
        except UnicodeDecodeError:
            raise UsageError("the key on stdin is not text: a key is ASCII") from None
        if len(key) > MAX_KEY:
            raise UsageError(f"the key on stdin is over {MAX_KEY:,} characters: a key is short")
    key = key.strip()
    if not key:
        raise UsageError("no API key given")
    if not key.isascii() or any(c.isspace() or not c.isprintable() for c in key):
        raise UsageError("the API key must be one word of printable ASCII characters")
    return key


def out(line: str) -> None:
    print(line, flush=True)


def say_plain(line: str) -> None:
    """A line of a command's story on stderr, unprefixed (stdout is carrying JSON)."""
    print(line, file=sys.stderr, flush=True)


def json_array(items: Iterable[object]) -> str:
    """A JSON array with one item per line, each compact and ASCII only (textsafe.dumps_ascii:
    orjson, three times faster than json's C encoder; an indented dump would run json's
    pure-Python encoder), and still readable and greppable."""
    body = ",\n".join(dumps_ascii(item) for item in items)
    return f"[\n{body}\n]" if body else "[]"


def render_table(records: Iterable[TaskRecord], now: float, width: int | None = 80) -> str:
    """The watchlist as a table; the NOTE column takes what `width` leaves (at least 16
    columns), or is never cut when `width` is None (output that is not a terminal)."""
    return "\n".join(table_lines(records, now, width))


def table_lines(records: Iterable[TaskRecord], now: float, width: int | None) -> Iterator[str]:
    """render_table's lines, one at a time: its header, then a line per record."""
    yield f"{'ID':<30}  {'STATUS':<12} {'AGE':>4} {'LEN':>4} {'CHECKED':>7}  NOTE"
    for r in records:
        age = ago(now - r.created) if r.created else "-"
        checked = seen(r, now)
        line = (
            f"{pad(short_id(r.id, 30), 30)}  {pad(shorten(status_word(r), 12), 12)} {age:>4} "
            f"{video_length(r):>4} {checked:>7}  "
        )
        text = note(r)
        if width is not None:
            text = shorten(text, max(16, width - display_width(line)))
        yield line + text


def table_width() -> int | None:
    """The terminal's width when stdout is one (COLUMNS overrides); None for a pipe or a
    file, where nothing needs cutting."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def record_json(record: TaskRecord, times: RunTimes, now: float) -> dict[str, object]:
    """A task as `list --json` (and `create --json`, `wait --json`) give it: the record's
    public fields, its `eta` and `stalled`, and as `state` the word the TUI shows for it
    (`status` stays the API's own)."""
    kind = record.kind
    if kind.is_final:
        return finished_json(record.field_values(), kind)
    item = record.public_json()  # one dict filled in, in the order of the fields' merge
    item.update(times.fields(record, now))
    item["state"] = status_word(record)
    return item


def finished_json(values: Mapping[str, Any], kind: TaskStatus) -> dict[str, object]:
    """record_json of a finished task (`kind` completed or failed), from its checked field
    values alone: no estimate to make, and its state is what its video became."""
    item: dict[str, object] = public_of(values)
    item["eta"], item["stalled"] = None, False  # what RunTimes.estimate says of it
    item["state"] = final_look(kind, values.get("local_path"), values.get("download_error")).word
    return item


def print_records(
    records: Sequence[TaskRecord],
    as_json: bool,
    history: Iterable[TaskRecord] | None = None,
) -> bool:
    """The records as a table or as JSON; `eta` and `stalled` in the JSON come from the
    run times of `history` (default: the records themselves; the whole watchlist when
    only some are printed). Whether a task was printed; an empty table of an empty
    watchlist says so on stderr."""
    if as_json:
        now = time.time()
        times = RunTimes.of(records if history is None else history)
        out(json_array(record_json(r, times, now) for r in records))
    elif records:
        out(render_table(records, time.time(), table_width()))
    else:
        print(EMPTY, file=sys.stderr)
    return bool(records)
