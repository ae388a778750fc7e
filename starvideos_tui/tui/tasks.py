"""What the keys do to tasks (download, add, remove, refresh, copy, new, resubmit, label,
auto-download), each through the engine, and the engine's state as they read it. The app
(app.py) is a `TaskActions`: it adds the engine's events, the rendering and the view's
keys (panel, filter, sort, help)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.formatting import short_id
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.session import StarVideosClient
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.presenter import toast_path
from starvideos_tui.tui.screens.add_ids import AddIdsScreen
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.screens.label import LabelScreen
from starvideos_tui.tui.screens.new_task import NewTaskScreen
from starvideos_tui.tui.widgets.contact_sheet import ContactSheet
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.task_table import TaskTable


class TaskActions(App[None]):
    config: AppConfig  # set by the app
    monitor: Monitor

    if TYPE_CHECKING:  # the app's rendering (app.py)

        def render_rows(self, changed: Collection[str] | None = None) -> None: ...

        def render_status(self) -> None: ...

        def render_panel(self) -> None: ...

    # -- the engine's state, as the actions, tests and the screenshots read it ------------

    @property
    def client(self) -> StarVideosClient | None:
        return self.monitor.client

    @client.setter
    def client(self, client: StarVideosClient | None) -> None:
        self.monitor.client = client
        if self.monitor.poller is not None and client is not None:
            self.monitor.poller.client = client

    @property
    def records(self) -> dict[str, TaskRecord]:
        return self.monitor.records

    @property
    def downloads(self) -> dict[str, DownloadState]:
        return self.monitor.downloads.states

    @property
    def schedule(self) -> PollSchedule:
        return self.monitor.schedule

    @property
    def auto_download(self) -> bool:
        return self.monitor.auto_download

    @property
    def selected_id(self) -> str | None:
        """The task the keys act on: the selected row, or cell of the contact sheet."""
        return self.main_view().selected_id

    def main_view(self) -> TaskTable | ContactSheet:
        """The table, or the contact sheet when `v` shows it in the table's place."""
        sheet = self.query_one(ContactSheet)
        return sheet if sheet.display else self.query_one(TaskTable)

    def chosen_ids(self) -> list[str]:
        """The tasks a key acts on, in the view shown (the selected one)."""
        task_id = self.selected_id
        return [task_id] if task_id else []

    def _selected_record(self) -> TaskRecord | None:
        task_id = self.selected_id
        record = self.records.get(task_id) if task_id else None
        if record is None:
            self.notify("No task selected. Press a to add task ids.", severity="warning")
        return record

    # -- what the keys do ----------------------------------------------------------------

    def action_download(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        if record.kind is TaskStatus.FAILED:
            self.open_panel()
            return
        if record.local_path and record.id not in self.downloads:
            self.notify(f"already saved:\n{toast_path(record.local_path)}")
            return
        if record.kind is not TaskStatus.COMPLETED:
            word = status_look(record).word
            self.notify(f"{short_id(record.id)} has no video yet ({word})", severity="warning")
            return
        self.monitor.downloads.start(record.id)

    def open_panel(self) -> None:
        """The side panel, on the selected task."""
        self.query_one(DetailPanel).add_class("-open")
        self.render_panel()

    def action_add(self) -> None:
        self.push_screen(AddIdsScreen(self.monitor.add))

    def action_remove(self) -> None:
        record = self._selected_record()
        if record is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.remove_task(record.id)

        self.push_screen(ConfirmScreen(f"Stop watching {record.id}?"), answered)

    @work(group="edits", exit_on_error=False)
    async def remove_task(self, task_id: str) -> None:
        try:
            await self.monitor.remove([task_id])
        except StarVideosError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify(f"removed {short_id(task_id)}")

    def action_refresh(self) -> None:
        record = self._selected_record()
        if record is not None:
            self._poll([record])

    def action_refresh_all(self) -> None:
        self._poll([r for r in self.records.values() if r.needs_polling])

    def _poll(self, records: list[TaskRecord]) -> None:
        if self.monitor.poller is None:
            self.notify(self.config.api_note or "polling is off", severity="warning")
            return
        final = [r for r in records if r.is_final]
        if len(records) == 1 and final:
            record = final[0]
            said = f"{short_id(record.id)} is {record.status}: final tasks are not polled again"
            self.notify(said)
            return
        self.monitor.poll_now(r.id for r in records)
        if self.schedule.is_paused():
            self.notify("Rate limited: the refresh waits for the API's Retry-After.")
        elif len(records) == 1:
            self.notify(f"polling {short_id(records[0].id)}")

    def action_copy(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        self.copy_to_clipboard(record.video_url or record.id)
        what = "video URL" if record.video_url else "task id"
        self.notify(f"copied the {what} (OSC 52; in tmux: set -g set-clipboard on)")

    def action_toggle_auto(self) -> None:
        self.monitor.set_auto_download(not self.auto_download)
        self.notify(f"auto-download {'on' if self.auto_download else 'off'}")
        self.render_status()

    def action_new_task(self, values: dict[str, str] | None = None) -> None:
        if self.client is None:
            self.notify(self.config.api_note or "no API client", severity="warning")
            return
        self.push_screen(NewTaskScreen(self.monitor.create, values), self._created)

    def action_resubmit(self) -> None:
        record = self._selected_record()
        if record is not None:
            self.action_new_task(NewTaskScreen.values_of(record, self.notify))

    def _created(self, task_id: str | None) -> None:
        if task_id is None:
            return
        self.notify(f"submitted {short_id(task_id)}", title="Task created")
        self.render_rows()
        table = self.query_one(TaskTable)
        if task_id in table.row_ids:
            table.move_cursor(row=table.row_ids.index(task_id))

    def action_edit_label(self) -> None:
        record = self._selected_record()
        if record is not None:
            self.push_screen(LabelScreen(record.id, record.label or "", self.monitor.set_label))
