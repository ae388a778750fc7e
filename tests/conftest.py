"""Shared fixtures: a clock the test moves by hand and a simulator on loopback that uses it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.store import Watchlist


class FakeClock:
    """A clock that stands still until `advance()`; call it like `time.time`."""

    def __init__(self, start: float | None = None) -> None:
        # A realistic Unix time, so the same clock can serve as wall and monotonic clock.
        self.now = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Simulator]:
    """The API and video host on 127.0.0.1 (a free port), driven by `clock`."""
    sim = Simulator(SimConfig(port=0, seed=7), clock=clock).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def watchlist(tmp_path: Path) -> Watchlist:
    return Watchlist(tmp_path / "watchlist.json")
