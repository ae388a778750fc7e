"""One cell of the contact sheet, as CELL_H strips CELL_W cells wide: a thumbnail (or a
placeholder, or why there is none), then two lines of text (status glyph, short id,
length and rating; the label or the prompt), then a blank line between rows of cells.

The picture's area is a fixed rectangle of the cell (`PICTURE`), drawn here in
half-blocks; a picture in the terminal's own pixels (Sixel, kitty) can later be placed
over exactly that rectangle, the half-blocks staying as what shows until it is drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from starvideos_tui.core.formatting import display_width, shorten, video_length
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.textsafe import clean
from starvideos_tui.core.vocabulary import DownloadState, status_look
from starvideos_tui.engine.frames import UPPER_HALF, Picture
from starvideos_tui.engine.thumbnails import Problem, Thumb
from starvideos_tui.tui.widgets.picture import Drawing

CELL_W = 26  # columns a cell takes, its margins included
CELL_H = 10  # lines: the picture, two of text, one blank
MARGIN = 1  # columns each side of the picture and the text
INNER = CELL_W - 2 * MARGIN  # 24: the picture's and the text's width
PIC_ROWS = CELL_H - 3  # 7 lines of half-blocks: 24 x 14 pixels, about 16:9
PICTURE = Region(MARGIN, 0, INNER, PIC_ROWS)  # where the picture sits, in the cell
STAR = "★"


SHEET_CSS = """
ContactSheet {
    background: $surface;
    color: $foreground;
    & > .contact-sheet--placeholder { background: $panel; color: $text-muted; }
    & > .contact-sheet--problem { background: $panel; color: $warning; }
    & > .contact-sheet--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
    }
    &:focus > .contact-sheet--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    &:ansi > .contact-sheet--placeholder { background: ansi_default; color: ansi_default; }
    &:ansi > .contact-sheet--cursor { background: ansi_bright_black; color: ansi_bright_white; }
    &:ansi:focus > .contact-sheet--cursor { background: ansi_blue; color: ansi_bright_white; }
    &:nocolor > .contact-sheet--cursor { text-style: reverse; }
}
"""


@dataclass(frozen=True)
class CellLook:
    """The styles a cell is drawn with (the sheet's component classes, the theme's
    status colours)."""

    base: Style
    frame: Style  # the margins and text lines: the cursor's colours on the selected cell
    placeholder: Style
    problem: Style
    dim: Style
    colours: Mapping[str, str]


def cell_look(sheet: Widget, how: int, colours: Mapping[str, str]) -> CellLook:
    """How `sheet` draws a cell (`how`: 0 plain, 1 the cursor's, 2 the focused cursor's)."""
    base = sheet.rich_style
    part = sheet.get_component_rich_style
    return CellLook(
        base=base,
        frame=base + part("contact-sheet--cursor") if how else base,
        placeholder=base + part("contact-sheet--placeholder"),
        problem=base + part("contact-sheet--problem"),
        dim=Style(dim=True),
        colours=colours,
    )


def short_id(task_id: str, width: int) -> str:
    """The id's distinctive end, cut from the front: "…5550001111" (every id starts
    "video_starvideos_o3_")."""
    if len(task_id) <= width:
        return task_id
    head, _, tail = task_id.rpartition("_")
    if head and 6 <= len(tail) < width:
        return f"…{tail}"
    return "…" + task_id[len(task_id) - width + 1 :] if width > 1 else "…"


def rating_text(record: TaskRecord) -> str:
    if record.rejected:
        return "rejected"
    return STAR * max(0, min(5, record.rating))


def cell_lines(
    record: TaskRecord,
    download: DownloadState | None,
    thumb: Thumb | None,
    look: CellLook,
    note: str = "",
    pixels: Drawing | None = None,
) -> list[Strip]:
    """The cell's CELL_H lines. `thumb` None: a placeholder saying `note` (or that the
    picture is being made). With `pixels` (the picture in the terminal's own pixels), the
    picture's area is blank for them to be drawn over, or holds their placeholder cells."""
    margin = Segment(" " * MARGIN, look.frame)
    if pixels is not None:
        picture = _pixel_lines(pixels, look.base)
    else:
        picture = _picture_lines(thumb, look, note or "making the picture…")
    lines = [Strip([margin, *segments, margin], CELL_W) for segments in picture]
    lines.append(Strip([margin, *_first_line(record, download, look), margin], CELL_W))
    lines.append(Strip([margin, *_second_line(record, look), margin], CELL_W))
    lines.append(Strip([Segment(" " * CELL_W, look.base)], CELL_W))
    return lines


def _picture_lines(thumb: Thumb | None, look: CellLook, note: str) -> list[list[Segment]]:
    if isinstance(thumb, Picture) and thumb.rows:
        return _half_blocks(thumb, look.base)
    if isinstance(thumb, Problem):
        return _boxed(thumb.reason, look.problem)
    return _boxed(note, look.placeholder)


def pixels_offset(drawing: Drawing) -> tuple[int, int]:
    """Where `drawing` starts in the picture's area: centred."""
    return (INNER - min(INNER, drawing.columns)) // 2, (PIC_ROWS - min(PIC_ROWS, drawing.rows)) // 2


def _pixel_lines(drawing: Drawing, base: Style) -> list[list[Segment]]:
    """The picture's area blank, but for kitty's placeholder cells (text), centred."""
    left, top = pixels_offset(drawing)
    blank = [Segment(" " * INNER, base)]
    out: list[list[Segment]] = [blank] * PIC_ROWS
    if drawing.kind == "placeholders":
        for n, line in enumerate(drawing.lines[: PIC_ROWS - top]):
            strip = line.crop(0, INNER - left)
            right = INNER - left - strip.cell_length
            out[top + n] = [Segment(" " * left, base), *strip, Segment(" " * right, base)]
    return out


def _half_blocks(picture: Picture, base: Style) -> list[list[Segment]]:
    """The picture centred in the INNER x PIC_ROWS area."""
    width = min(INNER, picture.width)
    rows = picture.rows[:PIC_ROWS]
    left = (INNER - width) // 2
    top = (PIC_ROWS - len(rows)) // 2
    blank = [Segment(" " * INNER, base)]
    out: list[list[Segment]] = [blank] * top
    for row in rows:
        segments = [Segment(" " * left, base)] if left else []
        for upper, lower in row[:width]:
            style = Style(color=Color.from_rgb(*upper), bgcolor=Color.from_rgb(*lower))
            segments.append(Segment(UPPER_HALF, style))
        if INNER - left - width:
            segments.append(Segment(" " * (INNER - left - width), base))
        out.append(segments)
    out.extend([blank] * (PIC_ROWS - len(out)))
    return out


def _boxed(text: str, style: Style) -> list[list[Segment]]:
    """A box of `style` with `text` wrapped and centred in it."""
    words = text.split()
    wrapped: list[str] = []
    for word in words:
        if wrapped and display_width(wrapped[-1]) + 1 + display_width(word) <= INNER - 2:
            wrapped[-1] += " " + word
        else:
            wrapped.append(shorten(word, INNER - 2))
    wrapped = wrapped[:PIC_ROWS]
    top = (PIC_ROWS - len(wrapped)) // 2
    out = []
    for y in range(PIC_ROWS):
        line = wrapped[y - top] if 0 <= y - top < len(wrapped) else ""
        left = (INNER - display_width(line)) // 2
        out.append([Segment(" " * left + line + " " * (INNER - left - display_width(line)), style)])
    return out


def _first_line(
    record: TaskRecord, download: DownloadState | None, look: CellLook
) -> list[Segment]:
    """ "✓ …5550001111     3s ★★★★": glyph, short id; length and rating on the right."""
    status = status_look(record, download)
    colour = look.colours.get(status.colour, "")
    glyph_style = look.frame + Style.parse(colour) if colour else look.frame
    length = video_length(record)
    parts = (length if length != "-" else "", rating_text(record))
    right = " ".join(part for part in parts if part)
    room = INNER - 2 - display_width(right) - (1 if right else 0)
    shown = short_id(record.id, max(1, room))
    gap = INNER - 2 - len(shown) - display_width(right)
    return [
        Segment(status.glyph[:1] or " ", glyph_style),
        Segment(" " + shown + " " * max(0, gap) + right, look.frame),
    ]


def _second_line(record: TaskRecord, look: CellLook) -> list[Segment]:
    """The label, or the prompt (dimmed) when there is none."""
    if record.label:
        text, style = clean(record.label), look.frame
    else:
        text, style = clean(record.prompt or ""), look.frame + look.dim
    text = shorten(" ".join(text.split()), INNER)
    return [Segment(text + " " * (INNER - display_width(text)), style)]


def empty_line(y: int, width: int, base: Style) -> Strip:
    """Line `y` of a sheet with no cells: what to do about it, on its second line."""
    if y != 1:
        return Strip.blank(width, base)
    text = "  No saved videos match. v: back to the table; / changes the filter."
    return Strip([Segment(text[:width], base)]).extend_cell_length(width, base)
