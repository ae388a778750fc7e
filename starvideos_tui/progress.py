"""What a waiting command is waiting for, on stderr (stdout keeps the ids and the changes).

When stderr is a terminal, one line rewritten in place every second ("waiting: video_…
queued for 42s · next poll in 12s"), also when stdout is a pipe (`id=$(… create --wait)`).
When stderr is not a terminal nothing is said: a script's stderr holds one line, the
error, if any (docs/contract.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import TextIO

from starvideos_tui.formatting import ago
from starvideos_tui.monitor import Monitor
from starvideos_tui.textsafe import clean

TICK = 1.0  # seconds between rewrites of the line on a terminal


def waiting_line(m: Monitor, now: float, monotonic: float) -> str | None:
    """The tasks still running, how long they have been in their state, the next poll."""
    waiting = [r for r in m.records.values() if not r.is_final]
    if not waiting:
        return "saving the video" if m.downloads.busy else None
    wake = m.schedule.next_wakeup()
    poll = f"next poll in {max(0.0, wake - monotonic):.0f}s" if wake is not None else "polling"
    if len(waiting) == 1:
        record = waiting[0]
        since = record.history[-1][1] if record.history else record.added_at
        took = f" for {ago(now - since)}" if since else ""
        return f"waiting: {record.id} {clean(record.status or 'new')}{took} · {poll}"
    counts = Counter(clean(r.status or "new") for r in waiting)
    tally = ", ".join(f"{n} {word}" for word, n in counts.most_common())
    return f"waiting for {len(waiting)} tasks: {tally} · {poll}"


class Progress:
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self._shown = False

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

    @contextlib.contextmanager
    def ticking(self, m: Monitor) -> Iterator[None]:
        """On a terminal, the line rewritten every second while the block runs."""
        if not self.live:
            yield
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
