"""What the headless subcommands do, over the core. `cli.py` parses; this acts.

The ones that talk to the API live in `remote.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterable

from starvideos_tui.cli import Failure, UsageError
from starvideos_tui.formatting import (
    ago,
    display_width,
    note,
    pad,
    shorten,
    status_word,
    video_length,
)
from starvideos_tui.logs import setup_logging
from starvideos_tui.models import TaskRecord
from starvideos_tui.paths import NoHome
from starvideos_tui.settings import Settings, resolve
from starvideos_tui.store import Watchlist, WatchlistError


def describe_failure(exc: BaseException) -> str | None:
    """One line for an expected failure of the core; None for a real bug."""
    if isinstance(exc, WatchlistError | NoHome):
        return str(exc)
    # Imported here: `list` and `add` never load the network side.
    from starvideos_tui.api import ApiError
    from starvideos_tui.download import DownloadError
    from starvideos_tui.videos import NotDownloadable

    if isinstance(exc, ApiError):
        return exc.message
    if isinstance(exc, DownloadError | NotDownloadable):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return None


def settings_from(args: argparse.Namespace) -> Settings:
    settings = resolve(
        {
            "db": args.db,
            "base_url": args.base_url,
            "interval": args.interval,
            "download_dir": args.download_dir,
            "auto_download": args.auto_download,
            "log_level": args.log_level,
        }
    )
    setup_logging(settings.log_level)
    return settings


def _out(line: str) -> None:
    print(line, flush=True)


def json_array(items: Iterable[object]) -> str:
    """A JSON array with one item per line: json's C encoder for each item (an indented
    dump runs the pure-Python encoder, ten times slower at 50,000 tasks), and still
    readable and greppable."""
    body = ",\n".join(json.dumps(item, ensure_ascii=True) for item in items)
    return f"[\n{body}\n]" if body else "[]"


# -- watchlist ----------------------------------------------------------------------------


def add_or_remove(settings: Settings, command: str, ids: list[str]) -> int:
    watchlist = Watchlist(settings.db)
    if command == "add":
        now = time.time()
        outcome = watchlist.add([TaskRecord(id=i, added_at=now) for i in ids])
        for task_id, added in outcome:
            _out(f"{'added' if added else 'already watching'} {task_id}")
    else:
        for task_id, was_there in watchlist.remove(ids):
            _out(f"{'removed' if was_there else 'not watched'} {task_id}")
    return 0


def render_table(records: Iterable[TaskRecord], now: float, width: int | None = 80) -> str:
    """The watchlist as a table; the NOTE column takes what `width` leaves (at least 16
    columns), or is never cut when `width` is None (output that is not a terminal)."""
    header = f"{'ID':<30}  {'STATUS':<12} {'AGE':>4} {'LEN':>4} {'CHECKED':>7}  NOTE"
    lines = [header]
    for r in records:
        age = ago(now - r.created) if r.created else "-"
        checked = ago(now - r.checked_at) if r.checked_at else "never"
        line = (
            f"{pad(shorten(r.id, 30), 30)}  {pad(shorten(status_word(r), 12), 12)} {age:>4} "
            f"{video_length(r):>4} {checked:>7}  "
        )
        text = note(r)
        if width is not None:
            text = shorten(text, max(16, width - display_width(line)))
        lines.append(line + text)
    return "\n".join(lines)


def _table_width() -> int | None:
    """The terminal's width when stdout is one (COLUMNS overrides); None for a pipe or a
    file, where nothing needs cutting."""
    import os
    import shutil

    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def _print_records(records: list[TaskRecord], as_json: bool) -> None:
    if as_json:
        _out(json_array(r.public_json() for r in records))
    elif records:
        _out(render_table(records, time.time(), _table_width()))
    else:
        print("the watchlist is empty: add task ids with 'starvideos-tui add ID'", file=sys.stderr)


def show_list(settings: Settings, *, as_json: bool) -> int:
    _print_records(Watchlist(settings.db).load(), as_json)
    return 0


# -- login, sim, the TUI ------------------------------------------------------------------


def login(key: str) -> int:
    from starvideos_tui.settings import store_api_key

    path = store_api_key(key)
    _out(f"API key stored in {path} (mode 0600)")
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from starvideos_tui.simulator import SimConfig, Simulator

    if not args.speed > 0:
        raise UsageError(f"--speed must be above 0, got {args.speed:g}")
    if args.rate_limit < 0:
        raise UsageError(f"--rate-limit must be 0 or more, got {args.rate_limit:g}")
    config = SimConfig(host=args.host, port=args.port, speed=args.speed, rate_limit=args.rate_limit)
    sim = Simulator(config)
    try:
        sim.start()
    except OSError as exc:
        raise Failure(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    _out(f"listening on {sim.base_url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def run_tui(args: argparse.Namespace) -> int:
    from starvideos_tui.tui.launch import launch

    return launch(args)
