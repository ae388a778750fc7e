"""The simulator's stand-in for the CDN: one small real MP4, served with HEAD and byte ranges."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.utils import formatdate
from functools import cache
from importlib import resources

from .wire import Answer

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")
# A fixed date: the sample never changes, and a stable validator is what a CDN would send.
_LAST_MODIFIED = formatdate(1_767_225_600, usegmt=True)


@dataclass(frozen=True)
class SampleVideo:
    data: bytes
    etag: str


@cache
def sample_video() -> SampleVideo:
    package = resources.files(__package__ or "starvideos_tui.simulator")
    data = package.joinpath("sample.mp4").read_bytes()
    return SampleVideo(data, f'"{hashlib.sha256(data).hexdigest()[:32]}"')


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


def video_answer(headers: dict[str, str]) -> Answer:
    video = sample_video()
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
