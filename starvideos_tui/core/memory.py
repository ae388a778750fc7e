"""Memory given back to the system after a large, short-lived allocation."""

from __future__ import annotations

import ctypes
from typing import Any

_TRIM: Any = None


def give_back() -> None:
    """glibc keeps what a large parse freed (in the malloc arena of the thread that made
    it) for later use; `malloc_trim` returns the free pages to the system (elsewhere than
    glibc: nothing to do)."""
    global _TRIM
    if _TRIM is None:
        try:
            _TRIM = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if _TRIM:
        _TRIM(0)
