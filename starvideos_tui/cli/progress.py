"""What a waiting command is waiting for, on stderr (stdout keeps the ids and the changes);
and how much of a video `download` has saved.

When stderr is a terminal, one line rewritten in place every second ("waiting: video_…
queued for 42s · next poll in 12s"), also when stdout is a pipe (`id=$(… create --wait)`).
When stderr is not a terminal (a log file, a CI job), plain lines: at once what it waits
for ("waiting for video_… (queued); polling every 30 s"), then one after each poll, so a
log shows the command alive long before the first status change; an error is the last line.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TextIO

from starvideos_tui.core.formatting import ago
from starvideos_tui.core.mediafacts import human_size
from starvideos_tui.core.textsafe import clean
from starvideos_tui.engine.events import PassEnded
from starvideos_tui.engine.monitor import Monitor

TICK = 1.0  # seconds between rewrites of the line on a terminal
SAVING_TICK = 0.2  # seconds between rewrites of a download's line


def waiting_line(m: Monitor, now: float, monotonic: float) -> str | None:
    """The tasks still running, how long they have been in their state, the next poll."""
    waiting = [r for r in m.records.values() if r.needs_polling]
    if not waiting:
        return "saving the video" if m.downloads.busy else None
    wake = m.schedule.next_wakeup()
    poll = f"next poll in {max(0.0, wake - monotonic):.0f}s" if wake is not None else "polling"
    if len(waiting) == 1:
        record = waiting[0]
        since = record.history[-1][1] if record.history else record.added_at
        took = f" for {ago(now - since)}" if since else ""
        return f"waiting: {record.id} {clean(record.status or 'unchecked')}{took} · {poll}"
    counts = Counter(clean(r.status or "unchecked") for r in waiting)
    tally = ", ".join(f"{n} {word}" for word, n in counts.most_common())
    return f"waiting for {len(waiting)} tasks: {tally} · {poll}"


def first_line(m: Monitor) -> str | None:
    """What a waiting command waits for, said as it starts."""
    waiting = [r for r in m.records.values() if r.needs_polling]
    if not waiting:
        return None
    every = f"polling every {m.interval:g} s"
    if len(waiting) == 1:
        return f"waiting for {waiting[0].id} ({clean(waiting[0].status or 'unchecked')}); {every}"
    counts = Counter(clean(r.status or "unchecked") for r in waiting)
    tally = ", ".join(f"{n} {word}" for word, n in counts.most_common())
    return f"waiting for {len(waiting)} tasks ({tally}); {every}"


class Progress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._shown = False
        self._monitor: Monitor | None = None  # while ticking, for the lines of a log

    def _line(self, text: str | None) -> None:
        if text is not None:
            self.stream.write(text + "\n")
            self.stream.flush()

    def polled(self, ended: PassEnded) -> None:
        """Off a terminal: a line after each poll (on one, the ticking line says it)."""
        if not self.live and self._monitor is not None and ended.asked:
            self._line(waiting_line(self._monitor, time.time(), time.monotonic()))

    def clear(self) -> None:
        """Before a line on stdout: the live line is taken away first."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def show(self, m: Monitor) -> None:
        line = waiting_line(m, time.time(), time.monotonic())
        if line is None:
            self.clear()
        elif self.live:
            width = shutil.get_terminal_size().columns - 1
            self.stream.write(f"\r{line[:width]}\x1b[K")
            self.stream.flush()
            self._shown = True

    def saving(self, task_id: str) -> Callable[[int, int | None], None] | None:
        """On a terminal, a download's bytes so far, one line rewritten in place (at most
        every SAVING_TICK s, and at the end); None elsewhere (a log wants no such line)."""
        if not self.live:
            return None
        last = [0.0]

        def show(done: int, total: int | None) -> None:
            now = time.monotonic()
            if now - last[0] < SAVING_TICK and done != total:
                return
            last[0] = now
            whole = f" of {human_size(total)}, {100 * done // total}%" if total else ""
            self.stream.write(f"\r{task_id}: {human_size(done)}{whole}\x1b[K")
            if done == total:
                self.stream.write("\n")
            self.stream.flush()

        return show

    @contextlib.contextmanager
    def ticking(self, m: Monitor) -> Iterator[None]:
        """On a terminal, the line rewritten every second while the block runs; else a
        line now and one after each poll (`polled`)."""
        if not self.live:
            self._line(first_line(m))
            self._monitor = m
            try:
                yield
            finally:
                self._monitor = None
            return

        async def tick() -> None:
            while True:
                self.show(m)
                await asyncio.sleep(TICK)

        task = asyncio.get_running_loop().create_task(tick())
        try:
            yield
        finally:
            task.cancel()
            self.clear()
