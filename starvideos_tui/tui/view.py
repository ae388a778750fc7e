"""Which records the table shows, in which order: list operations, no Textual.

The default order is "work" (core/worklist.py): running, then queued, then unsaved
videos, then what finished recently, then the rest. What the view holds is `Scope`'s: the
work alone (history and archived tasks hidden), or history too, or archived tasks too.
The filter is core/query.py's (words, `rating:4+`, `rejected`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.query import EMPTY_QUERY, Query, SearchTexts, parse_query
from starvideos_tui.core.recordfields import MAX_RATING
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.core.worklist import GROUP_SPAN, SAVING_WORDS, WorkFacts, started_at

SORTS = ("work", "added", "status", "age", "id", "rating")
STATUS_ORDER = {"failed": 0, "processing": 1, "queued": 2, "new": 3, "completed": 4}
SHOWS = ("work", "history", "archived")  # what the history key cycles through
SHOWN_AS = {"work": "", "history": "+history", "archived": "+history +archived"}


@dataclass(frozen=True)
class Scope:
    """Which tasks the view may hold: `shows` "work" (no history, no archived tasks),
    "history" (no archived tasks) or "archived" (every task); history is what finished
    before `cutoff` (Unix seconds)."""

    shows: str = "archived"
    cutoff: float = 0.0

    @property
    def everything(self) -> bool:
        return self.shows == "archived"


EVERYTHING = Scope()


def visible(
    records: Iterable[TaskRecord],
    words: Mapping[str, str],
    filter_text: str,
    sort_mode: str,
    scope: Scope = EVERYTHING,
) -> list[TaskRecord]:
    """The records in `scope` matching `filter_text` (in the id, label, prompt or the
    status word `words` holds for each, and its rating terms), sorted by `sort_mode`."""
    query = parse_query(filter_text)
    facts = WorkFacts()
    return _sorted(_matching(records, words, query, scope, facts), sort_mode, words, scope, facts)


def _matching(
    records: Iterable[TaskRecord],
    words: Mapping[str, str],
    query: Query,
    scope: Scope,
    facts: WorkFacts,
) -> list[TaskRecord]:
    """One pass over the records, at the cost of a dict lookup each when nothing narrows
    (the facts of a record are made once per change of it: WorkFacts)."""
    shows, cutoff, matches = scope.shows, scope.cutoff, query.matches
    if shows == "archived":
        if query.empty:
            return list(records)
        return [r for r in records if matches(r, words.get(r.id, ""))]
    if shows == "work":  # not archived, and not history (WorkFacts.keeps, inlined)
        of, saving = facts.of, SAVING_WORDS
        kept = [
            r
            for r in records
            if not r.archived and (of(r)[1] >= cutoff or words.get(r.id) in saving)
        ]
    else:
        kept = [r for r in records if not r.archived]
    if query.empty:
        return kept
    return [r for r in kept if matches(r, words.get(r.id, ""))]


def _sorted(
    shown: list[TaskRecord],
    sort_mode: str,
    words: Mapping[str, str],
    scope: Scope,
    facts: WorkFacts,
) -> list[TaskRecord]:
    if sort_mode == "work":
        cutoff, key = scope.cutoff, facts.key
        shown.sort(key=lambda r: key(r, cutoff, words.get(r.id, "")))
    elif sort_mode == "status":  # the newest first within each status (one number each)
        recent = facts.recency
        shown.sort(key=lambda r: _status_rank(r) * GROUP_SPAN - recent(r))
    elif sort_mode == "age":
        shown.sort(key=lambda r: -started_at(r))
    elif sort_mode == "id":
        shown.sort(key=lambda r: r.id)
    elif sort_mode == "rating":  # the best first, rejected ones last, then the newest
        recent, top = facts.recency, MAX_RATING + 1
        shown.sort(key=lambda r: (top * r.rejected + top - r.rating) * GROUP_SPAN - recent(r))
    return shown


def _status_rank(record: TaskRecord) -> int:
    """STATUS_ORDER's place: the word as the API sends it, else (rarely) as read."""
    rank = STATUS_ORDER.get(record.status or "new")
    return rank if rank is not None else STATUS_ORDER.get(record.kind.value, 5)


class Narrowing:
    """`visible` that remembers its answers, for a filter typed at 50,000 records.

    A filter typed a letter at a time looks only among the rows the shorter filter left
    (whatever matches "fox t" matches "fox"); each record's search text is made once per
    change of it (core/query.SearchTexts), so a keystroke is a substring test a row. The
    scope's records are kept apart from their order (a new sort sorts, it does not filter
    again), and so is each order asked for (`_orders`): clearing the filter, or typing
    another, is a pass in order and no sort. A filter's matches alone are sorted when the
    whole order is not at hand (a few rows, not the whole history). `version` must change
    whenever the records or their words do; the answers are then made afresh, each only
    when it is asked for."""

    def __init__(self) -> None:
        self._last: tuple[Query, str, Scope, object] | None = None
        self._shown: list[TaskRecord] = []
        self._kept_key: tuple[Scope, object] | None = None
        self._kept: list[TaskRecord] = []  # the scope's records, in the records' order
        self._orders: dict[str, list[TaskRecord]] = {}  # _kept in each sort asked for
        self._facts = WorkFacts()
        self._texts = SearchTexts()

    def visible(
        self,
        records: Iterable[TaskRecord],
        words: Mapping[str, str],
        filter_text: str,
        sort_mode: str,
        version: object,
        scope: Scope = EVERYTHING,
    ) -> list[TaskRecord]:
        query = parse_query(filter_text)
        last, now = self._last, (sort_mode, scope, version)
        if last is not None and last[1:] == now and query.narrows(last[0]):
            # A letter more: among what the shorter filter left (the same: as it was).
            same = query == last[0]
            shown = self._shown if same else self._pick(query, self._shown, words)
        else:
            kept = self._scoped(records, words, scope, version)
            whole = self._orders.get(sort_mode)
            if whole is None and query.empty:
                whole = self._orders[sort_mode] = self._sort(list(kept), sort_mode, words, scope)
            if whole is not None:  # sorted: a filter is a pass in order
                shown = whole if query.empty else self._pick(query, whole, words)
            else:
                shown = self._sort(self._pick(query, kept, words), sort_mode, words, scope)
        self._last, self._shown = (query, *now), shown
        return list(shown)

    def take_facts(self, facts: WorkFacts) -> None:
        """The facts of a whole load, made elsewhere (handover.py): none made here."""
        self._facts = facts

    def prepare(
        self, records: Iterable[TaskRecord], words: Mapping[str, str], version: object, scope: Scope
    ) -> None:
        """Make the search texts before a filter is typed (`visible` would at the first
        letter)."""
        self._scoped(records, words, scope, version)
        self._texts.of(self._kept, words, self._kept_key)

    def _scoped(
        self,
        records: Iterable[TaskRecord],
        words: Mapping[str, str],
        scope: Scope,
        version: object,
    ) -> list[TaskRecord]:
        """The records the scope holds, unsorted: made once per scope and version."""
        if self._kept_key != (scope, version):
            records = list(records)
            self._facts.forget_all_but(records)  # a removed task's record is let go
            self._kept = _matching(records, words, EMPTY_QUERY, scope, self._facts)
            self._kept_key, self._orders = (scope, version), {}
        return self._kept

    def _pick(
        self, query: Query, source: list[TaskRecord], words: Mapping[str, str]
    ) -> list[TaskRecord]:
        """`source` (some of the scope's records) matching `query`; the search texts are
        those of the scope's records, checked once per scope and version."""
        return query.picked(source, self._texts.of(self._kept, words, self._kept_key))

    def _sort(
        self, shown: list[TaskRecord], sort_mode: str, words: Mapping[str, str], scope: Scope
    ) -> list[TaskRecord]:
        return _sorted(shown, sort_mode, words, scope, self._facts)


def shown_as(
    filter_text: str,
    sort_mode: str,
    *,
    shown: int | None = None,
    total: int | None = None,
    shows: str = "work",
    marked: int = 0,
) -> str:
    """What the status line says of the view: "12 of 50,000 · 3 marked · filter: fail ·
    sort: status · +history". The count is said only while the view leaves tasks out."""
    parts = []
    if shown is not None and total is not None and shown < total:
        parts.append(f"{shown:,} of {total:,}")
    if marked:
        parts.append(f"{marked:,} marked")
    if filter_text:
        problem = parse_query(filter_text).problem
        parts.append(f"filter: {filter_text}" + (f" ({problem})" if problem else ""))
    if sort_mode != SORTS[0]:
        parts.append(f"sort: {sort_mode}")
    if SHOWN_AS.get(shows):
        parts.append(SHOWN_AS[shows])
    return " · ".join(parts)


def empty_note(filter_text: str, shows: str, total: int, key: str = "H") -> str:
    """What the table says where no row is shown, and how to see rows again ("" when
    there is no task at all: the status line says so). `key`: the history key."""
    if not total:
        return ""
    more = f" · {key} shows history" if shows != "archived" else ""
    if filter_text:
        return f"Nothing matches {filter_text!r} · esc clears the filter{more}"
    return f"Nothing needs you: all {total:,} tasks are history or archived{more}"


def next_sort(mode: str) -> str:
    return SORTS[(SORTS.index(mode) + 1) % len(SORTS)]


def next_shows(shows: str) -> str:
    return SHOWS[(SHOWS.index(shows) + 1) % len(SHOWS)]


class StatusCounts:
    """How many tasks are in each state, for the status line, kept per task: a pass's
    answers recount their own tasks, not the whole watchlist."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._words: dict[str, str] = {}
        self._picked: set[str] = set()  # the tasks rated or rejected

    @property
    def any_picked(self) -> bool:
        """Some task is rated or rejected: the table shows a column for it."""
        return bool(self._picked)

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
            self._picked.clear()
            ids = list(records)
        for task_id in ids:
            old = self._words.pop(task_id, None)
            if old is not None:
                self.counts[old] -= 1
            self._picked.discard(task_id)
            record = records.get(task_id)
            if record is None:
                continue
            if record.rating or record.rejected:
                self._picked.add(task_id)
            word = status_look(record, downloads.get(task_id)).word
            word = word.split(" ")[0] if word.startswith("download") else word
            self._words[task_id] = word
            self.counts[word] += 1
