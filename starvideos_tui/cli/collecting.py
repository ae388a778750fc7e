"""`collect DIR`: the face of engine/collect.py. One line per task on stdout (collected,
already there, skipped and why), a summary on stderr; with `--json` one JSON document.

Exit 0 when every chosen take is in DIR (a rejected one left out is the user's choice);
1 when one could not be taken (its saved file gone, changed or not a video; a name in DIR
refused); 2 for a bad flag. No network: a saved video is already on disk.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starvideos_tui.cli.cmdline import out, say_plain, text_argument
from starvideos_tui.core.textsafe import clean

if TYPE_CHECKING:  # the parser is built for every command: the video path only for this one
    from starvideos_tui.engine.collect import Collection, Outcome
    from starvideos_tui.engine.settings import Settings


def add_parser(sub: Any, mark_path: Any) -> None:
    p = sub.add_parser(
        "collect",
        help="copy (hard-link) the saved takes that match into DIR, with a manifest",
    )
    mark_path(p.add_argument("dir", metavar="DIR"), folder=True)
    p.add_argument(
        "--min-rating", metavar="N", default="0", help="only takes rated N or more (0: all)"
    )
    p.add_argument("--label", metavar="TEXT", help="only takes whose label holds TEXT")
    p.add_argument("--dry-run", action="store_true", help="say what would be done, write nothing")
    p.add_argument("--json", action="store_true", help="one JSON document")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from starvideos_tui.engine.collect import check_min_rating, collect

    min_rating = check_min_rating(args.min_rating)
    label = text_argument(args.label, "--label") if args.label else None
    folder = Path(text_argument(args.dir, "DIR")).expanduser()
    records = settings.open_watchlist().load()
    result = collect(records, folder, min_rating=min_rating, label=label, dry_run=args.dry_run)
    if args.json:
        out(json.dumps(_document(result), ensure_ascii=True, indent=2))
    else:
        for outcome in result.outcomes:
            out(_line(outcome))
        say_plain(_summary(result))
    return 1 if result.problems else 0


def _line(outcome: Outcome) -> str:
    if outcome.outcome == "skipped":
        return f"skipped {outcome.task_id}: {clean(outcome.reason or '')}"
    how = f" ({outcome.how})" if outcome.how else ""
    return f"{outcome.outcome}{how} {outcome.task_id}: {outcome.path}"


def _summary(result: Collection) -> str:
    counts = Counter(o.outcome for o in result.outcomes)
    hows = Counter(o.how for o in result.outcomes if o.how)
    parts = []
    if counts["collected"]:
        detail = ", ".join(f"{n} {how}" for how, n in sorted(hows.items()))
        parts.append(f"{counts['collected']} collected ({detail})")
    if counts["would collect"]:
        parts.append(f"{counts['would collect']} would be collected (dry run: nothing written)")
    if counts["already there"]:
        parts.append(f"{counts['already there']} already there")
    if counts["skipped"]:
        parts.append(f"{counts['skipped']} skipped")
    if not parts:
        return f"no saved take matches; nothing collected in {result.folder}"
    if result.manifests and not result.dry_run:
        parts.append(f"manifest: {result.manifests[0]}, {result.manifests[1]}")
    return "; ".join(parts)


def _document(result: Collection) -> dict[str, Any]:
    return {
        "folder": str(result.folder),
        "dry_run": result.dry_run,
        "files": [o.to_json() for o in result.outcomes if o.outcome != "skipped"],
        "skipped": [
            {"id": o.task_id, "reason": o.reason} for o in result.outcomes if o.outcome == "skipped"
        ],
        "manifest": (
            {"jsonl": str(result.manifests[0]), "csv": str(result.manifests[1])}
            if result.manifests
            else None
        ),
    }
