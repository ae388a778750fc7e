"""The watchlist table: one row per task, updated in place by row key."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from starvideos_tui.formatting import ago, shorten, video_length
from starvideos_tui.models import TaskRecord
from starvideos_tui.textsafe import clean
from starvideos_tui.vocabulary import DownloadState, status_look

COLUMNS = (
    ("status", "Status", 17),
    ("task", "Task", 40),
    ("age", "Age", 4),
    ("length", "Len", 4),
    ("link", "Link", 4),
    ("checked", "Seen", 5),
)


class TaskTable(DataTable[Text]):
    """Rows keyed by task id; `show()` touches only the cells that changed."""

    BINDINGS = [
        Binding("enter", "app.toggle_panel", "Details", tooltip="Show the whole record"),
    ]

    def __init__(self, **kw: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kw)  # type: ignore[arg-type]
        self._cells: dict[str, tuple[Text, ...]] = {}
        self._shown: dict[str, tuple[TaskRecord, DownloadState | None]] = {}
        self._order: list[str] = []
        self.colours: dict[str, str] = {}
        self.seconds_on_screen = True  # until the first refresh_times says otherwise

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            justify = "left" if key in ("status", "task") else "right"
            self.add_column(Text(label, justify=justify), key=key, width=width)

    def on_resize(self) -> None:
        """Give the task column (id and label) whatever width the others leave."""
        others = sum(width for key, _, width in COLUMNS if key != "task")
        padding = 2 * self.cell_padding * len(COLUMNS) + 1  # +1: the scrollbar
        width = max(32, self.size.width - others - padding)
        column = self.columns.get(ColumnKey("task"))
        if column is not None and column.width != width:
            column.width = width
            self._require_update_dimensions = True
            self.refresh()

    @property
    def row_ids(self) -> list[str]:
        """Task ids in the order shown."""
        return list(self._order)

    @property
    def selected_id(self) -> str | None:
        if not self._order or self.cursor_row < 0 or self.cursor_row >= len(self._order):
            return None
        return self._order[self.cursor_row]

    def cells_for(
        self, record: TaskRecord, download: DownloadState | None, now: float
    ) -> tuple[Text, ...]:
        look = status_look(record, download)
        colour = self.colours.get(look.colour, "")
        status = Text(f"{look.glyph} {look.word}", style=f"bold {colour}".strip())
        task = Text(record.id, overflow="ellipsis", no_wrap=True)
        label = record.label or record.prompt
        if label:
            task.append(f"  {shorten(clean(label), 60)}", style="dim")
        age, link, seen = self._times(record, now)
        return (status, task, age, self._length(record), link, seen)

    @staticmethod
    def _length(record: TaskRecord) -> Text:
        return Text(video_length(record), justify="right")

    @staticmethod
    def _times(record: TaskRecord, now: float) -> tuple[Text, Text, Text]:
        """The cells that change with the clock alone: age, link age, last seen."""
        created = record.created or record.added_at
        if record.local_path or record.video_url_at is None or not record.video_url:
            link = Text("-", justify="right")
        else:  # the link of a completed, unsaved video dies soon: show how old it is
            link = Text(ago(now - record.video_url_at), justify="right", style="bold")
        seen = ago(now - record.checked_at) if record.checked_at else "never"
        return (
            Text(ago(now - created) if created else "-", justify="right"),
            link,
            Text(seen, justify="right"),
        )

    def _put(self, task_id: str, cells: tuple[Text, ...]) -> None:
        """Update the cells of a row that differ from what it shows."""
        old = self._cells.get(task_id)
        self._cells[task_id] = cells
        if old is None:
            return
        changed = [
            (key, after)
            for (key, _, _), before, after in zip(COLUMNS, old, cells, strict=True)
            if not _same(before, after)
        ]
        if changed:
            self._set_cells(task_id, changed)

    def _set_cells(self, task_id: str, changed: list[tuple[str, Text]]) -> None:
        """`update_cell` without its repaint of the whole table: only this row's region
        is refreshed, and nothing at all when it is scrolled out of view. (A polling pass
        changes rows all over a long watchlist; repainting the table for each costs more
        than the pass.) Uses DataTable's own row data, as update_cell does; textual is
        pinned exactly, and the table tests cover it."""
        row = self._data[RowKey(task_id)]
        for key, value in changed:
            row[ColumnKey(key)] = value
        self._update_count += 1
        self.refresh_row(self.get_row_index(task_id))

    def show(
        self,
        records: Sequence[TaskRecord],
        downloads: dict[str, DownloadState],
        now: float,
    ) -> None:
        """Make the table show exactly `records`, in that order.

        Only rows whose record or download changed are recomputed; the clock's columns of
        the rest are kept fresh by `refresh_times` for the rows on screen.
        """
        selected = self.selected_id
        order = [r.id for r in records]
        changed: dict[str, tuple[Text, ...]] = {}
        for record in records:
            download = downloads.get(record.id)
            if self._shown.get(record.id) != (record, download):
                self._shown[record.id] = (record, download)
                changed[record.id] = self.cells_for(record, download, now)
        with self.app.batch_update():
            if order != self._order:
                for task_id, cells in changed.items():
                    self._cells[task_id] = cells
                changed = {}
                keep = order[: len(self._order)] == self._order
                if not keep:
                    self.clear()
                for task_id in order[len(self._order) if keep else 0 :]:
                    self.add_row(*self._cells[task_id], key=task_id)
                if not keep and selected in order:
                    self.move_cursor(row=order.index(selected), animate=False)
                self._order = order
                for gone in set(self._cells) - set(order):
                    del self._cells[gone]
                    del self._shown[gone]
            for task_id, cells in changed.items():
                self._put(task_id, cells)

    def refresh_times(self, now: float) -> None:
        """Age, link age and last seen of the rows on screen, as the clock moves on."""
        top = max(0, int(self.scroll_offset.y) - 1)
        seconds = False
        with self.app.batch_update():
            for task_id in self._order[top : top + self.size.height + 1]:
                record, _ = self._shown[task_id]
                times = self._times(record, now)
                seconds = seconds or any(_in_seconds(cell) for cell in times)
                cells = self._cells[task_id]
                self._put(task_id, (cells[0], cells[1], times[0], cells[3], times[1], times[2]))
        self.seconds_on_screen = seconds

    def forget_looks(self) -> None:
        """The theme changed: every row is recomputed on the next `show`."""
        self._shown.clear()


def _in_seconds(cell: Text) -> bool:
    """An age like "42s": it changes every second."""
    text = cell.plain
    return text.endswith("s") and text[:-1].isdigit()


def _same(before: Text, after: Text) -> bool:
    """Text's own == ignores the base style, which carries a status's colour."""
    return before == after and before.style == after.style
