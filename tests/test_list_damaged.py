"""`list` prints a watchlist as it reads it: a document found damaged in the middle of it
(a hand edit, a disk that lost a line) ends the command with one line naming the file and
the entry, exit 1, no traceback, and the file untouched. (The tasks before it may have
been printed: `list` writes in batches of 256.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_cli import Cli, assert_fails

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

IDS = [f"video_starvideos_o3_{1_770_000_000 + i}" for i in range(3)]
DAMAGE = {
    "not JSON": (b'"created":1770000001', b'"created":17700', "is not JSON"),
    "wrong type": (b'"created":1770000001', b'"created":"yesterday"', "wrong shape"),
    "bad id": (b'"id":"' + IDS[1].encode(), b'"id":"../../etc', "wrong shape"),
}


def damaged_watchlist(path: Path, old: bytes, new: bytes) -> bytes:
    watchlist = Watchlist(path)
    watchlist.add(
        [TaskRecord(id=i, status="completed", created=1_770_000_000 + n) for n, i in enumerate(IDS)]
    )
    watchlist.close()  # folded: every task is a line of the base
    lines = path.read_bytes().split(b"\n")
    second = next(n for n, line in enumerate(lines) if IDS[1].encode() in line)
    lines[second] = lines[second].replace(old, new)
    if new == b'"created":17700':  # cut the line short inside its document
        lines[second] = lines[second][: lines[second].index(new) + len(new)] + b","
    content = b"\n".join(lines)
    path.write_bytes(content)
    return content


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_document_damaged_in_the_middle_of_the_base_is_named(
    same_process_cli: Cli, damage: tuple[bytes, bytes, str], as_json: bool
) -> None:
    old, new, says = damage
    path = same_process_cli.watchlist
    path.parent.mkdir(parents=True)
    content = damaged_watchlist(path, old, new)
    result = same_process_cli.run("list", *(["--json"] if as_json else []))
    assert_fails(result, 1, str(path), "task entry '2'", says)
    assert IDS[2][-10:] not in result.out  # nothing past the damage
    assert path.read_bytes() == content
