"""Playback in the side panel: the engine's `Player` (decoding in its own thread) shown in
the panel's `Picture`, the position and length in its caption ("0:03 / 0:08 ▶").

Each decoded frame is made ready for the screen in the player's thread (half-blocks,
Sixel or kitty: `Picture.make`) and put in a slot of one; the loop takes whatever the slot
holds when it gets to it. A frame the screen had no time for is replaced, never queued,
so the keys stay instant however slow the terminal is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text

from starvideos_tui.engine.playback import SEEK_STEP, Frame, Player, clock_text
from starvideos_tui.tui.widgets.picture import Drawing, Picture

log = logging.getLogger(__name__)

PLAYING, PAUSED = "▶", "‖"  # (⏸ is missing from many terminal fonts)


class PanelPlayback:
    """One video playing (or paused) in `picture`; `caption` shows its position."""

    def __init__(
        self,
        picture: Picture,
        caption: Callable[[Text], None],
        room: Callable[[], tuple[int, int]],
    ) -> None:
        self.picture = picture
        self.caption = caption
        self.room = room()
        self._room = room
        self.player: Player | None = None
        self.task_id: str | None = None
        self.drawn = 0  # frames put on the screen
        self._started = 0.0
        self.replaced = 0  # frames made but replaced before the screen took them
        self._slot: tuple[Drawing, Frame] | None = None
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def active(self) -> bool:
        return self.player is not None

    def start(self, task_id: str, path: Path) -> None:
        self.stop()
        self._loop = asyncio.get_running_loop()
        self.task_id = task_id
        self.room = self._room()
        self.drawn = self.replaced = 0
        self._started = time.monotonic()
        self.player = Player(path, self._size, self._deliver, self._failed)
        self.caption(Text("starting…", style="dim"))
        self.player.start()

    def toggle(self) -> None:
        if self.player is not None:
            self.player.toggle()
            self._say(self.player.position, self.player.length, self.player.playing)

    def seek(self, seconds: float = SEEK_STEP) -> None:
        if self.player is not None:
            self.player.seek(seconds)

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
            seconds = time.monotonic() - self._started
            log.info(
                "playback of %s ended: %d frames drawn in %.1f s (%.1f a second), "
                "%d dropped late by the decoder, %d replaced before the screen took them",
                self.task_id,
                self.drawn,
                seconds,
                self.drawn / max(seconds, 1e-6),
                self.player.dropped,
                self.replaced,
            )
        self.player, self.task_id, self._slot = None, None, None

    def resized(self) -> None:
        self.room = self._room()

    # -- the player's thread ----------------------------------------------------------

    def _size(self, width: int, height: int) -> tuple[int, int]:
        """The pixels to decode to: the picture's room, the video's shape kept."""
        columns, rows = self.room
        graphics = self.picture.graphics
        cell_w, cell_h = (graphics.cell_width, graphics.cell_height) if graphics else (1, 2)
        room_w, room_h = columns * cell_w, rows * cell_h
        scale = min(room_w / max(1, width), room_h / max(1, height))
        return max(1, round(width * scale)), max(2, round(height * scale))

    def _deliver(self, frame: Frame) -> None:
        player = self.player
        drawing = self.picture.make(frame.image, *self.room)
        with self._lock:
            if self.player is not player or self._loop is None:
                return
            waiting, self._slot = self._slot is not None, (drawing, frame)
            if waiting:
                self.replaced += 1
                return  # the loop has not taken the last one yet: it takes this one
            loop = self._loop
        with contextlib.suppress(RuntimeError):  # the app has closed meanwhile
            loop.call_soon_threadsafe(self._take)

    def _failed(self, reason: str) -> None:
        if self._loop is not None and reason:
            with contextlib.suppress(RuntimeError):  # the app has closed meanwhile
                self._loop.call_soon_threadsafe(self._show_failure, self.player, reason)

    # -- the loop ---------------------------------------------------------------------

    def _take(self) -> None:
        with self._lock:
            taken, self._slot = self._slot, None
        if taken is None or self.player is None:
            return
        drawing, frame = taken
        self.picture.show(drawing)
        self.drawn += 1
        self._say(frame.position, frame.length, self.player.playing)

    def _say(self, position: float, length: float, playing: bool) -> None:
        mark = PLAYING if playing else PAUSED
        ended = self.player is not None and self.player.ended
        keys = "space: again" if ended else ("space: pause" if playing else "space: play")
        text = Text(f"{clock_text(position)} / {clock_text(length)} {mark}")
        text.append(f"  {keys} · ←/→: 1 s · no sound", style="dim")
        self.caption(text)

    def _show_failure(self, player: Player | None, reason: str) -> None:
        if player is not self.player:
            return
        self.stop()
        self.caption(Text(f"cannot play: {reason}", style="dim"))
