"""The filter's kept answers (tui/view.Narrowing: search texts per record, the scope's
records apart from their order, each order kept) always show what a fresh `visible`
shows, whatever happens between keystrokes: a label edited, a status word changed, a task
removed or added, the sort or the scope changed."""

from __future__ import annotations

import random
from dataclasses import replace

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.query import SearchTexts, parse_query, search_text
from starvideos_tui.tui.view import SHOWS, SORTS, Narrowing, Scope, visible

NOW = 2_000_000_000.0
CUTOFF = NOW - 7 * 86_400
LABELS = ("fox take", "lake", "Fox Lake", "", "sunset over the lake")


def record(i: int, rng: random.Random) -> TaskRecord:
    status = rng.choice(["completed", "failed", "processing", "queued", ""])
    return TaskRecord(
        id=f"video_starvideos_o3_{1_000_000 + i}",
        status=status,
        label=f"{rng.choice(LABELS)} {i}".strip() if rng.random() < 0.8 else None,
        prompt="a red fox" if rng.random() < 0.3 else None,
        created=int(NOW - rng.randrange(30) * 86_400),
        added_at=NOW - rng.randrange(30) * 86_400,
        rating=rng.choice([0, 0, 3, 4, 5]),
        rejected=rng.random() < 0.1,
        archived=rng.random() < 0.1,
    )


def test_the_kept_answers_follow_every_change_between_keystrokes() -> None:
    rng = random.Random(25)
    records = {r.id: r for r in (record(i, rng) for i in range(400))}
    words = {task_id: r.status or "unchecked" for task_id, r in records.items()}
    view = Narrowing()
    version, typed, sort, shows = 0, "", "work", "work"
    targets = ["fox take 1", "LAKE", "rating:4+ fox", "-rejected lake", "o3_10001", "failed"]
    target = rng.choice(targets)
    for step in range(600):
        roll = rng.random()
        if roll < 0.45 and len(typed) < len(target):  # a letter more
            typed = target[: len(typed) + 1]
        elif roll < 0.6 and typed:  # a letter less
            typed = typed[:-1]
        elif roll < 0.65:
            typed, target = "", rng.choice(targets)
        elif roll < 0.7:
            sort = rng.choice(SORTS)
        elif roll < 0.74:
            shows = rng.choice(SHOWS)
        elif roll < 0.82:  # a label edited (a new record object), the face bumps the version
            task_id = rng.choice(list(records))
            records[task_id] = replace(records[task_id], label=rng.choice(LABELS) or None)
            version += 1
        elif roll < 0.88:  # a download started or failed: only the word changed
            task_id = rng.choice(list(records))
            words[task_id] = rng.choice(["downloading", "failed", "completed", "saved"])
            version += 1
        elif roll < 0.92:  # a task removed, another added
            gone = rng.choice(list(records))
            del records[gone], words[gone]
            new = record(1000 + step, rng)
            records[new.id], words[new.id] = new, new.status or "unchecked"
            version += 1
        scope = Scope(shows, CUTOFF)
        shown = view.visible(records.values(), words, typed, sort, version, scope)
        fresh = visible(list(records.values()), words, typed, sort, scope)
        assert [r.id for r in shown] == [r.id for r in fresh], (step, typed, sort, shows)
        if step % 50 == 0:
            view.prepare(records.values(), words, version, scope)  # `/` opened again


def test_a_search_text_finds_what_matches_finds_and_never_across_two_fields() -> None:
    one = TaskRecord(id="video_starvideos_o3_42", label="Fox Lake", prompt="A paper lantern")
    text = search_text(one, "completed")
    for needle, found in [
        ("fox lake", True),
        ("lantern", True),  # a labelled task is found by its prompt too
        ("o3_42", True),
        ("pleted", True),
        ("42fox", False),
        ("lakea paper", False),
    ]:
        query = parse_query(needle)
        assert query.matches(one, "completed") is found
        assert (query.needle in text) is found
    texts = SearchTexts()
    first = texts.of([one], {one.id: "completed"}, 1)
    assert first[one.id] == text
    renamed = replace(one, label="Sunset")
    assert "sunset" in texts.of([renamed], {one.id: "completed"}, 2)[one.id]
    assert texts.of([], {}, 3) == {}  # removed: forgotten


def test_a_removed_task_is_not_held_by_the_view_after_the_next_change() -> None:
    rng = random.Random(7)
    records = {r.id: r for r in (record(i, rng) for i in range(50))}
    words = {task_id: r.status or "unchecked" for task_id, r in records.items()}
    view, scope = Narrowing(), Scope(SHOWS[-1], CUTOFF)
    view.visible(records.values(), words, "", SORTS[0], 1, scope)
    gone = next(iter(records))
    del records[gone], words[gone]
    shown = view.visible(records.values(), words, "", SORTS[0], 2, scope)
    assert gone not in {r.id for r in shown}
    held = [f[0].id for f in view._facts._facts.values()]  # the work order's facts
    assert gone not in held and len(held) == len(records)
