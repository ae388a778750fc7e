"""`list --json`'s `state`: the word the TUI shows for a task, beside the API's own
`status` (CONTRACT.md), so scripts see the same words as the screen."""

from __future__ import annotations

import json

from helpers_cli import FAST, Cli, done_task, failed_task, pending_task

from starvideos_tui.simulator import Simulator


def _by_id(cli: Cli) -> dict[str, dict[str, object]]:
    return {item["id"]: item for item in json.loads(cli.ok("list", "--json").out)}


def test_list_json_says_the_tuis_word_as_state_and_the_apis_as_status(
    same_process_cli: Cli, sim: Simulator
) -> None:
    cli = same_process_cli
    done, failing, pending = done_task(sim), failed_task(sim), pending_task(sim)
    cli.ok("add", done, failing, pending)
    cli.ok(*FAST, "refresh")
    items = _by_id(cli)
    assert {i: (items[i]["status"], items[i]["state"]) for i in (done, failing, pending)} == {
        done: ("completed", "completed"),
        failing: ("failed", "failed"),
        pending: ("queued", "queued"),
    }
    cli.ok(*FAST, "download", done)
    saved = _by_id(cli)[done]
    assert (saved["status"], saved["state"]) == ("completed", "downloaded")
