"""The side panel: the whole record of the selected task, untrusted text shown literally."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from starvideos_tui.formatting import ago, link_left, media_summary
from starvideos_tui.media import human_size
from starvideos_tui.models import TaskRecord, TaskStatus
from starvideos_tui.textsafe import clean
from starvideos_tui.vocabulary import DownloadState, status_look


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    try:
        return datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M:%S")
    except (ValueError, OverflowError, OSError):  # a time the calendar cannot show
        return f"{stamp:g} (Unix time)"


def describe(
    record: TaskRecord,
    download: DownloadState | None,
    now: float | None = None,
    colours: Mapping[str, str] | None = None,
) -> Text:
    """The record as plain Text: nothing from the API can be read as markup. `colours`
    are the theme's (the table's), so the status and the error read as in the row."""
    now = time.time() if now is None else now
    colours = colours or {}
    look = status_look(record, download)
    out = Text()
    out.append(f"{look.glyph} {look.word}\n", style=f"bold {colours.get(look.colour, '')}".strip())
    out.append(f"{record.id}\n\n")

    def field(name: str, value: object, style: str = "") -> None:
        if value is None or value == "":
            return
        out.append(f"{name:<11}", style="dim")
        out.append(clean(str(value), keep_newlines=True) + "\n", style=style)

    if record.kind is TaskStatus.FAILED:
        out.append("Error\n", style=f"bold {colours.get('error', '')}".strip())
        out.append(clean(record.error or "no reason given", keep_newlines=True) + "\n\n")
    field("label", record.label)
    field("prompt", record.prompt)
    field("status", record.status or "new (not checked yet)")
    field("model", record.model)
    field("created", _when(record.created) if record.created else None)
    field("length", f"{record.actual_duration:g} s" if record.actual_duration else None)
    if record.video_url:
        field("video url", record.video_url)
        deadline = record.link_deadline
        if deadline is not None and not record.local_path:
            left, urgency = link_left(record, now)
            when = f"{_when(deadline)} ({left})" if left != "expired" else f"{_when(deadline)}"
            verb = "expired" if deadline <= now else "expires"
            field(verb, when, colours.get(urgency, "") if urgency else "")
        elif deadline is not None:
            field("expires", _when(deadline))
        else:
            age = ago(now - record.video_url_at) if record.video_url_at else "?"
            field("link age", f"{age} (the link does not say when it expires)")
    if download is not None and download.phase == "downloading":
        total = f" of {human_size(download.total)}" if download.total else ""
        field("download", f"{human_size(download.done)}{total}")
    field("saved to", record.local_path)
    field("size", f"{record.size:,} bytes" if record.size is not None else None)
    field("sha256", record.sha256)
    field("video", media_summary(record.media))
    field("not saved", record.download_error, colours.get("error", ""))
    field("added", _when(record.added_at))
    field("checked", _when(record.checked_at) if record.checked_at else "never")
    field("changed", _when(record.updated_at) if record.updated_at else None)
    if record.params:
        field("request", ", ".join(f"{k}={v}" for k, v in record.params.items() if k != "prompt"))
    problem = record.last_problem
    if problem is not None:
        out.append("\nLast problem\n", style="bold")
        code = f"HTTP {problem.status_code} " if problem.status_code else ""
        field("what", f"{code}{problem.kind}")
        field("message", problem.message)
        field("body", problem.body_excerpt)
        field("at", _when(problem.at))
    if record.history:
        out.append("\nHistory\n", style="bold")
        for status, at in record.history:
            out.append(f"{_when(at)}  ", style="dim")
            out.append(clean(status) + "\n")
    return out


class DetailPanel(VerticalScroll):
    """Shows one task; hidden until opened."""

    DEFAULT_CSS = """
    DetailPanel > Static { width: 1fr; }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body", markup=False)

    def show_record(
        self,
        record: TaskRecord | None,
        download: DownloadState | None,
        now: float,
        colours: Mapping[str, str] | None = None,
    ) -> None:
        body = self.query_one("#detail-body", Static)
        if record is None:
            body.update(Text("No task selected. Press a to add task ids."))
        else:
            body.update(describe(record, download, now, colours))
