"""The monitor: a watchlist table, a side panel, and one polling worker.

The app takes its client, watchlist, schedule and clocks as arguments (tests pass a
simulator-backed client and a temp watchlist). All network and file work happens in
workers that report back with messages; nothing the network does can crash the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.widgets import Footer, Input

from starvideos_tui.api import StarVideosClient
from starvideos_tui.models import TaskRecord, TaskStatus
from starvideos_tui.poll import Poller
from starvideos_tui.schedule import PollSchedule
from starvideos_tui.store import Watchlist, WatchlistError
from starvideos_tui.tui.creating import CreatingMixin
from starvideos_tui.tui.downloading import DOWNLOAD_SLOTS, DownloadsMixin
from starvideos_tui.tui.polling import PollingMixin
from starvideos_tui.tui.screens.add_ids import AddIdsScreen, IdsAdded
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.screens.keys import KeysScreen, key_rows
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.filter_box import FilterBox
from starvideos_tui.tui.widgets.status_bar import StatusBar
from starvideos_tui.tui.widgets.task_table import DownloadState, TaskTable, status_look

log = logging.getLogger(__name__)

TIMES_EVERY = 5  # seconds between updates of ages shown in seconds
TIMES_EVERY_SLOW = 30  # ... and of ages shown in minutes, hours or days
SORTS = ("added", "status", "age", "id")
STATUS_ORDER = {"failed": 0, "processing": 1, "queued": 2, "new": 3, "completed": 4}


@dataclass
class AppConfig:
    """What the app needs beyond its collaborators."""

    download_dir: Path
    interval: float = 30.0
    auto_download: bool = False
    bell: bool = True
    title: str = "StarVideos"
    api_note: str | None = None  # e.g. "no API key": shown instead of polling
    wall_clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    extra_cleanup: list[Callable[[], None]] = field(default_factory=list)


class StarVideosApp(PollingMixin, DownloadsMixin, CreatingMixin, App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "StarVideos"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    # Footer order: what a newcomer needs first; `?` lists the rest.
    BINDINGS = [
        Binding("d", "download", "Download", tooltip="save the video, or show why it failed"),
        Binding("a", "add", "Add", tooltip="add task ids; paste many at once"),
        Binding("x", "remove", "Remove", tooltip="stop watching the selected task"),
        Binding("r", "refresh", "Refresh", tooltip="poll the selected task now"),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit", "Quit"),
        Binding("n", "new_task", "New", show=False, tooltip="submit a new task"),
        Binding("N", "resubmit", "Resubmit", show=False, tooltip="new task from the selected one"),
        Binding(
            "R", "refresh_all", "Refresh all", show=False, tooltip="poll every unfinished task"
        ),
        Binding("c", "copy", "Copy URL", show=False, tooltip="video URL or id, via OSC 52"),
        Binding("slash", "filter", "Filter", show=False, tooltip="by id, label or status"),
        Binding("s", "sort", "Sort", show=False, tooltip="added, status, age, id"),
        Binding("l", "edit_label", "Label", show=False, tooltip="label the selected task"),
        Binding("t", "toggle_auto", "Auto-download", show=False, tooltip="on or off"),
        Binding("escape", "close", "Close panel", show=False),
    ]

    def __init__(
        self,
        *,
        watchlist: Watchlist,
        client: StarVideosClient | None,
        config: AppConfig,
        schedule: PollSchedule | None = None,
    ) -> None:
        super().__init__()
        self.watchlist = watchlist
        self.client = client
        self.config = config
        self.auto_download = config.auto_download
        self.schedule = schedule or PollSchedule(interval=config.interval, clock=config.monotonic)
        self.poller = (
            Poller(client, watchlist, self.schedule, wall_clock=config.wall_clock)
            if client
            else None
        )
        self.records: dict[str, TaskRecord] = {}
        self.downloads: dict[str, DownloadState] = {}
        self.sort_mode = "added"
        self.filter_text = ""
        self.api_state = config.api_note or "starting"
        self.api_colour = "warning" if config.api_note else ""
        self._poke = asyncio.Event()
        self._slots = asyncio.Semaphore(DOWNLOAD_SLOTS)
        self._progress_shown: dict[str, float] = {}
        self._counts: Counter[str] = Counter()
        self._ticks = 0
        self.title = config.title

    # -- layout --------------------------------------------------------------------------

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Toasts carry ids, paths and API text: plain text unless a caller says otherwise."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield FilterBox(placeholder="filter: id, label or status  (esc clears)", id="filter")
        with Horizontal(id="main"):
            yield TaskTable(id="tasks")
            yield DetailPanel(id="detail")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._apply_theme_colours()
        self.theme_changed_signal.subscribe(self, lambda _: self._apply_theme_colours())
        try:
            records = self.watchlist.load()
        except WatchlistError as exc:
            self.notify(str(exc), severity="error", timeout=30)
            records = []
        self.records = {r.id: r for r in records}
        self.render_rows()
        self.query_one(TaskTable).focus()
        if self.poller is not None:
            self.poller.sync(records)
        self.poll_loop()
        self.set_interval(1.0, self._tick)

    def _apply_theme_colours(self) -> None:
        variables = self.get_css_variables()
        table = self.query_one(TaskTable)
        table.colours = {
            name: variables.get(name, "")
            for name in (
                "success",
                "warning",
                "error",
                "accent",
                "primary",
                "foreground",
                "foreground-muted",
            )
        }
        table.forget_looks()
        self.api_colours = table.colours
        self.render_rows()

    # -- rendering -----------------------------------------------------------------------

    def visible_records(self) -> list[TaskRecord]:
        records = list(self.records.values())
        if self.filter_text:
            needle = self.filter_text.lower()
            records = [
                r
                for r in records
                if needle in r.id.lower()
                or needle in (r.label or r.prompt or "").lower()
                or needle in status_look(r, self.downloads.get(r.id)).word
            ]
        if self.sort_mode == "status":
            records.sort(key=lambda r: STATUS_ORDER.get(r.kind.value, 5))
        elif self.sort_mode == "age":
            records.sort(key=lambda r: -(r.created or r.added_at or 0))
        elif self.sort_mode == "id":
            records.sort(key=lambda r: r.id)
        return records

    def render_rows(self) -> None:
        """After records, downloads, the filter or the sort changed."""
        try:
            table = self.query_one(TaskTable)
        except NoMatches:
            return  # a late message while the app shuts down
        table.show(self.visible_records(), self.downloads, self.config.wall_clock())
        counts: Counter[str] = Counter()
        for record in self.records.values():
            word = status_look(record, self.downloads.get(record.id)).word
            counts[word.split(" ")[0] if word.startswith("download") else word] += 1
        self._counts = counts
        self.render_status()
        self.render_panel()

    def render_status(self) -> None:
        wake = self.schedule.next_wakeup() if self.poller else None
        next_poll = wake - self.config.monotonic() if wake is not None else None
        state = self.api_state
        if self.schedule.is_paused() and not self.schedule.auth_blocked:
            until = time.strftime(
                "%H:%M:%S",
                time.localtime(
                    self.config.wall_clock() + self.schedule.paused_until - self.config.monotonic()
                ),
            )
            state = f"rate limited until {until}"
        extra = f"sort: {self.sort_mode}" if self.sort_mode != "added" else ""
        if self.filter_text:
            extra = f"filter: {self.filter_text}" + (f", {extra}" if extra else "")
        colour = self.api_colours.get(self.api_colour, "") if self.api_colour else ""
        self.query_one(StatusBar).show(
            self._counts, state, colour, next_poll, self.auto_download, extra
        )

    def render_panel(self) -> None:
        panel = self.query_one(DetailPanel)
        if not panel.has_class("-open"):
            return
        task_id = self.selected_id
        record = self.records.get(task_id) if task_id else None
        download = self.downloads.get(task_id) if task_id else None
        panel.show_record(record, download, self.config.wall_clock())

    def _tick(self) -> None:
        """Once a second the countdown; the clock's columns of the rows on screen every
        TIMES_EVERY ticks while they show seconds, else every TIMES_EVERY_SLOW. Any change
        of a cell repaints the whole table, which costs far more than the status line."""
        try:
            table = self.query_one(TaskTable)
        except NoMatches:
            return
        self._ticks += 1
        every = TIMES_EVERY if table.seconds_on_screen else TIMES_EVERY_SLOW
        if self._ticks % every == 0:
            table.refresh_times(self.config.wall_clock())
        self.render_status()

    @property
    def selected_id(self) -> str | None:
        return self.query_one(TaskTable).selected_id

    @on(TaskTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self.render_panel()

    # -- actions -------------------------------------------------------------------------

    def _selected_record(self) -> TaskRecord | None:
        task_id = self.selected_id
        record = self.records.get(task_id) if task_id else None
        if record is None:
            self.notify("No task selected. Press a to add task ids.", severity="warning")
        return record

    def action_download(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        if record.kind is TaskStatus.FAILED:
            self._open_panel()
            return
        if record.local_path and record.id not in self.downloads:
            self.notify(f"already saved: {record.local_path}")
            return
        if record.kind is not TaskStatus.COMPLETED:
            self.notify(
                f"{record.id} is not completed yet ({record.status or 'new'})",
                severity="warning",
            )
            return
        self.start_download(record.id)

    def _open_panel(self) -> None:
        panel = self.query_one(DetailPanel)
        panel.add_class("-open")
        self.render_panel()

    def action_toggle_panel(self) -> None:
        panel = self.query_one(DetailPanel)
        if panel.has_class("-open"):
            panel.remove_class("-open")
        else:
            self._open_panel()

    def action_close(self) -> None:
        self.query_one(DetailPanel).remove_class("-open")

    def action_help(self) -> None:
        table_keys = [b for b in TaskTable.BINDINGS if isinstance(b, Binding)]
        bindings = [*table_keys, *(b for b in self.BINDINGS if isinstance(b, Binding))]
        self.push_screen(KeysScreen(key_rows(bindings, self.get_key_display)))

    def action_add(self) -> None:
        def added(ids: list[str] | None) -> None:
            if ids:
                self.add_ids(ids)

        self.push_screen(AddIdsScreen(), added)

    def on_ids_added(self, message: IdsAdded) -> None:
        self.add_ids(message.ids)

    def reload_records(self, records: list[TaskRecord] | None = None) -> None:
        """Show the watchlist as it is on disk now, and poll what is new in it."""
        if records is None:
            try:
                records = self.watchlist.load()
            except WatchlistError as exc:
                self.notify(str(exc), severity="error")
                return
        self.records = {r.id: r for r in records}
        if self.poller is not None:
            self.poller.sync(records)
            self._poke.set()
        self.render_rows()

    def add_ids(self, ids: list[str]) -> None:
        now = self.config.wall_clock()
        try:
            outcome = self.watchlist.add([TaskRecord(id=i, added_at=now) for i in ids])
        except WatchlistError as exc:
            self.notify(str(exc), severity="error")
            return
        kept = sum(1 for _, added in outcome if not added)
        added = len(outcome) - kept
        self.notify(f"added {added} task(s)" + (f", {kept} already watched" if kept else ""))
        self.reload_records()

    def action_remove(self) -> None:
        record = self._selected_record()
        if record is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.watchlist.remove([record.id])
            except WatchlistError as exc:
                self.notify(str(exc), severity="error")
                return
            self.notify(f"removed {record.id}")
            self.reload_records()

        self.push_screen(ConfirmScreen(f"Stop watching {record.id}?"), answered)

    def action_refresh(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        if record.is_final:
            self.notify(f"{record.id} is {record.status}: final tasks are not polled again")
            return
        self.poll_soon([record.id])

    def action_refresh_all(self) -> None:
        self.poll_soon([r.id for r in self.records.values() if not r.is_final])

    def action_copy(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        text = record.video_url or record.id
        self.copy_to_clipboard(text)
        what = "video URL" if record.video_url else "task id"
        self.notify(f"copied the {what} (OSC 52; in tmux: set -g set-clipboard on)")

    def action_filter(self) -> None:
        box = self.query_one(FilterBox)
        box.add_class("-open")
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self.render_rows()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(TaskTable).focus()

    def action_sort(self) -> None:
        self.sort_mode = SORTS[(SORTS.index(self.sort_mode) + 1) % len(SORTS)]
        self.notify(f"sorted by {self.sort_mode}")
        self.render_rows()

    def action_toggle_auto(self) -> None:
        self.auto_download = not self.auto_download
        self.notify(f"auto-download {'on' if self.auto_download else 'off'}")
        if self.auto_download:
            for record in self.records.values():
                if record.kind is TaskStatus.COMPLETED and not record.local_path:
                    self.start_download(record.id)
        self.render_status()

    async def on_unmount(self) -> None:
        # Stop the workers before closing the client they use, so no pass fails mid-way.
        stopped = [
            *self.workers.cancel_group(self, "poll"),
            *self.workers.cancel_group(self, "downloads"),
        ]
        for worker in stopped:
            with contextlib.suppress(Exception):
                await worker.wait()
        if self.client is not None:
            await self.client.aclose()
        for cleanup in self.config.extra_cleanup:
            cleanup()
