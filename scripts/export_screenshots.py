"""Write the README's screenshots of the TUI: the same SVG bytes on every run.

    python scripts/export_screenshots.py [--out DIR]      (default: screenshots/)

The app runs headless against the simulator on loopback. Everything that could differ
between runs is pinned: the clocks are frozen at FROZEN, the task ids and every record are
fixed, the simulator answers each polled task with a canned body, polls run one at a time
with a seeded schedule, the time zone is UTC and toasts are cleared before each picture.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.tui.app import StarVideosApp

ROOT = Path(__file__).resolve().parent.parent
# The scene the snapshot tests picture (tests/snapshot_apps/scene.py): its clock, ids,
# record builders and canned answers; the README's pictures add to them.
sys.path.insert(0, str(ROOT / "tests"))
from snapshot_apps.scene import (  # noqa: E402
    COMPLETED,
    DOWNLOADED,
    FROZEN,
    PROCESSING,
    QUEUED,
    FrozenClock,
    ago,
    canned_answers,
    done,
    failed,
    running,
    select,
    until,
)
from snapshot_apps.scene import build_app as build_scene_app  # noqa: E402

SIZE = (100, 30)
NARROW = (80, 24)
LINK_LIFE = 300  # the links die 5 minutes on: the README shows the warning

DOWNLOADING = "video_starvideos_o3_4821730012"
FAILED = "video_starvideos_o3_4821730016"
RETRYING = "video_starvideos_o3_4821730017"
UNKNOWN = "video_starvideos_o3_0000000000"
DOWNLOADED_SHA = "5f1c0a4e9b7d3c2a8e6f4d1b0c9a7e5d3b1f8c6a4e2d0b9f7c5a3e1d8b6f4c2a"


def watchlist_records() -> list[TaskRecord]:
    """One task in each state the table can show, added over the last few hours."""
    return [
        done(
            DOWNLOADED,
            "Aerial shot of a lighthouse at dawn, slow push-in",
            190,
            life=LINK_LIFE,
            local_path=f"/home/ana/Videos/starvideos/{DOWNLOADED}.mp4",
            size=2_938_112,
            sha256=DOWNLOADED_SHA,
        ),
        # Yesterday's takes: the history the running rows' expected finishes come from.
        *(
            done(
                f"video_starvideos_o3_48216{n:05d}",
                f"Lighthouse at dawn, take {n}",
                26 * 60 - 15 * n,
                took=300 + 20 * n,
                life=LINK_LIFE,
                local_path=f"/home/ana/Videos/starvideos/video_starvideos_o3_48216{n:05d}.mp4",
            )
            for n in range(1, 7)
        ),
        done(
            DOWNLOADING, "A red fox trotting through fresh snow, tracking shot", 7, life=LINK_LIFE
        ),
        done(COMPLETED, "Timelapse of clouds rolling over mountain peaks", 4, life=LINK_LIFE),
        running(PROCESSING, "processing", "Neon city street in the rain at night", 3),
        running(QUEUED, "queued", "Paper boats racing down a gutter stream, macro lens", 1),
        failed(),
        running(RETRYING, "processing", "Origami crane unfolding itself, stop motion", 12),
        TaskRecord(id=UNKNOWN, label="an id the API does not know", added_at=ago(20 * 60)),
    ]


def all_canned_answers(sim: Simulator) -> None:
    """What the simulator says when the app polls the unfinished tasks at start."""
    canned_answers(sim, watchlist_records())
    sim.add_fixed(
        RETRYING,
        {"error": {"message": "upstream render farm unavailable", "type": "server_error"}},
        status_code=500,
    )
    # UNKNOWN is not in the simulator's book: it answers 404, as the real API would.


def cache_frames(folder: Path) -> Path:
    """The picture of the downloaded task, as if taken before: the simulator's own video's
    frames, kept under that task's sha256 (its saved path is only a name here)."""
    from starvideos_tui.simulator.video import sample_video
    from starvideos_tui.video.preview import frame_paths, take_frames

    frames = folder / "frames"
    frames.mkdir(parents=True, exist_ok=True)
    video = folder / "sample.mp4"
    video.write_bytes(sample_video(5).data)
    for image, path in zip(take_frames(video), frame_paths(frames, DOWNLOADED_SHA), strict=True):
        image.save(path, format="PNG")
    return frames


def build_app(sim: Simulator, folder: Path, ansi: bool = False) -> StarVideosApp:
    """The scene's app over this watchlist, its pictures in truecolour, the preview on."""
    terminal = "truecolour-ansi" if ansi else "truecolour"
    return build_scene_app(
        sim,
        folder,
        terminal,
        book=watchlist_records(),
        preview="blocks",
        frames_dir=folder / "frames",
    )


async def settle(app: StarVideosApp, pilot: Any, ready: Callable[[], bool]) -> None:
    await until(pilot, ready, "the state to picture")
    app.clear_notifications()
    app.render_rows()
    await pilot.pause()
    await pilot.pause()


def first_poll_done(app: StarVideosApp) -> Callable[[], bool]:
    polled = (PROCESSING, QUEUED, RETRYING, UNKNOWN)

    def ready() -> bool:
        records = [app.records.get(task_id) for task_id in polled]
        return app.api_state == "API ok" and all(
            r is not None and (r.checked_at == FROZEN or r.last_problem is not None)
            for r in records
        )

    return ready


def preview_shown(app: StarVideosApp) -> str:
    from textual.widgets import Static

    return str(app.query_one("#detail-preview", Static).render())


async def leave(app: StarVideosApp, pilot: Any) -> None:
    """Exit the way `q` does, before run_test tears the screens down from outside (its
    teardown can race a message handler that still looks for the table)."""
    app.exit()
    deadline = time.monotonic() + 5
    while app.is_running and time.monotonic() < deadline:
        await pilot.pause(0.05)


async def export(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    clock = FrozenClock()
    written: list[Path] = []

    def save(app: StarVideosApp, name: str) -> None:
        svg = app.export_screenshot(title="starvideos-tui")
        path = out / name
        path.write_text(svg, encoding="utf-8")
        written.append(path)

    with tempfile.TemporaryDirectory(prefix="starvideos-shots-") as tmp:
        cache_frames(Path(tmp))
        sim = Simulator(SimConfig(seed=1), clock=clock).start()
        try:
            all_canned_answers(sim)
            app = build_app(sim, Path(tmp))
            async with app.run_test(size=SIZE) as pilot:
                await settle(app, pilot, first_poll_done(app))
                # A download in progress, as the engine would hold it mid-transfer.
                app.downloads[DOWNLOADING] = DownloadState("downloading", 1_234_567, 2_938_112)
                app.render_rows()
                await settle(app, pilot, lambda: DOWNLOADING in app.downloads)
                save(app, "watchlist.svg")

                await select(pilot, FAILED)
                await pilot.press("d")  # on a failed task: the panel opens on the error
                await settle(app, pilot, lambda: True)
                save(app, "failure-panel.svg")

                await select(pilot, DOWNLOADING)
                await settle(app, pilot, lambda: True)
                save(app, "download.svg")

                await select(pilot, DOWNLOADED)  # the panel stays open: its picture
                await settle(app, pilot, lambda: "frame 1 of 5" in preview_shown(app))
                save(app, "preview.svg")

                await pilot.press("enter")  # close the panel
                await pilot.press("question_mark")
                await settle(app, pilot, lambda: True)
                save(app, "help.svg")
                await pilot.press("escape")
                await leave(app, pilot)

            app = build_app(sim, Path(tmp))
            async with app.run_test(size=NARROW) as pilot:
                await settle(app, pilot, first_poll_done(app))
                await select(pilot, FAILED)
                await pilot.press("enter")
                await settle(app, pilot, lambda: True)
                save(app, "narrow-80x24.svg")
                await leave(app, pilot)

            # A 16-colour terminal (TERM=xterm): the terminal's own palette.
            app = build_app(sim, Path(tmp), ansi=True)
            async with app.run_test(size=NARROW) as pilot:
                await settle(app, pilot, first_poll_done(app))
                await select(pilot, PROCESSING)
                await settle(app, pilot, lambda: True)
                save(app, "16-colours-80x24.svg")
                await leave(app, pilot)

            # NO_COLOR: no colour at all; the words, glyphs and reverse video tell.
            os.environ["NO_COLOR"] = "1"
            try:
                app = build_app(sim, Path(tmp), ansi=True)
                async with app.run_test(size=NARROW) as pilot:
                    await settle(app, pilot, first_poll_done(app))
                    await select(pilot, PROCESSING)
                    await settle(app, pilot, lambda: True)
                    save(app, "no-color-80x24.svg")
                    await leave(app, pilot)
            finally:
                del os.environ["NO_COLOR"]
        finally:
            sim.stop()
    return written


def pin_environment() -> None:
    """Settings that change what the pictures show, set the same on every machine."""
    os.environ["TZ"] = "UTC"
    time.tzset()
    for name in ("NO_COLOR", "TEXTUAL_FILTERS", "TEXTUAL_THEME"):
        os.environ.pop(name, None)
    # The canned HTTP 500 is meant; its warning is not news on the console.
    logging.getLogger("starvideos_tui").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    pin_environment()
    for path in asyncio.run(export(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
