"""The contact sheet (`v`), driven by Pilot in the real app, over saved real videos: the
grid's shape, moving, the keys acting on the selected cell, thumbnails made in the
background (placeholder first), and files gone, replaced or not videos at all."""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers_sheet import (
    cell_text,
    distinct_video,
    on_the_sheet,
    save_big_videos,
    save_videos,
    saved_record,
    sheet,
    sheet_app,
    sheet_text,
    task_id,
)
from helpers_tui import AppFactory, panel_is_open, panel_text, running, screen_text, table, until

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.widgets.sheet_cells import CELL_H, PIC_ROWS


def _pictures_done(app: StarVideosApp, cells: int) -> bool:
    text = sheet_text(app)
    return text.count("▀") >= cells * 24 * 4  # each cell: rows of half-blocks


async def test_v_shows_only_saved_tasks_as_a_sheet_and_v_again_the_table(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    saved = save_videos(watchlist, tmp_path / "videos", 4)
    watchlist.add([TaskRecord(id=task_id(99), status="completed", added_at=1.0)])
    app = sheet_app(make_app, tmp_path)
    async with on_the_sheet(app, 5) as pilot:
        assert not table(app).display and sheet(app).display and sheet(app).has_focus
        assert sheet(app).cell_ids == saved  # the unsaved task is not on the sheet
        assert "sheet: 4 saved" in screen_text(app)
        assert "…5550000000" in screen_text(app)
        await pilot.press("v")
        assert table(app).display and not sheet(app).display and table(app).has_focus
        assert "sheet:" not in screen_text(app)


async def test_80x24_holds_two_rows_of_three_and_160x48_grows_and_a_resize_reflows(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    ids = save_videos(watchlist, tmp_path / "videos", 30)
    app = sheet_app(make_app, tmp_path)
    async with on_the_sheet(app, 30) as pilot:
        widget = sheet(app)
        assert widget.columns == 3 and widget.size.height >= 2 * CELL_H
        text = screen_text(app)
        assert all(f"…{i[-10:]}" in text for i in ids[:6])
        await until(pilot, lambda: _pictures_done(app, 6), "six thumbnails")
        await pilot.press("down", "down", "down", "right")  # row 3, column 1: cell 10
        assert app.selected_id == ids[10]
        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: widget.columns == 6, "the grid re-flowed")
        assert widget.size.height >= 4 * CELL_H
        assert app.selected_id == ids[10]
        row = 10 // 6  # re-flowed: the cursor's cell still on screen
        top = int(widget.scroll_offset.y)
        assert top <= row * CELL_H and (row + 1) * CELL_H <= top + widget.size.height
        assert f"…{ids[10][-10:]}" in screen_text(app)


async def test_arrows_pages_and_ends_move_and_enter_opens_the_panel_on_that_task(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    ids = save_videos(watchlist, tmp_path / "videos", 20)
    app = sheet_app(make_app, tmp_path)
    async with on_the_sheet(app, 20) as pilot:
        await pilot.press("right", "right", "right")  # past the row's end: the next row
        assert app.selected_id == ids[3]
        await pilot.press("down")
        assert app.selected_id == ids[6]
        await pilot.press("left", "up")
        assert app.selected_id == ids[2]
        await pilot.press("pagedown")  # two rows of cells at 80x24
        assert app.selected_id == ids[8]
        await pilot.press("end")
        assert app.selected_id == ids[19]
        assert f"…{ids[19][-10:]}" in screen_text(app)  # scrolled to it
        await pilot.press("home", "right")
        await pilot.press("enter")
        await until(pilot, lambda: panel_is_open(app), "the panel")
        assert ids[1] in panel_text(app)
        await pilot.press("v")  # back to the table: the same task selected
        assert table(app).selected_id == ids[1]


async def test_keys_act_on_the_selected_cell(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    ids = save_videos(watchlist, tmp_path / "videos", 6)
    app = sheet_app(make_app, tmp_path)
    async with on_the_sheet(app, 6) as pilot:
        await pilot.press("right", "right", "down")  # cell 5
        chosen = ids[5]
        assert app.chosen_ids() == [chosen]
        await pilot.press("d")  # already saved: said so, for that task's file
        await until(
            pilot,
            lambda: any(chosen in n.message for n in app._notifications),
            "the download key's answer",
        )
        await pilot.press("l")
        await until(pilot, lambda: chosen in screen_text(app), "the label dialog")
        await pilot.press(*"best", "enter")
        await until(pilot, lambda: app.records[chosen].label == "best", "the label")
        assert "best" in cell_text(app, 5)
        await pilot.press("x")
        await until(pilot, lambda: f"Stop watching {chosen}?" in screen_text(app), "confirm")
        await pilot.press("y")
        await until(pilot, lambda: chosen not in app.records, "the removal")
        assert chosen not in sheet(app).cell_ids and app.selected_id == ids[4]


async def test_rating_keys_act_on_the_selected_cell_when_the_app_has_them(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    """The rating keys come with #26 item 4 (another branch): they act on `selected_id`,
    which is the sheet's cell while it is shown. Until merged, this checks the star shown."""
    folder = tmp_path / "videos"
    folder.mkdir()
    data = distinct_video(1)
    (folder / "a.mp4").write_bytes(data)
    watchlist.add(
        [
            saved_record(1, folder / "a.mp4", data, rating=4),
            saved_record(2, folder / "a.mp4", data, rejected=True),
        ]
    )
    app = sheet_app(make_app, tmp_path)
    async with on_the_sheet(app, 2) as pilot:
        assert "3s ★★★★" in cell_text(app, 0)
        assert "3s rejected" in cell_text(app, 1)
        if not any(b.key == "3" for b in app._bindings.key_to_bindings.get("3", [])):
            return
        await pilot.press("right", "3")
        await until(pilot, lambda: app.records[task_id(2)].rating == 3, "the rating")
        assert app.records[task_id(1)].rating == 4


async def test_a_placeholder_until_the_thumbnail_is_made(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    save_big_videos(watchlist, tmp_path / "videos", 6)
    app = sheet_app(make_app, tmp_path)
    async with running(app, (80, 24)) as pilot:
        await until(pilot, lambda: len(table(app).row_ids) == 6, "the rows")
        app.action_toggle_sheet()  # what v does
        # Drawn as soon as laid out, while six decodes wait, two at once: a cell is a
        # placeholder or its picture, never blank, and some cell is seen waiting.
        waiting = False
        for _ in range(200):
            await pilot.pause(0.005)
            if not sheet(app).size.height:
                continue
            cells = [cell_text(app, i) for i in range(6)]
            assert all("making the picture" in c or c.count("▀") > 96 for c in cells), cells
            waiting = waiting or any("making the picture" in cell for cell in cells)
            if waiting or sum(c.count("▀") > 96 for c in cells) == 6:
                break
        assert waiting, "no cell was seen waiting for its picture"
        await until(pilot, lambda: sheet(app).maker is not None, "the thumbnail maker")
        maker = sheet(app).maker
        await until(pilot, lambda: maker is not None and maker.made >= 6, "the rest", timeout=30)
        await until(pilot, lambda: maker is not None and not maker.pending, "idle")
        await pilot.pause()
        assert _pictures_done(app, 6) and "making the picture" not in sheet_text(app)
        assert maker is not None and maker.made == maker.decodes == 6
        kept = sorted(p.name.split("-", 1)[1] for p in (tmp_path / "frames").iterdir())
        assert kept == ["1-48.ppm"] * 6 + ["1-480.png"] * 6  # the panel's cache, by sha256


async def test_files_gone_replaced_or_not_videos_say_so_in_their_cells(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    ids = save_videos(watchlist, folder, 6)
    paths = [folder / f"{i}.mp4" for i in ids]
    paths[0].unlink()  # deleted behind the watchlist's back
    paths[1].write_bytes(distinct_video(100) + b"longer")  # replaced: another size
    same_size = bytearray(paths[2].read_bytes())
    same_size[-1] ^= 0xFF  # replaced: the same size, other bytes
    paths[2].write_bytes(bytes(same_size))
    _rewrite(watchlist, ids[3], paths[3], b"<html>not a video</html>")
    _rewrite(watchlist, ids[4], paths[4], _no_frames_video(tmp_path / "empty.mp4"))
    app = sheet_app(make_app, tmp_path)
    async with on_the_sheet(app, 6) as pilot:
        await until(pilot, lambda: _pictures_done(app, 1), "the good thumbnail")

        def cell(n: int) -> str:
            return " ".join(cell_text(app, sheet(app).cell_ids.index(ids[n])).split())

        await until(pilot, lambda: "no frames" in cell(4), "every cell's answer")
        assert "file gone" in cell(0)
        assert "size differs" in cell(1)
        assert "sha256 differs" in cell(2)
        assert "does not decode" in cell(3)
        assert "no frames in the video" in cell(4)
        assert cell(5).count("▀") > 24 * 4
        assert "making the picture" not in sheet_text(app)
        assert "Traceback" not in screen_text(app)


def _rewrite(watchlist: Watchlist, ident: str, path: Path, data: bytes) -> None:
    """The file is `data`, and the record says so (saved as it is: size and sha match)."""
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    watchlist.remove([ident])
    n = int(ident.rsplit("_", 1)[1]) - 5_550_000_000
    record = saved_record(n, path, data)
    assert record.sha256 == digest
    watchlist.add([record])


def _no_frames_video(path: Path) -> bytes:
    """An MP4 with an H.264 stream and not one frame in it (PyAV)."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=12)
        stream.width, stream.height = 64, 64
        stream.pix_fmt = "yuv420p"
        container.start_encoding()  # the header written, and not one frame after it
    return path.read_bytes()


async def test_ten_thousand_saved_tasks_decode_only_the_cells_on_screen(
    make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    files = []
    for n in range(12):
        data = distinct_video(n)
        (folder / f"{n}.mp4").write_bytes(data)
        files.append((folder / f"{n}.mp4", data))
    records = [saved_record(n, *files[n % 12]) for n in range(10_000)]
    watchlist.add(records)
    app = sheet_app(make_app, tmp_path)
    async with running(app, (80, 24)) as pilot:
        await until(pilot, lambda: len(table(app).row_ids) == 10_000, "the rows", timeout=10)
        await pilot.press("v")
        widget = sheet(app)
        visible = 3 * (-(-widget.size.height // CELL_H))  # rows of cells partly on screen
        await until(pilot, lambda: _pictures_done(app, 6), "the first screen's thumbnails")
        await until(pilot, lambda: widget.maker is not None and not widget.maker.pending, "idle")
        assert widget.maker is not None
        assert widget.maker.made <= visible and widget.maker.decodes <= visible
        for _ in range(20):  # a fast run of pages: cells passed by are never made
            await pilot.press("pagedown")
        await until(pilot, lambda: not widget.maker or not widget.maker.pending, "idle again")
        assert widget.maker.made <= 21 * visible  # at most the cells each page showed
        assert widget.maker.decodes <= 12  # one a file: the cache is by sha256
        await pilot.press("end")
        assert app.selected_id == records[-1].id
        await until(pilot, lambda: cell_text(app, 9_999).count("▀") > 24 * 4, "the last cell")
        assert PIC_ROWS == 7
