#!/usr/bin/env python3
"""A watchlist as a user with a year of history has it (issue #25's trial).

    python scripts/year_of_history.py --db PATH --tasks 50000 [--running 20 --base-url URL]

The history is written through the project's own `Watchlist.add`, so the file has exactly
the format the product writes: of every 10,000 tasks about 6,313 saved (a local file, a size
and a sha256), 2,510 completed and never saved (their links a year dead), 1,173 failed,
spread over the 365 days before now, each with a prompt, a label and its status history.
With --running N and --base-url, N more tasks are then created through the CLI
(`starvideos-tui create --from FILE`, STARVIDEOS_DB=PATH, STARVIDEOS_BASE_URL=URL, any
non-empty STARVIDEOS_API_KEY; the simulator: `starvideos-tui sim --port P`): they run live.

The saved files are not written; their paths name a folder that need not exist. Refuses to
touch a watchlist that already has tasks (exit 2), unless --force.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

DAY = 86_400.0
YEAR = 365 * DAY
# The trial's mix: 31,563 saved, 12,552 completed never saved, 5,865 failed of 49,980.
SAVED, UNSAVED = 31_563 / 49_980, 12_552 / 49_980
SUBJECTS = (
    "A red fox running through fresh snow at dawn",
    "Aerial shot of a lighthouse at dawn, slow push-in",
    "Timelapse of clouds rolling over mountain peaks",
    "Neon city street in the rain at night",
    "Paper boats racing down a gutter stream, macro lens",
    "Close-up of a hummingbird at a feeder",
    "A tram crossing a bridge in heavy fog",
    "Steam rising from a cup of coffee on a windowsill",
)
FAILURES = (
    "Reference image resolution is too low: the first image is 320x240, "
    "at least 720x720 is required.",
    "The prompt was refused by the content policy.",
    "Internal error while rendering; please retry.",
)


def history_record(i: int, count: int, now: float, rng: random.Random, videos: Path) -> TaskRecord:
    """The i-th of `count` tasks of the year: saved, completed and never saved, or failed."""
    task_id = f"video_starvideos_o3_{1_700_000_000_000 + i}"
    created = now - YEAR + i * (YEAR - DAY) / count + rng.uniform(0, 60)
    queued_for, took = rng.uniform(2, 60), rng.uniform(40, 400)
    done = created + queued_for + took
    subject = SUBJECTS[i % len(SUBJECTS)]
    prompt = f"{subject}, take {i}"
    base = TaskRecord(
        id=task_id,
        created=int(created),
        model="starvideos_o3",
        prompt=prompt,
        label=f"{subject.split(',')[0][:40]} #{i}",
        params={"prompt": prompt, "duration": 5, "ratio": "16:9"},
        added_at=created,
        checked_at=done,
        updated_at=done,
    )
    draw = rng.random()
    history = (("queued", created), ("processing", created + queued_for))
    if draw >= SAVED + UNSAVED:
        return replace(
            base,
            status="failed",
            error=FAILURES[i % len(FAILURES)],
            history=(*history, ("failed", done)),
        )
    link = f"https://cdn.starvideos.example/v/{task_id}.mp4?token=yr&expires={int(done) + 5400}"
    finished = replace(
        base,
        status="completed",
        video_url=link,
        video_url_at=done,
        link_expires_at=done + 5400,
        actual_duration=5.0,
        history=(*history, ("completed", done)),
    )
    if draw >= SAVED:
        return finished
    return replace(
        finished,
        local_path=str(videos / f"{task_id}.mp4"),
        size=2_000_000 + rng.randrange(2_000_000),
        sha256=f"{rng.getrandbits(256):064x}",
    )


def write_history(db: Path, tasks: int, seed: int) -> dict[str, int]:
    """`tasks` finished tasks of the past year added to the watchlist at `db`."""
    rng = random.Random(seed)
    now = time.time()
    videos = db.parent / "videos"
    records = [history_record(i, tasks, now, rng, videos) for i in range(tasks)]
    Watchlist(db).add(records)
    counts = {"saved": 0, "unsaved": 0, "failed": 0}
    for record in records:
        key = "failed" if record.status == "failed" else "saved" if record.local_path else "unsaved"
        counts[key] += 1
    return counts


def create_running(db: Path, running: int, base_url: str) -> list[str]:
    """`running` live tasks created with `starvideos-tui create --from`; their ids."""
    cli = shutil.which("starvideos-tui") or str(Path(sys.executable).parent / "starvideos-tui")
    env = {
        **os.environ,
        "STARVIDEOS_DB": str(db),
        "STARVIDEOS_BASE_URL": base_url,
        "STARVIDEOS_API_KEY": os.environ.get("STARVIDEOS_API_KEY") or "sk-year-of-history",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as batch:
        for i in range(running):
            prompt = f"{SUBJECTS[i % len(SUBJECTS)]}, live take {i}"
            batch.write(json.dumps({"prompt": prompt, "label": f"live {i}"}) + "\n")
    try:
        done = subprocess.run(
            [cli, "create", "--from", batch.name],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.unlink(batch.name)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    return [line for line in done.stdout.split() if line.startswith("video_")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", type=Path, required=True, help="the watchlist file to write")
    parser.add_argument("--tasks", type=int, default=50_000, help="tasks in all (default 50000)")
    parser.add_argument("--running", type=int, default=0, help="of them, live (needs --base-url)")
    parser.add_argument("--base-url", help="the API (or `starvideos-tui sim`) for the live ones")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--force", action="store_true", help="add to a watchlist with tasks")
    args = parser.parse_args(argv)
    if args.tasks < 1 or args.running < 0 or args.running > args.tasks:
        parser.error("--tasks must be at least 1, and --running between 0 and --tasks")
    if args.running and not args.base_url:
        parser.error("--running needs --base-url (a simulator: starvideos-tui sim --port P)")
    db: Path = args.db
    if db.exists() and Watchlist(db).load() and not args.force:
        parser.error(f"{db} already has tasks (--force adds to them)")
    db.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    counts = write_history(db, args.tasks - args.running, args.seed)
    ids = create_running(db, args.running, args.base_url) if args.running else []
    took = time.monotonic() - started
    said = ", ".join(f"{n} {what}" for what, n in counts.items())
    print(f"{db}: {said}, {len(ids)} running ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
