"""The contact sheet's figures (#26): `python benchmarks/run.py --only sheet`.

Fixture: 500 saved real videos (H.264 made with PyAV, 3-10 s, 640x360 to 1280x720, one
keyframe each as generators write them) among a watchlist of 10,000 tasks. The videos are
made once and kept in ~/.cache/starvideos-bench/ (or $STARVIDEOS_BENCH_CACHE) for re-runs:
SOURCES distinct encodes, each file one of them with a padding box of its own, so every
file has its own sha256 and costs a decode of its own (the frame cache is by sha256).

Each run is a fresh process (`python benchmarks/bench_sheet.py probe ...`) at 80x24:
the table with every row, then `v`; first a cold frame cache, then the same cache warm.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SAVED = 500
TASKS = 10_000
SOURCES = 24
SIZES = ((640, 360), (854, 480), (960, 540), (1280, 720))
FPS = 24
VERSION = "sheet-v1"
SIZE = (80, 24)


def cache_folder() -> Path:
    root = os.environ.get("STARVIDEOS_BENCH_CACHE") or Path.home() / ".cache/starvideos-bench"
    return Path(root) / VERSION


def _encode(path: Path, width: int, height: int, seconds: int, seed: int) -> None:
    import av
    from PIL import Image, ImageChops, ImageDraw

    ramp = Image.linear_gradient("L")
    base = Image.merge(
        "RGB",
        (
            ramp.resize((width, height)),
            ramp.rotate(90 + seed * 7).resize((width, height)),
            Image.effect_noise((width, height), 24).point(lambda v: (v + seed * 9) % 256),
        ),
    )
    frames = seconds * FPS
    tmp = path.with_suffix(".tmp")
    with av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "veryfast", "crf": "30"}
        for n in range(frames):
            image = ImageChops.offset(base, n * 4, n * 2)
            draw = ImageDraw.Draw(image)
            x = (n * 9) % width
            draw.ellipse([x, height // 3, x + height // 4, height // 3 + height // 4], "yellow")
            frame = av.VideoFrame.from_image(image)  # type: ignore[no-untyped-call]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    tmp.replace(path)


def _free_box(size: int) -> bytes:
    """An MP4 `free` box of `size` bytes (players skip it)."""
    return struct.pack(">I4s", size, b"free") + b"\x01" * (size - 8)


def fixture() -> list[dict[str, Any]]:
    """The 500 videos (made on first use): path, size, sha256, duration of each."""
    folder = cache_folder()
    manifest = folder / "manifest.json"
    if manifest.exists():
        return json.loads(manifest.read_text())  # type: ignore[no-any-return]
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for n in range(SOURCES):
        width, height = SIZES[n % len(SIZES)]
        seconds = 3 + n % 8  # 3 to 10 s
        path = folder / f"source-{n}.mp4"
        if not path.exists():
            print(f"  encoding {path.name} ({width}x{height}, {seconds} s)", file=sys.stderr)
            _encode(path, width, height, seconds, n)
        sources.append((path.read_bytes(), seconds))
    videos = []
    for n in range(SAVED):
        data, seconds = sources[n % SOURCES]
        data += _free_box(16 + n)  # players skip it; the sha256 is the file's own
        path = folder / f"take-{n:03d}.mp4"
        path.write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        videos.append({"path": str(path), "size": len(data), "sha256": digest, "s": seconds})
    manifest.write_text(json.dumps(videos))
    return videos


def write_watchlist(path: Path, videos: list[dict[str, Any]]) -> Path:
    """TASKS completed tasks, every TASKS/SAVED-th one saved (one of the videos)."""
    from starvideos_tui.core.models import TaskRecord
    from starvideos_tui.storage.store import Watchlist

    step = TASKS // SAVED
    records = []
    for n in range(TASKS):
        video = videos[n // step] if n % step == 0 else None
        saved = {}
        if video is not None:
            saved = {"local_path": video["path"], "size": video["size"], "sha256": video["sha256"]}
        records.append(
            TaskRecord(
                id=f"video_starvideos_o3_{7_000_000_000 + n}",
                status="completed",
                added_at=1_767_225_600.0 + n,
                actual_duration=float(video["s"]) if video else 5.0,
                prompt=f"take {n} of a red fox at dawn",
                rating=n % 6,
                **saved,
            )
        )
    Watchlist(path).add(records)
    return path


# -- the probe (one process a run) -----------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def probe(db: Path, frames: Path) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from _probes import our_app, wait_for_rows

    from starvideos_tui.tui.widgets.contact_sheet import ContactSheet

    app = our_app(db)
    app.config.frames_dir = frames
    out: dict[str, Any] = {}

    async def drawn() -> None:
        done = asyncio.Event()
        app.call_after_refresh(done.set)
        await done.wait()

    async def thumbnails(sheet: ContactSheet) -> None:
        """Until every cell on screen shows its thumbnail (none is waiting)."""
        while True:
            await asyncio.sleep(0.002)
            maker = sheet.maker
            visible = sheet._visible_ids()
            made = sheet._thumbs
            if maker is not None and not maker.pending and all(i in made for i in visible):
                break
        await drawn()

    async with app.run_test(size=SIZE) as pilot:
        await wait_for_rows(app, TASKS)
        await pilot.pause()
        await asyncio.sleep(0.5)
        out["table_rss_mb"] = rss_mb()
        sheet = app.query_one(ContactSheet)
        t0 = time.perf_counter()
        app.action_toggle_sheet()
        await drawn()
        out["first_screen_s"] = time.perf_counter() - t0
        out["cells"] = len(sheet.cell_ids)
        await thumbnails(sheet)
        out["visible_s"] = time.perf_counter() - t0
        out["visible_cells"] = len(sheet._visible_ids())
        out["decodes"] = sheet.maker.decodes if sheet.maker else 0
        pages, thumbs = [], []
        while sheet.cursor < len(sheet.cell_ids) - 1:
            t1 = time.perf_counter()
            sheet.action_page(1)
            await drawn()
            pages.append(time.perf_counter() - t1)
            await thumbnails(sheet)
            thumbs.append(time.perf_counter() - t1)
        out["page_s"] = pages
        out["page_thumbs_s"] = thumbs
        out["sheet_rss_mb"] = rss_mb()
    return out


# -- the figures, for run.py ---------------------------------------------------------------


def sheet_rows(work: Path, env: dict[str, str], runs: int) -> Iterator[tuple[str, str, str, bool]]:
    """(figure, ours, target, met) for each of the sheet's figures."""
    videos = fixture()
    db = write_watchlist(work / "sheet-watchlist.json", videos)
    cold: list[dict[str, Any]] = []
    warm: list[dict[str, Any]] = []
    for run in range(runs):
        frames = work / f"sheet-frames-{run}"
        for into in (cold, warm):  # the same frame cache: cold, then warm
            result = work / f"sheet-result-{run}-{len(into)}.json"
            command = [sys.executable, __file__, "probe", str(db), str(frames), str(result)]
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
            if done.returncode != 0 or not result.exists():
                tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                raise OSError(f"sheet probe exited {done.returncode}: {tail[0][:200]}")
            into.append(json.loads(result.read_text()))
    med = statistics.median
    first = [r["first_screen_s"] for r in cold + warm]
    cells = cold[0]["visible_cells"]
    yield (
        f"S1. sheet's first screen, placeholders drawn ({SAVED} saved of {TASKS:,} tasks)",
        _ms(med(first)) + f"; worst {_ms(max(first))}",
        "< 150 ms",
        med(first) < 0.15,
    )
    visible = [r["visible_s"] for r in cold]
    yield (
        f"S2. every visible thumbnail, cold cache, 80x24 ({cells} cells, 2 decodes at once)",
        _ms(med(visible)) + f"; worst {_ms(max(visible))}",
        "< 2 s",
        med(visible) < 2,
    )
    visible = [r["visible_s"] for r in warm]
    yield (
        "S3. the same, warm frame cache (a new process)",
        _ms(med(visible)) + f"; worst {_ms(max(visible))}",
        "< 200 ms",
        med(visible) < 0.2,
    )
    pages = [p for r in cold + warm for p in r["page_s"]]
    yield (
        f"S4. one page of scrolling (PgDn, placeholders drawn), {len(pages)} pages: median",
        _ms(med(pages)) + f"; worst {_ms(max(pages))}",
        "< 50 ms",
        med(pages) < 0.05,
    )
    cold_pages = [p for r in cold for p in r["page_thumbs_s"]]
    warm_pages = [p for r in warm for p in r["page_thumbs_s"]]
    yield (
        "S4b. a page's thumbnails after PgDn: cold; warm (median)",
        f"{_ms(med(cold_pages))}; {_ms(med(warm_pages))}",
        "—",
        True,
    )
    more = [r["sheet_rss_mb"] - r["table_rss_mb"] for r in cold + warm]
    yield (
        f"S5. memory: the sheet paged through all {SAVED} videos, over the table alone",
        f"+{med(more):.0f} MB; worst +{max(more):.0f} MB",
        "< 60 MB more",
        med(more) < 60,
    )


def _ms(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["probe", "fixture"])
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    if args.what == "fixture":
        print(len(fixture()), "videos in", cache_folder())
        return
    db, frames, result = map(Path, args.rest)
    Path(result).write_text(json.dumps(asyncio.run(probe(db, frames))))


if __name__ == "__main__":
    main()
