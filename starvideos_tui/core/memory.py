"""Memory given back to the system after a large, short-lived allocation."""

from __future__ import annotations

import ctypes
import gc
from typing import Any

_TRIM: Any = None


def give_back(collect: bool = False) -> None:
    """glibc keeps what a large parse freed (in the malloc arena of the thread that made
    it) for later use; `malloc_trim` returns the free pages to the system (elsewhere than
    glibc: nothing to do). `collect`: first free what only cycles still hold (the futures
    and events that carried a large write), a full collection (tens of ms at 50k tasks):
    for a command's one-off, never a face's frame."""
    global _TRIM
    if collect:
        gc.collect()
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)
