"""The `/` filter: an input that hides itself, cleared, on escape."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Input


class FilterBox(Input):
    BINDINGS = [Binding("escape", "clear_filter", "Clear filter")]

    def action_clear_filter(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.screen.focus_next()
