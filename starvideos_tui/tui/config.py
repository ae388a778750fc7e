"""What the TUI needs beyond its collaborators (the watchlist, the client, the schedule)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from starvideos_tui.core.schedule import DEFAULT_INTERVAL
from starvideos_tui.core.worklist import DEFAULT_HISTORY_DAYS
from starvideos_tui.terminal.graphics import Graphics

if TYPE_CHECKING:
    from starvideos_tui.tui.ending import Ending


@dataclass
class AppConfig:
    download_dir: Path
    interval: float = DEFAULT_INTERVAL
    auto_download: bool = False
    bell: bool = True  # False: no notifications at all (STARVIDEOS_BELL=0, the tests)
    notify: str = "bell"  # how: notify.choose's answer for this terminal
    tmux: bool = False  # inside tmux: escapes go through its passthrough
    title: str = "StarVideos"
    demo: bool = False  # a throw-away session: its watchlist and videos go on quit
    ansi: bool = False  # the terminal's own 16 colours, or none (launch.plain_terminal)
    light: bool = False  # a light theme: --theme light, or auto on a light background
    preview: str = "blocks"  # pictures of saved videos: "auto", "blocks" or "off"
    graphics: Graphics | None = None  # what the terminal draws itself (graphics.probe)
    picture_hint: str = ""  # how to have pictures (inside tmux), said once at start
    frames_dir: Path | None = None  # where those pictures' frames are kept (None: none)
    api_note: str | None = None  # e.g. "no API key": shown instead of polling
    wall_clock: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    history_days: float = DEFAULT_HISTORY_DAYS  # finished longer ago: history (hidden)
    keymap: dict[str, str] = field(default_factory=dict)  # config.toml's [keys], checked
    extra_cleanup: list[Callable[[], None]] = field(default_factory=list)
    ending: Ending | None = None  # SIGTERM, SIGHUP, a terminal gone (launch installs it)
