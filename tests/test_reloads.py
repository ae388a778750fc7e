"""Another process's writes cost the tasks they changed (engine/reloads.py): with `watch`
beside the TUI on a year of history, every pass of `watch` made the TUI reload all 50,000
records as "everything" (recount, run times, re-sort), about 60 % of a core."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine import events as ev
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.storage.store import Watchlist


async def test_another_processs_change_is_told_as_a_change_of_those_tasks(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.json"
    ids = [f"video_starvideos_o3_{n}" for n in range(2000)]
    Watchlist(path).add(
        [TaskRecord(id=i, status="completed", added_at=1.0, local_path="/v.mp4") for i in ids]
    )
    heard: list[ev.Event] = []
    monitor = Monitor(Watchlist(path), None, emit=heard.append, download_dir=tmp_path)
    await monitor.start()
    assert isinstance(heard[-1], ev.TasksChanged) and heard[-1].everything
    heard.clear()

    other = Watchlist(path)  # `watch`, or a second monitor, still running (its journal)
    other.update({i: (lambda r: replace(r, label="rated elsewhere")) for i in ids[:3]})
    other.remove([ids[-1]])
    await monitor.reload()
    other.close()

    told = [e for e in heard if isinstance(e, ev.TasksChanged)]
    assert len(told) == 1 and not told[0].everything
    assert sorted(told[0].records) == sorted(ids[:3])
    assert told[0].removed == {ids[-1]}
    assert monitor.records[ids[0]].label == "rated elsewhere"
    assert ids[-1] not in monitor.records and len(monitor.records) == 1999
    await monitor.close()


async def test_a_watchlist_mostly_new_is_shown_as_a_whole(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    Watchlist(path).add([TaskRecord(id="a", added_at=1.0)])
    heard: list[ev.Event] = []
    monitor = Monitor(Watchlist(path), None, emit=heard.append, download_dir=tmp_path)
    await monitor.start()
    Watchlist(path).add([TaskRecord(id=f"b{n}", added_at=2.0) for n in range(10)])
    heard.clear()
    await monitor.reload()
    told = [e for e in heard if isinstance(e, ev.TasksChanged)]
    assert len(told) == 1 and told[0].everything and len(monitor.records) == 11
    await monitor.close()
