"""Expected finishes and stalls from the watchlist's own history (eta.py), and in
`list --json`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from starvideos_tui.core.eta import (
    KEEP,
    STALLED_WITHOUT_HISTORY,
    RunTimes,
    group_of,
    mode_of,
    run_time,
)
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

T0 = 1_796_000_000


def done(n: int, took: float, duration: int = 5, created: int | None = None) -> TaskRecord:
    start = created if created is not None else T0 + 1000 * n
    return TaskRecord(
        id=f"video_done_{duration}_{n}",
        status="completed",
        created=start,
        params={"model": "starvideos_o3", "prompt": "p", "duration": duration},
        history=(
            ("queued", start + 1.0),
            ("processing", start + 20.0),
            ("completed", start + took),
        ),
    )


def running(created: int, duration: int = 5, status: str = "processing") -> TaskRecord:
    return TaskRecord(
        id="video_running",
        status=status,
        created=created,
        params={"model": "starvideos_o3", "prompt": "p", "duration": duration},
    )


def test_the_group_is_the_requested_length_and_mode() -> None:
    assert mode_of(None) == "unknown"
    assert mode_of({"prompt": "p"}) == "text"
    assert mode_of({"prompt": "p", "referenceImages": ["https://i/a"]}) == "images"
    assert mode_of({"prompt": "p", "first_image": "https://i/a"}) == "frames"
    assert mode_of({"prompt": "p", "referenceVideos": ["https://v/a"], "duration": 9}) == "video"
    assert group_of(done(0, 60, duration=9)) == (9, "text")
    video = TaskRecord(id="v", params={"prompt": "p", "referenceVideos": ["https://v"]})
    assert group_of(video) == (None, "video")  # the reference decides the length


def test_a_run_is_from_created_to_the_poll_that_saw_it_completed() -> None:
    assert run_time(done(0, 95.0)) == 95.0
    assert run_time(running(T0)) is None
    assert run_time(TaskRecord(id="x", status="completed", created=T0)) is None  # no history


def test_a_running_task_is_expected_at_the_median_of_longer_past_runs() -> None:
    times = RunTimes.of([done(n, 90.0 + 2 * n) for n in range(11)])  # 90 … 110 s
    now = T0 + 50_000.0
    early = times.estimate(running(int(now - 30)), now)
    assert early.eta == now - 30 + 100 and not early.stalled  # the median of all
    assert early.compared == 11 and early.typical == 100
    late = times.estimate(running(int(now - 104)), now)
    assert late.eta == now - 104 + 108  # the median of the runs longer than 104 s
    past = times.estimate(running(int(now - 130)), now)
    assert past.eta is None and not past.stalled  # longer than all, not yet stalled
    stuck = times.estimate(running(int(now - 200)), now)  # 1.5 x 110 = 165 s
    assert stuck.stalled and stuck.eta is None


def test_without_history_a_task_is_stalled_only_after_the_fixed_bound() -> None:
    times = RunTimes.of([done(n, 100.0) for n in range(4)])  # too few to speak
    now = T0 + 90_000.0
    assert times.estimate(running(int(now - 600)), now).eta is None
    assert not times.estimate(running(int(now - 600)), now).stalled
    assert times.estimate(running(int(now - STALLED_WITHOUT_HISTORY - 1)), now).stalled


def test_a_group_with_enough_runs_speaks_for_itself_else_all_runs_do() -> None:
    short = [done(n, 60.0, duration=3) for n in range(20)]
    long = [done(100 + n, 300.0, duration=15) for n in range(6)]
    times = RunTimes.of([*short, *long])
    now = T0 + 500_000.0
    assert times.estimate(running(int(now), duration=15), now).typical == 300
    assert times.estimate(running(int(now), duration=3), now).typical == 60
    # 9 s has no group of its own: all 26 runs are compared.
    assert times.estimate(running(int(now), duration=9), now).compared == 26


def test_final_or_unpolled_tasks_have_no_estimate_and_a_run_counts_once() -> None:
    times = RunTimes.of([done(n, 100.0) for n in range(6)])
    assert times.estimate(done(99, 100.0), T0).eta is None
    assert times.estimate(TaskRecord(id="new", created=T0), T0 + 10).eta is None
    again = done(0, 100.0)
    times.add(again)
    times.add(again)
    assert times.estimate(running(T0), T0 + 1).compared == 6


def test_each_group_keeps_its_latest_runs() -> None:
    old = [done(n, 500.0) for n in range(KEEP)]
    new = [done(KEEP + n, 100.0) for n in range(KEEP)]
    times = RunTimes.of([*new, *old])  # read in any order: the latest by creation are kept
    assert times.estimate(running(T0), T0 + 1.0).typical == 100


def test_list_json_carries_eta_and_stalled(tmp_path: Path) -> None:
    now = int(time.time())  # the child reads the same clock
    db = tmp_path / "w.json"
    past = [done(n, 120.0, created=now - 100_000 + n) for n in range(8)]
    Watchlist(db).add(
        [
            *past,
            TaskRecord(id="video_fresh", status="queued", created=now - 10, params=past[0].params),
            TaskRecord(id="video_stuck", status="processing", created=now - 4000),
        ]
    )
    done_list = subprocess.run(
        [sys.executable, "-m", "starvideos_tui", "--db", str(db), "list", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    items = {item["id"]: item for item in json.loads(done_list.stdout)}
    assert abs(items["video_fresh"]["eta"] - (now - 10 + 120)) <= 2
    assert items["video_fresh"]["stalled"] is False
    assert items["video_stuck"]["eta"] is None and items["video_stuck"]["stalled"] is True
    assert items[past[0].id]["eta"] is None and items[past[0].id]["stalled"] is False
