"""Typed models of the StarVideos O3 API and of the watchlist.

Everything the API sends is untrusted: `answers.parse_result` is the one place where a JSON
body becomes a `TaskResult`. The watchlist file is untrusted too: `TaskRecord.from_doc`
checks every stored field.
"""

from __future__ import annotations

import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, replace
from enum import Enum
from itertools import repeat
from typing import Any

from starvideos_tui.core import linkexpiry, publicjson, sharing
from starvideos_tui.core import recordfields as fields
from starvideos_tui.core.errors import UsageError

TASK_ID_RE = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
MODEL_NAME = "starvideos_o3"
DEFAULT_BASE_URL = "https://zcbservice.aizfw.cn/kyyReactApiServer"


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
        # The documented words in another case, and nothing else: not "completed" with a
        # zero-width space in it, nor a word that folds into one ("proce\u017f\u017fing").
        word = word.strip()
        return _WORD_STATUS.get(word.lower(), cls.UNKNOWN) if word.isascii() else cls.UNKNOWN

    @property
    def is_final(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


KNOWN_WORDS = {"queued", "processing", "completed", "failed"}
_WORD_STATUS = {word: TaskStatus(word) for word in KNOWN_WORDS}


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


@dataclass(frozen=True, slots=True)
class HttpProblem:
    """The last thing that went wrong talking to the API about one task."""

    kind: str  # "auth", "not_found", "rate_limited", "server", "network", "malformed", ...
    message: str
    status_code: int | None = None
    body_excerpt: str | None = None
    at: float | None = None


def _task_id(name: str, value: Any) -> str:
    return validate_task_id(fields.text(name, value))


def _problem(name: str, value: Any) -> HttpProblem | None:
    if fields.opt_object(name, value) is None:
        return None
    return HttpProblem(  # keys it does not know (a newer version's) are ignored
        kind=fields.text(f"{name}.kind", value.get("kind")),
        message=fields.text(f"{name}.message", value.get("message")),
        status_code=fields.opt_whole(f"{name}.status_code", value.get("status_code")),
        body_excerpt=fields.opt_text(f"{name}.body_excerpt", value.get("body_excerpt")),
        at=fields.opt_number(f"{name}.at", value.get("at")),
    )


_WORDS = ("status", "model")
_SHARED_TEXTS = ("label", "error")

_RECORD_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "id": _task_id,
    "status": fields.text,
    "created": fields.opt_whole,
    "model": fields.opt_text,
    "video_url": fields.opt_text,
    "video_url_at": fields.opt_number,
    "actual_duration": fields.opt_number,
    "error": fields.opt_text,
    "prompt": fields.opt_text,
    "label": fields.opt_text,
    "params": fields.opt_object,
    "added_at": fields.opt_number,
    "checked_at": fields.opt_number,
    "updated_at": fields.opt_number,
    "history": fields.history,
    "last_problem": _problem,
    "local_path": fields.opt_text,
    "size": fields.opt_whole,
    "sha256": fields.opt_text,
    "download_error": fields.opt_text,
    "media": fields.opt_object,
    "link_expires_at": fields.opt_number,
    "rating": fields.rating,
    "rejected": fields.flag,
    "archived": fields.flag,
    "archived_at": fields.opt_number,
}


# Fields a stored record leaves out while they hold their default: 50,000 unrated tasks
# make a base file no longer and no slower to read for them.
_LEFT_OUT_AT_DEFAULT = (
    ("rating", 0),
    ("rejected", False),
    ("archived", False),
    ("archived_at", None),
)


_NONE = type(None)
# What a document of a given shape (its keys and their value types, in order) needs done:
# (whether it holds only known keys, the fields to put through their checkers, the float
# fields to check for finiteness). 50,000 documents of a watchlist come in a few shapes.
_Plan = tuple[bool, tuple[str, ...], tuple[str, ...]]
# Fields whose checker takes null as null, without a call.
_NONE_TAKEN = (fields.PLAIN.keys() - {"status"}) | {"last_problem"}
_PLANS: dict[tuple[tuple[str, ...], tuple[type, ...]], _Plan] = {}


def _plan(names: tuple[str, ...], kinds: tuple[type, ...]) -> _Plan:
    checks: list[str] = []
    floats: list[str] = []
    for name, kind in zip(names, kinds, strict=True):
        plain = fields.PLAIN.get(name)
        if name not in _RECORD_FIELDS:
            continue
        if plain is not None and kind in plain:
            if kind is float:
                floats.append(name)
        elif not (kind is _NONE and name in _NONE_TAKEN):
            checks.append(name)
    return set(names) <= _RECORD_FIELDS.keys(), tuple(checks), tuple(floats)


def checked_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a stored record, checked (TypeError/ValueError: `id` missing, or a
    field of the wrong type), unknown ones left out.

    The types of a document's values are looked at all at once (its shape); what each
    field of that shape needs (its checker, a finiteness check) is worked out once per
    shape. A float must be finite: the sum of a document's floats is finite only if each
    is (one that overflows the sum is checked alone)."""
    names = tuple(doc)
    kinds = tuple(map(type, doc.values()))
    plan = _PLANS.get((names, kinds))
    if plan is None:
        if len(_PLANS) > 4096:  # hostile variety: no unbounded cache
            _PLANS.clear()
        plan = _PLANS[(names, kinds)] = _plan(names, kinds)
    only_known, checks, floats = plan
    values = dict(doc) if only_known else {k: v for k, v in doc.items() if k in _RECORD_FIELDS}
    for name in checks:
        values[name] = _RECORD_FIELDS[name](name, values[name])
    if floats:
        total = sum(map(values.__getitem__, floats))
        if total - total != 0:
            for name in floats:
                fields.number(name, values[name])  # raises for the one not finite
    if "id" not in values:
        raise TypeError("'id' is missing")
    return values


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
    link_expires_at: float | None = None  # when video_url dies, as the signed link says
    rating: int = 0  # stars the user gave the take, 1 to MAX_RATING; 0 for none
    rejected: bool = False  # the user set the take aside (its rating is kept)
    archived: bool = False  # kept, never polled, out of the default view and of `list`
    archived_at: float | None = None

    @property
    def needs_polling(self) -> bool:
        """Not final and not archived: the API may still have something to say that we
        want to hear."""
        return not self.archived and not self.kind.is_final

    @property
    def link_deadline(self) -> float | None:
        """When the video link dies, if it says: recorded when the link arrived, read from
        the link itself for records kept before that was recorded."""
        return publicjson.link_deadline(self.link_expires_at, self.video_url)

    @property
    def kind(self) -> TaskStatus:  # asked several times of each of 50,000 records by `list`
        return _WORD_STATUS.get(self.status) or TaskStatus.from_word(self.status)

    @property
    def is_final(self) -> bool:
        kind = _WORD_STATUS.get(self.status) or TaskStatus.from_word(self.status)
        return kind is TaskStatus.COMPLETED or kind is TaskStatus.FAILED

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
        url_at, expires = self.video_url_at, self.link_expires_at
        if result.video_url != self.video_url:
            url_at = now if result.video_url else None
            expires = linkexpiry.link_expires_at(result.video_url)
            changed = True
        return replace(
            self,
            status=result.status,
            created=result.created if result.created is not None else self.created,
            model=result.model or self.model,
            video_url=result.video_url,
            video_url_at=url_at,
            link_expires_at=expires,
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
        for name, default in _LEFT_OUT_AT_DEFAULT:  # most tasks are never rated or archived
            if doc[name] == default:
                del doc[name]
        return doc

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any], kept: bool = True) -> TaskRecord:
        """The record stored as `doc`; TypeError/ValueError if a field has the wrong type.

        Fields it does not know (written by a newer version) are ignored. A record that is
        not `kept` (read to be printed once, by `list`) is the same record, without the
        sharing of equal strings and values that saves memory when 50,000 are held.
        """
        values = checked_fields(doc)
        if not kept:
            return _made(cls, values)
        for name in _WORDS:  # a few words repeated in every record: one string each
            if type(values.get(name)) is str:
                values[name] = sys.intern(values[name])
        for name in _SHARED_TEXTS:  # labels, errors: often the same text
            if type(values.get(name)) is str:
                values[name] = sharing.shared_text(values[name])
        if values.get("media"):
            values["media"] = sharing.shared_media(values["media"])
        checked = values.get("checked_at")
        if type(checked) is float:  # a finished task's last answer: often one time for all
            for name in ("updated_at", "video_url_at"):
                if type(values.get(name)) is float and values[name] == checked:
                    values[name] = checked  # 24 bytes each, 50,000 times
        history = values.get("history")
        if history:  # its times are mostly when the task was added and last answered
            values["history"] = sharing.shared_times(history, values.get("added_at"), checked)
        return _made(cls, values)

    def public_json(self) -> dict[str, Any]:
        """The shape `list --json` promises (docs/contract.md), plus a few useful extras."""
        return publicjson.public_of(self.field_values())

    def field_values(self) -> dict[str, Any]:
        """Every field's value by name, as `from_fields` takes them."""
        return dict(zip(_FIELD_NAMES, map(getattr, repeat(self), _FIELD_NAMES), strict=True))

    @classmethod
    def from_fields(cls, values: Mapping[str, Any]) -> TaskRecord:
        """The record of `checked_fields`' values (a field left out is at its default)."""
        return _made(cls, values)


def _made(cls: type[TaskRecord], values: Mapping[str, Any]) -> TaskRecord:
    """cls(**values), checked fields only. Not through the frozen dataclass's __init__, which
    sets its 26 fields one Python call at a time (7 us a record, a third of reading one):
    these C loops do what it does."""
    record = _new(cls)
    _fill(map(_setattr, repeat(record), _FIELD_NAMES, map(values.get, _FIELD_NAMES, _DEFAULTS)))
    return record


_new = object.__new__
_setattr = object.__setattr__
_fill: Callable[[Iterable[None]], None] = deque[None](maxlen=0).extend  # runs it, keeps nothing
_FIELD_NAMES = tuple(TaskRecord.__dataclass_fields__)
# Each default is immutable (None, "", (), 0, False), so shared; id is never missing here.
_DEFAULTS = tuple(
    None if f.default is MISSING else f.default for f in TaskRecord.__dataclass_fields__.values()
)
