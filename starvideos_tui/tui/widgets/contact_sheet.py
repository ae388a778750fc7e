"""The contact sheet: the saved tasks the filter and sort select, as a grid of thumbnails
(`v` shows it in place of the table). It draws only the lines on screen (Textual's Line
API, as the table does): a line is the same line of each cell of one grid row, each
cell's lines cached by task id and by how it is drawn (plain, cursor, focused cursor).

Thumbnails are made off the loop (engine/thumbnails.py, two at once) for the cells on
screen only, asked for again whenever the cells on screen change; a cell shows a
placeholder until its picture arrives. Cells are CELL_W x CELL_H whatever the terminal:
a wider one gets more columns, a taller one more rows.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.engine.thumbnails import Job, Thumb, Thumbnails
from starvideos_tui.tui.bindings import SHEET_BINDINGS
from starvideos_tui.tui.widgets.sheet_cells import (
    CELL_H,
    CELL_W,
    INNER,
    PIC_ROWS,
    PICTURE,
    CellLook,
    cell_lines,
)

THUMBS_KEPT = 240  # thumbnails kept for cells not on screen (a few pages back and forth)
LINES_KEPT = 120  # cells kept drawn (their strips), the screen's and a few pages' more


class ContactSheet(ScrollView, can_focus=True):
    """Cells keyed by task id; `show()` redraws only the cells whose task changed."""

    BINDINGS: ClassVar[list[BindingType]] = [*SHEET_BINDINGS]

    COMPONENT_CLASSES = {
        "contact-sheet--cursor",
        "contact-sheet--placeholder",
        "contact-sheet--problem",
    }

    DEFAULT_CSS = """
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

    class CellHighlighted(Message):
        """The cursor moved to another task."""

        def __init__(self, task_id: str | None) -> None:
            super().__init__()
            self.task_id = task_id

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._order: list[str] = []
        self._shown: dict[str, tuple[TaskRecord, DownloadState | None]] = {}
        self._lines: OrderedDict[tuple[str, int], list[Strip]] = OrderedDict()
        self._thumbs: OrderedDict[str, tuple[Job, Thumb]] = OrderedDict()
        self.cursor = 0
        self.colours: dict[str, str] = {}
        self.cache: Path | None = None  # the frame cache; None: no pictures
        self.pictures = True  # False: NO_COLOR or --preview off, words only
        self.maker: Thumbnails | None = None
        self._asking = False
        self._arriving: set[Job] = set()  # made in a thread, not handed to the loop yet
        self._loop: asyncio.AbstractEventLoop | None = None

    def on_mount(self) -> None:
        self._loop = asyncio.get_running_loop()

    def on_unmount(self) -> None:
        if self.maker is not None:
            self.maker.close()

    # -- what the app asks ---------------------------------------------------------------

    @property
    def columns(self) -> int:
        width = self.scrollable_content_region.width or self.size.width
        return max(1, width // CELL_W)

    @property
    def cell_ids(self) -> list[str]:
        return list(self._order)

    @property
    def selected_id(self) -> str | None:
        if 0 <= self.cursor < len(self._order):
            return self._order[self.cursor]
        return None

    def show(self, records: Sequence[TaskRecord], downloads: Mapping[str, DownloadState]) -> None:
        """Show exactly `records` (saved tasks), in that order; the cursor stays on its
        task, and only cells whose record or download changed are drawn again."""
        selected = self.selected_id
        order = [r.id for r in records]
        for record in records:
            shown = (record, downloads.get(record.id))
            old = self._shown.get(record.id)
            if old is None or old[0] is not record or old[1] is not shown[1]:
                if old != shown:
                    self._forget(record.id)
                self._shown[record.id] = shown
        if order != self._order:
            self._order = order
            still = set(order)
            for gone in [task_id for task_id in self._shown if task_id not in still]:
                del self._shown[gone]
                self._forget(gone)
            self._set_virtual_size()
            self._ask_soon()
            index = order.index(selected) if selected in still else min(self.cursor, len(order))
            self._move(max(0, index), announce=self.selected_id != selected)
        self.refresh()

    def select(self, task_id: str | None) -> None:
        """Put the cursor on `task_id` (the table's selection, when the sheet is shown)."""
        if task_id in self._shown:
            self._move(self._order.index(task_id), announce=True)

    def use_colours(self, colours: Mapping[str, str]) -> None:
        self.colours = dict(colours)
        self._lines.clear()
        self.refresh()

    def picture_region(self, index: int) -> Region | None:
        """Where cell `index`'s picture is on the widget now (None: not on screen): for a
        picture in the terminal's own pixels placed over the half-blocks."""
        row, column = divmod(index, self.columns)
        y = row * CELL_H - int(self.scroll_offset.y)
        if y < 0 or y + PIC_ROWS > self.size.height:
            return None
        return PICTURE.translate((column * CELL_W, y))

    # -- thumbnails ----------------------------------------------------------------------

    def _forget(self, task_id: str) -> None:
        for how in (0, 1, 2):
            self._lines.pop((task_id, how), None)

    def _job(self, record: TaskRecord) -> Job:
        return Job(
            record.id, record.local_path or "", record.size, record.sha256 or "", INNER, PIC_ROWS
        )

    def _thumb(self, record: TaskRecord) -> tuple[Thumb | None, str]:
        """The cell's thumbnail if made, else what its placeholder says."""
        if not self.pictures:
            return None, "no pictures"
        if self.cache is None:
            return None, "no picture cache"
        if not record.sha256:
            return None, "no checksum: saved before sha256 was kept"
        made = self._thumbs.get(record.id)
        if made is not None and made[0] == self._job(record):
            return made[1], ""
        self._ask_soon()
        return None, ""

    def _ask_soon(self) -> None:
        """Once the screen is drawn (placeholders first, then decodes to compete with)."""
        if not self._asking:
            self._asking = True
            self.call_after_refresh(self._ask)

    def _ask(self) -> None:
        """The thumbnails of the cells on screen not made yet, in reading order; those
        asked for before and now scrolled away are dropped."""
        self._asking = False
        if self.cache is None or not self.pictures:
            return
        if self.maker is None:
            self.maker = Thumbnails(self.cache, self._made_in_thread)
        jobs = []
        for task_id in self._visible_ids():
            record, _ = self._shown[task_id]
            job = self._job(record)
            made = self._thumbs.get(task_id)
            if record.sha256 and (made is None or made[0] != job) and job not in self._arriving:
                jobs.append(job)
        self.maker.want(jobs)

    def _made_in_thread(self, job: Job, thumb: Thumb) -> None:
        loop = self._loop
        if loop is not None:
            self._arriving.add(job)  # not asked for again on its way
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile
                loop.call_soon_threadsafe(self._made, job, thumb)

    def _made(self, job: Job, thumb: Thumb) -> None:
        self._arriving.discard(job)
        self._thumbs[job.task_id] = (job, thumb)
        self._thumbs.move_to_end(job.task_id)
        while len(self._thumbs) > THUMBS_KEPT:
            self._thumbs.popitem(last=False)
        self._forget(job.task_id)
        self._refresh_cell(job.task_id)

    def _visible_ids(self) -> list[str]:
        first, last = self._visible_range()
        return self._order[first:last]

    def _visible_range(self) -> tuple[int, int]:
        top = int(self.scroll_offset.y)
        columns = self.columns
        first_row = top // CELL_H
        last_row = (top + max(1, self.size.height) - 1) // CELL_H
        return first_row * columns, min(len(self._order), (last_row + 1) * columns)

    # -- drawing -------------------------------------------------------------------------

    def _look(self, how: int) -> CellLook:
        base = self.rich_style
        cursor = base + self.get_component_rich_style("contact-sheet--cursor")
        return CellLook(
            base=base,
            frame=cursor if how else base,
            placeholder=base + self.get_component_rich_style("contact-sheet--placeholder"),
            problem=base + self.get_component_rich_style("contact-sheet--problem"),
            dim=Style(dim=True),
            colours=self.colours,
        )

    def _cell(self, index: int) -> list[Strip]:
        task_id = self._order[index]
        how = (2 if self.has_focus else 1) if index == self.cursor else 0
        lines = self._lines.get((task_id, how))
        if lines is not None:
            self._lines.move_to_end((task_id, how))
        else:
            record, download = self._shown[task_id]
            thumb, note = self._thumb(record)
            lines = cell_lines(record, download, thumb, self._look(how), note)
            self._lines[(task_id, how)] = lines
            while len(self._lines) > LINES_KEPT:  # the cell drawn longest ago goes
                self._lines.popitem(last=False)
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if not self._order:
            return self._empty_line(y, width, base)
        line = int(self.scroll_offset.y) + y
        row, within = divmod(line, CELL_H)
        columns = self.columns
        first = row * columns
        if first >= len(self._order):
            return Strip.blank(width, base)
        last = min(first + columns, len(self._order))
        strips = [self._cell(i)[within] for i in range(first, last)]
        return Strip.join(strips).extend_cell_length(width, base).crop(0, width)

    def _empty_line(self, y: int, width: int, base: Style) -> Strip:
        if y != 1:
            return Strip.blank(width, base)
        text = "  No saved videos match. v: back to the table; / changes the filter."
        return Strip([Segment(text[:width], base)]).extend_cell_length(width, base)

    def _refresh_cell(self, task_id: str) -> None:
        with contextlib.suppress(ValueError):
            index = self._order.index(task_id)
            row, column = divmod(index, self.columns)
            y = row * CELL_H - int(self.scroll_offset.y)
            self.refresh(Region(column * CELL_W, y, CELL_W, CELL_H))

    def _set_virtual_size(self) -> None:
        rows = -(-len(self._order) // self.columns)
        self.virtual_size = Size(self.size.width, rows * CELL_H)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._ask_soon()  # other cells on screen: theirs first, those gone dropped

    def on_resize(self) -> None:
        self._set_virtual_size()  # re-flowed: as many columns as fit
        self.call_after_refresh(self._keep_in_view)
        self._ask_soon()

    def on_focus(self) -> None:
        self._refresh_cursor()

    def on_blur(self) -> None:
        self._refresh_cursor()

    def _refresh_cursor(self) -> None:
        if self.selected_id:
            self._refresh_cell(self.selected_id)

    # -- the cursor ----------------------------------------------------------------------

    def _move(self, index: int, *, announce: bool) -> None:
        index = max(0, min(index, len(self._order) - 1))
        old, old_id = self.cursor, self.selected_id
        self.cursor = index
        if old != index:
            if old_id:
                self._refresh_cell(old_id)
            self._refresh_cursor()
        self._keep_in_view()
        if announce or old != index:
            self.post_message(self.CellHighlighted(self.selected_id))

    def _keep_in_view(self) -> None:
        row = self.cursor // self.columns
        top = int(self.scroll_offset.y)
        height = max(CELL_H, self.size.height)
        if row * CELL_H < top:
            self.scroll_to(y=row * CELL_H, animate=False, immediate=True)
        elif (row + 1) * CELL_H > top + height:
            self.scroll_to(y=(row + 1) * CELL_H - height, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        """Up and down: a row of cells."""
        self._move(self.cursor + step * self.columns, announce=False)

    def action_step(self, step: int) -> None:
        """Left and right: the cell beside (the row before's last, the next row's first);
        while a video plays in the side panel, they seek it, as they do from the table."""
        seek = getattr(self.app, "action_seek", None)
        if seek is not None and self.app.check_action("seek", (step,)):
            seek(step)
            return
        self._move(self.cursor + step, announce=False)

    def action_page(self, direction: int) -> None:
        rows = max(1, self.size.height // CELL_H)
        self._move(self.cursor + direction * rows * self.columns, announce=False)

    def action_edge(self, end: int) -> None:
        self._move(len(self._order) - 1 if end else 0, announce=False)

    def on_click(self, event: events.Click) -> None:
        row = (int(self.scroll_offset.y) + event.y) // CELL_H
        column = event.x // CELL_W
        if column < self.columns:
            index = row * self.columns + column
            if index < len(self._order):
                self._move(index, announce=False)
