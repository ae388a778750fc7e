"""Shared fixtures: a clock the test moves by hand and a simulator on loopback that uses it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_http import Respond, ScriptedHTTPServer, serve_tls

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


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedHTTPServer]]:
    started: list[tuple[ScriptedHTTPServer, threading.Thread]] = []

    def start(respond: Respond, tls: tuple[Path, Path] | None = None) -> ScriptedHTTPServer:
        server = ScriptedHTTPServer(respond)
        if tls is not None:
            serve_tls(server, *tls)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def start_sim() -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def start(**config: Any) -> Simulator:
        config.setdefault("queued_seconds", 0.2)
        config.setdefault("processing_seconds", 0.5)
        sim = Simulator(SimConfig(**config)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(start_sim: Callable[..., Simulator]) -> Simulator:
    return start_sim()
