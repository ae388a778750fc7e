"""`completion bash|zsh|fish`: scripts made from the parser, sourced in a real bash, that
complete subcommands, flags and the ids of watched tasks (by id or by label)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers_proc import child_environment

from starvideos_tui.cli.completion import FILES, FOLDERS, task_ids
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

BIN = Path(sys.executable).parent  # where pip put the starvideos-tui command
IDS = ["video_starvideos_o3_1111111111", "video_starvideos_o3_1111122222", "other_task:7"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "w.json"
    Watchlist(db).add(
        [
            TaskRecord(id=IDS[0], label="heron in the fog", added_at=1.0),
            TaskRecord(id=IDS[1], label="a fox in snow", added_at=2.0),
            TaskRecord(id=IDS[2], prompt="Heron at dawn", added_at=3.0),
        ]
    )
    base = child_environment(tmp_path / "home")
    return {**base, "STARVIDEOS_DB": str(db), "PATH": f"{BIN}{os.pathsep}{base['PATH']}"}


def complete_in_bash(env: dict[str, str], *words: str) -> list[str]:
    """What bash offers for the last of `words`, with the script sourced as the README says."""
    line = " ".join(words)
    script = f"""
        source <(starvideos-tui completion bash)
        COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}
        COMP_LINE="{line}"; COMP_POINT=${{#COMP_LINE}}
        _shtab_starvideos_tui
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=30, check=True
    )
    assert done.stderr == "", done.stderr
    return [w for w in done.stdout.splitlines() if w]


def test_bash_completes_subcommands_and_flags(env: dict[str, str]) -> None:
    assert complete_in_bash(env, "starvideos-tui", "wa") == ["watch", "wait"]
    assert "completion" in complete_in_bash(env, "starvideos-tui", "")
    assert complete_in_bash(env, "starvideos-tui", "create", "--d") == ["--duration", "--dry-run"]
    assert complete_in_bash(env, "starvideos-tui", "wait", "--t") == ["--timeout"]


def test_bash_completes_a_watched_id_and_an_id_by_its_label(env: dict[str, str]) -> None:
    assert complete_in_bash(env, "starvideos-tui", "wait", "video_starvideos_o3_11111") == [
        IDS[1],
        IDS[0],
    ]
    assert complete_in_bash(env, "starvideos-tui", "download", "video_starvideos_o3_11111222") == [
        IDS[1]
    ]
    assert complete_in_bash(env, "starvideos-tui", "remove", "fox") == [IDS[1]]
    assert complete_in_bash(env, "starvideos-tui", "wait", "x", "heron") == [IDS[2], IDS[0]]


def test_ids_come_newest_first_with_their_labels_and_nothing_for_a_missing_watchlist(
    env: dict[str, str], tmp_path: Path
) -> None:
    records = Watchlist(Path(env["STARVIDEOS_DB"])).load()
    assert task_ids(records, "other") == ["other_task:7\tHeron at dawn"]
    assert task_ids(records, "nothing like it") == []
    gone = {**env, "STARVIDEOS_DB": str(tmp_path / "none" / "w.json")}
    quiet = subprocess.run(
        ["starvideos-tui", "completion", "--task-ids", "v"],
        capture_output=True,
        text=True,
        env=gone,
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    assert not (tmp_path / "none").exists()


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_are_valid_and_ask_for_ids(env: dict[str, str], shell: str) -> None:
    script = subprocess.run(
        ["starvideos-tui", "completion", shell], capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "completion --task-ids" in script
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed here")
    check = ["zsh", "-n"] if shell == "zsh" else ["fish", "--no-execute"]
    done = subprocess.run([*check, "/dev/stdin"], input=script, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_missing_or_unknown_shell_is_bad_input(env: dict[str, str]) -> None:
    for args in (["completion"], ["completion", "tcsh"]):
        done = subprocess.run(["starvideos-tui", *args], capture_output=True, text=True, env=env)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1, done.stderr


def test_the_copied_file_and_folder_completers_are_shtabs() -> None:
    import shtab

    assert FILES == shtab.FILE and FOLDERS == shtab.DIRECTORY
