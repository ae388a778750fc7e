"""Every key typed after `/` goes into the filter box, however fast it comes.

The box used to take focus one event late (Textual applies `focus()` after the current
message), so keys already on their way when `/` was read went to the table and the app:
typing `/zzq` quickly (tmux send-keys, a paste, a fast typist) quit the monitor, `/zA`
archived the selected task, `/zx` asked to remove it."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from conftest import FakeClock
from helpers_history import History, stored, year_of_history
from helpers_proc import Tmux, child_environment
from helpers_tui import AppFactory, showing, table, until
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.session import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.screens.keys import KeysScreen
from starvideos_tui.tui.widgets.filter_box import FilterBox

SIZE = (120, 40)


def burst(app: StarVideosApp, keys: str) -> None:
    """The keys as a terminal delivers a fast burst: all read before the app handles the
    first (the pilot's `press` waits for the app to go idle between keys)."""
    driver = app._driver
    assert driver is not None
    names = {"/": "slash", " ": "space"}
    for char in keys:
        event = events.Key(names.get(char, char), char)
        event.set_sender(app)
        driver.send_message(event)


async def settled(pilot: Pilot[None]) -> None:
    for _ in range(5):
        await pilot.pause()


def box(app: StarVideosApp) -> FilterBox:
    return app.query_one(FilterBox)


@pytest.fixture
def made(watchlist: Watchlist, clock: FakeClock) -> History:
    """A short history: the work-first view shows 8 rows (5 recent, 3 unsaved)."""
    return year_of_history(watchlist, clock(), old=4)


@pytest.fixture
def app(make_app: AppFactory, made: History) -> StarVideosApp:
    return make_app([])


async def test_keys_pressed_in_one_call_after_slash_are_typed_in_the_box(
    app: StarVideosApp,
) -> None:
    async with showing(app, 8, SIZE) as pilot:
        await pilot.press("slash", "z", "z", "q")
        assert app.is_running
        assert box(app).value == "zzq"
        assert app.focused is box(app)


@pytest.mark.parametrize("typed", ["/zzq", "/zAxq", "/ q", "/fox/q"])
async def test_a_burst_after_slash_goes_whole_into_the_box(
    app: StarVideosApp, made: History, watchlist: Watchlist, typed: str
) -> None:
    """As tmux send-keys or a paste delivers it: no key acts as an app key, nothing is
    archived, no dialog opens, and a `/` typed in the box is text."""
    async with showing(app, 8, SIZE) as pilot:
        before = {i: r.archived for i, r in stored(watchlist).items()}
        burst(app, typed)
        await settled(pilot)
        assert app.is_running, f"{typed!r} quit the app"
        assert box(app).value == typed[1:]
        assert app.focused is box(app)
        assert len(app.screen_stack) == 1, "a dialog opened"
        assert app.filter_text == typed[1:].strip()
        after = {i: r.archived for i, r in stored(watchlist).items()}
        assert after == before, "a task was archived"
        assert made.recent  # the history is there to be archived


async def test_escape_then_keys_act_on_the_table_again(app: StarVideosApp) -> None:
    """The capture ends with the box: after esc, `/` opens it again and other keys are
    the table's (j moves the cursor), not typed in the hidden box."""
    async with showing(app, 8, SIZE) as pilot:
        burst(app, "/ab")
        await settled(pilot)
        await pilot.press("escape")
        await settled(pilot)
        assert box(app).value == "" and not box(app).has_class("-open")
        row = table(app).cursor_row
        await pilot.press("j")
        assert box(app).value == ""
        assert table(app).cursor_row == row + 1
        burst(app, "/cd")
        await settled(pilot)
        assert box(app).value == "cd"


async def test_slash_in_another_input_or_screen_is_not_the_filter(app: StarVideosApp) -> None:
    """`/` is text in the command palette and does nothing on the keys screen."""
    async with showing(app, 8, SIZE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "the keys screen")
        burst(app, "/z")
        await settled(pilot)
        assert isinstance(app.screen, KeysScreen)
        assert not box(app).has_class("-open")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, KeysScreen), "keys closed")

        await pilot.press("ctrl+p")
        await until(pilot, lambda: len(app.screen_stack) == 2, "the palette")
        burst(app, "a/b")
        await settled(pilot)
        palette_input = app.screen.query_one(Input)
        assert palette_input.value == "a/b"
        assert not box(app).has_class("-open")


# -- the real program in a terminal -----------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_in_tmux_send_keys_slash_zzq_filters_and_the_app_runs(tmp_path: Path, tmux: Tmux) -> None:
    now = time.time()
    db = tmp_path / "watchlist.json"
    Watchlist(db).add(
        [
            TaskRecord(
                id=f"video_starvideos_o3_{1_000_000_000 + i}",
                status="completed",
                created=int(now) - 600,
                label=f"fox take {i}",
                added_at=now - 600 + i,
                checked_at=now - 500,
            )
            for i in range(20)
        ]
    )
    pidfile = tmp_path / "pid"
    env = child_environment(tmp_path / "home")
    env.update(
        STARVIDEOS_API_KEY="anything",
        STARVIDEOS_BASE_URL="http://127.0.0.1:9",
        TERM="xterm-256color",
    )
    tmux.env.update(env)
    command = (
        f"echo $$ > {pidfile}; exec {sys.executable} -m starvideos_tui "
        f"--db {db} --download-dir {tmp_path / 'videos'}"
    )
    tmux("new-session", "-d", "-x", "120", "-y", "30", command)

    def screen() -> str:
        return tmux("capture-pane", "-p", check=False, timeout=5).stdout

    deadline = time.monotonic() + 30
    while "fox take" not in screen():
        assert time.monotonic() < deadline, f"the TUI did not start: {screen()}"
        time.sleep(0.05)
    time.sleep(0.3)
    pid = int(pidfile.read_text())
    tmux("send-keys", "/zzq")
    deadline = time.monotonic() + 10
    while "zzq" not in screen():
        assert time.monotonic() < deadline, f"the filter never read zzq: {screen()}"
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(pid, 0)  # still running: q was typed, not obeyed
    assert "zzq" in screen()
