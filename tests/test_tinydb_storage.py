"""The watchlist is a TinyDB database (issue 27): `TinyDB(path, storage=WatchlistStorage)`
reads and writes it beside a running monitor or TUI, nothing lost on either side, and
plain `TinyDB(path)` sees every task after a clean end."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers_proc import Spawn, child_environment
from tinydb import Query, TinyDB

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist, WatchlistError, WatchlistStorage
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.widgets.task_table import TaskTable

ROOT = Path(__file__).resolve().parent.parent


def tinydb_statuses(path: Path) -> dict[str, str]:
    with TinyDB(path, storage=WatchlistStorage) as db:
        return {doc["id"]: doc["status"] for doc in db.table("tasks")}


def run_script(code: str, path: Path) -> subprocess.CompletedProcess[str]:
    """A user's script: a separate Python process with TinyDB and the watchlist's storage."""
    return subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=child_environment(path.parent / "home"),
        cwd=ROOT,
        start_new_session=True,
    )


# -- TinyDB beside the engine -----------------------------------------------------------------


async def test_tinydb_through_the_storage_sees_each_monitor_change_within_2_s(
    start_sim: object, tmp_path: Path
) -> None:
    sim: Simulator = start_sim(queued_seconds=0.3, processing_seconds=1.0)  # type: ignore[operator]
    ids = [sim.seed_task(f"cat {n}", queued=0.3 + n * 0.4, processing=0.8) for n in range(4)]
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=i) for i in ids])
    seen_by_monitor: dict[tuple[str, str], float] = {}  # (task, status): when it was known
    seen_by_tinydb: dict[tuple[str, str], float] = {}
    async with StarVideosClient(sim.base_url, "sk") as client:
        monitor = Monitor(
            watchlist, client, emit=lambda _e: None, download_dir=tmp_path, interval=0.25
        )
        await monitor.start()
        running = asyncio.create_task(monitor.run())
        try:
            deadline = time.monotonic() + 20
            db = TinyDB(path, storage=WatchlistStorage)  # one long-lived reader
            while time.monotonic() < deadline:
                now = time.monotonic()
                for task_id, record in monitor.records.items():
                    seen_by_monitor.setdefault((task_id, record.status), now)
                docs = await asyncio.to_thread(db.table("tasks").all)
                for doc in docs:
                    seen_by_tinydb.setdefault((doc["id"], doc["status"]), now)
                if all(monitor.records[i].status == "completed" for i in ids) and all(
                    (i, "completed") in seen_by_tinydb for i in ids
                ):
                    break
                await asyncio.sleep(0.05)
            db.close()
        finally:
            monitor.stop()
            await running
            await monitor.close()
    changes = {k: t for k, t in seen_by_monitor.items() if k[1] in ("processing", "completed")}
    assert {s for _, s in changes} == {"processing", "completed"}, seen_by_monitor
    for change, known in changes.items():
        assert change in seen_by_tinydb, f"TinyDB never saw {change}"
        assert seen_by_tinydb[change] - known < 2.0, (change, seen_by_tinydb[change] - known)


SCRIPT = """
import sys
from tinydb import Query, TinyDB
from starvideos_tui.storage.store import WatchlistStorage

with TinyDB(sys.argv[1], storage=WatchlistStorage) as db:
    tasks = db.table("tasks")
    tasks.update({"label": "from a script", "my_note": "kept"}, Query().id == "%(old)s")
    tasks.insert({"id": "%(new)s", "added_at": 1.0})
"""


async def test_a_script_insert_and_update_show_up_in_the_running_tui_and_nothing_is_lost(
    start_sim: object, tmp_path: Path
) -> None:
    sim: Simulator = start_sim(queued_seconds=0.2, processing_seconds=0.5)  # type: ignore[operator]
    old = sim.seed_task("an old cat", queued=0.5, processing=1.0)
    new = sim.seed_task("a new cat", queued=0, processing=0)
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=old, added_at=time.time())])
    config = AppConfig(download_dir=tmp_path / "videos", interval=0.25, bell=False)
    app = StarVideosApp(
        watchlist=watchlist, client=StarVideosClient(sim.base_url, "sk"), config=config
    )
    async with app.run_test(size=(140, 30)) as pilot:
        table = app.query_one(TaskTable)
        done = await asyncio.to_thread(run_script, SCRIPT % {"old": old, "new": new}, path)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            shown = table.row_ids
            if new in shown and "from a script" in table.get_row(old)[1].plain:
                break
            await pilot.pause(0.1)
        else:
            raise AssertionError(f"the script's changes were not shown: {table.row_ids}")
        while time.monotonic() < deadline + 10 and not (  # the app's own writes go on
            app.monitor.records[old].status == "completed"
            and app.monitor.records[new].status == "completed"
        ):
            await pilot.pause(0.1)
        await pilot.pause(1.5)  # a flush
        app.exit()
    # After the clean exit (the fold is the watchlist thread's last job, which the
    # interpreter's exit waits for): plain TinyDB sees everything, both sides' writes.
    journal = Path(f"{path}.journal")
    deadline = time.monotonic() + 10
    while journal.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not journal.exists()
    with TinyDB(path) as plain:
        docs = {doc["id"]: doc for doc in plain.table("tasks")}
    assert set(docs) == {old, new}
    assert docs[old]["label"] == "from a script" and docs[old]["my_note"] == "kept"
    assert docs[old]["status"] == docs[new]["status"] == "completed"


def test_after_two_add_commands_plain_tinydb_sees_both_tasks(tmp_path: Path) -> None:
    env = child_environment(tmp_path / "home")
    db = tmp_path / "home" / "w.json"
    for n in (1, 2):
        subprocess.run(
            [sys.executable, "-m", "starvideos_tui", "--db", str(db), "add",
             f"video_starvideos_o3_100000000{n}"],
            check=True, capture_output=True, env=env, timeout=60, start_new_session=True,
        )  # fmt: skip
    with TinyDB(db) as plain:
        assert [d["id"] for d in plain.table("tasks")] == [
            "video_starvideos_o3_1000000001",
            "video_starvideos_o3_1000000002",
        ]


def test_a_script_that_exits_without_closing_still_leaves_the_whole_state(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    Watchlist(path).add([TaskRecord(id="a")])
    code = (
        "import sys\nfrom tinydb import TinyDB\n"
        "from starvideos_tui.storage.store import WatchlistStorage\n"
        "db = TinyDB(sys.argv[1], storage=WatchlistStorage)\n"
        "db.table('tasks').insert({'id': 'b'})\n"
    )
    done = run_script(code, path)
    assert done.returncode == 0, done.stderr
    with TinyDB(path) as plain:
        assert [d["id"] for d in plain.table("tasks")] == ["a", "b"]


# -- what a script's writes may and may not do --------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id="a"), TaskRecord(id="b")])
    return watchlist.path


def test_a_script_update_keeps_what_another_process_wrote_since_its_read(path: Path) -> None:
    db = TinyDB(path, storage=WatchlistStorage)
    tasks = db.table("tasks")
    assert len(tasks) == 2  # read: the script's view
    # The monitor writes a status meanwhile; then the script's update lands.
    Watchlist(path).update({"a": lambda r: replace(r, status="processing")})
    storage = db.storage
    assert isinstance(storage, WatchlistStorage)
    data = {"tasks": {"1": {**storage.files.state.doc(1), "label": "mine"}}}
    data["tasks"]["2"] = storage.files.state.doc(2)
    storage.write(data)  # what TinyDB's update writes: its stale view, one field changed
    record = Watchlist(path).get("a")
    assert record is not None and record.label == "mine" and record.status == "processing"


def test_an_insert_with_a_doc_id_another_process_took_is_refused_not_overwritten(
    path: Path,
) -> None:
    db = TinyDB(path, storage=WatchlistStorage)
    tasks = db.table("tasks")
    tasks.insert({"id": "c"})  # TinyDB now caches its next id: 4
    Watchlist(path).add([TaskRecord(id="theirs")])  # another process takes doc id 4
    with pytest.raises(ValueError, match="already exists"):
        tasks.insert({"id": "d"})
    assert [r.id for r in Watchlist(path).load()] == ["a", "b", "c", "theirs"]
    db.close()
    with TinyDB(path, storage=WatchlistStorage) as again:  # opened again: a fresh next id
        again.table("tasks").insert({"id": "d"})
    assert [r.id for r in Watchlist(path).load()] == ["a", "b", "c", "theirs", "d"]


@pytest.mark.parametrize(
    "write",
    [
        lambda db: db.table("tasks").insert({"label": "no id"}),
        lambda db: db.table("tasks").insert({"id": "../etc/passwd"}),
        lambda db: db.table("tasks").insert({"id": "x", "status": 7}),
        lambda db: db.table("tasks").update({"id": None}, doc_ids=[1]),
        lambda db: db.table("tasks").update({"history": "not a list"}, doc_ids=[2]),
        lambda db: db.insert({"id": "in the default table"}),
        lambda db: db.table("meta").update({"schema": 99}),
    ],
    ids=["no-id", "bad-id", "bad-field", "id-removed", "bad-history", "other-table", "meta"],
)
def test_a_document_the_watchlist_cannot_hold_is_refused_and_nothing_written(
    path: Path, write: object
) -> None:
    before = (path.read_bytes(), Path(f"{path}.journal").exists())
    with TinyDB(path, storage=WatchlistStorage) as db, pytest.raises(ValueError):
        write(db)  # type: ignore[operator]
    assert (path.read_bytes(), Path(f"{path}.journal").exists()) == before
    assert [r.id for r in Watchlist(path).load()] == ["a", "b"]


def test_a_damaged_watchlist_is_refused_through_tinydb_and_left_untouched(path: Path) -> None:
    raw = path.read_bytes()[:-5]
    path.write_bytes(raw)
    with TinyDB(path, storage=WatchlistStorage) as db:
        with pytest.raises(WatchlistError, match="damaged"):
            db.table("tasks").all()
        with pytest.raises(WatchlistError, match="damaged"):
            db.table("tasks").insert({"id": "c"})
    assert path.read_bytes() == raw


def test_a_schema_1_file_is_read_by_tinydb_and_migrated_on_its_first_write(path: Path) -> None:
    path.write_text(json.dumps({"tasks": {"1": {"id": "a", "my_key": [1]}}}))
    with TinyDB(path, storage=WatchlistStorage) as db:
        assert db.table("tasks").get(doc_id=1) == {**TaskRecord(id="a").to_doc(), "my_key": [1]}
        db.table("tasks").update({"label": "new"}, Query().id == "a")
    data = json.loads(path.read_text())
    assert data["meta"]["1"]["schema"] == 2
    assert data["tasks"]["1"]["label"] == "new" and data["tasks"]["1"]["my_key"] == [1]


def test_a_pass_costs_tinydb_the_changed_documents_not_the_history(path: Path) -> None:
    """The product's update is one TinyDB call whose read holds only what it changes."""
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=f"t{i}", status="completed") for i in range(5000)])
    sizes: list[int] = []
    real_write = watchlist.storage.write

    def write(data: dict) -> None:  # type: ignore[type-arg]
        sizes.append(len(data["tasks"]))
        real_write(data)

    watchlist.storage.write = write  # type: ignore[method-assign]
    watchlist.update({f"t{i}": (lambda r: replace(r, label="x")) for i in range(20)})
    assert sizes == [20]
    labels = {r.id: r.label for r in Watchlist(path).load()}
    assert [labels[f"t{i}"] for i in range(21)] == ["x"] * 20 + [None]


def test_an_update_that_fails_halfway_changes_nothing_read_after_it(path: Path) -> None:
    def half(doc: dict) -> None:  # type: ignore[type-arg]
        doc["label"] = "half"
        raise RuntimeError("a script's bug")

    with TinyDB(path, storage=WatchlistStorage) as db:
        tasks = db.table("tasks")
        with pytest.raises(RuntimeError):
            tasks.update(half, doc_ids=[1])
        assert tasks.get(doc_id=1)["label"] is None
        tasks.update({"status": "processing"}, doc_ids=[2])  # a later write is only its own
    assert [(r.label, r.status) for r in Watchlist(path).load()] == [
        (None, ""),
        (None, "processing"),
    ]


def test_the_fold_at_a_clean_end_never_waits_long_for_the_lock(
    tmp_path: Path, spawn: Spawn
) -> None:
    """The fold is optional: with the lock held by another process (a writer suspended
    with Ctrl-Z), a closing watchlist gives up after a moment, and the journal keeps it all."""
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="video_starvideos_o3_1")])
    watchlist.add([TaskRecord(id="video_starvideos_o3_2")])
    assert watchlist.journal_path.exists()
    holder = spawn(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; "
            "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
            "time.sleep(60)",
            f"{path}.lock",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    started = time.monotonic()
    watchlist.close()
    assert time.monotonic() - started < 5  # the lock's own timeout is 30 s
    assert watchlist.journal_path.exists()  # nothing lost: the journal still holds it
    assert [r.id for r in Watchlist(path).load()] == [
        "video_starvideos_o3_1",
        "video_starvideos_o3_2",
    ]


def test_a_throw_away_watchlist_is_never_folded(tmp_path: Path) -> None:
    """The demo's watchlist (removed on quit) writes nothing once closed."""
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.files.fold_on_close = False
    watchlist.add([TaskRecord(id="video_starvideos_o3_1")])
    watchlist.add([TaskRecord(id="video_starvideos_o3_2")])
    before = path.read_bytes()
    watchlist.close()
    assert path.read_bytes() == before and watchlist.journal_path.exists()
