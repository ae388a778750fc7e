"""Which records the table shows, in which order: list operations, no Textual."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState, status_look

SORTS = ("added", "status", "age", "id")
STATUS_ORDER = {"failed": 0, "processing": 1, "queued": 2, "new": 3, "completed": 4}


def visible(
    records: Iterable[TaskRecord],
    words: Mapping[str, str],
    filter_text: str,
    sort_mode: str,
) -> list[TaskRecord]:
    """The records matching `filter_text` (in the id, label, prompt or the status word
    `words` holds for each), sorted by `sort_mode`."""
    return _sorted(_matching(records, words, filter_text.lower()), sort_mode)


def _matching(
    records: Iterable[TaskRecord], words: Mapping[str, str], needle: str
) -> list[TaskRecord]:
    if not needle:
        return list(records)
    return [
        r
        for r in records
        if needle in r.id.lower()
        or needle in (r.label or r.prompt or "").lower()
        or needle in words.get(r.id, "")
    ]


def _sorted(shown: list[TaskRecord], sort_mode: str) -> list[TaskRecord]:
    if sort_mode == "status":
        shown.sort(key=lambda r: STATUS_ORDER.get(r.kind.value, 5))
    elif sort_mode == "age":
        shown.sort(key=lambda r: -(r.created or r.added_at or 0))
    elif sort_mode == "id":
        shown.sort(key=lambda r: r.id)
    return shown


class Narrowing:
    """`visible` that remembers its last answer. A filter typed a letter at a time looks
    only among the rows the shorter filter left (whatever matches "fox t" matches "fox"),
    so each keystroke costs the rows still shown, not the whole history. `version` must
    change whenever the records or their words do; the answer is then made afresh."""

    def __init__(self) -> None:
        self._last: tuple[str, str, object] | None = None  # (needle, sort, version)
        self._shown: list[TaskRecord] = []

    def visible(
        self,
        records: Iterable[TaskRecord],
        words: Mapping[str, str],
        filter_text: str,
        sort_mode: str,
        version: object,
    ) -> list[TaskRecord]:
        needle = filter_text.lower()
        last = self._last
        if last is not None and last[1:] == (sort_mode, version) and last[0] in needle:
            shown = _matching(self._shown, words, needle) if needle != last[0] else self._shown
        else:
            shown = _sorted(_matching(records, words, needle), sort_mode)
        self._last, self._shown = (needle, sort_mode, version), shown
        return list(shown)


def shown_as(filter_text: str, sort_mode: str) -> str:
    """What the status line says of the view: "filter: fail, sort: status"."""
    parts = [f"filter: {filter_text}"] if filter_text else []
    if sort_mode != SORTS[0]:
        parts.append(f"sort: {sort_mode}")
    return ", ".join(parts)


def next_sort(mode: str) -> str:
    return SORTS[(SORTS.index(mode) + 1) % len(SORTS)]


class StatusCounts:
    """How many tasks are in each state, for the status line, kept per task: a pass's
    answers recount their own tasks, not the whole watchlist."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._words: dict[str, str] = {}

    @property
    def words(self) -> Mapping[str, str]:
        """Each task's status word, as the filter matches it."""
        return self._words

    def recount(
        self,
        records: Mapping[str, TaskRecord],
        downloads: Mapping[str, DownloadState],
        ids: Iterable[str] | None = None,
    ) -> None:
        """Count again the tasks `ids`, or all of them (None)."""
        if ids is None:
            self._words.clear()
            self.counts.clear()
            ids = list(records)
        for task_id in ids:
            old = self._words.pop(task_id, None)
            if old is not None:
                self.counts[old] -= 1
            record = records.get(task_id)
            if record is None:
                continue
            word = status_look(record, downloads.get(task_id)).word
            word = word.split(" ")[0] if word.startswith("download") else word
            self._words[task_id] = word
            self.counts[word] += 1
