"""The `a` dialog: paste one or many task ids; bad ones are named and stay for fixing."""

from __future__ import annotations

import re

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static, TextArea

from starvideos_tui.models import InvalidTaskId, validate_task_id
from starvideos_tui.textsafe import clean

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


class IdsAdded(Message):
    """Some pasted ids were valid and should be added while the dialog stays open."""

    def __init__(self, ids: list[str]) -> None:
        super().__init__()
        self.ids = ids


class AddIdsScreen(ModalScreen[list[str]]):
    """Returns the valid ids to add (maybe none)."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Add", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

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
        if not bad:
            self.dismiss(good)
            return
        # Keep the dialog open on the refused ids; the good ones are added right away.
        if good:
            self.app.post_message(IdsAdded(good))
        area.text = "\n".join(token for token, _ in bad)
        lines = [f"{len(bad)} refused:"] + [clean(why) for _, why in bad[:3]]
        self.query_one("#add-error", Static).update(Text("\n".join(lines), style="bold"))

    def action_cancel(self) -> None:
        self.dismiss([])
