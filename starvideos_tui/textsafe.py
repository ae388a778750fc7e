"""Make untrusted text (from the API, a server or a file) valid, and safe to print or show.

Valid: JSON may carry a lone surrogate (`"\\ud83d"`), which is no character: no UTF-8
encoder takes it, so one such field would stop every save of the watchlist. `loads`, the
JSON reader of every untrusted answer and file, gives such text with U+FFFD in its place.

Safe: escape sequences and other control characters are replaced by visible escapes so a
hostile error message can neither clear the screen, nor set the clipboard (OSC 52), nor
fake a line of output. Rich/Textual markup is a separate concern: the TUI shows such text
as `rich.text.Text`, never as markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


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


# -- valid text -------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
# Where a lone surrogate can come from in JSON: a \uD800-\uDFFF escape, or (json.loads
# reads bytes with "surrogatepass") the three bytes UTF-8 would make of one.
_SURROGATE_IN_BYTES = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_SURROGATE_IN_TEXT = re.compile("\\\\u[dD][89a-fA-F]|[\ud800-\udfff]")


def valid(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (the same `text` when it has
    none, as almost every text has)."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate of `text`, shown as its escape (`\\ud83d`), or None."""
    found = _SURROGATE.search(text)
    return None if found is None else f"\\u{ord(found.group()):04x}"


def valid_json(value: Any) -> Any:
    """A parsed JSON value with every text in it (keys too) made `valid`."""
    if isinstance(value, str):
        return valid(value)
    if isinstance(value, dict):
        return {valid(k): valid_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [valid_json(item) for item in value]
    return value


def loads(raw: bytes | str) -> Any:
    """json.loads, with every text made `valid`. The walk over the value is made only when
    the raw JSON holds something that could be a surrogate: reading a long watchlist costs
    what json.loads does."""
    value = json.loads(raw)
    if isinstance(raw, bytes):
        maybe = (b"\\u" in raw or b"\xed" in raw) and bool(_SURROGATE_IN_BYTES.search(raw))
    else:
        maybe = (not raw.isascii() or "\\u" in raw) and bool(_SURROGATE_IN_TEXT.search(raw))
    return valid_json(value) if maybe else value


def encode(text: str) -> bytes:
    """`text` as UTF-8, a lone surrogate in it written as U+FFFD instead of raising: the
    last guard of a writer that must never die on what it was handed."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return valid(text).encode("utf-8")
