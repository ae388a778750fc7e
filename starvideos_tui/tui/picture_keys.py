"""The keys and events of the pictures: playback in the side panel (`space`, `←`/`→`),
and the pictures drawn again when the terminal lost them (tmux repainted the pane)."""

from __future__ import annotations

import contextlib
import os

from textual import events

from starvideos_tui.terminal.tmux import Pane
from starvideos_tui.tui.tasks import TaskActions
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.picture import redraw_all


class PictureActions(TaskActions):
    # Inside tmux with pictures in pixels: where this pane is on the terminal outside,
    # for every Picture (`Picture(app.config.graphics, app.picture_pane)`).
    picture_pane: Pane | None = None

    def setup_pictures(self, panel: DetailPanel) -> None:
        """Inside tmux with pictures in pixels: where the pane is; and the hint, once."""
        if panel.graphics is not None and panel.graphics.tmux:
            self.picture_pane = panel.pane = Pane(os.environ)
            self.picture_pane.update()
        if self.config.picture_hint and not self.no_color:
            self.notify(self.config.picture_hint, timeout=12)  # once, at start

    def action_play(self) -> None:
        """space: with the panel open on a saved task, play its video there, or pause it."""
        panel = self.query_one(DetailPanel)
        if not panel.has_class("-open") or not panel.play():
            self.notify("space plays a saved video in its panel (enter); terminals play no sound")

    def action_seek(self, seconds: float) -> None:
        """←/→: while a video plays (or is paused) in the panel, a second back or on."""
        self.query_one(DetailPanel).seek(float(seconds))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "seek":  # the arrows are left to others unless a video plays
            panel = self.query_one(DetailPanel)
            return panel.playback is not None and panel.playback.active
        return super().check_action(action, parameters)

    def on_resize(self, event: events.Resize) -> None:
        self._pictures_lost()

    def on_app_focus(self, event: events.AppFocus) -> None:
        self._pictures_lost()  # tmux repainted the pane (a window switch, an attach)

    def _pictures_lost(self) -> None:
        pane = self.picture_pane
        if pane is not None:
            self.run_worker(pane.update, thread=True, group="tmux-pane", exit_on_error=False)
        self.call_after_refresh(redraw_all, self)

    def watch_pane(self) -> None:
        """Inside tmux, with pictures sent past it: once a second, has the pane come back
        into sight (tmux sends no focus-in without `focus-events on`)? Asked in a thread."""
        pane = self.picture_pane
        if pane is None:
            return

        def ask() -> None:
            if pane.update():
                with contextlib.suppress(RuntimeError):  # the app closed meanwhile
                    self.call_from_thread(redraw_all, self)

        self.run_worker(ask, thread=True, group="tmux-pane", exclusive=True, exit_on_error=False)
