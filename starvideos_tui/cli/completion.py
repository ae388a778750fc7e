"""`completion bash|zsh|fish`: a shell completion script made by shtab from the parser
itself (subcommands, flags, choices, files and folders), plus task ids from the watchlist
for the arguments that take a watched id.

The script asks `starvideos-tui completion --task-ids WORD` for ids as the user types: the
ids that start with WORD, else the ids whose label contains it (type a few letters of a
label, get its id). zsh and fish show each id's label beside it.
"""

from __future__ import annotations

import argparse

from starvideos_tui.core.console import PROG
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.selection import label_of
from starvideos_tui.core.textsafe import clean

SHELLS = ("bash", "zsh", "fish")
MAX_IDS = 500  # candidates offered at most: a long history is not a menu

# Each shell's way to call us, and how its completion takes the answer. The watchlist
# is the one named by STARVIDEOS_DB or the default; a `--db` on the line is not seen.
_IDS_FUNCTION = "_starvideos_tui_task_ids"
PREAMBLE = {
    "bash": f"""
{_IDS_FUNCTION}() {{
  {PROG} completion --task-ids "$1" 2>/dev/null | cut -f1
}}
""",
    "zsh": f"""
{_IDS_FUNCTION}() {{
  local -a ids
  ids=("${{(@f)$({PROG} completion --task-ids "$PREFIX" 2>/dev/null \\
    | sed -e 's/:/\\\\:/g' -e 's/\\t/:/')}}")
  _describe -t task-ids 'task id' ids
}}
""",
    "fish": "",
}
COMPLETE_IDS = {
    "bash": _IDS_FUNCTION,
    "zsh": _IDS_FUNCTION,
    "fish": f"({PROG} completion --task-ids (commandline -ct) 2>/dev/null)",
}


def mark_task_ids(action: argparse.Action) -> None:
    """The argument `action` takes ids of watched tasks: complete them from the watchlist."""
    action.complete = COMPLETE_IDS  # type: ignore[attr-defined]


# shtab.FILE and shtab.DIRECTORY, copied: importing shtab costs ~45 ms, and every command
# builds the parser (tests/test_completion.py checks they still match).
FILES = {
    "bash": "_shtab_compgen_files",
    "zsh": "_files",
    "tcsh": "f",
    "fish": "(__fish_complete_path (commandline -ct))",
    "powershell": "_shtab_powershell_compgen_files",
}
FOLDERS = {
    "bash": "_shtab_compgen_dirs",
    "zsh": "_files -/",
    "tcsh": "d",
    "fish": "(__fish_complete_directories)",
    "powershell": "_shtab_powershell_compgen_dirs",
}


def mark_path(action: argparse.Action, *, folder: bool = False) -> None:
    action.complete = FOLDERS if folder else FILES  # type: ignore[attr-defined]


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    import shtab

    return shtab.complete(parser, shell=shell, preamble=PREAMBLE[shell])


def task_ids(records: list[TaskRecord], word: str) -> list[str]:
    """'id<TAB>label' lines for the ids that start with `word`, newest first, or when none
    does, for the ids whose label (or prompt) holds it, in any case."""
    newest = sorted(records, key=lambda r: r.added_at or 0.0, reverse=True)
    found = [r for r in newest if r.id.startswith(word)]
    if not found and word:
        needle = word.casefold()
        found = [r for r in newest if needle in label_of(r).casefold()]
    return [_line(r) for r in found[:MAX_IDS]]


def _line(record: TaskRecord) -> str:
    label = " ".join(clean(record.label or record.prompt or record.status or "").split())
    return f"{record.id}\t{label[:60]}" if label else record.id
