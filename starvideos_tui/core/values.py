"""The one check of each kind of untrusted value, for every layer: an http(s) URL (a video
link from the API, a create request's image, --base-url, a link about to be fetched) and
a finite number (an answer's field, a stored record's)."""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import SplitResult, urlsplit

_URL_RE = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)
# The longest video link taken, from the API or given to the downloader (docs/api.md): links
# presigned with a session token (S3, STS) run to several thousand characters.
MAX_URL_LENGTH = 32_768


def http_url(url: str) -> SplitResult | None:
    """The parts of an http(s) URL with a host and, if any, a valid port, without a user
    name or password; None for anything else: nothing else is fetched."""
    if len(url) > MAX_URL_LENGTH or not url.isascii() or not url.isprintable():
        return None  # control characters, DEL or non-ASCII: no HTTP library sends them
    if not _URL_RE.fullmatch(url):  # an "@" before the path (credentials) is refused here
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    return parts


def is_http_url(url: str) -> bool:
    return http_url(url) is not None


def finite_number(value: Any, what: str) -> float:
    """`value`, a JSON number (not a bool), as a finite float. Python's json accepts NaN,
    Infinity and huge integers, so a file or a server can hold them: TypeError names `what`
    when it is no number, ValueError when it is not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{what} is not a finite number")
    return number
