"""Smaller things seen with a year of history (issue 25, items 1 and 6): ids and paths cut
from the front, one way of writing an age, a 404's time, "+2 more" on the status line,
PageDown a page at a time, toasts clear of the side panel, the command palette's own
commands and its "Keys" entry (our keys screen, which esc closes)."""

from __future__ import annotations

from collections import Counter
from functools import partial

from conftest import FakeClock
from helpers_tui import AppFactory, polled, running, table, until
from textual.app import App, ComposeResult
from textual.widgets._toast import ToastRack

from starvideos_tui.cli.cmdline import render_table
from starvideos_tui.core.formatting import ago, seen, short_id, shorten
from starvideos_tui.core.models import HttpProblem, TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.tui.screens.keys import KeysScreen
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.status_bar import StatusBar

LONG_ID = "video_starvideos_o3_1774836712345"


def test_ids_and_paths_keep_their_end() -> None:
    assert short_id(LONG_ID) == "…videos_o3_1774836712345"
    assert short_id(LONG_ID, 40) == LONG_ID
    assert shorten("/home/me/videos/downloads/video_x.mp4", 23, keep_end=True) == (
        "…/downloads/video_x.mp4"
    )
    assert shorten("日本語のテキスト", 7, keep_end=True) == "…キスト"
    table = render_table([TaskRecord(id=LONG_ID + "678", status="queued")], 0.0)
    assert "…" in table and "o3_1774836712345678" in table


def test_one_way_to_write_an_age_and_a_404_is_an_answer() -> None:
    assert [ago(s) for s in (59.4, 59.6, 60, 119, 3599.9)] == ["59s", "1m", "1m", "1m", "59m"]
    gone = TaskRecord(
        id=LONG_ID, last_problem=HttpProblem("not_found", "no such task", 404, at=100.0)
    )
    assert seen(gone, 130.0) == "30s"
    offline = TaskRecord(id=LONG_ID, last_problem=HttpProblem("network", "down", at=100.0))
    assert seen(offline, 130.0) == "never"


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar()


async def test_the_status_line_says_what_it_left_out() -> None:
    counts = Counter(
        {"queued": 12, "processing": 20, "completed": 12552, "downloaded": 31563, "failed": 5865}
    )
    app = BarApp()
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(counts, "API ok", "", 12.0, False, "filter: fox", "demo: removed on quit")
        await pilot.pause()
        text = str(bar.render())
        shown = sum(1 for word in counts if word in text)
        assert shown < len(counts), text
        assert f"+{len(counts) - shown} more" in text, text
        assert len(text) <= 78
        assert "filter: fox" in text and "12 queued" in text, text  # the view, then the work
        bar.show(counts, "API ok", "", 12.0, False, "32 of 50,000")
        await pilot.pause()
        text = str(bar.render())  # the work before a year's failures
        assert "32 of 50,000 │ 12 queued · 20 processing · 5865 failed · +2 more" in text, text
    async with BarApp().run_test(size=(200, 24)) as pilot:
        bar = pilot.app.query_one(StatusBar)
        bar.show(counts, "API ok", "", 12.0, False)
        await pilot.pause()
        assert "more" not in str(bar.render())


async def test_pagedown_moves_a_page(make_app: AppFactory, simulator: Simulator) -> None:
    ids = [simulator.seed_task(f"task {i}", queued=100_000) for i in range(100)]
    app = make_app(ids, interval=3600.0)
    async with running(app, size=(80, 24)) as pilot:
        await polled(pilot, app)
        view = table(app)
        page = view.size.height - 1
        await pilot.press("pagedown")
        await pilot.pause()
        assert view.scroll_offset.y == page  # the first PageDown scrolls a whole page
        assert view.cursor_row == page  # and the cursor keeps its place on screen
        await pilot.press("pagedown", "pageup")
        await pilot.pause()
        assert (view.scroll_offset.y, view.cursor_row) == (page, page)
        await pilot.press("end", "pagedown")
        assert view.cursor_row == 99


async def test_toasts_are_clear_of_the_side_panel(
    make_app: AppFactory, simulator: Simulator, clock: FakeClock
) -> None:
    ids = [simulator.seed_task(f"task {i}", queued=100_000) for i in range(30)]
    for size in ((80, 24), (120, 40)):
        app = make_app(ids, interval=3600.0)
        async with app.run_test(size=size, notifications=True) as pilot:  # toasts shown
            await polled(pilot, app)
            await pilot.press("enter")
            app.notify("saved video_x.mp4\nin …/downloads", title="Downloaded")
            await pilot.pause()
            await pilot.pause()
            rack = app.screen.get_child_by_type(ToastRack)
            laid_out = partial(lambda r: [t for t in r.query("Toast") if t.region.width], rack)
            await until(pilot, laid_out, "the toast")
            toasts = [t.region for t in rack.query("Toast")]
            panel = app.query_one(DetailPanel).region
            assert all(not panel.overlaps(region) for region in toasts), (size, panel, toasts)
            app.exit()


async def test_the_palette_has_the_monitors_commands(
    make_app: AppFactory, simulator: Simulator
) -> None:
    ids = [simulator.seed_task(f"task {i}", queued=100_000) for i in range(5)]
    app = make_app(ids, interval=3600.0)
    async with running(app, size=(80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"sort by status")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: app.sort_mode == "status", "the sort from the palette")

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"keys")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the keys screen")
        assert table(app).size.width == 80  # over the table, not beside it
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, KeysScreen), "esc to close it")
