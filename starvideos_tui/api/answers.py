"""Reading the API's answers: the one place where an untrusted JSON body becomes a
`TaskResult`. Strict about what would be dangerous (ids, URLs, huge or non-finite
numbers), liberal where the meaning is plain (a status in capitals, a number sent as text,
`created` in milliseconds or ISO 8601, a task wrapped in `{"code": 0, "data": ...}`), and
plain about the rest: an error dressed as a 200 is an `ErrorEnvelope`, not a missing field.
Every text of an answer is valid Unicode from `decode` on: a lone surrogate ("\\ud83d") in
any field is read as U+FFFD, so it is saved and shown like any other text.
"""

from __future__ import annotations

import re
from typing import Any

from starvideos_tui.core import textsafe
from starvideos_tui.core.models import (
    KNOWN_WORDS,
    InvalidTaskId,
    TaskResult,
    validate_task_id,
)
from starvideos_tui.core.values import finite_number, is_http_url


class MalformedAnswer(ValueError):
    """The body does not have the shape the API documents."""


def decode(text: str) -> Any:
    """The JSON value of an answer's text (ValueError or RecursionError if it is none),
    each text in it valid Unicode: every answer, success or error, is read here."""
    return textsafe.loads(text)


def _opt(body: dict[str, Any], key: str, types: tuple[type, ...], what: str) -> Any:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, types):
        raise MalformedAnswer(f"field {key!r} is not {what}")
    return value


_NUMBER_TEXT_RE = re.compile(r"\s*(-?\d+(?:\.\d+)?)\s*(?:s|sec|seconds)?\s*", re.IGNORECASE)


def _opt_finite(body: dict[str, Any], key: str) -> float | None:
    """A finite number or None. Python's json accepts NaN, Infinity and huge integers,
    so a server can send them; none of them is a time or a duration. A number sent as a
    text ("5", "5.0", "5s") is read as the number it plainly is."""
    value = body.get(key)
    if isinstance(value, str):
        match = _NUMBER_TEXT_RE.fullmatch(value)
        if match is None:
            raise MalformedAnswer(f"field {key!r} is not a number")
        value = float(match.group(1))
    if value is None:
        return None
    try:
        return finite_number(value, f"field {key!r}")
    except (TypeError, ValueError) as exc:
        raise MalformedAnswer(str(exc)) from None


def _unix_seconds(body: dict[str, Any], key: str) -> int | None:
    """A time as Unix seconds, whatever unit or form the API used: seconds, milliseconds,
    microseconds, nanoseconds (told apart by size), or an ISO 8601 text."""
    value = body.get(key)
    if isinstance(value, str) and not _NUMBER_TEXT_RE.fullmatch(value):
        from datetime import UTC, datetime

        try:
            when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise MalformedAnswer(f"field {key!r} is not a time") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp())
    number = _opt_finite(body, key)
    if number is None or number <= 0:
        return None
    while number > 1e11:  # past the year 5000 in seconds: a finer unit
        number /= 1000
    return int(number)


class ErrorEnvelope(Exception):
    """A 2xx answer whose body is an error (`{"code": 401, "msg": "..."}`): the API's
    refusal dressed as success."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_SUCCESS_CODES = (0, 200)


def _envelope_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def unwrap_envelope(body: Any) -> Any:
    """The task inside `{"code": 0, "data": {...}}`-style wrappers; ErrorEnvelope when the
    wrapper says the request failed. A bare task answer is returned as it is."""
    if not isinstance(body, dict) or ("id" in body and "status" in body):
        return body
    markers = ("code", "success", "msg", "message", "errcode", "error_code")
    if not any(k in body for k in markers):
        return body
    raw_code = next((body[k] for k in ("code", "errcode", "error_code") if k in body), None)
    code = _envelope_code(raw_code)
    failed = body.get("success") is False or (code is not None and code not in _SUCCESS_CODES)
    said = next(
        (body[k] for k in ("msg", "message", "errmsg", "error") if isinstance(body.get(k), str)),
        None,
    )
    if failed or (raw_code is not None and code is None and not isinstance(body.get("data"), dict)):
        raise ErrorEnvelope(code, (said or "no reason given")[:300])
    data = body.get("data")
    if isinstance(data, dict):
        return data
    if "id" not in body:
        raise ErrorEnvelope(code, (said or "an envelope with no task in its data")[:300])
    return body


def parse_result(body: Any, expected_id: str | None = None) -> TaskResult:
    """Turn an untrusted JSON value into a TaskResult or raise MalformedAnswer."""
    if not isinstance(body, dict):
        raise MalformedAnswer(f"expected a JSON object, got {type(body).__name__}")
    task_id = body.get("id")
    if not isinstance(task_id, str):
        raise MalformedAnswer("field 'id' is missing or not a string")
    try:
        validate_task_id(task_id)
    except InvalidTaskId:
        # No value quoted: the client shows the body, with its key masked, beside this.
        raise MalformedAnswer("field 'id' is not a valid task id") from None
    if expected_id is not None and task_id != expected_id:
        raise MalformedAnswer("answer is for another task id")
    status = body.get("status")
    if not isinstance(status, str) or not status.strip():
        raise MalformedAnswer("field 'status' is missing or not a string")
    status = status.strip()[:40]
    if status.isascii() and status.lower() in KNOWN_WORDS:  # "COMPLETED": the documented word
        status = status.lower()
    created = _unix_seconds(body, "created")
    for alias, name in (("videoUrl", "video_url"), ("actual_duration", "actualDuration")):
        if body.get(name) is None and body.get(alias) is not None:
            body = {**body, name: body[alias]}
    video_url = _opt(body, "video_url", (str,), "a string")
    if isinstance(video_url, str):
        video_url = video_url.strip() or None
    duration = _opt_finite(body, "actualDuration")
    error = _opt(body, "error", (str,), "a string")
    model = _opt(body, "model", (str,), "a string")
    if video_url is not None and not is_http_url(video_url):
        video_url = None  # never follow file:, javascript:, a bad port or anything else
    return TaskResult(
        id=task_id,
        status=status,
        created=created,
        model=model[:80] if model else None,
        video_url=video_url,
        actual_duration=duration,
        error=error[:4000] if error is not None else None,
    )
