"""The command palette's own commands (ctrl+p): every key of the monitor by what it does,
and the sorts and filters, beside Textual's few (theme, quit, screenshot). A user who does
not know a key finds it by its name; each hit says its key, so the palette teaches it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from starvideos_tui.tui.bindings import APP_BINDINGS, TABLE_BINDINGS, rebound
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.view import SORTS


class Face(Protocol):
    """What the commands need of the app (app.py's MonitorApp)."""

    config: AppConfig

    def sort_by(self, mode: str) -> None: ...

    def filter_by(self, text: str) -> None: ...


if TYPE_CHECKING:

    class MonitorApp(App[None], Face):
        """For the type checker only: the app as these commands see it."""


# The words a filter by status is most often wanted for (the status bar's words).
FILTER_WORDS = ("processing", "queued", "completed", "downloaded", "failed", "unknown id")


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[], object]


def binding_commands(app: MonitorApp) -> Iterator[Command]:
    """A command per binding that has a description, on the key the user has it on."""
    table = app.query_one("#tasks")
    seen: set[str] = set()
    for where, bindings in ((table, TABLE_BINDINGS), (app, APP_BINDINGS)):
        for binding in rebound(bindings, app.config.keymap):
            if not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            keys = " ".join(
                app.get_key_display(binding.with_key(k.strip())) for k in binding.key.split(",")
            )
            help_text = f"{keys}  {binding.tooltip}" if binding.tooltip else keys
            yield Command(binding.description, help_text, partial(_run, app, binding, where))


def _run(app: MonitorApp, binding: Binding, where: object) -> None:
    app.call_later(app.run_action, binding.action, where)


def view_commands(app: MonitorApp) -> Iterator[Command]:
    for mode in SORTS:
        yield Command(f"Sort by {mode}", "s cycles the sorts", partial(app.sort_by, mode))
    for word in FILTER_WORDS:
        yield Command(
            f"Show {word} only",
            "/ filters by id, label, prompt or status",
            partial(app.filter_by, word),
        )
    yield Command("Show every task", "clear the filter (esc)", partial(app.filter_by, ""))


class AppCommands(Provider):
    """The monitor's actions, sorts and filters in the command palette."""

    def _commands(self) -> Iterable[Command]:
        app: MonitorApp = self.app  # type: ignore[assignment]  # the app is one
        return [*binding_commands(app), *view_commands(app)]

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.name, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.name)
            if score > 0:
                yield Hit(score, matcher.highlight(command.name), command.run, help=command.help)
