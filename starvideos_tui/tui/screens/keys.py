"""The `?` screen: every key of the monitor, generated from the bindings themselves."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def key_rows(bindings: list[Binding], display: object) -> list[tuple[str, str]]:
    """(key, what it does) for each binding, in order, without duplicates."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    for binding in bindings:
        if binding.action in seen or not binding.description:
            continue
        seen.add(binding.action)
        what = binding.description
        if binding.tooltip:
            what = f"{what} — {binding.tooltip}"
        rows.append((display(binding), what))  # type: ignore[operator]
    return rows


class KeysScreen(ModalScreen[None]):
    """Scrollable with the arrow keys; `?`, `esc` or `q` closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss_keys", "Close", show=False),
    ]

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(justify="right", style="bold")
        table.add_column()
        for key, what in self.rows:
            table.add_row(key, what)
        with VerticalScroll(id="dialog", classes="keys"):
            yield Static("Keys  (↑/↓ scroll, esc closes)", classes="title")
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_dismiss_keys(self) -> None:
        self.dismiss(None)
