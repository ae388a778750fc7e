"""The `a` dialog: paste one or many task ids; bad ones are named and stay for fixing."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.models import InvalidTaskId, validate_task_id
from starvideos_tui.core.textsafe import clean

_SEPARATORS = re.compile(r"[\s,;]+")


def split_ids(text: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The valid ids in `text` (in order, no repeats) and the refused ones with why."""
    good: dict[str, None] = {}  # ordered, and a repeat check that stays fast for 50k ids
    bad: list[tuple[str, str]] = []
    for token in _SEPARATORS.split(text.strip()):
        if not token:
            continue
        try:
            validate_task_id(token)
        except InvalidTaskId as exc:
            bad.append((token, str(exc)))
        else:
            good[token] = None
    return list(good), bad


Add = Callable[[list[str]], Awaitable[list[tuple[str, bool]]]]


class AddIdsScreen(ModalScreen[list[str]]):
    """Adds the valid ids through `add` (the engine's) and says how many; returns them."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Add", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, add: Add) -> None:
        super().__init__()
        self.add = add

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Add task ids — paste one or many (spaces, commas or new lines)")
            yield TextArea(id="ids", soft_wrap=True, show_line_numbers=False)
            yield Static("", id="add-error", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Add  ctrl+s", variant="primary", id="add")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add":
            self.action_submit()
        else:
            self.action_cancel()

    def action_submit(self) -> None:
        area = self.query_one(TextArea)
        good, bad = split_ids(area.text)
        if good:
            self.app.run_worker(self._added(good), group="edits", exit_on_error=False)
        if not bad:
            self.dismiss(good)
            return
        # Keep the dialog open on the refused ids; the good ones are added right away.
        area.text = "\n".join(token for token, _ in bad)
        lines = [f"{len(bad)} refused:"] + [clean(why) for _, why in bad[:3]]
        self.query_one("#add-error", Static).update(Text("\n".join(lines), style="bold"))

    async def _added(self, ids: list[str]) -> None:
        # A worker of the app's: it outlives the dialog.
        try:
            outcome = await self.add(ids)
        except StarVideosError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        kept = sum(1 for _, added in outcome if not added)
        added = len(outcome) - kept
        also = f", {kept} already watched" if kept else ""
        self.app.notify(f"added {added} task(s){also}", markup=False)

    def action_cancel(self) -> None:
        self.dismiss([])
