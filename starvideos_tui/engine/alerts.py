"""Which moments are worth a desktop notification, the same for every face: the TUI
(tui/presenter.py) and the headless `watch`, `wait` and `create --wait` (cli/watching.py).

- a task that completed, or failed (with its error);
- the signed link of a completed video that is neither saved nor being saved, within
  LINK_WARNING of its death: told once per deadline (a link already dead when first seen
  is not told: the row says "expired");
- those of TOGETHER seconds make one notification (core/burst.py gathers them; notify.py's
  Notifier counts them: "3 videos ready, 1 failed").

`Alerter` applies these rules to the engine's events for a face without Textual: its
escapes go to the controlling terminal (notify.Terminal), never into a pipe or a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Container, Iterable, Mapping

from starvideos_tui.core.burst import Burst
from starvideos_tui.core.formatting import LINK_WARNING, ago
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.engine import events as ev
from starvideos_tui.terminal.notify import Notifier, Terminal, choose


def finished(task_id: str, status: str, record: TaskRecord | None) -> tuple[str, str] | None:
    """The notification for a task that moved to `status`: (kind, text), or None."""
    kind = TaskStatus.from_word(status)
    if kind is TaskStatus.COMPLETED:
        return "completed", f"{task_id} completed"
    if kind is TaskStatus.FAILED:
        why = f": {record.error}" if record is not None and record.error else ""
        return "failed", f"{task_id} failed{why}"
    return None


def expiring(task_id: str, left: str) -> tuple[str, str]:
    return "expiring", f"the link of {task_id} dies in {left}, unsaved"


class Links:
    """Completed, unsaved videos whose link says when it dies: a few among thousands,
    checked every second; each deadline is told once."""

    def __init__(self) -> None:
        self.deadlines: dict[str, float] = {}
        self._told: set[tuple[str, float]] = set()

    def track(self, records: Mapping[str, TaskRecord], ids: Iterable[str] | None) -> None:
        """Take these records' deadlines (`ids` None: all of `records`, anew); an id not
        in `records` is forgotten."""
        if ids is None:
            self.deadlines.clear()
        for task_id in records if ids is None else ids:
            record = records.get(task_id)
            unsaved = record is not None and not record.local_path and record.video_url
            deadline = record.link_deadline if unsaved and record is not None else None
            if deadline is None:
                self.deadlines.pop(task_id, None)
            else:
                self.deadlines[task_id] = deadline

    def told_as(self, older: Links) -> None:
        """Remember what `older` told (a whole load tracked anew): each deadline is told once."""
        self._told = older._told

    def dying(self, now: float, downloading: Container[str]) -> list[tuple[str, float]]:
        """The links to warn of now, each once: (task id, deadline). A link dead already
        is never told, nor kept (a year of history holds thousands, looked at each second);
        a new deadline of its task (links refreshed) is tracked anew."""
        dying: list[tuple[str, float]] = []
        dead: list[str] = []
        for task_id, deadline in self.deadlines.items():
            if deadline <= now:
                dead.append(task_id)
            elif not (
                deadline - now > LINK_WARNING
                or (task_id, deadline) in self._told
                or task_id in downloading
            ):
                self._told.add((task_id, deadline))
                dying.append((task_id, deadline))
        for task_id in dead:
            del self.deadlines[task_id]
        return dying


class Alerter:
    """The rules above for a headless face: `heard` takes each engine event, `check_links`
    is called about every second, `close` sends what is still pending. The escapes go to
    `terminal`."""

    def __init__(self, notifier: Notifier, terminal: Terminal) -> None:
        self.notifier = notifier
        self.terminal = terminal
        self.links = Links()
        self.records: dict[str, TaskRecord] = {}
        self._burst: Burst[tuple[str, str]] = Burst(_call_later, self._send)

    @property
    def on(self) -> bool:
        return self.notifier.on

    def heard(self, event: ev.Event) -> None:
        if isinstance(event, ev.StatusChanged):
            said = finished(event.task_id, event.new, self.records.get(event.task_id))
            if said is not None:
                self._note(*said)
        elif isinstance(event, ev.TasksChanged):
            if event.everything:
                self.records = dict(event.records)
                self.links.track(self.records, None)
            else:
                self.records.update(event.records)
                for task_id in event.removed:
                    self.records.pop(task_id, None)
                self.links.track(self.records, [*event.records, *event.removed])

    def check_links(self, now: float, downloading: Container[str]) -> None:
        dying = self.links.dying(now, downloading)
        if dying:
            left = ago(min(deadline for _, deadline in dying) - now)
            for task_id, _ in dying:
                self._note(*expiring(task_id, left))

    @contextlib.asynccontextmanager
    async def looking(self, downloading: Container[str]) -> AsyncIterator[None]:
        """While the block runs, links about to die unsaved looked at every second."""

        async def look() -> None:
            while True:
                self.check_links(time.time(), downloading)
                await asyncio.sleep(1.0)

        task = asyncio.get_running_loop().create_task(look())
        try:
            yield
        finally:
            task.cancel()

    def _note(self, kind: str, text: str) -> None:
        if self.notifier.on:
            self._burst.add((kind, text))

    def _send(self, notes: list[tuple[str, str]]) -> None:
        self.terminal.write(self.notifier.escape(notes))

    def flush(self) -> None:
        self._burst.flush()

    def close(self) -> None:
        """Send what is pending now: the command is ending."""
        self.flush()
        self.terminal.close()


def _call_later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
    return asyncio.get_running_loop().call_later(delay, callback)


def headless(mode: str, env: Mapping[str, str]) -> Alerter | None:
    """The notifications of a headless command in `mode` (auto: as this terminal tells),
    or None when they are off or there is no terminal to send them to."""
    way = choose(mode, env)
    if way == "off":
        return None
    terminal = Terminal()
    if terminal.fd is None:
        return None
    return Alerter(Notifier(way, tmux=bool(env.get("TMUX"))), terminal)
