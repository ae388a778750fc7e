"""What the app does with each of the engine's events: counts, the API's word and colour,
toasts and the bell. Kept out of the app, which it reaches through `Face`."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Protocol

from textual.notifications import SeverityLevel

from starvideos_tui import events as ev
from starvideos_tui.models import TaskRecord, TaskStatus
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.view import StatusCounts
from starvideos_tui.vocabulary import DownloadState

API_COLOURS = {"ok": "success", "offline": "warning", "rate limited": "warning"}


class Face(Protocol):
    """The parts of the app the presenter uses."""

    config: AppConfig

    @property
    def records(self) -> Mapping[str, TaskRecord]: ...

    @property
    def downloads(self) -> Mapping[str, DownloadState]: ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None: ...

    def bell(self) -> None: ...

    def render_soon(self) -> None: ...

    def render_rows(self) -> None: ...

    def render_status(self) -> None: ...


class Presenter:
    def __init__(self, face: Face, api_note: str | None) -> None:
        self.face = face
        self.counts = StatusCounts()
        self.api_state = api_note or "starting"
        self.api_colour = "warning" if api_note else ""

    def show(self, event: ev.Event) -> None:
        face = self.face
        if isinstance(event, ev.TasksChanged):
            self._recount(None if event.everything else [*event.records, *event.removed])
            face.render_soon()
            if event.everything:
                # A long watchlist is a million objects that live as long as the app: out
                # of the collector's sight, its full passes no longer freeze the screen.
                gc.freeze()
        elif isinstance(event, ev.DownloadQueued | ev.DownloadProgress):
            self._recount([event.task_id])
            face.render_soon()
        elif isinstance(event, ev.StatusChanged):
            self._announce(event.task_id, event.new)
        elif isinstance(event, ev.ApiState):
            self.api_state = event.text
            self.api_colour = (
                "error" if "key" in event.word else API_COLOURS.get(event.word, "warning")
            )
            if event.word == "bad key":
                face.notify("The API refused the key; polling stopped.", severity="error")
            face.render_status()
        elif isinstance(event, ev.DownloadEnded):
            self._recount([event.task_id])
            if event.record is not None:
                face.notify(f"saved {event.record.local_path}", title="Downloaded")
            else:
                face.notify(event.error or "download failed", severity="error", title="Not saved")
            face.render_rows()
        elif isinstance(event, ev.Trouble):
            face.notify(event.message, severity="error", timeout=15)
        elif isinstance(event, ev.PassEnded):
            face.render_status()

    def _recount(self, ids: list[str] | None) -> None:
        self.counts.recount(self.face.records, self.face.downloads, ids)

    def _announce(self, task_id: str, status: str) -> None:
        kind = TaskStatus.from_word(status)
        if kind is TaskStatus.COMPLETED:
            self.face.notify(f"{task_id} completed", title="Video ready")
        elif kind is TaskStatus.FAILED:
            self.face.notify(f"{task_id} failed", title="Task failed", severity="error")
        else:
            return
        if self.face.config.bell:
            self.face.bell()
