"""The API's errors, by kind, and what each answer stands for: an HTTP status, a 2xx
answer carrying an error envelope, a Retry-After. Callers act on the kind (stop on a bad
key, wait out a rate limit, back off on a server error); every message is one line that
never quotes the API key (client.py masks it in the body before it gets here).
"""

from __future__ import annotations

import math
import re
import time
from typing import Any

import httpx

from starvideos_tui.api.answers import ErrorEnvelope, decode
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.linkexpiry import http_date
from starvideos_tui.core.textsafe import excerpt

# Retry-After: one shorter than this (0, negative, a date in the past) counts as none, and
# the wait is DEFAULT_RETRY_AFTER, what a 429 without the header gets; a longer one than
# MAX_RETRY_AFTER is waited for that long. The wait used is what the message says.
MIN_RETRY_AFTER = 1.0
DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 900.0


class ApiError(StarVideosError):
    """Something went wrong asking the API. `kind` names it for rows and logs."""

    kind = "error"

    def __init__(
        self, message: str, *, status_code: int | None = None, body: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body_excerpt = body


class AuthError(ApiError):
    """401/403: the key is missing, wrong or disabled. Polling stops until it changes."""

    kind = "auth"


class TaskNotFound(ApiError):
    """404: the API does not know this task id."""

    kind = "not_found"


class BadRequest(ApiError):
    """400/422: the API refused what we sent; `message` is its explanation."""

    kind = "bad_request"


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 1e6 else "more than 11 days"


class RateLimited(ApiError):
    """429 or 503: wait `retry_after` seconds before asking again. `said` is what the
    answer's Retry-After said (None: nothing usable); `retry_after` is what the client
    waits, which the message names (`waiting` makes the same error with another wait)."""

    kind = "rate_limited"

    def __init__(
        self,
        head: str,
        *,
        said: float | None,
        detail: str = "",
        wait: float | None = None,
        **kw: Any,
    ) -> None:
        if wait is None:
            wait = DEFAULT_RETRY_AFTER if said is None or said < MIN_RETRY_AFTER else said
            wait = min(wait, MAX_RETRY_AFTER)
        note = ""
        if said is not None and round(said) != round(wait):
            why = "too soon" if said < wait else f"{_seconds(wait)} is the longest wait"
            note = f" (its Retry-After said {_seconds(said)}: {why})"
        super().__init__(f"{head}, retry after {_seconds(wait)}{note}{detail}", **kw)
        self.head, self.said, self.detail = head, said, detail
        self.retry_after = wait

    def waiting(self, seconds: float) -> RateLimited:
        """The same refusal, saying that the wait is `seconds`."""
        if seconds == self.retry_after:
            return self
        return RateLimited(
            self.head,
            said=self.said,
            detail=self.detail,
            wait=seconds,
            status_code=self.status_code,
            body=self.body_excerpt,
        )


class ServerError(ApiError):
    """Any other 5xx or unexpected status: back off and try again."""

    kind = "server"


class NetworkError(ApiError):
    """No answer: DNS, refused connection, reset, timeout. `unsent` when the request never
    left (no connection was made): whatever it asked was not done."""

    kind = "network"
    unsent = False


class MalformedResponse(ApiError):
    """An answer that is not the documented JSON: an HTML proxy page, wrong types..."""

    kind = "malformed"


def parse_retry_after(
    value: str | None, now: float | None = None, default: float | None = DEFAULT_RETRY_AFTER
) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; `default`
    for none, or one that means nothing."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        when = http_date(value)
        if when is None:
            return default
        seconds = when - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return default
    return max(0.0, seconds)


def error_message(body: str) -> str | None:
    """The API's own explanation in an error body, if it has a recognizable one."""
    try:
        data = decode(body)
    except (ValueError, RecursionError):
        return None
    candidates: list[Any] = []
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            candidates.append(err.get("message"))
        candidates += [err, data.get("message"), data.get("detail"), data.get("msg")]
    for item in candidates:
        if isinstance(item, str) and item.strip():
            return excerpt(item, 200)
    return None


_AUTH_WORDS = re.compile(
    r"api[ _-]?key|unauthori[sz]ed|forbidden|authenticat|invalid token|token (?:is )?invalid"
    r"|access denied|permission denied",
    re.IGNORECASE,
)


def envelope_error(exc: ErrorEnvelope, body: str) -> ApiError:
    """The error a 200 answer carrying an error envelope stands for. A refusal of the key
    stops polling however it is dressed: by its code, or by its words when the code is
    the service's own number."""
    said = excerpt(exc.message, 200)
    code = exc.code
    where = "(in an HTTP 200 answer)" if code is None else f"(code {code} in an HTTP 200 answer)"
    kw: dict[str, Any] = {"status_code": 200, "body": body}
    if code in (401, 403) or _AUTH_WORDS.search(exc.message):
        return AuthError(f"the API refused the key {where}: {said}", **kw)
    if code == 404:
        return TaskNotFound(f"the API does not know this task {where}: {said}", **kw)
    if code in (429, 503):
        return RateLimited(f"rate limited {where}", said=None, detail=f": {said}", **kw)
    if code in (400, 422):
        return BadRequest(f"the API refused the request {where}: {said}", **kw)
    return ServerError(f"the API answered with an error {where}: {said}", **kw)


def status_error(status: int, text: str, headers: httpx.Headers, via: str | None) -> ApiError:
    """The error an answer of HTTP `status` (not 2xx) stands for; `text` is the body as it
    may be shown (the key masked), `via` the proxy it came through."""
    said = error_message(text)
    detail = f": {said}" if said else ""
    kw: dict[str, Any] = {"status_code": status, "body": excerpt(text)}
    if status == 407:
        return NetworkError(
            f"the proxy{' ' + via if via else ''} asks for credentials (HTTP 407): put them "
            "in the"
            " proxy URL, http://user:password@host:port",
            **kw,
        )
    if status in (401, 403):
        # Some proxies answer a refused login with 401, not 407: say which way it went.
        through = f" through the proxy {via}" if via else ""
        return AuthError(f"the API refused the key (HTTP {status}){detail}{through}", **kw)
    if status == 404:
        return TaskNotFound(f"the API does not know this task (HTTP 404){detail}", **kw)
    if status in (400, 422):
        return BadRequest(f"the API refused the request (HTTP {status}){detail}", **kw)
    if status in (429, 503):
        asked = parse_retry_after(headers.get("retry-after"), default=None)
        return RateLimited(f"rate limited (HTTP {status})", said=asked, detail=detail, **kw)
    return ServerError(f"the API answered HTTP {status}{detail}", **kw)
