"""The TUI's engine when another process folds the watchlist's journal (issue #25):
`python benchmarks/bench_fold.py [--watchlist FILE] [--changes N]`.

A `Monitor` as the TUI makes it (no API client: nothing is polled) reads a copy of the
watchlist (default: the 50,000-task year `/tmp/y50b.json`, copied, never written) and
holds its records. Then another process, the installed CLI as a user runs it, changes
`--changes` tasks (`rate ID 3`: a journal entry each) and folds the journal into a new
base at its clean exit. The Monitor then notices (`changed_since_load`) and reloads, as
its loop does. Printed: the RSS (VmRSS) before and after, the time of the reload, how many
documents the reload parsed, and how many of the held records are still the same objects.
Then the same with a base replaced by a hand edit (one prompt changed, its meta kept), and
one entry of another process that changes thousands of tasks (watch's first pass).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from starvideos_tui.engine.events import Event, TasksChanged
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.storage.store import Watchlist


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


WRITER = """
import sys
from dataclasses import replace
from starvideos_tui.storage.store import Watchlist
watchlist = Watchlist(sys.argv[1])
ids = sys.argv[2:]
watchlist.update({ids[0]: lambda r: replace(r, rating=2)})
print("ready", flush=True)
sys.stdin.readline()
watchlist.update(dict.fromkeys(ids, lambda r: replace(r, rating=4)))
watchlist.close()
"""


EXPIRE = """
import sys, time
from dataclasses import replace
from starvideos_tui.storage.store import Watchlist
watchlist = Watchlist(sys.argv[1])
now = time.time()
expired = [r.id for r in watchlist.load() if r.status == "completed" and not r.local_path]
change = lambda r: replace(r, download_error="the link has expired", checked_at=now)
watchlist.update(dict.fromkeys(expired, change))
watchlist.leave_journal()
"""


EDIT = """
import json, os, sys
from pathlib import Path
db, task_id = Path(sys.argv[1]), sys.argv[2]
lines = db.read_bytes().split(b"\\n")
for n, line in enumerate(lines):
    if f'"id":"{task_id}"'.encode() in line:
        key, _, rest = line.partition(b":")
        comma = rest.endswith(b",")
        doc = json.loads(rest[:-1] if comma else rest)
        doc["prompt"] = "edited by hand"
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        lines[n] = key + b":" + text.encode() + (b"," if comma else b"")
tmp = db.with_suffix(".edit")
tmp.write_bytes(b"\\n".join(lines))
os.replace(tmp, db)
"""


def cli(db: Path, *args: str) -> None:
    command = [sys.executable, "-m", "starvideos_tui", "--db", str(db), *args]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=120)


async def reload(monitor: Monitor, events: list[Event]) -> dict[str, float]:
    held = dict(monitor.records)
    parsed = monitor.store.sync.files.parsed
    events.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    assert await monitor.store.changed_since_load()
    await monitor.reload()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    del events[:-1]
    same = sum(1 for i, r in monitor.records.items() if held.get(i) is r)
    changed = [e for e in events if isinstance(e, TasksChanged)]
    del held
    gc.collect()
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "parsed": monitor.store.sync.files.parsed - parsed,
        "same_objects": same,
        "tasks": len(monitor.records),
        "everything": float(bool(changed and changed[-1].everything)),
        "rss_mb": rss_mb(),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watchlist", type=Path, default=Path("/tmp/y50b.json"))
    parser.add_argument("--changes", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fold-") as folder:
        db = Path(folder) / "watchlist.json"
        shutil.copyfile(args.watchlist, db)
        if Path(f"{args.watchlist}.journal").exists():
            shutil.copyfile(f"{args.watchlist}.journal", f"{db}.journal")
        events: list[Event] = []
        monitor = Monitor(Watchlist(db), None, emit=events.append, download_dir=Path(folder))
        await monitor.start()
        gc.collect()
        before = rss_mb()
        print(f"tasks {len(monitor.records)}; RSS after the first read {before:.0f} MB")
        ids = list(monitor.records)[: args.changes]
        # Like `watch`: an entry the Monitor reads, the last ones written just before the
        # fold at its exit (not read before the fold).
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(db), *ids],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None and writer.stdin is not None
        assert writer.stdout.readline() == "ready\n"
        seen = await reload(monitor, events)
        print("another process's entry:", {k: round(v, 3) for k, v in seen.items()})
        writer.stdin.write("go\n")
        writer.stdin.close()
        assert writer.wait(120) == 0
        assert not Path(f"{db}.journal").exists(), "the writer folded its journal at its exit"
        after = await reload(monitor, events)
        print("its last entries and its fold:", {k: round(v, 3) for k, v in after.items()})
        assert all(monitor.records[i].rating == 4 for i in ids)
        cli(db, "rate", *ids, "3")  # a journal begun and folded between two looks
        after = await reload(monitor, events)
        print("a CLI's write and fold unseen:", {k: round(v, 3) for k, v in after.items()})
        assert all(monitor.records[i].rating == 3 for i in ids)
        # A hand edit keeping the layout and the meta line: one prompt changed.
        old = monitor.records[ids[-1]].prompt or ""
        # (in a child: the edit's 55 MB of lines are not this process's memory)
        subprocess.run([sys.executable, "-c", EDIT, str(db), ids[-1]], check=True, timeout=120)
        edit = await reload(monitor, events)
        print("a hand edit of the base:", {k: round(v, 3) for k, v in edit.items()})
        assert monitor.records[ids[-1]].prompt == "edited by hand" != old
        # Like watch's first pass on a year: every completed task never saved is told its
        # link expired, in one entry (12,552 documents at 50k; not folded).
        subprocess.run([sys.executable, "-c", EXPIRE, str(db)], check=True, timeout=120)
        big = await reload(monitor, events)
        print("one entry of thousands of tasks:", {k: round(v, 3) for k, v in big.items()})
        await monitor.close(fold=False)


if __name__ == "__main__":
    asyncio.run(main())
