"""`v`: the contact sheet in the table's place, and back. The selection goes with it:
the task selected in one view is selected in the other (when it is saved), so the side
panel and every key (tasks.py acts on `selected_id`, whichever view is shown) stay on it.
"""

from __future__ import annotations

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.tui.tasks import TaskActions
from starvideos_tui.tui.widgets.contact_sheet import ContactSheet
from starvideos_tui.tui.widgets.task_table import TaskTable


def saved(records: list[TaskRecord]) -> list[TaskRecord]:
    """What the sheet shows of the table's rows: the tasks with a saved video."""
    return [r for r in records if r.local_path]


class SheetActions(TaskActions):
    def action_toggle_sheet(self) -> None:
        table, sheet = self.query_one(TaskTable), self.query_one(ContactSheet)
        if sheet.display:
            selected = sheet.selected_id
            sheet.display, table.display = False, True
            table.focus()
            if selected is not None and selected in table.row_ids:
                table.move_cursor(row=table.row_ids.index(selected))
        else:
            selected = table.selected_id
            sheet.display, table.display = True, False
            self.render_rows(changed=())  # the sheet takes the table's rows now
            sheet.select(selected)
            sheet.focus()
        self.render_status()
        self.render_panel()

    def sheet_shown(self) -> ContactSheet | None:
        sheet = self.query_one(ContactSheet)
        return sheet if sheet.display else None
