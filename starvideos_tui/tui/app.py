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

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, HelpPanel, Input

from starvideos_tui.api import StarVideosClient
from starvideos_tui.download import DownloadError
from starvideos_tui.models import PassReport, TaskRecord, TaskStatus
from starvideos_tui.poll import Poller
from starvideos_tui.schedule import PollSchedule
from starvideos_tui.store import Watchlist, WatchlistError
from starvideos_tui.tui.messages import (
    DownloadFinished,
    DownloadProgress,
    PollFinished,
    WatchlistReloaded,
)
from starvideos_tui.tui.screens.add_ids import AddIdsScreen, IdsAdded
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.filter_box import FilterBox
from starvideos_tui.tui.widgets.status_bar import StatusBar
from starvideos_tui.tui.widgets.task_table import DownloadState, TaskTable, status_look
from starvideos_tui.videos import NotDownloadable, save_task_video

log = logging.getLogger(__name__)

SORTS = ("added", "status", "age", "id")
STATUS_ORDER = {"failed": 0, "processing": 1, "queued": 2, "new": 3, "completed": 4}
RELOAD_CHECK_SECONDS = 2.0
DOWNLOAD_SLOTS = 2


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


class StarVideosApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "StarVideos"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    BINDINGS = [
        Binding("d", "download", "Download", tooltip="Save the video (or show the error)"),
        Binding("a", "add", "Add"),
        Binding("x", "remove", "Remove"),
        Binding("r", "refresh", "Refresh"),
        Binding("R", "refresh_all", "Refresh all", show=False),
        Binding("c", "copy", "Copy URL"),
        Binding("slash", "filter", "Filter"),
        Binding("s", "sort", "Sort", show=False),
        Binding("t", "toggle_auto", "Auto-download", show=False),
        Binding("question_mark", "help", "Keys"),
        Binding("q", "quit", "Quit"),
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
        self.schedule = schedule or PollSchedule(
            interval=config.interval, clock=config.monotonic
        )
        self.poller = Poller(client, watchlist, self.schedule) if client else None
        self.records: dict[str, TaskRecord] = {}
        self.downloads: dict[str, DownloadState] = {}
        self.sort_mode = "added"
        self.filter_text = ""
        self.api_state = config.api_note or "starting"
        self.api_colour = "warning" if config.api_note else ""
        self._poke = asyncio.Event()
        self._slots = asyncio.Semaphore(DOWNLOAD_SLOTS)
        self._progress_shown: dict[str, float] = {}
        self.title = config.title

    # -- layout --------------------------------------------------------------------------

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
            for name in ("success", "warning", "error", "accent", "primary", "secondary",
                         "foreground-muted")
        }
        table._cells.clear()
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
        table = self.query_one(TaskTable)
        table.show(self.visible_records(), self.downloads, self.config.wall_clock())
        self.render_status()
        self.render_panel()

    def render_status(self) -> None:
        counts: Counter[str] = Counter()
        for record in self.records.values():
            look = status_look(record, self.downloads.get(record.id))
            counts[look.word.split(" ")[0] if look.word.startswith("download") else look.word] += 1
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
            counts, state, colour, next_poll, self.auto_download, extra
        )

    def render_panel(self) -> None:
        panel = self.query_one(DetailPanel)
        if not panel.has_class("-open"):
            return
        task_id = self.selected_id
        record = self.records.get(task_id) if task_id else None
        panel.show_record(record, self.downloads.get(task_id) if task_id else None)

    def _tick(self) -> None:
        self.render_rows()

    @property
    def selected_id(self) -> str | None:
        return self.query_one(TaskTable).selected_id

    @on(TaskTable.RowHighlighted)
    def _row_highlighted(self) -> None:
        self.render_panel()

    # -- polling -------------------------------------------------------------------------

    @work(group="poll", exit_on_error=False, exclusive=False)
    async def poll_loop(self) -> None:
        """The only place polls start: one pass at a time, the next armed when it ends."""
        assert self.poller is not None
        while True:
            try:
                await self._reload_if_changed()
                wake = self.schedule.next_wakeup()
                now = self.config.monotonic()
                if wake is None or wake > now:
                    delay = RELOAD_CHECK_SECONDS if wake is None else wake - now
                    self._poke.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._poke.wait(), min(delay, RELOAD_CHECK_SECONDS)
                        )
                    continue
                report = await self.poller.run_pass()
                self.post_message(PollFinished(report))
            except asyncio.CancelledError:
                raise
            except WatchlistError as exc:
                self.notify(str(exc), severity="error", timeout=15)
                await asyncio.sleep(self.config.interval)
            except Exception:  # a bug must not stop polling for good
                log.exception("polling pass failed")
                self.api_state, self.api_colour = "poller error (see log)", "error"
                await asyncio.sleep(self.config.interval)

    async def _reload_if_changed(self) -> None:
        if not self.watchlist.changed_since_load():
            return
        records = await asyncio.to_thread(self.watchlist.load)
        self.post_message(WatchlistReloaded(records))

    def on_watchlist_reloaded(self, message: WatchlistReloaded) -> None:
        self.records = {r.id: r for r in message.records}
        if self.poller is not None:
            self.poller.sync(message.records)
        self.render_rows()

    def on_poll_finished(self, message: PollFinished) -> None:
        report = message.report
        self.records.update(report.records)
        if report.auth_failed:
            self.api_state, self.api_colour = "bad key: run starvideos-tui login", "error"
            self.notify("The API refused the key; polling stopped.", severity="error")
        elif (trouble := self._api_trouble(report)) is not None:
            self.api_state, self.api_colour = trouble, "warning"
        elif report.polled:
            self.api_state, self.api_colour = "API ok", "success"
        for task_id, _old, new in report.transitions:
            self._announce(task_id, new)
        self.render_rows()

    @staticmethod
    def _api_trouble(report: PassReport) -> str | None:
        """A word for the API as a whole when no task got a useful answer this pass."""
        kinds = {p.kind for p in report.problems.values()}
        if not report.polled or len(report.problems) < report.polled or "not_found" in kinds:
            return None
        if kinds == {"network"}:
            return "offline"
        return f"API trouble: {sorted(kinds)[0]}"

    def _announce(self, task_id: str, status: str) -> None:
        kind = TaskStatus.from_word(status)
        if kind is TaskStatus.COMPLETED:
            self.notify(f"{task_id} completed", title="Video ready")
            if self.auto_download:
                self.start_download(task_id)
        elif kind is TaskStatus.FAILED:
            self.notify(f"{task_id} failed", title="Task failed", severity="error")
        else:
            return
        if self.config.bell:
            self.bell()

    def poll_soon(self, task_ids: list[str]) -> None:
        if self.poller is None:
            self.notify(self.config.api_note or "polling is off", severity="warning")
            return
        self.schedule.poll_now(task_ids)
        if self.schedule.is_paused():
            self.notify("Rate limited: the refresh waits for the API's Retry-After.")
        self._poke.set()

    # -- downloads -----------------------------------------------------------------------

    def start_download(self, task_id: str) -> None:
        if task_id in self.downloads and self.downloads[task_id].phase != "error":
            return
        self.downloads[task_id] = DownloadState("queued")
        self.download_video(task_id)
        self.render_rows()

    @work(group="downloads", exit_on_error=False)
    async def download_video(self, task_id: str) -> None:
        async with self._slots:
            if self.client is None:
                self.post_message(DownloadFinished(task_id, None, self.config.api_note))
                return
            self.downloads[task_id] = DownloadState("downloading")

            def progress(done: int, total: int | None) -> None:
                self.post_message(DownloadProgress(task_id, done, total))

            try:
                await save_task_video(
                    task_id,
                    client=self.client,
                    watchlist=self.watchlist,
                    folder=self.config.download_dir,
                    progress=progress,
                    now=self.config.wall_clock,
                )
            except (DownloadError, NotDownloadable, WatchlistError) as exc:
                self.post_message(DownloadFinished(task_id, None, str(exc)))
            except Exception as exc:
                log.exception("download of %s failed", task_id)
                self.post_message(DownloadFinished(task_id, None, f"download failed: {exc}"))
            else:
                record = next((r for r in self.watchlist.load() if r.id == task_id), None)
                self.post_message(DownloadFinished(task_id, record))

    def on_download_progress(self, message: DownloadProgress) -> None:
        self.downloads[message.task_id] = DownloadState(
            "downloading", message.done, message.total
        )
        now = self.config.monotonic()
        if now - self._progress_shown.get(message.task_id, 0) >= 0.2:
            self._progress_shown[message.task_id] = now
            self.render_rows()

    def on_download_finished(self, message: DownloadFinished) -> None:
        self.downloads.pop(message.task_id, None)
        if message.record is not None:
            self.records[message.task_id] = message.record
            self.notify(f"saved {message.record.local_path}", title="Downloaded")
        else:
            try:
                fresh = {r.id: r for r in self.watchlist.load()}
            except WatchlistError:
                fresh = {}
            if message.task_id in fresh:
                self.records[message.task_id] = fresh[message.task_id]
            self.notify(Text(message.error or "download failed").plain, severity="error",
                        title="Not saved", markup=False)
        self.render_rows()

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
            self.notify(f"already saved: {record.local_path}", markup=False)
            return
        if record.kind is not TaskStatus.COMPLETED:
            self.notify(f"{record.id} is not completed yet ({record.status or 'new'})",
                        severity="warning", markup=False)
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
        if self.query_one(DetailPanel).has_class("-open"):
            self.query_one(DetailPanel).remove_class("-open")
        elif self.screen.query(HelpPanel):
            self.action_hide_help_panel()

    def action_help(self) -> None:
        if self.screen.query(HelpPanel):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def action_add(self) -> None:
        def added(ids: list[str] | None) -> None:
            if ids:
                self.add_ids(ids)

        self.push_screen(AddIdsScreen(), added)

    def on_ids_added(self, message: IdsAdded) -> None:
        self.add_ids(message.ids)

    def add_ids(self, ids: list[str]) -> None:
        now = self.config.wall_clock()
        try:
            outcome = self.watchlist.add([TaskRecord(id=i, added_at=now) for i in ids])
            records = self.watchlist.load()
        except WatchlistError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        new = [i for i, added in outcome if added]
        self.records = {r.id: r for r in records}
        if self.poller is not None:
            self.poller.sync(records)
            self._poke.set()
        kept = len(ids) - len(new)
        self.notify(
            f"added {len(new)} task(s)" + (f", {kept} already watched" if kept else "")
        )
        self.render_rows()

    def action_remove(self) -> None:
        record = self._selected_record()
        if record is None:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.watchlist.remove([record.id])
                records = self.watchlist.load()
            except WatchlistError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.records = {r.id: r for r in records}
            if self.poller is not None:
                self.poller.sync(records)
            self.notify(f"removed {record.id}", markup=False)
            self.render_rows()

        self.push_screen(ConfirmScreen(f"Stop watching {record.id}?"), answered)

    def action_refresh(self) -> None:
        record = self._selected_record()
        if record is None:
            return
        if record.is_final:
            self.notify(f"{record.id} is {record.status}: final tasks are not polled again",
                        markup=False)
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
        if self.client is not None:
            await self.client.aclose()
        for cleanup in self.config.extra_cleanup:
            cleanup()
