"""Is this file the video? Decoding a finished download before it is called saved.

HTTP cannot tell a whole body from a cut one when the host sends no length, and a host
may answer 200 with a login page, a JSON error or an empty body. So every download is
checked here by decoding it (PyAV, which ships FFmpeg in its wheels):

- the first bytes are sniffed, so a page or a document is named for what it is;
- for the MP4/MOV family the top-level boxes must end exactly at the end of the file;
- the container must open with a video stream, its first frame must decode, and the
  packets near the end must all be there (FFmpeg marks a packet cut short as corrupt);
- the length found must match what the API reported, within a second.

Only the head and the tail of the file are read, so a big video is checked in
milliseconds. `check_video` returns the facts that go into the watchlist as `media`.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from starvideos_tui.core.mediafacts import MediaFacts, human_size

DURATION_TOLERANCE = 1.0  # seconds: docs/contract.md's "within a second"
_HEAD = 4096
_TAIL_SECONDS = 2.0  # how much of the end is read packet by packet


class NotAVideo(Exception):
    """The file is not the whole video. `arrived` says what it is, for the row and the CLI
    ("an HTML page, 1.3 kB", "a cut video: 1.5 of 3 s"); `cut` is true when more bytes of
    the same file could make it whole (a resume may help)."""

    def __init__(self, arrived: str, *, cut: bool = False) -> None:
        super().__init__(arrived)
        self.arrived = arrived
        self.cut = cut


_IMAGES = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image"}


def describe_bytes(head: bytes, size: int) -> str | None:
    """What a body that is plainly not a video is, from its first bytes; None when it may
    be a video (a container FFmpeg must judge)."""
    if size == 0:
        return "an empty body"
    sized = human_size(size)
    if head[:2] == b"\x1f\x8b":
        return f"a gzip-compressed body, {sized}"
    for magic, what in _IMAGES.items():
        if head.startswith(magic):
            return f"{what}, {sized}"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in text[:512]:
        return f"an HTML page, {sized}"
    if not _is_text(head):  # binary that merely starts with "<" or "{" is no document
        return None
    if text.startswith(b"<"):
        return f"an XML document, {sized}"
    if text.startswith((b"{", b"[")):
        return f"a JSON document, {sized}"
    return f"a text page, {sized}"


def _is_text(head: bytes) -> bool:
    try:
        decoded = head.decode("utf-8")
    except UnicodeDecodeError:
        # A cut in the middle of a multi-byte character at the end of the head.
        try:
            decoded = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    return all(c.isprintable() or c in "\t\r\n" for c in decoded)


def _is_iso_media(head: bytes) -> bool:
    return len(head) >= 12 and head[4:8] in (b"ftyp", b"styp", b"moov", b"mdat", b"free", b"wide")


def _iso_box_problem(fd: int, size: int) -> str | None:
    """Where the top-level boxes of an MP4/MOV file do not end at its end, say so."""
    offset = 0
    kinds: set[bytes] = set()
    while offset < size:
        header = os.pread(fd, 16, offset)
        if len(header) < 8:
            return f"it ends inside a box header at {human_size(offset)}"
        box_size, kind = struct.unpack(">I4s", header[:8])
        if box_size == 1 and len(header) >= 16:
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # "to the end of the file"
            return None if b"moov" in kinds or kind == b"moov" else "its index is missing"
        kinds.add(kind)
        if box_size < 8:
            return "a box has an impossible size"
        if offset + box_size > size:
            need = offset + box_size
            have, whole = human_size(size), human_size(need)
            if have == whole:
                have, whole = f"{size:,} bytes", f"{need:,}"
            # The index may come after the media data: then the media data's end is only
            # the least the file needs.
            return f"{have} of {'at least ' if kind != b'moov' else ''}{whole}"
        offset += box_size
    return None if b"moov" in kinds or b"moof" in kinds else "its index (the 'moov' box) is missing"


def check_video(path: Path | str, expected_duration: float | None = None) -> MediaFacts:
    """The facts of the video at `path`, or NotAVideo saying what the file is instead."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    try:
        size = os.fstat(fd).st_size
        head = os.pread(fd, _HEAD, 0)
        if (what := describe_bytes(head, size)) is not None:
            raise NotAVideo(what)
        if _is_iso_media(head) and (problem := _iso_box_problem(fd, size)) is not None:
            shown = _expected(expected_duration)
            raise NotAVideo(f"a cut video: {problem}{shown}", cut=True)
    finally:
        os.close(fd)
    facts = _decode(str(path), size)
    if expected_duration is not None and abs(facts.duration - expected_duration) > (
        DURATION_TOLERANCE
    ):
        # Whole by its own structure (a cut file fails above), but not the length the API
        # reported: another video, or a bad one at the source.
        raise NotAVideo(
            f"a video of {facts.duration:.1f} s where the API reported {expected_duration:g} s"
        )
    return facts


def _expected(duration: float | None) -> str:
    return f"; the API reported {duration:g} s" if duration is not None else ""


def _decode(path: str, size: int) -> MediaFacts:
    import av

    av.logging.set_level(None)  # FFmpeg would print to our stderr, over the TUI
    try:
        container = av.open(path, metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise NotAVideo(
            f"{human_size(size)} that no video decoder reads ({_reason(exc)})"
        ) from None
    with container:
        if not container.streams.video:
            raise NotAVideo(
                f"a file with no video stream ({container.format.name}, {human_size(size)})"
            )
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except (av.FFmpegError, ValueError) as exc:
            raise NotAVideo(f"a video whose first frame does not decode ({_reason(exc)})") from None
        if first is None:
            raise NotAVideo("a video with no frames")
        end = _end_of_packets(container, stream)
        rate = stream.average_rate
        return MediaFacts(
            container=container.format.name.split(",")[0],
            codec=stream.codec_context.name,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=round(float(rate), 3) if rate else None,
            duration=round(end, 3),
        )


def _end_of_packets(container: Any, stream: Any) -> float:
    """Seconds up to the end of the last whole packet, reading only the last seconds.

    A packet whose bytes the file does not hold comes back marked corrupt (or not at all,
    when the demuxer stops early): either way the video is cut where its packets stop.
    """
    import av

    base = stream.time_base
    declared = container.duration / 1e6 if container.duration else None
    start = float(stream.start_time * base) if stream.start_time is not None else 0.0
    if declared is not None and declared > _TAIL_SECONDS:
        try:
            container.seek(int((declared - _TAIL_SECONDS) * 1e6), backward=True)
        except av.FFmpegError:
            container.seek(0)
    end = None
    try:
        for packet in container.demux(stream):
            if packet.size == 0 and packet.pts is None:
                continue  # the flush packet at the end
            if packet.is_corrupt:
                break
            if packet.pts is not None:
                stop = (packet.pts + (packet.duration or 0)) * base
                end = float(stop) if end is None else max(end, float(stop))
    except (av.FFmpegError, OSError):
        pass
    if end is None:
        raise NotAVideo("a cut video: its last packets are missing", cut=True)
    length = end - start
    if declared is not None and length < declared - DURATION_TOLERANCE:
        raise NotAVideo(f"a cut video: {length:.1f} of {declared:.1f} s", cut=True)
    return length


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(":")[0][:60]
