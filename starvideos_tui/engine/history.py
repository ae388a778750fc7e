"""What a watchlist holds when a `watch` starts: a year of it is summed up in one line,
not relived a task at a time (#25).

- The tasks still running are the present: they are polled, told and saved as they end.
- A video completed before the run and never saved is saved after the present's ones
  (`backlog`, newest link first), unless its link is certainly dead
  (core/linkexpiry.certainly_dead): those are marked "link expired" once (`newly_dead`),
  and neither the host nor the API is asked.
- Saved, failed and archived tasks are counted, and left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from starvideos_tui.core.linkexpiry import certainly_dead
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.vocabulary import LINK_EXPIRED


@dataclass
class History:
    total: int = 0
    saved: int = 0
    unsaved: int = 0  # completed, not saved
    expired: int = 0  # of those, their link dead
    failed: int = 0
    archived: int = 0
    running: list[str] = field(default_factory=list)  # the present: still to be polled
    backlog: list[str] = field(default_factory=list)  # to save after the present's videos
    newly_dead: list[str] = field(default_factory=list)  # to mark "link expired", once

    def summary(self) -> str:
        """One line: "50,000 tasks: 31,563 saved, 12,552 completed unsaved (12,540 links
        expired), 5,865 failed, 20 running"; parts that count nothing are left out."""
        parts = [f"{self.saved:,} saved"] if self.saved else []
        if self.unsaved:
            dead = f" ({self.expired:,} {_plural(self.expired, 'link')} expired)"
            parts.append(f"{self.unsaved:,} completed unsaved" + (dead if self.expired else ""))
        if self.failed:
            parts.append(f"{self.failed:,} failed")
        parts.append(f"{len(self.running):,} running")
        if self.archived:
            parts.append(f"{self.archived:,} archived")
        return f"{self.total:,} {_plural(self.total, 'task')}: " + ", ".join(parts)


def read_history(records: Iterable[TaskRecord], now: float) -> History:
    """The watchlist at wall-clock time `now`, sorted into what a `watch` does with it."""
    history = History()
    backlog: list[tuple[float, str]] = []
    for record in records:
        history.total += 1
        if record.archived:
            history.archived += 1
        elif record.needs_polling:
            history.running.append(record.id)
        elif record.kind is TaskStatus.FAILED:
            history.failed += 1
        elif record.local_path:
            history.saved += 1
        elif record.kind is TaskStatus.COMPLETED:
            history.unsaved += 1
            if record.download_error == LINK_EXPIRED:
                history.expired += 1  # marked before: the host or the deadline said so
            elif certainly_dead(record, now):
                history.expired += 1
                history.newly_dead.append(record.id)
            else:
                received = record.video_url_at or record.checked_at or 0.0
                backlog.append((-received, record.id))
    history.backlog = [task_id for _, task_id in sorted(backlog)]
    return history


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
