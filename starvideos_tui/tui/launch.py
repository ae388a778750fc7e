"""Starting the TUI from the command line: real settings, or `--demo` on the simulator."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from rich.console import Console

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.settings import Settings, check_network_settings
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.terminal import graphics, notify
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig

DEMO_KEY = "demo-key"
# (prompt, seconds queued, seconds processing, fail) at simulator speed 1
# (prompt, seconds queued, seconds processing, why it fails or None)
DEMO_TASKS = (
    ("Aerial shot of a lighthouse at dawn, slow push-in", 0.0, 0.0, None),
    ("A red fox trotting through fresh snow, tracking shot", 4.0, 12.0, None),
    ("Neon city street in the rain at night, dolly forward", 8.0, 22.0, None),
    (
        "Close-up of a hummingbird at a feeder, from the reference image",
        5.0,
        15.0,
        "reference image too small: 120x90, at least 300x300 needed",
    ),
    ("Timelapse of clouds rolling over mountain peaks", 20.0, 30.0, None),
    ("Paper boats racing down a gutter stream, macro lens", 12.0, 40.0, None),
)
DEMO_UNKNOWN_ID = "video_starvideos_o3_0000000000"


def _demo(
    settings: Settings,
) -> tuple[Settings, Watchlist, StarVideosClient, list[Callable[[], None]]]:
    from starvideos_tui.simulator import SimConfig, Simulator

    # The demo's API and video host are on loopback: a proxy set for the real world would
    # only get in the way (this process's own environment; nothing outlives the demo).
    kept = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
        x for x in (kept, "127.0.0.1", "localhost", "::1") if x
    )
    sim = Simulator(SimConfig(url_ttl_seconds=900.0)).start()  # links die 15 min on
    folder = Path(tempfile.mkdtemp(prefix="starvideos-demo-"))
    settings = settings.demo_session(folder, sim.base_url)
    watchlist = settings.open_watchlist()
    now = time.time()
    records = [
        TaskRecord(
            id=sim.seed_task(
                prompt, queued=queued, processing=processing, fail=bool(why), error=why
            ),
            prompt=prompt,
            label=prompt,
            added_at=now,
        )
        for prompt, queued, processing, why in DEMO_TASKS
    ]
    records.append(
        TaskRecord(id=DEMO_UNKNOWN_ID, label="an id the API does not know", added_at=now)
    )
    watchlist.add(records)

    def cleanup() -> None:
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)

    return settings, watchlist, StarVideosClient(sim.base_url, DEMO_KEY), [cleanup]


def plain_terminal(env: Mapping[str, str]) -> bool:
    """A terminal of 16 colours (TERM=xterm, linux, screen) or NO_COLOR (set, even empty,
    as Textual reads it), as Rich and Textual see it: the ansi theme reads best there."""
    if "NO_COLOR" in env:
        return True
    return Console(force_terminal=True).color_system in ("standard", "windows")


def launch(settings: Settings) -> int:
    """Run the TUI until the user quits, with the run's settings (resolved once, before
    any screen: their errors were raised already)."""
    client: StarVideosClient | None
    cleanups: list[Callable[[], None]] = []
    api_note = None
    if settings.demo:
        settings, watchlist, client, cleanups = _demo(settings)
        setup_logging(settings.log_level)
    else:
        check_network_settings()
        key = settings.api_key()
        watchlist = settings.open_watchlist()
        watchlist.load()  # a damaged file is reported before the screen opens
        client = StarVideosClient(settings.base_url, key) if key else None
        api_note = None if key else "no API key: run starvideos-tui login"
    env = settings.environ
    config = AppConfig(
        download_dir=settings.download_dir,
        interval=settings.interval,
        auto_download=settings.auto_download,
        title="StarVideos · demo" if settings.demo else AppConfig.title,
        demo=settings.demo,
        frames_dir=settings.frames_dir,
        extra_cleanup=cleanups,
        api_note=api_note,
        preview=settings.preview,
        bell=settings.bell,
        notify=notify.choose(settings.notify, env),
        tmux=bool(env.get("TMUX")),
        ansi=plain_terminal(env),
        # Asked now: once the screen is open, Textual reads every answer of the terminal.
        graphics=(
            graphics.probe(env, sys.stdin.fileno(), sys.stdout.fileno())
            if settings.preview == "auto" and "NO_COLOR" not in env
            else None
        ),
    )
    app = StarVideosApp(watchlist=watchlist, client=client, config=config)
    app.run()
    return 0
