"""Desktop notifications by terminal escape: they travel wherever the terminal's bytes do,
over SSH and out of tmux, to the machine the user sits at.

- `osc777`: `ESC ] 777 ; notify ; TITLE ; BODY ST` (VTE terminals, foot, Ghostty, urxvt)
- `osc9`: `ESC ] 9 ; TEXT ST` (iTerm2, WezTerm, Windows Terminal, ConEmu, Ghostty)
- `osc99`: kitty's `ESC ] 99 ; i=ID:d=0 ; TITLE ST` then `ESC ] 99 ; i=ID:d=1:p=body ; BODY ST`
- `bell`: BEL, which tmux and most terminals turn into an alert of their own

`auto` picks from what the terminal tells (KITTY_WINDOW_ID, TERM, TERM_PROGRAM, VTE_VERSION,
WT_SESSION; inside tmux these are what the client's terminal set when tmux started), else
the bell. Inside tmux (`$TMUX`) an escape is wrapped in tmux's passthrough, which tmux
forwards only with `set -g allow-passthrough on`. Untrusted text (ids, errors) is put in
without control characters, so it can never end the sequence early or start another.

The TUI writes the escapes through its driver; a headless command (watch, wait) writes them
to its controlling terminal (`Terminal`): stderr when it is one, else /dev/tty, else
nowhere, so a pipe, a log file or a cron job's mail never gets them.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Mapping
from typing import TextIO

from starvideos_tui.core.errors import UsageError
from starvideos_tui.terminal.tmux import passthrough

MODES = ("auto", "osc777", "osc9", "osc99", "bell", "off")
ESC, ST, BEL = "\x1b", "\x1b\\", "\x07"
MAX_TEXT = 200  # characters of a title or body: a notification, not a log
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in MODES:
        raise UsageError(f"--notify must be one of {', '.join(MODES)}, got {text!r}")
    return mode


def choose(mode: str, env: Mapping[str, str]) -> str:
    """The way to notify in this terminal: `mode`, or for auto what the terminal tells."""
    if mode != "auto":
        return mode
    term = env.get("TERM", "")
    program = env.get("TERM_PROGRAM", "")
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty":
        return "osc99"
    if program in ("iTerm.app", "WezTerm") or env.get("WT_SESSION") or env.get("ConEmuPID"):
        return "osc9"
    if env.get("VTE_VERSION") or program == "ghostty" or term.startswith(("foot", "rxvt")):
        return "osc777"
    return "bell"


def plain(text: str, limit: int = MAX_TEXT) -> str:
    """`text` safe inside an escape: control characters (ESC, BEL, C1's ST…) made spaces,
    and cut to `limit` characters."""
    return " ".join(_CONTROL.sub(" ", text).split())[:limit]


def sequence(way: str, title: str, body: str, *, tmux: bool, ident: int = 1) -> str:
    """The bytes that make the terminal show `title` and `body` (empty for off)."""
    title, body = plain(title), plain(body)
    if way == "osc777":
        seq = f"{ESC}]777;notify;{title.replace(';', ',')};{body}{ST}"
    elif way == "osc9":
        # "9;4;…" is a progress report to Windows Terminal and ConEmu: never start so.
        seq = f"{ESC}]9;{title}: {body}{ST}"
    elif way == "osc99":
        seq = f"{ESC}]99;i={ident}:d=0;{title}{ST}{ESC}]99;i={ident}:d=1:p=body;{body}{ST}"
    elif way == "bell":
        return BEL  # tmux turns a bell into its own alert: never wrapped
    else:
        return ""
    return passthrough(seq) if tmux else seq


class Terminal:
    """The controlling terminal of a headless command, for its escapes: `stream` (stderr)
    when it is a terminal, else /dev/tty when it opens (stderr sent to a file from an
    interactive shell), else none: nothing is written (a cron job, a service, a pipe)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.fd: int | None = None
        self._owned = False
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if self.stream.isatty():
                self.fd = self.stream.fileno()
                return
        with contextlib.suppress(OSError):  # ENXIO: no controlling terminal
            self.fd = os.open("/dev/tty", os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
            self._owned = True

    def write(self, text: str) -> None:
        if self.fd is None or not text:
            return
        data = text.encode("utf-8", "replace")  # a lone surrogate in an error: "?"
        with contextlib.suppress(OSError, ValueError):  # the terminal went away: no matter
            if not self._owned:
                self.stream.flush()  # after what the stream holds, not inside it
            while data:
                data = data[os.write(self.fd, data) :]

    def close(self) -> None:
        if self._owned and self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd = None


class Notifier:
    """Turns the notes of a burst (core/burst.py gathers them) into one notification's
    escape: the note itself for a lone one, else one that counts them ("3 videos ready,
    1 failed")."""

    def __init__(self, way: str, *, tmux: bool) -> None:
        self.way = way
        self.tmux = tmux
        self._ident = 0

    @property
    def on(self) -> bool:
        return self.way != "off"

    def escape(self, notes: list[tuple[str, str]]) -> str:
        """The bytes to write for these (kind, text) notes; empty for none, or when off."""
        if not notes or not self.on:
            return ""
        if len(notes) == 1:
            title, body = _TITLES.get(notes[0][0], "starvideos-tui"), notes[0][1]
        else:
            counts: dict[str, int] = {}
            for kind, _ in notes:
                counts[kind] = counts.get(kind, 0) + 1
            title = "starvideos-tui"
            body = ", ".join(_counted(kind, n) for kind, n in counts.items())
        self._ident += 1
        return sequence(self.way, title, body, tmux=self.tmux, ident=self._ident)


_TITLES = {"completed": "Video ready", "failed": "Task failed", "expiring": "Link expiring"}


def _counted(kind: str, n: int) -> str:
    if kind == "completed":
        return f"{n} video{'s' if n != 1 else ''} ready"
    if kind == "failed":
        return f"{n} failed"
    return f"{n} link{'s' if n != 1 else ''} expiring"
