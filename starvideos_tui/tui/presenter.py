"""What the app does with each of the engine's events: counts, the API's word and colour,
toasts and desktop notifications (which ones: alerts.py, shared with the headless
commands; how: notify.py). Kept out of the app, which it reaches
through `Face`."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Mapping
from functools import partial
from typing import Protocol, TypeVar

from textual.notifications import SeverityLevel

from starvideos_tui.core.burst import Burst
from starvideos_tui.core.eta import RunTimes
from starvideos_tui.core.formatting import ago, short_id, shorten
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.core.vocabulary import DownloadState
from starvideos_tui.core.worklist import WorkFacts
from starvideos_tui.engine import alerts
from starvideos_tui.engine import events as ev
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.handover import IN_THREAD, Prepared, prepare
from starvideos_tui.tui.view import StatusCounts

T = TypeVar("T")

API_COLOURS = {"ok": "success", "offline": "warning", "rate limited": "warning"}


def short_path(path: str) -> str:
    """A path as a person reads it: the home folder as ~."""
    home = os.path.expanduser("~")
    if home not in ("~", "/") and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


TOAST_TEXT = 36  # cells of text a toast holds on a line at 80 columns (half the screen)


def toast_path(path: str) -> str:
    """A path in a toast: ~ for home, and cut from its front to a line, so that it is
    never split mid-name ("…/downloads/video_x.mp4")."""
    return shorten(short_path(path), TOAST_TEXT, keep_end=True)


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

    def alert(self, kind: str, text: str) -> None: ...

    def render_soon(self) -> None: ...

    def render_rows(self) -> None: ...

    def render_status(self) -> None: ...

    def set_timer(self, delay: float, callback: Callable[[], None]) -> object: ...

    def in_thread(self, work: Callable[[], T], then: Callable[[T], None], group: str) -> None:
        """Run `work` off the UI thread, and `then` on it with what it returned (a later
        call of the same `group` supersedes it)."""
        ...

    def take_facts(self, facts: WorkFacts) -> None:
        """The work facts of a whole load, made off the UI thread (handover.py)."""
        ...


class Presenter:
    def __init__(self, face: Face, api_note: str | None) -> None:
        self.face = face
        self.counts = StatusCounts()
        self.api_state = api_note or "starting"
        self.api_colour = "warning" if api_note else ""
        # Toasts of a burst told together (core/burst.py).
        self._saved: Burst[str] = Burst(face.set_timer, self._tell_saved)  # paths saved
        # (task id, completed or failed)
        self._finished: Burst[tuple[str, TaskStatus]] = Burst(face.set_timer, self._tell_finished)
        self.links = alerts.Links()  # unsaved videos whose link will die
        # How long past tasks ran: expected finishes and stalls of running ones (eta.py).
        self.run_times = RunTimes()
        self._since_snapshot: list[TaskRecord] | None = None  # while a thread reads them
        self._reading = 0  # which (re)load's run times are being read
        self._handing = 0  # which (re)load is being prepared (handover.py)
        # While a whole load is prepared in a thread: the tasks changed since (counted then).
        self._meanwhile: set[str] | None = None

    @property
    def handing_over(self) -> bool:
        """A whole load is being prepared: the screen shows what it showed until then."""
        return self._meanwhile is not None

    def show(self, event: ev.Event) -> None:
        face = self.face
        if isinstance(event, ev.TasksChanged):
            if event.everything:
                self._take_all(event.records)
            else:
                self._recount([*event.records, *event.removed])
            if event.everything:  # a (re)load: the history as it is now, read in a thread
                self._since_snapshot = []  # (50,000 records take ~100 ms)
                self._reading += 1
                work = partial(RunTimes.of, list(face.records.values()))
                face.in_thread(work, partial(self._runs, self._reading), "run-times")
            else:
                for record in event.records.values():
                    self.run_times.add(record)  # a completed one adds its run
                    if self._since_snapshot is not None:
                        self._since_snapshot.append(record)
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
                self._saved.add(event.record.local_path or "")
            else:
                face.notify(event.error or "download failed", severity="error", title="Not saved")
            face.render_rows()
        elif isinstance(event, ev.Trouble):
            face.notify(event.message, severity="error", timeout=15)
        elif isinstance(event, ev.PassEnded):
            face.render_status()

    def _take_all(self, records: Mapping[str, TaskRecord]) -> None:
        """A (re)load: every task counted anew; a long one in a thread (handover.py).
        `records`: the engine's copy as it handed them over, which nothing changes."""
        self._handing += 1
        if len(records) <= IN_THREAD:
            self._meanwhile = None
            self._recount(None)
            return
        self._meanwhile = set()
        work = partial(prepare, records, dict(self.face.downloads))
        self.face.in_thread(work, partial(self._prepared, self._handing), "handover")

    def _prepared(self, handing: int, prepared: Prepared) -> None:
        """The whole load's counts and facts swapped in, the tasks changed meanwhile
        counted again on them (never the older answer over a newer change), then shown."""
        if handing != self._handing:
            return  # a later (re)load is being prepared
        meanwhile, self._meanwhile = self._meanwhile or set(), None
        prepared.links.told_as(self.links)
        self.counts, self.links = prepared.counts, prepared.links
        self._recount(list(meanwhile))
        self.face.take_facts(prepared.facts)
        self.face.render_rows()

    def _runs(self, reading: int, times: RunTimes) -> None:
        """The history's run times, read in a thread; what completed meanwhile added."""
        if reading != self._reading:
            return  # a later (re)load is being read
        for record in self._since_snapshot or ():
            times.add(record)
        self._since_snapshot = None
        self.run_times = times
        self.face.render_rows()

    def _tell_saved(self, paths: list[str]) -> None:
        """Saved videos are told together: one toast for a burst (auto-download, `t`)."""
        demo = " (a demo: removed on quit)" if self.face.config.demo else ""
        if len(paths) == 1:  # the name and the folder on lines of their own: no word is cut
            folder, name = os.path.split(paths[0])
            where = f"\nin {toast_path(folder)}" if folder else ""
            self.face.notify(f"saved {toast_path(name)}{where}{demo}", title="Downloaded")
            return
        folder = os.path.commonpath(paths) if all(paths) else ""
        if folder in paths:
            folder = os.path.dirname(folder)
        where = f"\nto {toast_path(folder)}" if folder else ""
        self.face.notify(f"{len(paths)} videos saved{where}{demo}", title="Downloaded")

    def _recount(self, ids: list[str] | None) -> None:
        if self._meanwhile is not None and ids is not None:
            self._meanwhile.update(ids)  # counted on the whole load's counts, once swapped in
            return
        self.counts.recount(self.face.records, self.face.downloads, ids)
        self.links.track(self.face.records, ids)

    def check_links(self, now: float) -> None:
        """A toast and a notification, once, for each video whose link is about to die unsaved
        (a download on its way is not warned of: alerts.py)."""
        dying = self.links.dying(now, self.face.downloads)
        if not dying:
            return
        soonest = ago(min(deadline for _, deadline in dying) - now)
        if len(dying) == 1:  # several at once (a burst of completions) make one toast
            message = f"the link of {short_id(dying[0][0])} dies in {soonest}, unsaved: d saves it"
        else:
            message = f"{len(dying)} video links die in {soonest} or so, unsaved: d saves each"
        self.face.notify(message, title="Link expiring", severity="warning", timeout=15)
        for task_id, _ in dying:
            self.face.alert(*alerts.expiring(task_id, soonest))

    def _announce(self, task_id: str, status: str) -> None:
        """A toast and a notification for a task that completed or failed; those of a
        burst (a first pass over many finished tasks) are told together."""
        said = alerts.finished(task_id, status, self.face.records.get(task_id))
        if said is None:
            return
        self.face.alert(*said)
        self._finished.add((task_id, TaskStatus.from_word(status)))

    def _tell_finished(self, finished: list[tuple[str, TaskStatus]]) -> None:
        done = [i for i, kind in finished if kind is TaskStatus.COMPLETED]
        failed = [i for i, kind in finished if kind is TaskStatus.FAILED]
        if len(done) == 1:
            self.face.notify(f"{short_id(done[0])} completed", title="Video ready")
        elif done:
            self.face.notify(f"{len(done)} videos completed", title="Videos ready")
        if len(failed) == 1:
            self.face.notify(f"{short_id(failed[0])} failed", title="Task failed", severity="error")
        elif failed:
            self.face.notify(f"{len(failed)} tasks failed", title="Failed", severity="error")
