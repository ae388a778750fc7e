"""Checkers for the fields of a stored record, `(name, value) -> value`.

The watchlist file is untrusted (hand edits, other versions): a wrong type is refused where
the file is read (TypeError/ValueError), not met later as a crash in `list` or the TUI.
"""

from __future__ import annotations

import sys
from typing import Any

from starvideos_tui.core.values import finite_number

MAX_RATING = 5  # stars: 1 to 5, 0 for none


def text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name!r} is not a text")
    return value


def whole(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name!r} is not a whole number")
    return value


def number(name: str, value: Any) -> float:
    return finite_number(value, repr(name))


def opt_text(name: str, value: Any) -> str | None:
    return None if value is None else text(name, value)


def opt_whole(name: str, value: Any) -> int | None:
    return None if value is None else whole(name, value)


def opt_number(name: str, value: Any) -> float | None:
    return None if value is None else number(name, value)


def opt_object(name: str, value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{name!r} is not an object")
    return value


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name!r} is not true or false")
    return value


def rating(name: str, value: Any) -> int:
    stars = whole(name, value)
    if not 0 <= stars <= MAX_RATING:
        raise ValueError(f"{name!r} is not a rating from 0 to {MAX_RATING}")
    return stars


def history(name: str, value: Any) -> tuple[tuple[str, float], ...]:
    if type(value) is list and all(
        type(item) is list and len(item) == 2 and type(item[0]) is str and type(item[1]) is float
        for item in value
    ):  # as the watchlist stores it: [[word, time], ...]; finite if their sum is
        total = sum(item[1] for item in value)
        if total - total == 0:
            return tuple([(sys.intern(word), at) for word, at in value])
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name!r} is not a list")
    pairs = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise TypeError(f"{name!r} has an item that is not a [status, time] pair")
        # One string per status word, not one per record: 50,000 histories share four.
        pairs.append((sys.intern(text(name, item[0])), number(name, item[1])))
    return tuple(pairs)


# Types taken without a checker call (None aside): most fields of most records, so that
# reading 50,000 records costs little more than parsing them. A float must still be finite;
# an int where a number is stored goes through its checker (a huge one is no time).
PLAIN: dict[str, tuple[type, ...]] = {
    name: kinds
    for name, kinds in (
        ("status", (str,)),
        ("created", (int,)),
        ("model", (str,)),
        ("video_url", (str,)),
        ("video_url_at", (float,)),
        ("actual_duration", (float,)),
        ("error", (str,)),
        ("prompt", (str,)),
        ("label", (str,)),
        ("added_at", (float,)),
        ("checked_at", (float,)),
        ("updated_at", (float,)),
        ("local_path", (str,)),
        ("size", (int,)),
        ("sha256", (str,)),
        ("download_error", (str,)),
        ("link_expires_at", (float,)),
        ("rejected", (bool,)),
        ("archived", (bool,)),
        ("archived_at", (float,)),
        ("params", (dict,)),  # what opt_object takes: its keys and values are never checked
        ("media", (dict,)),
    )
}
