"""`list`'s filters (CONTRACT.md): `--status` (repeatable: API statuses and shown states,
any case), `--label`, `--since AGE`, `--active`, archived tasks only with `--all`; they
combine with AND. Bad words exit 2 naming what is accepted. And the shell completion
that offers the new commands, flags and status words. `cli.main` in this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_cli import assert_fails
from helpers_inproc import InCli, in_process

from starvideos_tui.core.models import HttpProblem, TaskRecord
from starvideos_tui.core.selection import STATUS_CHOICES

NOW = time.time()
HOUR = 3600.0


@pytest.fixture
def incli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[InCli]:
    yield from in_process(tmp_path, monkeypatch, capsys)


def task(task_id: str, status: str = "", hours_ago: float = 1, **fields: object) -> TaskRecord:
    at = NOW - hours_ago * HOUR
    return TaskRecord(
        id=task_id,
        status=status,
        created=int(at),
        added_at=at,
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
def seeded(incli: InCli) -> InCli:
    incli.seed(
        task("saved", "completed", 50, local_path="/v/saved.mp4", label="Fox in snow"),
        task("unsaved", "completed", 2, prompt="a red FOX runs"),
        task("expired", "completed", 30, download_error="link expired"),
        task("broken", "failed", 3, error="too dark"),
        task("waiting", "queued", 0.5, label="cat"),
        task("limited", "processing", 1, last_problem=HttpProblem("rate_limited", "429")),
        task("fresh"),  # never answered: unchecked
        task("shelved", "completed", 400, archived=True, archived_at=NOW, label="old fox"),
    )
    return incli


def ids(incli: InCli, *flags: str) -> list[str]:
    return [r["id"] for r in incli.records(*flags)]


def test_status_takes_api_words_and_shown_states_in_any_case_or_together(
    seeded: InCli,
) -> None:
    assert ids(seeded, "--status", "completed") == ["saved", "unsaved", "expired"]
    assert ids(seeded, "--status", "Downloaded") == ["saved"]
    assert ids(seeded, "--status", "LINK-EXPIRED") == ["expired"]
    assert ids(seeded, "--status", "link expired") == ["expired"]
    assert ids(seeded, "--status", "failed", "--status", "queued") == ["broken", "waiting"]
    assert ids(seeded, "--status", "rate-limited") == ["limited"]
    assert ids(seeded, "--status", "processing") == ["limited"]  # the API's word still
    assert ids(seeded, "--status", "unchecked") == ["fresh"]


def test_an_unknown_status_is_refused_listing_the_accepted_words(seeded: InCli) -> None:
    result = seeded.run("list", "--status", "done")
    line = assert_fails(result, 2, "--status: unknown status 'done'")
    assert all(word in line for word in STATUS_CHOICES) and result.out == ""


@pytest.mark.parametrize(
    ("flags", "needle"),
    [
        (("--since", "7"), "--since must be an age such as 90s, 30m, 12h, 7d or 2w, got '7'"),
        (("--since", "yesterday"), "got 'yesterday'"),
        (("--since",), "expected one argument"),
        (("--label", " "), "--label needs some text"),
        (("--status",), "expected one argument"),
    ],
)
def test_a_bad_filter_value_is_refused_in_one_line(
    seeded: InCli, flags: tuple[str, ...], needle: str
) -> None:
    result = seeded.run("list", "--json", *flags)
    assert_fails(result, 2, needle)
    assert result.out == ""


def test_label_since_and_active_narrow_and_combine_with_and(seeded: InCli) -> None:
    assert ids(seeded, "--label", "FOX") == ["saved", "unsaved"]  # the prompt when no label
    assert ids(seeded, "--label", "fox", "--all") == ["saved", "unsaved", "shelved"]
    assert ids(seeded, "--since", "90m") == ["waiting", "limited", "fresh"]
    assert ids(seeded, "--since", "1d") == ["unsaved", "broken", "waiting", "limited", "fresh"]
    # A link known dead ("expired") is past saving: not active, as in the TUI's work view.
    assert ids(seeded, "--active") == ["unsaved", "waiting", "limited", "fresh"]
    assert ids(seeded, "--active", "--status", "completed") == ["unsaved"]
    assert ids(seeded, "--active", "--status", "completed", "--since", "1d") == ["unsaved"]
    assert ids(seeded, "--active", "--label", "fox", "--since", "1h") == []


def test_archived_tasks_are_listed_only_with_all_and_json_carries_the_marks(
    seeded: InCli,
) -> None:
    seeded.ok("rate", "saved", "4")
    seeded.ok("reject", "broken")
    assert "shelved" not in ids(seeded)
    items = seeded.by_id("--all")
    assert list(items)[-1] == "shelved"
    marks = {i: (r["rating"], r["rejected"], r["archived"]) for i, r in items.items()}
    assert marks["saved"] == (4, False, False)
    assert marks["broken"] == (0, True, False)
    assert marks["shelved"] == (0, False, True)
    assert all(type(r["rating"]) is int for r in items.values())


def test_a_table_shows_only_what_matches_and_says_when_nothing_does(seeded: InCli) -> None:
    table = seeded.ok("list", "--status", "failed")
    assert [line.split()[0] for line in table.out_lines[1:]] == ["broken"]
    nothing = seeded.ok("list", "--label", "old fox")
    assert nothing.out == ""
    assert nothing.err_lines == ["no task matches (8 watched; 1 archived, shown with --all)"]
    assert seeded.ok("list", "--json", "--label", "nowhere").out.strip() == "[]"
    assert seeded.ok("list", "--label", "old fox", "--all").out_lines[1].startswith("shelved")


def test_completion_offers_the_new_commands_flags_and_status_words(incli: InCli) -> None:
    for shell in ("bash", "zsh", "fish"):
        script = incli.ok("completion", shell).out
        for word in ("rate", "reject", "archive", "--older-than", "--finished", "--since"):
            assert word in script, (shell, word)
        assert "link-expired" in script and "unknown-id" in script, shell
    bash = incli.ok("completion", "bash").out
    assert "_shtab_starvideos_tui_list___status_choices=(" in bash
