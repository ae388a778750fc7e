"""When a running task should be done, and whether it is stuck, from the watchlist's own
history: how long past tasks took from `created` to the poll that saw them `completed`.

Past tasks are grouped by what they asked (the requested duration and the mode: text,
reference images, first/last frame, reference video); a group with too few samples
borrows all of them. A running task is expected at `created` plus the median of the past
runs that lasted longer than it has run so far (so the estimate moves out as a task
runs long, never into the past), and is "stalled" once it has run half again as long as
95 % of them took. With no history, a task is stalled after a fixed bound.

The samples are gathered once from the records and added to as tasks complete; each
group keeps its latest KEEP runs, sorted, so an estimate costs a bisection whatever the
size of the history.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starvideos_tui.core.models import TaskRecord, TaskStatus

KEEP = 200  # latest runs kept per group
ENOUGH = 5  # runs a group needs to speak for itself
STALLED_FACTOR = 1.5  # times the 95th percentile of past runs
STALLED_WITHOUT_HISTORY = 30 * 60.0  # seconds, when nothing can be compared
MIN_STALL = 120.0  # seconds: nothing shorter is called stalled

Group = tuple[int | None, str]
Run = tuple[float, str, Group, float]  # (created, task id, group, seconds it took)


def mode_of(params: dict[str, Any] | None) -> str:
    if not params:
        return "unknown"
    if params.get("referenceVideos"):
        return "video"
    if params.get("first_image") or params.get("last_image"):
        return "frames"
    if params.get("referenceImages"):
        return "images"
    return "text"


def group_of(record: TaskRecord) -> Group:
    return group_of_params(record.params)


def group_of_params(params: dict[str, Any] | None) -> Group:
    """The group of a task made with the create request `params`: its length and mode."""
    mode = mode_of(params)
    duration = (params or {}).get("duration")
    if mode == "video" or not isinstance(duration, int):
        duration = None  # a reference video decides the length
    return duration, mode


def run_time(record: TaskRecord) -> float | None:
    """Seconds from `created` to the poll that first saw the task completed."""
    if record.kind is not TaskStatus.COMPLETED:
        return None
    return completed_after(record.created, record.history)


def completed_after(created: int | None, history: Iterable[tuple[str, float]]) -> float | None:
    """A completed task's run time: seconds from `created` to the first time its
    `history` says completed (None when either is missing, or it is not believable)."""
    if not created:
        return None
    for status, at in history:
        if status == "completed" or TaskStatus.from_word(status) is TaskStatus.COMPLETED:
            took = at - created
            return took if 0 < took < 7 * 86400 else None
    return None


@dataclass
class _Runs:
    latest: deque[float] = field(default_factory=lambda: deque(maxlen=KEEP))
    _sorted: list[float] | None = None

    def add(self, seconds: float) -> None:
        self.latest.append(seconds)
        self._sorted = None

    def sorted(self) -> list[float]:
        if self._sorted is None:
            self._sorted = sorted(self.latest)
        return self._sorted


@dataclass(frozen=True, slots=True)
class Estimate:
    eta: float | None  # Unix time the task should be done, None when nothing can be said
    stalled: bool
    running: float  # seconds it has run
    typical: float | None  # median of the past runs it is compared with
    compared: int  # how many past runs


NOTHING = Estimate(None, False, 0.0, None, 0)


class RunTimes:
    """Past run times by group, and the estimates they give."""

    def __init__(self) -> None:
        self._groups: dict[Group, _Runs] = {}
        self._all = _Runs()
        self._seen: set[str] = set()

    @classmethod
    def of(cls, records: Iterable[TaskRecord]) -> RunTimes:
        """From a watchlist's records, oldest first so each group keeps its latest."""
        runs: list[Run] = []
        for record in records:
            took = run_time(record)
            if took is not None:
                runs.append((record.created or 0, record.id, group_of(record), took))
        return cls.of_runs(runs)

    @classmethod
    def of_runs(cls, runs: list[Run]) -> RunTimes:
        """From runs already measured (a stream's, which keeps these, not the records),
        oldest first so each group keeps its latest."""
        times = cls()
        runs.sort(key=lambda run: run[0])
        for _, task_id, group, took in runs:
            times.add_run(task_id, group, took)
        return times

    def add(self, record: TaskRecord) -> None:
        """Count a completed task's run (once per task)."""
        if record.id in self._seen:
            return
        took = run_time(record)
        if took is not None:
            self.add_run(record.id, group_of(record), took)

    def add_run(self, task_id: str, group: Group, took: float) -> None:
        """Count a run already measured (`run_time`, `group_of`): a caller that reads the
        records as a stream keeps these, not the records."""
        if task_id in self._seen:
            return
        self._seen.add(task_id)
        self._groups.setdefault(group, _Runs()).add(took)
        self._all.add(took)

    def estimate(self, record: TaskRecord, now: float) -> Estimate:
        if record.is_final or not record.created or not record.status:
            return NOTHING
        running = max(0.0, now - record.created)
        group = self._groups.get(group_of(record))
        runs = group.sorted() if group is not None and len(group.latest) >= ENOUGH else None
        if runs is None and len(self._all.latest) >= ENOUGH:
            runs = self._all.sorted()
        if not runs:
            return Estimate(None, running > STALLED_WITHOUT_HISTORY, running, None, 0)
        p95 = runs[min(len(runs) - 1, int(0.95 * len(runs)))]
        stalled = running > max(MIN_STALL, STALLED_FACTOR * p95)
        longer = runs[bisect.bisect_right(runs, running) :]
        eta = record.created + longer[len(longer) // 2] if longer and not stalled else None
        return Estimate(eta, stalled, running, runs[len(runs) // 2], len(runs))

    def fields(self, record: TaskRecord, now: float) -> dict[str, Any]:
        """What `list --json` adds to a record: `eta` and `stalled`."""
        found = self.estimate(record, now)
        return {
            "eta": round(found.eta) if found.eta is not None else None,
            "stalled": found.stalled,
        }
