"""What needs the user first: the groups of the monitor's "work" order, when a task finished,
and which finished tasks are history (no Textual: the TUI's view and any face can use it).

The work order puts on top what the user may act on or wait for: running tasks, then
queued or not yet answered ones, then videos made but not saved (and those being saved),
then what finished recently, newest first, then the rest, newest first. A year of
history never pushes the running tasks down the table.
"""

from __future__ import annotations

from collections.abc import Collection

from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.vocabulary import LINK_EXPIRED

DAY = 86_400.0
DEFAULT_HISTORY_DAYS = 7.0  # config.toml's history_days: older finished tasks are history

RUNNING, WAITING, UNSAVED, RECENT, OLDER = range(5)  # the groups, top first
GROUP_NAMES = ("running", "queued", "not saved", "finished", "history")
SAVING_WORDS = frozenset({"downloading", "download"})  # StatusCounts' words of a download


def finished_at(record: TaskRecord) -> float | None:
    """When a final task became final (None: not final). Its history says, when it has one;
    else the last time anything the API said changed, was checked, was created or added."""
    if not record.kind.is_final:
        return None
    if record.history:
        word, at = record.history[-1]
        if TaskStatus.from_word(word).is_final:
            return at
    return record.updated_at or record.checked_at or record.created or record.added_at


def started_at(record: TaskRecord) -> float:
    """When the task was made (or, failing that, first watched): 0 when nothing says."""
    return record.created or record.added_at or 0.0


def is_history(record: TaskRecord, cutoff: float, word: str = "") -> bool:
    """Finished before `cutoff` (Unix seconds), and not being saved now (`word`, the
    status word the face shows, says "downloading")."""
    if word in SAVING_WORDS:
        return False
    done = finished_at(record)
    return done is not None and done < cutoff


def work_group(record: TaskRecord, cutoff: float, word: str = "") -> int:
    """The record's group in the work order (RUNNING ... OLDER)."""
    if word in SAVING_WORDS:
        return UNSAVED
    if record.archived:
        return OLDER
    kind = record.kind
    if kind is TaskStatus.PROCESSING:
        return RUNNING
    if not kind.is_final:
        return WAITING
    done = finished_at(record)
    recent = done is None or done >= cutoff
    if unsaved(record) and recent:
        return UNSAVED
    return RECENT if recent else OLDER


def work_key(record: TaskRecord, cutoff: float, word: str = "") -> tuple[int, float]:
    """Sort key of the work order: the group, then the newest first (running and waiting
    tasks by when they were made, finished ones by when they finished)."""
    group = work_group(record, cutoff, word)
    when = finished_at(record) if group >= UNSAVED else None
    return group, -(when if when is not None else started_at(record))


def recency(record: TaskRecord) -> float:
    """The newest of when it finished and when it was made: a key for "recent first"."""
    done = finished_at(record)
    return done if done is not None else started_at(record)


INF = float("inf")
GROUP_SPAN = 1e13  # a work key's groups apart: far more than any Unix time in seconds
# What a record's place in the work order needs, made once per version of the record:
# (the record, when it finished or INF, when it was made, its group before the cutoff).
Facts = tuple[TaskRecord, float, float, int]


class WorkFacts:
    """Each record's facts for the work order, kept while the record is the same object
    (records are frozen: a change is a new one). Reading `kind` costs more than the rest
    of a pass over 50,000 records; here it is read once per change of a record."""

    def __init__(self) -> None:
        self._facts: dict[str, Facts] = {}

    def of(self, record: TaskRecord) -> Facts:
        facts = self._facts.get(record.id)
        if facts is None or facts[0] is not record:
            facts = self._facts[record.id] = _facts(record)
        return facts

    def forget_all_but(self, records: Collection[TaskRecord]) -> None:
        """Drop the facts (and so the records) of tasks no longer there: removed ones."""
        if len(self._facts) > len(records):
            alive = {record.id for record in records}
            for gone in [i for i in self._facts if i not in alive]:
                del self._facts[gone]

    def keeps(self, record: TaskRecord, cutoff: float, word: str) -> bool:
        """Not history: finished at or after `cutoff`, not finished, or being saved."""
        return self.of(record)[1] >= cutoff or word in SAVING_WORDS

    def key(self, record: TaskRecord, cutoff: float, word: str) -> float:
        """work_key as one number (lower first): cheaper to sort 50,000 of than tuples."""
        _, done, made, base = self.of(record)
        if word in SAVING_WORDS:
            group = UNSAVED
        elif base <= WAITING:
            group = base
        elif done < cutoff:
            group = OLDER
        else:
            group = base
        return group * GROUP_SPAN - (done if group >= UNSAVED and done != INF else made)

    def recency(self, record: TaskRecord) -> float:
        _, done, made, _ = self.of(record)
        return done if done != INF else made


def _facts(record: TaskRecord) -> Facts:
    done = finished_at(record)
    kind = record.kind
    if record.archived:  # shown only when asked for, with the rest
        base = OLDER
    elif kind is TaskStatus.PROCESSING:
        base = RUNNING
    elif not kind.is_final:
        base = WAITING
    elif unsaved(record):
        base = UNSAVED
    else:
        base = RECENT
    return record, INF if done is None else done, started_at(record), base


def unsaved(record: TaskRecord) -> bool:
    """A video made and not saved that can still be: a link known dead ("link expired")
    is past saving, and sorts with the finished tasks, not above the work."""
    return (
        record.kind is TaskStatus.COMPLETED
        and not record.local_path
        and record.download_error != LINK_EXPIRED
    )


CUTOFF_STEP = 600.0  # seconds: the history's edge moves on in steps (a view made afresh)


def history_cutoff(now: float, days: float) -> float:
    """Tasks that finished before this are history: `days` before `now`, in steps of
    CUTOFF_STEP so that the view is not made afresh at every second."""
    return (now - days * DAY) // CUTOFF_STEP * CUTOFF_STEP
