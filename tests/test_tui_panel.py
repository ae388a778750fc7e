"""The TUI's downloads and side panel, driven by Pilot against the simulator on loopback:
saving, the panel on a failure, hostile text, narrow terminals, toasts, link deadlines, previews."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from rich.text import Text
from textual.widgets import Static

from starvideos_tui.core.burst import TOGETHER
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.picture import Picture
from starvideos_tui.tui.widgets.task_table import TaskTable

if TYPE_CHECKING:
    from conftest import FakeClock

from helpers_tui import (
    HOSTILE_ERROR,
    KEY,
    AppFactory,
    downloads_done,
    panel_is_open,
    panel_text,
    polled,
    preview_text,
    row_ids,
    running,
    saved_task,
    screen_text,
    select,
    status_of,
    table,
    until,
)

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
        for task_id in ids:  # its distinctive end (the status column keeps 18 cells)
            assert task_id[-10:] in shown
        assert "completed" in shown
        assert "d Download" in shown.splitlines()[-1]  # the footer is still there


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
        assert saved[0].startswith("3 videos saved\nto ")  # the folder on a line of its own


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
            app._tick()  # what the app does each second (the first warning came from it)
            await pilot.pause()
        assert len(warnings()) == 1, warnings()
        assert done[-16:] in warnings()[0] and "d saves it" in warnings()[0]  # id's end kept
        clock.advance(deadline - clock() + 1)
        assert link().plain == "expired"


def picture_text(app: StarVideosApp) -> str:
    """The half-blocks the panel's picture draws."""
    drawing = app.query_one(Picture).drawing
    return "\n".join(line.text for line in drawing.lines) if drawing else ""


async def test_the_panel_of_a_saved_task_shows_a_picture_that_p_steps_through(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = await saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
    app = make_app([task_id])
    app.config.frames_dir = tmp_path / "frames"
    async with running(app) as pilot:
        await until(pilot, lambda: row_ids(app) == [task_id], "the row")
        await pilot.press("enter")
        await until(pilot, lambda: "frame 1 of 5" in preview_text(app), "the picture")
        assert picture_text(app).count("▀") > 100  # half-blocks: a picture, not a word
        first = app.query_one(Picture).drawing
        await pilot.press("p")
        await until(pilot, lambda: "frame 2 of 5" in preview_text(app), "the next frame")
        assert app.query_one(Picture).drawing != first
        assert sorted(p.name[-9:] for p in (tmp_path / "frames").iterdir()) == [
            f"{i}-480.png" for i in range(5)
        ]


async def test_a_saved_file_that_does_not_decode_says_so_instead_of_a_picture(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, tmp_path: Path
) -> None:
    task_id = await saved_task(simulator, watchlist, tmp_path, b"<html>gone</html>")
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
    task_id = await saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
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
        await pilot.press("g", "enter")  # the running task: on top (the work first)
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

    task_id = await saved_task(simulator, watchlist, tmp_path, sample_video(3).data)
    other = simulator.seed_task("not saved", queued=600)
    app = make_app([task_id, other])
    app.config.frames_dir = tmp_path / "frames"
    app.config.graphics = Graphics(protocol, 10, 20)
    async with running(app, (100, 30)) as pilot:
        await until(pilot, lambda: len(row_ids(app)) == 2, "the rows")
        await select(pilot, app, task_id)  # below the queued one: the work first
        await pilot.press("enter")
        graphic = app.query_one(Picture)
        await until(pilot, lambda: graphic.drawing is not None, "the picture")
        await until(pilot, lambda: graphic.size.height > 0, "the picture's place on screen")
        assert graphic.drawing is not None and graphic.drawing.rows > 2
        assert graphic.drawing.kind == protocol
        assert "frame 1 of 5" in preview_text(app) and "▀" not in preview_text(app)
        lines = graphic.render_lines(Region(0, 0, graphic.size.width, graphic.size.height))
        drawn = "".join(segment.text for segment in lines[-1])
        region = graphic.region
        assert f"\x1b[{region.y + 1};{region.x + 1}H{start}" in drawn  # at its top-left
        assert lines[-1].cell_length == graphic.size.width  # the escape takes no cell
        first = graphic.drawing
        await pilot.press("p")
        await until(pilot, lambda: "frame 2 of 5" in preview_text(app), "the next frame")
        # The same room (kitty places its new data in the same place; Sixel is the data).
        assert graphic.drawing.rows == first.rows
        assert (graphic.drawing.escape != first.escape) == (protocol == "sixel")
        await pilot.press("up")  # a task without a video: no picture left behind
        await until(pilot, lambda: graphic.drawing is None and not graphic.display, "no picture")
