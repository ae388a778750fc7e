"""A picture of a saved video for the terminal: frames taken across it (PyAV), kept in the
user cache by the file's sha256, drawn as coloured half-blocks.

A half-block cell ("▀") shows two pixels, one above the other: the top one as the
foreground colour, the bottom one as the background. It needs nothing from the terminal
but colour, so it works over SSH, in tmux and in 256 or 16 colours (where the terminal
rounds the colours). Nothing here imports Textual: the TUI turns `Picture` rows into text.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PIL.Image import Image

SPOTS = (0.1, 0.3, 0.5, 0.7, 0.9)  # where frames are taken, as shares of the video's length
STORED_WIDTH = 480  # pixels a cached frame keeps: enough for a panel drawn in pixels
UPPER_HALF = "▀"

RGB = tuple[int, int, int]


class PreviewError(Exception):
    """The file's frames cannot be read; the message says why, in a few words."""


class NoFrames(PreviewError):
    """The file is a container with no video frame in it (an empty track, or none)."""


@dataclass(frozen=True)
class Picture:
    """A frame as half-block cells: `rows[y][x]` is (top colour, bottom colour)."""

    rows: tuple[tuple[tuple[RGB, RGB], ...], ...]

    @property
    def width(self) -> int:
        return len(self.rows[0]) if self.rows else 0


def frame_paths(cache: Path, sha256: str) -> list[Path]:
    return [cache / f"{sha256}-{i}-{STORED_WIDTH}.png" for i in range(len(SPOTS))]


def cached_frames(video: Path, sha256: str, cache: Path) -> list[Path]:
    """The frames of `video` across its length, as PNG files in `cache` named by the
    file's sha256: taken once (by whichever process gets there first), read ever after.
    PreviewError when the video cannot be decoded."""
    paths = frame_paths(cache, sha256)
    if all(p.exists() for p in paths):
        return paths
    images = take_frames(video)
    cache.mkdir(parents=True, exist_ok=True)
    for image, path in zip(images, paths, strict=True):
        _store(image, path)
    return paths


def cached_frame(
    video: Path, sha256: str, cache: Path, index: int, *, threads: bool = True
) -> tuple[Path, bool]:
    """One frame of `video` (SPOTS[index]) in the same cache as `cached_frames`, decoding
    only that one when it is not there (a contact sheet's thumbnail); with whether it
    had to be decoded. PreviewError when the video cannot be decoded."""
    path = frame_paths(cache, sha256)[index]
    if path.exists():
        return path, False
    (image,) = take_frames(video, (SPOTS[index],), threads=threads)
    cache.mkdir(parents=True, exist_ok=True)
    _store(image, path)
    return path, True


def cached_thumbnail(
    video: Path, sha256: str, cache: Path, index: int, width: int
) -> tuple[Path, bool]:
    """Frame `index` of `video` scaled down to `width` pixels, kept beside the frames
    (named alike, by sha256 and width) as a PPM: a contact sheet reads a few kilobytes a
    cell, and `ppm_picture` reads them without loading PIL. With whether the video had to
    be decoded."""
    path = cache / f"{sha256}-{index}-{width}.ppm"
    if path.exists():
        return path, False
    # One thread a decode: the sheet runs two at once, each without a pool of its own
    # (frame threads hold a frame each: megabytes at 720p).
    frame, decoded = cached_frame(video, sha256, cache, index, threads=False)
    from PIL import Image

    with Image.open(frame) as opened:
        small = opened.convert("RGB")
    height = max(2, round(small.height * width / small.width))
    _store(small.resize((width, height), Image.Resampling.BOX), path, "PPM")
    return path, decoded


def ppm_picture(path: Path, columns: int, max_rows: int) -> Picture:
    """The PPM at `path` (a thumbnail) as `picture` makes it, in plain Python: each cell's
    pixel the mean of the pixels it covers."""
    data = path.read_bytes()
    fields = data.split(maxsplit=4)
    if len(fields) < 5 or fields[0] != b"P6" or fields[3] != b"255":
        raise PreviewError("a cached thumbnail is damaged")
    width, height, raw = int(fields[1]), int(fields[2]), fields[4]
    if len(raw) < width * height * 3 or not (width and height):
        raise PreviewError("a cached thumbnail is damaged")
    columns = max(1, min(columns, width))
    rows = max(1, min(max_rows, round(height * columns / width / 2)))
    if rows == max_rows:
        columns = max(1, min(columns, round(width * rows * 2 / height)))

    def mean(x: int, y: int) -> RGB:
        x0, x1 = x * width // columns, max(x * width // columns + 1, (x + 1) * width // columns)
        y0, y1 = y * height // (rows * 2), (y + 1) * height // (rows * 2)
        y1 = max(y0 + 1, y1)
        total = [0, 0, 0]
        for sy in range(y0, y1):
            start = (sy * width + x0) * 3
            for i in range(start, start + (x1 - x0) * 3, 3):
                total[0] += raw[i]
                total[1] += raw[i + 1]
                total[2] += raw[i + 2]
        n = (x1 - x0) * (y1 - y0)
        return (total[0] // n, total[1] // n, total[2] // n)

    return Picture(
        tuple(
            tuple((mean(x, 2 * y), mean(x, 2 * y + 1)) for x in range(columns)) for y in range(rows)
        )
    )


def _store(image: Image, path: Path, kind: str = "PNG") -> None:
    fd, tmp = tempfile.mkstemp(prefix=".frame-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            image.save(handle, format=kind)
        os.replace(tmp, path)  # whole or not at all, for a reader in another process
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def take_frames(
    video: Path, spots: tuple[float, ...] = SPOTS, *, threads: bool = True
) -> list[Image]:
    """One frame at each of `spots`, scaled to STORED_WIDTH (PIL images); `threads`: the
    decoder's own threads too."""
    import av

    try:
        with av.open(str(video)) as container:
            if not container.streams.video:
                raise NoFrames("the file holds no video frames")
            stream = container.streams.video[0]
            if threads:
                stream.thread_type = "AUTO"
            length = _length(container, stream)
            images = []
            for spot in spots:
                target = spot * length
                container.seek(
                    int(target / stream.time_base) if stream.time_base else 0,
                    stream=stream,
                    backward=True,
                    any_frame=False,
                )
                frame = None
                for frame in container.decode(stream):
                    if frame.time is None or frame.time >= target:
                        break
                if frame is None:
                    raise NoFrames("no frame could be decoded")
                images.append(_scaled(frame.to_image()))  # type: ignore[no-untyped-call]
            return images
    except PreviewError:
        raise
    except (av.error.FFmpegError, IndexError, OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise PreviewError(f"the file does not decode as a video ({reason[:80]})") from None


def _length(container: Any, stream: Any) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000
    return 0.0


def _scaled(image: Image) -> Image:
    image = image.convert("RGB")
    if image.width > STORED_WIDTH:
        height = max(2, round(image.height * STORED_WIDTH / image.width))
        image = image.resize((STORED_WIDTH, height))
    return image


def picture(frame: Path, columns: int, max_rows: int) -> Picture:
    """The frame at `frame` in at most `columns` x `max_rows` half-block cells, its shape
    kept (a terminal cell is about twice as tall as wide: two pixels per cell)."""
    from PIL import Image

    with Image.open(frame) as opened:
        image = opened.convert("RGB")
    columns = max(1, columns)
    rows = max(1, min(max_rows, round(image.height * columns / image.width / 2)))
    if rows == max_rows:  # too tall for the room: narrower, same shape
        columns = max(1, min(columns, round(image.width * rows * 2 / image.height)))
    small = image.resize((columns, rows * 2))
    raw = small.tobytes()  # RGB, row after row
    pixels: list[RGB] = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    return Picture(
        tuple(
            tuple(
                (pixels[2 * y * columns + x], pixels[(2 * y + 1) * columns + x])
                for x in range(columns)
            )
            for y in range(rows)
        )
    )
