"""Marked rows: the tasks that `d`, `x`, `l`, archive, ratings and rejects act on together.

`m` marks or unmarks one row; shift+arrows mark a range from where they started (the
anchor) to the cursor, over what was marked before, as a file manager does: going back
over the range unmarks what it passed. Marks stay on their tasks through filters and sorts
(a mark on a row a filter hides still counts, as a selection does in a photo browser) and
go with the tasks removed. No Textual here: list operations on task ids.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence


class Marks:
    def __init__(self) -> None:
        self.ids: set[str] = set()
        self._anchor: str | None = None  # where the shift+arrow range started
        self._before: frozenset[str] = frozenset()  # the marks before that range
        self._cursor: str | None = None  # where the range's last step left the cursor

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, task_id: object) -> bool:
        return task_id in self.ids

    def toggle(self, task_id: str) -> set[str]:
        """Mark or unmark one task; returns the tasks whose mark changed."""
        self._anchor = None
        self.ids.symmetric_difference_update({task_id})
        return {task_id}

    def clear(self) -> set[str]:
        self._anchor = None
        changed, self.ids = self.ids, set()
        return changed

    def keep_only(self, known: Collection[str]) -> set[str]:
        """Forget the marks of tasks no longer watched."""
        gone = {task_id for task_id in self.ids if task_id not in known}
        self.ids -= gone
        return gone

    def extend(self, order: Sequence[str], start: int, end: int) -> set[str]:
        """The cursor moved from row `start` to row `end` of `order` with shift held: the
        range from the anchor (where the first such step started) to `end` is marked, over
        the marks made before it. Returns the tasks whose mark changed."""
        if not order:
            return set()
        end = max(0, min(end, len(order) - 1))
        here = order[start] if 0 <= start < len(order) else None
        if self._anchor is None or self._cursor != here or self._anchor not in self.ids:
            self._anchor, self._before = here, frozenset(self.ids)  # a new range starts
        try:
            anchor = order.index(self._anchor) if self._anchor is not None else start
        except ValueError:  # the anchor's row went (a filter): start again from here
            anchor, self._anchor, self._before = start, here, frozenset(self.ids)
        low, high = sorted((anchor, end))
        marked = set(self._before).union(order[low : high + 1])
        changed = marked ^ self.ids
        self.ids = marked
        self._cursor = order[end]
        return changed

    def in_order(self, order: Sequence[str]) -> list[str]:
        """The marked tasks, those in `order` first and in its order, then any other."""
        if not self.ids:
            return []
        shown = [task_id for task_id in order if task_id in self.ids]
        if len(shown) < len(self.ids):
            placed = set(shown)
            shown += sorted(task_id for task_id in self.ids if task_id not in placed)
        return shown
