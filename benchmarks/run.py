"""Every figure of issue 6 beside its baseline, measured in the same run: one command.

    python benchmarks/run.py [--quick] [--runs N] [--skip-download] [--out FILE]

Each measurement runs in a fresh Python process (`_probes.py`) so imports and caches never
leak from one run into the next; ours and the baseline alternate, and the table shows the
median of the runs and the median of the per-run ratios. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _fixtures import (
    simulator_process,
    write_completed_watchlist,
    write_history_watchlist,
    write_unfinished_watchlist,
    write_year_watchlist,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PROBES = HERE / "_probes.py"
OUTSIDE = HERE / "_outside.py"
DOWNLOAD_SCRIPT = HERE / "bench_download.py"
DOWNLOAD_RESULTS = HERE / "results-download.txt"


@dataclass
class Row:
    figure: str
    ours: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"


@dataclass
class Plan:
    """What a full or a quick run measures."""

    runs: int
    paint_runs: int  # first paint is ~70 ms: more runs for a steadier median
    paint_sizes: tuple[int, ...]
    idle_size: int
    idle_seconds: float
    polling_tasks: int
    polling_seconds: float
    pass_tasks: int
    persist_sizes: tuple[int, ...]
    list_size: int
    list_runs: int
    download_mib: int
    download_runs: int
    history_size: int  # finished tasks behind the few running ones (figure 3c)
    history_running: int
    view_size: int  # rows filtered and sorted (figure 9)
    outside_sizes: tuple[int, ...]  # a year of history, measured from outside (1d, 6b, 8c)
    outside_runs: int
    outside_rss_after: float  # seconds from the command to the RSS read


def plan_for(quick: bool, runs: int | None) -> Plan:
    if quick:
        return Plan(
            runs=runs or 2,
            paint_runs=runs or 2,
            paint_sizes=(1000,),
            idle_size=1000,
            idle_seconds=3.0,
            polling_tasks=1000,
            polling_seconds=20.0,
            pass_tasks=500,
            persist_sizes=(1000, 10_000),
            list_size=1000,
            list_runs=max(5, 3 * (runs or 2)),
            download_mib=64,
            download_runs=1,
            history_size=2000,
            history_running=20,
            view_size=1000,
            outside_sizes=(1000, 10_000),
            outside_runs=runs or 2,
            outside_rss_after=10.0,
        )
    return Plan(
        runs=runs or 3,
        paint_runs=runs or 5,
        paint_sizes=(1000, 10_000, 20_000, 50_000, 100_000),
        idle_size=20_000,
        idle_seconds=10.0,
        polling_tasks=1000,
        polling_seconds=60.0,
        pass_tasks=2000,
        persist_sizes=(1000, 10_000, 50_000),
        list_size=1000,
        list_runs=max(10, 5 * (runs or 3)),
        download_mib=512,
        download_runs=5,
        history_size=20_000,
        history_running=20,
        view_size=50_000,
        outside_sizes=(1000, 10_000, 50_000),
        outside_runs=runs or 5,
        outside_rss_after=30.0,
    )


# -- running things ------------------------------------------------------------------------


class ProbeFailed(Exception):
    pass


class Bench:
    def __init__(self, work: Path, plan: Plan) -> None:
        self.work = work
        self.plan = plan
        # The app's own files (logs, config) go to a throw-away home, not the user's.
        self.env = {**os.environ, "STARVIDEOS_HOME": str(work / "home")}
        self._results = 0
        self._watchlists: dict[int, Path] = {}

    def probe(self, name: str, *args: object, timeout: float = 600) -> dict[str, Any]:
        self._results += 1
        result = self.work / f"result-{self._results}.json"
        command = [sys.executable, str(PROBES), name, *map(str, args), "--result", str(result)]
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0 or not result.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ProbeFailed(f"{name} exited {done.returncode}: {tail[0][:200]}")
        answer: dict[str, Any] = json.loads(result.read_text())
        return answer

    def outside(self, *args: object, timeout: float = 300) -> dict[str, Any]:
        """One whole-process measurement by _outside.py (a fresh process: tmux, list...)."""
        command = [sys.executable, str(OUTSIDE), *map(str, args)]
        done = subprocess.run(
            command, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ProbeFailed(f"{args[0]} exited {done.returncode}: {tail[0][:200]}")
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    def year(self, size: int) -> Path:
        """A year of history of `size` tasks (issue 25's mix), written once."""
        path = self.work / f"year-{size}" / "watchlist.json"
        if not path.exists():
            write_year_watchlist(path, size)
        return path

    def watchlist(self, size: int) -> Path:
        """A watchlist of `size` completed tasks, written once; callers copy it to change it."""
        if size not in self._watchlists:
            self._watchlists[size] = write_completed_watchlist(
                self.work / f"final-{size}.json", size
            )
        return self._watchlists[size]

    def copy_of(self, source: Path, name: str) -> Path:
        folder = self.work / name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return Path(shutil.copy(source, folder / "watchlist.json"))

    def pairs(
        self, measure: Callable[[str], float], runs: int | None = None
    ) -> tuple[list[float], list[float]]:
        """Alternate ours and the baseline (ABBA...) so slow drift hits both alike."""
        ours: list[float] = []
        base: list[float] = []
        for i in range(runs or self.plan.runs):
            for impl in ("ours", "baseline") if i % 2 == 0 else ("baseline", "ours"):
                (ours if impl == "ours" else base).append(measure(impl))
        return ours, base


def median(values: list[float]) -> float:
    return statistics.median(values)


def paired_ratio(ours: list[float], base: list[float]) -> float:
    return median([o / b for o, b in zip(ours, base, strict=True)])


def seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def ratio_row(
    figure: str,
    ours: list[float],
    base: list[float],
    limit: float | None,
    unit: Callable[[float], str] = seconds,
) -> Row:
    ratio = paired_ratio(ours, base)
    return Row(
        figure,
        unit(median(ours)),
        unit(median(base)),
        f"{ratio:.2f}×",
        f"≤ {limit:g}×" if limit else "— (growth)",
        ("yes" if ratio <= limit else "**no**") if limit else "—",
    )


def size_name(size: int) -> str:
    return f"{size // 1000}k" if size % 1000 == 0 else str(size)


# -- the figures ----------------------------------------------------------------------------


def first_paint_idle_memory(bench: Bench) -> Iterator[Row]:
    """Figures 1, 2 and 8: the same processes give the paint time, idle CPU and peak RSS."""
    plan = bench.plan
    at_idle: dict[str, list[dict[str, Any]]] = {"ours": [], "baseline": []}
    imports: dict[str, list[float]] = {"ours": [], "baseline": []}
    rss_by_size: dict[int, list[float]] = {}
    bare_rss_by_size: dict[int, list[float]] = {}
    paint_by_size: dict[int, list[float]] = {}
    all_rows: dict[int, list[float]] = {}
    for size in plan.paint_sizes:
        db = bench.watchlist(size)
        idle = plan.idle_seconds if size == plan.idle_size else 0

        def measure(impl: str, db: Path = db, size: int = size, idle: float = idle) -> float:
            result = bench.probe(
                "paint", "--impl", impl, "--db", db, "--rows", size, "--idle", idle
            )
            imports[impl].append(result["import_s"])
            if impl == "ours":
                rss_by_size.setdefault(size, []).append(result["peak_rss_mb"])
                all_rows.setdefault(size, []).append(result["all_rows_s"])
            else:
                bare_rss_by_size.setdefault(size, []).append(result["peak_rss_mb"])
            if idle:
                at_idle[impl].append(result)
            paint_s: float = result["paint_s"]
            return paint_s

        ours, base = bench.pairs(measure, plan.paint_runs)
        paint_by_size[size] = ours
        yield ratio_row(
            f"1. first paint, {size_name(size)} tasks (the first screen of rows; baseline: a "
            f"bare DataTable, all rows; ours with every row: {seconds(median(all_rows[size]))})",
            ours,
            base,
            1.3 if size == 10_000 else None,
        )
    if len(paint_by_size) > 1:
        small, large = min(paint_by_size), max(paint_by_size)
        fifty = 50_000 if 50_000 in paint_by_size else large
        growth = median(paint_by_size[fifty]) / median(paint_by_size[small])
        yield Row(
            f"1c. first paint growth {size_name(small)} → {size_name(fifty)}; "
            f"{size_name(large)} under 1 s",
            f"{growth:.2f}×; {seconds(median(paint_by_size[large]))}",
            target="≤ 1.5×; < 1 s",
            met="yes" if growth <= 1.5 and median(paint_by_size[large]) < 1 else "**no**",
        )
    yield Row(
        "1b. importing the app before that (not in figure 1; information)",
        seconds(median(imports["ours"])),
        seconds(median(imports["baseline"])),
        f"{median(imports['ours']) / median(imports['baseline']):.2f}×",
    )
    if plan.idle_size in plan.paint_sizes:
        n = size_name(plan.idle_size)
        cpu = median([r["idle_cpu_pct"] for r in at_idle["ours"]])
        bare = median([r["idle_cpu_pct"] for r in at_idle["baseline"]])
        yield Row(
            f"2. idle CPU, {n} final tasks, {plan.idle_seconds:g} s after first paint",
            f"{cpu:.2f} % of a core",
            f"bare app {bare:.2f} %",
            target="< 0.5 %",
            met="yes" if cpu < 0.5 else "**no**",
        )
    at = 50_000 if 50_000 in rss_by_size else max(rss_by_size)
    rss = median(rss_by_size[at])
    yield Row(
        f"8. memory, {size_name(at)} tasks in the TUI (peak RSS, every row shown)",
        f"{rss:.0f} MB",
        f"bare DataTable {median(bare_rss_by_size[at]):.0f} MB",
        target="< 200 MB",
        met="yes" if rss < 200 else "**no**",
    )
    by_size = ", ".join(f"{size_name(n)}: {median(mb):.0f} MB" for n, mb in rss_by_size.items())
    yield Row("8b. peak RSS of ours by size, after first paint (information)", by_size)


def polling_cpu(bench: Bench) -> Iterator[Row]:
    plan = bench.plan
    with simulator_process(plan.polling_tasks) as sim:
        db = write_unfinished_watchlist(bench.work / "processing.json", sim["ids"])
        result = polling_probe(bench, db, plan.polling_tasks, sim["base_url"])
    cpu = result["cpu_pct"]
    yield Row(
        f"3. CPU, {plan.polling_tasks} processing tasks, 30 s interval, "
        f"{plan.polling_seconds:g} s from first paint ({result['polls']} polls)",
        f"{cpu:.2f} % of a core",
        target="< 3 %",
        met="yes" if cpu < 3 else "**no**",
    )
    running, finished = plan.history_running, plan.history_size
    with simulator_process(running) as sim:
        db = write_history_watchlist(bench.work / "history" / "w.json", finished, sim["ids"])
        result = polling_probe(bench, db, finished + running, sim["base_url"])
    cpu = result["cpu_pct"]
    per_minute = result["written_bytes"] * 60 / plan.polling_seconds
    yield Row(
        f"3c. {running} processing among {size_name(finished)} finished, 30 s interval, "
        f"{plan.polling_seconds:g} s ({result['polls']} polls): CPU; bytes written per minute "
        "(/proc/self/io)",
        f"{cpu:.2f} % of a core; {per_minute / 1024:.0f} KiB/min",
        target="< 1 %; < 1 MiB/min",
        met="yes" if cpu < 1 and per_minute < 1 << 20 else "**no**",
    )


def polling_probe(bench: Bench, db: Path, rows: int, base_url: str) -> dict[str, Any]:
    plan = bench.plan
    result = bench.probe(
        "polling-cpu",
        "--db",
        db,
        "--rows",
        rows,
        "--seconds",
        plan.polling_seconds,
        "--base-url",
        base_url,
        timeout=plan.polling_seconds + 300,
    )
    if result["api_state"] != "API ok":
        raise ProbeFailed(f"the app did not poll the simulator: {result['api_state']}")
    return result


def filter_sort(bench: Bench) -> Iterator[Row]:
    """Issue 13's figure: a filter typed at 50k rows, cleared, and the sort changed, each
    timed from the change to the frame drawn with the new rows."""
    plan = bench.plan
    db = bench.watchlist(plan.view_size)
    keys: list[float] = []
    clears: list[float] = []
    sorts: list[float] = []
    typed = f"take {plan.view_size // 12}"  # 11 rows at any size: 4166 and 41660-41669
    for _ in range(plan.runs):
        result = bench.probe("filter-sort", "--db", db, "--rows", plan.view_size, "--filter", typed)
        if result["cleared_rows"] != plan.view_size or not result["filtered_rows"]:
            raise ProbeFailed(f"filter-sort: {result}")
        keys += result["keystroke_s"]
        clears.append(result["clear_s"])
        sorts += result["sort_s"]
    n = size_name(plan.view_size)
    yield Row(
        f"9. filter keystroke at {n} rows ('{typed}' typed, {len(keys)} keys): median; worst",
        f"{seconds(median(keys))}; {seconds(max(keys))}",
        target="< 50 ms",
        met="yes" if median(keys) < 0.05 else "**no**",
    )
    yield Row(
        f"9b. clearing that filter (esc) at {n} rows, {len(clears)} runs: median; worst",
        f"{seconds(median(clears))}; {seconds(max(clears))}",
        target="< 50 ms",
        met="yes" if median(clears) < 0.05 else "**no**",
    )
    yield Row(
        f"9c. changing the sort (s) at {n} rows, {len(sorts)} changes: median; worst",
        f"{seconds(median(sorts))}; {seconds(max(sorts))}",
        target="< 200 ms",
        met="yes" if median(sorts) < 0.2 else "**no**",
    )


def polling_pass(bench: Bench) -> Iterator[Row]:
    plan = bench.plan
    with simulator_process(plan.pass_tasks) as sim:
        ids = bench.work / "pass-ids.json"
        ids.write_text(json.dumps(sim["ids"]))
        source = write_unfinished_watchlist(bench.work / "pass.json", sim["ids"])
        common = ("--base-url", sim["base_url"], "--ids", ids)

        def measure(impl: str) -> float:
            db = bench.copy_of(source, "pass")
            result = bench.probe("poll-pass", "--impl", impl, "--db", db, *common)
            if result["answered"] != plan.pass_tasks:
                raise ProbeFailed(f"{impl}: {result['answered']} of {plan.pass_tasks} answered")
            pass_s: float = result["pass_s"]
            return pass_s

        ours, base = bench.pairs(measure)
        # A stricter reference: 8 workers draining one list need no task per request.
        workers = [
            bench.probe("poll-pass", "--impl", "workers", *common)["pass_s"]
            for _ in range(plan.runs)
        ]
    n = size_name(plan.pass_tasks)
    yield ratio_row(
        f"4. one polling pass, {n} unfinished tasks, concurrency 8 "
        "(baseline: httpx + Semaphore, json-parse)",
        ours,
        base,
        1.2,
    )
    yield Row(
        "4b. same pass vs 8 httpx worker coroutines (information)",
        seconds(median(ours)),
        seconds(median(workers)),
        f"{median(ours) / median(workers):.2f}×",
    )


CHANGED_PER_PASS = 20


def persisting(bench: Bench) -> Iterator[Row]:
    """Issue 13's figure: one pass that changed 20 tasks, persisted, as the history grows;
    SQLite in WAL mode doing the same 20 updates is the storage anchor."""
    plan = bench.plan
    by_size: dict[int, list[float]] = {}
    written: list[tuple[int, int]] = []  # (bytes written, bytes of the changed documents)
    replaces: list[int] = []
    cpu: dict[int, list[float]] = {}  # CPU seconds of our flush, by size
    for size in plan.persist_sizes:
        source = bench.watchlist(size)

        def measure(impl: str, source: Path = source, size: int = size) -> float:
            result = bench.probe(
                "persist",
                "--impl",
                "ours" if impl == "ours" else "sqlite",
                "--changed",
                str(CHANGED_PER_PASS),
                "--db",
                bench.copy_of(source, "p"),
            )
            if impl == "ours":
                written.append((result["bytes_written"], result["changed_doc_bytes"]))
                replaces.append(result["replaces"])
                cpu.setdefault(size, []).append(float(result["persist_cpu_s"]))
            return float(result["persist_s"])

        ours, base = bench.pairs(measure)
        by_size[size] = ours
        yield ratio_row(
            f"5. persist a pass of {CHANGED_PER_PASS} changed tasks among {size_name(size)} "
            "(baseline: SQLite WAL, synchronous=FULL, the same 20 updates)",
            ours,
            base,
            None,
        )
    sizes = sorted(by_size)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        growth = median(by_size[large]) / median(by_size[small])
        yield Row(
            f"5b. growth of that pass, {size_name(small)} → {size_name(large)} tasks",
            seconds(median(by_size[large])),
            seconds(median(by_size[small])),
            f"{growth:.2f}×",
            target="≤ 1.5×",
            met="yes" if growth <= 1.5 else "**no**",
        )
    largest = max(cpu)
    flush_cpu = median(cpu[largest])
    yield Row(
        f"5d. CPU of that flush at {size_name(largest)} tasks (one TinyDB update, its "
        "journal entry, the fsync's syscall)",
        seconds(flush_cpu),
        "—",
        "—",
        target="≤ 40 ms",
        met="yes" if flush_cpu <= 0.040 else "**no**",
    )
    worst = max(w / max(1, d) for w, d in written)
    yield Row(
        "5c. bytes written per pass / bytes of the changed documents' JSON",
        f"{max(w for w, _ in written):,} B",
        f"{max(d for _, d in written):,} B",
        f"{worst:.2f}×",
        target="≤ 2× (+ framing)",
        met="yes" if worst <= 2.0 and not any(replaces) else "**no**",
    )


def list_startup(bench: Bench) -> Iterator[Row]:
    plan = bench.plan
    db = bench.watchlist(plan.list_size)
    ours_cmd = [sys.executable, "-m", "starvideos_tui", "--db", str(db), "list"]
    base_cmd = [sys.executable, "-c", f"import httpx, json; json.load(open({str(db)!r}))"]

    def timed(command: list[str]) -> float:
        start = time.perf_counter()
        subprocess.run(
            command, env=bench.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True
        )
        return time.perf_counter() - start

    timed(ours_cmd)  # warm the page cache and .pyc files for both
    timed(base_cmd)
    ours: list[float] = []
    base: list[float] = []
    for i in range(plan.list_runs):
        first, second = (ours_cmd, base_cmd) if i % 2 == 0 else (base_cmd, ours_cmd)
        a, b = timed(first), timed(second)
        ours.append(a if first is ours_cmd else b)
        base.append(b if first is ours_cmd else a)
    yield ratio_row(
        f"6. `starvideos-tui list` start-up, {size_name(plan.list_size)} tasks "
        f"({plan.list_runs} runs; baseline: python -c 'import httpx, json' + json.load)",
        ours,
        base,
        1.5,
    )


def outside(bench: Bench) -> Iterator[Row]:
    """Issue 25's whole-process figures on a year of history (31,563 saved, 12,552 unsaved,
    5,865 failed, 20 running, in proportion at each size), measured from outside: the TUI
    in a private tmux server at 120x40 from the command to a row on the pane; its RSS and
    watch's some seconds on; list and list --json as processes (wall time, peak RSS)."""
    plan = bench.plan
    sizes = plan.outside_sizes
    first: dict[int, list[float]] = {size: [] for size in sizes}
    for i in range(plan.outside_runs):  # sizes alternate, so drift hits them alike
        for size in sizes if i % 2 == 0 else tuple(reversed(sizes)):
            first[size].append(bench.outside("tui", "--db", bench.year(size))["first_rows_s"])
    small, large = min(sizes), max(sizes)
    for size in sizes:
        ratio = paired_ratio(first[size], first[small])
        yield Row(
            f"1d. from the command to the first rows, TUI at 120x40 in tmux, "
            f"{size_name(size)} tasks of a year's history ({plan.outside_runs} runs; "
            f"ratio to {size_name(small)})",
            seconds(median(first[size])),
            f"{size_name(small)}: {seconds(median(first[small]))}",
            f"{ratio:.2f}×",
            "≤ 1.3×; < 0.8 s" if size == large else "—",
            ("yes" if ratio <= 1.3 and median(first[size]) < 0.8 else "**no**")
            if size == large
            else "—",
        )
    db = bench.year(large)
    after = plan.outside_rss_after
    tui = bench.outside("tui", "--db", db, "--rss-after", after)["rss_mb"]
    watching = bench.outside("watch", "--db", db, "--rss-after", after)["rss_mb"]
    yield Row(
        f"8c. RSS {after:g} s after the command, {size_name(large)} tasks of a year: the TUI; "
        "watch",
        f"{tui:.0f} MB; watch {watching:.0f} MB",
        target="< 150 MB (TUI)",
        met="yes" if tui < 150 else "**no**",
    )
    for as_json in (True, False):
        runs = [
            bench.outside("list", "--db", db, *(["--json"] if as_json else []))
            for _ in range(plan.outside_runs)
        ]
        wall = median([r["wall_s"] for r in runs])
        cpu = median([r["cpu_s"] for r in runs])
        peak = median([r["peak_rss_mb"] for r in runs])
        name = "list --json" if as_json else "list"
        target = "< 1.2 s; < 100 MB" if as_json else "—"
        met = ("yes" if wall < 1.2 and peak < 100 else "**no**") if as_json else "—"
        yield Row(
            f"6{'b' if as_json else 'c'}. `{name} > /dev/null`, {size_name(large)} tasks of a "
            f"year ({plan.outside_runs} runs): wall time (CPU time); peak RSS",
            f"{seconds(wall)} ({seconds(cpu)}); {peak:.0f} MB",
            target=target,
            met=met,
        )


def download(bench: Bench, skip: bool) -> Iterator[Row]:
    plan = bench.plan
    figure = f"7. download {plan.download_mib} MiB over loopback nginx (throughput vs curl)"
    if skip:
        yield Row(figure, "skipped (--skip-download)", "curl", target="≥ 0.7×", met="not run")
        return
    if not DOWNLOAD_SCRIPT.exists():
        yield Row(figure, "not run (no bench_download.py)", "curl", target="≥ 0.7×", met="not run")
        return
    started = time.time()
    command = [
        sys.executable,
        str(DOWNLOAD_SCRIPT),
        "--size-mib",
        str(plan.download_mib),
        "--runs",
        str(plan.download_runs),
    ]
    done = subprocess.run(command, env=bench.env, capture_output=True, text=True, check=False)
    fresh = DOWNLOAD_RESULTS.exists() and DOWNLOAD_RESULTS.stat().st_mtime >= started
    if done.returncode != 0 or not fresh:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        yield Row(figure, f"failed: {tail[0][:120]}", "curl", target="≥ 0.7×", met="not run")
        return
    text = DOWNLOAD_RESULTS.read_text()
    speeds = download_speeds(text)
    ratio = re.search(r"target ratio >= ([\d.]+): \w+ \(([\d.]+)\)", text)
    peak = re.search(r"peak RSS < (\d+) MiB: \w+ \(([\d.]+) MiB\)", text)
    if not ratio:
        yield Row(figure, "see results-download.txt", "curl", target="≥ 0.7×", met="?")
        return
    value = float(ratio.group(2))
    ours = f"{speeds['ours']:.0f} MB/s" if "ours" in speeds else "?"
    if "ours-whole" in speeds:
        ours += f" ({speeds['ours-whole']:.0f} MB/s with Python start-up)"
    if peak:
        ours += f", peak RSS {float(peak.group(2)):.0f} MiB"
    curl = f"curl {speeds['curl']:.0f} MB/s" if "curl" in speeds else "curl"
    if "curl+sync" in speeds:
        curl += f" (curl + fsync {speeds['curl+sync']:.0f} MB/s)"
    yield Row(
        figure + f", {plan.download_runs} run{'s' if plan.download_runs > 1 else ''}",
        ours,
        curl,
        f"{value:.2f}×",
        f"≥ {ratio.group(1)}×",
        "yes" if value >= float(ratio.group(1)) else "**no**",
    )


def download_speeds(text: str) -> dict[str, float]:
    """Median MB/s per tool from bench_download.py's table (the column after median s)."""
    speeds: dict[str, float] = {}
    for line in text.splitlines():
        numbers = re.findall(r"\s(\d+(?:\.\d+)?)", line)
        if len(numbers) < 2:
            continue
        if re.match(r"curl -s -o\s+\d", line):
            speeds["curl"] = float(numbers[1])
        elif line.startswith("curl") and "sync" in line:
            speeds["curl+sync"] = float(numbers[1])
        elif line.startswith("ours, whole process"):
            speeds["ours-whole"] = float(numbers[1])
        elif line.startswith("ours ("):
            speeds["ours"] = float(numbers[1])
    return speeds


# -- the table --------------------------------------------------------------------------------


def contact_sheet(bench: Bench) -> Iterator[Row]:
    """#26's sheet figures (bench_sheet.py): 500 saved videos among 10,000 tasks."""
    from bench_sheet import sheet_rows

    for figure, ours, target, met in sheet_rows(bench.work, bench.env, bench.plan.runs):
        yield Row(figure, ours, target=target, met="yes" if met else "**no**")


def table(rows: list[Row]) -> str:
    lines = [
        "| figure | ours | baseline | ratio | target | met? |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r.figure} | {r.ours} | {r.baseline} | {r.ratio} | {r.target} | {r.met} |" for r in rows
    ]
    return "\n".join(lines)


def header(plan: Plan, args: argparse.Namespace, elapsed: float) -> str:
    import textual

    mode = "--quick" if args.quick else "full"
    return (
        f"Benchmarks of {time.strftime('%Y-%m-%d %H:%M %Z')}: {mode} run, median of "
        f"{plan.runs} runs per figure, {plan.paint_runs} for first paint (ratios: median of "
        "per-run ratios against the baseline measured alternately in the same run), "
        f"{elapsed / 60:.1f} min. "
        f"Python {platform.python_version()}, Textual {textual.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}."
    )


def figure_number(row: Row) -> int:
    """Rows in the issue's order; within a figure, in the order measured (sort is stable)."""
    found = re.match(r"\d+", row.figure)
    return int(found.group()) if found else 99


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, short windows")
    parser.add_argument("--runs", type=int, help="runs per figure (default 3, quick 2)")
    parser.add_argument("--skip-download", action="store_true", help="skip the nginx download")
    parser.add_argument("--out", type=Path, default=HERE / "results.md", help="markdown table")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="a comma-separated subset: paint, polling, filter, pass, persist, list, outside, "
        "download, sheet",
    )
    args = parser.parse_args()
    if args.runs is not None and args.runs < 1:
        parser.error("--runs must be 1 or more")
    plan = plan_for(args.quick, args.runs)
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="starvideos-bench-") as tmp:
        bench = Bench(Path(tmp), plan)
        figures: list[tuple[str, str, Callable[[], Iterator[Row]]]] = [
            ("paint", "first paint, idle CPU, memory", lambda: first_paint_idle_memory(bench)),
            ("polling", "CPU while polling", lambda: polling_cpu(bench)),
            ("filter", "filter and sort", lambda: filter_sort(bench)),
            ("pass", "polling pass", lambda: polling_pass(bench)),
            ("persist", "persisting", lambda: persisting(bench)),
            ("list", "list start-up", lambda: list_startup(bench)),
            ("outside", "whole processes, a year of history", lambda: outside(bench)),
            ("download", "download", lambda: download(bench, args.skip_download)),
            ("sheet", "contact sheet (#26)", lambda: contact_sheet(bench)),
        ]
        if args.only:
            wanted = {name.strip() for name in args.only.split(",")}
            unknown = wanted - {key for key, _, _ in figures}
            if unknown:
                parser.error(f"--only: no figure called {', '.join(sorted(unknown))}")
            figures = [f for f in figures if f[0] in wanted]
        for _key, name, figure in figures:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                for row in figure():
                    rows.append(row)
                    print(f"  {row.figure}: {row.ours} | {row.ratio}", file=sys.stderr)
            except (ProbeFailed, subprocess.SubprocessError, OSError) as exc:
                rows.append(Row(name, f"failed: {exc}", met="not run"))
                print(f"  failed: {exc}", file=sys.stderr)
            print(f"  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    rows.sort(key=figure_number)
    text = header(plan, args, time.perf_counter() - started) + "\n\n" + table(rows) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"(written to {args.out})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
