"""One measurement per process: `python benchmarks/_probes.py PROBE ... --result OUT.json`.

Each probe imports only what its side needs (the baselines never import starvideos_tui),
measures one thing and writes a JSON object to --result. With --profile FILE the measured
section also runs under cProfile and its stats are dumped to FILE (for diagnosis only: the
profiler slows the code down, so those runs are never timed).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SIZE = (120, 40)
# The bare baseline shows the same six columns, at the same widths, as plain strings.
BARE_COLUMNS = (("Status", 17), ("Task", 40), ("Age", 4), ("Len", 4), ("Link", 4), ("Seen", 5))


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM, which exec resets. (ru_maxrss does not: a probe
    would report the benchmark's own peak, the watchlists it wrote, when that is higher.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Section:
    """Times a section; under --profile it is also profiled.

    A --profile path ending in .prof gets cProfile stats; any other path gets pyinstrument's
    text report (a sampling profiler: fairer shares for call-heavy code; pip install it).
    """

    def __init__(self, profile_to: str | None) -> None:
        self.profile_to = profile_to
        self.profiler: Any = None

    @contextmanager
    def measure(self, into: dict[str, float]) -> Iterator[None]:
        self.start()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        try:
            yield
        finally:
            into["cpu_s"] = time.process_time() - cpu0
            into["wall_s"] = time.perf_counter() - wall0
            self.stop()

    def start(self) -> None:
        if not self.profile_to:
            return
        if self.profile_to.endswith(".prof"):
            self.profiler = cProfile.Profile()
            self.profiler.enable()
        else:
            from pyinstrument import Profiler

            # Sample the whole thread, event loop included, not one coroutine.
            self.profiler = Profiler(interval=0.001, async_mode="disabled")
            self.profiler.start()

    def stop(self) -> None:
        if not self.profile_to:
            return
        if isinstance(self.profiler, cProfile.Profile):
            self.profiler.disable()
            self.profiler.dump_stats(self.profile_to)
        else:
            self.profiler.stop()
            report = self.profiler.output_text(unicode=True, show_all=False)
            Path(self.profile_to).write_text(report)


# -- figures 1, 2, 8: first paint, idle CPU, memory -------------------------------------


def bare_app(db: Path) -> Any:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class BareApp(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            for label, width in BARE_COLUMNS:
                table.add_column(label, width=width)
            with open(db, encoding="utf-8") as handle:
                docs = json.load(handle)["tasks"].values()
            table.add_rows(
                (
                    f"● {doc['status']}",
                    f"{doc['id']}  {doc.get('label') or ''}",
                    "3d",
                    f"{doc.get('actual_duration') or 0:g}s",
                    "-",
                    "3d",
                )
                for doc in docs
            )

    return BareApp()


def our_app(db: Path, client: Any = None, interval: float = 30.0) -> Any:
    from starvideos_tui.storage.store import Watchlist
    from starvideos_tui.tui.app import StarVideosApp
    from starvideos_tui.tui.config import AppConfig

    download_dir = Path(tempfile.mkdtemp(prefix="bench-dl-"))
    app = StarVideosApp(
        watchlist=Watchlist(db),
        client=client,
        config=AppConfig(download_dir=download_dir, interval=interval, bell=False),
    )
    # Every task shown (H twice): the fixtures' tasks are old, which the work view hides,
    # and the figures are of the whole watchlist in the table (as before the work view).
    app.shows = "archived"
    return app


def row_count(app: Any) -> int:
    from textual.widgets import DataTable

    from starvideos_tui.tui.widgets.task_table import TaskTable

    tables = app.query(TaskTable)
    count: int = tables.first().row_count if tables else app.query_one(DataTable).row_count
    return count


SCREEN_ROWS = 30  # what a terminal of the benchmark's size shows


async def wait_for_rows(
    app: Any, rows: int, timeout: float = 300.0, at_least: bool = False
) -> None:
    deadline = time.perf_counter() + timeout
    while (row_count(app) < rows) if at_least else (row_count(app) != rows):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{row_count(app)} of {rows} rows after {timeout:.0f} s")
        await asyncio.sleep(0.002)


async def paint_and_idle(args: argparse.Namespace) -> dict[str, Any]:
    """Time from building the app until the table holds every row; then idle CPU."""
    t_import = time.perf_counter()
    if args.impl == "ours":
        import starvideos_tui.tui.app  # noqa: F401
    else:
        import textual.app  # noqa: F401
    out: dict[str, Any] = {"import_s": time.perf_counter() - t_import}
    paint_section = Section(args.profile if args.profile_what == "paint" else None)
    paint_section.start()
    t0 = time.perf_counter()
    app = our_app(args.db) if args.impl == "ours" else bare_app(args.db)
    async with app.run_test(size=SIZE) as pilot:
        # First paint: the first screen of rows drawn (a long watchlist shows its head
        # before the rest is read); then every row.
        await wait_for_rows(app, min(args.rows, SCREEN_ROWS), at_least=True)
        out["paint_s"] = time.perf_counter() - t0
        await wait_for_rows(app, args.rows)
        out["all_rows_s"] = time.perf_counter() - t0
        paint_section.stop()
        await pilot.pause()
        out["settled_s"] = time.perf_counter() - t0
        if args.idle > 0:
            await asyncio.sleep(1.0)  # let start-up work (timers, reflows) finish
            section = Section(args.profile if args.profile_what == "idle" else None)
            window: dict[str, float] = {}
            with section.measure(window):
                await asyncio.sleep(args.idle)
            out["idle_cpu_pct"] = 100 * window["cpu_s"] / window["wall_s"]
        out["rows"] = row_count(app)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# -- figure 9: filter and sort at 50k --------------------------------------------------------


async def filter_sort(args: argparse.Namespace) -> dict[str, Any]:
    """Each keystroke of a filter, clearing it, and each change of the sort, timed from the
    change to the screen drawn with the new rows. (Through the pilot every key costs
    ~0.15 s of the pilot's own waiting, the same for a key bound to nothing.)"""
    from starvideos_tui.tui.widgets.filter_box import FilterBox

    app = our_app(args.db)
    out: dict[str, Any] = {"keystroke_s": [], "sort_s": []}

    async def drawn(change: Any, settled: Any) -> float:
        t0 = time.perf_counter()
        change()
        while not settled():  # the change's message handled, the rows shown
            await asyncio.sleep(0)
        done = asyncio.Event()
        app.call_after_refresh(done.set)
        await done.wait()
        return time.perf_counter() - t0

    async with app.run_test(size=SIZE) as pilot:
        await wait_for_rows(app, args.rows)
        await pilot.pause()
        await asyncio.sleep(1.0)
        await pilot.press("slash")
        box = app.query_one(FilterBox)
        for end in range(1, len(args.filter) + 1):
            typed = args.filter[:end]
            setter = lambda typed=typed: setattr(box, "value", typed)  # noqa: E731
            out["keystroke_s"].append(
                await drawn(setter, lambda t=typed: app.filter_text == t.strip())
            )
        out["filtered_rows"] = row_count(app)
        await pilot.press("enter")  # back to the table, the filter kept
        out["clear_s"] = await drawn(app.action_close, lambda: row_count(app) == args.rows)
        out["cleared_rows"] = row_count(app)
        for _ in range(3):  # added -> status -> age -> id
            before = app.sort_mode
            out["sort_s"].append(await drawn(app.action_sort, lambda b=before: app.sort_mode != b))
    return out


# -- figure 3: CPU while 1,000 processing tasks are polled ------------------------------


def bytes_written() -> int:
    """What this process has written towards the disk so far (/proc/self/io)."""
    with open("/proc/self/io") as handle:
        for line in handle:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


async def polling_cpu(args: argparse.Namespace) -> dict[str, Any]:
    from starvideos_tui.api.client import StarVideosClient

    client = StarVideosClient(args.base_url, "k")
    asked = 0
    get_result = client.get_result

    async def counted(task_id: str) -> Any:
        nonlocal asked
        asked += 1
        return await get_result(task_id)

    client.get_result = counted  # type: ignore[method-assign]
    app = our_app(args.db, client=client, interval=30.0)
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE):
        await wait_for_rows(app, args.rows)
        section = Section(args.profile)
        window: dict[str, float] = {}
        written = bytes_written()
        with section.measure(window):
            await asyncio.sleep(args.seconds)
        out["written_bytes"] = bytes_written() - written
        out["cpu_pct"] = 100 * window["cpu_s"] / window["wall_s"]
        out["polls"] = asked
        out["api_state"] = app.api_state
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# -- figure 4: one polling pass ------------------------------------------------------------


async def poll_pass(args: argparse.Namespace) -> dict[str, Any]:
    ids = json.loads(Path(args.ids).read_text())
    out: dict[str, Any] = {"tasks": len(ids), "concurrency": args.concurrency}
    section = Section(args.profile)
    timing: dict[str, float] = {}
    if args.impl == "ours":
        from starvideos_tui.api.client import StarVideosClient
        from starvideos_tui.engine.monitor import Monitor
        from starvideos_tui.storage.store import Watchlist

        async with StarVideosClient(args.base_url, "k") as client:
            monitor = Monitor(
                Watchlist(args.db),
                client,
                emit=lambda _event: None,
                download_dir=Path(tempfile.mkdtemp(prefix="bench-dl-")),
                concurrency=args.concurrency,
            )
            await monitor.start()
            with section.measure(timing):
                ended = await monitor.run_pass(ids)
            await monitor.close()
        out["answered"] = ended.asked - ended.problems
    elif args.impl == "workers":
        import httpx

        answered = 0
        queue = list(reversed(ids))
        async with httpx.AsyncClient(headers={"Authorization": "Bearer k"}) as http:

            async def worker() -> None:
                nonlocal answered
                while queue:
                    task_id = queue.pop()
                    response = await http.get(f"{args.base_url}/v1/result/{task_id}")
                    if response.status_code == 200 and response.json()["id"] == task_id:
                        answered += 1

            with section.measure(timing):
                await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        out["answered"] = answered
    else:
        import httpx

        answered = 0
        limit = asyncio.Semaphore(args.concurrency)
        async with httpx.AsyncClient(headers={"Authorization": "Bearer k"}) as http:

            async def get(task_id: str) -> None:
                nonlocal answered
                async with limit:
                    response = await http.get(f"{args.base_url}/v1/result/{task_id}")
                    if response.status_code == 200 and response.json()["id"] == task_id:
                        answered += 1

            with section.measure(timing):
                await asyncio.gather(*(get(i) for i in ids))
        out["answered"] = answered
    out["pass_s"] = timing["wall_s"]
    out["pass_cpu_s"] = timing["cpu_s"]
    return out


# -- figure 5: persisting one pass ----------------------------------------------------------


class WriteCounter:
    """Counts, through audit events, files opened for writing and renamed in `folder`.

    Lock files are not counted: they hold no data.
    """

    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def __init__(self, folder: Path) -> None:
        self.folder = str(folder.resolve())
        self.opened = 0
        self.renamed = 0
        self.active = False
        sys.addaudithook(self.hook)

    def _mine(self, path: object) -> bool:
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not isinstance(path, str) or path.endswith(".lock"):
            return False
        return os.path.dirname(os.path.abspath(path)) == self.folder

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        if event == "open":
            path, mode, flags = args
            writing = (mode is not None and any(c in mode for c in "wax+")) or (
                mode is None and isinstance(flags, int) and flags & self.WRITE_FLAGS
            )
            if writing and self._mine(path):
                self.opened += 1
        elif event == "os.rename" and self._mine(args[1]):
            self.renamed += 1


def persist(args: argparse.Namespace) -> dict[str, Any]:
    db = Path(args.db)
    out: dict[str, Any] = {}
    # The copy of the watchlist made for this run is still dirty in the page cache; on
    # ext4 an fsync can wait for other files' dirty data, which would bill the copy of a
    # big file to the pass being measured.
    os.sync()
    timing: dict[str, float] = {}
    section = Section(args.profile)
    if args.impl == "ours":
        from dataclasses import replace

        import filelock  # noqa: F401  (imported on a watchlist's first write: not the flush's cost)

        from starvideos_tui.storage.store import Watchlist

        watchlist = Watchlist(db)
        now = time.time()
        records = watchlist.load()
        os.sync()
        if args.changed:  # a pass over the few running tasks of a long history
            records = records[-args.changed :]
        changes = {r.id: (lambda r: replace(r, checked_at=now)) for r in records}
        journal_file = Path(f"{db}.journal")
        before = journal_file.stat().st_size if journal_file.exists() else 0
        counter = WriteCounter(db.parent)
        counter.active = True
        cpu = time.process_time()
        with section.measure(timing):
            updated = watchlist.update(changes)
        out["persist_cpu_s"] = time.process_time() - cpu
        counter.active = False
        after = journal_file.stat().st_size if journal_file.exists() else 0
        docs = sum(len(json.dumps(r.to_doc(), ensure_ascii=False)) for r in updated.values())
        out.update(
            files_written=counter.opened,
            replaces=counter.renamed,
            tasks=len(updated),
            bytes_written=after - before if after >= before else db.stat().st_size,
            changed_doc_bytes=docs,
        )
    elif args.impl == "sqlite":
        import sqlite3

        with open(db, encoding="utf-8") as handle:
            data = json.load(handle)
        target = db.with_name("baseline.sqlite")
        con = sqlite3.connect(target)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.execute("CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY, doc TEXT)")
        with con:
            con.executemany(
                "INSERT OR REPLACE INTO tasks VALUES (?, ?)",
                ((d["id"], json.dumps(d)) for d in data["tasks"].values()),
            )
        changed = list(data["tasks"].values())[-(args.changed or len(data["tasks"])) :]
        with section.measure(timing), con:
            con.executemany(
                "UPDATE tasks SET doc = ? WHERE id = ?",
                ((json.dumps({**d, "checked_at": time.time()}), d["id"]) for d in changed),
            )
        con.close()
        out["tasks"] = len(changed)
    else:
        with open(db, encoding="utf-8") as handle:
            data = json.load(handle)
        target = db.with_name("baseline.json")
        with section.measure(timing), open(target, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        # A stricter reference: the C encoder in one shot (json.dump streams through the
        # pure-Python encoder), as the store itself does.
        t0 = time.perf_counter()
        with open(target, "wb") as handle:
            handle.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())
            handle.flush()
            os.fsync(handle.fileno())
        out["dumps_s"] = time.perf_counter() - t0
        out["tasks"] = len(data["tasks"])
    out["persist_s"] = timing["wall_s"]
    return out


# -------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "probe", choices=["paint", "polling-cpu", "poll-pass", "persist", "filter-sort"]
    )
    parser.add_argument("--impl", choices=["ours", "baseline", "workers", "sqlite"], default="ours")
    parser.add_argument("--changed", type=int, default=0, help="persist: tasks changed (0: all)")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--idle", type=float, default=0.0, help="seconds of idle to measure")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--base-url")
    parser.add_argument("--ids", help="JSON file with the task ids")
    parser.add_argument("--filter", default="take 4242", help="filter-sort: the keys typed")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--result", required=True)
    parser.add_argument("--profile", help="dump cProfile stats of the measured section here")
    parser.add_argument("--profile-what", choices=["paint", "idle"], default="paint")
    args = parser.parse_args()
    if args.probe == "paint":
        result = asyncio.run(paint_and_idle(args))
    elif args.probe == "polling-cpu":
        result = asyncio.run(polling_cpu(args))
    elif args.probe == "filter-sort":
        result = asyncio.run(filter_sort(args))
    elif args.probe == "poll-pass":
        result = asyncio.run(poll_pass(args))
    else:
        result = persist(args)
    Path(args.result).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
