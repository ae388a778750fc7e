"""Helpers shared by the tests split from test_tui.py (not a test module)."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Static

from starvideos_tui.simulator import Simulator
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from starvideos_tui.storage.store import Watchlist

KEY = "sk-test"
SIZE = (100, 30)
UNKNOWN_ID = "video_starvideos_o3_0000000001"
HOSTILE_ERROR = "[bold red]x[/] [@click=app.quit] \x1b[2J and more"
ROOT = Path(__file__).resolve().parent.parent

AppFactory = Callable[..., StarVideosApp]


# -- helpers --------------------------------------------------------------------------------


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


async def ready(pilot: Pilot[None], app: StarVideosApp, rows: int) -> None:
    """Let the app run until its table shows `rows` rows, and once more to draw them."""
    await until(pilot, lambda: len(row_ids(app)) == rows, "the rows")
    await pilot.pause()


@asynccontextmanager
async def showing(
    app: StarVideosApp, rows: int, size: tuple[int, int] = SIZE
) -> AsyncIterator[Pilot[None]]:
    """`running(app)`, once its table shows `rows` rows."""
    async with running(app, size) as pilot:
        await ready(pilot, app, rows)
        yield pilot


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


@asynccontextmanager
async def polled_app(
    app: StarVideosApp, size: tuple[int, int] = SIZE
) -> AsyncIterator[Pilot[None]]:
    """`running(app)`, once its first polling pass has answered every watched task."""
    async with running(app, size) as pilot:
        await polled(pilot, app)
        yield pilot


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


async def saved_task(simulator: Simulator, watchlist: Watchlist, folder: Path, data: bytes) -> str:
    """A task the simulator has finished, its video `data` saved in `folder` as the
    watchlist records it (path, sha256, size)."""
    import hashlib

    from starvideos_tui.core.models import TaskRecord

    task_id = simulator.seed_task("saved", queued=0, processing=0)
    video = folder / f"{task_id}.mp4"
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
    """The side panel's caption under its picture ("frame 1 of 5", "0:03 / 0:08 ▶")."""
    return str(app.query_one("#detail-preview", Static).render())
