"""Issue 25 item 4: a first screen without reading the whole history, true to the files.

- `Watchlist.recent(since)` is every task that a view hiding history can show (all of
  `load` but the tasks finished before `since` and unchanged since), with the journal's
  changes, whatever the documents look like;
- `Monitor.start(since=...)` shows exactly those first, then everything;
- a file cut short is refused before any screen; a document damaged inside is found by the
  whole read after the first screen and ends the app with the same one line, exit 1;
- `textsafe.loads` reads through orjson exactly what json reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers_tui import until

from starvideos_tui.core import textsafe
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine import events as ev
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.session import StarVideosClient
from starvideos_tui.storage.firstscreen import is_history
from starvideos_tui.storage.store import Watchlist, WatchlistError
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig

DAY = 86_400.0
NOW = 1_765_000_000.0
SINCE = NOW - 7 * DAY


def task(i: int, status: str, changed: float, **more: Any) -> TaskRecord:
    return TaskRecord(
        id=f"video_starvideos_o3_{1000 + i}",
        status=status,
        created=int(changed - 90),
        prompt=f"take {i}",
        added_at=changed - 100,
        checked_at=changed,
        updated_at=changed,
        history=(("queued", changed - 90), (status, changed)) if status else (),
        **more,
    )


def history_mix(count: int = 60) -> list[TaskRecord]:
    """Old and recent, finished and not, saved and not, and odd documents."""
    records = []
    for i in range(count):
        old = NOW - (30 + i) * DAY
        kind = i % 6
        if kind == 0:
            records.append(task(i, "completed", old, local_path=f"/v/{i}.mp4"))
        elif kind == 1:
            records.append(task(i, "completed", old))  # unsaved, old: history
        elif kind == 2:
            records.append(task(i, "failed", old, error="refused"))
        elif kind == 3:
            records.append(task(i, "completed", NOW - DAY))  # finished yesterday
        elif kind == 4:
            records.append(task(i, "processing", old))  # running for ages: not history
        else:
            records.append(replace(task(i, "completed", old), checked_at=NOW - DAY))
    # Finished long ago, but a stored time is missing: not history as far as can be told.
    records.append(replace(task(count, "failed", NOW - 90 * DAY), updated_at=None))
    # A nested object before the real times that looks like them, and old (a hand edit,
    # another tool): the line is parsed, and its real times are recent.
    fake = {"x": 1, "checked_at": 1.0, "updated_at": 1.0, "history": []}
    records.append(task(count + 1, "completed", NOW - DAY, params=fake))
    # Never answered, archived, a word the API does not document.
    records.append(TaskRecord(id="video_starvideos_o3_new", added_at=NOW - 400 * DAY))
    records.append(task(count + 2, "completed", NOW - 2 * DAY, archived=True))
    records.append(task(count + 3, "Completed", NOW - 90 * DAY))
    return records


def expected(watchlist: Watchlist) -> list[TaskRecord]:
    return [r for r in watchlist.load() if not is_history(r, SINCE)]


def test_recent_is_load_without_the_history(tmp_path: Path) -> None:
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add(history_mix())
    watchlist.close()  # folded: everything in the base file
    assert not watchlist.journal_path.exists()

    recent = Watchlist(tmp_path / "w.json").recent(SINCE)

    assert recent is not None
    assert recent == expected(watchlist)
    ids = {r.id for r in recent}
    assert "video_starvideos_o3_1003" in ids  # finished yesterday
    assert "video_starvideos_o3_1004" in ids  # running
    assert "video_starvideos_o3_1005" in ids  # checked yesterday
    assert "video_starvideos_o3_1060" in ids and "video_starvideos_o3_1061" in ids
    assert "video_starvideos_o3_new" in ids
    assert "video_starvideos_o3_1000" not in ids and "video_starvideos_o3_1001" not in ids
    assert len(watchlist.load()) - len(recent) >= 30  # the old finished ones, unparsed


def test_recent_follows_the_journal(tmp_path: Path) -> None:
    """Changes since the base (another process's, not folded yet): an old task made
    recent, a recent one made old, a removal, an add, a doc id reused."""
    watchlist = Watchlist(tmp_path / "w.json")
    records = history_mix()
    watchlist.add(records)
    watchlist.close()
    writer = Watchlist(tmp_path / "w.json")
    writer.update(
        {
            records[0].id: lambda r: replace(r, label="relabelled", updated_at=NOW),
            records[3].id: lambda r: replace(r, checked_at=SINCE - 1, updated_at=SINCE - 1),
        }
    )
    writer.remove([records[4].id, records[-1].id])
    writer.add([task(500, "queued", NOW - 400 * DAY)])
    assert writer.journal_path.exists()

    recent = Watchlist(tmp_path / "w.json").recent(SINCE)

    assert recent == expected(writer)
    ids = [r.id for r in recent]
    assert records[0].id in ids and records[3].id not in ids and records[4].id not in ids
    assert ids[-1] == "video_starvideos_o3_1500"


def test_recent_of_a_file_not_in_our_layout_is_none(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    doc = task(1, "processing", NOW).to_doc()
    path.write_text(json.dumps({"tasks": {"1": doc}, "meta": {"1": {"schema": 2}}}, indent=2))
    assert Watchlist(path).recent(SINCE) is None
    assert [r.id for r in Watchlist(path).load()] == [doc["id"]]


def test_recent_refuses_a_damaged_document_it_must_show(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    Watchlist(path).add([task(1, "processing", NOW), task(2, "processing", NOW)])
    raw = path.read_bytes().replace(b'"prompt":"take 2"', b'"prompt":7')
    path.write_bytes(raw)
    with pytest.raises(WatchlistError, match="damaged"):
        Watchlist(path).recent(SINCE)


async def test_the_monitor_shows_the_recent_tasks_first_then_all(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add(history_mix())
    watchlist.close()
    seen: list[list[str]] = []

    def said(event: ev.Event) -> None:
        if isinstance(event, ev.TasksChanged) and event.everything:
            seen.append(list(event.records))

    client = StarVideosClient("http://127.0.0.1:9", "k")
    monitor = Monitor(Watchlist(path), client, emit=said, download_dir=tmp_path / "v")
    try:
        await monitor.start(first_screen=40, since=SINCE)
    finally:
        await monitor.close()
    whole = [r.id for r in Watchlist(path).load()]
    assert seen == [[r.id for r in expected(Watchlist(path))], whole]


def test_a_file_cut_short_is_refused_by_the_quick_check(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    Watchlist(path).add(history_mix())
    raw = path.read_bytes()
    Watchlist(path).check_quickly()  # whole: nothing to say
    for cut in (len(raw) - 1, len(raw) // 2, 40):
        path.write_bytes(raw[:cut])
        with pytest.raises(WatchlistError, match="damaged"):
            Watchlist(path).check_quickly()
        assert path.read_bytes() == raw[:cut]


async def test_a_document_damaged_inside_ends_the_tui_after_its_first_screen(
    tmp_path: Path,
) -> None:
    """launch's quick check passes it (head and end are whole); the whole read after the
    first screen finds it: the app ends with exit 1 and the one line launch prints."""
    path = tmp_path / "w.json"
    records = history_mix()
    Watchlist(path).add(records)
    raw = path.read_bytes()
    damaged = raw.replace(b'"prompt":"take 7"', b'"prompt":["not", "a", "text"]')
    assert damaged != raw
    path.write_bytes(damaged)
    watchlist = Watchlist(path)
    watchlist.check_quickly()  # what launch checks before the screen: not this damage

    config = AppConfig(download_dir=tmp_path / "v", bell=False)
    app = StarVideosApp(
        watchlist=watchlist, client=StarVideosClient("http://127.0.0.1:9", "k"), config=config
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: not app.is_running, "the app to end", timeout=10)
    assert app.return_code == 1
    assert app.fatal is not None
    assert str(path) in app.fatal and "damaged" in app.fatal and "untouched" in app.fatal
    assert path.read_bytes() == damaged


JSON_CASES = [
    b'{"a":1,"b":[1.5,-0.0,null,true,false],"c":"\\u00e9\\ud83d\\ude00"}',
    b'"\\ud800 lone"',
    b'{"x":"\\udc00\\ud800"}',
    b'"\xed\xa0\x80"',
    b"NaN",
    b"[1e400, -Infinity]",
    b"123456789012345678901234567890",
    b'{"big":-12345678901234567890}',
    b'{"text":"12345678901234567890"}',
    b'\xef\xbb\xbf{"bom":1}',
    b'{"a":1,"a":2}',
    b" [1, 2] \n",
    b'{"k":"\\u0000\\u001f"}',
    b"1.7976931348623157e308",
    b"0.1",
    b"[]",
]


@pytest.mark.parametrize("raw", JSON_CASES)
def test_loads_reads_what_json_reads(raw: bytes) -> None:
    def same(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
            return math.isnan(b)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        return type(a) is type(b) and a == b and repr(a) == repr(b)

    assert same(textsafe.loads(raw), textsafe.valid_json(json.loads(raw)))
    if not raw.startswith(b"\xef\xbb\xbf"):  # json refuses a BOM in a str, not in bytes
        text = raw.decode("utf-8", "surrogatepass")
        assert same(textsafe.loads(raw), textsafe.loads(text))


def test_records_that_share_memory_keep_their_values_and_types() -> None:
    """Equal media facts are one dict, equal times one float: each value stays as stored."""
    docs = [
        {"id": "a", "media": {"width": 1920, "fps": 24.0}, "checked_at": 5.5, "updated_at": 5.5},
        {"id": "b", "media": {"width": 1920.0, "fps": 24.0}, "checked_at": 5.5, "updated_at": 6.5},
        {"id": "c", "media": {"width": 1920, "fps": 24.0}, "video_url_at": 5.5},
        {"id": "d", "media": {"tracks": [1, 2]}, "checked_at": 1.0, "video_url_at": 1.0},
    ]
    records = [TaskRecord.from_doc(doc) for doc in docs]
    for doc, got in zip(docs, records, strict=True):
        again = got.to_doc()
        for name, value in doc.items():
            assert again[name] == value and repr(again[name]) == repr(value), name
    assert records[0].media is records[2].media and records[1].media is not records[0].media


def test_recent_of_an_empty_table_or_file(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add([task(1, "processing", NOW)])
    watchlist.remove([task(1, "processing", NOW).id])
    watchlist.close()
    assert Watchlist(path).recent(SINCE) == []
    path.write_bytes(b"")
    assert Watchlist(path).recent(SINCE) is None  # not our layout: `load` says why
    assert Watchlist(tmp_path / "none.json").recent(SINCE) is None
