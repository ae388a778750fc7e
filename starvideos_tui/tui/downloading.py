"""The download side of the app: at most DOWNLOAD_SLOTS at once, the rest queued.

Each download is a worker around the core's `save_task_video` (the same code as the CLI's
`download`); progress and the outcome come back as messages.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from textual import work

from starvideos_tui.download import DownloadError
from starvideos_tui.store import WatchlistError
from starvideos_tui.tui.messages import DownloadFinished, DownloadProgress
from starvideos_tui.tui.widgets.task_table import DownloadState
from starvideos_tui.videos import NotDownloadable, save_task_video

if TYPE_CHECKING:
    from starvideos_tui.tui.app import StarVideosApp

    _Base = StarVideosApp
else:
    _Base = object

log = logging.getLogger(__name__)

DOWNLOAD_SLOTS = 2


class DownloadsMixin(_Base):
    def start_download(self, task_id: str) -> None:
        if task_id in self.downloads and self.downloads[task_id].phase != "error":
            return
        self.downloads[task_id] = DownloadState("queued")
        self.download_video(task_id)
        self.render_rows()

    @work(group="downloads", exit_on_error=False)
    async def download_video(self, task_id: str) -> None:
        async with self._slots:
            if self.client is None:
                self.post_message(DownloadFinished(task_id, None, self.config.api_note))
                return
            self.downloads[task_id] = DownloadState("downloading")

            def progress(done: int, total: int | None) -> None:
                self.post_message(DownloadProgress(task_id, done, total))

            try:
                await save_task_video(
                    task_id,
                    client=self.client,
                    watchlist=self.watchlist,
                    folder=self.config.download_dir,
                    progress=progress,
                    now=self.config.wall_clock,
                )
                record = self.watchlist.get(task_id)
            except (DownloadError, NotDownloadable, WatchlistError) as exc:
                self.post_message(DownloadFinished(task_id, None, str(exc)))
            except Exception as exc:
                log.exception("download of %s failed", task_id)
                self.post_message(DownloadFinished(task_id, None, f"download failed: {exc}"))
            else:
                self.post_message(DownloadFinished(task_id, record))

    def on_download_progress(self, message: DownloadProgress) -> None:
        self.downloads[message.task_id] = DownloadState("downloading", message.done, message.total)
        now = self.config.monotonic()
        if now - self._progress_shown.get(message.task_id, 0) >= 0.2:
            self._progress_shown[message.task_id] = now
            self.render_rows()

    def on_download_finished(self, message: DownloadFinished) -> None:
        self.downloads.pop(message.task_id, None)
        if message.record is not None:
            self.records[message.task_id] = message.record
            self.notify(f"saved {message.record.local_path}", title="Downloaded")
        else:
            try:
                fresh = self.watchlist.get(message.task_id)
            except WatchlistError:
                fresh = None
            if fresh is not None:
                self.records[message.task_id] = fresh
            self.notify(
                message.error or "download failed",
                severity="error",
                title="Not saved",
            )
        self.render_rows()
