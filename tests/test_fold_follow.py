"""Another process's fold, as a reader (the TUI) follows it (storage/foldchain.py).

A fold writes the journal into a new base renamed over the old: the reader that holds
what it holds takes it as its own, parsing no document and keeping every record object
(so its memory does not double and nothing is redrawn); a base replaced by anything else
is read and shown, keeping the record objects of the documents that did not change.
The writers are real processes; `WatchlistFiles.parsed` counts the documents a reader parses.
"""

from __future__ import annotations

import asyncio
import os
import select
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from helpers_proc import Spawn

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.events import Event, TasksChanged
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.storage.store import Watchlist

TASKS = 300

# A writer in a process of its own, one command a line on its stdin, "ok" after each:
# `rate N ID...` (one entry), `fold` (its journal into a new base, as at a clean end),
# `close` (the end of a clean run: it folds), `pairs K A B` (K entries each giving A and B
# the same new label, each folded at once).
WRITER = """
import sys
from dataclasses import replace
from starvideos_tui.storage.store import Watchlist
watchlist = Watchlist(sys.argv[1])
for line in sys.stdin:
    word, *args = line.split()
    if word == "rate":
        rating = int(args[0])
        watchlist.update(dict.fromkeys(args[1:], lambda r: replace(r, rating=rating)))
    elif word == "fold":
        watchlist.files.fold()
    elif word == "close":
        watchlist.close()
    elif word == "pairs":
        for i in range(int(args[0])):
            watchlist.update(dict.fromkeys(args[1:], lambda r: replace(r, label=str(i))))
            watchlist.files.fold()
    print("ok", flush=True)
    if word == "close":
        break
"""


class Writer:
    """Another process writing the watchlist at `path`."""

    def __init__(self, spawn: Spawn, env: dict[str, str], path: Path) -> None:
        self.child = spawn(
            [sys.executable, "-c", WRITER, str(path)],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __call__(self, *words: str) -> None:
        assert self.child.stdin is not None and self.child.stdout is not None
        self.child.stdin.write(" ".join(words) + "\n")
        self.child.stdin.flush()
        assert self.child.stdout.readline() == "ok\n", f"the writer failed at {words}"

    def close(self) -> None:
        self("close")
        assert self.child.wait(30) == 0


def ids(*numbers: int) -> list[str]:
    return [f"task-{n}" for n in numbers]


def filled(tmp_path: Path) -> Path:
    path = tmp_path / "watchlist.json"
    Watchlist(path).add(
        [TaskRecord(id=i, prompt=f"a prompt {i}", added_at=1.5e9) for i in ids(*range(TASKS))]
    )
    return path


def load(reader: Watchlist) -> tuple[dict[str, TaskRecord], int]:
    """The reader's records by id after a load, and how many documents it parsed."""
    before = reader.files.parsed
    records = {r.id: r for r in reader.load()}
    return records, reader.files.parsed - before


def truth(path: Path) -> dict[str, TaskRecord]:
    return {r.id: r for r in Watchlist(path).load()}


def kept(old: dict[str, TaskRecord], new: dict[str, TaskRecord]) -> set[str]:
    return {i for i, r in new.items() if old.get(i) is r}


def test_a_fold_by_another_process_is_taken_without_parsing_a_document(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    path = filled(tmp_path)
    reader = Watchlist(path)
    held, _ = load(reader)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    assert reader.changed_since_load()
    seen, parsed = load(reader)  # the entry, read from the journal
    assert parsed == 0 and seen["task-1"].rating == 2
    assert kept(held, seen) == set(ids(*range(TASKS))) - set(ids(1))
    writer("rate", "4", *ids(2, 3))  # its last entry, not read before the fold
    inode = path.stat().st_ino
    writer.close()  # folds at its clean end: a new base, the journal removed
    assert path.stat().st_ino != inode and not Path(f"{path}.journal").exists()
    assert reader.changed_since_load()
    after, parsed = load(reader)
    assert parsed == 0
    assert kept(seen, after) == set(ids(*range(TASKS))) - set(ids(2, 3))
    assert after["task-2"].rating == after["task-3"].rating == 4
    assert after == truth(path)
    assert not reader.changed_since_load()


def test_entries_after_the_fold_and_a_second_fold_follow_without_a_parse(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    path = filled(tmp_path)
    reader = Watchlist(path)
    writer = Writer(spawn, child_env, path)
    writer("rate", "1", *ids(5))
    held, _ = load(reader)
    writer("rate", "2", *ids(6))
    writer("fold")
    writer("rate", "3", *ids(7))  # a new journal begun right after the fold
    after, parsed = load(reader)
    assert parsed == 0 and after == truth(path)
    assert kept(held, after) == set(ids(*range(TASKS))) - set(ids(6, 7))
    writer("rate", "5", *ids(8))
    writer.close()  # a second fold, onto the base the reader took
    again, parsed = load(reader)
    assert parsed == 0 and again == truth(path) and again["task-8"].rating == 5
    assert kept(after, again) == set(ids(*range(TASKS))) - set(ids(8))


def test_folds_the_reader_missed_entries_of_are_read_keeping_unchanged_records(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    path = filled(tmp_path)
    reader = Watchlist(path)
    held, _ = load(reader)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    writer("fold")  # a journal begun and folded between two looks
    writer("rate", "3", *ids(2))
    writer.close()  # and a second fold
    after, parsed = load(reader)
    assert parsed == TASKS  # read whole: what it missed is only in the new base
    assert after == truth(path) and after["task-1"].rating == 2 and after["task-2"].rating == 3
    assert kept(held, after) == set(ids(*range(TASKS))) - set(ids(1, 2))


def _edited(path: Path, task_id: str, prompt: str) -> bytes:
    """The base with one task's prompt changed by hand, its meta line (and layout) kept."""
    lines = path.read_bytes().split(b"\n")
    key = f'"id":"{task_id}"'.encode()
    [at] = [n for n, line in enumerate(lines) if key in line]
    lines[at] = lines[at].replace(f"a prompt {task_id}".encode(), prompt.encode())
    return b"\n".join(lines)


def _replace_file(path: Path, raw: bytes) -> None:
    tmp = path.with_name("edited.tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)


def test_a_base_edited_by_hand_after_a_fold_keeping_its_meta_is_read_and_shown(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    path = filled(tmp_path)
    reader = Watchlist(path)
    load(reader)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    load(reader)
    writer.close()
    held, parsed = load(reader)
    assert parsed == 0
    _replace_file(path, _edited(path, "task-9", "edited by hand"))
    after, parsed = load(reader)
    assert parsed == TASKS and after["task-9"].prompt == "edited by hand"
    assert after == truth(path)
    assert kept(held, after) == set(ids(*range(TASKS))) - set(ids(9))


def test_a_fold_edited_by_hand_before_the_reader_looked_is_read_and_shown(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    """The new base says it is the fold of what the reader holds, but its tasks were
    changed after (its meta line kept): its own CRC tells, so it is read."""
    path = filled(tmp_path)
    reader = Watchlist(path)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    held, _ = load(reader)
    writer.close()
    _replace_file(path, _edited(path, "task-9", "edited by hand"))
    after, parsed = load(reader)
    assert parsed == TASKS and after["task-9"].prompt == "edited by hand"
    assert after == truth(path)
    assert kept(held, after) == set(ids(*range(TASKS))) - set(ids(9))


def test_a_number_changed_only_in_type_is_not_taken_for_the_held_one(tmp_path: Path) -> None:
    """1920 and 1920.0 are equal, but a record written back keeps what it holds."""
    path = tmp_path / "watchlist.json"
    media = {"width": 1920, "codec": "h264"}
    Watchlist(path).add([TaskRecord(id=i, media=media) for i in ids(1, 2)])
    reader = Watchlist(path)
    held, _ = load(reader)
    raw = path.read_bytes()
    assert raw.count(b'"width":1920,') == 2
    _replace_file(path, raw.replace(b'"width":1920,', b'"width":1920.0,', 1))
    after, parsed = load(reader)
    assert parsed == 2 and after == truth(path)
    widths = sorted(repr(r.media["width"]) for r in after.values() if r.media)
    assert widths == ["1920", "1920.0"] and kept(held, after) == {"task-2"}


def test_a_fold_onto_a_base_edited_unseen_is_read_and_shown(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    """The folder read a base the reader never saw (edited by hand, its meta kept, while
    the journal stood beside it): its fold holds the edit, so it is read."""
    path = filled(tmp_path)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    reader = Watchlist(path)
    held, _ = load(reader)
    _replace_file(path, _edited(path, "task-9", "edited by hand"))
    writer("rate", "3", *ids(1))
    writer.close()
    after, parsed = load(reader)
    assert parsed == TASKS and after["task-9"].prompt == "edited by hand"
    assert after == truth(path) and after["task-1"].rating == 3
    assert kept(held, after) == set(ids(*range(TASKS))) - set(ids(1, 9))


def test_a_base_restored_or_replaced_by_a_smaller_one_is_read_and_shown(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    path = filled(tmp_path)
    backup = tmp_path / "backup.json"
    shutil.copyfile(path, backup)
    reader = Watchlist(path)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    load(reader)
    writer.close()
    load(reader)
    _replace_file(path, backup.read_bytes())  # the backup taken before the rating
    restored, parsed = load(reader)
    assert parsed == TASKS and restored["task-1"].rating == 0
    assert restored == truth(path)
    smaller = tmp_path / "smaller.json"
    Watchlist(smaller).add([TaskRecord(id=i, label="other") for i in ids(1, 2, 400)])
    _replace_file(path, smaller.read_bytes())
    after, parsed = load(reader)
    assert parsed == 3 and after == truth(path) and set(after) == set(ids(1, 2, 400))
    assert all(r.label == "other" for r in after.values())


def test_folds_while_the_reader_reads_never_show_half_of_an_entry(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    path = filled(tmp_path)
    reader = Watchlist(path)
    load(reader)
    writer = Writer(spawn, child_env, path)
    assert writer.child.stdin is not None
    writer.child.stdin.write(f"pairs 60 {' '.join(ids(3, 4))}\n")
    writer.child.stdin.flush()
    out = writer.child.stdout
    assert out is not None
    looks = 0
    while not select.select([out], [], [], 0)[0]:  # until the writer says it is done
        records, _ = load(reader)
        assert records["task-3"].label == records["task-4"].label, "one entry seen in half"
        looks += 1
    assert out.readline() == "ok\n" and looks > 0
    writer.close()
    records, _ = load(reader)
    assert records == truth(path) and records["task-3"].label == "59"


def test_the_monitor_hears_of_only_the_tasks_a_fold_changed(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    """The engine as the TUI runs it: after another process's fold, the changed tasks
    are told as changes (no redraw of everything), and nothing was parsed."""
    path = filled(tmp_path)
    events: list[Event] = []

    async def scenario() -> None:
        monitor = Monitor(Watchlist(path), None, emit=events.append, download_dir=tmp_path)
        await monitor.start()
        writer = Writer(spawn, child_env, path)
        writer("rate", "2", *ids(1))
        await monitor.reload()
        held = dict(monitor.records)
        writer("rate", "5", *ids(2))
        writer.close()
        events.clear()
        before = monitor.store.sync.files.parsed
        assert await monitor.store.changed_since_load()
        await monitor.reload()
        assert monitor.store.sync.files.parsed == before
        [told] = [e for e in events if isinstance(e, TasksChanged)]
        assert not told.everything and set(told.records) == {"task-2"}
        assert kept(held, monitor.records) == set(ids(*range(TASKS))) - {"task-2"}
        assert monitor.records["task-2"] == replace(held["task-2"], rating=5)
        # A fold of nothing the monitor had not read: nothing to tell (no refilter).
        writer = Writer(spawn, child_env, path)
        writer("rate", "1", *ids(4))
        await monitor.reload()
        inode = path.stat().st_ino
        writer.close()
        assert path.stat().st_ino != inode
        events.clear()
        assert await monitor.store.changed_since_load()
        await monitor.reload()
        assert monitor.store.sync.files.parsed == before
        assert not [e for e in events if isinstance(e, TasksChanged)]
        assert not await monitor.store.changed_since_load()
        await monitor.close(fold=False)

    asyncio.run(scenario())


def _open_journals(path: Path) -> list[str]:
    """The journal files of `path` this process holds open (a removed one shows so)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(f"{path}.journal"):
            found.append(target)
    return found


def test_no_folded_journal_is_held_open(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    """The journal a view read is kept open (a fold's last entries are read from it), but
    not past the fold: a removed journal's disk space is never held."""
    path = filled(tmp_path)
    reader = Watchlist(path)
    writer = Writer(spawn, child_env, path)
    writer("rate", "2", *ids(1))
    load(reader)
    assert _open_journals(path) == [f"{path}.journal"]
    writer.close()
    _, parsed = load(reader)
    assert parsed == 0 and _open_journals(path) == []
    # A writer's own fold, in this process.
    mine = Watchlist(path)
    mine.update({"task-1": lambda r: replace(r, rating=3)})
    mine.load()
    mine.files.fold()
    assert not Path(f"{path}.journal").exists() and _open_journals(path) == []
    mine.close()
    reader.close()
