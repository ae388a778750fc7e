"""The TUI driven by Pilot against the simulator on loopback, with a clock the test moves."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.console import Console
from rich.text import Text
from textual import events
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static, TextArea

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.burst import TOGETHER
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import AppConfig, StarVideosApp
from starvideos_tui.tui.screens.add_ids import AddIdsScreen
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.screens.keys import KeysScreen
from starvideos_tui.tui.screens.new_task import NewTaskScreen
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.filter_box import FilterBox
from starvideos_tui.tui.widgets.status_bar import StatusBar
from starvideos_tui.tui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from conftest import FakeClock

KEY = "sk-test"
SIZE = (100, 30)
UNKNOWN_ID = "video_starvideos_o3_0000000001"
HOSTILE_ERROR = "[bold red]x[/] [@click=app.quit] \x1b[2J and more"
ROOT = Path(__file__).resolve().parent.parent

AppFactory = Callable[..., StarVideosApp]


# -- helpers --------------------------------------------------------------------------------


@pytest.fixture
def make_app(
    simulator: Simulator, clock: FakeClock, watchlist: Watchlist, tmp_path: Path
) -> AppFactory:
    """Build the app on the simulator; every clock it reads is the test's clock."""

    def make(
        ids: list[str],
        *,
        interval: float = 30.0,
        base_url: str | None = None,
        key: str = KEY,
    ) -> StarVideosApp:
        watchlist.add([TaskRecord(id=task_id, added_at=clock()) for task_id in ids])
        config = AppConfig(
            download_dir=tmp_path / "videos",
            interval=interval,
            bell=False,
            wall_clock=clock,
            monotonic=clock,
        )
        client = StarVideosClient(base_url or simulator.base_url, key)
        return StarVideosApp(watchlist=watchlist, client=client, config=config)

    return make


def screen_text(app: StarVideosApp) -> str:
    """What the terminal shows right now, as plain text (the same render a screenshot uses)."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system=None,
        legacy_windows=False,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


@asynccontextmanager
async def running(app: StarVideosApp, size: tuple[int, int] = SIZE) -> AsyncIterator[Pilot[None]]:
    """`app.run_test`, left the way `q` leaves: through the app's own exit.

    run_test's teardown tears the screens down from outside while the app may still be
    handling a poll result, which then finds no table (NoMatches); see the report.
    """
    async with app.run_test(size=size) as pilot:
        yield pilot
        if app.is_running:
            app.exit()
            await until(pilot, lambda: not app.is_running, "the app to exit", timeout=3)


async def until(
    pilot: Pilot[None], condition: Callable[[], object], what: str, timeout: float = 5.0
) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def table(app: StarVideosApp) -> TaskTable:
    return app.query_one(TaskTable)


def status_of(app: StarVideosApp, task_id: str) -> str:
    """The status cell of a task's row, e.g. '○ queued'."""
    return table(app).get_row(task_id)[0].plain


def row_ids(app: StarVideosApp) -> list[str]:
    return table(app).row_ids


def panel_text(app: StarVideosApp) -> str:
    body = app.query_one("#detail-body", Static)
    return str(body.render())


def panel_is_open(app: StarVideosApp) -> bool:
    return app.query_one(DetailPanel).has_class("-open")


def result_polls(simulator: Simulator, task_id: str) -> int:
    return sum(1 for r in simulator.requests if r.path == f"/v1/result/{task_id}")


async def polled(pilot: Pilot[None], app: StarVideosApp) -> None:
    """Wait for the first polling pass to have answered every watched task."""
    await until(
        pilot,
        lambda: (
            app.records
            and all(r.checked_at or r.last_problem for r in app.records.values())
            and app.api_state != "starting"
        ),
        "the first polling pass",
    )
    await pilot.pause()


async def select(pilot: Pilot[None], app: StarVideosApp, task_id: str) -> None:
    table(app).move_cursor(row=row_ids(app).index(task_id))
    await pilot.pause()
    assert app.selected_id == task_id


async def downloads_done(app: StarVideosApp, pilot: Pilot[None]) -> None:
    """Wait for the download workers (not all workers: the poll loop never ends)."""
    workers = [w for w in app.workers if w.group == "downloads"]
    if workers:  # an empty list would make wait_for_complete wait for every worker
        await app.workers.wait_for_complete(workers)
    await until(pilot, lambda: not app.downloads, "the download to be reported")


# -- the table ------------------------------------------------------------------------------


async def test_every_watched_task_gets_a_row_with_its_status_in_words(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("queued for long", queued=600)
    processing = simulator.seed_task("rendering", queued=0, processing=600)
    completed = simulator.seed_task("done", queued=0, processing=0)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([queued, processing, completed, failed, UNKNOWN_ID])

    async with running(app) as pilot:
        await polled(pilot, app)

        assert row_ids(app) == [queued, processing, completed, failed, UNKNOWN_ID]
        assert status_of(app, queued) == "○ queued"
        assert status_of(app, processing) == "◐ processing"
        assert status_of(app, completed) == "● completed"
        assert status_of(app, failed) == "✗ failed"
        assert status_of(app, UNKNOWN_ID) == "! unknown id"
        shown = screen_text(app)
        for word in ("queued", "processing", "completed", "failed", "unknown id", "API ok"):
            assert word in shown


async def test_a_running_task_updates_its_row_in_place_and_the_cursor_stays_on_it(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    first = simulator.seed_task("already done", queued=0, processing=0)
    moving = simulator.seed_task("moving along", queued=5, processing=5)
    last = simulator.seed_task("waiting", queued=600)
    # A short interval (on the fake clock) so each advance of the clock is polled at once.
    app = make_app([first, moving, last], interval=0.5)

    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, moving)
        assert status_of(app, moving) == "○ queued"

        for expected in ("◐ processing", "● completed"):
            clock.advance(5.5)
            await until(pilot, lambda e=expected: status_of(app, moving) == e, expected)
            assert row_ids(app) == [first, moving, last]
            assert table(app).cursor_row == 1
            assert app.selected_id == moving


async def test_a_finished_task_is_not_polled_again(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    done = simulator.seed_task("done", queued=0, processing=0)
    unfinished = simulator.seed_task("running", queued=600)
    app = make_app([done, unfinished], interval=0.5)

    async with running(app) as pilot:
        await polled(pilot, app)
        before = result_polls(simulator, unfinished)
        for _ in range(3):
            clock.advance(1.0)
            await until(pilot, lambda b=before: result_polls(simulator, unfinished) > b, "a poll")
            # The request is logged before the pass ends: let it schedule the next one
            # before the clock moves again.
            await until(
                pilot, lambda: app.schedule.next_due[unfinished] > clock(), "the pass to end"
            )
            before = result_polls(simulator, unfinished)

    assert result_polls(simulator, done) == 1


# -- downloads and the side panel -----------------------------------------------------------


async def test_d_saves_a_completed_video_and_the_video_host_never_sees_the_api_key(
    simulator: Simulator, make_app: AppFactory, tmp_path: Path
) -> None:
    completed = simulator.seed_task("done", queued=0, processing=0)
    app = make_app([completed])

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("d")
        await downloads_done(app, pilot)

        saved = tmp_path / "videos" / f"{completed}.mp4"
        assert saved.read_bytes() == sample_video().data
        assert status_of(app, completed) == "✓ downloaded"

    video_requests = [r for r in simulator.requests if r.path.startswith("/videos/")]
    api_requests = [r for r in simulator.requests if r.path.startswith("/v1/")]
    assert video_requests
    assert all("authorization" not in r.headers for r in video_requests)
    # The check above means something only if the API calls do carry the key.
    assert all(r.headers.get("authorization") == f"Bearer {KEY}" for r in api_requests)


async def test_d_on_a_failed_task_opens_the_panel_on_its_error(
    simulator: Simulator, make_app: AppFactory
) -> None:
    failed = simulator.seed_task(
        "broken", queued=0, processing=0, fail=True, error="Reference image resolution is too low."
    )
    app = make_app([failed])

    async with running(app) as pilot:
        await polled(pilot, app)
        assert not panel_is_open(app)
        await pilot.press("d")
        await pilot.pause()

        assert panel_is_open(app)
        assert "Reference image resolution is too low." in panel_text(app)
        assert "Reference image resolution is too low." in screen_text(app)
        assert not app.downloads  # nothing was fetched for a task without a video


async def test_enter_opens_the_panel_on_the_selected_task_and_enter_closes_it(
    simulator: Simulator, make_app: AppFactory
) -> None:
    first = simulator.seed_task("first", queued=600)
    second = simulator.seed_task("second prompt", queued=0, processing=0)
    app = make_app([first, second])

    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, second)
        await pilot.press("enter")
        assert panel_is_open(app)
        assert second in panel_text(app)
        assert "completed" in panel_text(app)

        # The panel follows the cursor.
        await pilot.press("up")
        assert first in panel_text(app)

        await pilot.press("enter")
        assert not panel_is_open(app)


async def test_hostile_api_error_text_is_shown_literally_not_as_markup_or_escapes(
    simulator: Simulator, make_app: AppFactory
) -> None:
    failed = simulator.seed_task("evil", queued=0, processing=0, fail=True, error=HOSTILE_ERROR)
    app = make_app([failed])

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("d")
        await pilot.pause()

        shown = screen_text(app)
        assert "[bold red]x[/]" in shown
        assert "[@click=app.quit]" in shown
        assert "\\x1b[2J and more" in shown  # the escape is made visible, not obeyed
        assert "\x1b" not in panel_text(app)
        assert app.is_running


async def test_narrow_80x24_terminal_with_the_panel_open_still_shows_the_table(
    simulator: Simulator, make_app: AppFactory
) -> None:
    ids = [simulator.seed_task(f"task {n}", queued=0, processing=0) for n in range(3)]
    app = make_app(ids)

    async with running(app, (80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("enter")
        await pilot.pause()

        assert panel_is_open(app)
        tasks = table(app)
        panel = app.query_one(DetailPanel)
        assert tasks.region.height >= 5  # header and at least 3 rows plus room
        assert panel.region.height >= 5
        assert not tasks.region.overlaps(panel.region)
        shown = screen_text(app)
        for task_id in ids:
            assert task_id in shown
        assert "completed" in shown
        assert "d Download" in shown.splitlines()[-1]  # the footer is still there


async def test_at_80_columns_a_row_shows_its_label_beside_the_ids_distinctive_end(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    task_id = simulator.seed_task("fox", queued=600)
    app = make_app([task_id])
    watchlist.update({task_id: lambda r: replace(r, label="fox in the snow")})
    async with running(app, (80, 24)) as pilot:
        await polled(pilot, app)
        row = next(line for line in screen_text(app).splitlines() if "○ queued" in line)
        assert f"…{task_id.rsplit('_', 1)[1]}  fox in the snow" in row
    async with running(make_app([]), (120, 24)) as pilot:  # room enough: the whole id
        await pilot.pause()
        await until(pilot, lambda: task_id in screen_text(pilot.app), "the whole id")


@pytest.mark.parametrize("width", [80, 60, 45])
async def test_a_narrow_footer_still_names_the_help_and_quit_keys(
    simulator: Simulator, make_app: AppFactory, width: int
) -> None:
    app = make_app([simulator.seed_task("one", queued=600)])

    async with running(app, (width, 24)) as pilot:
        await polled(pilot, app)
        footer = screen_text(app).splitlines()[-1]
        assert "? Keys" in footer
        assert "q Quit" in footer


async def test_with_no_color_each_status_is_still_told_by_its_word(
    simulator: Simulator, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    queued = simulator.seed_task("waiting", queued=600)
    completed = simulator.seed_task("done", queued=0, processing=0)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([queued, completed, failed])

    async with running(app) as pilot:
        await polled(pilot, app)
        assert app.no_color
        lines = screen_text(app).splitlines()
        for task_id, word in ((queued, "queued"), (completed, "completed"), (failed, "failed")):
            assert any(task_id in line and word in line for line in lines), word


# -- adding, removing, filtering, sorting ---------------------------------------------------


async def test_pasting_many_ids_adds_the_valid_ones_and_names_the_refused_ones(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    existing = simulator.seed_task("existing", queued=600)
    new_ones = [simulator.seed_task(f"new {n}", queued=600) for n in range(3)]
    app = make_app([existing])
    pasted = f"{new_ones[0]}, {new_ones[1]}\n  bad/slash {new_ones[2]},,\n..\n{existing}\n"

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddIdsScreen), "the add dialog")
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

        # The dialog stays open on the refused ids and says why.
        assert isinstance(app.screen, AddIdsScreen)
        refusal = str(app.screen.query_one("#add-error", Static).render())
        assert "2 refused" in refusal
        assert "'bad/slash'" in refusal
        assert "'..'" in refusal
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AddIdsScreen)

        assert row_ids(app) == [existing, *new_ones]
        assert [r.id for r in watchlist.load()] == [existing, *new_ones]
        await until(pilot, lambda: status_of(app, new_ones[2]) == "○ queued", "new ids polled")


async def test_x_then_y_stops_watching_the_selected_task(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    keep = simulator.seed_task("keep", queued=600)
    drop = simulator.seed_task("drop", queued=600)
    app = make_app([keep, drop])

    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, drop)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert drop in screen_text(app)
        await pilot.press("y")
        await pilot.pause()

        assert row_ids(app) == [keep]
        assert [r.id for r in watchlist.load()] == [keep]


async def test_x_then_n_keeps_the_task(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    keep = simulator.seed_task("keep", queued=600)
    also = simulator.seed_task("also keep", queued=600)
    app = make_app([keep, also])

    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, also)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await pilot.pause()

        assert not isinstance(app.screen, ConfirmScreen)
        assert row_ids(app) == [keep, also]
        assert [r.id for r in watchlist.load()] == [keep, also]
        assert app.selected_id == also


async def test_slash_filter_narrows_the_rows_and_escape_brings_them_all_back(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("a quiet lake", queued=600)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    completed = simulator.seed_task("done", queued=0, processing=0)
    app = make_app([queued, failed, completed])

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("slash")
        assert app.query_one(FilterBox).has_focus
        await pilot.press(*"failed")
        await pilot.pause()
        assert row_ids(app) == [failed]
        assert "filter: failed" in str(app.query_one(StatusBar).render())

        await pilot.press("escape")
        await pilot.pause()
        assert row_ids(app) == [queued, failed, completed]
        assert not app.query_one(FilterBox).has_class("-open")
        assert table(app).has_focus  # the keys work on the table again

        # The filter also matches the task id.
        await pilot.press("slash", *completed[-4:], "enter")
        await pilot.pause()
        assert row_ids(app) == [completed]
        assert table(app).has_focus


async def test_s_cycles_the_sort_order_and_the_status_bar_names_it(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("queued", queued=600)
    completed = simulator.seed_task("completed", queued=0, processing=0)
    failed = simulator.seed_task("failed", queued=0, processing=0, fail=True)
    processing = simulator.seed_task("processing", queued=0, processing=600)
    added_order = [queued, completed, failed, processing, UNKNOWN_ID]
    app = make_app(added_order)

    async with running(app) as pilot:
        await polled(pilot, app)
        assert row_ids(app) == added_order

        await pilot.press("s")
        assert app.sort_mode == "status"
        # An id the API has never answered for sorts with the new ones, before completed.
        assert row_ids(app) == [failed, processing, queued, UNKNOWN_ID, completed]
        assert "sort: status" in str(app.query_one(StatusBar).render())

        await pilot.press("s")
        assert app.sort_mode == "age"
        await pilot.press("s")
        assert app.sort_mode == "id"
        assert row_ids(app) == sorted(added_order)

        await pilot.press("s")
        assert app.sort_mode == "added"
        assert row_ids(app) == added_order
        assert "sort:" not in str(app.query_one(StatusBar).render())


# -- copy, refresh, help, quit --------------------------------------------------------------


async def test_c_copies_the_video_url_or_else_the_task_id(
    simulator: Simulator, make_app: AppFactory
) -> None:
    completed = simulator.seed_task("done", queued=0, processing=0)
    queued = simulator.seed_task("waiting", queued=600)
    app = make_app([completed, queued])

    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, completed)
        await pilot.press("c")
        url = app.records[completed].video_url
        assert url and url.startswith(f"{simulator.base_url}/videos/{completed}.mp4?")
        assert app.clipboard == url

        await select(pilot, app, queued)
        await pilot.press("c")
        assert app.clipboard == queued


async def test_r_polls_the_selected_task_now_instead_of_waiting_for_the_interval(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    other = simulator.seed_task("other", queued=600)
    moving = simulator.seed_task("moving", queued=5, processing=600)
    app = make_app([other, moving])  # interval 30 s on a clock that only moves by hand

    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, moving)
        clock.advance(10)  # now processing at the API, but not due for another ~20 s
        await pilot.pause(0.3)
        assert result_polls(simulator, moving) == 1
        assert status_of(app, moving) == "○ queued"

        await pilot.press("r")
        await until(pilot, lambda: status_of(app, moving) == "◐ processing", "the refresh")
        assert result_polls(simulator, moving) == 2
        assert result_polls(simulator, other) == 1


async def test_question_mark_opens_a_help_panel_with_the_keys_and_closes_it_again(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([simulator.seed_task("one", queued=600)])

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        shown = screen_text(app)
        for described in ("Download", "Details"):
            assert described in shown

        await pilot.press("question_mark")
        await pilot.pause()
        assert not isinstance(app.screen, KeysScreen)


async def test_question_mark_shows_every_app_key_without_a_mouse(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([simulator.seed_task("one", queued=600)])

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        shown = screen_text(app)
        for described in (
            "Download", "Add", "Remove", "Refresh", "Refresh all", "Copy URL", "Filter",
            "Sort", "Auto-download", "Keys", "Quit", "New", "Resubmit", "Label", "Details",
        ):  # fmt: skip
            assert described in shown, described


async def test_at_80x24_the_keys_list_fits_without_scrolling(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([simulator.seed_task("one", queued=600)])

    async with running(app, size=(80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("question_mark")
        await pilot.pause()
        shown = screen_text(app)
        for described in ("Details", "Move", "Page", "First, last", "Download", "Close panel"):
            assert described in shown, described
        assert app.screen.query_one("#dialog").max_scroll_y == 0


async def test_q_quits_and_closes_the_connections(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([simulator.seed_task("one", queued=600)])
    cleaned: list[bool] = []
    app.config.extra_cleanup.append(lambda: cleaned.append(True))

    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to exit", timeout=3)

    assert app.return_code == 0
    assert cleaned == [True]
    assert app.client is not None and app.client._http.is_closed


# -- the world outside ----------------------------------------------------------------------


async def test_ids_added_by_another_process_appear_in_the_running_app(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    first = simulator.seed_task("first", queued=600)
    later = simulator.seed_task("added from the CLI", queued=0, processing=600)
    app = make_app([first])

    async with running(app) as pilot:
        await polled(pilot, app)
        # What `starvideos-tui add` does: its own Watchlist object on the same file.
        Watchlist(watchlist.path).add([TaskRecord(id=later, added_at=clock())])

        await until(pilot, lambda: later in row_ids(app), "the row of the new id", timeout=5)
        assert row_ids(app) == [first, later]
        await until(pilot, lambda: status_of(app, later) == "◐ processing", "its first poll")


async def test_a_refused_api_key_says_bad_key_and_the_app_keeps_running(
    clock: FakeClock, make_app: AppFactory
) -> None:
    strict = Simulator(SimConfig(api_key="sk-the-right-one", seed=3), clock=clock).start()
    try:
        task_id = strict.seed_task("locked away", queued=600)
        app = make_app([task_id], base_url=strict.base_url, key="sk-wrong")

        async with running(app) as pilot:
            await until(pilot, lambda: "bad key" in app.api_state, "the key to be refused")
            await pilot.pause()
            assert "bad key" in str(app.query_one(StatusBar).render())
            assert "bad key" in screen_text(app)

            # Still usable: the keys work and nothing retries with the refused key.
            refused = len(strict.requests)
            await pilot.press("enter")
            assert panel_is_open(app)
            await pilot.press("r")
            await pilot.pause(0.3)
            assert app.is_running
            assert len(strict.requests) == refused
            assert [r.status for r in strict.requests] == [401] * refused
    finally:
        strict.stop()


# -- the README's screenshots ---------------------------------------------------------------


def test_export_screenshots_script_writes_the_readme_pictures(tmp_path: Path) -> None:
    script = ROOT / "scripts" / "export_screenshots.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        check=True,
        timeout=60,
        capture_output=True,
    )

    expected = {
        "watchlist.svg": (
            "queued",
            "processing",
            "completed",
            "downloaded",
            "failed",
            "unknown",
            "downloading",
            "42%",
            "left",
        ),
        "failure-panel.svg": ("failed", "Error", "resolution"),
        "download.svg": ("downloading", "MB"),
        "help.svg": ("Download", "Details"),
        "narrow-80x24.svg": ("completed", "Download", "Error"),
        "16-colours-80x24.svg": ("processing", "failed", "Due"),
        "preview.svg": ("▀", "frame", "downloaded", "lighthouse"),
        "no-color-80x24.svg": ("processing", "failed", "Due"),
    }
    for name, words in expected.items():
        svg = (tmp_path / name).read_text(encoding="utf-8")
        assert svg.startswith("<svg")
        for word in words:
            assert word in svg, f"{word!r} missing from {name}"


# -- creating tasks (n, N) and labels (l) ---------------------------------------------------


def form(app: StarVideosApp) -> NewTaskScreen:
    assert isinstance(app.screen, NewTaskScreen), app.screen
    return app.screen


def posts(simulator: Simulator) -> int:
    return sum(1 for r in simulator.requests if r.method == "POST")


async def test_n_submits_a_task_that_joins_the_watchlist_with_its_prompt_and_takes_the_cursor(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([simulator.seed_task("old one", queued=600)])
    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        screen = form(app)
        screen.query_one("#prompt", TextArea).text = "A whale breaching at sunset"
        screen.query_one("#duration", Input).value = "8"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, NewTaskScreen), "the form to close")
        new_id = app.selected_id
        assert new_id is not None and new_id in app.records
        record = app.records[new_id]
        assert record.prompt == "A whale breaching at sunset"
        assert record.params == {
            "model": "starvideos_o3",
            "prompt": "A whale breaching at sunset",
            "duration": 8,
        }
        assert "A whale breaching" in table(app).get_row(new_id)[1].plain
    assert posts(simulator) == 1


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("#duration", "20", "duration must be 3 to 15"),
        ("#first", "ftp://x/y.png", "not an http(s) URL"),
        ("#images", "https://a/1.png\nhttps://a/2.png", "cannot be combined"),
    ],
)
async def test_a_form_that_breaks_the_api_rules_says_what_to_change_and_sends_nothing(
    simulator: Simulator, make_app: AppFactory, field: str, value: str, says: str
) -> None:
    app = make_app([simulator.seed_task("old one", queued=600)])
    async with running(app) as pilot:
        await polled(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        screen = form(app)
        screen.query_one("#prompt", TextArea).text = "a cat"
        if field == "#images":
            screen.query_one("#first", Input).value = "https://a/first.png"
            screen.query_one(field, TextArea).text = value
        else:
            screen.query_one(field, Input).value = value
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NewTaskScreen), "the form closed on a bad request"
        assert says in str(screen.query_one("#form-problems", Static).render())
        assert screen.query_one("#submit", Button).disabled
    assert posts(simulator) == 0


async def test_a_refused_submission_keeps_everything_typed_and_shows_the_apis_reason(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([])
    app.client = StarVideosClient(simulator.base_url, "")  # no key: the API says 401
    async with running(app) as pilot:
        await pilot.press("n")
        await pilot.pause()
        screen = form(app)
        screen.query_one("#prompt", TextArea).text = "keep me"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: "Not submitted" in str(screen.query_one("#form-problems", Static).render()),
            "the refusal to be shown",
        )
        assert isinstance(app.screen, NewTaskScreen)
        assert screen.query_one("#prompt", TextArea).text == "keep me"
        assert "HTTP 401" in str(screen.query_one("#form-problems", Static).render())


async def test_capital_n_on_a_failed_task_opens_the_form_filled_with_its_request(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    app = make_app([])
    params = {
        "model": "starvideos_o3",
        "prompt": "A fox, FAIL",
        "duration": 5,
        "ratio": "16:9",
        "referenceImages": ["https://img.example/a.png", "https://img.example/b.png"],
    }
    failed = simulator.seed_task("A fox, FAIL", queued=0, processing=0, fail=True)
    watchlist.add([TaskRecord(id=failed, prompt="A fox, FAIL", params=params, added_at=clock())])
    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, failed)
        await pilot.press("N")
        await pilot.pause()
        screen = form(app)
        assert screen.query_one("#prompt", TextArea).text == "A fox, FAIL"
        assert screen.query_one("#duration", Input).value == "5"
        assert screen.query_one("#ratio", Select).value == "16:9"
        assert screen.query_one("#images", TextArea).text.splitlines() == params["referenceImages"]


async def test_l_labels_a_task_and_the_filter_finds_it_by_that_label(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    first = simulator.seed_task("one", queued=600)
    second = simulator.seed_task("two", queued=600)
    app = make_app([first, second])
    async with running(app) as pilot:
        await polled(pilot, app)
        await select(pilot, app, second)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*"wedding teaser")
        await pilot.press("enter")
        await until(pilot, lambda: app.records[second].label == "wedding teaser", "the label")
        assert "wedding teaser" in table(app).get_row(second)[1].plain
        assert next(r for r in watchlist.load() if r.id == second).label == "wedding teaser"
        await pilot.press("slash", *"wedding")
        await pilot.pause()
        assert row_ids(app) == [second]


async def test_switching_the_theme_recolours_rows_and_later_changes_still_show(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    task = simulator.seed_task("one", queued=5, processing=5)
    app = make_app([task], interval=30.0)
    async with running(app) as pilot:
        await polled(pilot, app)
        assert status_of(app, task) == "○ queued"
        before = table(app).get_row(task)[0].style
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await until(
            pilot, lambda: table(app).get_row(task)[0].style != before, "the row to recolour"
        )
        clock.advance(60)
        await pilot.press("r")
        await until(pilot, lambda: status_of(app, task) == "● completed", "the row to update")


async def test_each_status_is_drawn_in_its_theme_colour(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("later", queued=100, processing=100)
    completed = simulator.seed_task("done", queued=0, processing=0)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([queued, completed, failed])
    async with running(app) as pilot:
        await until(
            pilot,
            lambda: failed in row_ids(app) and status_of(app, failed) == "✗ failed",
            "the first pass",
        )
        await pilot.pause()
        tasks = table(app)
        colours = app.get_css_variables()
        for row, name in ((1, "success"), (2, "error")):  # row 0 holds the cursor
            strip = tasks.render_line(1 + row)
            drawn = {seg.style.color.name.lower() for seg in strip if seg.style and seg.style.color}
            assert colours[name].lower()[:7] in drawn, (name, drawn)


async def test_esc_on_the_table_clears_a_filter_that_enter_kept(
    simulator: Simulator, make_app: AppFactory
) -> None:
    done = simulator.seed_task("done", queued=0, processing=0)
    broken = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([done, broken])
    async with running(app) as pilot:
        await until(pilot, lambda: broken in row_ids(app), "the rows")
        await pilot.press("slash", "f", "a", "i", "l", "enter")
        await until(pilot, lambda: row_ids(app) == [broken], "the filter")
        await pilot.press("escape")
        await until(pilot, lambda: row_ids(app) == [done, broken], "the cleared filter")
        assert app.filter_text == ""


async def test_at_80_columns_the_status_line_keeps_failures_and_cuts_no_word(
    simulator: Simulator, make_app: AppFactory
) -> None:
    ids = [simulator.seed_task(f"t{i}", queued=0, processing=0) for i in range(3)]
    ids += [simulator.seed_task("x", queued=0, processing=0, fail=True)]
    ids += [simulator.seed_task("y", queued=100, processing=100) for _ in range(2)]
    app = make_app([*ids, UNKNOWN_ID])
    async with running(app, size=(80, 24)) as pilot:
        app.sort_mode = "status"
        await until(pilot, lambda: "unknown id" in screen_text(app).splitlines()[0], "a pass")
        line = screen_text(app).splitlines()[0].rstrip()
        assert "1 failed" in line and "1 unknown id" in line and "sort: status" in line
        assert len(line) <= 80
        pieces = [p.strip() for part in line.split("│") for p in part.split("·")]
        assert all(p.split(" ", 1)[0].isdigit() or p in line for p in pieces if p)
        assert not line.endswith("…")


async def test_videos_saved_together_make_one_toast_not_one_each(
    simulator: Simulator, make_app: AppFactory
) -> None:
    done = [simulator.seed_task(f"t{i}", queued=0, processing=0) for i in range(3)]
    app = make_app(done)
    async with running(app, size=(120, 30)) as pilot:
        await until(
            pilot,
            lambda: (
                all(status_of(app, i) == "● completed" for i in done if i in row_ids(app))
                and len(row_ids(app)) == 3
            ),
            "the first pass",
        )
        await pilot.press("t")  # auto-download on: every completed video is fetched
        await until(pilot, lambda: all(app.records[i].local_path for i in done), "the videos")
        await pilot.pause(TOGETHER + 0.3)
        toasts = [n.message for n in app._notifications]  # Textual keeps the live toasts here
        saved = [m for m in toasts if "saved" in m]
        assert len(saved) == 1, toasts  # one toast for the burst, not one per video
        assert saved[0].startswith("3 videos saved to ")


async def test_clearing_a_filter_recomputes_no_row_and_the_cursor_shows_where_focus_is(
    simulator: Simulator, make_app: AppFactory
) -> None:
    """Rows hidden by a filter keep what they drew (50,000 of them come back at once);
    a row's drawing is kept by how it is drawn, so the cursor still follows the focus."""
    ids = [simulator.seed_task(f"take {i}", queued=0, processing=0) for i in range(5)]
    app = make_app(ids)
    async with running(app) as pilot:
        await polled(pilot, app)
        rows = table(app)
        focused = list(rows.render_line(1))[1].style  # the cursor on the first row

        made: list[str] = []
        make = rows.cells_for
        rows.cells_for = lambda record, *rest: made.append(record.id) or make(record, *rest)  # type: ignore[method-assign]
        await pilot.press("slash", *ids[2][-4:])
        await until(pilot, lambda: row_ids(app) == [ids[2]], "the filter")
        blurred = list(rows.render_line(1))[1].style  # the filter box has the focus
        await pilot.press("enter", "escape")
        await until(pilot, lambda: row_ids(app) == ids, "the cleared filter")
        await pilot.pause()
        assert made == []
        assert focused is not None and blurred is not None
        assert focused.bgcolor != blurred.bgcolor
        assert rows.cursor_row == 2  # still on the task the filter found
        assert list(rows.render_line(3))[1].style == focused  # focus is back


async def test_a_signed_links_deadline_counts_down_and_warns_once_before_it_dies(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    """The simulator's links are signed (S3, GCS, OSS, Azure, COS) and die 300 s after
    they are handed out: the row counts down, turns to the warning colour under 10 min
    with one toast, and says "expired" after."""
    done = simulator.seed_task("done", queued=0, processing=0)
    app = make_app([done], interval=3600)  # no poll hands out a fresh link meanwhile
    async with running(app) as pilot:
        await polled(pilot, app)
        deadline = app.records[done].link_expires_at
        assert deadline is not None and 290 < deadline - clock() <= 300

        def link() -> Text:
            table(app).refresh_times(clock())
            return table(app).get_row(done)[4]

        def warnings() -> list[str]:
            return [n.message for n in app._notifications if "dies in" in n.message]

        assert link().plain in ("4m left", "5m left")
        await until(pilot, lambda: len(warnings()) == 1, "the warning")  # under 10 min
        assert app.query_one(TaskTable).colours["warning"] in str(link().style)
        for _ in range(3):  # the clock moves on: told once, not every second
            clock.advance(30)
            await pilot.pause(1.2)
        assert len(warnings()) == 1, warnings()
        assert done in warnings()[0] and "d saves it" in warnings()[0]
        clock.advance(deadline - clock() + 1)
        assert link().plain == "expired"


async def test_clearing_a_filter_scrolls_to_the_task_it_found_at_the_end_of_a_long_list(
    simulator: Simulator, make_app: AppFactory
) -> None:
    ids = [simulator.seed_task(f"take {i}", queued=600) for i in range(60)]
    app = make_app(ids)
    async with running(app, (100, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("G", "slash", *ids[-1][-4:], "enter")
        await until(pilot, lambda: row_ids(app) == [ids[-1]], "the filter")
        await pilot.press("escape")
        await until(pilot, lambda: len(row_ids(app)) == 60, "the cleared filter")
        await pilot.pause()
        rows = table(app)
        assert app.selected_id == ids[-1]
        top = int(rows.scroll_offset.y)
        assert top > 0 and top <= rows.cursor_row < top + rows.size.height - 1
        assert ids[-1][-10:] in screen_text(app)  # on screen, not under a scrollbar


async def _saved_task(
    simulator: Simulator, watchlist: Watchlist, tmp_path: Path, data: bytes
) -> str:
    import hashlib

    task_id = simulator.seed_task("saved", queued=0, processing=0)
    video = tmp_path / f"{task_id}.mp4"
    video.write_bytes(data)
    watchlist.add(
        [
            TaskRecord(
                id=task_id,
                status="completed",
                local_path=str(video),
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
            )
        ]
    )
    return task_id


def preview_text(app: StarVideosApp) -> str:
    return str(app.query_one("#detail-preview", Static).render())


async def test_the_panel_of_a_saved_task_shows_a_picture_that_p_steps_through(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = await _saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
    app = make_app([task_id])
    app.config.frames_dir = tmp_path / "frames"
    async with running(app) as pilot:
        await until(pilot, lambda: row_ids(app) == [task_id], "the row")
        await pilot.press("enter")
        await until(pilot, lambda: "frame 1 of 5" in preview_text(app), "the picture")
        assert preview_text(app).count("▀") > 100  # half-blocks: a picture, not a word
        first = app.query_one("#detail-preview", Static).render()
        await pilot.press("p")
        await until(pilot, lambda: "frame 2 of 5" in preview_text(app), "the next frame")
        assert app.query_one("#detail-preview", Static).render() != first
        assert sorted(p.name[-9:] for p in (tmp_path / "frames").iterdir()) == [
            f"{i}-480.png" for i in range(5)
        ]


async def test_a_saved_file_that_does_not_decode_says_so_instead_of_a_picture(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = await _saved_task(simulator, watchlist, tmp_path, b"<html>gone</html>")
    app = make_app([task_id])
    app.config.frames_dir = tmp_path / "frames"
    async with running(app) as pilot:
        await until(pilot, lambda: row_ids(app) == [task_id], "the row")
        await pilot.press("enter")
        await until(pilot, lambda: "no picture" in preview_text(app), "the reason")
        assert "does not decode" in preview_text(app)
        assert table(app).row_ids == [task_id]  # the table went on meanwhile


async def test_with_no_color_or_preview_off_the_panel_shows_no_picture(
    simulator: Simulator,
    make_app: AppFactory,
    watchlist: Watchlist,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task_id = await _saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app([task_id])
    app.config.frames_dir = tmp_path / "frames"
    async with running(app) as pilot:
        await until(pilot, lambda: row_ids(app) == [task_id], "the row")
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert not app.query_one("#detail-preview", Static).display
        assert not (tmp_path / "frames").exists()


async def test_a_running_tasks_expected_finish_and_its_stall_show_in_the_row_and_the_panel(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock, watchlist: Watchlist
) -> None:
    """Eight past tasks of the same request took 10 minutes each: a task running now is
    due in about 10 minutes, and once it has run far longer it is "stalled"."""
    now = clock()
    params = {"model": "starvideos_o3", "prompt": "a slow cat", "duration": 3}
    watchlist.add(
        [
            TaskRecord(
                id=f"video_past_{n}",
                status="completed",
                created=int(now) - 90_000 + n,
                params=params,
                history=(("completed", now - 90_000 + n + 600),),
            )
            for n in range(8)
        ]
    )
    slow = simulator.seed_task("a slow cat", queued=0, processing=10**6)
    watchlist.add([TaskRecord(id=slow, added_at=now, params=params)])
    app = make_app([slow], interval=3600)
    async with running(app, (120, 30)) as pilot:
        await until(
            pilot,
            lambda: slow in app.records and app.records[slow].status == "processing",
            "the poll",
        )

        def due() -> Text:
            table(app).refresh_times(clock())
            return table(app).get_row(slow)[4]

        assert due().plain in ("~9m", "~10m"), due().plain
        await pilot.press("G", "enter")
        await until(pilot, lambda: "expected" in screen_text(app), "the panel's expected line")
        assert "(in ~10m; 8 past" in screen_text(app)
        clock.advance(1000)  # 1,000 s: past 1.5 x the 600 s that 95 % took
        assert due().plain == "stalled"
        assert table(app).colours["warning"] in str(due().style)


async def test_a_burst_of_finished_tasks_makes_one_toast_per_kind(
    simulator: Simulator, make_app: AppFactory
) -> None:
    done = [simulator.seed_task(f"cat {i}", queued=0, processing=0) for i in range(5)]
    failed = [
        simulator.seed_task(f"dog {i}", queued=0, processing=0, fail=True, error="Too dark.")
        for i in range(2)
    ]
    app = make_app([*done, *failed])
    async with running(app) as pilot:
        await polled(pilot, app)
        await until(pilot, lambda: len(app._notifications) >= 2, "the toasts")
        await pilot.pause(0.7)
        messages = sorted(n.message for n in app._notifications if "die in" not in n.message)
        assert messages == ["2 tasks failed", "5 videos completed"], messages


async def test_the_selected_row_stays_on_screen_when_the_panel_opens_below_it(
    simulator: Simulator, make_app: AppFactory
) -> None:
    ids = [simulator.seed_task(f"take {i}", queued=600) for i in range(30)]
    app = make_app(ids)
    async with running(app, (80, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("G", "enter")
        await pilot.pause(0.3)
        rows = table(app)
        top = int(rows.scroll_offset.y)
        assert app.selected_id == rows._order[-1]
        assert top <= rows.cursor_row < top + rows.size.height - 1, (top, rows.size.height)


@pytest.mark.parametrize(("protocol", "start"), [("sixel", "\x1bP"), ("kitty", "\x1b_Ga=p,")])
async def test_a_terminal_that_draws_pictures_gets_the_frame_in_its_own_pixels(
    simulator: Simulator,
    make_app: AppFactory,
    watchlist: Watchlist,
    tmp_path: Path,
    protocol: str,
    start: str,
) -> None:
    from textual.geometry import Region

    from starvideos_tui.terminal.graphics import Graphics
    from starvideos_tui.tui.widgets.terminal_picture import TerminalPicture

    task_id = await _saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
    other = simulator.seed_task("not saved", queued=600)
    app = make_app([task_id, other])
    app.config.frames_dir = tmp_path / "frames"
    app.config.graphics = Graphics(protocol, 10, 20)
    async with running(app, (100, 30)) as pilot:
        await until(pilot, lambda: len(row_ids(app)) == 2, "the rows")
        await pilot.press("enter")
        graphic = app.query_one(TerminalPicture)
        await until(pilot, lambda: bool(graphic.picture), "the picture")
        assert graphic.picture.startswith(start) and graphic.rows > 2
        assert "frame 1 of 5" in preview_text(app) and "▀" not in preview_text(app)
        lines = graphic.render_lines(Region(0, 0, graphic.size.width, graphic.size.height))
        drawn = "".join(segment.text for segment in lines[-1])
        region = graphic.region
        assert f"\x1b[{region.y + 1};{region.x + 1}H{start}" in drawn  # at its top-left
        assert lines[-1].cell_length == graphic.size.width  # the escape takes no cell
        first = (graphic.picture, graphic.rows)
        await pilot.press("p")
        await until(pilot, lambda: "frame 2 of 5" in preview_text(app), "the next frame")
        # The same room (kitty places its new data in the same place; Sixel is the data).
        assert graphic.rows == first[1] and (graphic.picture != first[0]) == (protocol == "sixel")
        await pilot.press("down")  # a task without a video: no picture left behind
        await until(pilot, lambda: not graphic.picture and not graphic.display, "no picture")
