"""What the engine tells a face. Plain frozen dataclasses, no Textual: the TUI posts each
as a Message, the CLI prints the ones it cares about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starvideos_tui.core.models import HttpProblem, TaskRecord


@dataclass(frozen=True)
class TasksChanged:
    """These records changed (an answer landed, a download ended, another process wrote
    the watchlist). `removed` ids left the watchlist; `everything` means the whole set was
    reloaded and `records` is all of it."""

    records: Mapping[str, TaskRecord]
    removed: frozenset[str] = frozenset()
    everything: bool = False


@dataclass(frozen=True)
class StatusChanged:
    """The API moved a task from one status word to another."""

    task_id: str
    old: str
    new: str


@dataclass(frozen=True)
class PollFailed:
    """Asking about a task failed; `first` is false when the same problem was seen last
    time too (a face that prints lines says it once)."""

    task_id: str
    problem: HttpProblem
    first: bool


@dataclass(frozen=True)
class GaveUp:
    """The engine stopped polling a task: the API never knew its id."""

    task_id: str
    why: str


@dataclass(frozen=True)
class ApiState:
    """How the API is doing as a whole: `word` is one of ok, offline, trouble, rate limited,
    bad key, no key; `text` says it for a status line; `until` is the end of a pause
    (wall clock) when rate limited."""

    word: str
    text: str
    until: float | None = None


@dataclass(frozen=True)
class PassEnded:
    """A polling round ended. `next_poll` is when the next one is due (monotonic), if any."""

    asked: int
    problems: int
    next_poll: float | None


@dataclass(frozen=True)
class DownloadProgress:
    """Bytes of a video received so far; at most a few of these a second per download."""

    task_id: str
    done: int
    total: int | None


@dataclass(frozen=True)
class DownloadQueued:
    task_id: str


@dataclass(frozen=True)
class DownloadEnded:
    """A download finished: `record` is the task as saved, or `error` says why not."""

    task_id: str
    record: TaskRecord | None
    error: str | None = None
    reused: bool = False


@dataclass(frozen=True)
class Trouble:
    """Something the user should read that is not about one task (the watchlist cannot be
    saved, a bug in a pass)."""

    message: str
    details: dict[str, str] = field(default_factory=dict)


Event = (
    TasksChanged
    | StatusChanged
    | PollFailed
    | GaveUp
    | ApiState
    | PassEnded
    | DownloadProgress
    | DownloadQueued
    | DownloadEnded
    | Trouble
)
