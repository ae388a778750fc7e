"""Per-key token buckets: the simulator's answer to a client that polls too fast."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable


class RateLimiter:
    """`rate` requests per second per key, with bursts of up to max(1, rate)."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._burst = max(1.0, rate)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def retry_after(self, key: str) -> int | None:
        """None when the request may go ahead, else whole seconds to wait (at least 1)."""
        if self._rate <= 0:
            return None
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + max(0.0, now - last) * self._rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self._rate))
