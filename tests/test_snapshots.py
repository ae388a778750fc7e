"""Pictures of the main screens at 80x24 (pytest-textual-snapshot), in 256 colours, 16
colours and NO_COLOR. A changed look fails here: look at the report it names, and if the
change is meant, run `pytest tests/test_snapshots.py --snapshot-update` and commit the
SVGs under tests/__snapshots__/.

The apps are built in tests/snapshot_apps/scene.py: frozen clocks, a fixed watchlist, a
simulator that answers with canned bodies, nothing random left unseeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from snapshot_apps.scene import (
    COMPLETED,
    FAILED,
    SIZE,
    FrozenClock,
    SnapshotApp,
    build_app,
    canned_answers,
    select,
    settle,
)
from textual.pilot import Pilot

from starvideos_tui.simulator import SimConfig, Simulator

TERMINALS = ["256", "16", "no-color"]

Build = Callable[..., SnapshotApp]


@pytest.fixture
def scene(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Build]:
    """`scene(terminal)`: the app on a frozen simulator, in that terminal's colours."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    for name in ("NO_COLOR", "TEXTUAL_FILTERS", "TEXTUAL_THEME", "TEXTUAL_ANIMATIONS"):
        monkeypatch.delenv(name, raising=False)
    sim = Simulator(SimConfig(port=0, seed=1), clock=FrozenClock()).start()
    try:
        canned_answers(sim)

        def build(terminal: str, keymap: dict[str, str] | None = None) -> SnapshotApp:
            if terminal == "no-color":
                monkeypatch.setenv("NO_COLOR", "1")  # read when the app is built
            return build_app(sim, tmp_path, terminal, keymap)

        yield build
    finally:
        sim.stop()
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("terminal", TERMINALS)
def test_the_table(snap_compare: Callable[..., bool], scene: Build, terminal: str) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await select(pilot, COMPLETED)
        await settle(pilot)

    assert snap_compare(scene(terminal), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("terminal", TERMINALS)
def test_the_side_panel_on_a_failed_task(
    snap_compare: Callable[..., bool], scene: Build, terminal: str
) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await select(pilot, FAILED)
        await pilot.press("d")  # on a failed task: the panel opens on its error
        await settle(pilot)

    assert snap_compare(scene(terminal), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("terminal", TERMINALS)
def test_the_new_task_form(snap_compare: Callable[..., bool], scene: Build, terminal: str) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)

    assert snap_compare(scene(terminal), terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("terminal", TERMINALS)
def test_the_keys_screen(snap_compare: Callable[..., bool], scene: Build, terminal: str) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(scene(terminal), terminal_size=SIZE, run_before=run_before)


def test_rebound_keys_in_the_footer_and_the_keys_screen(
    snap_compare: Callable[..., bool], scene: Build
) -> None:
    """config.toml's [keys]: download = "D", help = "f1": the footer and `?` say so."""

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    app = scene("256", keymap={"download": "D", "help": "f1"})
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
