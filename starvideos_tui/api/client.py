"""The StarVideos O3 API client: the only module that talks HTTP to the API.

Errors are distinct types so callers can act on them (stop on a bad key, wait out a rate
limit, back off on a server error). No exception text, repr or log line ever carries the
API key, and httpx's own request logging (full URLs at INFO) is kept quiet.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import AsyncIterable
from typing import Any, NoReturn

import httpx

from starvideos_tui.api.answers import (
    ErrorEnvelope,
    MalformedAnswer,
    decode,
    parse_result,
    unwrap_envelope,
)
from starvideos_tui.api.apiwire import (
    ACCEPT_ENCODING,
    BadCoding,
    BodyTooLarge,
    describe_protocol_error,
    read_body,
)
from starvideos_tui.api.create_request import CreateRequest
from starvideos_tui.api.network import describe_network_error, proxy_for, ssl_context
from starvideos_tui.core.errors import StarVideosError
from starvideos_tui.core.linkexpiry import http_date
from starvideos_tui.core.models import ApiKey, TaskResult, validate_task_id
from starvideos_tui.core.textsafe import excerpt

for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

log = logging.getLogger(__name__)

API_TIMEOUT = httpx.Timeout(15.0, connect=10.0)  # each connect, and each read or write
# The whole request, from connecting to the last byte of the body: an answer that drips (a
# byte every few seconds never trips a read timeout) is given up after this many seconds.
API_DEADLINE = 30.0
MAX_BODY = 1_000_000  # an answer larger than this, as sent or decoded, is not an API answer
# Retry-After: one shorter than this (0, negative, a date in the past) counts as none, and
# the wait is DEFAULT_RETRY_AFTER, what a 429 without the header gets; a longer one than
# MAX_RETRY_AFTER is waited for that long. The wait used is what the message says.
MIN_RETRY_AFTER = 1.0
DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 900.0
USER_AGENT = "starvideos-tui"


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


def _error_message(body: str) -> str | None:
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


def _envelope_error(exc: ErrorEnvelope, body: str) -> ApiError:
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


MIN_MASKED_KEY = 8  # a shorter "key" would mask common words: "tas*** not found"


def mask_key(text: str, key: str) -> str:
    """`text` with the API key, as a whole word, shown as ***. A key shorter than
    MIN_MASKED_KEY characters is no real key and would mask ordinary text; it is left."""
    if len(key) < MIN_MASKED_KEY:
        return text
    return re.sub(rf"(?<![A-Za-z0-9_\-]){re.escape(key)}(?![A-Za-z0-9_\-])", "***", text)


class StarVideosClient:
    """Async client for the two endpoints. Use as `async with StarVideosClient(...)`."""

    def __init__(
        self,
        base_url: str,
        api_key: ApiKey | str | None,
        *,
        timeout: httpx.Timeout = API_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int = 16,
        deadline: float | None = None,
    ) -> None:
        key = api_key.secret if isinstance(api_key, ApiKey) else (api_key or "")
        self._key = ApiKey(key)
        self.base_url = base_url.rstrip("/")
        self.deadline = API_DEADLINE if deadline is None else deadline
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,  # what apiwire decodes, under its ceiling
        }
        if key:
            headers["Authorization"] = f"Bearer {key}"
        # The transport is ours (for its retries and limits), so httpx's own reading of
        # the proxy variables is off: network.py picks the proxy as curl would, and the
        # same certificate store as the downloader's.
        self._proxy = proxy_for(self.base_url)
        self._http = httpx.AsyncClient(
            headers=headers,
            timeout=timeout,
            transport=transport
            or httpx.AsyncHTTPTransport(
                retries=1,
                verify=ssl_context(),
                proxy=httpx.Proxy(self._proxy.url, headers=self._proxy_headers())
                if self._proxy
                else None,
                limits=httpx.Limits(
                    max_connections=max_connections,
                    max_keepalive_connections=max_connections,
                ),
            ),
            follow_redirects=False,  # a redirect would carry the key somewhere else
            trust_env=False,
        )

    def _proxy_headers(self) -> dict[str, str] | None:
        if self._proxy is None or self._proxy.authorization is None:
            return None
        return {"Proxy-Authorization": self._proxy.authorization}

    def __repr__(self) -> str:
        return f"StarVideosClient({self.base_url!r})"

    async def __aenter__(self) -> StarVideosClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get_result(self, task_id: str) -> TaskResult:
        validate_task_id(task_id)
        body, shown = await self._request("GET", f"/v1/result/{task_id}")
        return self._parse(body, shown, task_id)

    async def create_task(self, request: CreateRequest) -> TaskResult:
        body, shown = await self._request("POST", "/v1/starvideos/videos", json=request.to_json())
        return self._parse(body, shown, None)

    @staticmethod
    def _parse(body: Any, shown: str, task_id: str | None) -> TaskResult:
        try:
            body = unwrap_envelope(body)
        except ErrorEnvelope as exc:
            raise _envelope_error(exc, excerpt(shown)) from None
        try:
            return parse_result(body, task_id)
        except MalformedAnswer as exc:  # its message names a field, never quotes the body
            raise MalformedResponse(
                f"malformed answer: {exc}", status_code=200, body=excerpt(shown)
            ) from None

    def _network_error(self, exc: httpx.TransportError) -> NetworkError:
        via = f" (through the proxy {self._proxy.shown})" if self._proxy else ""
        if isinstance(exc, httpx.TimeoutException):
            error = NetworkError("the API did not answer in time (timeout)")
        elif isinstance(exc, httpx.ProxyError) and self._proxy:  # CONNECT got an error
            error = NetworkError(f"the proxy {self._proxy.shown} refused: {excerpt(str(exc), 80)}")
        elif isinstance(exc, httpx.ProtocolError):  # h11 refused what came back
            malformed, words = describe_protocol_error(str(exc))
            if malformed:
                error = NetworkError(f"the API sent malformed HTTP{via}: {words}")
            else:
                error = NetworkError(f"the API{via} {words}")
        else:
            through = f" through the proxy {self._proxy.shown}" if self._proxy else ""
            error = NetworkError(f"cannot reach the API{through}: {describe_network_error(exc)}")
        error.unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError)
        return error

    async def _request(self, method: str, path: str, **kw: Any) -> tuple[Any, str]:
        """The parsed JSON answer, and its text as it may be shown: our key masked."""
        url = self.base_url + path
        deadline = asyncio.timeout(self.deadline)
        try:
            async with deadline, self._http.stream(method, url, **kw) as response:
                raw = await self._read_capped(response)
        except httpx.TransportError as exc:
            raise self._network_error(exc) from None
        except TimeoutError:
            if not deadline.expired():
                raise
            raise NetworkError(
                f"the API sent its answer too slowly: no whole answer within {self.deadline:g} s"
            ) from None
        text = raw.decode("utf-8", errors="replace")
        # A server or proxy may echo the request back. Only `shown` may reach a message,
        # an excerpt or the watchlist; the data itself is parsed unmasked, since a short
        # key can occur in ids or URLs by chance.
        shown = mask_key(text, self._key.secret)
        status = response.status_code
        log.debug("%s %s -> %s", method, path, status)
        if 200 <= status < 300:
            try:
                return decode(text), shown
            except (ValueError, RecursionError):
                raise MalformedResponse(
                    "malformed answer: not JSON", status_code=status, body=excerpt(shown)
                ) from None
        self._raise_for(status, shown, response.headers, self._proxy.shown if self._proxy else None)

    @staticmethod
    async def _read_capped(response: httpx.Response) -> bytes:
        """The body, decoded by apiwire as it streams in: never more than MAX_BODY bytes
        held, however far a compressed body would expand."""
        if response.is_stream_consumed:  # made whole in memory (a test's MockTransport)
            raw: bytes | AsyncIterable[bytes] = response.content
            coding = None
        else:
            raw, coding = response.aiter_raw(), response.headers.get("content-encoding")
        try:
            return await read_body(raw, coding, MAX_BODY)
        except (BodyTooLarge, BadCoding) as exc:
            raise MalformedResponse(
                f"malformed answer: {exc}", status_code=response.status_code
            ) from None

    @staticmethod
    def _raise_for(status: int, text: str, headers: httpx.Headers, via: str | None) -> NoReturn:
        said = _error_message(text)
        detail = f": {said}" if said else ""
        kw: dict[str, Any] = {"status_code": status, "body": excerpt(text)}
        if status == 407:
            raise NetworkError(
                f"the proxy{' ' + via if via else ''} asks for credentials (HTTP 407): put them "
                "in the"
                " proxy URL, http://user:password@host:port",
                **kw,
            )
        if status in (401, 403):
            # Some proxies answer a refused login with 401, not 407: say which way it went.
            through = f" through the proxy {via}" if via else ""
            raise AuthError(f"the API refused the key (HTTP {status}){detail}{through}", **kw)
        if status == 404:
            raise TaskNotFound(f"the API does not know this task (HTTP 404){detail}", **kw)
        if status in (400, 422):
            raise BadRequest(f"the API refused the request (HTTP {status}){detail}", **kw)
        if status in (429, 503):
            asked = parse_retry_after(headers.get("retry-after"), default=None)
            raise RateLimited(f"rate limited (HTTP {status})", said=asked, detail=detail, **kw)
        raise ServerError(f"the API answered HTTP {status}{detail}", **kw)
