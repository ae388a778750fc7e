"""The polling side of the app: one worker that arms the next pass when the last ends.

Polls never overlap: the worker runs `Poller.run_pass` and only then sleeps until the
schedule's next due time (or until a key press pokes it). It also notices when another
process rewrote the watchlist and picks up the ids it added.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from textual import work

from starvideos_tui.models import PassReport, TaskStatus
from starvideos_tui.store import WatchlistError
from starvideos_tui.tui.messages import PollFinished, WatchlistReloaded

if TYPE_CHECKING:
    from starvideos_tui.tui.app import StarVideosApp

    _Base = StarVideosApp
else:
    _Base = object

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 2.0


class PollingMixin(_Base):
    @work(group="poll", exit_on_error=False, exclusive=False)
    async def poll_loop(self) -> None:
        """The only place polls start: one pass at a time, the next armed when it ends.

        Without an API client it still notices ids that other processes add.
        """
        while True:
            try:
                await self._reload_if_changed()
                wake = self.schedule.next_wakeup() if self.poller is not None else None
                now = self.config.monotonic()
                if self.poller is None or wake is None or wake > now:
                    delay = RELOAD_CHECK_SECONDS if wake is None else wake - now
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._poke.wait(), min(delay, RELOAD_CHECK_SECONDS))
                    self._poke.clear()
                    continue
                self._poke.clear()
                report = await self.poller.run_pass()
                self.post_message(PollFinished(report))
            except asyncio.CancelledError:
                raise
            except WatchlistError as exc:
                self.notify(str(exc), severity="error", timeout=15)
                await asyncio.sleep(self.config.interval)
            except Exception:  # a bug must not stop polling for good
                log.exception("polling pass failed")
                self.api_state, self.api_colour = "poller error (see log)", "error"
                await asyncio.sleep(self.config.interval)

    async def _reload_if_changed(self) -> None:
        if not self.watchlist.changed_since_load():
            return
        records = await asyncio.to_thread(self.watchlist.load)
        self.post_message(WatchlistReloaded(records))

    def on_watchlist_reloaded(self, message: WatchlistReloaded) -> None:
        self.reload_records(message.records)

    def on_poll_finished(self, message: PollFinished) -> None:
        report = message.report
        self.records.update(report.records)
        if report.auth_failed:
            self.api_state, self.api_colour = "bad key: run starvideos-tui login", "error"
            self.notify("The API refused the key; polling stopped.", severity="error")
        elif (trouble := self._api_trouble(report)) is not None:
            self.api_state, self.api_colour = trouble, "warning"
        elif report.polled:
            self.api_state, self.api_colour = "API ok", "success"
        for task_id, _old, new in report.transitions:
            self._announce(task_id, new)
        self.render_rows()

    @staticmethod
    def _api_trouble(report: PassReport) -> str | None:
        """A word for the API as a whole when no task got a useful answer this pass."""
        kinds = {p.kind for p in report.problems.values()}
        if not report.polled or len(report.problems) < report.polled or "not_found" in kinds:
            return None
        if kinds == {"network"}:
            return "offline"
        return f"API trouble: {sorted(kinds)[0]}"

    def _announce(self, task_id: str, status: str) -> None:
        kind = TaskStatus.from_word(status)
        if kind is TaskStatus.COMPLETED:
            self.notify(f"{task_id} completed", title="Video ready")
            if self.auto_download:
                self.start_download(task_id)
        elif kind is TaskStatus.FAILED:
            self.notify(f"{task_id} failed", title="Task failed", severity="error")
        else:
            return
        if self.config.bell:
            self.bell()

    def poll_soon(self, task_ids: list[str]) -> None:
        if self.poller is None:
            self.notify(self.config.api_note or "polling is off", severity="warning")
            return
        self.schedule.poll_now(task_ids)
        if self.schedule.is_paused():
            self.notify("Rate limited: the refresh waits for the API's Retry-After.")
        self._poke.set()
