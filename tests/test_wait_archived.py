"""`wait ID` on an archived task that is not final: archived tasks are never polled, so
the wait used to last until its timeout in silence. It now says so at once, on stderr, and
exits 2 (the user's mistake), asking nothing of the API and writing nothing; an archived
task that is final has its verdict and is waited for as any other."""

from __future__ import annotations

import time
from pathlib import Path

from helpers_cli import FAST, Cli, done_task, pending_task

from starvideos_tui.simulator import Simulator


def test_wait_on_an_archived_unfinished_task_says_so_at_once_and_exits_2(
    cli: Cli, sim: Simulator
) -> None:
    slow = pending_task(sim)
    cli.ok("add", slow)
    cli.ok("archive", slow)
    before = cli.watchlist.read_bytes()
    sim.requests.clear()
    started = time.monotonic()
    result = cli.run(*FAST, "wait", slow, "--timeout", "30", timeout=20)
    assert time.monotonic() - started < 10
    assert result.code == 2, str(result)
    assert result.err_lines == [
        f"starvideos-tui: error: {slow} is archived: not polled; "
        f"'archive --undo {slow}' to watch it again"
    ]
    assert result.out == ""
    assert not sim.requests  # nothing asked of the API
    assert cli.watchlist.read_bytes() == before  # nothing written


def test_wait_names_every_archived_task_and_waits_for_none(cli: Cli, sim: Simulator) -> None:
    first, second, free = pending_task(sim), pending_task(sim), done_task(sim)
    cli.ok("add", first, second, free)
    cli.ok("archive", first, second)
    result = cli.run(*FAST, "wait", first, free, second, "--timeout", "30", timeout=20)
    assert result.code == 2, str(result)
    assert result.err_lines == [
        f"starvideos-tui: error: {first}, {second} are archived: not polled; "
        f"'archive --undo {first} {second}' to watch them again"
    ]


def test_after_archive_undo_the_same_wait_polls_it(cli: Cli, sim: Simulator) -> None:
    task = sim.seed_task("cat", queued=0.2, processing=0.3)
    cli.ok("add", task)
    cli.ok("archive", task)
    assert cli.run(*FAST, "wait", task, timeout=20).code == 2
    cli.ok("archive", "--undo", task)
    result = cli.ok(*FAST, "wait", task, timeout=60)
    assert result.out_lines[-1].endswith("-> completed"), str(result)


def test_wait_on_an_archived_final_task_gives_its_verdict(cli: Cli, sim: Simulator) -> None:
    task = done_task(sim)
    cli.ok(*FAST, "wait", task, timeout=60)  # watched, and known completed
    cli.ok("archive", task)
    result = cli.run(*FAST, "wait", task, "--timeout", "10", timeout=30)
    assert result.code == 0, str(result)
    assert "archived" not in result.err


def test_wait_download_on_an_archived_completed_task_saves_it(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    """Named with --download, an archived take is saved: waiting for it asks for it."""
    task = done_task(sim)
    cli.ok(*FAST, "wait", task, timeout=60)
    cli.ok("archive", task)
    folder = tmp_path / "dl"
    result = cli.run(
        *FAST,
        "--download-dir",
        str(folder),
        "wait",
        task,
        "--download",
        "--timeout",
        "10",
        timeout=30,
    )
    assert result.code == 0, str(result)
    assert (folder / f"{task}.mp4").exists()
