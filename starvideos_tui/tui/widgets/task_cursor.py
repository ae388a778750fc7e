"""What a view of tasks (the table, the contact sheet) says when its cursor moves: one
message for both, so the app follows the selection the same way whichever is shown."""

from __future__ import annotations

from textual.message import Message


class TaskHighlighted(Message):
    """The cursor moved to another task (or the same place now holds another task)."""

    def __init__(self, task_id: str | None) -> None:
        super().__init__()
        self.task_id = task_id
