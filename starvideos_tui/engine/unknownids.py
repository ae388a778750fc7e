"""Ids the API answers 404 for: asked again soon when typed in, given up after a few.

An id the API has never answered for and that we did not create (typed, pasted, `wait ID`)
is most likely mistyped: its 404 is asked again after QUICK_RETRIES (2 s, then 4 s), so a
third 404 names it unknown within about 7 s, not after three poll intervals. A task we
created (its request is in the record), or one the API has answered for before, may be
briefly invisible after a create or a hiccup of the service: asked again at the usual
interval. After `give_up_after` 404s in a row the id is no longer polled (`r` in the TUI
asks again).
"""

from __future__ import annotations

from collections import Counter

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.schedule import PollSchedule

GIVE_UP_AFTER = 3  # 404s in a row before an id is no longer polled
QUICK_RETRIES = (2.0, 4.0)  # seconds before asking again about an id never answered


class UnknownIds:
    def __init__(self, schedule: PollSchedule, give_up_after: int = GIVE_UP_AFTER) -> None:
        self.schedule = schedule
        self.give_up_after = give_up_after
        self._count: Counter[str] = Counter()

    def not_found(self, record: TaskRecord) -> bool:
        """The API answered 404 for `record` (as it was before that answer): True when it
        is given up now (and no longer scheduled)."""
        task_id = record.id
        self._count[task_id] += 1
        count = self._count[task_id]
        if count >= self.give_up_after:
            self.schedule.forget([task_id])
            return True
        typed = record.checked_at is None and record.params is None
        if typed and count <= len(QUICK_RETRIES):
            self.schedule.ask_again_in(task_id, QUICK_RETRIES[count - 1])
        return False

    def forget(self, task_id: str) -> None:
        """An answer came (or the user asked again): the count starts over."""
        self._count.pop(task_id, None)
