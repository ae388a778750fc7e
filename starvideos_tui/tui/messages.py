"""What the workers tell the app. Workers do I/O; the app renders on the main thread."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from starvideos_tui.models import PassReport, TaskRecord


@dataclass
class PollFinished(Message):
    """A polling pass ended; `report.records` holds the new state of the polled tasks."""

    report: PassReport


@dataclass
class WatchlistReloaded(Message):
    """The watchlist file changed on disk (another process wrote it)."""

    records: list[TaskRecord]


@dataclass
class DownloadProgress(Message):
    task_id: str
    done: int
    total: int | None


@dataclass
class DownloadFinished(Message):
    task_id: str
    record: TaskRecord | None  # the saved record, None when it failed
    error: str | None = None
