"""How big a video may be: the most bytes one download takes, whatever the host says.

A host that sends no length and never ends (or a compressed body that expands without
end) would otherwise fill the disk. The API makes clips of 3 to 15 seconds: even 4K at
100 Mbit/s for 15 s is under 200 MB, so the default of 4 GiB is some twenty times the
largest video it can make, and eight times the 512 MiB of the download benchmark.

`STARVIDEOS_MAX_VIDEO_BYTES` raises or lowers it: a number of bytes, with an optional
binary unit (`8G`, `512MiB`, `100000`). Like the proxy variables it is read from the
environment where it is used, and checked with them before any command sends anything
(settings.check_network_settings).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

MAX_VIDEO_ENV = "STARVIDEOS_MAX_VIDEO_BYTES"
DEFAULT_MAX_VIDEO_BYTES = 4 << 30
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"(\d{1,20})\s*([kmgt]?)(?:i?b)?", re.IGNORECASE | re.ASCII)


def max_video_bytes(env: Mapping[str, str] | None = None) -> int:
    """The most bytes a video may have; ValueError saying what is wrong with the setting."""
    env = os.environ if env is None else env
    text = env.get(MAX_VIDEO_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_VIDEO_BYTES
    match = _SIZE.fullmatch(text)
    size = int(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0
    if not size:
        raise ValueError(
            f"{MAX_VIDEO_ENV} must be a number of bytes above 0, with an optional unit "
            f"(8G, 512M, 100000), got {text[:40]!r}"
        )
    return size


def shown(size: int) -> str:
    """The limit as a user would write it: 4 GiB, 512 MiB, 100,000 bytes."""
    for unit, name in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit:,} {name}"
    return f"{size:,} bytes"


def how_to_raise(limit: int) -> str:
    return f"set {MAX_VIDEO_ENV} to allow more than {shown(limit)}"


def too_big(limit: int, announced: str | None = None) -> str:
    """Why a body was refused: the host announced `announced` (a size, in words), or sent
    more than `limit` bytes, which were discarded."""
    most, hint = f"{shown(limit)}, the most taken for one video", how_to_raise(limit)
    if announced is not None:
        return f"the video host says the video is {announced}, more than {most}; {hint}"
    return f"the video host sent more than {most}; what arrived was discarded ({hint})"
