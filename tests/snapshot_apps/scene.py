"""One watchlist at 80x24, pictured the same on every run and every machine.

Everything that could differ between runs is pinned: the app's clocks and the simulator's
are frozen at FROZEN, the task ids and records are fixed (no temporary path is shown),
the simulator answers each polled task with a canned body, polls run one at a time with a
seeded schedule, and the time zone is UTC (the fixture in test_snapshots.py sets it).

A picture is taken as the terminal would show it: `colours` downgrades every colour of
the SVG to what a 256- or 16-colour terminal draws (Rich's own downgrade), since
Textual's export is always in truecolour.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.color import Color, ColorSystem
from rich.terminal_theme import SVG_EXPORT_THEME
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

import starvideos_tui.tui.app as app_module
from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.widgets.task_table import TaskTable

FROZEN = 1_768_469_400.0  # 2026-01-15 09:30:00 UTC
SIZE = (80, 24)

DOWNLOADED = "video_starvideos_o3_4821730011"
COMPLETED = "video_starvideos_o3_4821730013"
PROCESSING = "video_starvideos_o3_4821730014"
QUEUED = "video_starvideos_o3_4821730015"
FAILED = "video_starvideos_o3_4821730016"
POLLED = (PROCESSING, QUEUED)
FAILURE = (
    "Reference image resolution is too low: the first image is 320x240, "
    "at least 720x720 is required."
)
# The links die 90 minutes on: a link about to die would raise a toast a second in, at
# a moment no picture can pin.
CDN = "https://cdn.starvideos.example/v"
LINK_LIFE = 5400


class FrozenClock:
    def __call__(self) -> float:
        return FROZEN


def ago(seconds: float) -> float:
    return FROZEN - seconds


# -- the records: this scene's, and the README's screenshots' (scripts/export_screenshots.py)


def done(
    task_id: str,
    label: str,
    minutes: float,
    *,
    took: float = 85,
    life: int = LINK_LIFE,
    **extra: Any,
) -> TaskRecord:
    """A task completed `minutes` ago after `took` seconds, its link alive `life` more."""
    created = ago(minutes * 60)
    finished = created + took
    return TaskRecord(
        id=task_id,
        status="completed",
        created=int(created),
        model="starvideos_o3",
        video_url=f"{CDN}/{task_id}.mp4?token=demo&expires={int(FROZEN) + life}",
        video_url_at=finished,
        actual_duration=5.0,
        label=label,
        added_at=created,
        checked_at=finished,
        updated_at=finished,
        history=(("queued", created), ("processing", created + 12), ("completed", finished)),
        **extra,
    )


def running(task_id: str, status: str, label: str, minutes: float) -> TaskRecord:
    created = ago(minutes * 60)
    return TaskRecord(
        id=task_id,
        status=status,
        created=int(created),
        model="starvideos_o3",
        label=label,
        added_at=created,
        checked_at=ago(30),
        updated_at=created,
        history=((status, created),),
    )


def failed() -> TaskRecord:
    """FAILED: refused 40 minutes ago for the reference image's size."""
    return TaskRecord(
        id=FAILED,
        status="failed",
        created=int(ago(45 * 60)),
        model="starvideos_o3",
        error=FAILURE,
        label="Close-up of a hummingbird at a feeder",
        added_at=ago(45 * 60),
        checked_at=ago(40 * 60),
        updated_at=ago(40 * 60),
        history=(
            ("queued", ago(45 * 60)),
            ("processing", ago(44 * 60)),
            ("failed", ago(40 * 60)),
        ),
    )


def records() -> list[TaskRecord]:
    """One task in each state the table shows."""
    return [
        done(
            DOWNLOADED,
            "Aerial shot of a lighthouse at dawn, slow push-in",
            190,
            local_path=f"/home/ana/Videos/starvideos/{DOWNLOADED}.mp4",
            size=2_938_112,
        ),
        done(COMPLETED, "Timelapse of clouds rolling over mountain peaks", 4),
        running(PROCESSING, "processing", "Neon city street in the rain at night", 3),
        running(QUEUED, "queued", "Paper boats racing down a gutter stream, macro lens", 1),
        failed(),
    ]


def canned_answers(sim: Simulator, book: list[TaskRecord] | None = None) -> None:
    """What the simulator says when the app polls the unfinished tasks (POLLED) of `book`
    (this scene's records) at start: each as it stands."""
    for record in book or records():
        if record.id in POLLED:
            sim.add_fixed(
                record.id,
                {
                    "id": record.id,
                    "object": "video",
                    "created": record.created,
                    "model": "starvideos_o3",
                    "status": record.status,
                    "video_url": None,
                    "error": None,
                },
            )


HEX = re.compile(r"#([0-9a-fA-F]{6})\b")


def downgraded(svg: str, system: ColorSystem | None) -> str:
    """Every colour of the SVG as a terminal of `system` draws it (None: truecolour)."""
    if system is None:
        return svg

    def one(match: re.Match[str]) -> str:
        colour = Color.parse(f"#{match.group(1)}").downgrade(system)
        return "#" + colour.get_truecolor(SVG_EXPORT_THEME).hex.lstrip("#")

    return HEX.sub(one, svg)


class SnapshotApp(StarVideosApp):
    """The monitor, its screenshots in the colours of the terminal it stands for."""

    CSS_PATH = str(Path(app_module.__file__).parent / "app.tcss")  # not beside this file

    def __init__(self, *, colours: ColorSystem | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.colours = colours

    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str:
        svg = super().export_screenshot(title=title, simplify=simplify)
        return downgraded(svg, self.colours)


# The terminals pictured: 256 colours (what launch.py gives the default theme), 16 colours
# (TERM=xterm: the ansi theme, launch.plain_terminal) and NO_COLOR (ansi, no colour).
# The README's pictures (scripts/export_screenshots.py) keep Textual's truecolour export.
TERMINALS = {
    "256": (False, ColorSystem.EIGHT_BIT),
    "16": (True, ColorSystem.STANDARD),
    "no-color": (True, None),
    "truecolour": (False, None),
    "truecolour-ansi": (True, None),
}


def build_app(
    sim: Simulator,
    folder: Path,
    terminal: str,
    keymap: dict[str, str] | None = None,
    *,
    book: list[TaskRecord] | None = None,
    **settings: Any,
) -> SnapshotApp:
    """The app on `sim` over the watchlist in `folder` (`book`, this scene's records, put
    there the first time), in `terminal`'s colours; `settings` are AppConfig's (preview
    off unless said)."""
    ansi, colours = TERMINALS[terminal]
    clock = FrozenClock()
    watchlist = Watchlist(folder / "watchlist.json")
    if not watchlist.path.exists():
        watchlist.add(book or records())
    config = AppConfig(
        download_dir=folder / "videos",
        bell=False,
        wall_clock=clock,
        monotonic=clock,
        ansi=ansi,
        keymap=keymap or {},
        **({"preview": "off"} | settings),
    )
    schedule = PollSchedule(interval=config.interval, clock=clock, rng=random.Random(1))
    app = SnapshotApp(
        colours=colours,
        watchlist=watchlist,
        client=StarVideosClient(sim.base_url, "sk-snapshots"),
        config=config,
        schedule=schedule,
    )
    assert app.monitor.poller is not None
    app.monitor.poller.concurrency = 1  # the schedule's random draws in a fixed order
    return app


async def until(pilot: Pilot[None], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot: Pilot[None]) -> None:
    """The first poll answered, no toast, no blinking cursor: the same frame every time."""
    app = pilot.app
    assert isinstance(app, StarVideosApp)

    def polled() -> bool:
        rows = [app.records.get(task_id) for task_id in POLLED]
        return app.api_state == "API ok" and all(r and r.checked_at == FROZEN for r in rows)

    await until(pilot, polled, "the first poll")
    app.clear_notifications()
    app.render_rows()
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    await pilot.pause()
    await pilot.pause()


async def select(pilot: Pilot[None], task_id: str) -> None:
    table = pilot.app.query_one(TaskTable)
    table.move_cursor(row=table.row_ids.index(task_id), animate=False)
    await pilot.pause()
