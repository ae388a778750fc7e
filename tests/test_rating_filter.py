"""Ratings and rejects in the TUI (#26 item 4): `1`…`5` and `0` on the selected row, `X`
to reject, written to the watchlist (another process reads them), shown in a column that
reads without colour, filtered with `/` (`rating:4+`, `★>=4`, `rating:0`, `rejected`)
and sorted with `s`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace

import pytest
from conftest import FakeClock
from helpers_history import stored, year_of_history
from helpers_tui import AppFactory, ready, row_ids, screen_text, showing, table, until

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.query import Query, parse_query, rating_span
from starvideos_tui.engine.session import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.view import Narrowing, visible
from starvideos_tui.tui.widgets.columns import column_widths
from starvideos_tui.tui.widgets.filter_box import FilterBox

SIZE = (120, 40)


def row_line(app: StarVideosApp, task_id: str) -> str:
    view = table(app)
    y = view.region.y + 1 + view.row_ids.index(task_id) - int(view.scroll_offset.y)
    return screen_text(app).splitlines()[y]


# -- the filter's terms, without Textual ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "low", "high", "rejected", "needle"),
    [
        ("rating:4+", 4, 5, None, ""),
        ("★>=4", 4, 5, None, ""),
        ("★4+", 4, 5, None, ""),
        ("RATING:3", 3, 3, None, ""),
        ("rating:2-", 0, 2, None, ""),
        ("rating:<3", 0, 2, None, ""),
        ("rating:>0", 1, 5, None, ""),
        ("rating:0", 0, 0, None, ""),
        ("rejected", 0, 5, True, ""),
        ("-rejected fox", 0, 5, False, "fox"),
        ("Fox  Lake rating:4+ !rejected", 4, 5, False, "fox lake"),
        ("rating:3+ rating:4-", 3, 4, None, ""),  # both hold
    ],
)
def test_a_filter_reads_its_terms(
    text: str, low: int, high: int, rejected: bool | None, needle: str
) -> None:
    query = parse_query(text)
    assert (query.low, query.high, query.rejected, query.needle) == (low, high, rejected, needle)
    assert not query.problem


@pytest.mark.parametrize("text", ["rating:", "rating:9", "★>", "rating:>5", "rating:>=4+"])
def test_a_term_that_cannot_be_read_filters_nothing_and_says_why(text: str) -> None:
    query = parse_query(text)
    assert query.empty
    assert "is not a rating filter" in query.problem
    assert rating_span(text.split(":")[-1].lstrip("★")) is None


def test_a_rating_filter_narrowed_as_typed_shows_what_a_fresh_one_shows() -> None:
    rng = random.Random(3)
    records = [
        TaskRecord(
            id=f"video_starvideos_o3_{i}",
            status=rng.choice(["completed", "failed", "queued"]),
            label=rng.choice(["fox", "lake", None]),
            rating=rng.choice([0, 0, 1, 3, 4, 5]),
            rejected=rng.random() < 0.2,
            created=rng.randrange(10_000),
        )
        for i in range(1500)
    ]
    narrowing = Narrowing()
    for typed in ("fox rating:4+", "rating:3 -rejected lake", "★>=4 rejected", "rating:0 fo"):
        for end in [*range(len(typed) + 1), *reversed(range(len(typed)))]:
            for sort in ("work", "rating"):
                shown = narrowing.visible(records, {}, typed[:end], sort, 1)
                assert shown == visible(records, {}, typed[:end], sort), (typed[:end], sort)
    best = visible(records, {}, "rating:4+ -rejected", "rating")
    assert best and all(r.rating >= 4 and not r.rejected for r in best)
    assert [r.rating for r in best] == sorted((r.rating for r in best), reverse=True)


def test_the_narrowing_rule_needs_the_same_terms() -> None:
    assert parse_query("fox rating:4+").narrows(parse_query("fo rating:4+"))
    assert not parse_query("rating:4+").narrows(parse_query("rating:4"))
    assert not parse_query("fox").narrows(Query(rejected=True))


def test_the_rating_column_fits_80_columns_in_its_short_form() -> None:
    assert column_widths(120, rating=True)[-1] == 5  # ★★★★☆
    assert column_widths(80, rating=True)[-1] == 3  # 4★, and every other column still shown
    assert all(column_widths(80, rating=True))
    assert column_widths(60, rating=True)[-1] == 0  # gives way before the Due column
    assert column_widths(80) == [18, 29, 4, 4, 8, 5, 0]  # nothing rated: no column


# -- the keys, in the app ------------------------------------------------------------------


async def test_number_keys_rate_x_rejects_and_another_process_reads_them(
    make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock(), old=10)
    app = make_app([])
    async with showing(app, 8, SIZE) as pilot:
        task_id = made.recent[0]
        table(app).move_cursor(row=row_ids(app).index(task_id))
        await pilot.press("4")
        await until(pilot, lambda: stored(watchlist)[task_id].rating == 4, "the rating stored")
        await until(pilot, lambda: "★★★★☆" in row_line(app, task_id), "the stars drawn")
        assert app.records[task_id].rating == 4

        await pilot.press("0")  # clears: the field leaves the stored document
        await until(pilot, lambda: stored(watchlist)[task_id].rating == 0, "the rating cleared")
        await until(pilot, lambda: "★" not in row_line(app, task_id), "no stars")

        await pilot.press("5", "X")
        await until(pilot, lambda: stored(watchlist)[task_id].rejected, "rejected")
        await until(pilot, lambda: "✗ rej" in row_line(app, task_id), "the reject drawn")
        assert stored(watchlist)[task_id].rating == 5  # a rejected take keeps its rating
        await pilot.press("X")
        await until(pilot, lambda: not stored(watchlist)[task_id].rejected, "no longer rejected")


async def test_a_rating_set_by_another_process_is_drawn(
    make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock(), old=10)
    app = make_app([])
    async with showing(app, 8, (80, 24)) as pilot:
        task_id = made.unsaved[0]
        Watchlist(watchlist.path).update({task_id: lambda r: replace(r, rating=3)})
        await app.monitor.reload()
        await until(pilot, lambda: "3★" in row_line(app, task_id), "the short form at 80")


async def test_slash_rating_4_plus_shows_only_the_best_and_s_sorts_by_rating(
    make_app: AppFactory, watchlist: Watchlist, clock: FakeClock
) -> None:
    made = year_of_history(watchlist, clock(), old=10)
    ratings = dict(zip(made.recent, (5, 4, 0, 2, 4), strict=True))

    def rated(n: int) -> Callable[[TaskRecord], TaskRecord]:
        return lambda r: replace(r, rating=n)

    Watchlist(watchlist.path).update({i: rated(n) for i, n in ratings.items()})
    Watchlist(watchlist.path).update({made.recent[4]: lambda r: replace(r, rejected=True)})
    app = make_app([])
    async with showing(app, 8, SIZE) as pilot:
        await pilot.press("slash", *"rating:4+")
        await ready(pilot, app, 3)
        assert set(row_ids(app)) == {made.recent[0], made.recent[1], made.recent[4]}
        assert "3 of" in screen_text(app)
        await pilot.press("space", *"-rejected")
        await ready(pilot, app, 2)
        box = app.query_one(FilterBox)
        box.value = "★>=4"  # the other spelling (pasted: a key press cannot type a star)
        await ready(pilot, app, 3)
        box.value = "rating:0"
        await ready(pilot, app, 1 + len(made.unsaved))
        box.value = "rejected"
        await ready(pilot, app, 1)
        box.value = ""
        await pilot.press("enter")
        await ready(pilot, app, 8)
        while app.sort_mode != "rating":
            await pilot.press("s")
        await pilot.pause()
        # The best first, rejected ones last.
        assert row_ids(app)[:3] == [made.recent[0], made.recent[1], made.recent[3]]
        assert row_ids(app)[-1] == made.recent[4]


def test_a_cleared_rating_and_an_undone_archive_are_written(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "w.json"
    Watchlist(path).add([TaskRecord(id="t1", status="completed")])
    Watchlist(path).update(
        {"t1": lambda r: replace(r, rating=4, rejected=True, archived=True, archived_at=5.0)}
    )
    Watchlist(path).update(
        {"t1": lambda r: replace(r, rating=0, rejected=False, archived=False, archived_at=None)}
    )
    (record,) = Watchlist(path).load()
    assert (record.rating, record.rejected, record.archived, record.archived_at) == (
        0,
        False,
        False,
        None,
    )
