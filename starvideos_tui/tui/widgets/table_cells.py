"""What each cell of the watchlist table says, and in which colour: a row's cells made
from its record, download and the clock (task_table.py draws them, and keeps them until
they change)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.text import Text
from textual.color import Color

from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.formatting import ago, due, link_left, seen, shorten, video_length
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.textsafe import clean
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.tui.widgets.columns import LABEL_MIN, short_id

Estimator = Callable[[TaskRecord, float], Estimate]


def row_cells(
    record: TaskRecord,
    download: DownloadState | None,
    now: float,
    colours: Mapping[str, str],
    estimate: Estimator | None,
    task_width: int,
) -> tuple[Text, ...]:
    """Status, task, age, length, due, seen: `colours` are the theme's (rich_colour),
    `estimate` a running task's expected finish (eta.py), `task_width` the task column's."""
    look = status_look(record, download)
    colour = colours.get(look.colour, "")
    status = Text(f"{look.glyph} {look.word}", style=f"bold {colour}".strip())
    label = record.label or record.prompt
    shown = short_id(record.id, task_width, label=bool(label))
    task = Text(shown)
    if label and task_width - len(shown) - 2 >= LABEL_MIN:
        task.append(f"  {shorten(clean(label), 120)}", style="dim")
    age, link, seen = clock_cells(record, now, colours, estimate)
    return (status, task, age, Text(video_length(record), justify="right"), link, seen)


def clock_cells(
    record: TaskRecord, now: float, colours: Mapping[str, str], estimate: Estimator | None
) -> tuple[Text, Text, Text]:
    """The cells that change with the clock alone: age, what is due (a running task's
    expected finish, a link's time left or age), last seen."""
    created = record.created or record.added_at
    shown, urgency = link_left(record, now)
    if not record.is_final and estimate is not None:
        shown, urgency = due(estimate(record, now), now)
    colour = colours.get(urgency, "") if urgency else ""
    link = Text(shown, justify="right", style=f"bold {colour}".strip() if shown != "-" else "")
    last = seen(record, now)
    return (
        Text(ago(now - created) if created else "-", justify="right"),
        link,
        Text(last, justify="right"),
    )


def rich_colour(value: str) -> str:
    """A theme's colour as Rich draws it: an ANSI colour stays the terminal's own (its
    palette, in 16 colours), any other is its RGB."""
    if value.startswith("ansi_"):  # "ansi_bright_green" -> "bright_green"; an alpha
        return value.split()[0].removeprefix("ansi_")  # ("ansi_default 60%") is dropped
    return Color.parse(value).hex6


def same_look(before: Text, after: Text) -> bool:
    """Text's own == ignores the base style, which carries a status's colour."""
    return before == after and before.style == after.style
