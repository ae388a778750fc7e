"""When a signed video link stops working, as the link itself says.

Every object store's presigned links carry their deadline in the query string:

- S3 SigV4 (and MinIO, R2, Wasabi, Ceph): `X-Amz-Date=20261203T143000Z` + `X-Amz-Expires=3600`
- Google Cloud Storage V4: `X-Goog-Date` + `X-Goog-Expires`, the same way
- S3 SigV2, Alibaba OSS, CloudFront, GCS V2: `Expires=1764772200` (Unix seconds)
- Tencent COS: `q-sign-time=1764768600;1764772200` (start;end), alone or inside `sign=`
- Azure SAS: `se=2026-12-03T14:30:00Z` (signed expiry, ISO 8601; a date alone is midnight)

A link that says none of these (or says it in a way that does not parse) has no known
deadline: None. Parameter names are matched without regard to case, as the stores do.

Such a link can still be asked (`host_says`, from a HEAD): a store that will delete the
object says when (S3's lifecycle `x-amz-expiration: expiry-date="…"`, Azure's
`x-ms-expiry-time`), and a link the host already refuses (401, 403, 404, 410) is dead now.
"""

from __future__ import annotations

import calendar
import email.utils
import re
import time
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

# A deadline outside these bounds is a misreading, not a link's: 2000-01-01 .. 2200-01-01.
EARLIEST, LATEST = 946_684_800, 7_258_118_400
_COMPACT = re.compile(r"(\d{8})T(\d{6})Z")
_EXPIRY_DATE = re.compile(r'expiry-date="([^"]+)"', re.IGNORECASE)
DEAD = frozenset({401, 403, 404, 410})  # a host's answers to a link that no longer works
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?"
)


def link_expires_at(url: str | None) -> float | None:
    """Unix seconds after which the signed link `url` is dead, or None when it says not."""
    if not url or "?" not in url:
        return None
    try:
        pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    except ValueError:
        return None
    query = {key.lower(): value for key, value in pairs}
    for found in (
        _dated(query, "x-amz-date", "x-amz-expires"),
        _dated(query, "x-goog-date", "x-goog-expires"),
        _epoch(query.get("expires")),
        _cos(query.get("q-sign-time") or _inside(query.get("sign"), "q-sign-time")),
        _iso(query.get("se")),
    ):
        if found is not None and EARLIEST <= found <= LATEST:
            return found
    return None


def host_says(status: int, headers: Mapping[str, str], now: float) -> float | None:
    """The deadline a host's answer to a HEAD of the link tells (`headers` with lower-case
    names): `now` when it refuses the link, the object's deletion time when it says one."""
    if status in DEAD:
        return now
    if not 200 <= status < 300:
        return None
    lifecycle = _EXPIRY_DATE.search(headers.get("x-amz-expiration", ""))
    for text in (lifecycle.group(1) if lifecycle else None, headers.get("x-ms-expiry-time")):
        found = http_date(text)
        if found is not None and EARLIEST <= found <= LATEST:
            return found
    return None


def http_date(text: str | None) -> float | None:
    """An HTTP date ("Fri, 04 Dec 2026 12:00:00 GMT") as Unix seconds; one without a zone is
    GMT, as HTTP says. None when it does not parse."""
    if not text:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # HTTP dates are GMT
        return float(calendar.timegm(moment.timetuple()))
    return moment.timestamp()


def _dated(query: dict[str, str], date_key: str, expires_key: str) -> float | None:
    """SigV4 style: a compact UTC signing time plus a lifetime in seconds."""
    date, lifetime = query.get(date_key), query.get(expires_key)
    if not date or not lifetime or not lifetime.isdigit():
        return None
    start = _compact(date)
    return None if start is None else start + int(lifetime)


def _compact(text: str) -> float | None:
    """20261203T143000Z as Unix seconds."""
    match = _COMPACT.fullmatch(text.strip())
    if match is None:
        return None
    try:
        moment = time.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return float(calendar.timegm(moment))


def _epoch(text: str | None) -> float | None:
    if text is None or not text.strip().isdigit() or len(text.strip()) > 12:
        return None
    return float(int(text.strip()))


def _cos(text: str | None) -> float | None:
    """COS's "start;end" pair of Unix seconds: the end."""
    if not text or ";" not in text:
        return None
    return _epoch(text.split(";", 1)[1])


def _inside(text: str | None, key: str) -> str | None:
    """A value inside a nested, URL-encoded query (COS puts its signature in `sign=`)."""
    if not text:
        return None
    for name, value in parse_qsl(unquote(text), keep_blank_values=True):
        if name.lower() == key:
            return value
    return None


def _iso(text: str | None) -> float | None:
    """Azure's `se`: 2026-12-03T14:30:00Z, 2026-12-03T14:30Z, or 2026-12-03 (UTC)."""
    if not text:
        return None
    match = _ISO.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        moment = time.strptime(
            f"{year}{month}{day}{hour or '00'}{minute or '00'}{second or '00'}", "%Y%m%d%H%M%S"
        )
    except ValueError:
        return None
    seconds = float(calendar.timegm(moment))
    if zone and zone != "Z":  # +02:00: the clock shown is ahead of UTC
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds


# The longest any link can be believed to live: api.md says it "expires a short while
# after completion", and the longest a presigned link can be signed for is 7 days (S3
# SigV4's and GCS V4's cap). A link received longer ago than this is dead.
LONGEST_LINK_LIFE = 7 * 24 * 3600.0
# A deadline is believed passed only this long after it, whatever the host's clock says.
CLOCK_SKEW = 300.0


class HeldLink(Protocol):
    """What `certainly_dead` reads of a task's record (models.TaskRecord)."""

    @property
    def video_url(self) -> str | None: ...
    @property
    def video_url_at(self) -> float | None: ...
    @property
    def checked_at(self) -> float | None: ...
    @property
    def link_deadline(self) -> float | None: ...


def certainly_dead(record: HeldLink, now: float) -> bool:
    """True when the record's video link cannot work at wall-clock time `now`: past the
    deadline it carries (signed, or said by its host) by more than CLOCK_SKEW, or received
    more than LONGEST_LINK_LIFE ago. Nothing is asked of anyone: such a link is not tried,
    and the API is not asked for a fresh one. False when there is no link, or when it may
    still work."""
    if not record.video_url:
        return False
    deadline = record.link_deadline
    if deadline is not None and deadline + CLOCK_SKEW < now:
        return True
    received = received_at(record)
    return received is not None and now - received > LONGEST_LINK_LIFE


def received_at(record: HeldLink) -> float | None:
    """When the link held arrived: recorded with it, else no later than the last answer."""
    return record.video_url_at if record.video_url_at is not None else record.checked_at
