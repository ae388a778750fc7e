"""The watchlist file: add/remove/update semantics, one write per change, damaged files."""

from __future__ import annotations

import errno
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from starvideos_tui.core.models import HttpProblem, InvalidTaskId, TaskRecord
from starvideos_tui.storage import basefile, journal, store
from starvideos_tui.storage.store import Watchlist, WatchlistError


def _becomes(new: TaskRecord) -> Callable[[TaskRecord], TaskRecord]:
    return lambda _old: new


def _becomes_label(label: str) -> Callable[[TaskRecord], TaskRecord]:
    return lambda old: replace(old, label=label)


def _becomes_status(status: str) -> Callable[[TaskRecord], TaskRecord]:
    return lambda old: replace(old, status=status)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "watchlist.json"


@pytest.fixture
def replaces(monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    """Every os.replace onto the watchlist file: one per file write."""
    done: list[str] = []
    real = os.replace

    def counting(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == path:
            done.append(str(src))
        real(src, dst)

    monkeypatch.setattr(os, "replace", counting)
    return done


def ids_in(watchlist: Watchlist) -> list[str]:
    return [r.id for r in watchlist.load()]


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- basic semantics --------------------------------------------------------------------------


def test_missing_watchlist_file_is_an_empty_list_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "not-yet" / "watchlist.json"
    assert Watchlist(path).load() == []
    assert not path.exists()


def test_first_add_creates_the_data_folder_and_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "deeper" / "watchlist.json"
    assert Watchlist(path).add([TaskRecord(id="a")]) == [("a", True)]
    assert ids_in(Watchlist(path)) == ["a"]
    json.loads(path.read_bytes())


def test_tasks_are_listed_in_the_order_they_were_added(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="c"), TaskRecord(id="a")])
    watchlist.add([TaskRecord(id="b")])
    assert ids_in(watchlist) == ["c", "a", "b"]


def test_adding_an_already_watched_task_keeps_its_known_state(path: Path) -> None:
    watchlist = Watchlist(path)
    done = TaskRecord(
        id="a",
        status="completed",
        video_url="https://cdn.example.com/a.mp4",
        local_path="/videos/a.mp4",
        history=(("completed", 5.0),),
        added_at=1.0,
    )
    watchlist.add([done])
    assert watchlist.add([TaskRecord(id="a", added_at=99.0), TaskRecord(id="b")]) == [
        ("a", False),
        ("b", True),
    ]
    [a, b] = watchlist.load()
    assert a == done
    assert b.id == "b"


def test_same_id_twice_in_one_add_is_watched_once(path: Path) -> None:
    watchlist = Watchlist(path)
    assert watchlist.add([TaskRecord(id="a"), TaskRecord(id="a")]) == [("a", True), ("a", False)]
    assert ids_in(watchlist) == ["a"]


def test_one_invalid_id_in_an_add_writes_nothing(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="keep")])
    before = path.read_bytes()
    with pytest.raises(InvalidTaskId):
        watchlist.add([TaskRecord(id="ok"), TaskRecord(id="../x")])
    assert path.read_bytes() == before


def test_removed_tasks_disappear_and_unknown_ids_are_reported(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=i) for i in ("a", "b", "c")])
    assert watchlist.remove(["b", "zzz", "b"]) == [("b", True), ("zzz", False), ("b", True)]
    assert ids_in(watchlist) == ["a", "c"]


def test_update_changes_only_the_named_tasks_and_returns_them(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=i) for i in ("a", "b", "c")])
    new = watchlist.update(
        {
            "a": lambda r: replace(r, status="processing"),
            "c": lambda r: replace(r, status="failed", error="too dark"),
        }
    )
    assert set(new) == {"a", "c"}
    assert new["c"].error == "too dark"
    by_id = {r.id: r for r in watchlist.load()}
    assert by_id["a"].status == "processing"
    assert by_id["b"].status == ""
    assert (by_id["c"].status, by_id["c"].error) == ("failed", "too dark")


def test_update_of_a_task_removed_meanwhile_does_not_bring_it_back(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a"), TaskRecord(id="b")])
    Watchlist(path).remove(["a"])
    assert set(watchlist.update({"a": lambda r: replace(r, status="completed")})) == set()
    assert ids_in(watchlist) == ["b"]


def test_update_keeps_what_another_process_wrote_in_between(path: Path) -> None:
    tui = Watchlist(path)
    cli = Watchlist(path)
    tui.add([TaskRecord(id="a"), TaskRecord(id="b")])
    tui.load()
    cli.update({"a": lambda r: replace(r, label="my cat", status="queued")})
    cli.add([TaskRecord(id="c")])
    assert tui.changed_since_load()
    tui.update(
        {
            "a": lambda r: replace(r, status="processing"),
            "b": lambda r: replace(r, status="completed"),
        }
    )
    by_id = {r.id: r for r in cli.load()}
    assert list(by_id) == ["a", "b", "c"]
    assert (by_id["a"].label, by_id["a"].status) == ("my cat", "processing")
    assert by_id["b"].status == "completed"


def test_update_function_sees_the_record_as_it_is_on_disk_now(path: Path) -> None:
    first = Watchlist(path)
    first.add([TaskRecord(id="a")])
    Watchlist(path).update({"a": lambda r: replace(r, local_path="/videos/a.mp4")})
    seen: list[TaskRecord] = []

    def change(record: TaskRecord) -> TaskRecord:
        seen.append(record)
        return replace(record, status="completed")

    first.update({"a": change})
    assert seen[0].local_path == "/videos/a.mp4"
    assert first.load()[0].local_path == "/videos/a.mp4"


def test_records_with_every_field_survive_saving(path: Path) -> None:
    record = TaskRecord(
        id="video_starvideos_o3_1",
        status="failed",
        created=1774836724,
        error="Reference image resolution is too low. \u2603 \x1b[2J",
        prompt="p",
        params={"prompt": "p", "referenceImages": ["https://x.example/a.png"]},
        history=(("queued", 1.0), ("failed", 2.5)),
        last_problem=HttpProblem("server", "HTTP 502", 502, "<html>", 3.0),
        size=10,
    )
    Watchlist(path).add([record])
    assert Watchlist(path).load() == [record]


def test_nothing_changed_means_the_file_is_not_rewritten(path: Path, replaces: list[str]) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a")])
    replaces.clear()
    watchlist.add([TaskRecord(id="a")])
    watchlist.remove(["zzz"])
    watchlist.update({})
    watchlist.update({"zzz": lambda r: r})
    watchlist.load()
    assert replaces == []


# -- one write per call -----------------------------------------------------------------------


def _entries(path: Path) -> int:
    journal_file = Path(f"{path}.journal")
    return journal_file.read_bytes().count(b"\nJ1 ") + 1 if journal_file.exists() else 0


def test_whole_polling_pass_is_one_durable_entry_not_a_rewrite(
    path: Path, replaces: list[str]
) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=f"t{i}") for i in range(500)])
    assert len(replaces) == 1  # the first write makes the base
    replaces.clear()
    watchlist.update({f"t{i}": (lambda r: replace(r, status="processing")) for i in range(500)})
    watchlist.remove([f"t{i}" for i in range(250)])
    assert replaces == []  # the base was not rewritten
    assert _entries(path) == 2  # one appended entry per call
    assert len(watchlist.load()) == 250
    assert {r.status for r in Watchlist(path).load()} == {"processing"}


def test_a_pass_writes_only_what_changed(path: Path) -> None:
    """20 changed tasks among 5,000: the journal grows by their documents, not the file."""
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=f"t{i}", status="completed") for i in range(5000)])
    base = path.stat().st_size
    changed = [replace(r, status="processing") for r in watchlist.load()[:20]]
    docs = sum(len(json.dumps(r.to_doc(), ensure_ascii=False)) for r in changed)
    watchlist.update({r.id: _becomes(r) for r in changed})
    grew = Path(f"{path}.journal").stat().st_size
    assert path.stat().st_size == base
    assert grew <= 2 * docs + 200, (grew, docs)


def test_the_journal_is_folded_into_the_base_when_it_grows(
    path: Path, monkeypatch: pytest.MonkeyPatch, replaces: list[str]
) -> None:
    monkeypatch.setattr(store, "COMPACT_MIN_BYTES", 2000)
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=f"t{i}") for i in range(20)])
    replaces.clear()
    for n in range(40):
        watchlist.update({f"t{n % 20}": _becomes_label(f"take {n}")})
    assert replaces, "the journal never compacted"
    journal_file = Path(f"{path}.journal")  # none when the last update compacted
    assert not journal_file.exists() or journal_file.stat().st_size < 2000 * 2
    fresh = Watchlist(path).load()
    assert [r.label for r in fresh[:2]] == ["take 20", "take 21"] or fresh[0].label == "take 20"
    assert len(fresh) == 20


def test_a_pass_over_a_large_share_of_the_history_is_folded_at_once(path: Path) -> None:
    """`watch`'s first pass over a year marks thousands of dead links in one entry: left in
    the journal, every start would parse it before its first screen (11 MB at 50k)."""
    prompt = "a slow aerial push-in over a valley at sunrise, 35mm film look " * 3
    done = [
        TaskRecord(id=f"video_{i}", status="completed", prompt=prompt, video_url="https://x/v")
        for i in range(4000)
    ]
    watchlist = Watchlist(path)
    watchlist.add(done)
    watchlist.close()  # folded: a base of 4,000 tasks, no journal
    journal_file = Path(f"{path}.journal")
    dead = {r.id: lambda r: replace(r, download_error="link expired") for r in done[:20]}
    Watchlist(path).update(dead)  # a usual pass: kept in the journal
    assert journal_file.exists()
    base = path.stat().st_size
    dead = {r.id: lambda r: replace(r, download_error="link expired") for r in done[:1200]}
    Watchlist(path).update(dead)  # 30 % of the history in one pass
    assert not journal_file.exists(), (journal_file.stat().st_size, base)
    assert sum(r.download_error == "link expired" for r in Watchlist(path).load()) == 1200


def test_a_torn_last_entry_from_a_crash_is_dropped_and_cut_before_the_next(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a"), TaskRecord(id="b")])
    watchlist.update({"a": lambda r: replace(r, status="queued")})
    journal_file = Path(f"{path}.journal")
    good = journal_file.read_bytes()
    # A kill mid-write: a long entry cut short, longer than the next entries will be.
    torn = b'J1 3000 00000000 {"seq": 9, "put": {"2": {"id": "b", "label": "' + b"x" * 2000
    journal_file.write_bytes(good + torn)

    assert {r.id: r.status for r in Watchlist(path).load()} == {"a": "queued", "b": ""}
    Watchlist(path).update({"b": lambda r: replace(r, status="failed")})
    Watchlist(path).update({"a": lambda r: replace(r, status="processing")})

    assert b"xxxx" not in journal_file.read_bytes()
    statuses = {r.id: r.status for r in Watchlist(path).load()}
    assert statuses == {"a": "processing", "b": "failed"}


def test_a_journal_damaged_before_its_end_is_refused_and_never_rewritten(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a")])
    for status in ("queued", "processing"):
        watchlist.update({"a": _becomes_status(status)})
    journal_file = Path(f"{path}.journal")
    raw = bytearray(journal_file.read_bytes())
    raw[20] ^= 0x01  # a flipped bit in the first of two entries
    journal_file.write_bytes(bytes(raw))
    calls: list[Callable[[Watchlist], object]] = [
        lambda w: w.load(),
        lambda w: w.add([TaskRecord(id="b")]),
    ]
    for call in calls:
        with pytest.raises(WatchlistError) as caught:
            call(Watchlist(path))
        assert "damaged" in str(caught.value) and str(journal_file) in str(caught.value)
    assert journal_file.read_bytes() == bytes(raw)


def test_a_schema_1_watchlist_is_read_and_rewritten_as_schema_2_on_the_first_write(
    path: Path,
) -> None:
    old = {"meta": {"1": {"schema": 1}}, "tasks": {"1": {"id": "a", "status": "queued"}}}
    path.write_text(json.dumps(old))
    assert [r.id for r in Watchlist(path).load()] == ["a"]
    Watchlist(path).add([TaskRecord(id="b")])
    data = json.loads(path.read_bytes())
    assert data["meta"]["1"]["schema"] == store.SCHEMA_VERSION == 2
    assert sorted(d["id"] for d in data["tasks"].values()) == ["a", "b"]
    assert not Path(f"{path}.journal").exists()


# -- damaged files ----------------------------------------------------------------------------

DAMAGED = {
    "empty": b"",
    "whitespace": b"  \n\t ",
    "truncated": b'{"meta": {"1": {"schema": 1}}, "tasks": {"1": {"id": "a", "sta',
    "not-json": b"hello, I am not JSON\n",
    "binary": b"\x00\xff\xfe\x89PNG\r\n",
    "json-list": b'[{"id": "a"}]',
    "json-string": b'"tasks"',
    "json-null": b"null",
    "tasks-a-list": b'{"tasks": [{"id": "a"}]}',
    "meta-a-string": b'{"meta": "v1", "tasks": {}}',
    "entry-a-string": b'{"tasks": {"1": "video_1"}}',
    "entry-without-id": b'{"tasks": {"1": {"status": "queued"}}}',
    "entry-with-unsafe-id": b'{"tasks": {"1": {"id": "../../etc/passwd"}}}',
    "entry-key-not-a-number": b'{"tasks": {"first": {"id": "a"}}}',
    "future-schema": b'{"meta": {"1": {"schema": 99}}, "tasks": {}}',
}


def _write(path: Path, raw: bytes) -> bytes:
    path.write_bytes(raw)
    return raw


def _check_refused(path: Path, raw: bytes, action: Callable[[], Any]) -> None:
    with pytest.raises(WatchlistError) as caught:
        action()
    assert str(path) in str(caught.value)
    assert path.read_bytes() == raw


@pytest.mark.parametrize("raw", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_file_is_reported_by_name_and_left_byte_for_byte(path: Path, raw: bytes) -> None:
    _write(path, raw)
    watchlist = Watchlist(path)
    _check_refused(path, raw, watchlist.load)
    _check_refused(path, raw, lambda: watchlist.add([TaskRecord(id="new")]))
    _check_refused(path, raw, lambda: watchlist.remove(["a"]))
    _check_refused(path, raw, lambda: watchlist.update({"a": lambda r: r}))
    assert leftovers(path.parent) == []


def test_file_from_a_newer_version_asks_for_an_upgrade(path: Path) -> None:
    raw = _write(path, DAMAGED["future-schema"])
    with pytest.raises(WatchlistError, match="newer"):
        Watchlist(path).load()
    assert path.read_bytes() == raw


# Task entries whose fields have the wrong type or shape. `load` must refuse them with a
# message naming the file (not crash later in `list` or the TUI), and no write may touch them.
WRONG_FIELDS = {
    "history-a-number": {"id": "a", "history": 5},
    "history-item-too-short": {"id": "a", "history": [["queued"]]},
    "problem-with-unknown-keys": {"id": "a", "last_problem": {"bogus": 1}},
    "status-a-number": {"id": "a", "status": 5},
    "created-a-text": {"id": "a", "created": "yesterday"},
    "label-a-list": {"id": "a", "label": ["cat"]},
    "checked-at-infinity": {"id": "a", "checked_at": math.inf},
    "id-missing": {"status": "queued"},
}


@pytest.mark.parametrize("entry", WRONG_FIELDS.values(), ids=WRONG_FIELDS.keys())
def test_task_entry_with_wrong_field_types_is_reported_by_name_on_load(
    path: Path, entry: dict[str, object]
) -> None:
    raw = _write(path, json.dumps({"tasks": {"1": entry}}).encode())
    _check_refused(path, raw, Watchlist(path).load)


@pytest.mark.parametrize("entry", WRONG_FIELDS.values(), ids=WRONG_FIELDS.keys())
@pytest.mark.parametrize("action", ["add", "remove", "update"])
def test_task_entry_with_wrong_field_types_is_never_rewritten(
    path: Path, entry: dict[str, object], action: str
) -> None:
    raw = _write(path, json.dumps({"tasks": {"1": entry, "2": {"id": "b"}}}).encode())
    watchlist = Watchlist(path)
    run = {
        "add": lambda: watchlist.add([TaskRecord(id="new")]),
        "remove": lambda: watchlist.remove(["b"]),
        "update": lambda: watchlist.update({"a": lambda r: replace(r, status="queued")}),
    }[action]
    _check_refused(path, raw, run)


@pytest.mark.parametrize("key", ["\u00b2", "\u0661", "01", "-1", " 1"])
def test_task_key_that_only_looks_like_a_number_is_reported_not_crashing(
    path: Path, key: str
) -> None:
    raw = _write(path, json.dumps({"tasks": {key: {"id": "a"}}}).encode())
    watchlist = Watchlist(path)
    _check_refused(path, raw, watchlist.load)
    _check_refused(path, raw, lambda: watchlist.add([TaskRecord(id="new")]))
    _check_refused(path, raw, lambda: watchlist.update({"a": lambda r: r}))


def test_watchlist_path_that_is_a_folder_gives_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "watchlist.json"
    folder.mkdir()
    with pytest.raises(WatchlistError, match=r"watchlist\.json"):
        Watchlist(folder).load()
    with pytest.raises(WatchlistError, match=r"watchlist\.json"):
        Watchlist(folder).add([TaskRecord(id="a")])


def test_temp_files_a_killed_writer_left_are_removed_by_the_next_save(path: Path) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a")])
    stale = path.parent / f".{path.name}.k1ll3d_x.tmp"
    recent = path.parent / f".{path.name}.sav1ng_x.tmp"
    other_list = path.parent / ".other.json.k1ll3d_x.tmp"
    for leftover in (stale, recent, other_list):
        leftover.write_bytes(b'{"tasks": {"1": {"id": "a", "sta')
    long_ago = time.time() - basefile.STALE_TEMP_AGE - 60
    for leftover in (stale, other_list):
        os.utime(leftover, (long_ago, long_ago))
    watchlist.load()
    assert stale.exists()  # readers take no lock, so they leave the folder alone
    watchlist.add([TaskRecord(id="a")])  # even a save with nothing to write cleans up
    assert leftovers(path.parent) == sorted([recent.name, other_list.name])
    assert ids_in(watchlist) == ["a"]


# -- failing writes ---------------------------------------------------------------------------


def _disk_error(code: int) -> Callable[..., None]:
    def fail(*args: object, **kw: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(("target", "code"), [("pwrite", errno.ENOSPC), ("fdatasync", errno.EIO)])
def test_failed_save_reports_the_file_and_keeps_the_previous_version(
    path: Path, monkeypatch: pytest.MonkeyPatch, target: str, code: int
) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a"), TaskRecord(id="b")])
    watchlist.update({"b": lambda r: replace(r, label="kept")})
    journal_file = Path(f"{path}.journal")
    raw, journal_raw = path.read_bytes(), journal_file.read_bytes()
    monkeypatch.setattr(os, target, _disk_error(code))
    with pytest.raises(WatchlistError) as caught:
        watchlist.add([TaskRecord(id="c")])
    assert str(path) in str(caught.value)
    with pytest.raises(WatchlistError):
        watchlist.update({"a": lambda r: replace(r, status="completed")})
    monkeypatch.undo()
    assert path.read_bytes() == raw
    assert journal_file.read_bytes() == journal_raw  # cut back: no half entry left
    fresh = Watchlist(path)
    assert ids_in(fresh) == ["a", "b"] and fresh.load()[1].label == "kept"
    assert fresh.load()[0].status == ""
    # The lock was released: the next write works.
    watchlist.add([TaskRecord(id="c")])
    assert ids_in(Watchlist(path)) == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("target", "code"),
    [("replace", errno.EIO), ("mkstemp", errno.EACCES), ("mkstemp", errno.EROFS)],
)
def test_a_failed_compaction_loses_nothing_and_is_done_later(
    path: Path, monkeypatch: pytest.MonkeyPatch, target: str, code: int
) -> None:
    """The change is durable in the journal before the base is rewritten: a base that
    cannot be written (full disk, read-only folder) costs a bigger journal, not data."""
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a"), TaskRecord(id="b")])
    raw = path.read_bytes()
    monkeypatch.setattr(store, "COMPACT_MIN_BYTES", 0)
    owner = tempfile if target == "mkstemp" else os
    with monkeypatch.context() as failing:
        failing.setattr(owner, target, _disk_error(code))
        watchlist.add([TaskRecord(id="c")])
    assert path.read_bytes() == raw
    assert leftovers(path.parent) == []
    assert ids_in(Watchlist(path)) == ["a", "b", "c"]
    watchlist.add([TaskRecord(id="d")])  # the disk is back: the next write compacts
    assert not Path(f"{path}.journal").exists()
    assert ids_in(Watchlist(path)) == ["a", "b", "c", "d"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_folder_gives_a_clear_error_and_keeps_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "watchlist.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a")])
    raw = path.read_bytes()
    folder.chmod(0o500)
    try:
        with pytest.raises(WatchlistError) as caught:
            watchlist.add([TaskRecord(id="b")])
        assert str(path) in str(caught.value)
    finally:
        folder.chmod(0o700)
    assert path.read_bytes() == raw


def test_get_finds_one_task_as_the_file_holds_it_after_our_writes_and_others(
    tmp_path: Path,
) -> None:
    path = tmp_path / "watchlist.json"
    ours, theirs = Watchlist(path), Watchlist(path)
    ours.add([TaskRecord(id="a"), TaskRecord(id="b")])
    assert ours.get("b") == TaskRecord(id="b")  # right after our own write
    ours.update({"b": lambda r: replace(r, status="processing")})
    got = ours.get("b")
    assert got is not None and got.status == "processing"
    theirs.update({"b": lambda r: replace(r, label="from another process")})
    got = ours.get("b")
    assert got is not None and got.label == "from another process"
    assert ours.get("missing") is None
    assert [r.id for r in ours.load()] == ["a", "b"]
    path.write_text("{not json")
    with pytest.raises(WatchlistError, match=str(path)):
        ours.get("a")


@pytest.mark.parametrize("where", ["under-a-file", "under-proc"])
def test_a_watchlist_where_none_can_be_made_fails_at_once_naming_why(
    tmp_path: Path, where: str
) -> None:
    if where == "under-a-file":
        (tmp_path / "afile").write_text("x")
        path, said = tmp_path / "afile" / "w.json", "is a file, not a folder"
    else:
        path, said = Path("/proc/starvideos-test.json"), "cannot create /proc/starvideos-test"
        if not Path("/proc/self").exists():
            pytest.skip("no /proc here")
    started = time.monotonic()
    with pytest.raises(WatchlistError) as caught:
        Watchlist(path).add([TaskRecord(id="abc")])
    assert time.monotonic() - started < 2  # not LOCK_TIMEOUT, blaming another process
    assert said in str(caught.value)
    assert "another process" not in str(caught.value)


def test_a_compacted_base_is_still_a_tinydb_file_with_the_same_documents(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base keeps TinyDB's layout: TinyDB itself reads it (after a compaction, the base
    alone holds everything)."""
    from tinydb import TinyDB

    monkeypatch.setattr(store, "COMPACT_MIN_BYTES", 0)
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="a"), TaskRecord(id="b")])
    watchlist.update({"b": lambda r: replace(r, label="kept")})
    assert not Path(f"{path}.journal").exists()
    with TinyDB(path, access_mode="r") as db:
        docs = db.table("tasks").all()
    assert [(d["id"], d["label"]) for d in docs] == [("a", None), ("b", "kept")]


def test_peek_shows_the_first_tasks_with_their_journal_changes_without_reading_the_rest(
    path: Path,
) -> None:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=f"t{i}") for i in range(1000)])
    watchlist.update({"t1": lambda r: replace(r, status="completed")})
    watchlist.remove(["t2"])
    # Damage far down the file: a peek does not reach it; a load refuses it.
    raw = path.read_bytes()
    cut = raw.rindex(b'"t990"')
    path.write_bytes(raw[:cut] + b"@@" + raw[cut + 2 :])

    first = Watchlist(path).peek(5)

    assert first is not None
    assert [r.id for r in first] == ["t0", "t1", "t3", "t4"]
    assert first[1].status == "completed"
    with pytest.raises(WatchlistError):
        Watchlist(path).load()
    with pytest.raises(WatchlistError):
        Watchlist(path).add([TaskRecord(id="new")])


def test_peek_of_an_older_layout_or_no_file_says_load_it_whole(path: Path) -> None:
    assert Watchlist(path).peek(5) is None
    path.write_text(json.dumps({"tasks": {"1": {"id": "a"}}, "meta": {"1": {"schema": 1}}}))
    assert Watchlist(path).peek(5) is None
    assert [r.id for r in Watchlist(path).load()] == ["a"]


# -- the base read a document at a time --------------------------------------------------


def _our_layout(path: Path, count: int) -> bytes:
    Watchlist(path).add([TaskRecord(id=f"t{i}", label=f"take {i}") for i in range(count)])
    files = Watchlist(path).files
    files.compact(files.refresh())  # everything in the base
    return path.read_bytes()


def test_our_layout_is_read_a_line_at_a_time_to_the_same_records(path: Path) -> None:
    raw = _our_layout(path, 50)
    with path.open("rb") as handle:
        streamed = basefile._read_lines(path, handle)
    assert streamed is not None  # not the whole-file parse
    assert streamed.records == basefile.parse_base(path, raw).records
    assert [r.label for r in streamed.records.values()] == [f"take {i}" for i in range(50)]


def test_an_empty_table_in_our_layout_is_read_a_line_at_a_time(path: Path) -> None:
    path.write_bytes(basefile.encode_base({"tasks": {}, "meta": {"1": {"schema": 2}}}))
    with path.open("rb") as handle:
        streamed = basefile._read_lines(path, handle)
    assert streamed is not None and streamed.records == {}


# Each is our layout with one change that makes it invalid JSON (or not our layout): the
# line reader must not take it; the whole parse then refuses it or reads it as JSON does.
NOT_QUITE_OUR_LAYOUT = {
    "comma-before-the-end": (lambda raw: raw.replace(b"}\n}}", b"},\n}}"), "refused"),
    "comma-missing": (lambda raw: raw.replace(b'},\n"2":', b'}\n"2":'), "refused"),
    "cut-short": (lambda raw: raw[:-2], "refused"),
    "something-after-the-end": (lambda raw: raw + b"x", "refused"),
    "two-documents-on-a-line": (lambda raw: raw.replace(b'},\n"2":', b'},"2":'), "read"),
    "a-newline-at-the-end": (lambda raw: raw + b"\n", "read"),
}


@pytest.mark.parametrize("change, verdict", NOT_QUITE_OUR_LAYOUT.values(), ids=NOT_QUITE_OUR_LAYOUT)
def test_a_base_not_quite_in_our_layout_is_parsed_whole(
    path: Path, change: Callable[[bytes], bytes], verdict: str
) -> None:
    raw = change(_our_layout(path, 5))
    path.write_bytes(raw)
    with path.open("rb") as handle:
        assert basefile._read_lines(path, handle) is None
    if verdict == "refused":
        _check_refused(path, raw, Watchlist(path).load)
        _check_refused(path, raw, lambda: Watchlist(path).add([TaskRecord(id="new")]))
    else:
        assert ids_in(Watchlist(path)) == [f"t{i}" for i in range(5)]


def test_keys_a_newer_version_wrote_survive_a_rewrite_of_the_base(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records keep no documents (memory); the keys they do not hold are kept aside and
    written back, from the base and from the journal alike."""
    raw = _our_layout(path, 3)
    path.write_bytes(raw.replace(b'"id":"t1"', b'"id":"t1","colour":"blue"', 1))
    Watchlist(path).add([TaskRecord(id="x")])
    with Path(f"{path}.journal").open("ab") as handle:  # a newer version's journal entry
        doc = {**TaskRecord(id="t2", label="new").to_doc(), "mood": ["calm"]}
        handle.write(journal.frame({"seq": 99, "put": {"3": doc}, "del": []}))
    monkeypatch.setattr(store, "COMPACT_MIN_BYTES", 0)
    Watchlist(path).update({"t0": lambda r: replace(r, label="changed")})  # compacts
    assert not Path(f"{path}.journal").exists()
    docs = json.loads(path.read_bytes())["tasks"]
    assert docs["2"]["colour"] == "blue" and docs["3"]["mood"] == ["calm"]
    assert docs["3"]["label"] == "new" and docs["1"]["label"] == "changed"
    assert "colour" not in docs["1"] and "mood" not in docs["2"]
