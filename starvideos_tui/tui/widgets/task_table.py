"""The watchlist table: draws only the rows on screen (Textual's Line API).

The app hands it the records to show, in order (`show`); the table keeps only the order
and a strip per row, cached by task id and dropped when that row's record, download or
clock columns change. Drawing a frame costs the rows on screen, whatever the size of
the watchlist: 100,000 rows cost what 30 do. The cursor stays on its task through every
update, and the scroll where it was.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.tui.bindings import TABLE_BINDINGS
from starvideos_tui.tui.widgets.columns import COLUMNS, column_widths
from starvideos_tui.tui.widgets.table_cells import (
    cells_strip,
    clock_cells,
    note_line,
    rich_colour,
    row_cells,
    same_look,
)
from starvideos_tui.tui.widgets.task_cursor import TaskHighlighted

CELLS_KEPT = 2000  # rows' cells kept for rows not on screen (rows scrolled past)
HEADER = 1  # lines above the first row
NOT_DIM = Style(dim=False)  # the cursor row without 256 colours: its label undimmed
MARKED = 3  # a marked row's strips are kept under how it is drawn + MARKED


class TaskTable(ScrollView, can_focus=True):
    """Rows keyed by task id; `show()` recomputes only the rows that changed."""

    # bindings.py: enter rebinds as "toggle-panel"
    BINDINGS: ClassVar[list[BindingType]] = [*TABLE_BINDINGS]

    COMPONENT_CLASSES = {"task-table--header", "task-table--cursor"}

    DEFAULT_CSS = """
    TaskTable {
        background: $surface;
        color: $foreground;
        & > .task-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .task-table--header { background: ansi_default; text-style: bold reverse; }
        & > .task-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .task-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
        /* 16 colours: white on blue reads in any palette (xterm shows bold black as grey,
           so black on white would not); NO_COLOR: no colours at all, so reverse video. */
        &:ansi > .task-table--cursor { background: ansi_bright_black; color: ansi_bright_white; }
        &:ansi:focus > .task-table--cursor {
            background: ansi_blue;
            color: ansi_bright_white;
        }
        &:nocolor > .task-table--cursor { text-style: reverse; }
        &:nocolor:focus > .task-table--cursor { text-style: reverse bold; }
    }
    """

    def __init__(self, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self._order: list[str] = []
        self._index: dict[str, int] | None = {}  # row of each task id, made when needed
        self._shown: dict[str, tuple[TaskRecord, DownloadState | None]] = {}
        self._strips_width = 0
        self._cells: dict[str, tuple[Text, ...]] = {}
        # A row's strip by (task id, how it is drawn: 0 plain, 1 cursor, 2 focused cursor).
        self._strips: dict[tuple[str, int], Strip] = {}
        self._now = 0.0
        self.cursor_row = 0
        self.colours: dict[str, str] = {}
        # A running task's expected finish (eta.py), as the app's history says.
        self.estimate: Callable[[TaskRecord, float], Estimate] | None = None
        self.clock: Callable[[], float] = time.time  # the app's wall clock
        self.marks: Collection[str] = frozenset()  # marked rows, drawn with MARK (marks.py)
        self.empty_note = ""  # said where the rows would be when none are shown
        self.rating_column = False  # any task rated or rejected (the app says)

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        """Once a second, the clock's columns (age, due, seen) of the rows on screen,
        wherever the table is scrolled: only rows whose words changed are repainted, so a
        second costs the rows on screen (a few dozen), not the watchlist."""
        self.refresh_times(self.clock())

    # -- what the app asks ---------------------------------------------------------------

    @property
    def row_ids(self) -> list[str]:
        """Task ids in the order shown."""
        return list(self._order)

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def selected_id(self) -> str | None:
        if 0 <= self.cursor_row < len(self._order):
            return self._order[self.cursor_row]
        return None

    def get_row(self, task_id: str) -> tuple[Text, ...]:
        """The cells of a task's row as shown (status, task, age, length, link, seen);
        made when first drawn or asked for, not for every row of a long watchlist."""
        cells = self._cells.get(task_id)
        if cells is None:
            record, download = self._shown[task_id]
            cells = self._cells[task_id] = self.cells_for(record, download, self._now)
        return cells

    def show(
        self,
        records: Sequence[TaskRecord],
        downloads: Mapping[str, DownloadState],
        now: float,
        known: Mapping[str, TaskRecord] | None = None,
        changed: Collection[str] | None = None,
    ) -> None:
        """Show exactly `records`, in that order; only changed rows are recomputed.

        `changed` names the tasks whose record or download may differ since the last call
        (empty when only the filter or the sort did); only those rows are compared, and
        with `known` (every task there is, by id) they are found without a pass over the
        rows. None compares every row. Rows a filter hides keep what they showed, so
        clearing the filter recomputes nothing; `known` also lets the table forget
        removed tasks."""
        self._now = now
        selected = self.selected_id
        order = [r.id for r in records]
        dirty: list[str] = []
        if changed is None or known is None:
            for record in records:
                shown = (record, downloads.get(record.id))
                if self._shown.get(record.id) != shown:
                    self._shown[record.id] = shown
                    self._cells.pop(record.id, None)
                    dirty.append(record.id)
        else:
            for task_id in changed:  # a few answers among thousands of rows
                now_known = known.get(task_id)
                if now_known is None or task_id not in self._shown:
                    continue  # gone, or never shown: made when it is
                shown = (now_known, downloads.get(task_id))
                if self._shown[task_id] != shown:
                    self._shown[task_id] = shown
                    self._cells.pop(task_id, None)
                    dirty.append(task_id)
            if order != self._order:  # rows shown for the first time (a filter cleared)
                for record in records:
                    if record.id not in self._shown:
                        self._shown[record.id] = (record, downloads.get(record.id))
        if order != self._order:
            self._order = order
            self._index = None
            still = known if known is not None else set(order)
            if len(self._shown) > len(still):
                for gone in [task_id for task_id in self._shown if task_id not in still]:
                    del self._shown[gone]
            if len(self._cells) > CELLS_KEPT:  # rows scrolled past long ago
                self._cells.clear()
                self._strips.clear()
            for task_id in dirty:
                self._forget_strips(task_id)
            self.virtual_size = Size(self.size.width, len(order) + HEADER)
            row = self._row_of(selected, min(self.cursor_row, len(order) - 1)) if selected else 0
            self._move(max(0, row), announce=self.selected_id != selected)
            # Once the new height is laid out (a filter cleared: 50,000 rows where there
            # was one), the cursor's row is scrolled to; before, the scroll is clamped.
            self.call_after_refresh(self._keep_in_view)
            self.refresh_times(now)  # rows back from behind a filter: their ages as of now
            self.refresh()
            return
        if len(dirty) > 8:
            self._row_of("")  # one index for them all
        for task_id in dirty:
            self._forget_strips(task_id)
            self._refresh_row(self._row_of(task_id))

    def _row_of(self, task_id: str, default: int = -1) -> int:
        if self._index is not None:
            return self._index.get(task_id, default)
        if task_id:  # one row: a scan in C, not an index of 50,000 rows (9 ms)
            with contextlib.suppress(ValueError):
                return self._order.index(task_id)
            return default
        self._index = {task_id: i for i, task_id in enumerate(self._order)}
        return default

    def _forget_strips(self, task_id: str) -> None:
        for how in (0, 1, 2, MARKED, MARKED + 1, MARKED + 2):
            self._strips.pop((task_id, how), None)

    def redraw_rows(self, ids: Iterable[str]) -> None:
        """Draw these tasks' rows again (their marks changed)."""
        for task_id in ids:
            self._forget_strips(task_id)
            self._refresh_row(self._row_of(task_id))

    def refresh_times(self, now: float) -> None:
        """Age, link age and last seen of the rows on screen, as the clock moves on."""
        self._now = now
        top = int(self.scroll_offset.y)
        for row, task_id in enumerate(self._visible_ids(), start=top):
            record, _ = self._shown[task_id]
            cells = self.get_row(task_id)
            age, link, seen = clock_cells(record, now, self.colours, self.estimate)
            fresh = (cells[0], cells[1], age, cells[3], link, seen, *cells[6:])
            if any(not same_look(a, b) for a, b in zip(cells, fresh, strict=True)):
                self._cells[task_id] = fresh
                self._forget_strips(task_id)
                self._refresh_row(row)

    def use_theme(self, variables: Mapping[str, str]) -> dict[str, str]:
        """Take the theme's colours for the statuses (and redraw); returns them, as Rich
        colours: a theme's "#E0E0E099" has an alpha Rich cannot draw."""
        names = ("success", "warning", "error", "accent", "primary", "foreground")
        self.colours = {
            name: rich_colour(variables[name]) if variables.get(name) else ""
            for name in (*names, "foreground-muted")
        }
        self.forget_looks()
        return self.colours

    def forget_looks(self) -> None:
        """The theme changed: every row is recomputed when next drawn."""
        self._cells.clear()
        self._strips.clear()
        self.refresh()

    def move_cursor(self, *, row: int, animate: bool = False) -> None:
        self._move(row, announce=True)

    # -- cells (table_cells.py) ------------------------------------------------------------

    def cells_for(
        self, record: TaskRecord, download: DownloadState | None, now: float
    ) -> tuple[Text, ...]:
        widths = self._widths()
        return row_cells(record, download, now, self.colours, self.estimate, widths[1], widths[-1])

    # -- drawing -------------------------------------------------------------------------

    def _content_width(self) -> int:
        """The cells a row has: the table's width less the scrollbar's, when it shows."""
        return self.scrollable_content_region.width or self.size.width

    def _widths(self) -> list[int]:
        """Column widths (0: not shown) for the table's width now."""
        return column_widths(self._content_width(), self.rating_column)

    def _check_width(self) -> int:
        """Rows are kept for one width of the rows' cells. That width changes with the
        table's and also when the vertical scrollbar comes or goes (the side panel opened
        below the table at 80x24 makes it shorter than its rows): rows kept from before
        would then sit a column off the header, or lose their last cell under the bar."""
        width = self._content_width()
        if width != self._strips_width:
            self._strips.clear()
            self._cells.clear()  # the id may be shown whole or short
            self._strips_width = width
        return width

    def _line(self, cells: Sequence[Text], style: Style, marked: bool = False) -> Strip:
        accent = self.colours.get("accent", "")
        return cells_strip(cells, self._widths(), self.app.console, accent, marked, style)

    def render_line(self, y: int) -> Strip:
        width = self._check_width()
        base = self.rich_style
        if y < HEADER:
            header = [
                Text(label, justify="left" if key in ("status", "task") else "right")
                for key, label, _ in COLUMNS
            ]
            style = self.get_component_rich_style("task-table--header")
            return self._line(header, base + style).crop_extend(0, width, base + style)
        row = int(self.scroll_offset.y) + y - HEADER
        if row >= len(self._order):
            if row == 0 and self.empty_note:  # nothing shown: say why, and how to see more
                return note_line(self.empty_note, self.app.console).crop_extend(0, width, base)
            return Strip.blank(width, base)
        task_id = self._order[row]
        cursor = row == self.cursor_row
        marked = task_id in self.marks
        key = (task_id, ((2 if self.has_focus else 1) if cursor else 0) + MARKED * marked)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._line(self.get_row(task_id), base, marked)
            if cursor:  # the cursor's colours over the cells' own, readable in 16 colours
                style = base + self.get_component_rich_style("task-table--cursor")
                if self.app.native_ansi_color or self.app.no_color:
                    # The terminal draws the dim label itself: bright white halved is
                    # about the bright-black cursor (xterm's #7f7f7f), gone in reverse.
                    style += NOT_DIM
                strip = Strip(Segment.apply_style(strip, post_style=style), strip.cell_length)
            strip = strip.crop_extend(0, width, base)
            self._strips[key] = strip
        return strip

    def on_resize(self) -> None:
        self._check_width()  # a new height alone (the filter box) keeps every row as drawn
        self.virtual_size = Size(self.size.width, len(self._order) + HEADER)
        # Shorter (the side panel opened below, the filter box shown): the selected row
        # stays on screen once the new height is laid out.
        self.call_after_refresh(self._keep_in_view)

    def _visible_ids(self) -> list[str]:
        top = int(self.scroll_offset.y)
        return self._order[top : top + max(0, self.size.height - HEADER) + 1]

    def _refresh_row(self, row: int) -> None:
        """Repaint a row's line if it is on screen. `y` is the line in the widget's
        visible region (as render_line gets it), so the region is given as is:
        ScrollView.refresh_line takes a virtual line and subtracts the scroll itself,
        which would take the scroll off twice and repaint the wrong line (or none)."""
        y = row - int(self.scroll_offset.y) + HEADER
        if HEADER <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # -- the cursor ----------------------------------------------------------------------

    def _move(self, row: int, *, announce: bool) -> None:
        row = max(0, min(row, len(self._order) - 1))
        old = self.cursor_row
        self.cursor_row = row
        if old != row:  # strips are kept by how they are drawn: none is out of date
            self._refresh_row(old)
            self._refresh_row(row)
        self._keep_in_view()
        if announce or old != row:
            self.post_message(TaskHighlighted(self.selected_id))

    def _keep_in_view(self) -> None:
        rows = max(1, self.size.height - HEADER)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + rows:
            self.scroll_to(y=self.cursor_row - rows + 1, animate=False, immediate=True)

    def action_cursor(self, step: int) -> None:
        self._move(self.cursor_row + step, announce=False)

    def action_page(self, direction: int) -> None:
        """A page at a time, as less and k9s do: the view scrolls a screen of rows and the
        cursor moves as far, keeping its place on screen (the first PageDown no longer just
        moves the cursor to the bottom of the page); at either end the cursor goes on to
        the first or last row."""
        rows = max(1, self.size.height - HEADER)
        top = int(self.scroll_offset.y)
        self.scroll_to(
            y=max(0, min(top + direction * rows, self.max_scroll_y)), animate=False, immediate=True
        )
        self._move(self.cursor_row + direction * rows, announce=False)

    def action_edge(self, end: int) -> None:
        self._move(len(self._order) - 1 if end else 0, announce=False)

    def on_click(self, event: events.Click) -> None:
        if event.y >= HEADER:
            self._move(int(self.scroll_offset.y) + event.y - HEADER, announce=False)
