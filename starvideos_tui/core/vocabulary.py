"""One vocabulary for both faces: the word, glyph and colour of a task's state.

The TUI's rows and side panel and the CLI's `list` table say the same thing in the same
words; the colour is a theme variable name (success, warning, error, ...) that the TUI
resolves and the CLI ignores. Every state has a word, so nothing depends on colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from starvideos_tui.core.formatting import shorten
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.textsafe import clean

# What download.py's errors start with when the host sent something that is not the video.
NOT_A_VIDEO_PREFIX = "the host sent"
LINK_EXPIRED = "link expired"
UNCHECKED = "unchecked"  # watched, and the API has not answered for it yet


@dataclass(frozen=True)
class DownloadState:
    """What the app is doing with a task's video right now (not stored)."""

    phase: str  # "queued" or "downloading"
    done: int = 0
    total: int | None = None


@dataclass(frozen=True)
class StatusLook:
    glyph: str
    word: str
    colour: str  # a theme variable name: success, warning, error, accent, ...


# The looks that depend on nothing but the state: one each (status_look runs for every
# task `list` prints).
_DOWNLOADED = StatusLook("✓", "downloaded", "success")
_COMPLETED = StatusLook("●", "completed", "success")
_FAILED = StatusLook("✗", "failed", "error")
_PROCESSING = StatusLook("◐", "processing", "primary")
_QUEUED = StatusLook("○", "queued", "foreground")


def status_look(record: TaskRecord, download: DownloadState | None = None) -> StatusLook:
    """Glyph, word and theme colour of a task: the word alone must tell the state."""
    if download is not None:
        if download.phase == "downloading":
            pct = f" {100 * download.done // download.total}%" if download.total else ""
            return StatusLook("↓", f"downloading{pct}", "accent")
        return StatusLook("↓", "download queued", "accent")
    kind = record.kind
    if kind is TaskStatus.COMPLETED or kind is TaskStatus.FAILED:
        return final_look(kind, record.local_path, record.download_error)
    problem = record.last_problem
    if problem is not None:
        if problem.kind == "rate_limited":
            return StatusLook("‖", "rate limited", "warning")
        if problem.kind == "not_found":
            return StatusLook("!", "unknown id", "warning")
        return StatusLook("!", "retrying", "warning")
    if kind is TaskStatus.UNKNOWN:
        return StatusLook("?", shorten(clean(record.status), 16), "warning")
    if kind is TaskStatus.PROCESSING:
        return _PROCESSING
    if kind is TaskStatus.QUEUED:
        return _QUEUED
    return StatusLook("·", UNCHECKED, "foreground-muted")


def final_look(kind: TaskStatus, local_path: str | None, download_error: str | None) -> StatusLook:
    """The look of a finished task (`kind` completed or failed): all it depends on is
    whether its video was saved, or why not."""
    if kind is TaskStatus.FAILED:
        return _FAILED
    if local_path:
        return _DOWNLOADED
    if download_error:
        return StatusLook("!", _save_problem(download_error), "error")
    return _COMPLETED


def _save_problem(error: str) -> str:
    if error == LINK_EXPIRED:
        return LINK_EXPIRED
    if error.startswith(NOT_A_VIDEO_PREFIX):
        return "not a video"
    return "save failed"


def status_word(record: TaskRecord) -> str:
    """The word alone, as the CLI's table shows it."""
    return status_look(record).word
