"""A field set back to its default (rating 0, unarchived, unrejected) leaves the stored
document, which leaves such fields out (models._LEFT_OUT_AT_DEFAULT); before, the stale
value stayed on disk and came back on the next read. Keys a newer version wrote stay."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tinydb import TinyDB

from starvideos_tui.storage.basefile import TASKS
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.storage.tinystorage import WatchlistStorage


def test_a_mark_taken_back_leaves_the_document_and_a_newer_versions_key_stays(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.json"
    db = TinyDB(path, storage=WatchlistStorage)
    db.table(TASKS).insert({"id": "t", "status": "completed", "from_the_future": [1, 2]})
    db.close()
    watchlist = Watchlist(path)
    marked = lambda r: replace(r, rating=4, rejected=True, archived=True, archived_at=5.0)  # noqa: E731
    watchlist.update({"t": marked})
    watchlist.update(
        {"t": lambda r: replace(r, rating=0, rejected=False, archived=False, archived_at=None)}
    )
    watchlist.close()
    again = Watchlist(path)
    record = again.load()[0]
    again.close()
    assert (record.rating, record.rejected, record.archived, record.archived_at) == (
        0,
        False,
        False,
        None,
    )
    db = TinyDB(path, storage=WatchlistStorage)
    doc = db.table(TASKS).all()[0]
    db.close()
    assert doc["from_the_future"] == [1, 2]
    assert not {"rating", "rejected", "archived", "archived_at"} & doc.keys()
