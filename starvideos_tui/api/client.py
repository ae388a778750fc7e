"""The StarVideos O3 API client: the only module that talks HTTP to the API.

Errors are distinct types (errors.py) so callers can act on them (stop on a bad key, wait
out a rate limit, back off on a server error). No exception text, repr or log line ever carries the
API key, and httpx's own request logging (full URLs at INFO) is kept quiet.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterable
from typing import Any

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
from starvideos_tui.api.errors import (
    MalformedResponse,
    NetworkError,
    envelope_error,
    status_error,
)
from starvideos_tui.api.network import describe_network_error, proxy_for, ssl_context
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
USER_AGENT = "starvideos-tui"


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
            raise envelope_error(exc, excerpt(shown)) from None
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
        via = self._proxy.shown if self._proxy else None
        raise status_error(status, shown, response.headers, via)

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
