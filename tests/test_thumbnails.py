"""The contact sheet's thumbnail maker (engine/thumbnails.py) on real videos: at most two
decodes at once, the cells wanted last first, those scrolled away never made, and a file
that is not what the record says answered with a reason, never an exception."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from helpers_sheet import save_videos

from starvideos_tui.engine.thumbnails import WORKERS, Job, Problem, Thumb, Thumbnails
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.video.preview import Picture


def _jobs(tmp_path: Path, count: int) -> list[Job]:
    watchlist = Watchlist(tmp_path / "watchlist.json")
    save_videos(watchlist, tmp_path / "videos", count)
    return [
        Job(r.id, r.local_path or "", r.size, r.sha256 or "", 24, 7)
        for r in sorted(watchlist.load(), key=lambda r: r.id)
    ]


def _wait(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_cells_scrolled_away_before_their_turn_are_never_made(tmp_path: Path) -> None:
    jobs = _jobs(tmp_path, 30)
    made: dict[str, Thumb] = {}
    busiest = 0

    def done(job: Job, thumb: Thumb) -> None:
        nonlocal busiest
        busiest = max(busiest, sum(t.name == "thumbnails" for t in threading.enumerate()))
        made[job.task_id] = thumb

    maker = Thumbnails(tmp_path / "frames", done)
    maker.want(jobs)  # a screen of cells...
    maker.want(jobs[-3:])  # ... scrolled away at once: only the new screen's are made
    _wait(lambda: all(j.task_id in made for j in jobs[-3:]) and not maker.pending, "them")
    maker.close()
    assert maker.made <= 3 + WORKERS  # those already started when the screen moved
    assert maker.decodes == maker.made
    assert busiest <= WORKERS == 2
    assert all(isinstance(made[j.task_id], Picture) for j in jobs[-3:])
    again = Thumbnails(tmp_path / "frames", done)  # warm: read, not decoded
    assert isinstance(again.make(jobs[-1]), Picture) and again.decodes == 0


def test_a_file_other_than_the_record_says_is_a_reason(tmp_path: Path) -> None:
    job = _jobs(tmp_path, 1)[0]
    maker = Thumbnails(tmp_path / "frames", lambda job, thumb: None)
    path = Path(job.path)
    os.unlink(path)
    os.mkfifo(path)  # would block a reader for good
    assert maker.make(job) == Problem("not a regular file")
    os.unlink(path)
    assert maker.make(job) == Problem("file gone")
    path.write_bytes(b"x" * (job.size or 0))
    assert maker.make(job) == Problem("file replaced: sha256 differs")
