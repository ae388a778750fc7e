"""Bulk selection (#25 item 7): `m` marks a row, shift+arrows mark a range, marked rows
carry a glyph; `A`, `x`, `l`, `d` and the rating keys act on every marked row with one
confirmation (x) and one toast; `esc` unmarks; the status line counts the marks."""

from __future__ import annotations

import pytest
from conftest import FakeClock
from helpers_history import History, stored, year_of_history
from helpers_tui import AppFactory, row_ids, screen_text, showing, table, until
from textual.pilot import Pilot

from starvideos_tui.engine.session import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.marks import Marks
from starvideos_tui.tui.screens.confirm import ConfirmScreen
from starvideos_tui.tui.screens.label import LabelScreen
from starvideos_tui.tui.widgets.status_bar import StatusBar
from starvideos_tui.tui.widgets.table_cells import MARK

SIZE = (120, 40)


def toasts(app: StarVideosApp) -> list[str]:
    return [n.message for n in app._notifications]


def status_line(app: StarVideosApp) -> str:
    return str(app.query_one(StatusBar).render())


def marked_on_screen(app: StarVideosApp) -> list[str]:
    """The ids of the rows the screen draws with the mark's glyph."""
    lines = screen_text(app).splitlines()
    view = table(app)
    top = view.region.y + 1  # the header's line
    rows = view.row_ids[int(view.scroll_offset.y) :]
    return [task_id for task_id, line in zip(rows, lines[top:], strict=False) if line[:1] == MARK]


async def mark(pilot: Pilot[None], app: StarVideosApp, task_ids: list[str]) -> None:
    """Select each of the tasks in turn and press `m` on it."""
    for task_id in task_ids:
        table(app).move_cursor(row=row_ids(app).index(task_id))
        await pilot.press("m")


@pytest.fixture
def made(watchlist: Watchlist, clock: FakeClock) -> History:
    """A year of history: the work-first view shows 8 rows (5 recent, 3 unsaved)."""
    return year_of_history(watchlist, clock(), old=20)


@pytest.fixture
def app(make_app: AppFactory, made: History) -> StarVideosApp:
    return make_app([])


async def test_m_marks_shift_arrows_mark_a_range_and_esc_unmarks(
    app: StarVideosApp,
) -> None:
    async with showing(app, 8, SIZE) as pilot:
        rows = row_ids(app)
        await pilot.press("m")  # marks row 0 and steps down
        assert app.selected_id == rows[1]
        await pilot.press("shift+down", "shift+down", "shift+down")  # rows 1..4
        await pilot.pause()
        assert app.marks.ids == set(rows[:5])
        await pilot.press("shift+up")  # back over the range: row 4 unmarked
        await pilot.pause()
        assert app.marks.ids == set(rows[:4])
        assert marked_on_screen(app) == rows[:4]  # a glyph, not colour alone
        assert "4 marked" in status_line(app)

        await pilot.press("down", "down", "m")  # row 5 too; the range ended
        await pilot.pause()
        assert app.marks.ids == {*rows[:4], rows[5]}
        assert app.chosen_ids() == [*rows[:4], rows[5]]

        await pilot.press("escape")
        await pilot.pause()
        assert not app.marks.ids and marked_on_screen(app) == []
        assert "marked" not in status_line(app)
        assert app.chosen_ids() == [app.selected_id]  # no marks: the selected row


async def test_archive_of_marked_rows_is_one_write_and_one_toast_and_a_second_a_undoes_it(
    app: StarVideosApp, made: History, watchlist: Watchlist, clock: FakeClock
) -> None:
    async with showing(app, 8, SIZE) as pilot:
        chosen = made.recent[:3]
        await mark(pilot, app, chosen)
        await pilot.press("A")
        await until(pilot, lambda: len(row_ids(app)) == 5, "archived rows to go")
        assert not set(chosen) & set(row_ids(app))
        said = [t for t in toasts(app) if t.startswith("archived")]
        assert len(said) == 1 and said[0].startswith("archived 3 tasks")
        assert "undo" in said[0]
        assert not app.marks.ids  # their rows went: so did their marks

        records = stored(watchlist)  # as another process reads it
        for task_id in chosen:
            assert records[task_id].archived and records[task_id].archived_at == clock()
        assert not records[made.recent[3]].archived

        await pilot.press("H", "H")  # archived tasks shown: mark the three, A again
        await until(pilot, lambda: set(chosen) <= set(row_ids(app)), "archived rows shown")
        await mark(pilot, app, chosen)
        await pilot.press("A")
        await until(
            pilot,
            lambda: not any(stored(watchlist)[task_id].archived for task_id in chosen),
            "unarchived",
        )
        assert any(t.startswith("unarchived 3 tasks") for t in toasts(app))


async def test_x_on_marked_rows_asks_once_and_removes_them_all(
    app: StarVideosApp, watchlist: Watchlist
) -> None:
    async with showing(app, 8, SIZE) as pilot:
        rows = row_ids(app)
        await pilot.press("m", "m", "m")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert isinstance(app.screen, ConfirmScreen) and "3 tasks" in app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: len(row_ids(app)) == 5, "removed rows")
        assert not set(rows[:3]) & set(stored(watchlist))
        assert any(t == "removed 3 tasks" for t in toasts(app))
        assert not app.marks.ids


async def test_l_and_the_rating_keys_act_on_every_marked_row(
    app: StarVideosApp, watchlist: Watchlist
) -> None:
    async with showing(app, 8, SIZE) as pilot:
        rows = row_ids(app)
        await pilot.press("m", "m")
        await pilot.press("4")
        await until(
            pilot, lambda: all(stored(watchlist)[i].rating == 4 for i in rows[:2]), "ratings"
        )
        assert stored(watchlist)[rows[2]].rating == 0
        assert any(t.startswith("rated 2 tasks ★4") for t in toasts(app))

        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, LabelScreen), "the label dialog")
        await pilot.press(*"picks", "enter")
        await until(
            pilot, lambda: all(stored(watchlist)[i].label == "picks" for i in rows[:2]), "labels"
        )
        assert stored(watchlist)[rows[2]].label is None


async def test_d_on_marked_rows_says_what_it_did_in_one_toast(
    app: StarVideosApp, made: History
) -> None:
    async with showing(app, 8, SIZE) as pilot:
        await mark(pilot, app, made.recent[:2])  # saved already
        await pilot.press("d")
        await pilot.pause()
        assert toasts(app)[-1] == "2 saved already"


def test_a_range_over_marks_made_before_keeps_them() -> None:
    order = [f"t{i}" for i in range(10)]
    marks = Marks()
    marks.toggle("t0")
    assert marks.extend(order, 3, 4) == {"t3", "t4"}  # a range starts at t3
    marks.extend(order, 4, 6)
    assert marks.ids == {"t0", "t3", "t4", "t5", "t6"}
    marks.extend(order, 6, 2)  # back past the anchor: t2..t3
    assert marks.ids == {"t0", "t2", "t3"}
    assert marks.in_order(["t3", "t0"]) == ["t3", "t0", "t2"]  # shown first, then hidden
    assert marks.keep_only({"t0", "t2"}) == {"t3"}
