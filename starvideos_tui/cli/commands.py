"""What the headless subcommands do, over the core. `cli.py` parses; this acts.

The ones that talk to the API live in `remote.py`, `creating.py` and `watching.py`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from typing import Any

from starvideos_tui.cli import marking
from starvideos_tui.cli.cmdline import out, say_plain
from starvideos_tui.cli.streamout import print_stream
from starvideos_tui.core.errors import Failure, StarVideosError, UsageError
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.settings import Settings, resolve

# -- watchlist ----------------------------------------------------------------------------


def add_or_remove(settings: Settings, command: str, ids: list[str]) -> int:
    watchlist = settings.open_watchlist()
    try:
        if command == "add":
            now = time.time()
            outcome = watchlist.add([TaskRecord(id=i, added_at=now) for i in ids])
            for task_id, added in outcome:
                out(f"{'added' if added else 'already watching'} {task_id}")
        else:
            for task_id, was_there in watchlist.remove(ids):
                out(f"{'removed' if was_there else 'not watched'} {task_id}")
    finally:
        watchlist.close()  # the journal folded: plain TinyDB sees every task
    return 0


def show_list(settings: Settings, args: argparse.Namespace) -> int:
    """`list`: the tasks its filters pick, printed as the watchlist is read (neither every
    record nor the whole output in memory); `eta` and `stalled` from the whole history."""
    picks = marking.selection_of(args)
    now = time.time()
    total = archived = 0

    def shown(values: Mapping[str, Any]) -> bool:
        nonlocal total, archived
        total += 1
        archived += bool(values.get("archived"))
        return picks.matches_fields(values, now)

    printed = print_stream(settings.open_watchlist().stream_fields(), args.json, shown)
    if not printed and not args.json and total:
        say_plain(marking.none_matches(total, 0 if args.all else archived))
    return 0


# -- completion ---------------------------------------------------------------------


def completion(
    args: argparse.Namespace, build_parser: Callable[[], argparse.ArgumentParser]
) -> int:
    from starvideos_tui.cli import completion as shells

    if args.task_ids is not None:  # asked by a completion script as the user types
        try:
            settings = resolve(vars(args))
            setup_logging(settings.log_level)
            records = settings.open_watchlist().load()
        except StarVideosError:
            return 0  # no watchlist (yet), or a damaged one: nothing to offer, no noise
        for line in shells.task_ids(records, args.task_ids):
            out(line)
        return 0
    if args.shell is None:
        raise UsageError(f"completion needs a shell: {', '.join(shells.SHELLS)}")
    out(shells.script(build_parser(), args.shell))
    return 0


# -- login and sim ------------------------------------------------------------------


def login(key: str) -> int:
    from starvideos_tui.engine.settings import store_api_key

    path = store_api_key(key)
    out(f"API key stored in {path} (mode 0600)")
    return 0


def run_sim(args: argparse.Namespace) -> int:
    from starvideos_tui.simulator import SimConfig, Simulator

    if not args.speed > 0:
        raise UsageError(f"--speed must be above 0, got {args.speed:g}")
    if not args.rate_limit >= 0:
        raise UsageError(f"--rate-limit must be 0 or more, got {args.rate_limit:g}")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    config = SimConfig(host=args.host, port=args.port, speed=args.speed, rate_limit=args.rate_limit)
    sim = Simulator(config)
    try:
        sim.start()
    except OSError as exc:
        raise Failure(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    try:  # Ctrl-C from the moment it is announced stops it cleanly (exit 0)
        out(f"listening on {sim.base_url}")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
