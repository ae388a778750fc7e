"""Starting the TUI from the command line: real settings, or `--demo` on the simulator."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from rich.console import Console

from starvideos_tui.core.console import PROG, say
from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.core.models import ApiKey, TaskRecord
from starvideos_tui.engine.session import StarVideosClient, Watchlist
from starvideos_tui.engine.settings import Settings, check_network_settings
from starvideos_tui.terminal import graphics, notify
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.bindings import TABLE_BINDINGS, check_keymap, rebindable
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.ending import Ending, terminal_gone

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
    settings = settings.demo_session(folder, sim.base_url)  # all of it thrown away on quit
    watchlist = settings.open_watchlist()
    watchlist.files.fold_on_close = False  # thrown away on quit: nothing to fold into it
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
        shutil.rmtree(folder, ignore_errors=True)  # first: the part that matters most
        sim.stop()

    return settings, watchlist, StarVideosClient(sim.base_url, DEMO_KEY), [cleanup]


def plain_terminal(env: Mapping[str, str]) -> bool:
    """A terminal of 16 colours (TERM=xterm, linux, screen) or NO_COLOR (set, even empty,
    as Textual reads it), as Rich and Textual see it: the ansi theme reads best there."""
    if "NO_COLOR" in env:
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


def launch(settings: Settings) -> int:
    """Run the TUI until the user quits, or a signal or a lost terminal ends it (exit
    128 + the signal's number). `settings` are the run's, resolved once (their errors were
    raised already); the real watchlist's head and end are checked before the terminal,
    and all of it after the first screen."""
    watchlist: Watchlist | None = None
    key: ApiKey | None = None
    keymap = check_keymap(settings.keymap, rebindable(), kept=TABLE_BINDINGS)
    if not settings.demo:
        check_network_settings()
        key = settings.api_key()
        watchlist = settings.open_watchlist()
        # A file cut short or of a newer schema is reported before the screen opens (its
        # head and end are enough); a document damaged inside is found by the whole read
        # after the first screen, which then ends the app with the same line.
        watchlist.check_quickly()
    check_terminal()
    ending = Ending().install()
    try:
        return _run(settings, watchlist, key, keymap, ending)
    finally:
        ending.uninstall()


def _run(
    settings: Settings,
    real: Watchlist | None,
    key: ApiKey | None,
    keymap: dict[str, str],
    ending: Ending,
) -> int:
    client: StarVideosClient | None
    cleanups: list[Callable[[], None]] = []
    api_note = None
    if real is None:  # the demo
        settings, watchlist, client, cleanups = _demo(settings)
        setup_logging(settings.log_level)
    else:
        watchlist = real
        client = StarVideosClient(settings.base_url, key) if key else None
        api_note = None if key else "no API key: run starvideos-tui login"
    for cleanup in cleanups:
        ending.rescue(cleanup)
    env = settings.environ
    colour = "NO_COLOR" not in env
    pictures: graphics.Graphics | None = None
    light = settings.theme == "light"
    hint = ""
    if ending.code is None:
        # Asked now: once the screen is open, Textual reads every answer of the terminal.
        said = graphics.ask(
            env,
            0,
            1,
            pictures=colour and settings.preview == "auto",
            background=colour and settings.theme == "auto",
        )
        pictures, hint = said.graphics, said.hint if settings.preview == "auto" else ""
        light = light or (settings.theme == "auto" and bool(said.light))
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
        graphics=pictures,
        picture_hint=hint,
        light=light,
        keymap=keymap,
        history_days=settings.history_days,
    )
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
    if app.fatal is not None:
        say(app.fatal)
        return 1
    if ending.code is not None:
        if not terminal_gone(ending.fds):
            with contextlib.suppress(OSError, ValueError):
                say(f"stopped by {signal.Signals(ending.code - 128).name}")
                sys.stderr.flush()
        ending.leave(ending.code)  # not waiting for a read of the watchlist to finish
        return ending.code  # (a test's leave returns)
    return app.return_code or 0
