"""Which rows the table shows: the filter, the sort, and the filter narrowed as it is typed."""

from __future__ import annotations

import random
from collections.abc import Iterator

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.tui.view import SORTS, Narrowing, visible


class Counted:
    """Records that count how often they are gone through."""

    def __init__(self, records: list[TaskRecord]) -> None:
        self.records = records
        self.passes = 0

    def __iter__(self) -> Iterator[TaskRecord]:
        self.passes += 1
        return iter(self.records)


def history(count: int) -> list[TaskRecord]:
    rng = random.Random(13)
    words = ["fox", "lake", "snow", "city", "dawn"]
    return [
        TaskRecord(
            id=f"video_starvideos_o3_{1_000_000 + i}",
            status=rng.choice(["completed", "failed", "processing", "queued", ""]),
            label=f"{rng.choice(words)} take {i}",
            created=rng.randrange(10_000),
        )
        for i in range(count)
    ]


def test_a_filter_narrowed_a_letter_at_a_time_shows_what_a_fresh_filter_shows() -> None:
    records = history(2000)
    words = {r.id: r.status or "new" for r in records}
    rng = random.Random(7)
    narrowing = Narrowing()
    for sort in SORTS:
        for typed in ("fox take 1", "FAIL", "o3_10001", "e", "lake take 19"):
            for end in [*range(len(typed) + 1), *reversed(range(len(typed)))]:  # type, erase
                version = rng.randrange(2)  # now and then the records "changed"
                shown = narrowing.visible(records, words, typed[:end], sort, version)
                assert shown == visible(records, words, typed[:end], sort), (sort, typed[:end])


def test_each_letter_typed_looks_only_among_the_rows_the_shorter_filter_left() -> None:
    records = Counted(history(2000))
    words: dict[str, str] = {}
    narrowing = Narrowing()
    for end in range(1, 11):
        narrowing.visible(records, words, "fox take 1"[:end], "added", 1)
    assert records.passes == 1  # the first letter only; the other nine narrowed


def test_a_record_that_starts_matching_while_the_filter_is_typed_is_shown() -> None:
    records = {r.id: r for r in history(50)}
    words = {task_id: "processing" for task_id in records}
    narrowing = Narrowing()
    assert narrowing.visible(records.values(), words, "fai", "added", 1) == []
    some = next(iter(records))
    words[some] = "failed"  # an answer landed: the face gives a new version
    assert [r.id for r in narrowing.visible(records.values(), words, "fail", "added", 2)] == [some]
