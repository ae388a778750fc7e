"""The `?` screen: every key of the monitor, generated from the bindings themselves."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# The table's moving keys, a row per kind rather than one per key: every key of the
# monitor then fits an 80x24 terminal without scrolling.
MOVES = [
    ("↑ ↓  k j", "Move — one row"),
    ("PgUp PgDn", "Page — a screen up or down"),
    ("Home End  g G", "First, last row"),
    ("← →", "On the sheet (v) — the cell before or after"),
]
MOVE_ACTIONS = ("cursor(", "page(", "edge(", "step(")
FRAME = 4  # lines around the keys: the border, and a line of room
PLAY_ROW = "Play (no sound)"


def key_rows(bindings: list[Binding], display: object) -> list[tuple[str, str]]:
    """(key, what it does) for each binding, in order, without duplicates; the moving
    keys as three rows after the first binding (enter)."""
    rows: list[tuple[str, str]] = []
    seen: set[str] = set()
    row_of: dict[str, int] = {}  # several keys of one description: one row ("1 2 3  Rate")
    # The seeking arrows share the play key's row (they act only while a video plays).
    seeks = [display(b) for b in bindings if b.action.startswith("seek(")]  # type: ignore[operator]
    for binding in bindings:
        if binding.action.startswith("seek("):
            continue
        if binding.action == "play" and binding.description:
            rows.append((" ".join([display(binding), *seeks]), PLAY_ROW))  # type: ignore[operator]
            seen.add(binding.action)
            continue
        if binding.action.startswith(MOVE_ACTIONS):
            if not any(row in rows for row in MOVES):
                rows.extend(MOVES)
            continue
        if binding.action in seen or not binding.description:
            continue
        seen.add(binding.action)
        keys = display(binding)  # type: ignore[operator]
        what = binding.description
        if what in row_of:
            at = row_of[what]
            rows[at] = (f"{rows[at][0]} {keys}", rows[at][1])
            continue
        row_of[what] = len(rows)
        if binding.tooltip:
            what = f"{what} — {binding.tooltip}"
        rows.append((keys, what))
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
        rows = self.rows
        if len(rows) + FRAME > self.app.size.height:
            # Short of lines (80x24): two columns of keys, each with its name alone.
            half = (len(rows) + 1) // 2
            names = [(key, what.split(" — ")[0]) for key, what in rows]
            left, right = names[:half], names[half:]
            for _ in range(2):
                table.add_column(justify="right", style="bold")
                table.add_column()
            for at, (key, what) in enumerate(left):
                more = right[at] if at < len(right) else ("", "")
                table.add_row(key, what, *more)
        else:
            table.add_column(justify="right", style="bold")
            table.add_column()
            for key, what in rows:
                table.add_row(key, what)
        with VerticalScroll(id="dialog", classes="keys") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "esc closes"
            yield Static(table)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_dismiss_keys(self) -> None:
        self.dismiss(None)
