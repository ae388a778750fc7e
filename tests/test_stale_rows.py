"""Rows on screen stay true wherever the table is scrolled (issue 25, item 1).

A change to a task on screen (a label set as `l` sets it, the clock moving on) is drawn
within a frame on the top rows, in the middle and at the end of the table. What is
checked is what the terminal shows (the compositor's frame), not a fresh render_line:
a row whose strip was dropped but whose line was never repainted still shows the old
text on screen.
"""

from __future__ import annotations

import pytest
from conftest import FakeClock
from helpers_tui import AppFactory, polled, running, screen_text, table, until
from textual.pilot import Pilot

from starvideos_tui.simulator import Simulator
from starvideos_tui.tui.app import StarVideosApp

ROWS = 100
SIZE = (120, 40)


def visible_ids(app: StarVideosApp) -> list[str]:
    """The tasks whose rows are on screen now."""
    view = table(app)
    top = int(view.scroll_offset.y)
    rows = view.size.height - 1  # the header's line
    return view.row_ids[top : top + rows]


def screen_row(app: StarVideosApp, task_id: str) -> str:
    """The screen's line that shows a task's row (which must be on screen)."""
    view = table(app)
    y = view.region.y + 1 + view.row_ids.index(task_id) - int(view.scroll_offset.y)
    return screen_text(app).splitlines()[y]


def line_of(app: StarVideosApp, label: str) -> str | None:
    """The screen's line that shows `label`, if any."""
    return next((line for line in screen_text(app).splitlines() if label in line), None)


async def relabel_on_screen(pilot: Pilot[None], app: StarVideosApp, where: str) -> None:
    """Label the last and a middle task on screen through the `l` key's engine path; both
    are drawn at once, in the table's own render_line and on the screen."""
    ids = visible_ids(app)
    for n, task_id in enumerate((ids[len(ids) // 2], ids[-1])):
        label = f"{where}-label-{n}"
        await app.monitor.set_label(task_id, label)
        await pilot.pause()
        await pilot.pause()
        view = table(app)
        y = view.row_ids.index(task_id) - int(view.scroll_offset.y) + 1
        assert label in view.render_line(y).text, (where, task_id)
        assert line_of(app, label) is not None, f"{where}: {task_id}'s new label not drawn"


@pytest.mark.parametrize("keys", [["pagedown", "pagedown"], ["end"]])
async def test_changes_are_drawn_on_scrolled_rows(
    make_app: AppFactory, simulator: Simulator, clock: FakeClock, keys: list[str]
) -> None:
    ids = [simulator.seed_task(f"task {i}", queued=100_000) for i in range(ROWS)]
    app = make_app(ids, interval=3600.0)
    async with running(app, size=SIZE) as pilot:
        await polled(pilot, app)
        await relabel_on_screen(pilot, app, "top")
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        view = table(app)
        assert view.scroll_offset.y > 0, "the table did not scroll"
        await relabel_on_screen(pilot, app, "+".join(keys))

        # The clock moves on: every row on screen shows its new age (Age and Seen).
        clock.advance(3 * 3600)
        view.refresh_times(clock())
        await pilot.pause()
        await pilot.pause()
        shown = screen_text(app).splitlines()
        rows = shown[view.region.y + 1 : view.region.y + view.region.height]
        assert len(rows) == len(visible_ids(app)) >= 30
        stale = [line for line in rows if line.count("3h") < 2]
        assert not stale, f"{len(stale)} rows with a frozen clock, e.g. {stale[0]!r}"


async def test_poll_answer_is_drawn_at_the_end(
    make_app: AppFactory, simulator: Simulator, clock: FakeClock
) -> None:
    """A poll's new status reaches a row at the end of the table at once."""
    ids = [simulator.seed_task(f"task {i}", queued=100_000) for i in range(ROWS - 1)]
    moving = simulator.seed_task("moving", queued=5, processing=100_000)
    app = make_app([*ids, moving], interval=3600.0)
    async with running(app, size=SIZE) as pilot:
        await polled(pilot, app)
        await pilot.press("end")
        await pilot.pause()
        assert app.selected_id == moving
        assert "queued" in screen_row(app, moving)
        clock.advance(10)
        await pilot.press("r")  # polled now: the answer is "processing"
        await until(pilot, lambda: app.records[moving].status == "processing", "the poll")
        await pilot.pause()
        await pilot.pause()
        assert "processing" in screen_row(app, moving)
