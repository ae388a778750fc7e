"""Toasts while a dialog is up (the `n` form, `a`, `l`, the confirmation, ctrl+p).

A toast must never cover the field being typed in. As lazygit does, a message that comes
while a popup is open is one short line in the screen's margin, not a box over the popup:
app.tcss docks the dialog's toast to the top row, `one_line` folds its title and lines
into that line, and the newest replaces the one before. What a dialog itself has to say
(a refused id, a form's problem) goes in its own message line, not in a toast.
"""

from __future__ import annotations

from typing import Any

from textual.app import App, ScreenStackError
from textual.screen import ModalScreen


def over_dialog(app: App[Any]) -> bool:
    """A dialog (a modal screen) is on top: toasts go in the margin, one line."""
    try:
        return isinstance(app.screen, ModalScreen)
    except ScreenStackError:  # not started, or ending
        return False


def one_line(title: str, message: str) -> str:
    """ "Video ready: …o3_1774836712 completed": title and lines as one line."""
    text = " · ".join(line.strip() for line in message.splitlines() if line.strip())
    return f"{title}: {text}" if title else text
