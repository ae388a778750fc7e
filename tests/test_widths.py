"""Every state word whole in its column, and the side panel's id cut from its front
(issue 25, items 1 and 6): "↓ downloading 100%" lost its "%" in a 17-cell status column,
and a long id in the panel wrapped, its distinctive end on a line of its own."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from helpers_tui import panel_text, running, until

from starvideos_tui.core.formatting import display_width
from starvideos_tui.core.models import HttpProblem, TaskRecord
from starvideos_tui.core.vocabulary import LINK_EXPIRED, DownloadState, status_look
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.widgets.columns import COLUMNS
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.task_table import TaskTable

STATUS_WIDTH = next(width for key, _, width in COLUMNS if key == "status")
LONG_ID = "video_starvideos_o3_" + "20260115" * 10 + "7731"  # more than 80 columns hold


def every_look() -> list[str]:
    """Every glyph and word a status cell can show, the longest of each kind."""
    task = TaskRecord(id="video_starvideos_o3_1", status="completed", video_url="https://x/v")
    downloads = [
        DownloadState("downloading", 10**9, 10**9),  # 100%
        DownloadState("downloading", 99, 100),
        DownloadState("queued"),
    ]
    records = [
        task,
        TaskRecord(id=task.id, status="completed", local_path="/v.mp4"),
        TaskRecord(id=task.id, status="completed", download_error=LINK_EXPIRED),
        TaskRecord(id=task.id, status="completed", download_error="the host sent text/html"),
        TaskRecord(id=task.id, status="completed", download_error="disk full"),
        TaskRecord(id=task.id, status="failed"),
        TaskRecord(id=task.id, status="processing"),
        TaskRecord(id=task.id, status="queued"),
        TaskRecord(id=task.id),
        TaskRecord(id=task.id, status="a status nobody has heard of yet"),
    ]
    records += [
        TaskRecord(id=task.id, status="queued", last_problem=HttpProblem(kind, "x"))
        for kind in ("rate_limited", "not_found", "network")
    ]
    looks = [status_look(task, download) for download in downloads]
    looks += [status_look(record) for record in records]
    return [f"{look.glyph} {look.word}" for look in looks]


def test_every_state_word_fits_the_status_column_whole() -> None:
    cells = every_look()
    assert "↓ downloading 100%" in cells
    too_wide = [cell for cell in cells if display_width(cell) > STATUS_WIDTH]
    assert not too_wide, f"wider than the status column's {STATUS_WIDTH} cells: {too_wide}"


@pytest.mark.parametrize("size", [(120, 40), (80, 24)])
async def test_the_panel_cuts_a_long_id_from_its_front(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=LONG_ID, status="failed", error="no", added_at=time.time())])
    config = AppConfig(download_dir=tmp_path / "videos", bell=False)
    app = StarVideosApp(watchlist=watchlist, client=None, config=config)
    async with running(app, size) as pilot:
        await until(pilot, lambda: app.query_one(TaskTable).row_count, "the row")
        app.action_toggle_panel()  # what enter does (this test's subject is the panel)
        await until(pilot, lambda: "…" in panel_text(app), f"the id cut at {size}", timeout=15)
        heading = panel_text(app).splitlines()[1]
        width = app.query_one("#detail-body").content_region.width
        assert heading.startswith("…") and LONG_ID.endswith(heading[1:]), heading
        # On one line, and the room it has (less a scrollbar's two cells, when it shows)
        assert width - 2 <= display_width(heading) <= width, (heading, width)
        assert app.query_one(DetailPanel).has_class("-open")
