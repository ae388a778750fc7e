"""Escapes written straight to the user's terminal, past Textual's screen: desktop
notifications (notify.py) and a kitty picture's data (terminal_picture.py).

Textual has no public way to write to the terminal; its driver's `write` is the way, and
this is the one place that reaches for it."""

from __future__ import annotations

from typing import Any

from textual.app import App


def to_terminal(app: App[Any], text: str) -> bool:
    """Write `text` to `app`'s terminal now; False when there is none to write to (not yet
    started, or headless, as under tests), so nothing was written."""
    driver = app._driver
    if not text or driver is None or app.is_headless:
        return False
    driver.write(text)
    driver.flush()
    return True
