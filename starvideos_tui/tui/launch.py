"""Starting the TUI from the command line: real settings, or `--demo` on the simulator."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core import paths
from starvideos_tui.core.console import PROG, say
from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.core.models import ApiKey, TaskRecord
from starvideos_tui.engine.settings import (
    Settings,
    SettingsError,
    check_network_settings,
    check_theme,
    parse_bool,
)
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.terminal import graphics, notify
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.ending import Ending, terminal_gone

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
        shutil.rmtree(folder, ignore_errors=True)  # first: the part that matters most
        sim.stop()

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


def _theme(args: argparse.Namespace) -> str:
    """--theme, else STARVIDEOS_THEME, else auto (the demo resolves no other settings)."""
    return check_theme(getattr(args, "theme", None) or os.environ.get("STARVIDEOS_THEME") or "auto")


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


def check_terminal() -> None:
    """The monitor draws on the terminal (Textual writes to stderr) and reads its keys:
    where stdin, stdout or stderr is not one, refuse before anything opens. Otherwise it
    would write its screen into a file, or spin on a stdin that only says end-of-file."""
    for name, stream, fd in (
        ("stdin", sys.stdin, 0),
        ("stdout", sys.stdout, 1),
        ("stderr", sys.stderr, 2),
    ):
        if stream is None or not _isatty(fd):
            raise UsageError(
                f"the monitor needs a terminal on {name}; "
                f"for scripts use `{PROG} list` or `{PROG} watch`"
            )


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:  # closed (`<&-`)
        return False


@dataclass(frozen=True)
class _Checked:
    """What launch checked before the terminal: settings that concern only the TUI, and
    the real watchlist (None for the demo), read whole."""

    preview: str
    bell: bool
    notify_mode: str
    theme: str  # auto, dark or light
    watchlist: Watchlist | None = None
    key: ApiKey | None = None


def launch(args: argparse.Namespace, settings: Settings | None) -> int:
    """Run the TUI until the user quits, or a signal or a lost terminal ends it (exit
    128 + the signal's number). `settings` are the resolved ones (None for the demo);
    every setting and the watchlist are checked before the terminal is, and all of it
    before any screen."""
    checked = _Checked(
        preview=preview_mode(getattr(args, "preview", None)),
        bell=parse_bool(os.environ.get("STARVIDEOS_BELL", "1"), "STARVIDEOS_BELL"),
        notify_mode=settings.notify if settings is not None else _notify_mode(args),
        theme=settings.theme if settings is not None else _theme(args),
    )
    if settings is not None:
        check_network_settings()
        key = settings.api_key()
        watchlist = Watchlist(settings.db)
        watchlist.load()  # a damaged file is reported before the screen opens
        checked = replace(checked, watchlist=watchlist, key=key)
    check_terminal()
    ending = Ending().install()
    try:
        return _run(args, settings, checked, ending)
    finally:
        ending.uninstall()


def _run(
    args: argparse.Namespace, settings: Settings | None, checked: _Checked, ending: Ending
) -> int:
    client: StarVideosClient | None
    if settings is None or checked.watchlist is None:
        watchlist, client, config = _demo(args)
        setup_logging(getattr(args, "log_level", None) or "info")
    else:
        watchlist, key = checked.watchlist, checked.key
        client = StarVideosClient(settings.base_url, key) if key else None
        config = AppConfig(
            download_dir=settings.download_dir,
            interval=settings.interval,
            auto_download=settings.auto_download,
            api_note=None if key else "no API key: run starvideos-tui login",
            frames_dir=_frames_dir(),
        )
    for cleanup in config.extra_cleanup:
        ending.rescue(cleanup)
    config.preview = checked.preview
    config.bell = checked.bell
    config.notify = notify.choose(checked.notify_mode, os.environ)
    config.tmux = bool(os.environ.get("TMUX"))
    config.ansi = plain_terminal()
    colour = "NO_COLOR" not in os.environ
    if ending.code is None:
        # Asked now: once the screen is open, Textual reads every answer of the terminal.
        said = graphics.ask(
            os.environ,
            0,
            1,
            pictures=colour and config.preview == "auto",
            background=colour and checked.theme == "auto",
        )
        config.graphics = said.graphics
        config.light = checked.theme == "light" or (checked.theme == "auto" and bool(said.light))
    app = StarVideosApp(watchlist=watchlist, client=client, config=config)
    ending.rescue(app.monitor.save_now, first=True)
    config.ending = ending
    if ending.code is None:  # not told to end during the start-up
        try:
            app.run()
        except OSError:
            if ending.code is None:
                raise
            # The terminal went away while the screen was being put away.
    else:
        for cleanup in config.extra_cleanup:
            cleanup()
    if ending.code is not None:
        if not terminal_gone(ending.fds):
            with contextlib.suppress(OSError, ValueError):
                say(f"stopped by {signal.Signals(ending.code - 128).name}")
                sys.stderr.flush()
        ending.leave(ending.code)  # not waiting for a read of the watchlist to finish
        return ending.code  # (a test's leave returns)
    return app.return_code or 0
