"""The TUI's faces in real terminals (issue 23): every row's id at 20x5; every field's
border in 16 colours."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from rich.console import Console
from rich.segment import Segment
from textual.geometry import Region
from textual.widget import Widget

from starvideos_tui.api import StarVideosClient
from starvideos_tui.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.widgets.task_table import ID_MIN, column_widths, short_id

# -- 20x5: the id always shows; the other columns give way first (class 10) ---------------


def test_the_task_column_keeps_room_for_an_id_and_the_others_give_way_in_order() -> None:
    assert column_widths(80) == [17, 30, 4, 4, 8, 5]  # as before: nothing given up
    assert column_widths(67)[1:] == [24, 4, 4, 8, 0]  # "Seen" first
    assert column_widths(66)[1:] == [33, 4, 4, 0, 0]  # then "Due"
    for width in range(14, 200):
        widths = column_widths(width)
        assert widths[1] >= min(ID_MIN, width - 2), (width, widths)
        assert sum(w + 2 for w in widths if w) <= max(width, ID_MIN + 2), (width, widths)
    task_id = "video_starvideos_o3_1814428523"
    assert short_id(task_id, 12) == "…1814428523"
    assert short_id(task_id, 5) == "…8523"
    assert short_id(task_id, 50, label=False) == task_id
    assert short_id("a-very-long-id-of-another-shape-0123", 10, label=False) == "…hape-0123"


def screen_text(app: StarVideosApp) -> str:
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, color_system=None
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def _app(
    sim: Simulator, folder: Path, ids: list[str], *, ansi: bool = False, light: bool = False
) -> StarVideosApp:
    watchlist = Watchlist(folder / "watchlist.json")
    watchlist.add(
        [
            TaskRecord(id=task_id, added_at=time.time(), label=None if n == 0 else f"take {n}")
            for n, task_id in enumerate(ids)
        ]
    )
    config = AppConfig(download_dir=folder / "videos", bell=False, ansi=ansi, light=light)
    return StarVideosApp(
        watchlist=watchlist, client=StarVideosClient(sim.base_url, "sk-test"), config=config
    )


async def _settled(app: StarVideosApp, pilot: object) -> None:
    for _ in range(100):
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        if app.api_state == "ok":
            break
    await pilot.pause(0.1)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [(20, 5), (24, 6), (30, 8), (45, 10), (64, 12)])
async def test_every_row_shows_its_task_id_however_narrow_the_terminal(
    simulator: Simulator, tmp_path: Path, size: tuple[int, int]
) -> None:
    ids = [simulator.seed_task(f"task {n}", queued=600) for n in range(3)]
    app = _app(simulator, tmp_path, ids)
    async with app.run_test(size=size) as pilot:
        await _settled(app, pilot)
        lines = screen_text(app).splitlines()
        rows = [line for line in lines if "○" in line]  # the glyph of "queued"
        assert len(rows) == min(3, size[1] - 3), lines  # status bar, header, footer
        for row in rows:
            assert any(task_id.rsplit("_", 1)[1] in row for task_id in ids), (size, row)
        app.exit()


# -- 16 colours: every field of the new-task form shows its border (class 13) -------------

FIELDS = ("#prompt", "#duration", "#ratio", "#images", "#first", "#last", "#videos")
BUTTONS = ("#submit", "#cancel")
# Colours a border cannot be drawn in: the background's own. ansi 0 black, 7 white, 15
# bright white.
UNSEEN = {False: {0}, True: {7, 15}}


def _cell(strip: list[Segment], x: int) -> Segment:
    at = 0
    for segment in strip:
        if at <= x < at + segment.cell_length:
            return segment
        at += segment.cell_length
    raise AssertionError(f"no cell {x}")


def _edges(widget: Widget) -> dict[str, Segment]:
    width, height = widget.outer_size
    lines = [list(strip) for strip in widget.render_lines(Region(0, 0, width, height))]
    middle = lines[height // 2]
    return {
        "top": _cell(lines[0], width // 2),
        "bottom": _cell(lines[-1], width // 2),
        "left": _cell(middle, 0),
        "right": _cell(middle, width - 1),
    }


def _unseen_edges(app: StarVideosApp, light: bool) -> list[str]:
    unseen = []
    for selector in (*FIELDS, *BUTTONS):
        widget = app.screen.query_one(selector)
        if selector == "#ratio":
            widget = widget.query_one("SelectCurrent")  # the picker's box is its own
        for edge, segment in _edges(widget).items():
            colour = segment.style.color if segment.style else None
            blank = not segment.text.strip()
            if blank or (colour is not None and colour.number in UNSEEN[light]):
                unseen.append(f"{selector} {edge}: {segment!r}")
    return unseen


@pytest.mark.parametrize("light", [False, True], ids=["dark", "light"])
async def test_every_field_of_the_new_task_form_shows_its_border_in_16_colours(
    simulator: Simulator, tmp_path: Path, light: bool
) -> None:
    app = _app(
        simulator, tmp_path, [simulator.seed_task("one", queued=600)], ansi=True, light=light
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await _settled(app, pilot)
        await pilot.press("n")
        await pilot.pause(0.3)
        assert app.screen.query_one("#prompt").has_focus
        assert _unseen_edges(app, light) == []
        await pilot.press("tab")  # the prompt blurred, the duration focused: still all
        await pilot.pause(0.1)
        assert _unseen_edges(app, light) == []
        app.exit()
