"""The whole watchlist handed to the view without freezing the screen (no Textual).

The first screen shows the recent tasks; then the whole watchlist arrives at once (50,000
tasks: a year of history). What the view needs of every task (its status word for the
status line's counts, its facts for the work order, its link's deadline) costs ~250 ms of
Python at that size: too long for the UI thread, which would not draw, take a key or a
poll's answer meanwhile. `prepare` makes it all in a thread, from the records as they were
handed over (a frozen copy: nothing else touches it); the presenter swaps the result in
with one cheap step on the UI thread, and counts again only the tasks that changed while
the thread worked (presenter.py). Until then the screen keeps showing what it showed: the
first screen, true as of its moment, never half of one and half of the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.core.worklist import WorkFacts
from starvideos_tui.engine.alerts import Links
from starvideos_tui.tui.view import StatusCounts

IN_THREAD = 2_000  # tasks: a (re)load of more is prepared off the UI thread (~10 ms a 2,000)


@dataclass
class Prepared:
    """What the view needs of every task of a (re)load, made off the UI thread."""

    counts: StatusCounts
    facts: WorkFacts
    links: Links


def prepare(records: Mapping[str, TaskRecord], downloads: Mapping[str, DownloadState]) -> Prepared:
    """The counts, work facts and link deadlines of `records` (not changed meanwhile by
    anyone: the engine hands over a copy) with `downloads` as they were then."""
    counts = StatusCounts()
    counts.recount(records, downloads)
    facts = WorkFacts()
    of = facts.of
    for record in records.values():
        of(record)
    links = Links()
    links.track(records, None)
    return Prepared(counts, facts, links)
