"""Playing a saved video in the terminal: PyAV decodes in a thread of its own, each frame
scaled to the size the face asks for as it is decoded, at the video's own frame rate up
to MAX_FPS. Nothing here imports Textual.

Frames are dropped, never queued: a frame whose moment has passed is skipped without being
converted, and the face's `deliver` is handed only the newest picture (it keeps one slot:
a frame it has not shown yet is replaced, not put in a line). So a terminal that falls
behind costs frames, never the keys. Terminals play no sound: the audio is not decoded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_FPS = 15.0
SEEK_STEP = 1.0  # seconds `←`/`→` move


@dataclass(frozen=True)
class Frame:
    """One picture of the video, at `position` of `length` seconds."""

    image: Image
    position: float
    length: float
    playing: bool


class PlaybackError(Exception):
    """The video cannot be played; the message says why, in a few words."""


def clock_text(seconds: float) -> str:
    """0:03, 1:02:03."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Player:
    """Plays `path` in a thread: `deliver(frame)` is called (in that thread) with each
    frame shown, `failed(reason)` once if the file cannot be played. `size(width, height)`
    says, for the video's width and height in pixels, the size to scale each frame to
    (asked again for every frame, so a resize takes at once)."""

    def __init__(
        self,
        path: Path,
        size: Callable[[int, int], tuple[int, int]],
        deliver: Callable[[Frame], None],
        failed: Callable[[str], None],
        *,
        max_fps: float = MAX_FPS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.size = size
        self.deliver = deliver
        self.failed = failed
        self.max_fps = max_fps
        self.clock = clock
        self.length = 0.0
        self.fps = 0.0  # the rate frames are shown at (the video's, capped)
        self.position = 0.0
        self.playing = False
        self.ended = False
        self.shown = 0  # frames handed to `deliver`
        self.dropped = 0  # frames skipped because their moment had passed
        self._seek_to: float | None = None
        self._stop = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- the face's commands (any thread) ------------------------------------------------

    def start(self, at: float = 0.0) -> None:
        self.playing, self._seek_to = True, at
        self._thread = threading.Thread(target=self._run, name="playback", daemon=True)
        self._thread.start()

    def toggle(self) -> None:
        """Pause, or play on (from the start again once it has ended)."""
        with self._wake:
            if self.ended:
                self.ended, self._seek_to, self.playing = False, 0.0, True
            else:
                self.playing = not self.playing
            self._wake.notify_all()

    def seek(self, delta: float) -> None:
        """Move `delta` seconds (within the video), playing or paused."""
        with self._wake:
            base = self._seek_to if self._seek_to is not None else self.position
            self._seek_to = min(max(0.0, base + delta), max(0.0, self.length - 0.05))
            self.ended = False
            self._wake.notify_all()

    def stop(self, wait: float = 0.0) -> None:
        with self._wake:
            self._stop = True
            self._wake.notify_all()
        if wait and self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        import av

        try:
            if not self.path.is_file():
                raise PlaybackError("the saved file is gone")
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise PlaybackError("the file has no video in it")
                self._play(container, container.streams.video[0])
        except PlaybackError as exc:
            self._fail(str(exc))
        except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            self._fail(f"the file does not play as a video ({reason[:80]})")

    def _fail(self, reason: str) -> None:
        self.playing = False
        if not self._stop:
            self.failed(reason)

    def _play(self, container: Any, stream: Any) -> None:
        stream.thread_type = "AUTO"
        if stream.duration is not None and stream.time_base is not None:
            self.length = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            self.length = float(container.duration) / 1_000_000
        rate = float(stream.average_rate or stream.guessed_rate or self.max_fps)
        self.fps = min(rate, self.max_fps)
        step, half_frame = 1.0 / self.fps, 0.5 / rate
        slot = 0.0  # the video time of the next moment a frame is shown (a grid of `step`)
        frames: Any = iter(())
        pending = None  # a frame taken from the decoder but not yet shown
        anchor: tuple[float, float] | None = None  # (clock, video time) playing began
        last_shown = 0.0
        while True:
            with self._wake:
                paused = False
                while not self._stop and self._seek_to is None and not self.playing:
                    paused = True
                    self._wake.wait()
                if self._stop:
                    return
                seek, self._seek_to = self._seek_to, None
                playing = self.playing
            if paused:
                anchor = None  # played on: its next frame is due now
            if seek is not None:
                frames, pending, anchor = self._seek(container, stream, seek), None, None
                frame = self._first_from(frames, seek)
                if frame is None:
                    self._at_end()
                    continue
                self._show(frame, playing)
                last_shown, slot = self.position, self.position + step
                continue
            frame, pending = (pending, None) if pending is not None else (next(frames, None), None)
            if frame is None:
                self._at_end()
                continue
            when = float(frame.time) if frame.time is not None else last_shown + step
            if when + half_frame < slot:
                continue  # above the rate shown: skipped unconverted (25 fps shown at 15)
            while slot <= when + half_frame:
                slot += step
            if anchor is None:
                anchor = (self.clock(), when)
            late = self.clock() - (anchor[0] + when - anchor[1])
            if late > step:  # behind: dropped, never queued
                self.dropped += 1
                continue
            if late < 0:
                with self._wake:
                    self._wake.wait(-late)  # a command (pause, seek, stop) wakes it early
                    interrupted = self._stop or self._seek_to is not None or not self.playing
                if interrupted:
                    pending = frame
                    continue
            self._show(frame, True)
            last_shown = when

    def _seek(self, container: Any, stream: Any, at: float) -> Any:
        target = int(at / stream.time_base) if stream.time_base else 0
        container.seek(target, stream=stream, backward=True, any_frame=False)
        return iter(container.decode(stream))

    def _first_from(self, frames: Any, at: float) -> Any:
        last = None
        for frame in frames:
            last = frame
            if frame.time is None or float(frame.time) >= at - 1e-3:
                return frame
        return last

    def _show(self, frame: Any, playing: bool) -> None:
        width, height = self.size(frame.width, frame.height)
        picture = frame.reformat(width=max(1, width), height=max(1, height), format="rgb24")
        self._last = picture.to_image()
        self.position = float(frame.time) if frame.time is not None else self.position
        self.shown += 1
        if not self._stop:
            self.deliver(Frame(self._last, self.position, self.length, playing))

    def _at_end(self) -> None:
        """The end reached: the last frame stays, paused at the end."""
        with self._wake:
            self.playing, self.ended = False, True
        self.position = max(self.position, self.length)
        last = getattr(self, "_last", None)
        if last is not None and not self._stop:
            self.deliver(Frame(last, self.position, self.length, False))
