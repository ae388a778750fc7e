"""Make untrusted text (from the API, a server or a file) safe to print or show.

Escape sequences and other control characters are replaced by visible escapes so a
hostile error message can neither clear the screen, nor set the clipboard (OSC 52), nor
fake a line of output. Rich/Textual markup is a separate concern: the TUI shows such text
as `rich.text.Text`, never as markup.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as an escape (newlines optionally kept)."""
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_escape, line) for line in text.split("\n"))
    return _CONTROL.sub(_escape, text.replace("\n", " "))


def excerpt(text: str, limit: int = 300) -> str:
    """A one-line, cleaned, bounded excerpt of `text` for messages and the side panel."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return clean(text)
