"""Issue 25 item 4: `list` and `list --json` print each task as it is read
(Watchlist.stream), and say exactly what they said when they read everything first."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from starvideos_tui.cli.cmdline import print_records
from starvideos_tui.cli.streamout import print_stream
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

NOW = 1_765_000_000.0


def record(i: int, status: str, **more: object) -> TaskRecord:
    created = NOW - 10_000 + i * 60 if status != "processing" else NOW - 30 - i
    history: tuple[tuple[str, float], ...] = (("queued", created),)
    if status in ("completed", "failed"):
        history += ((status, created + 80 + i % 7),)
    return TaskRecord(
        id=f"video_starvideos_o3_{2000 + i}",
        status=status,
        created=int(created),
        prompt=f"un renard roux dans la neige, prise {i} — 狐 ‮",
        label=f"take {i}" if i % 2 else None,
        added_at=created,
        checked_at=created + 90,
        updated_at=created + 90,
        history=history,
        params={"duration": 5 + i % 2 * 5, "prompt": "x"},
        **more,  # type: ignore[arg-type]
    )


def watchlist_with_a_journal(path: Path) -> Watchlist:
    """Finished tasks with running ones among them (not only at the end), then changes
    the journal holds: an update, removals, adds, a doc id freed and taken again."""
    records = [
        record(i, "processing" if i in (3, 17) else "failed" if i % 5 == 0 else "completed")
        for i in range(40)
    ]
    watchlist = Watchlist(path)
    watchlist.add(records)
    watchlist.close()
    writer = Watchlist(path)
    writer.update({records[8].id: lambda r: replace(r, label="relabelled", rating=4)})
    writer.remove([records[11].id, records[-1].id])
    writer.add([record(100, "queued")])  # takes the freed last doc id
    writer.remove([record(100, "queued").id])
    writer.add([record(101, "completed"), record(102, "processing")])
    assert writer.journal_path.exists()
    return Watchlist(path)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "table"])
@pytest.mark.parametrize("journal", [True, False], ids=["journal", "folded"])
def test_the_stream_prints_what_the_whole_read_printed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    as_json: bool,
    journal: bool,
) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)  # one clock for both (cmdline's)
    monkeypatch.setenv("COLUMNS", "100")
    watchlist = watchlist_with_a_journal(tmp_path / "w.json")
    if not journal:
        writer = Watchlist(tmp_path / "w.json")
        writer.add([record(200, "completed")])
        writer.close()  # it wrote: the journal folded into the base
        watchlist = Watchlist(tmp_path / "w.json")
        assert not watchlist.journal_path.exists()

    print_records(watchlist.load(), as_json)
    whole = capsys.readouterr()
    print_stream(watchlist.stream_fields(), as_json)
    streamed = capsys.readouterr()

    assert streamed.out == whole.out and streamed.err == whole.err
    assert list(watchlist.stream()) == watchlist.load()
    if as_json:
        items = json.loads(streamed.out)
        assert [i["id"] for i in items] == [r.id for r in watchlist.load()]
        assert any(i["eta"] is not None for i in items)  # the running tasks' estimates
        assert streamed.out.isascii()


def test_an_empty_watchlist_says_so_either_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for as_json in (True, False):
        print_stream(Watchlist(tmp_path / "none.json").stream_fields(), as_json)
        streamed = capsys.readouterr()
        print_records([], as_json)
        assert capsys.readouterr() == streamed


def test_list_json_of_the_command_is_the_watchlist_in_order(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    path = tmp_path / "w.json"
    watchlist = watchlist_with_a_journal(path)
    done = subprocess.run(
        [sys.executable, "-m", "starvideos_tui", "--db", str(path), "list", "--json"],
        capture_output=True,
        env=child_env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert [i["id"] for i in items] == [r.id for r in watchlist.load()]
    assert {i["id"]: i["label"] for i in items}[record(8, "x").id] == "relabelled"


def test_a_document_damaged_inside_ends_list_with_one_line(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    path = tmp_path / "w.json"
    Watchlist(path).add([record(i, "completed") for i in range(10)])
    raw = path.read_bytes()
    damaged = raw.replace(b'"label":"take 5"', b'"label":5')
    assert damaged != raw
    path.write_bytes(damaged)
    for args in (["list"], ["list", "--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "starvideos_tui", "--db", str(path), *args],
            capture_output=True,
            env=child_env,
            timeout=30,
            check=False,
        )
        err = done.stderr.decode()
        assert done.returncode == 1, err
        assert len(err.splitlines()) == 1 and "damaged" in err and "Traceback" not in err
        assert str(path) in err
    assert path.read_bytes() == damaged
