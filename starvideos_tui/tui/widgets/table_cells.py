"""What each cell of the watchlist table says, and in which colour: a row's cells made
from its record, download and the clock (task_table.py draws them, and keeps them until
they change)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.strip import Strip

from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.formatting import ago, due, link_left, seen, shorten, video_length
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.recordfields import MAX_RATING
from starvideos_tui.core.textsafe import clean
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.tui.widgets.columns import LABEL_MIN, PAD, short_id

Estimator = Callable[[TaskRecord, float], Estimate]
MARK = "▌"  # before a marked row (m, shift+arrows): a glyph, readable without colour


def row_cells(
    record: TaskRecord,
    download: DownloadState | None,
    now: float,
    colours: Mapping[str, str],
    estimate: Estimator | None,
    task_width: int,
    rating_width: int = 5,
) -> tuple[Text, ...]:
    """Status, task, age, length, due, seen, rating: `colours` are the theme's
    (rich_colour), `estimate` a running task's expected finish (eta.py), `task_width` and
    `rating_width` the widths of those columns."""
    look = status_look(record, download)
    colour = colours.get(look.colour, "")
    status = Text(f"{look.glyph} {look.word}", style=f"bold {colour}".strip())
    label = record.label or record.prompt
    shown = short_id(record.id, task_width, label=bool(label))
    task = Text(shown)
    if label and task_width - len(shown) - 2 >= LABEL_MIN:
        task.append(f"  {shorten(clean(label), 120)}", style="dim")
    age, link, seen = clock_cells(record, now, colours, estimate)
    length = Text(video_length(record), justify="right")
    return (status, task, age, length, link, seen, rating_cell(record, rating_width, colours))


def rating_cell(record: TaskRecord, width: int, colours: Mapping[str, str]) -> Text:
    """ "★★★★☆" (or "4★" in a short column), "✗ rej" (or "rej") for a rejected take, ""
    unrated: the glyphs and the word tell it without colour."""
    if record.rejected:
        return Text("✗ rej" if width >= 5 else "rej", colours.get("error", ""), justify="right")
    if not record.rating:
        return Text("")
    stars = record.rating
    shown = "★" * stars + "☆" * (MAX_RATING - stars) if width >= MAX_RATING else f"{stars}★"
    return Text(shown, colours.get("warning", ""), justify="right")


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


def lead(marked: bool, accent: str) -> Segment:
    """The padding before a cell; before a marked row's first cell, the MARK."""
    if marked:
        return Segment(MARK + " " * (PAD - 1), Style(bold=True, color=accent or None))
    return Segment(" " * PAD)


def note_line(note: str, console: Console) -> Strip:
    """A line said where the rows would be (none is shown): why, and how to see more."""
    return Strip(Text(" " * PAD + note, style="italic").render(console))


def cells_strip(
    cells: Sequence[Text],
    widths: Sequence[int],
    console: Console,
    accent: str,
    marked: bool,
    style: Style,
) -> Strip:
    """One row (or the header) as a strip: each cell cut or padded to its column's width
    (0: a column that gave way to the task's id), a marked row led by MARK."""
    segments: list[Segment] = []
    for cell, width in zip(cells, widths, strict=True):
        if not width:
            continue
        text = cell.copy()
        text.truncate(width, overflow="ellipsis")
        gap = " " * (width - text.cell_len)
        text = Text(gap) + text if cell.justify == "right" else text + gap
        segments.append(lead(marked and not segments, accent))
        # Text.render leaves the base style (a status's colour) to its caller.
        base = console.get_style(text.style) if text.style else None
        segments.extend(Segment.apply_style(text.render(console), base))
        segments.append(Segment(" " * PAD))
    return Strip(segments).apply_style(style)
