"""The command line from the outside when the world fails: a wrong key, an unreachable or
malformed API, server errors, rate limits, a damaged watchlist (each command in the test's
process as a child would run it: see test_cli_e2e.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_cli import (
    FAST,
    Cli,
    assert_fails,
    closed_port,
    done_task,
    polls,
    posts,
)

from starvideos_tui.simulator import Simulator


@pytest.fixture
def cli(same_process_cli: Cli) -> Cli:
    return same_process_cli


# -- failures of the world ----------------------------------------------------------------


def test_wrong_key_on_refresh_is_one_clear_line(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(api_key="right-key-123")
    wrong = "wrong-key-d41d8cd9"
    cli.env.update(STARVIDEOS_BASE_URL=sim.base_url, STARVIDEOS_API_KEY=wrong)
    ids = [done_task(sim) for _ in range(3)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    line = assert_fails(result, 1, "key")
    assert "401" in line or "refused" in line
    assert wrong not in result.out + result.err
    for path in cli.state_dir.rglob("*"):
        assert not path.is_file() or wrong not in path.read_text(errors="replace"), path
    assert wrong not in cli.watchlist.read_text()
    assert all(task_id in result.out for task_id in ids)
    assert len(polls(sim)) <= 8, "refresh kept polling with a refused key"


def test_unreachable_api_on_refresh_is_one_clear_line(cli: Cli) -> None:
    cli.env["STARVIDEOS_BASE_URL"] = f"http://127.0.0.1:{closed_port()}"
    cli.ok("add", "task-1", "task-2")
    result = cli.run(*FAST, "refresh")
    assert_fails(result, 1, "reach")
    assert "task-1" in result.out


def test_malformed_answers_on_refresh_are_reported_readably(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(fault_malformed=1.0, seed=3)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    ids = [done_task(sim) for _ in range(5)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    line = assert_fails(result, 1, "malformed")
    assert "<html" not in line.lower()
    assert all(task_id in result.out for task_id in ids)
    as_json = cli.run(*FAST, "refresh", "--json")
    assert_fails(as_json, 1)
    assert {item["id"] for item in json.loads(as_json.out)} == set(ids)


def test_server_errors_on_refresh_are_one_clear_line(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(fault_5xx=1.0, seed=5)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    ids = [done_task(sim) for _ in range(4)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    assert result.code == 1, str(result)
    line = assert_fails(result, 1)
    assert "<html" not in line.lower()
    assert all(task_id in result.out for task_id in ids)


def test_rate_limited_refresh_says_so_without_a_traceback(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(rate_limit=1)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    ids = [done_task(sim) for _ in range(12)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    assert_fails(result, 1, "rate limit")
    assert all(task_id[-20:] in result.out for task_id in ids)
    assert len(polls(sim)) < len(ids), "refresh did not stop at the first 429"
    assert any(r.status == 429 for r in sim.requests)


# -- a damaged watchlist ------------------------------------------------------------------

DAMAGED_COMMANDS = {
    "add": ["add", "x"],
    "add-stdin": ["add", "-"],
    "remove": ["remove", "x"],
    "list": ["list"],
    "list-json": ["list", "--json"],
    "refresh": ["refresh"],
    "refresh-json": ["refresh", "--json"],
    "download": ["download", "x"],
    "create": ["create", "--prompt", "a cat"],
    "watch": ["watch"],
}


@pytest.mark.parametrize("args", DAMAGED_COMMANDS.values(), ids=DAMAGED_COMMANDS.keys())
def test_damaged_watchlist_is_named_and_left_untouched(
    cli: Cli, args: list[str], tmp_path: Path
) -> None:
    cli.watchlist.parent.mkdir(parents=True)
    damaged = b'{"tasks": {"1": {"id": "ok"}, "2": '  # cut short: not JSON
    cli.watchlist.write_bytes(damaged)
    folder = tmp_path / "dl"
    result = cli.run(*FAST, "--download-dir", str(folder), *args, input="x y\n")
    assert_fails(result, 1, str(cli.watchlist))
    assert cli.watchlist.read_bytes() == damaged
    assert not folder.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"[1, 2, 3]", b'{"tasks": {"1": {"id": "../evil"}}}', b'{"tasks": {"1": 5}}'],
    ids=["empty", "array", "bad-id-inside", "wrong-shape"],
)
def test_watchlist_of_the_wrong_shape_is_named_and_left_untouched(cli: Cli, content: bytes) -> None:
    cli.watchlist.parent.mkdir(parents=True)
    cli.watchlist.write_bytes(content)
    assert_fails(cli.run("list"), 1, str(cli.watchlist))
    assert_fails(cli.run("add", "new-id"), 1, str(cli.watchlist))
    assert cli.watchlist.read_bytes() == content


def test_create_with_a_damaged_watchlist_does_not_submit_an_untracked_task(
    cli: Cli, sim: Simulator
) -> None:
    cli.watchlist.parent.mkdir(parents=True)
    cli.watchlist.write_bytes(b"{not json")
    result = cli.run(*FAST, "create", "--prompt", "a cat")
    assert_fails(result, 1, str(cli.watchlist))
    assert posts(sim) == [], "a task was created on the API although it cannot be watched"
