"""The one coalescer: what happens within TOGETHER seconds is told at once.

The TUI's toasts (a burst of saved or finished videos), its desktop notifications and a
headless command's notifications (engine/alerts.py) all go through `Burst`. The face
gives it its own timer (`arm`: Textual's `set_timer`, asyncio's `call_later`); the first
item of a burst arms it, and `tell` gets them all when it fires (or at `flush`, when a
command ends early)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

TOGETHER = 1.0  # seconds in which toasts, or notifications, make one
T = TypeVar("T")


class Burst(Generic[T]):
    def __init__(
        self,
        arm: Callable[[float, Callable[[], None]], object],
        tell: Callable[[list[T]], None],
    ) -> None:
        self.arm = arm
        self.tell = tell
        self.items: list[T] = []
        self._armed = 0  # which burst the armed timer is for: an earlier one's is ignored

    def add(self, item: T) -> None:
        self.items.append(item)
        if len(self.items) == 1:
            self._armed += 1
            armed = self._armed
            self.arm(TOGETHER, lambda: self._fire(armed))

    def _fire(self, armed: int) -> None:
        if armed == self._armed:
            self.flush()

    def flush(self) -> None:
        """Tell what is pending now (nothing: nothing told)."""
        items, self.items = self.items, []
        if items:
            self.tell(items)
