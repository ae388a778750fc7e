"""The keys that change what the main view shows, not the tasks: the side panel, the
filter, the sort, the keys screen and the command palette's own entries (app.py holds
the rendering; picks.py and sheet_actions.py the keys that act on tasks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on
from textual.actions import SkipAction
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Input, TextArea

from starvideos_tui.tui.bindings import rebound
from starvideos_tui.tui.picks import PickActions
from starvideos_tui.tui.screens.keys import KeysScreen, key_rows
from starvideos_tui.tui.view import next_sort
from starvideos_tui.tui.widgets.contact_sheet import ContactSheet
from starvideos_tui.tui.widgets.detail_panel import DetailPanel
from starvideos_tui.tui.widgets.filter_box import FilterBox
from starvideos_tui.tui.widgets.task_table import TaskTable


class ViewActions(PickActions):
    if TYPE_CHECKING:  # the app's (app.py)
        sort_mode: str
        filter_text: str

        def prepare_filter(self) -> None: ...

    @staticmethod
    def _toasts_clear_of(panel: DetailPanel) -> None:
        """Toasts go where the side panel is not (app.tcss, "-panel-open")."""
        panel.screen.set_class(panel.has_class("-open"), "-panel-open")

    # -- actions -------------------------------------------------------------------------

    def action_toggle_panel(self) -> None:
        panel = self.query_one(DetailPanel)
        if panel.has_class("-open"):
            panel.remove_class("-open")
            self._toasts_clear_of(panel)
        else:
            self.open_panel()

    def action_next_frame(self) -> None:
        """p: with the panel open on a saved task, its picture steps across the video."""
        panel = self.query_one(DetailPanel)
        if not panel.has_class("-open") or not panel.next_frame():
            self.notify("p steps through the picture of a saved video, in its panel (enter)")

    def action_close(self) -> None:
        """esc: close the panel; with no panel open, unmark the marked rows, or else clear
        the filter (as the README says)."""
        panel = self.query_one(DetailPanel)
        if panel.has_class("-open"):
            panel.remove_class("-open")
            self._toasts_clear_of(panel)
        elif self.clear_marks():
            pass
        elif self.filter_text:
            self.filter_text = ""
            self.render_rows(changed=())  # now, in the frame that hides the box
            self.query_one(FilterBox).action_clear_filter()
            self.main_view().focus()

    def action_help(self) -> None:
        table_keys = [b for b in ContactSheet.BINDINGS if isinstance(b, Binding)]
        bindings = [*table_keys, *(b for b in self.BINDINGS if isinstance(b, Binding))]
        shown = rebound(bindings, self.config.keymap)  # the keys the user has, not ours
        self.push_screen(KeysScreen(key_rows(shown, self._keys_display)))

    def _keys_display(self, binding: Binding) -> str:
        """ "q,ctrl+q" as "q ^q": each key as the footer writes it."""
        keys = binding.key.split(",")
        if len(keys) == 1:
            return self.get_key_display(binding)
        return " ".join(self.get_key_display(binding.with_key(k.strip())) for k in keys)

    def action_filter(self) -> None:
        """`/`: the filter box opens and owns every key typed after it.

        The binding has priority, so this runs when `/` is read, before the keys behind
        it are sent on; the focus is set here and now (not `box.focus()`, which Textual
        applies after the current message, by which time `q` had quit the app). A `/`
        typed in a text box, or over another screen, is that box's or screen's."""
        if self.screen is not self.screen_stack[0] or isinstance(self.focused, Input | TextArea):
            raise SkipAction()
        box = self.query_one(FilterBox)
        box.add_class("-open")
        self.screen.set_focus(box)
        self.call_after_refresh(self.prepare_filter)  # once the box is drawn

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        text = event.value.strip()
        if text == self.filter_text:  # a space typed, or the box emptied by esc (drawn)
            return
        self.filter_text = text
        self.render_rows(changed=())  # only the filter changed: no row is compared

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.main_view().focus()

    def action_sort(self) -> None:
        self.sort_by(next_sort(self.sort_mode))

    def sort_by(self, mode: str) -> None:
        self.sort_mode = mode
        self.notify(f"sorted by {self.sort_mode}")
        self.render_rows(changed=())

    def filter_by(self, text: str) -> None:
        """The filter set from the command palette: shown in its box, as if typed."""
        box = self.query_one(FilterBox)
        box.set_class(bool(text), "-open")
        box.value = text  # Input.Changed renders the rows
        if not text:
            self.filter_text = ""
            self.render_rows(changed=())
        self.query_one(TaskTable).focus()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own, but "Keys" opens the monitor's keys screen (every key, esc
        closes it, over the table) rather than Textual's help panel, which narrowed the
        table and stayed open on esc."""
        for command in super().get_system_commands(screen):
            if command.title == "Keys":
                command = SystemCommand("Keys", "Every key of the monitor", self.action_help)
            yield command
