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
            or needle in (record.label or record.prompt or "").lower()
            or needle in word
        )

    def narrows(self, earlier: Query) -> bool:
        """Whatever this query matches, `earlier` matched too (so it need only look among
        `earlier`'s matches): the same terms, and `earlier`'s words within these."""
        return self.terms == earlier.terms and earlier.needle in self.needle


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
