"""Equal values of the records held in memory made one object each (TaskRecord.from_doc):
a year of history holds 50,000 records whose media facts and times are mostly the same."""

from __future__ import annotations

from typing import Any

# The media facts of saved videos, one dict for each that is the same: the videos of a year
# are mostly the same container, codec, size, rate and length (half a kilobyte each).
# Nothing changes a record's media in place (a record is replaced whole).
_MEDIA: dict[tuple[tuple[Any, ...], ...], dict[str, Any]] = {}


def shared_media(media: dict[str, Any]) -> dict[str, Any]:
    try:
        # Keyed by the types too: 1920 and 1920.0 are equal, and must stay what they were.
        key = (tuple(media), tuple(map(type, media.values())), tuple(media.values()))
        return _MEDIA.setdefault(key, media) if len(_MEDIA) < 4096 else _MEDIA.get(key, media)
    except TypeError:  # a value that is not hashable (a list): kept as it is
        return media


# Labels and API errors, one string for each that is the same: a user's few labels, and
# the API's errors of a kind, repeated over thousands of tasks (strings never change).
_TEXTS: dict[str, str] = {}


def shared_text(text: str) -> str:
    return _TEXTS.setdefault(text, text) if len(_TEXTS) < 4096 else _TEXTS.get(text, text)


def shared_times(
    history: tuple[tuple[str, float], ...], *times: Any
) -> tuple[tuple[str, float], ...]:
    """`history` with each time equal to one of `times` made that very float (24 bytes
    and a pair's worth each, 100,000 times in a year); the same tuple when none is."""
    same = {at: at for at in times if type(at) is float}
    if not any(same.get(at, at) is not at for _, at in history):
        return history
    return tuple([(word, same.get(at, at)) for word, at in history])
