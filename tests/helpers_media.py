"""Real videos for the download tests, of any size: a video only counts as saved when it
decodes, so the bytes the test hosts serve must be videos."""

from __future__ import annotations

import struct

from starvideos_tui.simulator.video import sample_video


def free_box(size: int) -> bytes:
    """A top-level MP4 `free` box of exactly `size` bytes (players skip it)."""
    assert size >= 8
    pattern = bytes(range(251)) * (size // 251 + 1)  # not all zeros: a hole would show
    return struct.pack(">I4s", size, b"free") + pattern[: size - 8]


def padded_video(size: int, duration: int = 3) -> bytes:
    """The simulator's video of `duration` seconds, padded to `size` bytes."""
    video = sample_video(duration).data
    return video + free_box(size - len(video))
