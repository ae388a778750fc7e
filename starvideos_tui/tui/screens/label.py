"""The `l` dialog: give a task a short label (searchable with `/`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

MAX_LABEL = 80


class LabelScreen(ModalScreen[str | None]):
    """Returns the new label ("" clears it), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, task_id: str, label: str) -> None:
        super().__init__()
        self.task_id = task_id
        self.label = label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Label for {self.task_id} — enter saves, esc cancels", markup=False)
            yield Input(self.label, max_length=MAX_LABEL, id="label")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(" ".join(event.value.split()))

    def action_cancel(self) -> None:
        self.dismiss(None)
