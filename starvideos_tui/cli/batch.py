"""`create --from FILE`: a file of create requests, read and checked whole before anything
is sent, and matched against what this watchlist already submitted. No network here.

A file is JSON Lines (one create body per line, api.md's field names, plus an optional
`label`) or CSV with a header row of the same names (several URLs in one cell are
separated by spaces). It is JSON Lines when its first character that is not blank is `{`.

A line was already submitted when the watchlist holds a task made from the same body:
the k-th line with a given body matches the k-th such task, so a file may ask for the
same shot twice and a re-run still submits nothing twice.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any, BinaryIO

from starvideos_tui.core import localfile
from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.models import MODEL_NAME
from starvideos_tui.core.textsafe import lone_surrogate
from starvideos_tui.engine.submit import CreateRequest, Ledger, Order, fingerprint
from starvideos_tui.engine.submit import already as already  # where tests and faces look
from starvideos_tui.engine.submit import submitted as submitted

Line = Order  # one request of the file
Sending = Ledger  # <watchlist>.sending, held by one run at a time

FIELDS = {
    "model": "model",
    "prompt": "prompt",
    "duration": "duration",
    "ratio": "ratio",
    "referenceImages": "reference_images",
    "first_image": "first_image",
    "last_image": "last_image",
    "referenceVideos": "reference_videos",
}
LISTS = ("referenceImages", "referenceVideos")
MAX_LINES = 10_000
MAX_LINE_BYTES = 1_000_000  # a request is a prompt and a few URLs: far less
MAX_FILE_BYTES = 32_000_000  # MAX_LINES requests of 3 kB each, with room to spare


def read_file(name: str) -> str:
    """The text of the file `name` ('-': stdin). Only a regular file is opened (a FIFO
    or a device is refused at once), and reading stops past MAX_LINE_BYTES on one line
    or MAX_FILE_BYTES in all, so /dev/zero or an endless pipe is refused, not read until
    memory runs out."""
    shown = "stdin" if name == "-" else name
    if name == "-":
        if sys.stdin is None:
            raise UsageError("--from -: stdin is closed")
        data = _read_capped(sys.stdin.buffer, shown)
    else:
        try:
            with localfile.open_binary(Path(name).expanduser()) as handle:
                data = _read_capped(handle, shown)
        except OSError as exc:
            raise UsageError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(shown, bytes(data), exc) from None


def _read_capped(handle: BinaryIO, name: str) -> bytes:
    data = bytearray()
    line_start = 0  # where the line being read began
    while chunk := handle.read(1 << 16):
        searched = len(data)
        data += chunk
        while True:
            newline = data.find(b"\n", max(searched, line_start))
            if (newline if newline != -1 else len(data)) - line_start > MAX_LINE_BYTES:
                number = data.count(b"\n", 0, line_start) + 1
                raise UsageError(
                    f"{name}, line {number}: over {localfile.size_words(MAX_LINE_BYTES)}; "
                    "a request is far shorter"
                )
            if newline == -1:
                break
            line_start = newline + 1
        if len(data) > MAX_FILE_BYTES:
            raise UsageError(
                f"{name}: over {localfile.size_words(MAX_FILE_BYTES)}; split it into smaller files"
            )
    return bytes(data)


def read_requests(text: str, name: str) -> list[Line]:
    """Every request of the file, each checked against api.md's rules; UsageError naming
    the first bad line (`name` is how the file is called in the message)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise UsageError(f"{name}: no requests in it")
    rows = _json_lines(text, name) if text.lstrip()[:1] == "{" else _csv_rows(text, name)
    if not rows:
        raise UsageError(f"{name}: no requests in it")
    if len(rows) > MAX_LINES:
        raise UsageError(f"{name}: {len(rows)} requests; at most {MAX_LINES} in one file")
    lines: list[Line] = []
    seen: Counter[str] = Counter()
    for number, fields in rows:
        request, label = _request_of(fields, f"{name}, line {number}")
        key = fingerprint(request.to_json())
        lines.append(Line(number, request, label, key, seen[key]))
        seen[key] += 1
    return lines


def _json_lines(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            fields = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{name}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(fields, dict):
            raise UsageError(f"{name}, line {number}: expected a JSON object")
        rows.append((number, fields))
    return rows


def _csv_rows(text: str, name: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise UsageError(f"{name}, line 1: {exc}") from None
    if "prompt" not in header:
        raise UsageError(f"{name}: neither JSON Lines nor a CSV with a header row naming 'prompt'")
    if len(set(header)) != len(header):
        raise UsageError(f"{name}, line 1: a column is named twice")
    rows = []
    try:
        for cells in reader:
            number = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise UsageError(
                    f"{name}, line {number}: {len(cells)} cells, the header names {len(header)}"
                )
            fields: dict[str, Any] = {}
            for column, cell in zip(header, cells, strict=True):
                if not cell.strip():
                    continue  # an empty cell: the field is not given
                if column in LISTS:
                    fields[column] = cell.split()
                elif column == "duration":
                    fields[column] = int(cell) if cell.strip().isdigit() else cell.strip()
                else:
                    fields[column] = cell
            rows.append((number, fields))
    except csv.Error as exc:
        raise UsageError(f"{name}, line {reader.line_num}: {exc}") from None
    return rows


def not_utf8(name: str, data: bytes, exc: UnicodeDecodeError) -> UsageError:
    """The refusal of a request file that is not UTF-8, naming the line and the byte."""
    line = data.count(b"\n", 0, exc.start) + 1
    return UsageError(
        f"{name}, line {line}: not UTF-8 text "
        f"(byte 0x{data[exc.start]:02x} at byte {exc.start} of the file)"
    )


def _request_of(fields: dict[str, Any], where: str) -> tuple[CreateRequest, str | None]:
    unknown = [k for k in fields if k not in FIELDS and k != "label"]
    if unknown:
        known = ", ".join([*FIELDS, "label"])
        raise UsageError(f"{where}: unknown field {unknown[0]!r} (known: {known})")
    if fields.get("model", MODEL_NAME) != MODEL_NAME:
        raise UsageError(f"{where}: model must be {MODEL_NAME!r}")
    prompt = fields.get("prompt")
    if not isinstance(prompt, str):
        raise UsageError(f"{where}: prompt is required, as text")
    duration = fields.get("duration")
    if duration is not None and (type(duration) is not int):
        raise UsageError(f"{where}: duration must be a whole number of seconds")
    for name in ("ratio", "first_image", "last_image", "label"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            raise UsageError(f"{where}: {name} must be text")
    if isinstance(fields.get("label"), str) and (half := lone_surrogate(fields["label"])):
        why = f"{half} is half of a character (a lone surrogate)"
        raise UsageError(f"{where}: the label is not valid text: {why}")
    for name in LISTS:
        value = fields.get(name, [])
        if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
            raise UsageError(f"{where}: {name} must be a list of URLs")
    request = CreateRequest(
        prompt=prompt,
        duration=duration,
        ratio=fields.get("ratio"),
        reference_images=tuple(fields.get("referenceImages", ())),
        first_image=fields.get("first_image"),
        last_image=fields.get("last_image"),
        reference_videos=tuple(fields.get("referenceVideos", ())),
    )
    if problems := request.problems():
        raise UsageError(f"{where}: {'; '.join(problems)}")
    return request, fields.get("label")
