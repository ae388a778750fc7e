"""The simulator's stand-in for the CDN: real MP4s of each task's length, served with HEAD
and byte ranges.

The videos are made here with PyAV (the same library that checks downloads), once per
length and cached: a landscape scene whose colours and moving sun change over time, so a
frame from the start and one from the end look different, as a filmstrip should show.
"""

from __future__ import annotations

import colorsys
import hashlib
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING

from .wire import Answer

if TYPE_CHECKING:
    from PIL import Image

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
# A fixed date: the samples never change, and a stable validator is what a CDN would send.
_LAST_MODIFIED = formatdate(1_767_225_600, usegmt=True)
WIDTH, HEIGHT, FPS = 320, 180, 12


@dataclass(frozen=True)
class SampleVideo:
    data: bytes
    etag: str
    duration: int


_made: dict[int, SampleVideo] = {}
_making = threading.Lock()


def sample_video(duration: int = 3) -> SampleVideo:
    """The video of a task `duration` seconds long (made on first use, then cached)."""
    with _making:
        video = _made.get(duration)
        if video is None:
            data = _encode(duration)
            etag = f'"{hashlib.sha256(data).hexdigest()[:32]}"'
            video = _made[duration] = SampleVideo(data, etag, duration)
        return video


def _frame(index: int, frames: int) -> Image.Image:
    from PIL import Image, ImageDraw

    progress = index / max(1, frames - 1)
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    hue = 0.55 - 0.5 * progress  # from a blue morning to an orange evening
    for y in range(0, HEIGHT * 2 // 3, 4):
        r, g, b = colorsys.hsv_to_rgb(hue, 0.5 + 0.4 * y / HEIGHT, 1.0 - 0.3 * y / HEIGHT)
        draw.rectangle([0, y, WIDTH, y + 4], fill=(int(r * 255), int(g * 255), int(b * 255)))
    sun_x = int(20 + progress * (WIDTH - 60))
    sun_y = int(70 - 40 * (1 - (2 * progress - 1) ** 2))
    draw.ellipse([sun_x, sun_y, sun_x + 30, sun_y + 30], fill=(255, 220, 60))
    draw.rectangle([0, HEIGHT * 2 // 3, WIDTH, HEIGHT], fill=(40, 120 - int(60 * progress), 50))
    draw.polygon([(0, 120), (70, 70), (140, 120)], fill=(90 - int(50 * progress), 90, 110))
    draw.rectangle([0, HEIGHT - 6, int(WIDTH * progress), HEIGHT], fill=(240, 240, 240))
    return image


def _encode(duration: int) -> bytes:

    frames = duration * FPS
    # A file, not memory: moving the index to the front (as CDNs serve videos) rewrites it.
    with tempfile.TemporaryDirectory(prefix="starvideos-sim-") as folder:
        path = os.path.join(folder, "video.mp4")
        _write(path, frames)
        with open(path, "rb") as handle:
            return handle.read()


def _write(path: str, frames: int) -> None:
    import av

    with av.open(
        path, "w", format="mp4", options={"movflags": "+faststart", "fflags": "+bitexact"}
    ) as container:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        # One thread and fixed settings: the same bytes on every run, so the ETag holds.
        stream.options = {"preset": "veryfast", "crf": "32", "threads": "1"}
        stream.codec_context.thread_count = 1
        for index in range(frames):
            frame = av.VideoFrame.from_image(_frame(index, frames))  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


class Unsatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte range asked for, or None to send the whole file.

    Multi-range and malformed headers are ignored (RFC 9110 lets a server do that); a
    range that lies wholly beyond the end raises Unsatisfiable.
    """
    match = _RANGE_RE.fullmatch(header.strip().replace(" ", ""))
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable
    return start, min(int(last), size - 1) if last else size - 1


def video_answer(headers: dict[str, str], duration: int = 3) -> Answer:
    video = sample_video(duration)
    size = len(video.data)
    common = [
        ("Content-Type", "video/mp4"),
        ("Accept-Ranges", "bytes"),
        ("ETag", video.etag),
        ("Last-Modified", _LAST_MODIFIED),
    ]
    range_header = headers.get("range")
    if_range = headers.get("if-range")
    # A resumed download of a changed file must restart from zero, not splice two files.
    if range_header is None or (if_range is not None and if_range != video.etag):
        return Answer(200, video.data, common)
    try:
        byte_range = parse_range(range_header, size)
    except Unsatisfiable:
        return Answer(
            416,
            b"",
            [("Content-Range", f"bytes */{size}"), ("Accept-Ranges", "bytes")],
        )
    if byte_range is None:
        return Answer(200, video.data, common)
    start, end = byte_range
    return Answer(
        206,
        video.data[start : end + 1],
        [*common, ("Content-Range", f"bytes {start}-{end}/{size}")],
    )


def denied_answer() -> Answer:
    # What an object store says about a dead signed link: XML, not the API's JSON.
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Request has expired or the signature is invalid.</Message></Error>"
    )
    return Answer(403, body, [("Content-Type", "application/xml")])
