"""The contact sheet: the saved tasks the filter and sort select, as a grid of thumbnails
(`v` shows it in place of the table). It draws only the lines on screen (Textual's Line
API, as the table does): a line is the same line of each cell of one grid row, each
cell's lines cached by task id and by how it is drawn (plain, cursor, focused cursor).

Thumbnails are made off the loop (engine/thumbnails.py, two at once) for the cells on
screen only, asked for again whenever the cells on screen change; a cell shows a
placeholder until its picture arrives. Cells are CELL_W x CELL_H whatever the terminal:
a wider one gets more columns, a taller one more rows. Where the terminal draws pixels
(Sixel, kitty), each cell on screen is a picture of its own (sheet_pixels.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.binding import BindingType
from textual.css.query import NoMatches
from textual.dom import NoScreen
from textual.errors import NoWidget
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.engine.frames import Picture as HalfBlocks
from starvideos_tui.engine.frames import frame_paths
from starvideos_tui.engine.thumbnails import THUMB_FRAME, Job, Thumb, Thumbnails
from starvideos_tui.terminal.graphics import Graphics
from starvideos_tui.terminal.tmux import Pane
from starvideos_tui.tui.bindings import SHEET_BINDINGS
from starvideos_tui.tui.widgets.picture import Drawing
from starvideos_tui.tui.widgets.sheet_cells import (
    CELL_H,
    CELL_W,
    INNER,
    PIC_ROWS,
    PICTURE,
    SHEET_CSS,
    cell_lines,
    cell_look,
    empty_line,
)
from starvideos_tui.tui.widgets.sheet_pixels import SheetPixels
from starvideos_tui.tui.widgets.task_cursor import TaskHighlighted

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

    DEFAULT_CSS = SHEET_CSS

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
        self.pixels: SheetPixels | None = None  # pictures in the terminal's own pixels

    def on_mount(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_unmount(self) -> None:
        if self.maker is not None:
            self.maker.close()
        if self.pixels is not None:
            self.pixels.close(self.app)

    def use_pixels(self, graphics: Graphics | None, pane: Pane | None) -> None:
        """Thumbnails drawn in the terminal's own pixels (`graphics`: Sixel or kitty;
        None: half-blocks), placed through tmux at `pane` inside it."""
        self.pixels = SheetPixels(graphics, pane) if graphics is not None else None
        self.set_class(self.pixels is not None, "-pixels")
        self._lines.clear()
        self.refresh()

    def _screen_changed(self, screen: object) -> None:
        if self.app.screen is not self.screen:  # a dialog over the sheet
            self.on_hide()
        self.refresh()  # lines drawn under the dialog had no pixels

    def on_hide(self) -> None:
        if self.pixels is not None:
            self.pixels.hide(self.app)

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

    def _job(self, r: TaskRecord) -> Job:
        return Job(r.id, r.local_path or "", r.size, r.sha256 or "", INNER, PIC_ROWS)

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
            if record.sha256 and job not in self._arriving and self._needs(made, job):
                jobs.append(job)
        self.maker.want(jobs)

    def _needs(self, made: tuple[Job, Thumb] | None, job: Job) -> bool:
        """Not made for this file, or (in pixels) its drawing not made or let go since."""
        pixels = self.pixels
        return made is None or made[0] != job or (pixels is not None and pixels.lacks(job, made[1]))

    def _made_in_thread(self, job: Job, thumb: Thumb) -> None:
        loop, pixels, drawing = self._loop, self.pixels, None
        if pixels is not None and self.cache is not None and isinstance(thumb, HalfBlocks):
            with contextlib.suppress(OSError, ValueError):  # then half-blocks
                drawing = pixels.make(job, frame_paths(self.cache, job.sha256)[THUMB_FRAME])
        if loop is not None:
            self._arriving.add(job)  # not asked for again on its way
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile
                loop.call_soon_threadsafe(self._made, job, thumb, drawing)

    def _made(self, job: Job, thumb: Thumb, drawing: Drawing | None) -> None:
        self._arriving.discard(job)
        if drawing is not None and self.pixels is not None:
            for gone in self.pixels.add(self.app, job, drawing):
                self._forget(gone)
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

    def _cell(self, index: int) -> list[Strip]:
        task_id = self._order[index]
        how = (2 if self.has_focus else 1) if index == self.cursor else 0
        lines = self._lines.get((task_id, how))
        if lines is not None:
            self._lines.move_to_end((task_id, how))
        else:
            record, download = self._shown[task_id]
            thumb, note = self._thumb(record)
            pixels = self._drawing(record) if thumb is not None else None
            lines = cell_lines(
                record, download, thumb, cell_look(self, how, self.colours), note, pixels
            )
            self._lines[(task_id, how)] = lines
            while len(self._lines) > LINES_KEPT:  # the cell drawn longest ago goes
                self._lines.popitem(last=False)
        return lines

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if not self._order:
            return empty_line(y, width, base)
        line = int(self.scroll_offset.y) + y
        row, within = divmod(line, CELL_H)
        columns = self.columns
        first = row * columns
        if first >= len(self._order):
            return Strip.blank(width, base)
        last = min(first + columns, len(self._order))
        strips = [self._cell(i)[within] for i in range(first, last)]
        if within == PIC_ROWS - 1 and self.pixels is not None:
            strips = self._with_pixels(strips, first, y - within)
        return Strip.join(strips).extend_cell_length(width, base).crop(0, width)

    def _drawing(self, record: TaskRecord) -> Drawing | None:
        return self.pixels.drawing(record.id, self._job(record)) if self.pixels else None

    def _with_pixels(self, strips: list[Strip], first: int, top: int) -> list[Strip]:
        """The grid row's cells with their pictures' escapes (`top`: the first line of
        their pictures' area), for the cells wholly in sight."""
        try:
            where = self.screen.find_widget(self) if self.screen.is_active else None
        except (NoScreen, NoWidget, NoMatches):
            where = None
        if self.pixels is None or where is None or top < 0:
            return strips
        ids = self._order[first : first + len(strips)]
        drawings = [self._drawing(self._shown[task_id][0]) for task_id in ids]
        return self.pixels.line(strips, ids, drawings, where.region, where.visible_region, top)

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
        if self.pixels is not None and self.pixels.placed:  # kitty's scrolled away go
            first, rows = -(-int(new_value) // CELL_H), (self.size.height - PIC_ROWS) // CELL_H
            ids = self._order[first * self.columns : (first + rows + 1) * self.columns]
            self.pixels.hide(self.app, set(ids))
        self._ask_soon()  # other cells on screen: theirs first, those gone dropped

    def on_resize(self) -> None:
        self._set_virtual_size()  # re-flowed: as many columns as fit
        self.call_after_refresh(self._keep_in_view)
        self._ask_soon()

    def on_focus(self) -> None:
        self._refresh_cursor()

    on_blur = on_focus

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
            self.post_message(TaskHighlighted(self.selected_id))

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
