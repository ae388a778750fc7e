"""The API client against a fake transport: every failure is a typed error, never the key."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from email.utils import formatdate

import httpx
import pytest
from contract import PROCESSING_ANSWER

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.create_request import CreateRequest
from starvideos_tui.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    MalformedResponse,
    NetworkError,
    RateLimited,
    ServerError,
    TaskNotFound,
    parse_retry_after,
)
from starvideos_tui.core.models import ApiKey, InvalidTaskId, TaskResult, TaskStatus

KEY = "sk-live-TOPSECRET-4242"
BASE = "https://api.example.test/kyyReactApiServer"
TASK = "video_starvideos_o3_1234567890"
ANSWER = PROCESSING_ANSWER
HTML_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body></html>\n"
)

Respond = Callable[[httpx.Request], httpx.Response]


class FakeApi:
    """A MockTransport that records every request it is asked to send."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.calls: list[httpx.Request] = []

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        return self.respond(request)

    def client(self, base_url: str = BASE) -> StarVideosClient:
        return StarVideosClient(base_url, ApiKey(KEY), transport=httpx.MockTransport(self._handle))

    async def get(self, task_id: str = TASK) -> TaskResult:
        async with self.client() as client:
            return await client.get_result(task_id)


def answer(status: int, body: object = None, *, text: str | None = None, **headers: str) -> Respond:
    """A responder giving `status` with a JSON `body` (or raw `text`)."""

    def respond(request: httpx.Request) -> httpx.Response:
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return respond


def raising(exc_type: type[Exception]) -> Respond:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc_type("simulated", request=request)  # type: ignore[call-arg]  # httpx errors

    return respond


def assert_key_not_shown(exc: BaseException) -> None:
    shown = [str(exc), repr(exc), *map(str, exc.args)]
    if isinstance(exc, ApiError):
        shown += [exc.message, str(exc.body_excerpt)]
    for text in shown:
        assert KEY not in text


# -- the request ------------------------------------------------------------------------------


async def test_poll_sends_bearer_key_to_the_result_endpoint_of_the_task() -> None:
    api = FakeApi(answer(200, ANSWER))
    result = await api.get()
    assert result.kind is TaskStatus.PROCESSING
    [request] = api.calls
    assert request.method == "GET"
    assert str(request.url) == f"{BASE}/v1/result/{TASK}"
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_base_url_with_trailing_slash_does_not_double_the_slash() -> None:
    api = FakeApi(answer(200, ANSWER))
    async with api.client(BASE + "/") as client:
        await client.get_result(TASK)
    assert str(api.calls[0].url) == f"{BASE}/v1/result/{TASK}"


async def test_create_posts_the_documented_body_and_returns_the_new_task() -> None:
    created = {**ANSWER, "status": "queued"}
    api = FakeApi(answer(200, created))
    async with api.client() as client:
        result = await client.create_task(CreateRequest(prompt="a cat", duration=5))
    [request] = api.calls
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/v1/starvideos/videos"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(request.content) == {
        "model": "starvideos_o3",
        "prompt": "a cat",
        "duration": 5,
    }
    assert result.id == TASK and result.kind is TaskStatus.QUEUED


@pytest.mark.parametrize(
    "bad_id", ["../x", "a/b", "", "..", "a?b=1", "a#b", "v\u0456deo", "a b", "x" * 201]
)
async def test_invalid_task_id_is_refused_before_anything_is_sent(bad_id: str) -> None:
    api = FakeApi(answer(200, ANSWER))
    with pytest.raises(InvalidTaskId):
        await api.get(bad_id)
    assert api.calls == []


async def test_redirect_is_not_followed_so_the_key_stays_with_the_api_host() -> None:
    api = FakeApi(
        lambda request: httpx.Response(302, headers={"Location": "https://evil.example/steal"})
    )
    with pytest.raises(ApiError):
        await api.get()
    assert [call.url.host for call in api.calls] == ["api.example.test"]


# -- error answers ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_refused_key_is_an_auth_error(status: int) -> None:
    api = FakeApi(answer(status, {"error": {"message": "Invalid API key"}}))
    with pytest.raises(AuthError) as caught:
        await api.get()
    assert caught.value.status_code == status
    assert caught.value.kind == "auth"
    assert_key_not_shown(caught.value)


async def test_unknown_task_is_task_not_found() -> None:
    api = FakeApi(answer(404, {"error": "task not found"}))
    with pytest.raises(TaskNotFound) as caught:
        await api.get()
    assert caught.value.status_code == 404
    assert "not found" in caught.value.message


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "duration must be between 3 and 15"}},
        {"error": "duration must be between 3 and 15"},
        {"message": "duration must be between 3 and 15"},
        {"detail": "duration must be between 3 and 15"},
    ],
    ids=["error.message", "error", "message", "detail"],
)
@pytest.mark.parametrize("status", [400, 422])
async def test_refused_request_shows_the_api_own_explanation(
    status: int, body: dict[str, object]
) -> None:
    api = FakeApi(answer(status, body))
    with pytest.raises(BadRequest) as caught:
        await api.get()
    assert "duration must be between 3 and 15" in caught.value.message
    assert caught.value.status_code == status


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limit_honours_retry_after_in_seconds(status: int) -> None:
    api = FakeApi(answer(status, {"error": "slow down"}, **{"Retry-After": "17"}))
    with pytest.raises(RateLimited) as caught:
        await api.get()
    assert caught.value.retry_after == 17
    assert caught.value.status_code == status


@pytest.mark.parametrize("status", [429, 503])
async def test_rate_limit_honours_retry_after_as_an_http_date(status: int) -> None:
    when = formatdate(time.time() + 120, usegmt=True)
    api = FakeApi(answer(status, text="busy", **{"Retry-After": when}))
    with pytest.raises(RateLimited) as caught:
        await api.get()
    assert 115 <= caught.value.retry_after <= 121


async def test_rate_limit_without_retry_after_still_waits() -> None:
    api = FakeApi(answer(429, text="Too Many Requests"))
    with pytest.raises(RateLimited) as caught:
        await api.get()
    assert caught.value.retry_after >= 1


@pytest.mark.parametrize("status", [500, 502, 504, 418, 302])
async def test_other_statuses_are_server_errors_to_back_off_from(status: int) -> None:
    api = FakeApi(answer(status, text="oops"))
    with pytest.raises(ServerError) as caught:
        await api.get()
    assert caught.value.status_code == status
    assert caught.value.kind == "server"


async def test_proxy_html_error_page_becomes_a_one_line_excerpt() -> None:
    api = FakeApi(answer(502, text=HTML_PAGE + "\x1b]52;c;aGk=\x07\x1b[2J"))
    with pytest.raises(ServerError) as caught:
        await api.get()
    excerpt = caught.value.body_excerpt
    assert excerpt is not None and "502 Bad Gateway" in excerpt
    assert "\n" not in excerpt
    assert "\x1b" not in excerpt and "\x07" not in excerpt
    assert len(excerpt) <= 1000


# -- malformed answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(answer(200, text="not json at all"), id="plain-text"),
        pytest.param(answer(200, text=HTML_PAGE), id="html-page"),
        pytest.param(answer(200, text=""), id="empty"),
        pytest.param(answer(200, text='{"id": "' + TASK + '", "status": '), id="truncated"),
        pytest.param(answer(200, text="[" * 100_000 + "]" * 100_000), id="deeply-nested"),
        pytest.param(answer(200, [ANSWER]), id="json-list"),
        pytest.param(answer(200, "processing"), id="json-string"),
        pytest.param(answer(200, {**ANSWER, "id": "video_starvideos_o3_999"}), id="wrong-id"),
        pytest.param(answer(200, {**ANSWER, "status": 5}), id="status-number"),
        pytest.param(lambda r: httpx.Response(200, content=b"\xff\xfe\x00garbage"), id="binary"),
    ],
)
async def test_answer_that_is_not_the_documented_json_is_malformed(respond: Respond) -> None:
    api = FakeApi(respond)
    with pytest.raises(MalformedResponse) as caught:
        await api.get()
    assert caught.value.kind == "malformed"
    assert_key_not_shown(caught.value)


async def test_answer_larger_than_1_mb_is_malformed() -> None:
    padding = "x" * 1_100_000
    api = FakeApi(answer(200, {**ANSWER, "padding": padding}))
    with pytest.raises(MalformedResponse):
        await api.get()


async def test_endless_answer_from_a_broken_proxy_does_not_hang_the_poll() -> None:
    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"x" * 65536

    api = FakeApi(lambda request: httpx.Response(200, content=endless()))
    with pytest.raises(MalformedResponse):
        await api.get()


async def test_unknown_status_word_is_passed_on_not_refused() -> None:
    api = FakeApi(answer(200, {**ANSWER, "status": "cancelled"}))
    result = await api.get()
    assert result.status == "cancelled"
    assert result.kind is TaskStatus.UNKNOWN


async def test_answer_with_nan_creation_time_does_not_crash_the_poll() -> None:
    body = json.dumps(ANSWER).replace('"created": 1774836724', '"created": NaN')
    api = FakeApi(answer(200, text=body))
    try:
        result = await api.get()
    except ApiError:
        return
    assert result.created is None


# -- no answer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "exc_type",
    [
        httpx.ConnectError,
        httpx.ConnectTimeout,
        httpx.ReadTimeout,
        httpx.ReadError,
        httpx.RemoteProtocolError,
        httpx.PoolTimeout,
    ],
)
async def test_unreachable_api_is_a_network_error(exc_type: type[Exception]) -> None:
    api = FakeApi(raising(exc_type))
    with pytest.raises(NetworkError) as caught:
        await api.get()
    assert caught.value.kind == "network"
    assert caught.value.status_code is None
    assert_key_not_shown(caught.value)


# -- the key never shows ----------------------------------------------------------------------


ALL_FAILURES = [
    pytest.param(answer(401, {"error": "bad key"}), id="401"),
    pytest.param(answer(403, text="Forbidden"), id="403"),
    pytest.param(answer(404, {"error": "no such task"}), id="404"),
    pytest.param(answer(400, {"error": {"message": "bad"}}), id="400"),
    pytest.param(answer(429, text="slow", **{"Retry-After": "5"}), id="429"),
    pytest.param(answer(503, text="busy"), id="503"),
    pytest.param(answer(500, text=HTML_PAGE), id="500"),
    pytest.param(answer(200, text="<html>"), id="200-html"),
    pytest.param(answer(200, {**ANSWER, "id": "other"}), id="wrong-id"),
    pytest.param(raising(httpx.ConnectError), id="connect"),
    pytest.param(raising(httpx.ReadTimeout), id="timeout"),
]


@pytest.fixture
def debug_logs(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> pytest.LogCaptureFixture:
    """caplog at DEBUG, also when the CLI's log setup turned propagation off."""
    monkeypatch.setattr(logging.getLogger("starvideos_tui"), "propagate", True)
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="starvideos_tui")
    return caplog


@pytest.mark.parametrize("respond", ALL_FAILURES)
async def test_api_key_never_appears_in_errors_or_logs(
    respond: Respond, debug_logs: pytest.LogCaptureFixture
) -> None:
    api = FakeApi(respond)
    client = api.client()
    assert KEY not in repr(client) and KEY not in str(client)
    with pytest.raises(ApiError) as caught:
        async with client:
            await client.get_result(TASK)
    assert_key_not_shown(caught.value)
    assert_key_not_shown(caught.value.__cause__ or caught.value)
    for record in debug_logs.records:
        assert KEY not in record.getMessage()
        assert KEY not in str(record.args)
    assert KEY not in debug_logs.text


async def test_successful_polls_log_nothing_with_the_key(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    api = FakeApi(answer(200, ANSWER))
    for _ in range(3):
        await api.get()
    assert debug_logs.records, "the client logged nothing at DEBUG: this test would prove nothing"
    assert KEY not in debug_logs.text


def test_api_key_object_hides_the_secret() -> None:
    key = ApiKey(KEY)
    assert KEY not in repr(key) and KEY not in str(key) and KEY not in f"{key}"


def test_httpx_request_logging_stays_quiet_so_signed_urls_are_not_logged() -> None:
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("httpcore").getEffectiveLevel() >= logging.WARNING


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(
            answer(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}}), id="json"
        ),
        pytest.param(
            answer(502, text=f"<pre>Authorization: Bearer {KEY}\nHost: api</pre>"), id="html"
        ),
    ],
)
async def test_api_key_echoed_by_the_server_is_not_shown_to_the_user(respond: Respond) -> None:
    api = FakeApi(respond)
    with pytest.raises(ApiError) as caught:
        await api.get()
    assert_key_not_shown(caught.value)


async def test_api_key_echoed_in_a_malformed_answer_is_not_shown_to_the_user() -> None:
    api = FakeApi(answer(200, {**ANSWER, "id": f"Bearer {KEY}"}))
    with pytest.raises(MalformedResponse) as caught:
        await api.get()
    assert_key_not_shown(caught.value)
    assert "Bearer ***" in str(caught.value.body_excerpt)


# -- Retry-After parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "   ",
        "soon",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "1e999",
        "Mon, 32 Foo 2024 99:99:99 GMT",
        "\x00\x1b",
        "12 seconds",
    ],
)
def test_garbage_retry_after_falls_back_to_the_default_wait(value: str | None) -> None:
    assert parse_retry_after(value, default=42.0) == 42.0


def test_retry_after_seconds_are_taken_as_given() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 7 ") == 7
    assert parse_retry_after("1.5") == 1.5


def test_retry_after_date_is_seconds_from_now() -> None:
    now = 1_800_000_000.0
    assert parse_retry_after(formatdate(now + 90, usegmt=True), now=now) == pytest.approx(90)


@pytest.mark.parametrize("value", ["-5", formatdate(1_000_000_000.0, usegmt=True)])
def test_retry_after_in_the_past_never_gives_a_negative_wait(value: str) -> None:
    assert parse_retry_after(value, now=1_800_000_000.0) == 0


# -- answers dressed differently: envelopes --------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"code": 401, "msg": "invalid api key"},
        {"code": "403", "message": "forbidden"},
        {"code": 10001, "msg": "Token invalid or expired"},
        {"success": False, "message": "Unauthorized"},
    ],
)
async def test_a_key_refusal_inside_a_200_answer_is_an_auth_error(body: object) -> None:
    with pytest.raises(AuthError) as caught:
        await FakeApi(answer(200, body)).get()
    assert "refused the key" in caught.value.message
    assert "in an HTTP 200 answer" in caught.value.message
    assert_key_not_shown(caught.value)


async def test_a_task_wrapped_in_a_success_envelope_is_unwrapped() -> None:
    wrapped = {"code": 0, "msg": "ok", "data": {**ANSWER, "status": "completed"}}
    result = await FakeApi(answer(200, wrapped)).get()
    assert result.kind is TaskStatus.COMPLETED


@pytest.mark.parametrize(
    ("body", "error", "said"),
    [
        ({"code": 404, "msg": "task not found"}, TaskNotFound, "task not found"),
        ({"code": 429, "msg": "slow down"}, RateLimited, "slow down"),
        ({"code": 500, "msg": "internal"}, ServerError, "internal"),
        ({"code": 0, "msg": "ok"}, ServerError, "ok"),  # success, but no task in it
    ],
)
async def test_an_error_envelope_says_what_came_instead_of_a_missing_field(
    body: object, error: type[ApiError], said: str
) -> None:
    with pytest.raises(error) as caught:
        await FakeApi(answer(200, body)).get()
    assert said in caught.value.message
    assert "field 'id'" not in caught.value.message


@pytest.mark.parametrize(
    ("key", "text", "shown"),
    [
        ("k", "task video_x not found", "task video_x not found"),  # too short to be a key
        ("sk-live-SECRET-1", "echo: Bearer sk-live-SECRET-1", "echo: Bearer ***"),
        ("sk-live-SECRET-1", '{"key":"sk-live-SECRET-1"}', '{"key":"***"}'),
        ("sk-live-SECRET-1", "token=sk-live-SECRET-1&x=1", "token=***&x=1"),
    ],
)
def test_the_key_is_masked_as_a_whole_never_inside_ordinary_words(
    key: str, text: str, shown: str
) -> None:
    from starvideos_tui.api.client import mask_key

    assert mask_key(text, key) == shown
