"""Typed models of the StarVideos O3 API and of the watchlist.

Everything the API sends is untrusted: `parse_result` is the one place where a JSON body
becomes a `TaskResult`, and it refuses anything that does not have the documented shape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

from starvideos_tui.errors import UsageError

TASK_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
MODEL_NAME = "starvideos_o3"
DEFAULT_BASE_URL = "https://zcbservice.aizfw.cn/kyyReactApiServer"
RATIOS = ("9:16", "1:1", "16:9")
MIN_DURATION, MAX_DURATION, DEFAULT_DURATION = 3, 15, 3
MAX_REFERENCE_IMAGES = 7
MAX_REFERENCE_IMAGES_WITH_VIDEOS = 4


@dataclass(frozen=True)
class ApiKey:
    """The API key; its repr and str never show it."""

    secret: str

    def __repr__(self) -> str:
        return "ApiKey(***)"

    __str__ = __repr__


class InvalidTaskId(UsageError, ValueError):
    """A task id that the CONTRACT's rule refuses; the message names it safely."""


def validate_task_id(task_id: str) -> str:
    """Return `task_id` unchanged if it is acceptable, else raise InvalidTaskId."""
    if not isinstance(task_id, str) or not TASK_ID_RE.fullmatch(task_id) or task_id in (".", ".."):
        shown = repr(task_id)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        raise InvalidTaskId(
            f"invalid task id {shown}: use 1-200 letters, digits, '_', '-', '.' or ':'"
        )
    return task_id


class TaskStatus(Enum):
    """What the API says of a task. Words the docs do not list map to UNKNOWN, and the
    record keeps the word itself so it is shown as it came."""

    NEW = "new"  # watched, never answered yet
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @classmethod
    def from_word(cls, word: str | None) -> TaskStatus:
        if not word:
            return cls.NEW
        known = _WORD_STATUS.get(word)  # the documented words as sent: no enum lookup
        if known is not None:
            return known
        try:
            status = cls(word.strip().casefold())
        except ValueError:
            return cls.UNKNOWN
        return cls.UNKNOWN if status in (cls.NEW, cls.UNKNOWN) else status

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


_KNOWN_WORDS = {"queued", "processing", "completed", "failed"}
_WORD_STATUS = {word: TaskStatus(word) for word in _KNOWN_WORDS}


class MalformedAnswer(ValueError):
    """The body does not have the shape the API documents."""


@dataclass(frozen=True, slots=True)
class TaskResult:
    """One answer of `GET /v1/result/{id}` (or of create)."""

    id: str
    status: str
    created: int | None = None
    model: str | None = None
    video_url: str | None = None
    actual_duration: float | None = None
    error: str | None = None

    @property
    def kind(self) -> TaskStatus:
        return TaskStatus.from_word(self.status)


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
    value = _opt(body, key, (int, float), "a number") if not isinstance(value, float) else value
    try:
        return _opt_number(key, value)
    except ValueError:
        raise MalformedAnswer(f"field {key!r} is not a finite number") from None


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
    if status.casefold() in _KNOWN_WORDS:  # "Completed", "COMPLETED": the documented word
        status = status.casefold()
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


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """The body of `POST /v1/starvideos/videos`, validated by `check()`."""

    prompt: str
    duration: int | None = None
    ratio: str | None = None
    reference_images: tuple[str, ...] = ()
    first_image: str | None = None
    last_image: str | None = None
    reference_videos: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """Every rule of api.md this request breaks, as sentences a user can act on."""
        found: list[str] = []
        if not self.prompt.strip():
            found.append("the prompt is empty")
        if self.duration is not None and not MIN_DURATION <= self.duration <= MAX_DURATION:
            found.append(f"duration must be {MIN_DURATION} to {MAX_DURATION} seconds")
        if self.ratio is not None and self.ratio not in RATIOS:
            found.append(f"ratio must be one of {', '.join(RATIOS)}")
        images = len(self.reference_images)
        if images > MAX_REFERENCE_IMAGES:
            found.append(f"at most {MAX_REFERENCE_IMAGES} reference images")
        if self.reference_videos and images > MAX_REFERENCE_IMAGES_WITH_VIDEOS:
            found.append(
                f"at most {MAX_REFERENCE_IMAGES_WITH_VIDEOS} reference images "
                "together with reference videos"
            )
        frames = self.first_image is not None or self.last_image is not None
        if frames and images:
            found.append("reference images cannot be combined with first/last frame images")
        if frames and self.reference_videos:
            found.append("reference videos cannot be combined with first/last frame images")
        urls = [*self.reference_images, *self.reference_videos]
        urls += [u for u in (self.first_image, self.last_image) if u is not None]
        found += [f"not an http(s) URL: {u[:80]!r}" for u in urls if not is_http_url(u)]
        return found

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"model": MODEL_NAME, "prompt": self.prompt}
        if self.duration is not None:
            body["duration"] = self.duration
        if self.ratio is not None:
            body["ratio"] = self.ratio
        if self.reference_images:
            body["referenceImages"] = list(self.reference_images)
        if self.first_image is not None:
            body["first_image"] = self.first_image
        if self.last_image is not None:
            body["last_image"] = self.last_image
        if self.reference_videos:
            body["referenceVideos"] = list(self.reference_videos)
        return body


_URL_RE = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


def is_http_url(url: str) -> bool:
    """An http(s) URL with a host and, if any, a valid port; nothing else is fetched."""
    if len(url) > 2048 or not url.isascii() or not url.isprintable():
        return False  # control characters, DEL or non-ASCII: no HTTP library sends them
    if not _URL_RE.fullmatch(url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        return False
    return bool(parts.hostname)


@dataclass(frozen=True, slots=True)
class HttpProblem:
    """The last thing that went wrong talking to the API about one task."""

    kind: str  # "auth", "not_found", "rate_limited", "server", "network", "malformed", ...
    message: str
    status_code: int | None = None
    body_excerpt: str | None = None
    at: float | None = None


# Checkers for the fields of a stored record, `(name, value) -> value`. The watchlist file
# is untrusted too (hand edits, other versions): a wrong type is refused where the file is
# read (TypeError/ValueError), not met later as a crash in `list` or the TUI.


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name!r} is not a text")
    return value


def _whole(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name!r} is not a whole number")
    return value


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name!r} is not a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ValueError(f"{name!r} is not a finite number")
    return number


def _opt_text(name: str, value: Any) -> str | None:
    return None if value is None else _text(name, value)


def _opt_whole(name: str, value: Any) -> int | None:
    return None if value is None else _whole(name, value)


def _opt_number(name: str, value: Any) -> float | None:
    return None if value is None else _number(name, value)


def _opt_object(name: str, value: Any) -> dict[str, Any] | None:
    if value is not None and not isinstance(value, dict):
        raise TypeError(f"{name!r} is not an object")
    return value


def _task_id(name: str, value: Any) -> str:
    return validate_task_id(_text(name, value))


def _history(name: str, value: Any) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name!r} is not a list")
    pairs = []
    for item in value:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise TypeError(f"{name!r} has an item that is not a [status, time] pair")
        pairs.append((_text(name, item[0]), _number(name, item[1])))
    return tuple(pairs)


def _problem(name: str, value: Any) -> HttpProblem | None:
    if _opt_object(name, value) is None:
        return None
    return HttpProblem(  # keys it does not know (a newer version's) are ignored
        kind=_text(f"{name}.kind", value.get("kind")),
        message=_text(f"{name}.message", value.get("message")),
        status_code=_opt_whole(f"{name}.status_code", value.get("status_code")),
        body_excerpt=_opt_text(f"{name}.body_excerpt", value.get("body_excerpt")),
        at=_opt_number(f"{name}.at", value.get("at")),
    )


_RECORD_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "id": _task_id,
    "status": _text,
    "created": _opt_whole,
    "model": _opt_text,
    "video_url": _opt_text,
    "video_url_at": _opt_number,
    "actual_duration": _opt_number,
    "error": _opt_text,
    "prompt": _opt_text,
    "label": _opt_text,
    "params": _opt_object,
    "added_at": _opt_number,
    "checked_at": _opt_number,
    "updated_at": _opt_number,
    "history": _history,
    "last_problem": _problem,
    "local_path": _opt_text,
    "size": _opt_whole,
    "sha256": _opt_text,
    "download_error": _opt_text,
    "media": _opt_object,
}


# Types taken without a checker call (None aside): most fields of most records, so that
# reading 50,000 records costs little more than parsing them. A float must still be finite;
# an int where a number is stored goes through its checker (a huge one is no time).
_PLAIN: dict[str, tuple[type, ...]] = {
    name: kinds
    for name, kinds in (
        ("status", (str,)),
        ("created", (int,)),
        ("model", (str,)),
        ("video_url", (str,)),
        ("video_url_at", (float,)),
        ("actual_duration", (float,)),
        ("error", (str,)),
        ("prompt", (str,)),
        ("label", (str,)),
        ("added_at", (float,)),
        ("checked_at", (float,)),
        ("updated_at", (float,)),
        ("local_path", (str,)),
        ("size", (int,)),
        ("sha256", (str,)),
        ("download_error", (str,)),
    )
}


@dataclass(frozen=True, slots=True)
class TaskRecord:
    """One watched task as kept in the watchlist."""

    id: str
    status: str = ""
    created: int | None = None
    model: str | None = None
    video_url: str | None = None
    video_url_at: float | None = None  # when we received the current video_url
    actual_duration: float | None = None
    error: str | None = None
    prompt: str | None = None
    label: str | None = None
    params: dict[str, Any] | None = None  # the create request, when we made the task
    added_at: float | None = None
    checked_at: float | None = None  # last successful answer
    updated_at: float | None = None  # last change of anything the API said
    history: tuple[tuple[str, float], ...] = ()
    last_problem: HttpProblem | None = None
    local_path: str | None = None
    size: int | None = None
    sha256: str | None = None
    download_error: str | None = None
    media: dict[str, Any] | None = None  # what the saved file decoded as (media.MediaFacts)

    @classmethod
    def created_here(
        cls, result: TaskResult, request: CreateRequest, now: float, label: str | None = None
    ) -> TaskRecord:
        """The record of a task we just submitted: it keeps the request for resubmitting."""
        return cls(
            id=result.id,
            prompt=request.prompt,
            label=" ".join((label or request.prompt).split())[:80],
            params=request.to_json(),
            added_at=now,
        ).with_result(result, now)

    @property
    def kind(self) -> TaskStatus:
        return TaskStatus.from_word(self.status)

    @property
    def is_final(self) -> bool:
        return self.kind.is_final

    def with_result(self, result: TaskResult, now: float) -> TaskRecord:
        """This record after a successful poll answered `result` at `now`."""
        changed = (
            result.status != self.status
            or result.error != self.error
            or result.actual_duration != self.actual_duration
        )
        history = self.history
        if result.status != self.status:
            history = (*history, (result.status, now))
        url_at = self.video_url_at
        if result.video_url != self.video_url:
            url_at = now if result.video_url else None
            changed = True
        return replace(
            self,
            status=result.status,
            created=result.created if result.created is not None else self.created,
            model=result.model or self.model,
            video_url=result.video_url,
            video_url_at=url_at,
            actual_duration=result.actual_duration,
            error=result.error,
            checked_at=now,
            updated_at=now if changed else self.updated_at,
            history=history,
            last_problem=None,
        )

    def to_doc(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict: this runs for every task of a polling pass.
        doc = {name: getattr(self, name) for name in self.__dataclass_fields__}
        doc["history"] = [list(item) for item in self.history]
        doc["last_problem"] = asdict(self.last_problem) if self.last_problem else None
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> TaskRecord:
        """The record stored as `doc`; TypeError/ValueError if a field has the wrong type.

        Fields it does not know (written by a newer version) are ignored.
        """
        values: dict[str, Any] = {}
        plain = _PLAIN
        for name, value in doc.items():
            kinds = plain.get(name)
            if kinds is not None and (
                (value is None and name != "status")
                or (type(value) in kinds and (type(value) is not float or value - value == 0))
            ):
                values[name] = value  # `value - value` is NaN for an infinity or a NaN
                continue
            check = _RECORD_FIELDS.get(name)
            if check is not None:
                values[name] = check(name, value)
        if "id" not in values:
            raise TypeError("'id' is missing")
        return cls(**values)

    def public_json(self) -> dict[str, Any]:
        """The shape `list --json` promises (CONTRACT.md), plus a few useful extras."""
        return {
            "id": self.id,
            "status": self.status or TaskStatus.NEW.value,
            "created": self.created,
            "video_url": self.video_url,
            "actual_duration": self.actual_duration,
            "error": self.error,
            "local_path": self.local_path,
            "updated_at": self.updated_at,
            "checked_at": self.checked_at,
            "prompt": self.prompt,
            "label": self.label,
            "size": self.size,
            "sha256": self.sha256,
            "media": self.media,
            "download_error": self.download_error,
            "last_problem": asdict(self.last_problem) if self.last_problem else None,
            "history": [{"status": s, "at": t} for s, t in self.history],
        }


@dataclass(slots=True)
class PassReport:
    """What one polling pass did: for the CLI to print and the TUI to render."""

    polled: int = 0
    transitions: list[tuple[str, str, str]] = field(default_factory=list)  # id, old, new
    problems: dict[str, HttpProblem] = field(default_factory=dict)
    records: dict[str, TaskRecord] = field(default_factory=dict)
    auth_failed: bool = False
    paused_until: float | None = None
