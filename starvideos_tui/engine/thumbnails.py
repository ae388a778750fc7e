"""Thumbnails of saved videos for the contact sheet: one frame each, from the frame cache
that the side panel uses (video/preview.py, by sha256), made in background threads.

At most WORKERS decodes run at once. The sheet says which cells it shows (`want`), in the
order it wants them (on screen first); each call replaces the last, so a cell scrolled
away before its turn is never made. A file is checked before its frame is trusted: gone,
of another size or another sha256 than the record says (deleted or replaced behind the
watchlist's back), or not a video at all, the thumbnail is a `Problem` that says so.
Nothing here imports Textual; the sheet turns a `Picture` into cells.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG

from starvideos_tui.core import memory
from starvideos_tui.video.preview import (
    NoFrames,
    Picture,
    PreviewError,
    cached_thumbnail,
    ppm_picture,
)

WORKERS = 2  # decodes at once: the sheet never takes more than two cores' worth
THUMB_FRAME = 1  # which of preview.SPOTS a thumbnail shows (30 % in: past a fade-in)
THUMB_WIDTH = 48  # pixels a thumbnail keeps in the cache: two a column of a cell
HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class Job:
    """One cell's thumbnail: the saved file as the record knows it, and the cell's size
    in half-block cells (two pixels a cell, one above the other)."""

    task_id: str
    path: str
    size: int | None
    sha256: str
    columns: int
    rows: int


@dataclass(frozen=True)
class Problem:
    """Why a cell has no picture, in a few words ("file gone", "file replaced")."""

    reason: str


Thumb = Picture | Problem


class Thumbnails:
    """Makes thumbnails in WORKERS threads; `done(job, thumb)` is called in a worker
    thread for each one made (the caller hands it to its own loop)."""

    def __init__(self, cache: Path, done: Callable[[Job, Thumb], None]) -> None:
        self.cache = cache
        self._done = done
        self._wanted: list[Job] = []
        self._busy: set[Job] = set()
        self._lock = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._hashes: dict[tuple[str, int, int, int], str] = {}  # file as stat'ed: its sha
        self.decodes = 0  # videos decoded (cache misses), for tests and benchmarks
        self.made = 0

    def want(self, jobs: Iterable[Job]) -> None:
        """Make these next, in this order; jobs wanted before and not started are
        dropped (their cells scrolled away)."""
        with self._lock:
            self._wanted = [j for j in jobs if j not in self._busy]
            if self._wanted and len(self._threads) < WORKERS:
                for _ in range(WORKERS - len(self._threads)):
                    thread = threading.Thread(target=self._work, name="thumbnails", daemon=True)
                    self._threads.append(thread)
                    thread.start()
            self._lock.notify_all()

    def close(self) -> None:
        """No more thumbnails: workers end after the decode they are in."""
        with self._lock:
            self._closed = True
            self._wanted = []
            self._lock.notify_all()

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._wanted) + len(self._busy)

    def _work(self) -> None:
        decodes = 0
        while True:
            with self._lock:
                if not self._wanted and self.decodes != decodes:
                    decodes = self.decodes
                    memory.give_back()  # a decode's buffers, once the screen is done
                while not self._wanted and not self._closed:
                    self._lock.wait()
                if self._closed:
                    return
                job = self._wanted.pop(0)
                self._busy.add(job)
            try:
                thumb = self.make(job)
            except Exception as exc:  # never a dead worker: the cell says what went wrong
                thumb = Problem(f"no picture ({type(exc).__name__})")
            if not self._closed:  # handed over while still busy: never wanted twice
                self._done(job, thumb)
            with self._lock:
                self._busy.discard(job)
                self.made += 1

    def make(self, job: Job) -> Thumb:
        """The thumbnail of `job` (in the calling thread)."""
        path = Path(job.path)
        try:
            stat = path.stat()
        except FileNotFoundError:
            return Problem("file gone")
        except OSError as exc:
            return Problem(f"file unreadable: {exc.strerror or exc}")
        if not S_ISREG(stat.st_mode):  # a FIFO would block a worker for good
            return Problem("not a regular file")
        if job.size is not None and stat.st_size != job.size:
            return Problem("file replaced: size differs")
        key = (job.path, stat.st_size, stat.st_mtime_ns, stat.st_ino)
        try:
            sha256 = self._hashes.get(key) or _sha256(path)
        except OSError as exc:
            return Problem(f"file unreadable: {exc.strerror or exc}")
        self._hashes[key] = sha256
        if sha256 != job.sha256:
            return Problem("file replaced: sha256 differs")
        try:
            frame, decoded = cached_thumbnail(
                path, job.sha256, self.cache, THUMB_FRAME, THUMB_WIDTH
            )
            if decoded:
                with self._lock:
                    self.decodes += 1
            return ppm_picture(frame, job.columns, job.rows)
        except NoFrames:
            return Problem("no frames in the video")
        except PreviewError:
            return Problem("does not decode as a video")
        except OSError as exc:
            return Problem(f"no picture: {exc.strerror or exc}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()
