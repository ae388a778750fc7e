"""Which tasks a user means: by status or shown state, label, age, activity, archive.

The one place that reads `7d` as seven days and `link-expired` as a state, and that
says when a task finished: `list`'s filters, `archive` and `remove --finished` use it,
and the TUI may (no Textual here). Each check is a pure function of a record and the
clock; `Selection` joins them: its filters combine with AND, its statuses with OR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starvideos_tui.core import worklist
from starvideos_tui.core.errors import UsageError
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.vocabulary import LINK_EXPIRED, UNCHECKED, DownloadState, status_look
from starvideos_tui.core.worklist import finished_at

# -- ages ---------------------------------------------------------------------------------

AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_AGE = 100 * 365 * 86400.0  # a century: past it an age is a typo, not a wish
_AGE_PART = r"([0-9]+(?:\.[0-9]+)?)([smhdw])"  # compiled on first use: every command imports this


def parse_age(text: str, flag: str = "age") -> float:
    """Seconds in an age as people type it: `90s`, `30m`, `12h`, `7d`, `2w`, `1.5h`,
    `1d12h`; case and surrounding blanks do not matter. UsageError (naming `flag`) for
    anything else: a bare number is refused, its unit is not guessed."""
    word = text.strip().lower()
    if not re.fullmatch(f"(?:{_AGE_PART})+", word):
        hint = " (add a unit)" if re.fullmatch(r"[0-9]+(\.[0-9]+)?", word) else ""
        raise UsageError(
            f"{flag} must be an age such as 90s, 30m, 12h, 7d or 2w, got {text!r}{hint}"
        )
    seconds = sum(float(n) * AGE_UNITS[unit] for n, unit in re.findall(_AGE_PART, word)) + 0.0
    if seconds > MAX_AGE:
        raise UsageError(f"{flag} must be at most 100 years, got {text!r}")
    return seconds


# -- statuses and shown states ------------------------------------------------------------

API_STATUSES = tuple(s.value for s in TaskStatus if s.value not in ("new", "unknown"))
# Every word vocabulary.status_look can show for a state, besides the API's own words
# (tests/test_list_filters.py checks each is reachable, and that nothing else is).
SHOWN_STATES = (
    UNCHECKED,
    "downloaded",
    "download queued",
    "downloading",
    LINK_EXPIRED,
    "not a video",
    "save failed",
    "rate limited",
    "retrying",
    "unknown id",
)
STATUS_WORDS = API_STATUSES + SHOWN_STATES
# As a shell offers them (no blanks inside a word); typed either way.
STATUS_CHOICES = tuple(word.replace(" ", "-") for word in STATUS_WORDS)


def parse_status(text: str, flag: str = "status") -> str:
    """The status or shown state `text` names (any case; `link-expired`, `link_expired`
    and `link expired` alike), as `status_word` says it. UsageError listing the words
    accepted, for any other."""
    word = " ".join(text.strip().lower().replace("-", " ").replace("_", " ").split())
    if word not in STATUS_WORDS:
        raise UsageError(f"{flag}: unknown status {text!r}; use one of {', '.join(STATUS_CHOICES)}")
    return word


def shown_state(record: TaskRecord, download: DownloadState | None = None) -> str:
    """The state word as `status_look` shows it, without a download's percentage."""
    word = status_look(record, download).word
    return "downloading" if word.startswith("downloading") else word


def matches_status(
    record: TaskRecord, words: Iterable[str], download: DownloadState | None = None
) -> bool:
    """Whether the task's API status or its shown state is one of `words` (parse_status's):
    `completed` takes every completed task, saved or not; `downloaded` only the saved."""
    wanted = set(words)
    kind = record.kind
    if kind.value in wanted and kind not in (TaskStatus.NEW, TaskStatus.UNKNOWN):
        return True
    return shown_state(record, download) in wanted


# -- times and activity -------------------------------------------------------------------


def finished_before(record: TaskRecord, cutoff: float) -> bool:
    """Final, and finished at or before `cutoff` (an `--older-than`'s now - age)."""
    at = finished_at(record)
    return at is not None and at <= cutoff


def started_at(record: TaskRecord) -> float | None:
    """When the task was made (the API's `created`), else when it was watched; None when
    nothing says (worklist.started_at's 0)."""
    return worklist.started_at(record) or None


def is_active(record: TaskRecord) -> bool:
    """Still the user's concern, as the TUI's work view has it: not final, or a video made
    and not saved that still can be (a link known dead is past saving)."""
    kind = record.kind
    if kind is TaskStatus.COMPLETED:
        return worklist.unsaved(record)
    return kind is not TaskStatus.FAILED


def label_of(record: TaskRecord) -> str:
    """The label as the table shows it: the user's label, else the prompt."""
    return record.label or record.prompt or ""


# -- a selection --------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """Filters that combine with AND; no filter set takes every unarchived task.

    statuses: parse_status words, any of which matches; label: a text the label (or the
    prompt) holds, in any case; since: seconds, the task made no longer ago than that;
    active: is_active only; archived: take archived tasks too."""

    statuses: frozenset[str] = frozenset()
    label: str | None = None
    since: float | None = None
    active: bool = False
    archived: bool = False

    def matches(
        self, record: TaskRecord, now: float, download: DownloadState | None = None
    ) -> bool:
        if record.archived and not self.archived:
            return False
        if self.active and not is_active(record):
            return False
        if self.statuses and not matches_status(record, self.statuses, download):
            return False
        if self.label and self.label.casefold() not in label_of(record).casefold():
            return False
        if self.since is not None:
            start = started_at(record)
            if start is None or start < now - self.since:
                return False
        return True

    def matches_fields(self, values: Mapping[str, Any], now: float) -> bool:
        """`matches` of the task whose checked field values these are (a stream read to be
        printed): its record is made only for a filter that needs more than its archive
        flag."""
        if values.get("archived") and not self.archived:
            return False
        if not (self.statuses or self.label or self.active or self.since is not None):
            return True
        return self.matches(TaskRecord.from_fields(values), now)

    def select(self, records: Iterable[TaskRecord], now: float) -> list[TaskRecord]:
        return [r for r in records if self.matches(r, now)]
