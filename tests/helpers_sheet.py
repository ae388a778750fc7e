"""Saved tasks with real videos on disk, and what the contact sheet shows, for the sheet's
tests (not a test module)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from helpers_media import free_box, padded_video
from helpers_tui import AppFactory, running, table, until
from textual.pilot import Pilot
from textual.strip import Strip

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.terminal.graphics import Graphics
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.widgets.contact_sheet import ContactSheet


def task_id(n: int) -> str:
    return f"video_starvideos_o3_{5_550_000_000 + n}"


def distinct_video(n: int) -> bytes:
    """The simulator's 3 s video, padded so that each `n` has its own sha256 (and so its
    own frames to decode: the cache is by sha256)."""
    return padded_video(len(sample_video(3).data) + 64 + n)


def saved_record(n: int, path: Path, data: bytes, **fields: object) -> TaskRecord:
    return TaskRecord(
        id=task_id(n),
        status="completed",
        added_at=1_767_225_600.0 + n,
        local_path=str(path),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        actual_duration=3.0,
        prompt=f"take {n} of a fox at dawn",
        **fields,  # type: ignore[arg-type]
    )


def save_videos(watchlist: Watchlist, folder: Path, count: int) -> list[str]:
    """`count` saved tasks, each with a video of its own in `folder`; their ids."""
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for n in range(count):
        data = distinct_video(n)
        path = folder / f"{task_id(n)}.mp4"
        path.write_bytes(data)
        records.append(saved_record(n, path, data))
    watchlist.add(records)
    return [r.id for r in records]


def encode_video(path: Path, width: int, height: int, seconds: int, fps: int = 24) -> None:
    """A real H.264 MP4 (PyAV) with one keyframe a video: a frame 30 % in takes decoding
    a third of it, as a long take from a generator does."""
    import av
    from PIL import Image, ImageChops

    ramp = Image.linear_gradient("L")
    base = Image.merge(
        "RGB",
        (
            ramp.resize((width, height)),
            ramp.rotate(90).resize((width, height)),
            Image.effect_noise((width, height), 40),
        ),
    )
    frames = seconds * fps
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(frames), "sc_threshold": "0"}
        for n in range(frames):
            image = ImageChops.offset(base, n * 8, n * 3)
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def save_big_videos(watchlist: Watchlist, folder: Path, count: int) -> list[str]:
    """`count` saved tasks of a 960x540 video each (one encoded, each padded to a sha256
    of its own: a decode each)."""
    folder.mkdir(parents=True, exist_ok=True)
    encode_video(folder / "source.mp4", 960, 540, 2)
    source = (folder / "source.mp4").read_bytes()
    records = []
    for n in range(count):
        data = source + free_box(64 + n)
        path = folder / f"{task_id(n)}.mp4"
        path.write_bytes(data)
        records.append(saved_record(n, path, data))
    watchlist.add(records)
    return [r.id for r in records]


def sheet(app: StarVideosApp) -> ContactSheet:
    return app.query_one(ContactSheet)


def sheet_app(
    make_app: AppFactory, tmp_path: Path, graphics: Graphics | None = None
) -> StarVideosApp:
    """The app over the saved takes, thumbnails cached under `tmp_path`, drawing with
    `graphics` (None: half-blocks)."""
    app = make_app([])
    app.config.frames_dir = tmp_path / "frames"
    app.config.graphics = graphics
    # The saved takes here finished in January: history, which the work view hides. The
    # sheet's subject is the grid, in the order the tasks were added.
    app.shows, app.sort_mode = "history", "added"
    return app


async def show_sheet(pilot: Pilot[None], app: StarVideosApp, rows: int) -> None:
    """Once the table has its `rows` rows, `v`, and wait for the sheet's cells laid out."""
    await until(pilot, lambda: len(table(app).row_ids) == rows, "the rows")
    await pilot.press("v")
    widget = sheet(app)
    await until(pilot, lambda: widget.size.height > 0 and widget.cell_ids, "the sheet")


@asynccontextmanager
async def on_the_sheet(
    app: StarVideosApp, rows: int, size: tuple[int, int] = (80, 24)
) -> AsyncIterator[Pilot[None]]:
    """`running(app)` at 80x24, the sheet shown (`show_sheet`)."""
    async with running(app, size) as pilot:
        await show_sheet(pilot, app, rows)
        yield pilot


def line_text(strip: Strip) -> str:
    return "".join(segment.text for segment in strip)


def sheet_text(app: StarVideosApp) -> str:
    """The sheet's lines on screen, as text (render_line, the Line API's own)."""
    widget = sheet(app)
    return "\n".join(line_text(widget.render_line(y)) for y in range(widget.size.height))


def cell_text(app: StarVideosApp, index: int) -> str:
    """Cell `index`'s lines as text (it must be on screen)."""
    from starvideos_tui.tui.widgets.sheet_cells import CELL_H, CELL_W

    widget = sheet(app)
    row, column = divmod(index, widget.columns)
    top = row * CELL_H - int(widget.scroll_offset.y)
    lines = [line_text(widget.render_line(top + y)) for y in range(CELL_H)]
    return "\n".join(line[column * CELL_W : (column + 1) * CELL_W] for line in lines)
