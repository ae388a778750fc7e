"""Words and short numbers shared by the CLI table and the TUI."""

from __future__ import annotations

import unicodedata

from starvideos_tui.core.eta import Estimate
from starvideos_tui.core.mediafacts import MediaFacts
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import clean


def ago(seconds: float | None) -> str:
    """A compact age: 42s, 5m, 3h, 2d; '-' when unknown."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 59.5:  # 59.6 s is "1m", never "60s"
        return f"{seconds:.0f}s"
    if seconds < 60:
        return "1m"
    if seconds < 3600:
        return f"{seconds // 60:.0f}m"
    if seconds < 86400:
        return f"{seconds // 3600:.0f}h"
    return f"{seconds // 86400:.0f}d"


def seen(record: TaskRecord, now: float) -> str:
    """When the API last answered for a task: its last good answer, or a 404 (the API
    saying it has no such task is an answer too, so "never" is kept for none at all)."""
    answered = record.checked_at
    problem = record.last_problem
    if problem is not None and problem.kind == "not_found" and problem.at is not None:
        answered = max(answered or 0.0, problem.at)
    return ago(now - answered) if answered else "never"


LINK_WARNING = 600.0  # seconds left on a video link, unsaved, that make it urgent


def link_left(record: TaskRecord, now: float) -> tuple[str, str]:
    """The video link as a row shows it, and how urgent it is ("", "warning", "error"):
    "9m left" when the signed link says when it dies (a warning under LINK_WARNING),
    "expired" after, "5m old" when it does not say; "-" with no link or once saved."""
    if record.local_path or not record.video_url:
        return "-", ""
    deadline = record.link_deadline
    if deadline is None:
        return (f"{ago(now - record.video_url_at)} old", "") if record.video_url_at else ("?", "")
    if deadline <= now:
        return "expired", "error"
    return f"{ago(deadline - now)} left", "warning" if deadline - now <= LINK_WARNING else ""


def due(estimate: Estimate, now: float) -> tuple[str, str]:
    """A running task's expected finish as a row shows it: "~3m", "stalled" (a warning),
    or "-" when its history says nothing."""
    if estimate.stalled:
        return "stalled", "warning"
    if estimate.eta is None:
        return "-", ""
    return f"~{ago(max(0.0, estimate.eta - now))}", ""


def video_length(record: TaskRecord) -> str:
    if record.actual_duration is None:
        return "-"
    return f"{record.actual_duration:g}s"


def media_summary(media: dict[str, object] | None) -> str | None:
    """ "320x180 h264, 12 fps, 3.0 s (mov)": the media facts of a saved file in a line."""
    facts = MediaFacts.from_json(media)
    if facts is None:
        return None
    fps = f", {facts.fps:g} fps" if facts.fps else ""
    return (
        f"{facts.width}x{facts.height} {clean(facts.codec)}{fps}, "
        f"{facts.duration:.1f} s ({clean(facts.container)})"
    )


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


def _cells(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide (CJK) characters count two."""
    if text.isascii():  # the common case, and C-fast: one column a character
        return len(text)
    return sum(_cells(c) for c in text)


def shorten(text: str, width: int, *, keep_end: bool = False) -> str:
    """`text` cut to at most `width` terminal columns, with an ellipsis when cut: at its
    end, or with `keep_end` at its front ("…/downloads/video_x.mp4", "…o3_1774836712345":
    what tells a path or a task id from the next is its end)."""
    if len(text) <= width and text.isascii():
        return text
    if display_width(text) <= width:
        return text
    if keep_end:
        return "…" + shorten(text[::-1], width)[-2::-1] if width > 1 else "…"
    out, used = [], 0
    for char in text:
        cells = _cells(char)
        if used + cells > width - 1:
            break
        out.append(char)
        used += cells
    return "".join(out) + "…"


ID_SHORT = 24  # "…starvideos_o3_1774836712345": an id in a toast or a status text


def short_id(task_id: str, width: int = ID_SHORT) -> str:
    """A task id in running text (toasts, the CLI's table): whole when it fits `width`,
    else cut from the front, keeping its distinctive end."""
    return shorten(task_id, width, keep_end=True)


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns."""
    return text + " " * max(0, width - display_width(text))
