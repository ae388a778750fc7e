"""Starting the TUI from the command line: real settings, or `--demo` on the simulator."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console

from starvideos_tui.core import paths
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.session import StarVideosClient, Watchlist
from starvideos_tui.engine.settings import (
    Settings,
    SettingsError,
    check_network_settings,
    parse_bool,
)
from starvideos_tui.terminal import graphics, notify
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig

DEMO_INTERVAL = 5.0
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


def _demo(args: argparse.Namespace) -> tuple[Watchlist, StarVideosClient, AppConfig]:
    from starvideos_tui.simulator import SimConfig, Simulator

    # The demo's API and video host are on loopback: a proxy set for the real world would
    # only get in the way (this process's own environment; nothing outlives the demo).
    kept = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = ",".join(
        x for x in (kept, "127.0.0.1", "localhost", "::1") if x
    )
    sim = Simulator(SimConfig(url_ttl_seconds=900.0)).start()  # links die 15 min on
    folder = Path(tempfile.mkdtemp(prefix="starvideos-demo-"))
    watchlist = Watchlist(folder / "watchlist.json")
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
    download_dir = Path(args.download_dir) if args.download_dir else folder / "downloads"

    def cleanup() -> None:
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)

    config = AppConfig(
        download_dir=download_dir,
        interval=DEMO_INTERVAL,
        auto_download=bool(args.auto_download),
        title="StarVideos · demo",
        demo=True,
        frames_dir=folder / "frames",  # thrown away with the rest
        extra_cleanup=[cleanup],
    )
    return watchlist, StarVideosClient(sim.base_url, DEMO_KEY), config


PREVIEW_MODES = ("auto", "blocks", "off")


def preview_mode(flag: str | None) -> str:
    """--preview, else STARVIDEOS_PREVIEW, else auto: the terminal's own pictures (kitty or
    Sixel) where it says it has them, else coloured half-blocks ("blocks"), which every
    terminal with colour shows."""
    mode = (flag or os.environ.get("STARVIDEOS_PREVIEW") or "auto").strip().lower()
    if mode not in PREVIEW_MODES:
        raise SettingsError(f"STARVIDEOS_PREVIEW must be auto, blocks or off, got {mode!r}")
    return mode


def _notify_mode(args: argparse.Namespace) -> str:
    """--notify, else STARVIDEOS_NOTIFY, else auto (the demo resolves no other settings)."""
    given = getattr(args, "notify", None) or os.environ.get("STARVIDEOS_NOTIFY") or "auto"
    return notify.check_mode(given)


def _frames_dir() -> Path | None:
    try:
        return paths.cache_dir() / "frames"
    except paths.NoHome:
        return None  # no home, no cache: the panel shows no picture


def plain_terminal() -> bool:
    """A terminal of 16 colours (TERM=xterm, linux, screen) or NO_COLOR (set, even empty,
    as Textual reads it), as Rich and Textual see it: the ansi theme reads best there."""
    if "NO_COLOR" in os.environ:
        return True
    return Console(force_terminal=True).color_system in ("standard", "windows")


def launch(args: argparse.Namespace, settings: Settings | None) -> int:
    """Run the TUI until the user quits. `settings` are the resolved ones (None for the
    demo); their errors were raised before any screen."""
    client: StarVideosClient | None
    if args.demo or settings is None:
        watchlist, client, config = _demo(args)
        setup_logging(getattr(args, "log_level", None) or "info")
    else:
        check_network_settings()
        key = settings.api_key()
        watchlist = Watchlist(settings.db)
        watchlist.load()  # a damaged file is reported before the screen opens
        client = StarVideosClient(settings.base_url, key) if key else None
        config = AppConfig(
            download_dir=settings.download_dir,
            interval=settings.interval,
            auto_download=settings.auto_download,
            api_note=None if key else "no API key: run starvideos-tui login",
            frames_dir=_frames_dir(),
        )
    config.preview = preview_mode(getattr(args, "preview", None))
    config.bell = parse_bool(os.environ.get("STARVIDEOS_BELL", "1"), "STARVIDEOS_BELL")
    mode = settings.notify if settings is not None else _notify_mode(args)
    config.notify = notify.choose(mode, os.environ)
    config.tmux = bool(os.environ.get("TMUX"))
    config.ansi = plain_terminal()
    if config.preview == "auto" and "NO_COLOR" not in os.environ:
        # Asked now: once the screen is open, Textual reads every answer of the terminal.
        config.graphics = graphics.probe(os.environ, sys.stdin.fileno(), sys.stdout.fileno())
    app = StarVideosApp(watchlist=watchlist, client=client, config=config)
    app.run()
    return 0
