"""Pictures inside tmux: its passthrough, whether it is on, and where the pane is.

tmux keeps its own copy of each pane's screen, text only (3.3 has no Sixel of its own), so
a picture reaches the terminal outside only through passthrough: a DCS `ESC P tmux; ...
ESC \\` with every ESC inside doubled, which tmux hands on unchanged when the user has
`set -g allow-passthrough on` (tmux 3.3 and later; earlier ones always did). The picture
then draws at the *outer* terminal's cursor, which tmux moves as it likes, so each one is
sent with its own cursor moves, in the outer terminal's coordinates (the pane's origin
added), between a save and a restore of the cursor. tmux does not know such a picture
exists: it paints over it when it redraws the pane (a window switch, a resize, an
attach), and the app draws it again then (on focus-in and on resize). kitty's Unicode
placeholders (placeholders.py) avoid all this, where the kitty is new enough.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

ESC, ST = "\x1b", "\x1b\\"
SAVE_CURSOR, RESTORE_CURSOR = f"{ESC}7", f"{ESC}8"
ASK_TIMEOUT = 1.0  # seconds a `tmux` command may take before it is not believed

HINT_PASSTHROUGH = (
    "pictures inside tmux: add `set -g allow-passthrough on` to ~/.tmux.conf "
    "(then `tmux source ~/.tmux.conf`) and restart; half-blocks meanwhile"
)
HINT_OLD_KITTY = (
    "pictures inside tmux need kitty 0.28 or later (Unicode placeholders); half-blocks meanwhile"
)


def inside(env: Mapping[str, str]) -> bool:
    """Is this process in a tmux pane?"""
    return bool(env.get("TMUX"))


def passthrough(seq: str) -> str:
    """`seq` wrapped for tmux to hand to the terminal outside it: each ESC doubled."""
    return f"{ESC}Ptmux;{seq.replace(ESC, ESC + ESC)}{ST}"


def _tmux(env: Mapping[str, str], *args: str) -> str | None:
    """What `tmux args...` prints (about the pane this process is in), or None."""
    command = ["tmux", *args]
    pane = env.get("TMUX_PANE")
    if pane and args and args[0] == "display":
        command[2:2] = ["-t", pane]
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=ASK_TIMEOUT,
            check=False,
            env=dict(env),  # the tmux this environment names
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def passthrough_on(env: Mapping[str, str]) -> bool:
    """Does the tmux this pane is in hand passthrough on (`allow-passthrough` on or all)?"""
    said = _tmux(env, "display", "-p", "#{allow-passthrough}")
    return said in ("1", "on", "all")


@dataclass
class Pane:
    """Where the pane's top-left cell is on the outer terminal (0-based), as tmux says;
    `update` asks again (after a resize or a layout change)."""

    env: Mapping[str, str]
    top: int = 0
    left: int = 0
    seen: bool = True  # the pane is on a terminal now (its window active, a client attached)

    def update(self) -> bool:
        """Ask tmux again; True when the pane has just come back into sight (a switch back
        to its window, an attach): tmux repainted it, and pictures sent past it are gone."""
        asked = "#{pane_top} #{pane_left} #{status} #{status-position} "
        asked += "#{window_active} #{session_attached}"
        said = _tmux(self.env, "display", "-p", asked)
        if not said:
            return False
        with contextlib.suppress(ValueError):
            top, left, status, where, active, attached = [*said.split(), "", "", ""][:6]
            seen = active == "1" and attached not in ("", "0")
            back, self.seen = seen and not self.seen, seen
            lines = int(status) if status.isdigit() else (1 if status == "on" else 0)
            self.top = int(top) + (lines if where == "top" else 0)
            self.left = int(left)
            return back
        return False

    def wrap(self, x: int, y: int, picture: str) -> str:
        """`picture` (an escape drawing at the cursor) drawn at the pane's cell (x, y),
        through passthrough, the outer cursor saved and restored around it."""
        move = f"{ESC}[{self.top + y + 1};{self.left + x + 1}H"
        return passthrough(SAVE_CURSOR + move + picture + RESTORE_CURSOR)
