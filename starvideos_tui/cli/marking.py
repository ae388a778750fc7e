"""The user's marks on tasks, and the tasks they pick: `rate`, `reject`, `archive`,
`remove --finished`, and `list`'s filters (read here, applied by commands.show_list).
No network.

The flags are read here; which tasks they mean is core/selection.py's (the TUI asks it
too). Each command writes its change to all its tasks in one transaction, each task's
record taken as it is on disk at that moment: two processes marking the same task both
land, the last write winning its own field, nothing else lost.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from starvideos_tui.cli.cmdline import ids_from, out, say_plain
from starvideos_tui.cli.completion import mark_task_ids
from starvideos_tui.core import selection
from starvideos_tui.core.errors import Failure, UsageError
from starvideos_tui.core.linkexpiry import certainly_dead
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.recordfields import MAX_RATING
from starvideos_tui.core.worklist import unsaved

if TYPE_CHECKING:
    from starvideos_tui.engine.settings import Settings

Change = Callable[[TaskRecord], TaskRecord]
Say = Callable[[TaskRecord, TaskRecord], str]  # the line for a task: before, after


# -- the flags ------------------------------------------------------------------------------


def _argument(parse: Callable[[str, str], object], flag: str) -> Callable[[str], object]:
    """`parse` as an argparse type: its UsageError becomes argparse's own error (exit 2,
    one line naming the flag)."""

    def read(text: str) -> object:
        try:
            return parse(text, flag)
        except UsageError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return read


def _rating(text: str, flag: str) -> int:
    word = text.strip()
    if not (word.isascii() and word.isdigit()) or int(word) > MAX_RATING:
        raise UsageError(
            f"{flag} must be a whole number from 0 to {MAX_RATING} (0 clears), got {text!r}"
            " (the rating comes last: rate ID... N)"
        )
    return int(word)


def _status_choice(text: str, flag: str) -> str:
    return selection.parse_status(text, flag).replace(" ", "-")  # one of STATUS_CHOICES


def add_list_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--all", action="store_true", help="archived tasks too")
    p.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="S",
        type=_argument(_status_choice, "--status"),
        choices=selection.STATUS_CHOICES,  # for shell completion: typed in any case
        help="an API status or a shown state (repeat for either): "
        + ", ".join(selection.STATUS_CHOICES),
    )
    p.add_argument("--label", metavar="TEXT", help="the label (else the prompt) holds TEXT")
    p.add_argument(
        "--since",
        metavar="AGE",
        type=_argument(selection.parse_age, "--since"),
        help="made within AGE: 90s, 30m, 12h, 7d, 2w",
    )
    p.add_argument(
        "--active", action="store_true", help="not final, or completed and not saved yet"
    )


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    """rate, reject and archive (remove's --finished is added by remove's parser)."""
    p = sub.add_parser("rate", help="rate tasks 1 to 5 (0 clears): rate ID... N")
    mark_task_ids(p.add_argument("ids", nargs="+", metavar="ID"))
    p.add_argument(
        "rating", metavar="N", type=_argument(_rating, "the rating N"), help="1 to 5; 0 clears"
    )
    p = sub.add_parser("reject", help="set tasks aside (their rating is kept)")
    mark_task_ids(p.add_argument("ids", nargs="+", metavar="ID"))
    p.add_argument("--undo", action="store_true", help="no longer rejected")
    p = sub.add_parser(
        "archive", help="keep tasks but stop polling and listing them (list --all shows them)"
    )
    mark_task_ids(p.add_argument("ids", nargs="*", metavar="ID"))
    add_finished_flags(p, "archive")
    p.add_argument("--undo", action="store_true", help="unarchive")


def add_finished_flags(p: argparse.ArgumentParser, verb: str) -> None:
    p.add_argument(
        "--finished", action="store_true", help=f"{verb} every finished task older than AGE"
    )
    p.add_argument(
        "--older-than",
        metavar="AGE",
        type=_argument(selection.parse_age, "--older-than"),
        help="with --finished: finished longer ago than AGE (90s, 30m, 12h, 7d, 2w)",
    )


def finished_form(args: argparse.Namespace, command: str) -> float | None:
    """The cutoff (Unix seconds) of `--finished --older-than AGE`, or None when ids were
    given; UsageError for neither, both, or half of the form."""
    if args.finished:
        if args.ids:
            raise UsageError(f"{command}: give task ids or --finished, not both")
        if args.older_than is None:
            raise UsageError(f"{command} --finished needs --older-than AGE (0s: all of them)")
        age: float = args.older_than
        return time.time() - age
    if args.older_than is not None:
        raise UsageError(f"{command}: --older-than goes with --finished")
    if not args.ids:
        raise UsageError(f"{command} needs task ids, or --finished --older-than AGE")
    return None


# -- marking tasks by id --------------------------------------------------------------------


def _mark(settings: Settings, ids: list[str], change: Change, say: Say) -> int:
    """`change` written to every watched task of `ids` at once; a line per id, in the
    order given. Failure (exit 1) after the lines when any id is not watched: the others
    are changed, nothing is for it."""
    before: dict[str, TaskRecord] = {}

    def noted(record: TaskRecord) -> TaskRecord:
        before[record.id] = record  # as on disk under the lock: what this change replaces
        return change(record)

    watchlist = settings.open_watchlist()
    try:
        after = watchlist.update(dict.fromkeys(ids, noted))
    finally:
        watchlist.close()
    missing = [i for i in ids if i not in after]
    for task_id in ids:
        out(say(before[task_id], after[task_id]) if task_id in after else f"not watched {task_id}")
    if missing:
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        raise Failure(f"{len(missing)} of {len(ids)} task id(s) not watched: {shown}")
    return 0


def rate(settings: Settings, args: argparse.Namespace) -> int:
    stars: int = args.rating
    return _mark(
        settings,
        ids_from(args.ids),
        lambda r: replace(r, rating=stars),
        lambda _, r: f"rated {stars} {r.id}" if stars else f"unrated {r.id}",
    )


def reject(settings: Settings, args: argparse.Namespace) -> int:
    undo: bool = args.undo
    return _mark(
        settings,
        ids_from(args.ids),
        lambda r: replace(r, rejected=not undo),
        lambda b, r: (
            f"{'un' if undo else ''}rejected {r.id}"
            + (" (it was already)" if b.rejected == r.rejected else "")
        ),
    )


def _archived(record: TaskRecord, on: bool, now: float) -> TaskRecord:
    if record.archived == on:
        return record
    return replace(record, archived=on, archived_at=now if on else None)


def _archive_line(before: TaskRecord, after: TaskRecord) -> str:
    verb = "archived" if after.archived else "unarchived"
    if before.archived == after.archived:
        return f"{'already' if after.archived else 'not'} archived {after.id}"
    if after.is_final:
        return f"{verb} {after.id}"
    state = selection.shown_state(after)
    then = "no longer polled" if after.archived else "polled again"
    return f"{verb} {after.id} ({state}, not final: {then})"


def archive(settings: Settings, args: argparse.Namespace) -> int:
    """Archived: kept, never polled, out of `list` and the TUI's default view. A task that
    is not final may be archived too (it is then never polled: a task given up on)."""
    cutoff = finished_form(args, "archive")
    on, now = not args.undo, time.time()
    if cutoff is None:
        return _mark(settings, ids_from(args.ids), lambda r: _archived(r, on, now), _archive_line)
    watchlist = settings.open_watchlist()
    try:
        picked = [
            r.id
            for r in watchlist.load()
            if r.archived != on and selection.finished_before(r, cutoff)
        ]
        # Judged again on the record as it is under the lock: another process may have
        # (un)archived it or polled it meanwhile.
        changed = [
            after
            for after in watchlist.update(
                dict.fromkeys(
                    picked,
                    lambda r: _archived(r, on, now) if selection.finished_before(r, cutoff) else r,
                )
            ).values()
            if after.archived == on
        ]
    finally:
        watchlist.close()
    out(f"{'archived' if on else 'unarchived'} {_tasks(len(changed))}")
    return 0


def remove_finished(settings: Settings, args: argparse.Namespace) -> int:
    """`remove --finished --older-than AGE`: the finished tasks leave the watchlist (their
    saved videos stay where they are)."""
    cutoff = finished_form(args, "remove")
    assert cutoff is not None
    watchlist = settings.open_watchlist()
    now = time.time()
    try:
        finished = [r for r in watchlist.load() if selection.finished_before(r, cutoff)]
        # A video made and never saved whose link may still work is the only trace of a
        # paid take: kept (download --all-unsaved saves it; remove ID drops it).
        kept = [r for r in finished if unsaved(r) and r.video_url and not certainly_dead(r, now)]
        kept_ids = {r.id for r in kept}
        picked = [r.id for r in finished if r.id not in kept_ids]
        removed = sum(was_there for _, was_there in watchlist.remove(picked)) if picked else 0
    finally:
        watchlist.close()
    out(f"removed {_tasks(removed)}")
    if kept:
        say_plain(
            f"kept {len(kept)} video{'s' if len(kept) != 1 else ''} made and not saved whose "
            "link may still work: 'download --all-unsaved' saves them"
        )
    return 0


def _tasks(count: int) -> str:
    return f"{count} finished task{'' if count == 1 else 's'}"


# -- list's filters -------------------------------------------------------------------------


def selection_of(args: argparse.Namespace) -> selection.Selection:
    """The tasks `list`'s filters pick (every unarchived one without any)."""
    label = args.label.strip() if args.label else None
    if args.label is not None and not label:
        raise UsageError("--label needs some text to look for")
    return selection.Selection(
        statuses=frozenset(selection.parse_status(w) for w in args.status),
        label=label,
        since=args.since,
        active=args.active,
        archived=args.all,
    )


def none_matches(total: int, hidden: int) -> str:
    """What `list` says on stderr when its filters leave nothing of a watchlist of `total`
    tasks, `hidden` of them archived and not asked for."""
    more = f"; {hidden:,} archived, shown with --all" if hidden else ""
    return f"no task matches ({total:,} watched{more})"
