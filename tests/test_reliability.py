"""Nothing is lost (issue 5, items 1-3): kill -9 at random moments, writers at once, bad files.

Real processes on a real file system: a child writing a 1,000-task watchlist is killed at
random moments; CLI `add` processes are killed mid-run; two CLI writers and a running TUI
add at the same time; damaged files meet `list` and the TUI's launch path. The figures
(trials, kills during a save, confirmed writes) are printed; run with -s to see them.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import pytest
from helpers_proc import Spawn
from textual.widgets import TextArea

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.storage.journal import read_entries
from starvideos_tui.storage.store import SCHEMA_VERSION, Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.screens.add_ids import AddIdsScreen
from starvideos_tui.tui.widgets.task_table import TaskTable

PREFILLED = 1_000  # big enough that a save takes a while, small enough to load fast
WRITER_TRIALS = 25
CLI_KILL_TRIALS = 12
KEY = "sk-reliability-test"

# The child of the crash trials. It adds one task, then rewrites 200 of the 1,000 tasks as
# a polling pass would, forever; each line is printed only after the write returned, and
# an update announces its batch first so the parent knows what may be in flight.
WRITER = r"""
import random, sys, time
from dataclasses import replace
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

path, prefix, seed, prefilled = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
n = 0
while True:
    task_id = f"{prefix}-{n}"
    Watchlist(path).add([TaskRecord(id=task_id, added_at=time.time())])
    print("added", task_id, flush=True)
    n += 1
    label = f"{prefix}:{n}"
    batch = sorted(rng.sample(range(prefilled), 200))
    print("updating", label, ",".join(map(str, batch)), flush=True)
    change = lambda r, label=label: replace(
        r, status="processing", label=label, checked_at=time.time()
    )
    Watchlist(path).update({f"pre-{i}": change for i in batch})
    print("updated", label, flush=True)
"""


def prefill(path: Path, count: int = PREFILLED) -> None:
    now = time.time()
    Watchlist(path).add(
        [
            TaskRecord(id=f"pre-{i}", status="queued", added_at=now, label="initial")
            for i in range(count)
        ]
    )


def _collect_lines(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        if line.endswith("\n"):  # a line cut short by the kill was never confirmed
            into.append(line.rstrip("\n"))


def temp_leftovers(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.name.endswith(".tmp"))


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _what_a_save_touches(path: Path) -> tuple[object, ...]:
    """What a save changes, as store.py writes it: an entry appended to `<file>.journal`
    (its size and time), or a compaction: a temp file `.<file>.*.tmp` beside the file, then
    renamed over it, then the journal removed. (The lock file is no sign: readers and
    writers alike take it.)"""
    temps = frozenset(p.name for p in path.parent.iterdir() if p.name.endswith(".tmp"))
    return (_stat(path), _stat(Path(f"{path}.journal")), temps)


def _wait_for_a_save(path: Path, writer: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Return as soon as a save began. A poll a millisecond, not a spin: on a loaded machine
    a spinning parent takes the core the writer needs to get there."""
    before = _what_a_save_touches(path)
    deadline = time.monotonic() + timeout
    while _what_a_save_touches(path) == before:
        assert writer.poll() is None, f"the writer exited ({writer.returncode}) before a save"
        assert time.monotonic() < deadline, f"the writer started no save in {timeout:.0f} s"
        time.sleep(0.001)


def _torn_journal(path: Path) -> bool:
    """Whether the journal ends in bytes after its last whole entry: a kill mid-append."""
    try:
        raw = Path(f"{path}.journal").read_bytes()
    except FileNotFoundError:
        return False
    return read_entries(raw).end < len(raw)


# -- 1. crash safety -------------------------------------------------------------------------


# 25 writers, each reading and rewriting a 1,000-task file (5,000 before issue 24: each
# trial five times as long, the same number of kills inside a save).
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_while_writing_a_1000_task_watchlist_never_loses_a_confirmed_add_or_update(
    tmp_path: Path, child_env: dict[str, str], spawn: Spawn
) -> None:
    path = tmp_path / "watchlist.json"
    prefill(path)
    rng = random.Random(5)
    # What each prefilled task's label must be: the last confirmed update that touched it.
    expected_label = {f"pre-{i}": "initial" for i in range(PREFILLED)}
    confirmed_adds: set[str] = set()
    killed_mid_save = 0
    writes_confirmed = 0

    for trial in range(WRITER_TRIALS):
        before_tmp = temp_leftovers(tmp_path)
        child = spawn(
            [sys.executable, "-c", WRITER, str(path), f"t{trial}", str(trial), str(PREFILLED)],
            env=child_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=_collect_lines, args=(child.stdout, lines), daemon=True)
        reader.start()
        deadline = time.monotonic() + 30
        while not lines and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert lines, f"trial {trial}: the writer never finished a write"
        if trial % 2:
            time.sleep(rng.uniform(0.0, 0.5))  # any moment: reading, changing, saving
        else:
            _wait_for_a_save(path, child)  # aimed: while a save is being written
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        reader.join(timeout=10)
        assert not reader.is_alive()
        assert child.stderr is not None
        stderr = child.stderr.read()
        child.stderr.close()
        assert "Traceback" not in stderr, stderr
        torn = _torn_journal(path)

        # Replay what the child confirmed, and note the one write that may be in flight.
        adds_done = sum(1 for x in lines if x.startswith("added "))
        # Only after a confirmed update is the next write an add.
        in_flight_add = f"t{trial}-{adds_done}" if lines[-1].startswith("updated ") else ""
        in_flight_update: tuple[str, list[str]] | None = None
        trial_adds: set[str] = set()
        for line in lines:
            word, _, rest = line.partition(" ")
            if word == "added":
                trial_adds.add(rest)
                writes_confirmed += 1
            elif word == "updating":
                label, _, batch = rest.partition(" ")
                in_flight_update = (label, [f"pre-{i}" for i in batch.split(",")])
            elif word == "updated":
                assert in_flight_update is not None and in_flight_update[0] == rest
                for task_id in in_flight_update[1]:
                    expected_label[task_id] = rest
                in_flight_update = None
                writes_confirmed += 1

        records = Watchlist(path).load()  # must parse: never a half-written file
        by_id = {r.id: r for r in records}
        assert len(by_id) == len(records), f"trial {trial}: duplicate ids"
        present = {i for i in by_id if i.startswith(f"t{trial}-")}
        missing = trial_adds - present
        assert not missing, f"trial {trial}: confirmed adds lost: {sorted(missing)}"
        assert present - trial_adds <= {in_flight_add}, f"trial {trial}: unknown ids appeared"
        confirmed_adds |= present
        assert len(by_id) == PREFILLED + len(confirmed_adds)

        flying = set(in_flight_update[1]) if in_flight_update else set()
        for task_id, label in expected_label.items():
            got = by_id[task_id].label
            if got != label:
                assert task_id in flying and in_flight_update is not None, (
                    f"trial {trial}: {task_id} has label {got!r}, expected {label!r}"
                )
                assert got == in_flight_update[0]
        # The in-flight write is on disk though the child never confirmed it.
        unconfirmed_on_disk = bool(in_flight_add) and in_flight_add in present
        if in_flight_update is not None:
            # A write is all or nothing: the in-flight batch landed whole or not at all.
            landed = {by_id[t].label == in_flight_update[0] for t in flying}
            assert len(landed) == 1, f"trial {trial}: half of a polling pass was saved"
            if landed == {True}:
                unconfirmed_on_disk = True
                for task_id in flying:
                    expected_label[task_id] = in_flight_update[0]
        # The kill landed inside a save (after its first byte, before the call returned):
        # its temp file left (a compaction), its journal entry torn, or its write on disk.
        killed_mid_save += temp_leftovers(tmp_path) > before_tmp or torn or unconfirmed_on_disk

    assert killed_mid_save >= 3, "too few kills landed inside a save to prove anything"
    print(
        f"\ncrash safety: {WRITER_TRIALS} kill -9 trials on a {PREFILLED}-task watchlist, "
        f"{killed_mid_save} mid-save, {writes_confirmed} confirmed writes, none lost"
    )


def _cli(
    env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "starvideos_tui", *args],
        input=stdin if stdin is not None else "",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_kill_9_of_cli_add_at_a_random_moment_keeps_every_add_that_exited_0(
    tmp_path: Path, child_env: dict[str, str], spawn: Spawn
) -> None:
    path = tmp_path / "watchlist.json"
    prefill(path)
    env = child_env
    started = time.monotonic()
    first = _cli(env, "--db", str(path), "add", "warmup")
    assert first.returncode == 0, first.stderr
    runtime = time.monotonic() - started
    rng = random.Random(11)
    finished: list[list[str]] = []
    killed: list[list[str]] = []
    for trial in range(CLI_KILL_TRIALS):
        ids = [f"k{trial}-{i}" for i in range(3)]
        child = spawn(
            [sys.executable, "-m", "starvideos_tui", "--db", str(path), "add", *ids],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(rng.uniform(0.0, runtime * 1.1))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        assert child.stderr is not None
        child.stderr.close()
        (finished if child.returncode == 0 else killed).append(ids)

        present = {r.id for r in Watchlist(path).load()}  # must parse
        for batch in finished:
            assert set(batch) <= present, f"trial {trial}: an add that exited 0 was lost"
        for batch in killed:
            # One add is one write: all of its ids or none.
            assert set(batch) <= present or not set(batch) & present
        assert {f"pre-{i}" for i in range(PREFILLED)} <= present
    assert killed, "no CLI add was killed mid-run: the trial proves nothing"
    print(f"\nCLI add kill -9: {CLI_KILL_TRIALS} trials, {len(killed)} killed mid-run")


# -- 2. concurrency --------------------------------------------------------------------------


@pytest.mark.slow
def test_two_cli_writers_adding_500_ids_each_at_once_keep_all_1000(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    path = tmp_path / "watchlist.json"
    prefill(path)  # a big file makes each read-change-write long enough to collide
    env = child_env
    spans: dict[str, list[tuple[float, float]]] = {}

    def writer(name: str) -> list[subprocess.CompletedProcess[str]]:
        runs = []
        spans[name] = []
        for batch in range(10):
            ids = "\n".join(f"{name}-{batch}-{i}" for i in range(50))
            start = time.monotonic()
            runs.append(_cli(env, "--db", str(path), "add", "-", stdin=ids + "\n"))
            spans[name].append((start, time.monotonic()))
        return runs

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(writer, ["w1", "w2"]))
    for run in (run for runs in results for run in runs):
        assert run.returncode == 0, run.stderr
        assert run.stdout.count("added ") == 50
    # The two writers really overlapped, or this proves nothing.
    (a_start, _), (_, a_end) = spans["w1"][0], spans["w1"][-1]
    (b_start, _), (_, b_end) = spans["w2"][0], spans["w2"][-1]
    assert max(a_start, b_start) < min(a_end, b_end)

    listed = _cli(env, "--db", str(path), "list", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = [item["id"] for item in json.loads(listed.stdout) if item["id"][0] == "w"]
    expected = {f"{w}-{b}-{i}" for w in ("w1", "w2") for b in range(10) for i in range(50)}
    assert len(ids) == 1000, f"{1000 - len(set(ids) & expected)} of 1000 adds lost"
    assert set(ids) == expected


async def test_cli_add_while_the_tui_polls_and_adds_loses_nothing_and_shows_up_within_an_interval(
    tmp_path: Path, child_env: dict[str, str]
) -> None:
    interval = 3.0
    sim = Simulator(SimConfig(seed=21)).start()
    try:
        rng = random.Random(21)

        def seed(prefix: str, count: int) -> list[str]:
            return [
                sim.seed_task(
                    f"{prefix} {i}",
                    queued=rng.uniform(0, 2),
                    processing=rng.uniform(0, 4),
                    fail=rng.random() < 0.2,
                )
                for i in range(count)
            ]

        watched = seed("watched", 60)
        from_cli = [seed(f"cli batch {b}", 40) for b in range(6)]
        from_dialog = seed("pasted", 40)
        path = tmp_path / "watchlist.json"
        Watchlist(path).add([TaskRecord(id=i, added_at=time.time()) for i in watched])
        app = StarVideosApp(
            watchlist=Watchlist(path),
            client=StarVideosClient(sim.base_url, KEY),
            config=AppConfig(download_dir=tmp_path / "videos", interval=interval, bell=False),
        )
        env = child_env

        def run_cli_batches() -> list[float]:
            ends = []
            for batch in from_cli:
                run = _cli(env, "--db", str(path), "add", "-", stdin="\n".join(batch) + "\n")
                assert run.returncode == 0, run.stderr
                ends.append(time.monotonic())
                time.sleep(0.3)
            return ends

        async with app.run_test(size=(100, 30)) as pilot:
            table = app.query_one(TaskTable)
            cli_done = asyncio.ensure_future(asyncio.to_thread(run_cli_batches))
            # Meanwhile, a paste into the TUI's add dialog.
            await pilot.press("a")
            await pilot.pause()
            assert isinstance(app.screen, AddIdsScreen)
            app.screen.query_one(TextArea).text = ", ".join(from_dialog)
            await pilot.press("ctrl+s")
            ends = await cli_done
            last_cli_exit = ends[-1]

            everything = set(watched) | set(from_dialog) | {i for b in from_cli for i in b}
            while not everything <= set(table.row_ids):
                assert time.monotonic() - last_cli_exit < interval, (
                    "ids added by the CLI did not show up within one interval: "
                    f"{len(everything - set(table.row_ids))} missing"
                )
                await pilot.pause(0.05)
            shown_after = time.monotonic() - last_cli_exit

            # The TUI's polling passes and the CLI's adds all reached the file.
            deadline = time.monotonic() + 30
            while True:
                records = {r.id: r for r in Watchlist(path).load()}
                if set(records) == everything and all(r.is_final for r in records.values()):
                    break
                assert time.monotonic() < deadline, (
                    f"{len(everything - set(records))} ids lost, "
                    f"{sum(not r.is_final for r in records.values())} never polled to the end"
                )
                await pilot.pause(0.2)
            assert len(records) == len(everything) == 340
            print(f"\nTUI + CLI: 340 ids kept; the last CLI add shown after {shown_after:.1f} s")
            assert app.is_running
            app.exit()
            while app.is_running:
                await pilot.pause(0.05)
    finally:
        sim.stop()


# -- 3. damaged files ------------------------------------------------------------------------


def _real_watchlist_bytes(tmp_path: Path) -> bytes:
    scratch = tmp_path / "scratch" / "watchlist.json"
    prefill(scratch, 200)
    return scratch.read_bytes()


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda good: good[: len(good) // 2],
    "empty": lambda good: b"",
    "not-json": lambda good: b"\x89PNG\r\n\x1a\n this is a picture, not a watchlist",
    "wrong-shape": lambda good: json.dumps({"tasks": {"1": ["not", "a", "document"]}}).encode(),
    "future-schema": lambda good: json.dumps(
        {"meta": {"1": {"schema": SCHEMA_VERSION + 1}}, "tasks": {}}
    ).encode(),
}
SURFACES = {
    "list": ["list"],
    "tui": [],  # the bare command: the TUI launch path, no --demo
}


@pytest.mark.parametrize("surface", SURFACES.values(), ids=SURFACES.keys())
@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_damaged_watchlist_is_named_in_one_line_before_any_screen_and_kept_byte_for_byte(
    tmp_path: Path, damage: Callable[[bytes], bytes], surface: list[str], child_env: dict[str, str]
) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    path = folder / "watchlist.json"
    raw = damage(_real_watchlist_bytes(tmp_path))
    path.write_bytes(raw)
    env = child_env
    env["STARVIDEOS_API_KEY"] = KEY
    env["TERM"] = "xterm-256color"

    result = subprocess.run(
        [sys.executable, "-m", "starvideos_tui", "--db", str(path), *surface],
        stdin=subprocess.DEVNULL,  # not a terminal: a TUI that opened would hang or garble
        capture_output=True,
        timeout=30,
        env=env,
        cwd=tmp_path,
    )

    err = result.stderr.decode(errors="replace")
    assert result.returncode == 1, (result.returncode, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert str(path) in lines[0]
    if damage is DAMAGE["future-schema"]:
        assert "newer" in lines[0] and "upgrade" in lines[0]
    else:
        assert "damaged" in lines[0] and "untouched" in lines[0]
    assert b"\x1b" not in result.stdout + result.stderr, "a screen was opened"
    assert path.read_bytes() == raw
    assert sorted(p.name for p in folder.iterdir()) == ["watchlist.json"]
