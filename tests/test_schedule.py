"""When each task is polled: interval with jitter, final tasks, Retry-After, backoff, bad key."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from typing import Any

import pytest
from conftest import FakeClock

from starvideos_tui.core.schedule import PollSchedule


def make(clock: FakeClock, seed: int = 1234, **kw: Any) -> PollSchedule:
    return PollSchedule(clock=clock, rng=random.Random(seed), **kw)


# -- interval and jitter ----------------------------------------------------------------------


def test_newly_watched_tasks_are_polled_at_once(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b", "c"])
    assert sorted(schedule.due()) == ["a", "b", "c"]
    assert schedule.next_wakeup() == clock.now


def test_tracking_a_task_again_does_not_reset_its_wait(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a"])
    schedule.on_answer("a", final=False)
    schedule.track(["a"])
    assert schedule.due() == []


def test_answered_task_is_polled_again_after_the_interval_give_or_take_the_jitter(
    clock: FakeClock,
) -> None:
    schedule = make(clock, interval=30.0, jitter=0.15)
    ids = [f"t{i}" for i in range(200)]
    schedule.track(ids)
    start = clock.now
    for task_id in schedule.due():
        schedule.on_answer(task_id, final=False)
    waits = [schedule.next_due[t] - start for t in ids]
    assert all(30.0 - 1e-9 <= w <= 30.0 * 1.30 + 1e-9 for w in waits), "sooner than asked"
    assert len(set(waits)) > 100, "no jitter: every task falls due at the same moment"

    clock.advance(30.0 - 0.01)
    assert schedule.due() == []
    clock.advance(30.0 * 0.30 + 0.02)
    assert sorted(schedule.due()) == sorted(ids)


def test_passes_are_batched_a_tenth_of_the_interval_apart_unless_the_user_asks(
    clock: FakeClock,
) -> None:
    schedule = make(clock, interval=30.0)
    schedule.track(["a", "b"])
    schedule.pass_started()
    schedule.on_answer("a", final=False)
    schedule.next_due["b"] = clock.now + 0.5
    assert schedule.next_wakeup() == pytest.approx(clock.now + 3.0)
    schedule.poll_now(["b"])
    assert schedule.next_wakeup() == pytest.approx(clock.now)
    schedule.pass_started()
    assert not schedule.urgent


def test_due_lists_the_most_overdue_task_first(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["late"])
    clock.advance(10)
    schedule.track(["early"])
    assert schedule.due() == ["late", "early"]


def test_thousand_tasks_added_together_do_not_poll_in_bursts(clock: FakeClock) -> None:
    schedule = make(clock, interval=30.0, jitter=0.15)
    ids = [f"video_{i}" for i in range(1000)]
    schedule.track(ids)
    start = clock.now
    for task_id in schedule.due():
        schedule.on_answer(task_id, final=False)

    after_one_round = Counter(int(schedule.next_due[t] - start) for t in ids)
    assert max(after_one_round.values()) <= 150, after_one_round
    assert len(after_one_round) >= 8

    # Keep polling for five minutes, one tick a second: no second sees a burst.
    polls_per_second = []
    for _ in range(300):
        clock.advance(1.0)
        due = schedule.due()
        polls_per_second.append(len(due))
        for task_id in due:
            schedule.on_answer(task_id, final=False)
    assert sum(polls_per_second) >= 1000 * 300 / (30 * 1.30) * 0.9
    assert max(polls_per_second) <= 150, polls_per_second


# -- final tasks ------------------------------------------------------------------------------


def test_completed_or_failed_task_is_never_polled_again(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["done", "running"])
    schedule.on_answer("done", final=True)
    schedule.on_answer("running", final=False)
    schedule.poll_now(["done"])
    for _ in range(100):
        clock.advance(60)
        due = schedule.due()
        assert "done" not in due
        for task_id in due:
            schedule.on_answer(task_id, final=False)
    assert "done" not in schedule.next_due


def test_nothing_to_wake_up_for_when_every_task_is_final(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b"])
    schedule.on_answer("a", final=True)
    schedule.on_answer("b", final=True)
    assert schedule.due() == []
    assert schedule.next_wakeup() is None


def test_sync_follows_the_watchlist_without_resetting_waits(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.sync(["a", "b"])
    schedule.on_answer("a", final=False)
    schedule.on_answer("b", final=False)
    schedule.sync(["b", "c"])  # a removed or final, c added
    assert set(schedule.next_due) == {"b", "c"}
    assert schedule.due() == ["c"]


def test_answer_arriving_after_the_task_was_removed_does_not_bring_it_back(
    clock: FakeClock,
) -> None:
    schedule = make(clock)
    schedule.track(["a"])
    schedule.forget(["a"])
    schedule.on_answer("a", final=False)
    schedule.on_failure("a")
    schedule.on_rate_limited("a", 10)
    clock.advance(1000)
    assert schedule.due() == []
    assert "a" not in schedule.next_due


# -- Retry-After ------------------------------------------------------------------------------


def test_rate_limit_pauses_every_task_until_retry_after_passes(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b", "c"])
    start = clock.now
    schedule.on_rate_limited("a", 60)
    assert schedule.due() == []
    assert schedule.is_paused()
    clock.now = start + 59.9
    assert schedule.due() == []
    assert schedule.next_wakeup() == pytest.approx(start + 60)
    clock.now = start + 60
    assert sorted(schedule.due()) == ["a", "b", "c"]
    assert not schedule.is_paused()


def test_absurd_retry_after_is_capped_at_max_pause(clock: FakeClock) -> None:
    schedule = make(clock, max_pause=900.0)
    schedule.track(["a"])
    start = clock.now
    schedule.on_rate_limited("a", 7 * 86400)
    clock.now = start + 899
    assert schedule.due() == []
    clock.now = start + 900
    assert schedule.due() == ["a"]


def test_shorter_second_retry_after_does_not_cut_the_pause_short(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b"])
    start = clock.now
    schedule.on_rate_limited("a", 120)
    schedule.on_rate_limited("b", 5)
    clock.now = start + 100
    assert schedule.due() == []
    clock.now = start + 120
    assert sorted(schedule.due()) == ["a", "b"]


def test_user_refresh_during_a_rate_limit_waits_for_the_pause(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b"])
    start = clock.now
    schedule.on_rate_limited("a", 30)
    schedule.poll_now(["b"])
    assert schedule.due() == []
    clock.now = start + 30
    assert "b" in schedule.due()


@pytest.mark.parametrize("asked", [0.0, 1.0, 5.0, 29.0])
def test_a_retry_after_shorter_than_the_interval_pauses_as_long_as_none(
    clock: FakeClock, asked: float
) -> None:
    """Retry-After: 0 once meant a pass every few seconds, each refused: a 429 never makes
    polling faster than the schedule (issue 23, class 5)."""
    schedule = make(clock, interval=30.0)
    schedule.track(["a", "b"])
    start = clock.now
    assert schedule.on_rate_limited("a", asked) == schedule.rate_limit_pause == 30.0
    clock.now = start + 29.9
    assert schedule.due() == []
    clock.now = start + 30
    assert schedule.due() == ["b"]  # "a" waits its own interval too


def test_a_retry_after_at_or_over_a_short_loopback_interval_is_honoured(clock: FakeClock) -> None:
    schedule = make(clock, interval=0.3, jitter=0.0)
    schedule.track(["a"])
    start = clock.now
    assert schedule.on_rate_limited("a", 1.0) == 1.0
    clock.now = start + 1.0
    assert schedule.due() == ["a"]


def test_the_refused_task_waits_at_least_its_interval(clock: FakeClock) -> None:
    schedule = make(clock, interval=60.0, jitter=0.0)
    schedule.track(["a", "b"])
    start = clock.now
    assert schedule.on_rate_limited("a", 45.0) == 45.0  # over the 30 s of none: as asked
    clock.now = start + 45
    assert schedule.due() == ["b"]
    clock.now = start + 60
    assert sorted(schedule.due()) == ["a", "b"]


def test_a_task_whose_request_is_still_out_is_not_due_and_wakes_nothing(
    clock: FakeClock,
) -> None:
    schedule = make(clock)
    schedule.track(["a"])
    schedule.asking.add("a")
    assert schedule.due() == []
    assert schedule.next_wakeup() is None
    schedule.asking.discard("a")
    assert schedule.due() == ["a"]


# -- backoff ----------------------------------------------------------------------------------


def _delays_after(failures: int, samples: int = 300) -> list[float]:
    """The wait chosen after the n-th consecutive failure, over many tasks."""
    clock = FakeClock()
    schedule = make(clock, backoff_base=5.0, backoff_cap=600.0)
    ids = [f"t{i}" for i in range(samples)]
    schedule.track(ids)
    delays = []
    for task_id in ids:
        for _ in range(failures):
            delay = schedule.on_failure(task_id)
        delays.append(delay)
        assert schedule.next_due[task_id] == clock.now + delay
    return delays


def test_repeated_server_errors_back_off_longer_and_longer() -> None:
    means = [statistics.mean(_delays_after(n)) for n in (1, 2, 3, 4, 5, 6)]
    assert means == sorted(means)
    assert means[-1] > 4 * means[0]


@pytest.mark.parametrize("failures", [1, 3, 8, 30])
def test_backoff_never_hammers_and_never_exceeds_the_cap(failures: int) -> None:
    delays = _delays_after(failures)
    assert min(delays) >= 5.0
    assert max(delays) <= 600.0


def test_long_outage_backoff_reaches_but_stays_at_the_cap() -> None:
    delays = _delays_after(30)
    assert max(delays) > 450
    assert statistics.mean(delays) > 200


def test_failing_task_is_not_polled_before_its_backoff_ends(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a"])
    start = clock.now
    delay = schedule.on_failure("a")
    clock.now = start + delay - 0.01
    assert schedule.due() == []
    clock.now = start + delay
    assert schedule.due() == ["a"]


def test_one_good_answer_resets_the_backoff(clock: FakeClock) -> None:
    schedule = make(clock, backoff_base=5.0)
    schedule.track(["a"])
    for _ in range(8):
        schedule.on_failure("a")
    schedule.on_answer("a", final=False)
    assert schedule.on_failure("a") <= 10.0


def test_unknown_task_404_is_retried_no_faster_than_the_interval(clock: FakeClock) -> None:
    schedule = make(clock, interval=30.0, jitter=0.15)
    schedule.track(["typo"])
    start = clock.now
    schedule.on_not_found("typo")
    clock.now = start + 30 - 0.01
    assert schedule.due() == []
    clock.now = start + 30 * 1.30
    assert schedule.due() == ["typo"]


def test_task_failing_for_days_keeps_being_retried_without_crashing(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a"])
    for _ in range(1100):
        delay = schedule.on_failure("a")
        assert 5.0 <= delay <= 600.0
        clock.advance(delay)


# -- refused key ------------------------------------------------------------------------------


def test_refused_key_stops_all_polling_until_the_key_changes(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b"])
    schedule.on_auth_failed()
    assert schedule.due() == []
    assert schedule.is_paused()
    assert schedule.next_wakeup() is None
    clock.advance(86400)
    schedule.poll_now(["a"])
    assert schedule.due() == []
    schedule.key_changed()
    assert sorted(schedule.due()) == ["a", "b"]
    assert not schedule.is_paused()


# -- poll now ---------------------------------------------------------------------------------


def test_refresh_key_polls_the_task_now_instead_of_waiting(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b"])
    schedule.on_answer("a", final=False)
    schedule.on_answer("b", final=False)
    assert schedule.due() == []
    schedule.poll_now(["a"])
    assert schedule.due() == ["a"]


def test_refresh_of_an_unwatched_id_does_not_start_watching_it(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.poll_now(["ghost"])
    assert schedule.due() == []
    assert schedule.next_wakeup() is None


def test_next_wakeup_is_when_the_earliest_task_falls_due(clock: FakeClock) -> None:
    schedule = make(clock)
    schedule.track(["a", "b"])
    start = clock.now
    schedule.on_answer("a", final=False)
    schedule.on_failure("b")
    assert schedule.next_wakeup() == min(schedule.next_due.values())
    assert schedule.next_wakeup() > start  # type: ignore[operator]
