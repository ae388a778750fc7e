"""A watchlist with a year of history behind a few live tasks (not a test module): what
the work-first view, marks and ratings are tried on."""

from __future__ import annotations

from dataclasses import dataclass, field

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.worklist import DAY
from starvideos_tui.engine.session import Watchlist

BASE = 7_000_000_000


@dataclass
class History:
    old: list[str] = field(default_factory=list)  # finished about a year ago
    old_failed: list[str] = field(default_factory=list)  # those of them that failed
    recent: list[str] = field(default_factory=list)  # finished in the last days, newest first
    recent_failed: str = ""
    unsaved: list[str] = field(default_factory=list)  # made in the last hours, never saved
    archived: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.old) + len(self.recent) + len(self.unsaved) + len(self.archived)


def finished(n: int, status: str, at: float, *, saved: bool = False, **extra: object) -> TaskRecord:
    return TaskRecord(
        id=f"video_starvideos_o3_{BASE + n}",
        status=status,
        created=int(at - 300),
        added_at=at - 300,
        checked_at=at,
        updated_at=at,
        history=(("queued", at - 300), (status, at)),
        prompt=f"take {n}",
        local_path=f"/nowhere/take-{n}.mp4" if saved else None,
        **extra,  # type: ignore[arg-type]
    )


def year_of_history(watchlist: Watchlist, now: float, old: int = 300) -> History:
    """`old` tasks finished a year ago (saved, unsaved and failed), 5 finished in the last
    days (one failed), 3 unsaved from the last hours, 2 archived yesterday."""
    made = History()
    records: list[TaskRecord] = []
    for i in range(old):
        at = now - 365 * DAY + i * 60
        status = "failed" if i % 10 == 0 else "completed"
        records.append(finished(i, status, at, saved=i % 3 != 0))
        made.old.append(records[-1].id)
        if status == "failed":
            made.old_failed.append(records[-1].id)
    for k in range(5):
        status = "failed" if k == 2 else "completed"
        records.append(finished(1000 + k, status, now - (k + 1) * DAY, saved=True))
        made.recent.append(records[-1].id)
    made.recent_failed = made.recent[2]
    for k in range(3):
        records.append(finished(2000 + k, "completed", now - (k + 1) * 3600))
        made.unsaved.append(records[-1].id)
    for k in range(2):
        at = now - DAY / 2
        records.append(finished(3000 + k, "completed", at, archived=True, archived_at=at))
        made.archived.append(records[-1].id)
    watchlist.add(records)
    return made


def stored(watchlist: Watchlist) -> dict[str, TaskRecord]:
    """The watchlist as another process reads it, by task id."""
    return {r.id: r for r in Watchlist(watchlist.path).load()}
