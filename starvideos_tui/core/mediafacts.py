"""What a saved video turned out to be, as decoded (the watchlist's `media`), and the
size words every face uses for files. Plain data: the decoding is video/media.py's."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class MediaFacts:
    """What a saved file turned out to be, as decoded."""

    container: str
    codec: str
    width: int
    height: int
    fps: float | None
    duration: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Any) -> MediaFacts | None:
        """The facts stored in a watchlist (untrusted), or None when they are not usable."""
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                container=str(value["container"]),
                codec=str(value["codec"]),
                width=int(value["width"]),
                height=int(value["height"]),
                fps=float(value["fps"]) if value.get("fps") is not None else None,
                duration=float(value["duration"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def human_size(size: int) -> str:
    """1.3 kB, 18 MB: decimal units, as a download's size is usually quoted."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    for unit in ("kB", "MB", "GB"):
        size_f = size / 1000
        if size_f < 1000 or unit == "GB":
            return f"{size_f:.1f} {unit}" if size_f < 100 else f"{size_f:.0f} {unit}"
        size = int(size_f)
    raise AssertionError("unreachable")
