"""The TUI's keys and the world outside it, driven by Pilot against the simulator on loopback:
copy, refresh, help, quit, ids added by another process, a refused key, the README's screenshots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.screens.keys import KeysScreen
from starvideos_tui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from conftest import FakeClock

from helpers_tui import (
    ROOT,
    AppFactory,
    panel_is_open,
    polled,
    polled_app,
    result_polls,
    row_ids,
    running,
    screen_text,
    select,
    status_of,
    until,
)

# -- copy, refresh, help, quit --------------------------------------------------------------


async def test_c_copies_the_video_url_or_else_the_task_id(
    simulator: Simulator, make_app: AppFactory
) -> None:
    completed = simulator.seed_task("done", queued=0, processing=0)
    queued = simulator.seed_task("waiting", queued=600)
    app = make_app([completed, queued])

    async with polled_app(app) as pilot:
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

    async with polled_app(app) as pilot:
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

    async with polled_app(app) as pilot:
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

    async with polled_app(app) as pilot:
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

    async with polled_app(app) as pilot:
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

    async with polled_app(app) as pilot:
        # What `starvideos-tui add` does: its own Watchlist object on the same file.
        Watchlist(watchlist.path).add([TaskRecord(id=later, added_at=clock())])

        await until(pilot, lambda: later in row_ids(app), "the row of the new id", timeout=5)
        assert set(row_ids(app)) == {first, later}
        await until(pilot, lambda: status_of(app, later) == "◐ processing", "its first poll")
        assert row_ids(app) == [later, first]  # running, then queued: the work first


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
