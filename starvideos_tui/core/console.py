"""The program's name and its one-line messages on stderr, for both faces."""

from __future__ import annotations

import sys

from starvideos_tui.core.textsafe import clean

PROG = "starvideos-tui"


def say(text: str) -> None:
    """One line on stderr, prefixed with the program's name, control characters escaped."""
    print(f"{PROG}: {clean(text)}", file=sys.stderr)
