"""Words and short numbers shared by the CLI table and the TUI."""

from __future__ import annotations

from starvideos_tui.models import TaskRecord, TaskStatus
from starvideos_tui.textsafe import clean


def ago(seconds: float | None) -> str:
    """A compact age: 42s, 5m, 3h, 2d; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


def video_length(record: TaskRecord) -> str:
    if record.actual_duration is None:
        return "-"
    return f"{record.actual_duration:g}s"


def status_word(record: TaskRecord) -> str:
    """The status as a word, including the app's own states a table should show."""
    kind = record.kind
    if kind is TaskStatus.COMPLETED and record.local_path:
        return "downloaded"
    if kind is TaskStatus.UNKNOWN:
        return clean(record.status)[:20]
    if record.last_problem and not kind.is_final:
        return "rate limited" if record.last_problem.kind == "rate_limited" else "error"
    return kind.value


def note(record: TaskRecord) -> str:
    """The most useful one-line detail: an error, a problem, a saved path, or the label."""
    if record.kind is TaskStatus.FAILED and record.error:
        return clean(record.error)
    if record.download_error:
        return clean(record.download_error)
    if record.last_problem and not record.is_final:
        return clean(record.last_problem.message)
    if record.local_path:
        return clean(record.local_path)
    return clean(record.label or record.prompt or "")


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
