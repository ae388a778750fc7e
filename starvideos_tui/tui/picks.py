"""The keys that pick: ratings (`1`…`5`, `0`), rejects (`X`), archive (`A`), marks (`m`,
shift+arrows, `esc`) and the history key (`H`); and `d`, `x`, `l` on every marked row.

Each acts on "the chosen tasks" (`chosen_ids`): the marked ones, or else the selected
one. A view that selects otherwise (the contact sheet) overrides `selected_id` or
`chosen_ids`, and the same keys work there. Every change goes through the engine
(`Monitor.change`, one transaction for all the chosen tasks, seen by other processes) and
is told in one toast, with how to undo it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work

from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.recordfields import MAX_RATING
from starvideos_tui.tui.marks import Marks
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.screens.label import LabelScreen
from starvideos_tui.tui.sheet_actions import SheetActions
from starvideos_tui.tui.view import next_shows
from starvideos_tui.tui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from collections.abc import Callable


def tasks(n: int) -> str:
    return "1 task" if n == 1 else f"{n:,} tasks"


def stars(rating: int) -> str:
    return "★" * rating + "☆" * (MAX_RATING - rating)


class PickActions(SheetActions):
    marks: Marks  # set by the app
    shows: str  # view.SHOWS: "work", "history" or "archived"

    # -- what the keys act on --------------------------------------------------------------

    def chosen_ids(self) -> list[str]:
        """The marked tasks (those shown first, in the view's order), or else the
        selected one; [] when there is neither."""
        if self.marks:
            return self.marks.in_order(self.query_one(TaskTable).row_ids)
        task_id = self.selected_id
        return [task_id] if task_id is not None and task_id in self.records else []

    def _chosen(self) -> list[TaskRecord]:
        records = [self.records[i] for i in self.chosen_ids() if i in self.records]
        if not records:
            self.notify("No task selected. Press a to add task ids.", severity="warning")
        return records

    def key_for(self, binding_id: str, default: str) -> str:
        """The key a binding has for this user (config.toml's [keys] may move it)."""
        return self.config.keymap.get(binding_id, default)

    # -- marks -----------------------------------------------------------------------------

    def action_mark(self) -> None:
        """m: mark or unmark the selected row, and step down to the next."""
        table = self.query_one(TaskTable)
        task_id = table.selected_id
        if task_id is None:
            return
        self._marks_changed(self.marks.toggle(task_id))
        table.action_cursor(1)

    def action_mark_range(self, step: int) -> None:
        """shift+down/up: move and mark the range from where the first step started."""
        table = self.query_one(TaskTable)
        start = table.cursor_row
        end = max(0, min(start + step, table.row_count - 1))
        self._marks_changed(self.marks.extend(table.row_ids, start, end))
        table.action_cursor(end - start)

    def clear_marks(self) -> bool:
        """esc: unmark every row; False when none was marked."""
        if not self.marks:
            return False
        self._marks_changed(self.marks.clear())
        return True

    def _marks_changed(self, changed: set[str]) -> None:
        table = self.query_one(TaskTable)
        table.marks = self.marks.ids
        table.redraw_rows(changed)
        self.render_status()

    # -- the view --------------------------------------------------------------------------

    def action_toggle_history(self) -> None:
        """H: the work only → history too → archived tasks too → the work only."""
        self.shows = next_shows(self.shows)
        days = f"{self.config.history_days:g}"
        key = self.key_for("history", "H")
        said = {
            "work": f"the work only: tasks finished over {days} days ago and archived "
            f"ones are hidden ({key} shows them)",
            "history": f"history shown: tasks finished over {days} days ago "
            f"({key} again adds archived tasks)",
            "archived": f"history and archived tasks shown ({key} again: the work only)",
        }
        self.notify(said[self.shows])
        self.render_rows(changed=())

    # -- ratings, rejects, archive ---------------------------------------------------------

    def action_rate(self, rating: int) -> None:
        chosen = self._chosen()
        if not chosen:
            return
        ids = [r.id for r in chosen]
        what = f"★{rating}" if rating else "no rating"
        if len(ids) == 1:
            said = f"{stars(rating)} {ids[0]}" if rating else f"rating cleared: {ids[0]}"
        else:
            said = f"rated {tasks(len(ids))} {what}" if rating else f"cleared {tasks(len(ids))}"
        before = {r.id: r.rating for r in chosen}
        undo = ", ".join(sorted({f"★{n}" if n else "none" for n in before.values()}))
        self.change_tasks(ids, lambda r: replace(r, rating=rating), f"{said} (was {undo})")

    def action_reject(self) -> None:
        chosen = self._chosen()
        if not chosen:
            return
        ids = [r.id for r in chosen]
        reject = not all(r.rejected for r in chosen)
        key = self.key_for("reject", "X")
        word = "rejected" if reject else "no longer rejected"
        said = f"{word}: {ids[0]}" if len(ids) == 1 else f"{word}: {tasks(len(ids))}"
        self.change_tasks(
            ids, lambda r: replace(r, rejected=reject), f"{said} ({key} again undoes it)"
        )

    def action_archive(self) -> None:
        chosen = self._chosen()
        if not chosen:
            return
        ids = [r.id for r in chosen]
        archive = not all(r.archived for r in chosen)
        key, history = self.key_for("archive", "A"), self.key_for("history", "H")
        now = self.config.wall_clock()

        def change(record: TaskRecord) -> TaskRecord:
            if not archive:
                return replace(record, archived=False, archived_at=None)
            return replace(record, archived=True, archived_at=record.archived_at or now)

        if archive:
            said = (
                f"archived {tasks(len(ids))}: kept, not polled, hidden · to undo: "
                f"{history} {history} shows archived tasks, {key} unarchives"
            )
        else:
            said = f"unarchived {tasks(len(ids))} ({key} archives again)"
        self.change_tasks(ids, change, said)
        if archive and self.shows != "archived":  # their rows go: so do their marks
            self.marks.ids.difference_update(ids)
            self._marks_changed(set(ids))

    @work(group="edits", exit_on_error=False)
    async def change_tasks(
        self, ids: list[str], change: Callable[[TaskRecord], TaskRecord], said: str
    ) -> None:
        try:
            await self.monitor.change(ids, change)
        except StarVideosError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(said)

    # -- d, x, l on the marked rows ---------------------------------------------------------

    def action_download(self) -> None:
        if not self.marks:
            super().action_download()
            return
        started, saved, waiting = [], 0, 0
        for record in self._chosen():
            if record.id in self.downloads:
                started.append(record.id)  # on its way already
            elif record.local_path:
                saved += 1
            elif record.kind is TaskStatus.COMPLETED:
                self.monitor.downloads.start(record.id)
                started.append(record.id)
            else:
                waiting += 1
        parts = [f"saving {tasks(len(started))}"] if started else []
        parts += [f"{saved:,} saved already"] if saved else []
        parts += [f"{tasks(waiting)} without a video yet"] if waiting else []
        self.notify(" · ".join(parts) or "nothing to save")

    def action_remove(self) -> None:
        if not self.marks:
            super().action_remove()
            return
        ids = [r.id for r in self._chosen()]
        if not ids:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_tasks(ids)

        self.push_screen(
            ConfirmScreen(f"Stop watching {tasks(len(ids))} (the marked ones)?"), answered
        )

    @work(group="edits", exit_on_error=False)
    async def remove_tasks(self, ids: list[str]) -> None:
        try:
            outcome = await self.monitor.remove(ids)
        except StarVideosError as exc:
            self.notify(str(exc), severity="error")
            return
        self._marks_changed(self.marks.keep_only(self.records))
        self.notify(f"removed {tasks(sum(1 for _, gone in outcome if gone))}")

    def action_edit_label(self) -> None:
        if not self.marks:
            super().action_edit_label()
            return
        chosen = self._chosen()
        if not chosen:
            return
        ids = [r.id for r in chosen]
        labels = {r.label or "" for r in chosen}
        current = labels.pop() if len(labels) == 1 else ""

        async def save(_: str, label: str | None) -> None:
            await self.monitor.change(ids, lambda r: replace(r, label=label))
            self.notify(f"labelled {tasks(len(ids))}: {label}" if label else "labels cleared")

        self.push_screen(LabelScreen(tasks(len(ids)), current, save))
