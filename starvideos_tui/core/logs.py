"""The rotating log file in the user state dir: polls, errors and downloads, so a user can
tell what happened overnight. Signed-URL query strings and bearer keys never reach it, and
neither does a control character: `tail -f` of the file must not run a server's escape
sequences (clear screen, OSC 52), so every record is written as one line with them
escaped as on screen (a traceback's newlines as `\\n`)."""

from __future__ import annotations

import logging
import logging.handlers
import re

from starvideos_tui.core import localfile, paths
from starvideos_tui.core.textsafe import one_line

_QUERY = re.compile(r"(https?://[^\s?#]+)\?[^\s#]*")
_BEARER = re.compile(r"(?i)bearer\s+\S+")


class RedactingFormatter(logging.Formatter):
    """The whole formatted record (message, arguments and traceback alike) redacted, then
    made one line of visible text: no call site can forget either."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        text = _QUERY.sub(r"\1?…", text)
        return one_line(_BEARER.sub("Bearer ***", text))


def setup_logging(level: str = "info") -> None:
    """Log to the rotating file; silently skip if the state dir cannot be written."""
    root = logging.getLogger("starvideos_tui")
    root.setLevel(level.upper())
    if any(getattr(h, "_starvideos", False) for h in root.handlers):
        return
    try:
        path = paths.log_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        localfile.check_regular(path)  # opening a FIFO to append would wait for a reader
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"
        )
    except (OSError, paths.NoHome):
        # No log file then; and no log lines on stderr either, over the CLI's one-line
        # errors or the TUI's screen.
        root.addHandler(logging.NullHandler())
        root.propagate = False
        return
    handler._starvideos = True  # type: ignore[attr-defined]
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.propagate = False
