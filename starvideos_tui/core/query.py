"""The filter a user types (the TUI's `/`): words to find, and terms on ratings and rejects.

    fox lake            tasks whose id, label or prompt, or status word, holds "fox lake"
    rating:4+  ★>=4     four stars or more (also rating:>=4, ★4+)
    rating:3   ★=3      exactly three stars; rating:2- two or fewer (unrated included)
    rating:0            unrated; rating:>0 (or rating:1+) any rating at all
    rejected            rejected takes only; -rejected (or !rejected) none of them

Terms and words combine (all must hold): `fox rating:4+ -rejected`. A term that cannot be
read yet (`rating:` while it is typed, `rating:9`) filters nothing and says why
(`Query.problem`). No Textual here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.recordfields import MAX_RATING

RATING_PREFIXES = ("rating:", "stars:", "★")
REJECTED = "rejected"
NOT_REJECTED = ("-rejected", "!rejected")
_RATING = re.compile(r"(>=|<=|>|<|=)?([0-9]+)([+-])?")
HELP = "rating:4+, rating:3, rating:0 (unrated), rejected, -rejected"


@dataclass(frozen=True)
class Query:
    needle: str = ""  # lower case; found in the id, label, prompt or status word
    low: int = 0  # the ratings shown, inclusive
    high: int = MAX_RATING
    rejected: bool | None = None  # None: rejected or not
    problem: str = ""  # a term that could not be read (it filters nothing)

    @property
    def terms(self) -> tuple[int, int, bool | None]:
        return self.low, self.high, self.rejected

    @property
    def empty(self) -> bool:
        """Matches every record."""
        return not self.needle and self.terms == (0, MAX_RATING, None)

    def matches(self, record: TaskRecord, word: str = "") -> bool:
        if not self.low <= record.rating <= self.high:
            return False
        if self.rejected is not None and record.rejected is not self.rejected:
            return False
        needle = self.needle
        return (
            not needle
            or needle in record.id.lower()
            or needle in (record.label or "").lower()
            or needle in (record.prompt or "").lower()
            or needle in word
        )

    def picked(self, records: Iterable[TaskRecord], texts: Mapping[str, str]) -> list[TaskRecord]:
        """The records `matches` keeps, `texts` holding each one's `search_text`: a
        substring test and a dict lookup a record (50,000 in a few ms), not a method call
        and two `lower()` each."""
        needle, low, high, rejected = self.needle, self.low, self.high, self.rejected
        if self.terms == (0, MAX_RATING, None):
            return [r for r in records if needle in texts[r.id]]
        return [
            r
            for r in records
            if low <= r.rating <= high
            and (rejected is None or r.rejected is rejected)
            and needle in texts[r.id]
        ]

    def narrows(self, earlier: Query) -> bool:
        """Whatever this query matches, `earlier` matched too (so it need only look among
        `earlier`'s matches): the same terms, and `earlier`'s words within these."""
        return self.terms == earlier.terms and earlier.needle in self.needle


_NOT_YET = object()  # no version seen


def search_text(record: TaskRecord, word: str) -> str:
    """Where a needle is looked for, lower case: the id, the label, the prompt and the
    status word, apart (a needle holds no NUL, so none matches across two). A labelled
    task is found by its prompt too: the table shows the label, the panel the prompt."""
    label = f"{record.label.lower()}\0" if record.label else ""
    return f"{record.id.lower()}\0{label}{(record.prompt or '').lower()}\0{word}"


class SearchTexts:
    """Each record's `search_text`, made once per change of the record or its word
    (records are frozen: a change is a new object) and checked once per `version`."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[TaskRecord, str]] = {}
        self._texts: dict[str, str] = {}
        self._version: object = _NOT_YET

    def of(
        self, records: Iterable[TaskRecord], words: Mapping[str, str], version: object
    ) -> Mapping[str, str]:
        """The texts of `records` (all those that will be asked for), by id; `version`
        changes whenever the records, or a record or a word, do (Narrowing's does)."""
        if version == self._version:
            return self._texts
        made, texts, get = self._made, self._texts, words.get
        alive: set[str] = set()
        for record in records:
            task_id, word = record.id, get(record.id, "")
            alive.add(task_id)
            was = made.get(task_id)
            if was is None or was[0] is not record or was[1] != word:
                made[task_id] = (record, word)
                texts[task_id] = search_text(record, word)
        if len(made) > len(alive):  # removed tasks, or out of view
            for gone in [i for i in made if i not in alive]:
                del made[gone], texts[gone]
        self._version = version
        return texts


EMPTY_QUERY = Query()


def parse_query(text: str) -> Query:
    """The query `text` asks for (never raises: a bad term is `problem`, not an error)."""
    words: list[str] = []
    low, high, rejected, problem = 0, MAX_RATING, None, ""
    for token in text.split():
        folded = token.lower()
        if folded == REJECTED:
            rejected = True
            continue
        if folded in NOT_REJECTED:
            rejected = False
            continue
        prefix = next((p for p in RATING_PREFIXES if folded.startswith(p)), None)
        if prefix is None:
            words.append(folded)
            continue
        span = rating_span(folded[len(prefix) :])
        if span is None:
            problem = f"{token!r} is not a rating filter: try {HELP}"
            continue
        low, high = max(low, span[0]), min(high, span[1])
    return Query(" ".join(words), low, high, rejected, problem)


def rating_span(term: str) -> tuple[int, int] | None:
    """The ratings a term after "rating:" names, lowest and highest: "4+" (4, 5), ">=4"
    (4, 5), "3" (3, 3), "2-" (0, 2), "<3" (0, 2), "0" (0, 0); None when it names none."""
    found = _RATING.fullmatch(term)
    if found is None:
        return None
    op, digits, tail = found.groups()
    stars = int(digits)
    if stars > MAX_RATING or (op and tail):
        return None
    if op == ">=" or tail == "+":
        span = (stars, MAX_RATING)
    elif op == "<=" or tail == "-":
        span = (0, stars)
    elif op == ">":
        span = (stars + 1, MAX_RATING)
    elif op == "<":
        span = (0, stars - 1)
    else:
        span = (stars, stars)
    return span if span[0] <= span[1] else None
