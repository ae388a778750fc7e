"""Rows that are always true (issue 25, item 1), with the real app on the simulator.

The table is scrolled to the middle and to the end of 100 and of 50,000 tasks (a year of
finished history around a few live tasks), and the tasks there change: a poll's answer, a
label, a download, another process's change through a second Watchlist, and the clock.
What is checked is the screen as the terminal gets it (the compositor's frame). Then the
rows' alignment with the header when the vertical scrollbar comes and goes (the side
panel opened below the table at 80x24).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FakeClock
from helpers_tui import (
    AppFactory,
    downloads_done,
    polled,
    running,
    screen_text,
    select,
    table,
    until,
)
from textual.pilot import Pilot

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.session import Watchlist
from starvideos_tui.simulator import Simulator
from starvideos_tui.tui.app import StarVideosApp

YEAR = 365 * 86400.0
SIZE = (120, 40)


def history(count: int, start: float, prefix: str) -> list[TaskRecord]:
    """`count` finished tasks (failed a year ago: never polled again)."""
    return [
        TaskRecord(
            id=f"video_starvideos_o3_{prefix}{n:07d}",
            status="failed",
            error="the model refused",
            created=int(start + n),
            added_at=start + n,
            checked_at=start + n + 60,
        )
        for n in range(count)
    ]


def screen_row(app: StarVideosApp, task_id: str) -> str:
    """The screen's line that shows a task's row (which must be on screen)."""
    view = table(app)
    row = view.row_ids.index(task_id) - int(view.scroll_offset.y)
    assert 0 <= row < view.size.height - 1, f"{task_id} is not on screen"
    return screen_text(app).splitlines()[view.region.y + 1 + row]


async def drawn(pilot: Pilot[None], app: StarVideosApp, task_id: str, word: str) -> None:
    """`word` shows on the task's row on screen within a moment (a frame or two)."""
    await until(pilot, lambda: word in screen_row(app, task_id), f"{word!r} on {task_id}'s row")


@pytest.mark.parametrize("total", [100, 50_000])
@pytest.mark.parametrize("where", ["middle", "end"])
async def test_changes_drawn_where_the_table_is_scrolled(
    make_app: AppFactory,
    simulator: Simulator,
    clock: FakeClock,
    watchlist: Watchlist,
    tmp_path: Path,
    total: int,
    where: str,
) -> None:
    moving = simulator.seed_task("moving", queued=5, processing=100_000)
    ready = simulator.seed_task("ready", queued=0, processing=0)
    quiet = simulator.seed_task("quiet", queued=100_000)
    other = simulator.seed_task("other", queued=100_000)
    now = clock()
    live = [
        TaskRecord(id=i, added_at=now - 100 + n)
        for n, i in enumerate([moving, ready, quiet, other])
    ]
    before = total // 2 if where == "middle" else total - len(live)
    after = total - len(live) - before
    watchlist.add([*history(before, now - YEAR, "a"), *live, *history(after, now - 50, "b")])
    app = make_app([], interval=3600.0)
    app.shows = "archived"  # every task: the year of history too (H, twice)
    async with running(app, size=SIZE) as pilot:
        await polled(pilot, app)
        await until(
            pilot, lambda: table(app).row_count == total, "every row", timeout=30.0
        )  # 50,000 rows load slowly under a busy suite
        app.sort_mode = "added"
        app.render_rows()
        await select(pilot, app, other)  # the live rows at the bottom of the screen
        await select(pilot, app, moving)
        view = table(app)
        assert view.scroll_offset.y > 0, "the table did not scroll"
        if where == "end":
            assert view.scroll_offset.y == view.max_scroll_y
        assert "queued" in screen_row(app, moving)

        # A poll's answer: queued, now processing.
        clock.advance(10)
        await pilot.press("r")
        await drawn(pilot, app, moving, "processing")

        # A label set as `l` sets it.
        await app.monitor.set_label(quiet, "a label set here")
        await drawn(pilot, app, quiet, "a label set here")

        # A download: completed, then downloaded.
        await drawn(pilot, app, ready, "completed")
        await select(pilot, app, ready)
        await pilot.press("d")
        await downloads_done(app, pilot)
        await drawn(pilot, app, ready, "downloaded")

        # Another process labels a task: the reload draws it.
        second = Watchlist(watchlist.path)
        try:
            second.update({other: lambda r: replace(r, label="from elsewhere")})
        finally:
            second.close()
        app.monitor.poke()
        await drawn(pilot, app, other, "from elsewhere")


async def test_the_clock_ticks_on_scrolled_rows(
    make_app: AppFactory, simulator: Simulator, clock: FakeClock
) -> None:
    """Age and Seen move on by themselves, once a second, on rows scrolled to: nothing
    but the table's own timer redraws them here."""
    ids = [simulator.seed_task(f"task {i}", queued=100_000) for i in range(100)]
    app = make_app(ids, interval=3600.0)
    async with running(app, size=SIZE) as pilot:
        await polled(pilot, app)
        await pilot.press("end")
        await pilot.pause()
        view = table(app)
        assert view.scroll_offset.y > 0
        clock.advance(2 * 60)  # two minutes: every row on screen ages from 0s to 2m
        deadline = time.monotonic() + 1.6  # the next tick, well within two seconds
        while time.monotonic() < deadline:
            await pilot.pause(0.1)
        shown = screen_text(app).splitlines()
        rows = shown[view.region.y + 1 : view.region.y + view.region.height]
        assert len(rows) >= 30
        stale = [line for line in rows if line.count("2m") < 2]
        assert not stale, f"{len(stale)} rows with a frozen clock, e.g. {stale[0]!r}"


def columns_end(line: str) -> list[int]:
    """Where each word of a line ends: the right edges of right-aligned columns."""
    ends, inside = [], False
    for x, char in enumerate(f"{line} "):
        if inside and char == " ":
            ends.append(x)
        inside = char != " "
    return ends


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_rows_stay_under_the_header(
    make_app: AppFactory, simulator: Simulator, size: tuple[int, int]
) -> None:
    """15 rows fit 80x24 without a scrollbar; the side panel opened below them makes the
    table shorter, so a scrollbar comes (and goes when it closes). Each time, every row's
    last column ends where the header's does, and no row loses its last character."""
    ids = [simulator.seed_task(f"a prompt {i} " * 6, queued=100_000) for i in range(15)]
    app = make_app(ids, interval=3600.0)
    async with running(app, size=size) as pilot:
        await polled(pilot, app)
        view = table(app)
        for step in ("start", "panel open", "panel closed", "open again"):
            if step != "start":
                await pilot.press("enter")
            await pilot.pause()
            await pilot.pause()
            region = view.region  # the table's part of the screen (the panel may be beside)
            lines = [line[region.x : region.right] for line in screen_text(app).splitlines()]
            header = lines[view.region.y]
            shown = min(15, view.size.height - 1)
            rows = lines[view.region.y + 1 : view.region.y + 1 + shown]
            seen_end = columns_end(header)[-1]  # the last column's ("Seen", or "Len" beside
            # the panel at 120 columns): every row's last word ends right there
            for line in rows:
                assert columns_end(line[: seen_end + 1])[-1] == seen_end, (step, header, line)
