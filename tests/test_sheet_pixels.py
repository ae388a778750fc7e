"""The contact sheet's thumbnails in the terminal's own pixels (tui/widgets/sheet_pixels.py),
in the real app over real saved videos: where the terminal draws kitty or Sixel, each cell
on screen is a picture of its own (its own kitty image and placement ids), drawn at its
cell's picture rectangle over blank cells; cells scrolled away, the sheet hidden (`v`)
or covered by a dialog draw none and their kitty placements are taken away; inside tmux
they go through its passthrough; NO_COLOR keeps half-blocks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest
from helpers_sheet import cell_text, line_text, on_the_sheet, save_videos, sheet, sheet_app
from helpers_tui import AppFactory, until
from textual.pilot import Pilot

from starvideos_tui.storage.store import Watchlist
from starvideos_tui.terminal.graphics import Graphics
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.widgets.picture import Picture
from starvideos_tui.tui.widgets.sheet_cells import CELL_H, CELL_W, PIC_ROWS, PICTURE
from starvideos_tui.tui.widgets.sheet_pixels import sheet_graphics

KITTY = Graphics("kitty", 10, 20)
SIXEL = Graphics("sixel", 10, 20)
PLACE = re.compile(r"\x1b7\x1b\[(\d+);(\d+)H\x1b_Ga=p,i=(\d+),p=(\d+),c=(\d+),r=(\d+)")
SIXEL_AT = re.compile(r"\x1b7\x1b\[(\d+);(\d+)H\x1bP0;1;0q")


def drawn(app: StarVideosApp) -> str:
    """Everything the sheet's lines on screen would write, escapes included."""
    widget = sheet(app)
    return "".join(line_text(widget.render_line(y)) for y in range(widget.size.height))


def whole_cells(app: StarVideosApp) -> list[int]:
    """The cells whose picture rectangle is all on screen."""
    widget = sheet(app)
    return [i for i in range(len(widget.cell_ids)) if widget.picture_region(i) is not None]


async def pixels_drawn(pilot: Pilot[None], app: StarVideosApp) -> None:
    """Wait for every cell wholly on screen to have its picture in pixels."""
    widget = sheet(app)
    await until(pilot, lambda: whole_cells(app), "a whole cell on screen")

    def all_drawn() -> bool:
        pixels = widget.pixels
        return pixels is not None and all(
            widget._drawing(widget._shown[widget.cell_ids[i]][0]) is not None
            for i in whole_cells(app)
        )

    await until(pilot, all_drawn, "every picture on screen", timeout=20)
    await pilot.pause()


InPixels = Callable[[Graphics, int], AbstractAsyncContextManager[tuple[StarVideosApp, Pilot[None]]]]


@pytest.fixture
def in_pixels(make_app: AppFactory, watchlist: Watchlist, tmp_path: Path) -> InPixels:
    """`in_pixels(graphics, n)`: n saved takes on the sheet at 80x24, drawn with `graphics`,
    once every picture on screen is drawn; gives the app and its pilot."""

    @asynccontextmanager
    async def shown(
        graphics: Graphics, videos: int
    ) -> AsyncIterator[tuple[StarVideosApp, Pilot[None]]]:
        save_videos(watchlist, tmp_path / "videos", videos)
        app = sheet_app(make_app, tmp_path, graphics)
        async with on_the_sheet(app, videos) as pilot:
            await pixels_drawn(pilot, app)
            yield app, pilot

    return shown


async def test_kitty_cells_are_pictures_of_their_own_at_their_rectangles(
    in_pixels: InPixels,
) -> None:
    async with in_pixels(KITTY, 12) as (app, _):
        widget = sheet(app)
        region = app.screen.find_widget(widget).region
        shown = whole_cells(app)
        assert len(shown) >= 6  # 80x24: two rows of three
        places = PLACE.findall(drawn(app))
        assert len(places) == len(shown)
        assert len({p[2] for p in places}) == len(shown)  # an image id each
        assert len({p[3] for p in places}) == len(shown)  # a placement id each
        for index, (row, column, _ident, _placement, width, height) in zip(
            shown, places, strict=True
        ):
            cell = widget.picture_region(index)
            assert cell is not None
            y, x = int(row) - 1 - region.y, int(column) - 1 - region.x
            assert cell.x <= x and x + int(width) <= cell.right  # inside its rectangle
            assert cell.y <= y and y + int(height) <= cell.bottom
        # The picture's area under the pixels is blank: no half-blocks to show through.
        assert "▀" not in drawn(app)
        assert widget.pixels is not None and widget.pixels.placed == {
            widget.cell_ids[i] for i in shown
        }


async def test_scrolled_away_hidden_or_covered_cells_draw_no_pixels(in_pixels: InPixels) -> None:
    async with in_pixels(KITTY, 12) as (app, pilot):
        widget = sheet(app)
        pixels = widget.pixels
        assert pixels is not None
        first = set(pixels.placed)
        await pilot.press("end")  # the last row: the first cells scroll away
        await pilot.pause()
        await until(pilot, lambda: widget.scroll_offset.y > 0, "the scroll")
        await until(pilot, lambda: PLACE.findall(drawn(app)), "pictures at the end", timeout=20)
        now = {widget.cell_ids[i] for i in whole_cells(app)}
        assert not (pixels.placed & first - now)  # those scrolled away were taken off
        ids = {int(p[2]) for p in PLACE.findall(drawn(app))}
        assert ids == {pixels.ident(task_id)[0] for task_id in now}
        # A dialog over the sheet: no pixels under it, placements taken away.
        await pilot.press("question_mark")
        await until(pilot, lambda: app.screen is not widget.screen, "the keys screen")
        assert not pixels.placed and not PLACE.findall(drawn(app))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is widget.screen, "the sheet again")
        await until(pilot, lambda: PLACE.findall(drawn(app)), "pictures back")
        # v: back to the table; every placement goes.
        await pilot.press("v")
        await until(pilot, lambda: not widget.display, "the table")
        assert not pixels.placed


async def test_sixel_cells_at_their_places_and_through_tmux(
    in_pixels: InPixels, make_app: AppFactory, tmp_path: Path
) -> None:
    async with in_pixels(SIXEL, 6) as (app, pilot):
        widget = sheet(app)
        region = app.screen.find_widget(widget).region
        at = SIXEL_AT.findall(drawn(app))
        assert len(at) == 6
        for index, (row, column) in enumerate(at):
            r, c = divmod(index, widget.columns)
            assert int(column) - 1 - region.x >= c * CELL_W + PICTURE.x
            assert int(row) - 1 - region.y >= r * CELL_H + PICTURE.y
            assert int(row) - 1 - region.y < r * CELL_H + PIC_ROWS
    # Inside tmux, Sixel thumbnails were wiped by tmux's next redraw and never drawn again
    # (xterm -ti vt340, tmux 3.3a): the sheet keeps to half-blocks there.
    tmux = Graphics("sixel", 10, 20, tmux=True)
    app = sheet_app(make_app, tmp_path, tmux)
    async with on_the_sheet(app, 6) as pilot:
        await until(pilot, lambda: drawn(app).count("▀") > 96, "half-block thumbnails", 20)
        assert sheet(app).pixels is None and "\x1bP" not in drawn(app)
    assert sheet_graphics(tmux) is None and sheet_graphics(SIXEL) is SIXEL
    placeholders = Graphics("kitty", 10, 20, tmux=True, placeholders=True)
    assert sheet_graphics(placeholders) is placeholders  # text cells: tmux redraws them


async def test_no_color_keeps_half_blocks(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    save_videos(watchlist, tmp_path / "videos", 3)
    app = sheet_app(make_app, tmp_path, KITTY)
    app.no_color = True
    async with on_the_sheet(app, 3) as pilot:
        # NO_COLOR: every cell in words (no pictures), none made or drawn in pixels.
        await until(
            pilot, lambda: all("no pictures" in cell_text(app, i) for i in range(3)), "the cells"
        )
        assert sheet(app).pixels is None and "\x1b_G" not in drawn(app)
        assert sheet(app).maker is None  # no thumbnail asked for, so none to come


@pytest.mark.parametrize("graphics", [SIXEL, KITTY], ids=["sixel", "kitty"])
async def test_lines_with_pictures_can_be_cut_as_a_terminal_update_cuts_them(
    in_pixels: InPixels, graphics: Graphics
) -> None:
    """In a real xterm -ti vt340 the demo ended with "TypeError: unhashable type: 'list'"
    as soon as `v` showed pixels: a partial screen update crops each line to its region
    (Strip.crop, Rich's cached split_cells), and the escape's segment carried its control
    codes as a list, which cannot be hashed. Every line is cut as an update cuts it."""
    async with in_pixels(graphics, 6) as (app, _):
        widget = sheet(app)
        lines = [widget.render_line(y) for y in range(widget.size.height)]
        assert any(segment.control for line in lines for segment in line)  # pictures
        for line in lines:
            for cut in range(1, line.cell_length + 1, 7):
                assert line.crop(0, cut).cell_length == cut
        panel = app.query_one(Picture)
        for line in panel.render_lines(panel.region.reset_offset):
            line.crop(0, max(1, line.cell_length - 1))
