"""Which records the table shows, in which order: list operations, no Textual."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from starvideos_tui.models import TaskRecord
from starvideos_tui.vocabulary import DownloadState, status_look

SORTS = ("added", "status", "age", "id")
STATUS_ORDER = {"failed": 0, "processing": 1, "queued": 2, "new": 3, "completed": 4}


def visible(
    records: Iterable[TaskRecord],
    downloads: Mapping[str, DownloadState],
    filter_text: str,
    sort_mode: str,
) -> list[TaskRecord]:
    """The records matching `filter_text` (id, label, prompt or status word), sorted."""
    shown = list(records)
    if filter_text:
        needle = filter_text.lower()
        shown = [
            r
            for r in shown
            if needle in r.id.lower()
            or needle in (r.label or r.prompt or "").lower()
            or needle in status_look(r, downloads.get(r.id)).word
        ]
    if sort_mode == "status":
        shown.sort(key=lambda r: STATUS_ORDER.get(r.kind.value, 5))
    elif sort_mode == "age":
        shown.sort(key=lambda r: -(r.created or r.added_at or 0))
    elif sort_mode == "id":
        shown.sort(key=lambda r: r.id)
    return shown


def next_sort(mode: str) -> str:
    return SORTS[(SORTS.index(mode) + 1) % len(SORTS)]
