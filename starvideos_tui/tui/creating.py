"""Creating tasks from the monitor (`n`, `N`) and labelling them (`l`)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from starvideos_tui.models import CreateRequest, TaskRecord
from starvideos_tui.store import WatchlistError
from starvideos_tui.tui.screens.label import LabelScreen
from starvideos_tui.tui.screens.new_task import NewTaskScreen, request_from_params
from starvideos_tui.tui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from starvideos_tui.tui.app import StarVideosApp

    _Base = StarVideosApp
else:
    _Base = object


class CreatingMixin(_Base):
    def action_new_task(self, values: dict[str, str] | None = None) -> None:
        if self.client is None:
            self.notify(self.config.api_note or "no API client", severity="warning")
            return
        self.push_screen(NewTaskScreen(self.submit_task, values), self._created)

    def action_resubmit(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        values = request_from_params(record.params)
        if not record.params:
            values["prompt"] = record.prompt or ""
            self.notify("This task was not created here: only its prompt is known.")
        self.action_new_task(values)

    async def submit_task(self, request: CreateRequest) -> str:
        """Send `request` and watch the new task; raises ApiError for the form to show."""
        assert self.client is not None
        result = await self.client.create_task(request)
        record = TaskRecord.created_here(result, request, self.config.wall_clock())
        await asyncio.to_thread(self.watchlist.add, [record])
        return result.id

    def _created(self, task_id: str | None) -> None:
        if task_id is None:
            return
        self.reload_records()
        self.notify(f"submitted {task_id}", title="Task created")
        table = self.query_one(TaskTable)
        if task_id in table.row_ids:
            table.move_cursor(row=table.row_ids.index(task_id))

    def action_edit_label(self) -> None:
        record = self._selected_record()
        if record is None:
            return

        def save(label: str | None) -> None:
            if label is None:
                return
            try:
                self.watchlist.update({record.id: lambda r: replace(r, label=label or None)})
            except WatchlistError as exc:
                self.notify(str(exc), severity="error")
                return
            self.reload_records()

        self.push_screen(LabelScreen(record.id, record.label or ""), save)
