"""Make untrusted text (from the API, a server or a file) valid, and safe to print or show.

Valid: JSON may carry a lone surrogate (`"\\ud83d"`), which is no character: no UTF-8
encoder takes it, so one such field would stop every save of the watchlist. `loads`, the
JSON reader of every untrusted answer and file, gives such text with U+FFFD in its place.

Safe: escape sequences, other control characters and invisible ones are replaced by
visible escapes, so a hostile error message can neither clear the screen, nor set the
clipboard (OSC 52), nor fake a line of output, nor pass for another word ("completed" with
a zero-width space in it is shown as `completed\\u200b`). Rich/Textual markup is a separate
concern: the TUI shows such text as `rich.text.Text`, never as markup.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - a dependency; json alone reads the same values
    _orjson = None  # type: ignore[assignment]

# C0 (tab and newline aside), DEL, C1, lone surrogates, and what draws nothing or reorders
# what is drawn: soft hyphen, combining grapheme joiner, Arabic letter mark, Hangul fillers,
# Khmer inherent vowels, Mongolian selectors and vowel separator, zero-width space and
# joiners, LRM/RLM, line and paragraph separators, bidi embeddings, overrides and isolates,
# word joiner and invisible operators, variation selectors, the BOM (zero-width no-break
# space), interlinear annotation marks, and the tags (U+E0000 on).
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\U000e0000-\U000e0fff"
)
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")
_EVERY_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")
_SHORT = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# Invisible characters that real text needs where they join or select what is around them:
# the zero-width joiners (in emoji "👩‍💻", Persian "می‌خواهم", Indic conjuncts), the
# variation selectors ("❤️", CJK glyph variants) and the tags of a flag ("🏴" + tags). They
# are kept there, and only there: never beside an ASCII character, so no ASCII word (a
# status, "completed") can carry one unseen.
_JOINERS = frozenset("\u200c\u200d")
_SELECTORS = frozenset([*map(chr, range(0xFE00, 0xFE10)), *map(chr, range(0xE0100, 0xE01F0))])
_TAGS = frozenset(map(chr, range(0xE0020, 0xE0080)))
_PICTURE = frozenset(("So", "Sk"))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if (char in _JOINERS or char in _SELECTORS or char in _TAGS) and _joins(
        match.string, match.start()
    ):
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _shown(char: str) -> bool:
    """A character drawn as itself and not ASCII: what a joiner or selector may join."""
    return bool(char) and not char.isascii() and _CONTROL.match(char) is None


def _joins(text: str, at: int) -> bool:
    """Whether the joiner, selector or tag at `at` joins or selects what is around it."""
    char = text[at]
    before = text[at - 1] if at else ""
    after = text[at + 1] if at + 1 < len(text) else ""
    if char in _JOINERS:  # between two characters it can join ("❤️‍🔥": after a selector)
        joined = _shown(before) or (before in _SELECTORS and _joins(text, at - 1))
        return joined and _shown(after)
    if char in _SELECTORS:  # after what it selects a look of; a keycap's digit ("1️⃣")
        return _shown(before) or (after == "\u20e3" and before != "" and before in "0123456789#*")
    while at and text[at - 1] in _TAGS:  # a flag's tags follow its black flag
        at -= 1
    return at > 0 and _shown(text[at - 1]) and unicodedata.category(text[at - 1]) in _PICTURE


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character shown as an escape (newlines optionally kept)."""
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_escape, line) for line in text.split("\n"))
    return _CONTROL.sub(_escape, text.replace("\n", " "))


def one_line(text: str) -> str:
    """`text` as one line for a log file: newlines and tabs escaped too (`\\n`, `\\t`),
    with every character `clean` escapes."""
    return _EVERY_CONTROL.sub(lambda m: _SHORT.get(m.group()) or _escape(m), text)


def excerpt(text: str, limit: int = 300) -> str:
    """A one-line, cleaned, bounded excerpt of `text` for messages and the side panel."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return clean(text)


# -- valid text -------------------------------------------------------------------------

_SURROGATE = re.compile("[\ud800-\udfff]")
# 19 digits in a row (an integer orjson would make a float of, or a text's digits: both
# are left to json), found by bytes.find on the bytes with every digit made a "0".
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_RUN = b"0" * 19
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
    what json.loads does.

    Bytes are read by orjson first (twice as fast): what it takes, it reads as json does,
    and it refuses all that could differ (a lone surrogate, NaN, 1e400, a BOM, bytes
    that are not UTF-8), which json then reads. Only an integer of 19 digits or more
    (orjson makes a float of one past 64 bits) is never given to it, nor any 19 digits in
    a row."""
    if (
        _orjson is not None
        and type(raw) is bytes
        and raw.translate(_DIGITS_AS_ZERO).find(_LONG_RUN) < 0
    ):
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass
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


# -- JSON out, ASCII only ------------------------------------------------------------------

_NON_ASCII_RUN = re.compile("[^\x00-\x7e]+")  # DEL too, as json escapes it


def _ascii_escapes(match: re.Match[str]) -> str:
    return json.dumps(match.group())[1:-1]  # \uXXXX each, a surrogate pair past the BMP


def dumps_ascii(value: Any) -> str:
    """`value` as compact JSON text (no spaces after `,` and `:`), every character past
    ASCII written as its `\\uXXXX` escape, as json.dumps(ensure_ascii=True) writes it: a
    pipe or terminal that takes only ASCII reads it whole. orjson writes it (three times
    faster than json's C encoder); what orjson refuses (an integer past 64 bits, a lone
    surrogate) json writes, in the same compact shape. Non-ASCII characters appear only
    inside strings, so each run of them is escaped where it stands."""
    if _orjson is not None:
        try:
            raw = _orjson.dumps(value)
        except _orjson.JSONEncodeError:
            pass
        else:
            if raw.isascii() and b"\x7f" not in raw:
                return raw.decode("ascii")
            return _NON_ASCII_RUN.sub(_ascii_escapes, raw.decode("utf-8"))
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))
