"""The command line from the outside (CONTRACT.md): its words, a real simulator.

Every test runs the command line's `main` as a child would run it (the child's
environment, working folder and stdin: helpers_inproc.SameProcessCli; the installed
`starvideos-tui` console script as a real child process) against a Simulator listening on
loopback in this process, with STARVIDEOS_HOME pointing every user folder at a temporary
directory and no other STARVIDEOS_* variable inherited. What is checked is what a user or a
script sees: stdout, stderr (one line for an error, never a traceback), the exit code, and
which files were (not) written. What only a process shows (signals, crashes, terminals,
start-up) is in test_cli_hostile.py, test_tui_signals.py and test_harness.py.

Here: help and entry points, add and remove, list and refresh, download. The other
commands are in test_cli_create.py, test_cli_watch.py, test_cli_settings.py and
test_cli_failures.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

# Modules written before the split import these from here; they live in helpers_cli.
from helpers_cli import (  # noqa: F401
    FAST,
    KEY,
    PROG,
    REQUIRED_KEYS,
    SAMPLE,
    SUBCOMMANDS,
    Cli,
    Run,
    assert_fails,
    display_width,
    done_task,
    failed_task,
    pending_task,
    polls,
)

from starvideos_tui.simulator import Simulator


@pytest.fixture
def cli(same_process_cli: Cli) -> Cli:
    return same_process_cli


# -- help and entry points ----------------------------------------------------------------


def test_help_explains_the_program(cli: Cli) -> None:
    result = cli.ok("--help")
    for name in SUBCOMMANDS:
        assert name in result.out


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_help_of_every_subcommand_works(cli: Cli, subcommand: str) -> None:
    result = cli.ok(subcommand, "--help")
    assert subcommand in result.out


def test_installed_starvideos_tui_command_adds_and_lists(cli: Cli, sim: Simulator) -> None:
    script = Path(sys.executable).with_name(PROG)
    assert script.exists(), f"console script missing next to {sys.executable}"
    task_id = done_task(sim)
    added = cli.ok("add", task_id, command=[str(script)])
    assert added.out_lines == [f"added {task_id}"]
    listed = cli.ok("list", command=[str(script)])
    assert task_id in listed.out
    assert cli.ok("--help", command=[str(script)]).out


# -- add / remove -------------------------------------------------------------------------


def test_add_prints_one_line_per_id_and_keeps_a_known_task_as_it_is(
    cli: Cli, sim: Simulator
) -> None:
    first, second = done_task(sim), done_task(sim)
    added = cli.ok("add", first)
    assert added.out_lines == [f"added {first}"]
    cli.ok(*FAST, "refresh")
    before = cli.record(first)
    assert before["status"] == "completed"
    raw = cli.watchlist.read_bytes()

    again = cli.ok("add", first)
    assert len(again.out_lines) == 1 and first in again.out_lines[0]
    assert not again.out_lines[0].startswith("added"), "an id already there was re-added"
    assert cli.watchlist.read_bytes() == raw, "re-adding a known id rewrote the watchlist"

    mixed = cli.ok("add", first, second)
    assert len(mixed.out_lines) == 2
    assert first in mixed.out_lines[0] and not mixed.out_lines[0].startswith("added")
    assert mixed.out_lines[1] == f"added {second}"
    assert cli.record(first) == before
    assert [r["id"] for r in cli.records()] == [first, second]


def test_add_dash_reads_many_ids_from_stdin(cli: Cli) -> None:
    ids = ["task-a", "task_b", "video_starvideos_o3_1", "ns:task.4", "e5"]
    text = f"  {ids[0]} {ids[1]}\n\n{ids[2]}\n\t{ids[3]}   {ids[4]}  \n"
    result = cli.ok("add", "-", input=text)
    assert result.out_lines == [f"added {i}" for i in ids]
    assert [r["id"] for r in cli.records()] == ids


BAD_IDS = {
    "traversal": "../../etc/passwd",
    "slash": "a/b",
    "escape-sequence": "evil\x1b[2Jid",
    "control-char": "bad\x01id",
    "201-chars": "a" * 201,
    "dot": ".",
    "dotdot": "..",
    "space": "two words",
}


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_malformed_id_is_refused_and_nothing_is_written(cli: Cli, bad: str) -> None:
    # With no watchlist yet: none is created.
    refused = cli.run("add", "good-one", bad)
    line = assert_fails(refused, 2, "invalid task id")
    assert refused.out == ""
    assert not cli.watchlist.exists()
    shown = repr(bad)[1:40]
    assert shown in line, f"the message does not name the id {bad!r}: {line}"
    assert "\x1b" not in refused.err and "\x01" not in refused.err

    # With a watchlist: it stays byte for byte, even with good ids around the bad one.
    cli.ok("add", "kept")
    raw = cli.watchlist.read_bytes()
    assert_fails(cli.run("add", "good-two", bad, "good-three"), 2, "invalid task id")
    assert cli.watchlist.read_bytes() == raw
    if not any(c.isspace() for c in bad):  # stdin splits ids on spaces and newlines
        assert_fails(cli.run("add", "-", input=f"good-four\n{bad}\n"), 2, "invalid task id")
        assert cli.watchlist.read_bytes() == raw
    assert_fails(cli.run("remove", "kept", bad), 2, "invalid task id")
    assert cli.watchlist.read_bytes() == raw


def test_add_dash_with_nothing_on_stdin_is_bad_input(cli: Cli) -> None:
    assert_fails(cli.run("add", "-", input=""), 2)
    assert not cli.watchlist.exists()


def test_remove_prints_one_line_per_id(cli: Cli) -> None:
    cli.ok("add", "one", "two", "three")
    result = cli.ok("remove", "one", "three", "never-added")
    assert len(result.out_lines) == 3
    assert result.out_lines[0] == "removed one"
    assert result.out_lines[1] == "removed three"
    assert "never-added" in result.out_lines[2]
    assert not result.out_lines[2].startswith("removed")
    assert [r["id"] for r in cli.records()] == ["two"]


# -- list / refresh -----------------------------------------------------------------------


def test_list_is_a_table_that_fits_80_columns_and_uses_no_network(cli: Cli, sim: Simulator) -> None:
    long_id = "L" * 200
    failing = failed_task(sim, error="The reference video could not be downloaded. " * 8)
    done = done_task(sim)
    cli.ok("add", long_id, failing, done)
    cli.ok(*FAST, "create", "--prompt", "a very long prompt " * 30)
    cli.run(*FAST, "refresh")
    seen = len(sim.requests)

    result = cli.ok("list", env={"COLUMNS": "80"})  # as in an 80-column terminal
    assert len(sim.requests) == seen, "list went to the network"
    lines = result.out_lines
    assert len(lines) >= 5  # a header and four tasks
    for line in lines:
        assert len(line) <= 80, f"{len(line)} chars: {line!r}"
    body = "\n".join(lines)
    assert failing in body and done in body
    assert "failed" in body and "completed" in body


def test_list_with_a_chinese_prompt_fits_80_terminal_columns(cli: Cli) -> None:
    cli.ok(*FAST, "create", "--prompt", "一只猫在雨中的东京街头慢慢行走，电影感镜头，夜景霓虹灯光")
    for line in cli.ok("list", env={"COLUMNS": "80"}).out_lines:
        assert display_width(line) <= 80, f"{display_width(line)} columns: {line!r}"


def test_list_piped_shows_every_note_in_full_and_fits_a_wide_terminal(
    cli: Cli, sim: Simulator
) -> None:
    reason = "The reference image is too small: at least 720 pixels on the short side. " * 2
    failing = failed_task(sim, reason.strip())
    cli.ok("add", failing)
    cli.run(*FAST, "refresh")

    piped = cli.ok("list").out
    wide = cli.ok("list", env={"COLUMNS": "200"}).out_lines

    assert reason.strip() in piped
    assert all(display_width(line) <= 200 for line in wide)
    assert any(len(line) > 150 for line in wide)  # the room is used, not cut at 16


def test_list_json_is_an_array_with_every_promised_field(cli: Cli, sim: Simulator) -> None:
    cli.ok("add", "plain-id")
    created = cli.ok(*FAST, "create", "--prompt", "a cat on a skateboard").out_lines[-1]
    result = cli.ok("list", "--json")
    items = json.loads(result.out)
    assert isinstance(items, list) and len(items) == 2
    for item in items:
        assert set(item) >= REQUIRED_KEYS, REQUIRED_KEYS - set(item)
    by_id = {item["id"]: item for item in items}
    assert by_id["plain-id"]["prompt"] is None
    assert by_id[created]["prompt"] == "a cat on a skateboard"
    assert by_id[created]["status"] == "queued"


def test_empty_list_is_not_an_error(cli: Cli) -> None:
    assert cli.run("list").code == 0
    assert json.loads(cli.ok("list", "--json").out) == []


def test_refresh_polls_only_unfinished_tasks_and_prints_the_list(cli: Cli, sim: Simulator) -> None:
    done, failing, pending = done_task(sim), failed_task(sim), pending_task(sim)
    cli.ok("add", done, failing, pending)

    first = cli.ok(*FAST, "refresh", env={"COLUMNS": "80"})
    assert sorted(polls(sim)) == sorted(f"/v1/result/{i}" for i in (done, failing, pending))
    for task_id in (done, failing, pending):
        assert task_id in first.out
    assert "completed" in first.out and "failed" in first.out and "queued" in first.out
    assert all(len(line) <= 80 for line in first.out_lines)

    second = cli.ok(*FAST, "refresh")
    assert polls(sim, done) == [f"/v1/result/{done}"], "a completed task was polled again"
    assert polls(sim, failing) == [f"/v1/result/{failing}"], "a failed task was polled again"
    assert len(polls(sim, pending)) == 2
    assert done in second.out

    cli.ok("remove", pending)
    seen = len(sim.requests)
    cli.ok(*FAST, "refresh")
    assert len(sim.requests) == seen, "refresh with only final tasks went to the network"


def test_refresh_json_prints_the_polled_state_as_json(cli: Cli, sim: Simulator) -> None:
    done, failing = done_task(sim), failed_task(sim, error="Insufficient account balance.")
    cli.ok("add", done, failing)
    items = json.loads(cli.ok(*FAST, "refresh", "--json").out)
    assert all(set(item) >= REQUIRED_KEYS for item in items)
    by_id = {item["id"]: item for item in items}
    assert by_id[done]["status"] == "completed"
    assert by_id[done]["video_url"].startswith(sim.base_url)
    assert by_id[done]["actual_duration"] == 3
    assert by_id[failing]["status"] == "failed"
    assert by_id[failing]["error"] == "Insufficient account balance."


# -- download -----------------------------------------------------------------------------


def test_download_polls_first_and_prints_the_saved_path_last(cli: Cli, sim: Simulator) -> None:
    task_id = done_task(sim)
    cli.ok("add", task_id)  # never polled: download has to ask first
    result = cli.ok(*FAST, "download", task_id)
    saved = Path(result.out_lines[-1])
    if not saved.is_absolute():
        saved = cli.cwd / saved
    assert saved.is_file()
    assert saved.read_bytes() == SAMPLE
    assert task_id in saved.name
    assert polls(sim, task_id), "download did not poll the task"
    assert cli.record(task_id)["local_path"] is not None


def test_download_to_a_chosen_folder(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    task_id = done_task(sim)
    cli.ok("add", task_id)
    folder = tmp_path / "my videos"
    result = cli.ok(*FAST, "download", task_id, "--to", str(folder))
    saved = Path(result.out_lines[-1])
    assert saved.parent.resolve() == folder.resolve()
    assert saved.read_bytes() == SAMPLE
    assert not (cli.cwd / "starvideos-downloads").exists()


def test_download_again_reuses_the_saved_file(cli: Cli, sim: Simulator) -> None:
    task_id = done_task(sim)
    cli.ok("add", task_id)
    first = cli.ok(*FAST, "download", task_id).out_lines[-1]
    second = cli.ok(*FAST, "download", task_id).out_lines[-1]
    assert first == second
    assert len(list(Path(first).parent.iterdir())) == 1


def test_download_works_with_a_short_api_key(cli: Cli, sim: Simulator) -> None:
    cli.env["STARVIDEOS_API_KEY"] = "k"  # the simulator accepts any non-empty key
    task_id = done_task(sim)
    cli.ok("add", task_id)
    saved = Path(cli.ok(*FAST, "download", task_id).out_lines[-1])
    assert saved.read_bytes() == SAMPLE


def test_refresh_works_with_a_key_that_occurs_in_task_ids(cli: Cli, sim: Simulator) -> None:
    cli.env["STARVIDEOS_API_KEY"] = "o3"
    task_id = done_task(sim)
    cli.ok("add", task_id)
    assert json.loads(cli.ok(*FAST, "refresh", "--json").out)[0]["status"] == "completed"


def test_download_of_a_failed_task_says_why(cli: Cli, sim: Simulator) -> None:
    task_id = failed_task(sim, error="Reference image resolution is too low.")
    cli.ok("add", task_id)
    result = cli.run(*FAST, "download", task_id)
    assert_fails(result, 1, "Reference image resolution is too low.")
    assert not (cli.cwd / "starvideos-downloads").exists() or not any(
        (cli.cwd / "starvideos-downloads").iterdir()
    )


def test_download_of_an_unfinished_task_fails_cleanly(cli: Cli, sim: Simulator) -> None:
    task_id = pending_task(sim)
    cli.ok("add", task_id)
    assert_fails(cli.run(*FAST, "download", task_id), 1, task_id)


def test_download_of_a_malformed_id_is_bad_input(cli: Cli, sim: Simulator) -> None:
    assert_fails(cli.run("download", "../x"), 2, "../x")
    assert not sim.requests
