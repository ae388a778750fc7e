"""When to poll which task: pure logic with an injectable clock, no I/O.

- Each unfinished task is due `interval` to `interval * (1 + 2 * jitter)` seconds after its
  last answer (never sooner: the API asks for 30 to 60 s), so that a thousand tasks added
  together drift apart instead of bursting every 30 s.
- Passes are at least `min_gap` apart (a tenth of the interval), so a spread-out watchlist
  is polled in a few batches per interval, not one pass (and one file write) per task.
- Final tasks are forgotten and never polled again.
- A Retry-After (429/503) pauses the whole client until it passes, capped at `max_pause`.
  A 429 never makes polling faster than the normal schedule: a Retry-After shorter than
  the interval (0, negative, a date in the past...) is raised to `rate_limit_pause`, the
  pause of a 429 that gives none, and the refused task waits at least its interval too.
- A request still out (`asking`: an answer that drips, handed on by its pass) is not due
  again until it ends.
- Server and network errors back off per task: full jitter, exponential, capped.
- A refused key stops all polling until `key_changed()` is called.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

DEFAULT_INTERVAL = 30.0
MIN_REMOTE_INTERVAL = 30.0
# Enough doublings to pass any sensible cap; 2**1024 (days of outage) overflows a float.
MAX_BACKOFF_DOUBLINGS = 64


@dataclass
class PollSchedule:
    interval: float = DEFAULT_INTERVAL
    jitter: float = 0.15
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    max_pause: float = 900.0
    rate_limit_pause: float = 30.0  # a 429 without a usable Retry-After, or one too short
    backoff_base: float = 5.0
    backoff_cap: float = 600.0
    next_due: dict[str, float] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    paused_until: float = 0.0
    auth_blocked: bool = False
    min_gap: float | None = None  # None: a tenth of the interval
    last_pass: float = float("-inf")
    urgent: bool = False  # the user asked for a poll now: no waiting for the gap
    asking: set[str] = field(default_factory=set)  # requests out now: not due until answered

    def _jittered(self, seconds: float) -> float:
        return seconds * (1.0 + self.rng.uniform(0.0, 2 * self.jitter))

    @property
    def gap(self) -> float:
        return self.interval / 10 if self.min_gap is None else self.min_gap

    def track(self, task_ids: Iterable[str]) -> None:
        """Start scheduling tasks not yet known; a new task is due at once."""
        now = self.clock()
        for task_id in task_ids:
            if task_id not in self.next_due:
                self.next_due[task_id] = now
                self.urgent = True  # a task just added is polled without waiting for the gap

    def forget(self, task_ids: Iterable[str]) -> None:
        for task_id in task_ids:
            self.next_due.pop(task_id, None)
            self.failures.pop(task_id, None)

    def sync(self, unfinished: Iterable[str]) -> None:
        """Make the schedule cover exactly these unfinished tasks."""
        wanted = set(unfinished)
        self.forget([t for t in self.next_due if t not in wanted])
        self.track(wanted)

    def is_paused(self, now: float | None = None) -> bool:
        now = self.clock() if now is None else now
        return self.auth_blocked or now < self.paused_until

    def due(self, now: float | None = None) -> list[str]:
        """Tasks to poll now, most overdue first; none while paused or blocked."""
        now = self.clock() if now is None else now
        if self.is_paused(now):
            return []
        ready = [
            (when, t) for t, when in self.next_due.items() if when <= now and t not in self.asking
        ]
        return [t for _, t in sorted(ready)]

    def next_wakeup(self) -> float | None:
        """When the next pass should start: the first due task, no sooner than `gap` after
        the last pass (unless the user asked), and after any pause. None: nothing to do."""
        waiting = [when for t, when in self.next_due.items() if t not in self.asking]
        if self.auth_blocked or not waiting:
            return None
        wake = min(waiting)
        if not self.urgent:
            wake = max(wake, self.last_pass + self.gap)
        return max(wake, self.paused_until)

    def pass_started(self) -> None:
        self.last_pass = self.clock()
        self.urgent = False

    def poll_now(self, task_ids: Iterable[str]) -> None:
        """The user asked for these now: due at once (a pause still holds)."""
        now = self.clock()
        self.urgent = True
        for task_id in task_ids:
            if task_id in self.next_due:
                self.next_due[task_id] = now

    def on_answer(self, task_id: str, final: bool) -> None:
        """The API answered for this task."""
        self.failures.pop(task_id, None)
        if final:
            self.forget([task_id])
        elif task_id in self.next_due:
            self.next_due[task_id] = self.clock() + self._jittered(self.interval)

    def on_rate_limited(self, task_id: str, retry_after: float) -> float:
        """A 429/503 asking for `retry_after` seconds: pause everything. Returns the pause
        used: no shorter than the interval (else `rate_limit_pause`), no longer than
        `max_pause`."""
        now = self.clock()
        if retry_after < self.interval:
            retry_after = max(retry_after, self.rate_limit_pause)
        pause = min(retry_after, self.max_pause)
        self.paused_until = max(self.paused_until, now + pause)
        if task_id in self.next_due:
            self.next_due[task_id] = max(self.paused_until, now + self._jittered(self.interval))
        return pause

    def on_failure(self, task_id: str) -> float:
        """A server, network or malformed-answer error: back off. Returns the delay."""
        count = self.failures.get(task_id, 0) + 1
        self.failures[task_id] = count
        doublings = min(count, MAX_BACKOFF_DOUBLINGS)
        ceiling = min(self.backoff_cap, self.backoff_base * 2**doublings)
        delay = max(self.backoff_base, self.rng.uniform(0, ceiling))
        if task_id in self.next_due:
            self.next_due[task_id] = self.clock() + delay
        return delay

    def on_not_found(self, task_id: str) -> None:
        """404: maybe a typo, maybe not visible yet; ask again, no faster than usual."""
        self.failures[task_id] = self.failures.get(task_id, 0) + 1
        if task_id in self.next_due:
            self.next_due[task_id] = self.clock() + self._jittered(self.interval)

    def ask_again_in(self, task_id: str, seconds: float) -> None:
        """Due again `seconds` from now (engine/unknownids.py: a typed id's 404)."""
        if task_id in self.next_due:
            self.next_due[task_id] = self.clock() + seconds

    def on_auth_failed(self) -> None:
        self.auth_blocked = True

    def key_changed(self) -> None:
        self.auth_blocked = False
