"""Toasts never cover a dialog's fields (issue 25, item 6). As lazygit does with a popup
open, a message that comes meanwhile is one line in the screen's margin (the top row),
title folded in; what the dialog itself has to say goes in its own message line.

The real app, no API (client None, so nothing else raises a toast), at 80x24 and 120x40:
each dialog opened with its key, a two-line titled toast raised as the engine raises them,
and the toast's region compared with the focused field's and the dialog's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_tui import running, until
from textual.widgets import Static
from textual.widgets._toast import Toast

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.screens.new_task import NewTaskScreen
from starvideos_tui.tui.widgets.task_table import TaskTable

TASK = "video_starvideos_o3_1774836712345"
SIZES = [(80, 24), (120, 40)]


def build(tmp_path: Path, sim: Simulator | None = None) -> StarVideosApp:
    from starvideos_tui.api.client import StarVideosClient

    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=TASK, status="failed", error="no", label="a fox")])
    config = AppConfig(download_dir=tmp_path / "videos", bell=False, interval=3600.0)
    client = StarVideosClient(sim.base_url, "sk-test") if sim is not None else None
    return StarVideosApp(watchlist=watchlist, client=client, config=config)


def toasts(app: StarVideosApp) -> list[Toast]:
    return [toast for toast in app.screen.query(Toast) if toast.region.width]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("key", ["n", "a", "l"])
async def test_a_toast_stays_clear_of_the_dialog_being_typed_in(
    tmp_path: Path, sim: Simulator, size: tuple[int, int], key: str
) -> None:
    app = build(tmp_path, sim)
    async with app.run_test(size=size, notifications=True) as pilot:  # toasts shown
        await until(pilot, lambda: app.query_one(TaskTable).row_count, "the row")
        await pilot.press(key)
        await until(
            pilot,
            lambda: app.screen.focused is not None and app.screen.id != "_default",
            "the dialog",
        )
        app.clear_notifications()
        app.notify(f"saved {TASK}.mp4\nin …/downloads", title="Downloaded")
        app.notify("3 videos completed", title="Videos ready")  # the newest shows
        await until(pilot, lambda: len(toasts(app)) == 1, "the newest toast alone")
        await pilot.pause()
        shown = toasts(app)
        focused = app.screen.focused
        assert focused is not None
        dialog = app.screen.query_one("#dialog").region
        for toast in shown:
            region = toast.region
            assert region.height == 1, region  # one line, in the margin
            assert not region.overlaps(focused.region), (key, size, region, focused.region)
            assert not region.overlaps(dialog), (key, size, region, dialog)
        text = " ".join(str(toast.render()) for toast in shown)
        assert "Videos ready: 3 videos completed" in text  # title and message, one line
        app.exit()


async def test_the_forms_problems_are_said_in_the_form_not_in_a_toast(
    tmp_path: Path, sim: Simulator
) -> None:
    app = build(tmp_path, sim)
    async with running(app, (80, 24)) as pilot:
        await until(pilot, lambda: app.query_one(TaskTable).row_count, "the row")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewTaskScreen), "the form")
        app.clear_notifications()
        await pilot.press("ctrl+s")  # nothing typed: the prompt is missing
        await pilot.pause(0.2)
        assert not app._notifications, [n.message for n in app._notifications]
        problems = str(app.screen.query_one("#form-problems", Static).render())
        assert "prompt" in problems.lower(), problems
        assert isinstance(app.screen, NewTaskScreen)  # still open, nothing lost
