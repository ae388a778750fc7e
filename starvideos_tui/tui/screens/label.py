"""The `l` dialog: give a task a short label (searchable with `/`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from starvideos_tui.core.errors import StarVideosError

MAX_LABEL = 80


Save = Callable[[str, str | None], Awaitable[None]]


class LabelScreen(ModalScreen[str | None]):
    """Saves the new label through `save` (the engine's; "" clears it) and returns it, or
    None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, task_id: str, label: str, save: Save) -> None:
        super().__init__()
        self.task_id = task_id
        self.label = label
        self.save = save

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Label for {self.task_id}", markup=False, classes="title")
            yield Input(self.label, max_length=MAX_LABEL, id="label")
            yield Label("enter saves · esc cancels · an empty label clears it", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        label = " ".join(event.value.split())
        self.app.run_worker(self._saved(label or None), group="edits", exit_on_error=False)
        self.dismiss(label)

    async def _saved(self, label: str | None) -> None:
        try:
            await self.save(self.task_id, label)
        except StarVideosError as exc:
            self.app.notify(str(exc), severity="error", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
