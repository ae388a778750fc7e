"""The work first (#25 item 2): with a year of history, running tasks are on top, history
and archived tasks are hidden until `H` shows them, the status line says how many rows
are shown of how many, and an empty view says why and how to see more."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from conftest import FakeClock
from helpers_history import BASE, year_of_history
from helpers_tui import AppFactory, polled, row_ids, running, screen_text, until
from textual.pilot import Pilot

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.worklist import DAY, history_cutoff, work_key
from starvideos_tui.engine.session import Watchlist
from starvideos_tui.engine.settings import SettingsError, resolve
from starvideos_tui.simulator import Simulator
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.view import Narrowing, Scope, visible
from starvideos_tui.tui.widgets.status_bar import StatusBar

SIZE = (120, 40)


def status_line(app: StarVideosApp) -> str:
    return str(app.query_one(StatusBar).render())


async def shown(pilot: Pilot[None], app: StarVideosApp, count: int, what: str) -> None:
    await until(pilot, lambda: len(row_ids(app)) == count, what)


async def test_running_tasks_on_top_and_history_hidden_until_h(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock())
    running_ids = [simulator.seed_task(f"run {i}", queued=0, processing=600) for i in range(2)]
    queued = simulator.seed_task("wait", queued=600)
    app = make_app([*running_ids, queued])
    total = made.total + 3
    async with running(app, SIZE) as pilot:
        await polled(pilot, app)
        rows = row_ids(app)
        # Running, then queued, then the unsaved (newest first), then what finished in
        # the last days (newest first); no year-old task, no archived one.
        assert set(rows[:2]) == set(running_ids)
        assert rows[2:] == [queued, *made.unsaved, *made.recent]
        assert f"11 of {total}" in status_line(app)
        assert "+history" not in status_line(app)

        await pilot.press("H")
        await shown(pilot, app, total - len(made.archived), "history shown")
        rows = row_ids(app)
        assert set(rows[:2]) == set(running_ids)
        assert rows[2:11] == [queued, *made.unsaved, *made.recent]
        old = [f"video_starvideos_o3_{BASE + i}" for i in reversed(range(len(made.old)))]
        assert rows[11:] == old  # the rest, the newest first
        assert not set(made.archived) & set(rows)
        assert f"{total - 2} of {total}" in status_line(app) and "+history" in status_line(app)

        await pilot.press("H")
        await shown(pilot, app, total, "archived tasks shown")
        assert set(made.archived) <= set(row_ids(app))
        assert " of " not in status_line(app)  # every task shown: nothing to count
        assert "+archived" in status_line(app)

        await pilot.press("H")
        await shown(pilot, app, 11, "the work only again")


async def test_the_status_sort_puts_recent_failures_before_year_old_ones(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock())
    app = make_app([])
    async with running(app, SIZE) as pilot:
        await shown(pilot, app, 8, "the recent rows")
        await pilot.press("H")
        await shown(pilot, app, made.total - 2, "history")
        while app.sort_mode != "status":
            await pilot.press("s")
        await pilot.pause()
        rows = row_ids(app)
        failures = [made.recent_failed, *sorted(made.old_failed, reverse=True)]
        assert rows[: len(failures)] == failures  # within failed: the newest first


async def test_a_filter_says_how_many_match_and_an_empty_result_says_how_to_clear_it(
    make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock())
    app = make_app([])
    async with running(app, SIZE) as pilot:
        await shown(pilot, app, 8, "the recent rows")
        await pilot.press("slash", *"take 100")
        await shown(pilot, app, 5, "the filter")  # take 1000 ... take 1004
        assert f"5 of {made.total}" in status_line(app)

        await pilot.press(*"zzz")
        await shown(pilot, app, 0, "nothing")
        assert f"0 of {made.total}" in status_line(app)
        screen = screen_text(app)
        assert "Nothing matches 'take 100zzz'" in screen
        assert "esc clears the filter · H shows history" in screen

        await pilot.press("enter", "escape")
        await shown(pilot, app, 8, "the filter cleared")
        assert "Nothing matches" not in screen_text(app)


async def test_a_view_of_history_alone_says_nothing_needs_you_and_how_to_see_it(
    make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    watchlist.add(
        [
            replace(
                TaskRecord(id=f"video_starvideos_o3_{BASE + i}"),
                status="failed",
                created=int(clock() - 90 * DAY),
            )
            for i in range(40)
        ]
    )
    app = make_app([])
    async with running(app, (80, 24)) as pilot:
        await until(pilot, lambda: "Nothing needs you" in screen_text(app), "the note")
        assert "all 40 tasks are history" in screen_text(app)
        await pilot.press("H")
        await shown(pilot, app, 40, "history")


async def test_history_days_comes_from_the_config(
    make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock(), old=30)
    app = make_app([])
    app.config.history_days = 400  # a year ago is not history then
    async with running(app, SIZE) as pilot:
        await shown(pilot, app, made.total - 2, "a year of rows")

    assert resolve({}, {}, {"history_days": 30}).history_days == 30
    assert resolve({}, {}, {}).history_days == 7
    assert resolve({}, {"STARVIDEOS_HISTORY_DAYS": "0.5"}, {}).history_days == 0.5
    for bad in ("soon", 0, -1, True, float("nan"), 10**9):
        with pytest.raises(SettingsError, match="history_days"):
            resolve({}, {}, {"history_days": bad})


def test_the_work_order_as_numbers_is_the_work_order_as_tuples() -> None:
    """WorkFacts sorts by one number per record; work_key says the same in words."""
    rng = random.Random(5)
    now = 2_000_000_000.0
    cutoff = history_cutoff(now, 7)
    records = [
        TaskRecord(
            id=f"video_starvideos_o3_{BASE + i}",
            status=rng.choice(["", "queued", "processing", "completed", "failed", "odd"]),
            created=int(now - rng.uniform(0, 30 * DAY)),
            updated_at=now - rng.uniform(0, 30 * DAY),
            local_path=rng.choice([None, "/x.mp4"]),
            download_error=rng.choice([None, None, "link expired"]),
            archived=rng.random() < 0.1,
        )
        for i in range(2000)
    ]
    by_tuples = sorted(records, key=lambda r: work_key(r, cutoff))
    by_numbers = visible(records, {}, "", "work", Scope("archived", cutoff))
    assert [work_key(r, cutoff) for r in by_numbers] == [work_key(r, cutoff) for r in by_tuples]


def test_a_video_whose_link_is_dead_is_past_saving_and_leaves_the_work() -> None:
    """The trial with `watch` beside the TUI: watch marked 12,582 week-old links "link
    expired", and they stood above the 20 videos just saved, as if they needed the user."""
    now = 2_000_000_000.0
    cutoff = history_cutoff(now, 7)
    made = {"status": "completed", "created": int(now - DAY), "updated_at": now - DAY}
    dead = TaskRecord(id="video_starvideos_o3_1", download_error="link expired", **made)  # type: ignore[arg-type]
    unsaved = TaskRecord(id="video_starvideos_o3_2", **made)  # type: ignore[arg-type]
    saved = TaskRecord(
        id="video_starvideos_o3_3", status="completed", updated_at=now, local_path="/x.mp4"
    )
    shown = visible([dead, unsaved, saved], {}, "", "work", Scope("work", cutoff))
    assert [r.id for r in shown] == [unsaved.id, saved.id, dead.id]  # newest first, after


def test_a_change_to_a_few_of_50000_records_reads_only_those_again() -> None:
    """The view of 50,000 tasks after a poll answered 3: the facts of the other 49,997
    are not made again (reading a record's status word is the dear part)."""
    now = 2_000_000_000.0
    records = {
        f"video_starvideos_o3_{BASE + i}": TaskRecord(
            id=f"video_starvideos_o3_{BASE + i}",
            status="completed" if i % 7 else "processing",
            created=int(now - i * 600),
            updated_at=now - i * 600 + 300,
        )
        for i in range(50_000)
    }
    view = Narrowing()
    scope = Scope("work", history_cutoff(now, 7))
    first = view.visible(records.values(), {}, "", "work", 1, scope)
    facts = dict(view._facts._facts)  # what was made, by identity
    assert len(facts) == 50_000
    for task_id in list(records)[100:103]:
        records[task_id] = replace(records[task_id], checked_at=now)
    again = view.visible(records.values(), {}, "", "work", 2, scope)
    remade = [i for i, f in view._facts._facts.items() if facts[i] is not f]
    assert len(remade) == 3
    assert [r.id for r in again] == [r.id for r in first]


def test_a_cleared_or_new_filter_looks_through_the_kept_view_not_the_whole_history() -> None:
    """At 50,000 tasks, esc (or another word typed afresh) costs one pass in order over
    the view kept sorted, not a sort of every record."""
    now = 2_000_000_000.0
    records = [
        TaskRecord(
            id=f"video_starvideos_o3_{BASE + i}",
            status=("completed", "processing", "failed", "queued")[i % 4],
            created=int(now - i * 60),
            label=("fox", "lake")[i % 2] + f" take {i}",
        )
        for i in range(5000)
    ]

    class Counted(list[TaskRecord]):
        passes = 0

        def __iter__(self):  # type: ignore[no-untyped-def]
            Counted.passes += 1
            return super().__iter__()

    counted = Counted(records)
    scope = Scope("work", history_cutoff(now, 7))
    view = Narrowing()
    for typed in ("", "fox", "fox take 1", "", "lake", "rating:0 lake", ""):
        shown = view.visible(counted, {}, typed, "work", 1, scope)
        assert shown == visible(records, {}, typed, "work", scope), typed
    assert Counted.passes == 1
