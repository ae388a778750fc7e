"""What changed, as the engine tells the faces: the tasks another process changed in the
watchlist, and the state of the API after a pass.

A `watch` writing beside the TUI changes a few tasks a pass; the TUI must spend on those
tasks, not on the whole history (a reload of 50,000 records as "everything" recounted,
re-read the run times of and re-sorted every one of them, at each pass of the other
process). The storage hands back the same record object for a document nobody changed,
so the changed ones are found by identity, a pointer compare per task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence, Set

from starvideos_tui.api.errors import ApiError
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.engine.events import ApiState
from starvideos_tui.engine.poll import Answer

Changes = tuple[dict[str, TaskRecord], dict[str, TaskRecord], frozenset[str]]
Whole = tuple[dict[str, TaskRecord], list[str]]


def whole(records: Sequence[TaskRecord], only: Set[str] | None) -> Whole:
    """(every record by id, the ids of those still to poll) of a whole watchlist read,
    those in `only` when given: made in the watchlist's thread at 50,000 tasks (~25 ms
    of the loop's time otherwise, as the whole list is handed to the face)."""
    if only is not None:
        records = [r for r in records if r.id in only]
    return {r.id: r for r in records}, [r.id for r in records if r.needs_polling]


def read_whole(load: Callable[[], Sequence[TaskRecord]], only: Set[str] | None) -> Whole:
    return whole(load(), only)


def changes_between(
    held: Mapping[str, TaskRecord], records: Sequence[TaskRecord], only: Set[str] | None
) -> Changes | None:
    """(every record by id, the changed or new ones, the ids gone) from `held` to
    `records` (those in `only`, when given); None when most of it is new (a first read):
    shown as a whole."""
    fresh = {r.id: r for r in records if only is None or r.id in only}
    changed = {i: r for i, r in fresh.items() if held.get(i) is not r}
    removed = frozenset(held.keys() - fresh.keys())
    if not held or len(changed) + len(removed) > len(fresh) // 2:
        return None
    return fresh, changed, removed


def follow(schedule: PollSchedule, changed: Mapping[str, TaskRecord], gave_up: Set[str]) -> None:
    """Poll what needs it of the changed tasks (one archived, here or elsewhere, no more;
    one unarchived again), the given-up ones aside."""
    polled = {i for i, r in changed.items() if r.needs_polling} - gave_up
    schedule.forget(changed.keys() - polled)
    schedule.track(polled)


def judge_api(
    answers: Mapping[str, Answer], schedule: PollSchedule, wall_offset: float
) -> ApiState | None:
    """A word for the API as a whole after a pass (None: no answer, nothing new to say);
    `wall_offset`: the wall clock less the schedule's monotonic clock."""
    errors = [a for a in answers.values() if isinstance(a, ApiError)]
    kinds = {e.kind for e in errors}
    if schedule.auth_blocked:
        return ApiState("bad key", "bad key: run starvideos-tui login")
    if schedule.is_paused():
        until = wall_offset + schedule.paused_until
        clock = time.strftime("%H:%M:%S", time.localtime(until))
        return ApiState("rate limited", f"rate limited until {clock}", until)
    if not answers or "not_found" in kinds or len(errors) < len(answers):
        return ApiState("ok", "API ok") if answers else None
    if kinds == {"network"}:
        return ApiState("offline", "offline")
    return ApiState("trouble", f"API trouble: {sorted(kinds)[0]}")
