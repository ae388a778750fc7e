"""The monitor's face in the terminal: a watchlist table, a side panel, a status line.

The app composes the engine (monitor.py) and renders what it reports: every event
arrives as an `EngineEvent` message and is handled here, on the app's loop. The engine
does all network and disk work off the loop; the app decides only how things look. What
the keys do to tasks is tasks.py's (`TaskActions`, which the app is). It
takes its client, watchlist, schedule and clocks as arguments (tests pass a simulator-
backed client and a temp watchlist).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection
from typing import ClassVar, TypeVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.widgets import Footer

from starvideos_tui.core.burst import Burst
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.core.worklist import WorkFacts, history_cutoff
from starvideos_tui.engine import events as ev
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.session import StarVideosClient, Watchlist, WatchlistError
from starvideos_tui.terminal.notify import Notifier
from starvideos_tui.tui.bindings import APP_BINDINGS
from starvideos_tui.tui.commands import AppCommands
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.escapes import to_terminal
from starvideos_tui.tui.marks import Marks
from starvideos_tui.tui.messages import EngineEvent
from starvideos_tui.tui.picture_keys import PictureActions
from starvideos_tui.tui.presenter import Presenter
from starvideos_tui.tui.sheet_actions import saved
from starvideos_tui.tui.themes import ANSI_DARK, ANSI_LIGHT, theme_for
from starvideos_tui.tui.toasts import one_line, over_dialog
from starvideos_tui.tui.view import Narrowing, Scope, empty_note, shown_as
from starvideos_tui.tui.view_actions import ViewActions
from starvideos_tui.tui.widgets.contact_sheet import ContactSheet
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.filter_box import FilterBox
from starvideos_tui.tui.widgets.sheet_pixels import sheet_graphics
from starvideos_tui.tui.widgets.status_bar import StatusBar
from starvideos_tui.tui.widgets.task_cursor import TaskHighlighted
from starvideos_tui.tui.widgets.task_table import TaskTable

log = logging.getLogger(__name__)

FIRST_SCREEN = 200  # tasks shown before the whole watchlist is read (a screen or several)
FIRST_SCREEN_WAIT = 1.0  # seconds the rest waits, at most, for the first screen to be drawn
T = TypeVar("T")


class StarVideosApp(PictureActions, ViewActions):
    CSS_PATH = "app.tcss"
    TITLE = "StarVideos"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    COMMANDS = App.COMMANDS | {AppCommands}  # ctrl+p: the monitor's own actions too

    # config.toml's [keys] rebinds them (bindings.py)
    BINDINGS: ClassVar[list[BindingType]] = [*APP_BINDINGS]

    def __init__(
        self,
        *,
        watchlist: Watchlist,
        client: StarVideosClient | None,
        config: AppConfig,
        schedule: PollSchedule | None = None,
    ) -> None:
        super().__init__(ansi_color=True if config.ansi else None)
        # 16 colours (TERM=xterm, linux) or none: the terminal's own palette, not
        # truecolour squeezed into it (greys for borders, white on cyan), and under
        # NO_COLOR no colour at all (the filter chosen above) rather than greys of low
        # contrast. A light background (--theme, or the terminal said so): a light theme.
        for theme in (ANSI_DARK, ANSI_LIGHT):
            self.register_theme(theme)
        if config.ansi or config.light:  # else Textual's default (or TEXTUAL_THEME)
            self.theme = theme_for(config.light, config.ansi)
        self.config = config
        if config.keymap:
            self.set_keymap(config.keymap)  # checked before (bindings.check_keymap)
        self.monitor = Monitor(
            watchlist,
            client,
            emit=self._engine_said,
            download_dir=config.download_dir,
            interval=config.interval,
            auto_download=config.auto_download,
            schedule=schedule,
            wall_clock=config.wall_clock,
            monotonic=config.monotonic,
        )
        self.watchlist = watchlist
        self.sort_mode = "work"  # view.SORTS: what needs the user first
        self.shows = "work"  # view.SHOWS: history and archived tasks hidden until H
        self.marks = Marks()
        self.filter_text = ""
        self.api_colours: dict[str, str] = {}
        self.presenter = Presenter(self, config.api_note)
        self.notifier = Notifier(config.notify if config.bell else "off", tmux=config.tmux)
        self._alerts: Burst[tuple[str, str]] = Burst(self.set_timer, self._send_alerts)
        self._render_pending = False
        self._first_drawn = asyncio.Event()
        self.fatal: str | None = None  # why the app ended at once (a damaged watchlist)
        self._view = Narrowing()
        self._records_version = 0
        self._changed: set[str] | None = set()  # tasks named by events since the last render
        self._total = 0  # the tasks the view was made of (the status line's "of N")
        self.title = config.title

    def _engine_said(self, event: ev.Event) -> None:
        self.post_message(EngineEvent(event))

    @property
    def api_state(self) -> str:
        return self.presenter.api_state

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Toasts carry ids, paths and API text: plain text unless a caller says otherwise.
        Over a dialog, one line in its margin, the newest alone (toasts.py)."""
        if over_dialog(self):  # the newest replaces the one before
            message, title = one_line(title, message), ""
            self.call_later(self.clear_notifications)  # queued, as notify is
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        yield FilterBox(
            placeholder="filter: id, label, prompt or status  (esc clears)", id="filter"
        )
        with Horizontal(id="main"):
            yield TaskTable(id="tasks")
            yield ContactSheet(id="sheet")
            yield DetailPanel(id="detail")
        yield Footer(compact=True, show_command_palette=False)  # ctrl+p still opens it

    def on_mount(self) -> None:
        self._apply_theme_colours()
        self.theme_changed_signal.subscribe(self, lambda _: self._apply_theme_colours())
        table = self.query_one(TaskTable)
        table.clock = self.config.wall_clock
        table.estimate = self._estimate
        table.focus()
        panel = self.query_one(DetailPanel)
        panel.preview = "off" if self.no_color else self.config.preview  # NO_COLOR: words only
        panel.cache = self.config.frames_dir
        panel.graphics = None if self.no_color else self.config.graphics
        self.setup_pictures(panel)
        panel.estimate = self._estimate
        sheet = self.query_one(ContactSheet)
        sheet.cache = self.config.frames_dir
        sheet.pictures = panel.preview != "off"
        if sheet.pictures:  # NO_COLOR or --preview off: none; else pixels where drawn
            sheet.use_pixels(sheet_graphics(panel.graphics), self.picture_pane)
        if self.config.ending is not None:
            # SIGTERM, SIGHUP, a terminal gone (ending.py): leave as `q` does, so the
            # terminal is given back and downloads keep their bytes.
            loop = asyncio.get_running_loop()
            self.config.ending.running(lambda: loop.call_soon_threadsafe(self.exit))
        self.run_engine()
        self.set_interval(1.0, self._tick)

    @work(group="engine", exit_on_error=False)
    async def run_engine(self) -> None:
        try:
            await self.monitor.start(
                first_screen=FIRST_SCREEN,
                shown=self._first_screen_drawn,
                since=self.first_screen_since(),
            )
        except WatchlistError as exc:
            # Found by the whole read after the first screen (launch checked the file's
            # ends): the screen is left, and the same one line is said as before it.
            self.fatal = str(exc)
            self.exit(return_code=1)
            return
        except StarVideosError as exc:
            self.notify(str(exc), severity="error", timeout=30)
        await self.monitor.run()

    def first_screen_since(self) -> float | None:
        """When the view at start hides the tasks finished before some time (history
        hidden), that time: the first screen is then read without them. None: the view
        starts with the whole history in the order added, whose head is the first screen."""
        if self.shows != "work":
            return None
        return history_cutoff(self.config.wall_clock(), self.config.history_days)

    async def _first_screen_drawn(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first_drawn.wait(), FIRST_SCREEN_WAIT)

    def _apply_theme_colours(self) -> None:
        self.api_colours = self.query_one(TaskTable).use_theme(self.get_css_variables())
        self.query_one(ContactSheet).use_colours(self.api_colours)
        self.render_rows()

    # -- what the engine says ---------------------------------------------------------

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if isinstance(event, ev.TasksChanged):
            if event.removed and self.marks:  # x, or another process: marks go with them
                self._marks_changed(self.marks.keep_only(self.records))
            if event.everything:
                self._changed = None
            elif self._changed is not None:
                self._changed.update(event.records, event.removed)
        elif isinstance(event, ev.DownloadQueued | ev.DownloadProgress | ev.DownloadEnded):
            if self._changed is not None:
                self._changed.add(event.task_id)
        else:
            return self.presenter.show(event)  # nothing a row shows has changed
        self._records_version += 1  # records or their words changed: filter afresh
        self.presenter.show(event)

    # -- rendering -----------------------------------------------------------------------

    def visible_records(self) -> list[TaskRecord]:
        words = self.presenter.counts.words
        return self._view.visible(
            self.records.values(),
            words,
            self.filter_text,
            self.sort_mode,
            self._records_version,
            self._scope(),
        )

    def prepare_filter(self) -> None:
        """The box just opened: the search texts are made now, between `/` and the first
        letter, not in the first letter's frame (50,000 records: ~50 ms)."""
        if self.presenter.handing_over:
            return  # made by the first render after it
        words, version = self.presenter.counts.words, self._records_version
        self._view.prepare(self.records.values(), words, version, self._scope())

    def _scope(self) -> Scope:
        now = self.config.wall_clock()
        return Scope(self.shows, history_cutoff(now, self.config.history_days))

    def in_thread(self, work: Callable[[], T], then: Callable[[T], None], group: str) -> None:
        def run() -> None:
            result = work()
            with contextlib.suppress(RuntimeError):  # the app closed meanwhile
                self.call_from_thread(then, result)

        self.run_worker(run, thread=True, exclusive=True, group=group, exit_on_error=False)

    def take_facts(self, facts: WorkFacts) -> None:
        self._view.take_facts(facts)
        self._records_version += 1  # the words changed with the counts: filter afresh

    def _estimate(self, record: TaskRecord, now: float) -> Estimate:
        return self.presenter.run_times.estimate(record, now)

    def alert(self, kind: str, text: str) -> None:
        """A desktop notification (notify.py); those of the next second make one."""
        if self.notifier.on:
            self._alerts.add((kind, text))

    def _send_alerts(self, notes: list[tuple[str, str]]) -> None:
        to_terminal(self, self.notifier.escape(notes))

    def render_soon(self) -> None:
        """Render once the messages waiting now are handled: a burst of answers makes one
        render, not one each, whatever the size of the watchlist."""
        if not self._render_pending:
            self._render_pending = True
            self.call_later(self._render_changed)

    def _render_changed(self) -> None:
        """The rows the engine's events named since the last render (None: any)."""
        changed, self._changed = self._changed, set()
        self.render_rows(changed)

    def render_rows(self, changed: Collection[str] | None = None) -> None:
        """After records, downloads, the filter or the sort changed. `changed` names the
        tasks whose rows may differ (empty: only the filter or the sort changed); None (a
        caller that does not know) checks them all."""
        self._render_pending = False
        if self.presenter.handing_over:
            return  # the screen as it was until the whole load is swapped in (handover.py)
        try:
            table = self.query_one(TaskTable)
        except NoMatches:
            return  # a late message while the app shuts down
        self._total = len(self.records)
        now = self.config.wall_clock()
        rows = self.visible_records()
        table.show(
            rows,
            self.downloads,
            now,
            known=self.records,
            changed=changed,
        )
        sheet = self.sheet_shown()
        if sheet is not None:
            sheet.show(saved(rows), self.downloads)
        if table.rating_column != self.presenter.counts.any_picked:  # the first rating
            table.rating_column = self.presenter.counts.any_picked
            table.forget_looks()
        history = self.key_for("history", "H")
        note = "" if rows else empty_note(self.filter_text, self.shows, len(self.records), history)
        if note != table.empty_note:
            table.empty_note = note
            table.refresh()
        if table.row_count and not self._first_drawn.is_set():
            self.call_after_refresh(self._first_drawn.set)
        self.render_status()
        self.render_panel()

    def render_status(self) -> None:
        try:
            bar = self.query_one(StatusBar)
        except NoMatches:
            return
        wake = self.schedule.next_wakeup() if self.monitor.poller else None
        next_poll = wake - self.config.monotonic() if wake is not None else None
        extra = shown_as(
            self.filter_text,
            self.sort_mode,
            shown=self.query_one(TaskTable).row_count,
            total=self._total,
            shows=self.shows,
            marked=len(self.marks),
        )
        sheet = self.sheet_shown()
        if sheet is not None:
            extra = ", ".join(p for p in (f"sheet: {len(sheet.cell_ids)} saved", extra) if p)
        state, colour = (
            self.presenter.api_state,
            self.api_colours.get(self.presenter.api_colour, ""),
        )
        session = "demo: removed on quit" if self.config.demo else ""
        bar.show(
            self.presenter.counts.counts,
            state,
            colour,
            next_poll,
            self.auto_download,
            extra,
            session,
        )

    def render_panel(self) -> None:
        panel = self.query_one(DetailPanel)
        self._toasts_clear_of(panel)
        if not panel.has_class("-open"):
            return
        task_id = self.selected_id
        record = self.records.get(task_id) if task_id else None
        download = self.downloads.get(task_id) if task_id else None
        colours = self.query_one(TaskTable).colours
        panel.show_record(record, download, self.config.wall_clock(), colours)

    def _tick(self) -> None:
        """Once a second: the countdown to the next poll and links about to die (the
        table ages its own rows)."""
        self.render_status()
        self.presenter.check_links(self.config.wall_clock())
        self.watch_pane()

    @on(TaskHighlighted)
    def _row_highlighted(self) -> None:
        self.render_panel()

    async def on_unmount(self) -> None:
        # Stop the engine (downloads keep their bytes) before closing the client it uses.
        for worker in self.workers.cancel_group(self, "engine"):
            with contextlib.suppress(Exception):
                await worker.wait()
        with contextlib.suppress(Exception):
            await self.monitor.close()
        if self.client is not None:
            await self.client.aclose()
        for cleanup in self.config.extra_cleanup:
            cleanup()
