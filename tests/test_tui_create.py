"""Creating tasks in the TUI (n, N) and labelling them (l), driven by Pilot against the
simulator on loopback."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static, TextArea

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.screens.new_task import NewTaskScreen

if TYPE_CHECKING:
    from conftest import FakeClock

from helpers_tui import (
    AppFactory,
    polled_app,
    row_ids,
    running,
    select,
    table,
    until,
)

# -- creating tasks (n, N) and labels (l) ---------------------------------------------------


def form(app: StarVideosApp) -> NewTaskScreen:
    assert isinstance(app.screen, NewTaskScreen), app.screen
    return app.screen


async def open_form(pilot: Pilot[None], app: StarVideosApp, key: str) -> NewTaskScreen:
    """`n` (a new task) or `N` (one like the selected), and the form it opened."""
    await pilot.press(key)
    await pilot.pause()
    return form(app)


def posts(simulator: Simulator) -> int:
    return sum(1 for r in simulator.requests if r.method == "POST")


async def test_n_submits_a_task_that_joins_the_watchlist_with_its_prompt_and_takes_the_cursor(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([simulator.seed_task("old one", queued=600)])
    async with polled_app(app) as pilot:
        screen = await open_form(pilot, app, "n")
        screen.query_one("#prompt", TextArea).text = "A whale breaching at sunset"
        screen.query_one("#duration", Input).value = "8"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, NewTaskScreen), "the form to close")
        new_id = app.selected_id
        assert new_id is not None and new_id in app.records
        record = app.records[new_id]
        assert record.prompt == "A whale breaching at sunset"
        assert record.params == {
            "model": "starvideos_o3",
            "prompt": "A whale breaching at sunset",
            "duration": 8,
        }
        assert "A whale breaching" in table(app).get_row(new_id)[1].plain
    assert posts(simulator) == 1


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("#duration", "20", "duration must be 3 to 15"),
        ("#first", "ftp://x/y.png", "not an http(s) URL"),
        ("#images", "https://a/1.png\nhttps://a/2.png", "cannot be combined"),
    ],
)
async def test_a_form_that_breaks_the_api_rules_says_what_to_change_and_sends_nothing(
    simulator: Simulator, make_app: AppFactory, field: str, value: str, says: str
) -> None:
    app = make_app([simulator.seed_task("old one", queued=600)])
    async with polled_app(app) as pilot:
        screen = await open_form(pilot, app, "n")
        screen.query_one("#prompt", TextArea).text = "a cat"
        if field == "#images":
            screen.query_one("#first", Input).value = "https://a/first.png"
            screen.query_one(field, TextArea).text = value
        else:
            screen.query_one(field, Input).value = value
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, NewTaskScreen), "the form closed on a bad request"
        assert says in str(screen.query_one("#form-problems", Static).render())
        assert screen.query_one("#submit", Button).disabled
    assert posts(simulator) == 0


async def test_a_refused_submission_keeps_everything_typed_and_shows_the_apis_reason(
    simulator: Simulator, make_app: AppFactory
) -> None:
    app = make_app([])
    app.client = StarVideosClient(simulator.base_url, "")  # no key: the API says 401
    async with running(app) as pilot:
        screen = await open_form(pilot, app, "n")
        screen.query_one("#prompt", TextArea).text = "keep me"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(
            pilot,
            lambda: "Not submitted" in str(screen.query_one("#form-problems", Static).render()),
            "the refusal to be shown",
        )
        assert isinstance(app.screen, NewTaskScreen)
        assert screen.query_one("#prompt", TextArea).text == "keep me"
        assert "HTTP 401" in str(screen.query_one("#form-problems", Static).render())


async def test_capital_n_on_a_failed_task_opens_the_form_filled_with_its_request(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    app = make_app([])
    params = {
        "model": "starvideos_o3",
        "prompt": "A fox, FAIL",
        "duration": 5,
        "ratio": "16:9",
        "referenceImages": ["https://img.example/a.png", "https://img.example/b.png"],
    }
    failed = simulator.seed_task("A fox, FAIL", queued=0, processing=0, fail=True)
    watchlist.add([TaskRecord(id=failed, prompt="A fox, FAIL", params=params, added_at=clock())])
    async with polled_app(app) as pilot:
        await select(pilot, app, failed)
        screen = await open_form(pilot, app, "N")
        assert screen.query_one("#prompt", TextArea).text == "A fox, FAIL"
        assert screen.query_one("#duration", Input).value == "5"
        assert screen.query_one("#ratio", Select).value == "16:9"
        assert screen.query_one("#images", TextArea).text.splitlines() == params["referenceImages"]


async def test_l_labels_a_task_and_the_filter_finds_it_by_that_label(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    first = simulator.seed_task("one", queued=600)
    second = simulator.seed_task("two", queued=600)
    app = make_app([first, second])
    async with polled_app(app) as pilot:
        await select(pilot, app, second)
        await pilot.press("l")
        await pilot.pause()
        await pilot.press(*"wedding teaser")
        await pilot.press("enter")
        await until(pilot, lambda: app.records[second].label == "wedding teaser", "the label")
        assert "wedding teaser" in table(app).get_row(second)[1].plain
        assert next(r for r in watchlist.load() if r.id == second).label == "wedding teaser"
        await pilot.press("slash", *"wedding")
        await pilot.pause()
        assert row_ids(app) == [second]
