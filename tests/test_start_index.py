"""Issue 25 item 4: the first screen of a year of history read without a scan of it.

`<file>.lines` (storage/lineindex.py) says where each line of the base is and when its
task last changed. It is written by the fold or compaction that writes a base, and by
the first screen's scan of a base that has none (once the whole base is read and
checked). The first screen then reads only the lines that can be on it.

- with the index, a stale one (another base's), a damaged one or none, the first screen
  is exactly `load` without the history, and then the whole list arrives (the app);
- an index is never written beside a base found damaged inside;
- the index names its base: a fold writes the new base's.
"""

from __future__ import annotations

import os
from array import array
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import FakeClock
from helpers_history import year_of_history
from helpers_tui import AppFactory, polled, row_ids, running, until
from test_fast_start import NOW, SINCE, expected, history_mix

from starvideos_tui.engine.session import Watchlist
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage import lineindex
from starvideos_tui.storage.firstscreen import is_history
from starvideos_tui.storage.store import WatchlistError

STATES = ("fresh", "stale", "offsets", "short", "none", "fifo", "folder")


COUNT = lineindex.MIN_LINES  # (and 5 more): a base that is given an index


def folded(path: Path) -> Watchlist:
    watchlist = Watchlist(path)
    watchlist.add(history_mix(COUNT))
    watchlist.close()  # folded: the base and its index
    return watchlist


def spoil(path: Path, state: str) -> None:
    """The index beside `path` made `state`; after it, the base may hold a new task."""
    index = lineindex.index_path(path)
    if state == "stale":  # the index of the base before: a year-old task changed since
        once = Watchlist(path)  # a fold of a fold: its meta line as long as the next's
        once.update({history_mix(COUNT)[0].id: lambda r: replace(r, updated_at=NOW - 1)})
        once.close()
        old, size = index.read_bytes(), path.stat().st_size
        writer = Watchlist(path)
        writer.update({history_mix(COUNT)[0].id: lambda r: replace(r, updated_at=NOW)})
        writer.close()
        assert index.read_bytes() != old  # the fold wrote the new base's
        assert path.stat().st_size == size  # each line where it was: only the times differ
        index.write_bytes(old)
    elif state == "offsets":  # its base's, but pointing inside lines
        found = lineindex.read(path, os.stat(path))
        assert found is not None
        moved = array("q", [start + 7 for start in found.starts])
        found.starts = moved
        index.write_bytes(found.encode(os.stat(path)))
    elif state == "short":
        index.write_bytes(index.read_bytes()[:-5])
    elif state == "none":
        index.unlink()
    elif state == "fifo":  # never read (nor waited on)
        index.unlink()
        os.mkfifo(index)
    elif state == "folder":  # never read, nor written over
        index.unlink()
        index.mkdir()


def test_a_fold_writes_the_index_of_the_base_it_writes(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    folded(path)
    found = lineindex.read(path, os.stat(path))
    assert found is not None and len(found.starts) == len(history_mix(COUNT))
    lines = path.read_bytes().split(b"\n")[2:-1]  # between `"tasks":{` and `}}`
    assert all(path.read_bytes()[s - 1 : s] == b"\n" for s in found.starts)
    assert len(lines) == len(found.starts)
    # Only the lines that can be on a first screen: not every line.
    assert len(expected(Watchlist(path))) <= len(found.changed_since(SINCE)) < len(found.starts)


@pytest.mark.parametrize("state", STATES)
def test_the_first_screen_is_load_without_history_whatever_the_index(
    tmp_path: Path, state: str
) -> None:
    path = tmp_path / "w.json"
    folded(path)
    spoil(path, state)

    reader = Watchlist(path)
    recent = reader.recent(SINCE)

    assert recent is not None
    assert recent == expected(Watchlist(path))
    if state == "stale":
        assert recent[0].id == history_mix(COUNT)[0].id
    # Once the whole base is read, the index is its own again (written by the scan).
    reader.load()
    if state == "folder":
        assert lineindex.index_path(path).is_dir()
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    else:
        assert lineindex.read(path, os.stat(path)) is not None
    # Any cutoff: the index keeps every line's time, not the lines of one cutoff.
    earlier = SINCE - 30 * 86_400.0
    whole = Watchlist(path).load()
    assert Watchlist(path).recent(earlier) == [r for r in whole if not is_history(r, earlier)]


def test_a_base_read_whole_without_an_index_is_given_one(tmp_path: Path) -> None:
    """A base another tool wrote (or an older version): the first whole read of it by any
    of our processes (watch, the TUI, a command) writes its index."""
    path = tmp_path / "w.json"
    folded(path)
    lineindex.index_path(path).unlink()
    Watchlist(path).load()
    assert lineindex.names(path, _signature(path))
    found = lineindex.read(path, os.stat(path))
    assert found is not None and len(found.starts) == len(history_mix(COUNT))


def _signature(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return st.st_ino, st.st_size, st.st_mtime_ns


def test_a_short_list_is_given_no_index(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add(history_mix(COUNT - 10))
    watchlist.close()
    reader = Watchlist(path)
    assert reader.recent(SINCE) == expected(reader)
    assert not lineindex.index_path(path).exists()


def test_no_index_is_written_beside_a_base_damaged_inside(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    folded(path)
    lineindex.index_path(path).unlink()
    raw = path.read_bytes()
    damaged = raw.replace(b'"prompt":"take 7"', b'"prompt":["not", "a", "text"]')
    assert damaged != raw
    path.write_bytes(damaged)

    watchlist = Watchlist(path)
    assert watchlist.recent(SINCE) is not None  # the damage is in a line it skips
    with pytest.raises(WatchlistError, match="damaged"):
        watchlist.load()
    assert not lineindex.index_path(path).exists()
    assert path.read_bytes() == damaged


@pytest.mark.parametrize("state", ["fresh", "offsets", "none"])
async def test_the_app_shows_the_work_first_then_the_whole_year(
    simulator: Simulator,
    make_app: AppFactory,
    watchlist: Watchlist,
    clock: FakeClock,
    state: str,
) -> None:
    writer = Watchlist(watchlist.path)
    made = year_of_history(writer, clock(), old=COUNT)
    writer.close()
    assert lineindex.index_path(watchlist.path).exists()
    spoil(watchlist.path, state)
    live = simulator.seed_task("run", queued=0, processing=600)
    app = make_app([live])
    total = made.total + 1
    async with running(app, (120, 40)) as pilot:
        await until(pilot, lambda: live in row_ids(app), "the first screen")
        await polled(pilot, app)
        assert row_ids(app) == [live, *made.unsaved, *made.recent]
        await until(pilot, lambda: len(app.records) == total, "the whole year")
        await pilot.press("H")
        await until(pilot, lambda: len(row_ids(app)) == total - 2, "history shown")
        assert set(made.old) <= set(row_ids(app))
