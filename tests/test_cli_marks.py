"""`rate`, `reject`, `archive` and `remove --finished` (CONTRACT.md): a line per id (or a
count), exit 2 and nothing written for bad input, exit 1 after the lines when an id is
not watched, marks that survive each other and other processes, and archived tasks
never polled. Most run `cli.main` in this process (helpers_inproc.py); what needs two
processes or the simulator runs children."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import FAST, Cli, assert_fails, done_task, polls
from helpers_inproc import InCli, in_process

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator

DAY = 86400.0
NOW = time.time()


@pytest.fixture
def incli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[InCli]:
    yield from in_process(tmp_path, monkeypatch, capsys)


def finished(task_id: str, days_ago: float, status: str = "completed") -> TaskRecord:
    at = NOW - days_ago * DAY
    return TaskRecord(
        id=task_id,
        status=status,
        created=int(at - 600),
        added_at=at - 600,
        updated_at=NOW,  # a later change (a refreshed link) is not when it finished
        history=(("queued", at - 600), (status, at)),
    )


def running(task_id: str) -> TaskRecord:
    return TaskRecord(id=task_id, status="queued", created=int(NOW), added_at=NOW)


# -- rate and reject ----------------------------------------------------------------------


def test_rate_sets_and_clears_a_rating_with_a_line_per_id(incli: InCli) -> None:
    incli.seed(finished("a", 1), finished("b", 1), running("c"))
    assert incli.ok("rate", "a", "b", "4").out_lines == ["rated 4 a", "rated 4 b"]
    assert {i: r["rating"] for i, r in incli.by_id().items()} == {"a": 4, "b": 4, "c": 0}
    assert incli.ok("rate", "a", "0").out_lines == ["unrated a"]
    assert incli.by_id()["a"]["rating"] == 0
    base = incli.watchlist.read_text().splitlines()  # one document a line
    lines = {line.split('"id":"')[1][0]: line for line in base if '"id":"' in line}
    assert '"rating"' not in lines["a"] and '"rating":4' in lines["b"]  # 0: left out
    assert (incli.stored()["a"].rating, incli.stored()["b"].rating) == (0, 4)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("rate", "a", "6"), "from 0 to 5 (0 clears), got '6'"),
        (("rate", "a", "x"), "got 'x'"),
        (("rate", "a", "-1"), "got '-1'"),
        (("rate", "a", "3.5"), "got '3.5'"),
        (("rate", "5", "a"), "the rating comes last"),
        (("rate", "a", "../etc", "3"), "invalid task id '../etc'"),
        (("rate", "a"), "required: N"),
        (("reject",), "required: ID"),
    ],
)
def test_a_bad_rating_or_id_is_refused_and_nothing_is_written(
    incli: InCli, args: tuple[str, ...], needle: str
) -> None:
    incli.seed(finished("a", 1), finished("5", 1))
    before = (incli.watchlist.read_bytes(), Path(f"{incli.watchlist}.journal").exists())
    result = incli.run(*args)
    assert_fails(result, 2, needle)
    assert result.out == ""
    after = (incli.watchlist.read_bytes(), Path(f"{incli.watchlist}.journal").exists())
    assert after == before


def test_an_id_not_watched_is_said_per_id_and_ends_in_exit_1_the_rest_done(
    incli: InCli,
) -> None:
    incli.seed(finished("a", 1))
    result = incli.run("rate", "a", "ghost", "3")
    assert result.out_lines == ["rated 3 a", "not watched ghost"]
    assert_fails(result, 1, "1 of 2 task id(s) not watched: ghost")
    assert incli.by_id()["a"]["rating"] == 3
    assert_fails(incli.run("reject", "ghost"), 1, "not watched")
    assert_fails(incli.run("archive", "ghost", "other"), 1, "2 of 2")


def test_a_rejected_task_keeps_its_rating_and_undo_takes_the_reject_back(incli: InCli) -> None:
    incli.seed(finished("a", 1))
    incli.ok("rate", "a", "5")
    assert incli.ok("reject", "a").out_lines == ["rejected a"]
    assert (incli.by_id()["a"]["rejected"], incli.by_id()["a"]["rating"]) == (True, 5)
    assert incli.ok("reject", "a").out_lines == ["rejected a (it was already)"]
    assert incli.ok("reject", "a", "--undo").out_lines == ["unrejected a"]
    assert (incli.by_id()["a"]["rejected"], incli.by_id()["a"]["rating"]) == (False, 5)


def test_two_processes_marking_the_same_tasks_at_once_lose_nothing(
    cli: Cli, spawn: Callable[..., subprocess.Popen[Any]]
) -> None:
    """`rate` and `reject` of the same 30 tasks, started together: each transaction takes
    each record as it is on disk then, so every task ends rated AND rejected; and of two
    ratings, the one written last is the one kept."""
    ids = [f"task_{n:02d}" for n in range(30)]
    cli.ok("add", *ids)
    command = [sys.executable, "-m", "starvideos_tui"]
    children = [
        spawn([*command, *args], env=cli.env, cwd=cli.cwd, stdout=subprocess.PIPE, text=True)
        for args in (["rate", *ids, "3"], ["reject", *ids])
    ]
    for child in children:
        assert child.wait(timeout=20) == 0
    items = {r["id"]: r for r in cli.records()}
    assert {(items[i]["rating"], items[i]["rejected"]) for i in ids} == {(3, True)}
    cli.ok("rate", ids[0], "1")
    cli.ok("rate", ids[0], "4")
    assert cli.record(ids[0])["rating"] == 4


# -- archive ------------------------------------------------------------------------------


def test_archive_keeps_a_task_out_of_list_and_undo_brings_it_back(incli: InCli) -> None:
    incli.seed(finished("done", 10), running("busy"), finished("kept", 1))
    assert incli.ok("archive", "done", "busy").out_lines == [
        "archived done",
        "archived busy (queued, not final: no longer polled)",
    ]
    assert list(incli.by_id()) == ["kept"]
    every = incli.by_id("--all")
    assert {i: r["archived"] for i, r in every.items()} == {
        "done": True,
        "busy": True,
        "kept": False,
    }
    stored = incli.stored()
    assert stored["done"].archived_at is not None and not stored["busy"].needs_polling
    assert incli.ok("archive", "done").out_lines == ["already archived done"]
    assert incli.ok("archive", "--undo", "busy", "kept").out_lines == [
        "unarchived busy (queued, not final: polled again)",
        "not archived kept",
    ]
    assert incli.stored()["busy"].archived_at is None
    assert sorted(incli.by_id()) == ["busy", "kept"]


def test_archive_finished_older_than_counts_what_it_archived(incli: InCli) -> None:
    incli.seed(
        finished("old", 10),
        finished("old_failed", 8, status="failed"),
        finished("recent", 2),
        running("busy"),
    )
    assert incli.ok("archive", "--finished", "--older-than", "1w").out_lines == [
        "archived 2 finished tasks"
    ]
    assert sorted(incli.by_id()) == ["busy", "recent"]
    again = incli.ok("archive", "--finished", "--older-than", "7d")
    assert again.out_lines == ["archived 0 finished tasks"]  # already archived: not counted
    undone = incli.ok("archive", "--finished", "--older-than", "9d", "--undo")
    assert undone.out_lines == ["unarchived 1 finished task"]
    assert sorted(incli.by_id()) == ["busy", "old", "recent"]


@pytest.mark.parametrize("command", ["archive", "remove"])
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ((), "needs task ids, or --finished --older-than AGE"),
        (("a", "--finished", "--older-than", "1d"), "give task ids or --finished, not both"),
        (("--finished",), "--finished needs --older-than AGE"),
        (("--older-than", "1d"), "--older-than goes with --finished"),
        (("--finished", "--older-than", "7x"), "--older-than must be an age such as"),
        (("--finished", "--older-than", "30"), "(add a unit)"),
    ],
)
def test_archive_and_remove_refuse_a_wrong_combination_and_write_nothing(
    incli: InCli, command: str, args: tuple[str, ...], needle: str
) -> None:
    incli.seed(finished("a", 10))
    before = incli.watchlist.read_bytes()
    result = incli.run(command, *args)
    assert_fails(result, 2, needle)
    assert result.out == "" and incli.watchlist.read_bytes() == before
    assert not Path(f"{incli.watchlist}.journal").exists()


def test_remove_finished_older_than_removes_only_those_and_prints_a_count(
    incli: InCli,
) -> None:
    incli.seed(finished("old", 30), finished("new", 1), running("busy"))
    incli.ok("archive", "old")
    result = incli.ok("remove", "--finished", "--older-than", "2w")
    assert result.out_lines == ["removed 1 finished task"]
    assert sorted(incli.by_id("--all")) == ["busy", "new"]
    assert incli.ok("remove", "--finished", "--older-than", "0s").out_lines == [
        "removed 1 finished task"
    ]
    assert incli.ok("remove", "busy").out_lines == ["removed busy"]  # ids as before


def test_remove_finished_keeps_a_video_never_saved_whose_link_may_still_work(
    incli: InCli,
) -> None:
    """The only trace of a paid take is not dropped by a sweep of the history (found by
    an independent review): `download --all-unsaved` can still save it."""
    fresh = dataclasses.replace(
        finished("fresh", 0.5), video_url="https://cdn.example/v.mp4", video_url_at=NOW
    )
    dead = dataclasses.replace(
        finished("dead", 20), video_url="https://cdn.example/d.mp4", video_url_at=NOW - 20 * DAY
    )
    incli.seed(fresh, dead)
    result = incli.ok("remove", "--finished", "--older-than", "1h")
    assert result.out_lines == ["removed 1 finished task"]
    assert "kept 1 video made and not saved" in result.err
    assert sorted(incli.by_id("--all")) == ["fresh"]


def test_an_archived_task_is_never_polled_by_refresh_or_watch(cli: Cli, sim: Simulator) -> None:
    """An archived task, final or not, gets no request: `refresh` leaves it, and `watch`
    ends once the others are final instead of waiting for it."""
    waiting = sim.seed_task("a shelved cat", queued=600, processing=600)
    done = done_task(sim)
    cli.ok("add", waiting, done)
    cli.ok("archive", waiting)
    refreshed = json.loads(cli.ok(*FAST, "refresh", "--json").out)
    assert [r["id"] for r in refreshed] == [done]
    assert polls(sim, waiting) == [] and polls(sim, done)
    watched = cli.run(*FAST, "watch", timeout=10)
    assert watched.code == 0, str(watched)
    assert polls(sim, waiting) == []
    shelved = json.loads(cli.ok("list", "--json", "--all").out)
    assert {r["id"]: (r["state"], r["archived"]) for r in shelved} == {
        waiting: ("unchecked", True),
        done: ("downloaded", False),
    }
