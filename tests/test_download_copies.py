"""`download ID --to DIR` of a task already saved elsewhere, and `download --all-unsaved`,
from the outside (CONTRACT.md; #25 item 5 and 7): each command as a child would run it, in
the test's process (helpers_inproc.SameProcessCli), on a real simulator.

A saved task's file is hard-linked into DIR (the same inode) on the same file system and
copied (checked) onto another one (/dev/shm is a tmpfs); nothing there is overwritten or
followed; a saved file changed behind our back is named and not copied; one gone with a
certainly dead link is said so without a request. `--all-unsaved` asks the simulator only
for the tasks whose link may still work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_cli import FAST, Cli, assert_fails, done_task, polls

from starvideos_tui.core.linkexpiry import CLOCK_SKEW, LONGEST_LINK_LIFE
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist

YEAR = 365 * 24 * 3600.0


@pytest.fixture
def cli(same_process_cli: Cli) -> Cli:
    return same_process_cli


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def saved_task(cli: Cli, sim: Simulator, prompt: str = "a finished cat") -> tuple[str, Path]:
    task_id = done_task(sim, prompt)
    cli.ok("add", task_id)
    path = Path(cli.ok(*FAST, "download", task_id).out_lines[-1])
    assert path.is_file()
    return task_id, path


def change_record(cli: Cli, task_id: str, change: Callable[[TaskRecord], TaskRecord]) -> None:
    watchlist = Watchlist(cli.watchlist)
    try:
        watchlist.update({task_id: change})
    finally:
        watchlist.close()


def requests_for(sim: Simulator, task_id: str) -> list[str]:
    return [r.path for r in sim.requests if task_id in r.path]


def test_download_to_another_folder_hard_links_the_saved_video_without_a_request(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    asked = len(sim.requests)
    folder = tmp_path / "picks"
    result = cli.ok("download", task_id, "--to", str(folder))
    placed = Path(result.out_lines[-1])
    assert placed == folder / saved.name
    assert placed.stat().st_ino == saved.stat().st_ino  # a hard link: no extra space
    assert "linked" in result.err
    assert len(sim.requests) == asked, "a saved video was downloaded again"
    assert cli.record(task_id)["local_path"] == str(saved)  # the record keeps its file


def test_download_to_another_file_system_copies_and_checks_the_video(
    cli: Cli, sim: Simulator, other_fs: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    result = cli.ok("download", task_id, "--to", str(other_fs))
    placed = Path(result.out_lines[-1])
    assert placed == other_fs / saved.name
    assert placed.stat().st_ino != saved.stat().st_ino
    assert sha256_of(placed) == cli.record(task_id)["sha256"]
    assert "copied" in result.err
    assert [p.name for p in other_fs.iterdir()] == [saved.name]  # no temp file left


def test_download_to_again_finds_the_video_already_there(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    folder = tmp_path / "picks"
    first = cli.ok("download", task_id, "--to", str(folder)).out_lines[-1]
    again = cli.ok("download", task_id, "--to", str(folder))
    assert again.out_lines[-1] == first
    assert "already holds this video" in again.err
    assert sorted(p.name for p in folder.iterdir()) == [saved.name]
    # Its own folder: the file itself, nothing made.
    same = cli.ok("download", task_id, "--to", str(saved.parent))
    assert same.out_lines[-1] == str(saved)


def test_download_to_keeps_a_different_file_under_the_name_and_takes_the_next(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    folder = tmp_path / "picks"
    folder.mkdir()
    theirs = folder / saved.name
    theirs.write_bytes(b"the user's own file")
    result = cli.ok("download", task_id, "--to", str(folder))
    placed = Path(result.out_lines[-1])
    assert placed == folder / f"{task_id}-1.mp4"
    assert theirs.read_bytes() == b"the user's own file"
    assert sha256_of(placed) == sha256_of(saved)
    assert f"this video is {placed.name}" in result.err


def test_download_to_refuses_a_symlink_planted_where_the_video_would_go(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    folder = tmp_path / "picks"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch")
    (folder / saved.name).symlink_to(victim)
    assert_fails(cli.run("download", task_id, "--to", str(folder)), 1, "symbolic link")
    assert victim.read_text() == "do not touch"
    assert sorted(p.name for p in folder.iterdir()) == [saved.name]


def test_download_to_names_a_saved_file_replaced_behind_our_back_and_copies_nothing(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    data = bytearray(saved.read_bytes())
    data[-1] ^= 0xFF  # the same size, other bytes
    saved.write_bytes(bytes(data))
    folder = tmp_path / "picks"
    assert_fails(cli.run("download", task_id, "--to", str(folder)), 1, "changed", "not copied")
    assert not folder.exists() or not any(folder.iterdir())


def test_download_of_a_saved_file_gone_with_a_dead_link_says_so_without_asking(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    change_record(
        cli,
        task_id,
        lambda r: dataclasses.replace(r, link_expires_at=time.time() - CLOCK_SKEW - 60),
    )
    saved.unlink()
    asked = len(sim.requests)
    result = cli.run("download", task_id, "--to", str(tmp_path / "picks"))
    assert_fails(result, 1, "is gone", "link expired")
    assert len(sim.requests) == asked


def test_download_of_a_saved_file_gone_with_a_live_link_downloads_it_again(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    task_id, saved = saved_task(cli, sim)
    saved.unlink()
    folder = tmp_path / "picks"
    result = cli.ok(*FAST, "download", task_id, "--to", str(folder))
    assert Path(result.out_lines[-1]) == folder / saved.name
    assert "is gone; downloading it again" in result.err
    assert cli.record(task_id)["local_path"] == str(folder / saved.name)


# -- download --all-unsaved ---------------------------------------------------------------


def test_all_unsaved_asks_only_for_tasks_whose_link_may_still_work(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    fresh, old, rejected, saved_id = (done_task(sim, f"take {n}") for n in range(4))
    cli.ok("add", fresh, old, rejected, saved_id)
    cli.ok(*FAST, "refresh")  # every task completed, each with its link
    cli.ok(*FAST, "download", saved_id)
    year_ago = time.time() - YEAR
    change_record(
        cli,
        old,
        lambda r: dataclasses.replace(
            r, video_url_at=year_ago, checked_at=year_ago, updated_at=year_ago, link_expires_at=None
        ),
    )
    change_record(cli, rejected, lambda r: dataclasses.replace(r, rejected=True))
    before = len(sim.requests)
    folder = tmp_path / "all"
    result = cli.ok(*FAST, "download", "--all-unsaved", "--to", str(folder))
    assert result.out_lines == [str(folder / f"{fresh}.mp4")]
    asked = [r.path for r in sim.requests[before:]]
    assert asked and all(fresh in path for path in asked), asked
    # Since `before`: the refresh may have asked the host (a HEAD) when the old link dies.
    assert not [r for r in sim.requests[before:] if old in r.path], "a year-old link was asked for"
    summary = result.err_lines[-1]
    assert "saved 1" in summary and "skipped 1 whose link is certainly dead" in summary
    assert "skipped 1 rejected" in summary
    assert cli.record(fresh)["local_path"] == str(folder / f"{fresh}.mp4")
    # Nothing left to save: a second run asks nothing and says so.
    before = len(sim.requests)
    again = cli.ok("download", "--all-unsaved", "--to", str(folder))
    assert again.out == "" and "saved 0" in again.err_lines[-1]
    assert len(sim.requests) == before


def test_all_unsaved_saves_two_at_a_time_and_exits_1_when_one_fails(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    ids = [done_task(sim, f"take {n}") for n in range(3)]
    cli.ok("add", *ids)
    cli.ok(*FAST, "refresh")
    # One whose link the host refuses and the API never renews: a failure, told by name.
    dead = f"{sim.base_url}/videos/{ids[0]}.mp4?token=forged"
    answer = {"id": ids[0], "object": "video", "status": "completed", "video_url": dead}
    sim.add_fixed(ids[0], answer | {"actualDuration": 3, "created": 1774836724})
    change_record(cli, ids[0], lambda r: dataclasses.replace(r, video_url=dead))
    result = cli.run(*FAST, "download", "--all-unsaved", "--to", str(tmp_path / "all"))
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert sorted(result.out_lines) == sorted(str(tmp_path / "all" / f"{i}.mp4") for i in ids[1:])
    assert any(line.startswith(f"error: {ids[0]}: ") for line in result.err_lines)
    assert "saved 2" in result.err_lines[-1] and "1 failed" in result.err_lines[-1]


def test_download_needs_an_id_or_all_unsaved_but_not_both(cli: Cli, sim: Simulator) -> None:
    assert_fails(cli.run("download"), 2, "--all-unsaved")
    assert_fails(cli.run("download", "video_x", "--all-unsaved"), 2, "not both")
    assert not polls(sim)


def test_a_link_older_than_any_link_lives_is_certainly_dead() -> None:
    from starvideos_tui.core.linkexpiry import certainly_dead

    now = time.time()
    url = "https://cdn.example.com/v.mp4?token=abc"  # says nothing of its deadline
    fresh = TaskRecord(id="t", status="completed", video_url=url, video_url_at=now - 60)
    assert not certainly_dead(fresh, now)
    assert certainly_dead(dataclasses.replace(fresh, video_url_at=now - LONGEST_LINK_LIFE - 1), now)
    assert certainly_dead(dataclasses.replace(fresh, link_expires_at=now - CLOCK_SKEW - 1), now)
    assert not certainly_dead(dataclasses.replace(fresh, video_url=None), now)
    # Received recently, though the task was added long ago: not dead.
    added_long_ago = dataclasses.replace(fresh, added_at=now - YEAR)
    assert not certainly_dead(added_long_ago, now)
