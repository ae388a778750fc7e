"""The command line from the outside: `watch` and `wait` (each command in the test's
process as a child would run it, a real simulator; see test_cli_e2e.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from helpers_cli import (
    FAST,
    SAMPLE,
    Cli,
    assert_fails,
    done_task,
    failed_task,
    pending_task,
    without_waiting,
)

from starvideos_tui.simulator import Simulator


@pytest.fixture
def cli(same_process_cli: Cli) -> Cli:
    return same_process_cli


# -- watch --------------------------------------------------------------------------------


def test_watch_saves_every_video_and_exits_0(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    ids = [sim.seed_task(f"cat {i}", queued=0.2, processing=0.5) for i in range(3)]
    cli.ok("add", *ids)
    folder = tmp_path / "dl"
    result = cli.ok(*FAST, "--download-dir", str(folder), "watch", timeout=60)
    for task_id in ids:
        assert (folder / f"{task_id}.mp4").read_bytes() == SAMPLE
        assert any(task_id in line and "completed" in line for line in result.out_lines)
    assert all(r["local_path"] for r in cli.records())
    # one line per status change: no line repeats
    assert len(result.out_lines) == len(set(result.out_lines))


def test_watch_exits_1_when_a_task_failed(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    good = sim.seed_task("cat", queued=0.2, processing=0.5)
    bad = sim.seed_task("cat", queued=0.2, processing=0.5, fail=True, error="Too dark.")
    cli.ok("add", good, bad)
    folder = tmp_path / "dl"
    result = cli.run(*FAST, "--download-dir", str(folder), "watch", timeout=60)
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert (folder / f"{good}.mp4").read_bytes() == SAMPLE
    assert not (folder / f"{bad}.mp4").exists()
    assert "Too dark." in result.out + result.err


def test_watch_with_a_failed_task_says_so_on_stderr(cli: Cli, sim: Simulator) -> None:
    cli.ok("add", failed_task(sim))
    assert_fails(cli.run(*FAST, "watch", timeout=60), 1)


def test_watch_gives_up_on_an_id_the_api_never_knows(cli: Cli, sim: Simulator) -> None:
    cli.ok("add", "ghost-task")
    started = time.monotonic()
    result = cli.run(*FAST, "watch", timeout=30)
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert "ghost-task" in result.out
    assert time.monotonic() - started < 20


def test_watch_of_an_empty_watchlist_fails_cleanly(cli: Cli) -> None:
    assert_fails(cli.run(*FAST, "watch"), 1)


# -- wait ---------------------------------------------------------------------------------


def test_wait_exits_0_when_every_task_completed_with_a_line_per_change(
    cli: Cli, sim: Simulator
) -> None:
    ids = [sim.seed_task(f"cat {i}", queued=0.2, processing=0.5) for i in range(2)]
    result = cli.ok(*FAST, "wait", *ids, timeout=60)
    for task_id in ids:
        ends = [line for line in result.out_lines if line.startswith(f"{task_id} ")]
        assert ends and ends[-1].endswith("-> completed"), str(result)
    assert len(result.out_lines) == len(set(result.out_lines))
    assert not (cli.cwd / "starvideos-downloads").exists()  # nothing saved without --download
    assert {r["id"] for r in cli.records()} == set(ids)  # an id not watched yet is added


def test_wait_exits_1_when_any_task_failed(cli: Cli, sim: Simulator) -> None:
    good = done_task(sim)
    bad = sim.seed_task("cat", queued=0.2, processing=0.3, fail=True, error="Too dark.")
    result = cli.run(*FAST, "wait", good, bad, timeout=60)
    assert_fails(without_waiting(result), 1, bad)
    assert f"{bad} failed: Too dark." in result.out_lines


def test_wait_exits_3_when_the_timeout_runs_out_first(cli: Cli, sim: Simulator) -> None:
    slow = pending_task(sim)
    started = time.monotonic()
    result = cli.run(*FAST, "wait", slow, "--timeout", "1.5", timeout=30)
    assert_fails(without_waiting(result), 3, "timed out", slow)
    assert time.monotonic() - started < 10
    assert cli.record(slow)["status"] == "queued"  # what it learned is kept


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_wait_with_a_bad_timeout_is_bad_input_and_writes_nothing(
    cli: Cli, sim: Simulator, value: str
) -> None:
    assert_fails(cli.run("wait", done_task(sim), f"--timeout={value}"), 2, "--timeout")
    assert not sim.requests
    assert not cli.watchlist.exists()


def test_wait_download_saves_each_video(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    task_id = sim.seed_task("a cat", queued=0.2, processing=0.3)
    folder = tmp_path / "dl"
    result = cli.ok(*FAST, "--download-dir", str(folder), "wait", task_id, "--download", timeout=60)
    assert (folder / f"{task_id}.mp4").read_bytes() == SAMPLE
    assert result.out_lines[-1] == f"{task_id} saved {folder / f'{task_id}.mp4'}"


def test_wait_json_prints_the_tasks_as_json_and_the_story_on_stderr(
    cli: Cli, sim: Simulator
) -> None:
    good, bad = done_task(sim), failed_task(sim)
    result = cli.run(*FAST, "wait", good, bad, "--json", timeout=60)
    assert result.code == 1, str(result)
    items = json.loads(result.out)
    assert [i["id"] for i in items] == [good, bad]
    assert [i["status"] for i in items] == ["completed", "failed"]
    assert f"{bad} failed: Reference image resolution is too low." in result.err_lines


def test_wait_without_a_key_fails_before_watching_anything(cli: Cli, sim: Simulator) -> None:
    result = cli.run("wait", done_task(sim), drop=("STARVIDEOS_API_KEY",))
    assert_fails(result, 1, "no API key")
    assert not cli.watchlist.exists() and not sim.requests
