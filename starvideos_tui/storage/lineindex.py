"""`<file>.lines`: where each line of the base is and when its task last changed, so that
a first screen finds the tasks a view hiding history needs without a scan of the base.

A base of a year holds 50,000 lines; finding the twenty that are not history costs a scan
of all of them (firstscreen.py: ~0.1 s, a third of the start-up's growth from 1,000 to
50,000 tasks). The base is only ever replaced whole (temp + rename), so what its lines are
is known once per base: at the scan that first reads it, and at the fold or compaction
that writes it. This file keeps that, for the base it names by inode, size and mtime.

It is only a hint. Nothing is written on its strength, a line it names is framed and
parsed like any other, and a file that does not name the base now in place (another
writer replaced it, a clock went back, it is damaged or missing) is ignored: the base is
scanned, and a new one written. A line whose change time is unknown is kept as if it
changed now: it is always read.

Layout: a head line, then three arrays of `count` items in native order: the negated
change times ascending (float64; lines changed most recently first), and the start and
end offsets of those lines (int64).
"""

from __future__ import annotations

import contextlib
import os
from array import array
from bisect import bisect_right
from pathlib import Path

from starvideos_tui.core import localfile
from starvideos_tui.storage.basefile import atomic_write

MAGIC = b"starvideos-tui base lines 1"
MIN_LINES = 1000  # a base of fewer is scanned in about a millisecond: no index beside it
LIMIT = 64 << 20  # 2.7 million lines: far beyond any watchlist


def index_path(base: Path) -> Path:
    return base.with_name(f"{base.name}.lines")


def identity(st: os.stat_result) -> bytes:
    return f"{st.st_ino} {st.st_size} {st.st_mtime_ns}".encode()


class LineIndex:
    """The lines of one base by their change time, newest first."""

    def __init__(self, negated: array[float], starts: array[int], stops: array[int]) -> None:
        self.negated, self.starts, self.stops = negated, starts, stops

    @classmethod
    def of(cls, quiets: array[float], starts: array[int], stops: array[int]) -> LineIndex:
        """From the change time, start and stop of every line; a time of +inf: always read."""
        order = sorted(range(len(quiets)), key=quiets.__getitem__, reverse=True)
        return cls(
            array("d", [-quiets[i] for i in order]),
            array("q", [starts[i] for i in order]),
            array("q", [stops[i] for i in order]),
        )

    def changed_since(self, since: float) -> list[tuple[int, int]]:
        """(start, stop) of every line whose task may have changed at or after `since`, in
        the order of the file."""
        count = bisect_right(self.negated, -since)
        return sorted(zip(self.starts[:count], self.stops[:count], strict=True))

    def encode(self, base: os.stat_result) -> bytes:
        head = MAGIC + b" " + identity(base) + f" {len(self.negated)}\n".encode()
        return head + self.negated.tobytes() + self.starts.tobytes() + self.stops.tobytes()


def names(base_path: Path, base: tuple[int, int, int] | None) -> bool:
    """Whether a whole index beside `base_path` names the base `base` (inode, size,
    mtime): its head line and its size only."""
    if base is None:
        return True  # no base: nothing to index
    try:
        with localfile.open_binary(index_path(base_path)) as handle:
            head = handle.readline(200)
            size = os.fstat(handle.fileno()).st_size
    except OSError:
        return False
    prefix = MAGIC + b" " + " ".join(map(str, base)).encode() + b" "
    count = head[len(prefix) :].rstrip(b"\n")
    return head.startswith(prefix) and count.isdigit() and size == len(head) + 24 * int(count)


def read(base_path: Path, base: os.stat_result) -> LineIndex | None:
    """The index of the base `base` (as fstat saw it), or None when there is none for it."""
    try:
        raw = localfile.read_regular(index_path(base_path), LIMIT)
    except OSError:
        return None
    head, newline, body = raw.partition(b"\n")
    prefix = MAGIC + b" " + identity(base) + b" "
    if not newline or not head.startswith(prefix) or not head[len(prefix) :].isdigit():
        return None
    count = int(head[len(prefix) :])
    if len(body) != 24 * count:
        return None
    negated, starts, stops = array("d"), array("q"), array("q")
    negated.frombytes(body[: 8 * count])
    starts.frombytes(body[8 * count : 16 * count])
    stops.frombytes(body[16 * count :])
    return LineIndex(negated, starts, stops)


def write(base_path: Path, base: os.stat_result, index: LineIndex) -> None:
    """Best effort, and not synced: a folder that cannot take it (read-only, full), or a
    crash that cuts it short, costs the next start a scan, nothing else."""
    path = index_path(base_path)
    if len(index.negated) < MIN_LINES:
        return
    with contextlib.suppress(OSError):
        atomic_write(path, index.encode(base), sync=False)
