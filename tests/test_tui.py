"""The TUI's table, driven by Pilot against the simulator on loopback, with a clock the test moves:
rows and their statuses, adding, removing, filtering, sorting, themes and the status line."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from textual import events
from textual.widgets import Static

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.screens.add_ids import AddIdsScreen
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.widgets.filter_box import FilterBox
from starvideos_tui.tui.widgets.status_bar import StatusBar

if TYPE_CHECKING:
    from conftest import FakeClock

from helpers_tui import (
    UNKNOWN_ID,
    AppFactory,
    polled,
    polled_app,
    result_polls,
    row_ids,
    running,
    screen_text,
    select,
    status_of,
    table,
    until,
)

# -- the table ------------------------------------------------------------------------------


async def test_every_watched_task_gets_a_row_with_its_status_in_words(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("queued for long", queued=600)
    processing = simulator.seed_task("rendering", queued=0, processing=600)
    completed = simulator.seed_task("done", queued=0, processing=0)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([queued, processing, completed, failed, UNKNOWN_ID])

    async with polled_app(app):
        # The work first: running, then waiting (the unknown id too), unsaved, finished.
        assert row_ids(app) == [processing, queued, UNKNOWN_ID, completed, failed]
        assert status_of(app, queued) == "○ queued"
        assert status_of(app, processing) == "◐ processing"
        assert status_of(app, completed) == "● completed"
        assert status_of(app, failed) == "✗ failed"
        assert status_of(app, UNKNOWN_ID) == "! unknown id"
        shown = screen_text(app)
        for word in ("queued", "processing", "completed", "failed", "unknown id", "API ok"):
            assert word in shown


async def test_a_running_task_updates_its_row_in_place_and_the_cursor_stays_on_it(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    first = simulator.seed_task("already done", queued=0, processing=0)
    moving = simulator.seed_task("moving along", queued=5, processing=5)
    last = simulator.seed_task("waiting", queued=600)
    # A short interval (on the fake clock) so each advance of the clock is polled at once.
    app = make_app([first, moving, last], interval=0.5)

    app.sort_mode = "added"  # in place: the work order would move the row up and down
    async with polled_app(app) as pilot:
        await select(pilot, app, moving)
        assert status_of(app, moving) == "○ queued"

        for expected in ("◐ processing", "● completed"):
            clock.advance(5.5)

            def shows(e: str = expected) -> bool:
                return status_of(app, moving) == e

            await until(pilot, shows, expected)
            assert row_ids(app) == [first, moving, last]
            assert table(app).cursor_row == 1
            assert app.selected_id == moving


async def test_a_finished_task_is_not_polled_again(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    done = simulator.seed_task("done", queued=0, processing=0)
    unfinished = simulator.seed_task("running", queued=600)
    app = make_app([done, unfinished], interval=0.5)

    async with polled_app(app) as pilot:
        before = result_polls(simulator, unfinished)
        for _ in range(3):
            clock.advance(1.0)

            def polled_again(b: int = before) -> bool:
                return result_polls(simulator, unfinished) > b

            await until(pilot, polled_again, "a poll")
            # The request is logged before the pass ends: let it schedule the next one
            # before the clock moves again.
            await until(
                pilot, lambda: app.schedule.next_due[unfinished] > clock(), "the pass to end"
            )
            before = result_polls(simulator, unfinished)

    assert result_polls(simulator, done) == 1


async def test_at_80_columns_a_row_shows_its_label_beside_the_ids_distinctive_end(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    task_id = simulator.seed_task("fox", queued=600)
    app = make_app([task_id])
    watchlist.update({task_id: lambda r: replace(r, label="fox in the snow")})
    async with running(app, (80, 24)) as pilot:
        await polled(pilot, app)
        row = next(line for line in screen_text(app).splitlines() if "○ queued" in line)
        assert f"…{task_id.rsplit('_', 1)[1]}  fox in the snow" in row
    wide = make_app([])
    async with running(wide, (120, 24)) as pilot:  # room enough: the whole id
        await pilot.pause()
        await until(pilot, lambda: task_id in screen_text(wide), "the whole id")


@pytest.mark.parametrize("width", [80, 60, 45])
async def test_a_narrow_footer_still_names_the_help_and_quit_keys(
    simulator: Simulator, make_app: AppFactory, width: int
) -> None:
    app = make_app([simulator.seed_task("one", queued=600)])

    async with running(app, (width, 24)) as pilot:
        await polled(pilot, app)
        footer = screen_text(app).splitlines()[-1]
        assert "? Keys" in footer
        assert "q Quit" in footer


async def test_with_no_color_each_status_is_still_told_by_its_word(
    simulator: Simulator, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    queued = simulator.seed_task("waiting", queued=600)
    completed = simulator.seed_task("done", queued=0, processing=0)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([queued, completed, failed])

    async with polled_app(app):
        assert app.no_color
        lines = screen_text(app).splitlines()
        for task_id, word in ((queued, "queued"), (completed, "completed"), (failed, "failed")):
            assert any(task_id in line and word in line for line in lines), word


# -- adding, removing, filtering, sorting ---------------------------------------------------


async def test_pasting_many_ids_adds_the_valid_ones_and_names_the_refused_ones(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    existing = simulator.seed_task("existing", queued=600)
    new_ones = [simulator.seed_task(f"new {n}", queued=600) for n in range(3)]
    app = make_app([existing])
    pasted = f"{new_ones[0]}, {new_ones[1]}\n  bad/slash {new_ones[2]},,\n..\n{existing}\n"

    async with polled_app(app) as pilot:
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AddIdsScreen), "the add dialog")
        app.post_message(events.Paste(pasted))
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()

        # The dialog stays open on the refused ids and says why.
        form = app.screen
        assert isinstance(form, AddIdsScreen)
        refusal = str(form.query_one("#add-error", Static).render())
        assert "2 refused" in refusal
        assert "'bad/slash'" in refusal
        assert "'..'" in refusal
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AddIdsScreen)

        assert row_ids(app) == [existing, *new_ones]
        assert [r.id for r in watchlist.load()] == [existing, *new_ones]
        await until(pilot, lambda: status_of(app, new_ones[2]) == "○ queued", "new ids polled")


async def test_x_then_y_stops_watching_the_selected_task(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    keep = simulator.seed_task("keep", queued=600)
    drop = simulator.seed_task("drop", queued=600)
    app = make_app([keep, drop])

    async with polled_app(app) as pilot:
        await select(pilot, app, drop)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert drop in screen_text(app)
        await pilot.press("y")
        await pilot.pause()

        assert row_ids(app) == [keep]
        assert [r.id for r in watchlist.load()] == [keep]


async def test_x_then_n_keeps_the_task(
    simulator: Simulator, make_app: AppFactory, watchlist: Watchlist
) -> None:
    keep = simulator.seed_task("keep", queued=600)
    also = simulator.seed_task("also keep", queued=600)
    app = make_app([keep, also])

    async with polled_app(app) as pilot:
        await select(pilot, app, also)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("n")
        await pilot.pause()

        assert not isinstance(app.screen, ConfirmScreen)
        assert row_ids(app) == [keep, also]
        assert [r.id for r in watchlist.load()] == [keep, also]
        assert app.selected_id == also


async def test_slash_filter_narrows_the_rows_and_escape_brings_them_all_back(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("a quiet lake", queued=600)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    completed = simulator.seed_task("done", queued=0, processing=0)
    app = make_app([queued, failed, completed])

    async with polled_app(app) as pilot:
        await pilot.press("slash")
        assert app.query_one(FilterBox).has_focus
        await pilot.press(*"failed")
        await pilot.pause()
        assert row_ids(app) == [failed]
        assert "filter: failed" in str(app.query_one(StatusBar).render())

        await pilot.press("escape")
        await pilot.pause()
        assert row_ids(app) == [queued, completed, failed]  # the work first
        assert not app.query_one(FilterBox).has_class("-open")
        assert table(app).has_focus  # the keys work on the table again

        # The filter also matches the task id.
        await pilot.press("slash", *completed[-4:], "enter")
        await pilot.pause()
        assert row_ids(app) == [completed]
        assert table(app).has_focus


async def test_s_cycles_the_sort_order_and_the_status_bar_names_it(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("queued", queued=600)
    completed = simulator.seed_task("completed", queued=0, processing=0)
    failed = simulator.seed_task("failed", queued=0, processing=0, fail=True)
    processing = simulator.seed_task("processing", queued=0, processing=600)
    added_order = [queued, completed, failed, processing, UNKNOWN_ID]
    app = make_app(added_order)

    async with polled_app(app) as pilot:
        assert row_ids(app) == [processing, queued, UNKNOWN_ID, completed, failed]  # work

        await pilot.press("s")
        assert app.sort_mode == "added"
        assert row_ids(app) == added_order
        assert "sort: added" in str(app.query_one(StatusBar).render())

        await pilot.press("s")
        assert app.sort_mode == "status"
        # An id the API has never answered for sorts with the new ones, before completed.
        assert row_ids(app) == [failed, processing, queued, UNKNOWN_ID, completed]
        assert "sort: status" in str(app.query_one(StatusBar).render())

        await pilot.press("s")
        assert app.sort_mode == "age"
        await pilot.press("s")
        assert app.sort_mode == "id"
        assert row_ids(app) == sorted(added_order)

        await pilot.press("s")
        assert app.sort_mode == "rating"
        await pilot.press("s")
        assert app.sort_mode == "work"
        assert row_ids(app) == [processing, queued, UNKNOWN_ID, completed, failed]
        assert "sort:" not in str(app.query_one(StatusBar).render())


async def test_switching_the_theme_recolours_rows_and_later_changes_still_show(
    simulator: Simulator, make_app: AppFactory, clock: FakeClock
) -> None:
    task = simulator.seed_task("one", queued=5, processing=5)
    app = make_app([task], interval=30.0)
    async with polled_app(app) as pilot:
        assert status_of(app, task) == "○ queued"
        before = table(app).get_row(task)[0].style
        app.theme = "textual-light" if app.theme != "textual-light" else "textual-dark"
        await until(
            pilot, lambda: table(app).get_row(task)[0].style != before, "the row to recolour"
        )
        clock.advance(60)
        await pilot.press("r")
        await until(pilot, lambda: status_of(app, task) == "● completed", "the row to update")


async def test_each_status_is_drawn_in_its_theme_colour(
    simulator: Simulator, make_app: AppFactory
) -> None:
    queued = simulator.seed_task("later", queued=100, processing=100)
    completed = simulator.seed_task("done", queued=0, processing=0)
    failed = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([queued, completed, failed])
    async with running(app) as pilot:
        await until(
            pilot,
            lambda: failed in row_ids(app) and status_of(app, failed) == "✗ failed",
            "the first pass",
        )
        await pilot.pause()
        tasks = table(app)
        colours = app.get_css_variables()
        for row, name in ((1, "success"), (2, "error")):  # row 0 holds the cursor
            strip = tasks.render_line(1 + row)
            drawn = {seg.style.color.name.lower() for seg in strip if seg.style and seg.style.color}
            assert colours[name].lower()[:7] in drawn, (name, drawn)


async def test_esc_on_the_table_clears_a_filter_that_enter_kept(
    simulator: Simulator, make_app: AppFactory
) -> None:
    done = simulator.seed_task("done", queued=0, processing=0)
    broken = simulator.seed_task("broken", queued=0, processing=0, fail=True)
    app = make_app([done, broken])
    async with running(app) as pilot:
        await until(pilot, lambda: broken in row_ids(app), "the rows")
        await pilot.press("slash", "f", "a", "i", "l", "enter")
        await until(pilot, lambda: row_ids(app) == [broken], "the filter")
        await pilot.press("escape")
        await until(pilot, lambda: row_ids(app) == [done, broken], "the cleared filter")
        assert app.filter_text == ""


async def test_at_80_columns_the_status_line_keeps_failures_and_cuts_no_word(
    simulator: Simulator, make_app: AppFactory
) -> None:
    ids = [simulator.seed_task(f"t{i}", queued=0, processing=0) for i in range(3)]
    ids += [simulator.seed_task("x", queued=0, processing=0, fail=True)]
    ids += [simulator.seed_task("y", queued=100, processing=100) for _ in range(2)]
    app = make_app([*ids, UNKNOWN_ID])
    async with running(app, size=(80, 24)) as pilot:
        app.sort_mode = "status"
        await until(pilot, lambda: "unknown id" in screen_text(app).splitlines()[0], "a pass")
        line = screen_text(app).splitlines()[0].rstrip()
        assert "1 failed" in line and "1 unknown id" in line and "sort: status" in line
        assert len(line) <= 80
        pieces = [p.strip() for part in line.split("│") for p in part.split("·")]
        assert all(p.split(" ", 1)[0].isdigit() or p in line for p in pieces if p)
        assert not line.endswith("…")


async def test_clearing_a_filter_recomputes_no_row_and_the_cursor_shows_where_focus_is(
    simulator: Simulator, make_app: AppFactory
) -> None:
    """Rows hidden by a filter keep what they drew (50,000 of them come back at once);
    a row's drawing is kept by how it is drawn, so the cursor still follows the focus."""
    ids = [simulator.seed_task(f"take {i}", queued=0, processing=0) for i in range(5)]
    app = make_app(ids)
    async with polled_app(app) as pilot:
        rows = table(app)
        focused = list(rows.render_line(1))[1].style  # the cursor on the first row

        made: list[str] = []
        make = rows.cells_for

        def counting(record: TaskRecord, *rest: Any) -> Any:
            made.append(record.id)
            return make(record, *rest)

        rows.cells_for = counting  # type: ignore[method-assign,assignment]
        await pilot.press("slash", *ids[2][-4:])
        await until(pilot, lambda: row_ids(app) == [ids[2]], "the filter")
        blurred = list(rows.render_line(1))[1].style  # the filter box has the focus
        await pilot.press("enter", "escape")
        await until(pilot, lambda: row_ids(app) == ids, "the cleared filter")
        await pilot.pause()
        assert made == []
        assert focused is not None and blurred is not None
        assert focused.bgcolor != blurred.bgcolor
        assert rows.cursor_row == 2  # still on the task the filter found
        assert list(rows.render_line(3))[1].style == focused  # focus is back


async def test_clearing_a_filter_scrolls_to_the_task_it_found_at_the_end_of_a_long_list(
    simulator: Simulator, make_app: AppFactory
) -> None:
    ids = [simulator.seed_task(f"take {i}", queued=600) for i in range(60)]
    app = make_app(ids)
    async with running(app, (100, 24)) as pilot:
        await polled(pilot, app)
        await pilot.press("G", "slash", *ids[-1][-4:], "enter")
        await until(pilot, lambda: row_ids(app) == [ids[-1]], "the filter")
        await pilot.press("escape")
        await until(pilot, lambda: len(row_ids(app)) == 60, "the cleared filter")
        await pilot.pause()
        rows = table(app)
        assert app.selected_id == ids[-1]
        top = int(rows.scroll_offset.y)
        assert top > 0 and top <= rows.cursor_row < top + rows.size.height - 1
        assert ids[-1][-10:] in screen_text(app)  # on screen, not under a scrollbar
