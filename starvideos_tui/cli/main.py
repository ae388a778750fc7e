"""The command line: the TUI when bare, headless subcommands otherwise (docs/contract.md).

Exit codes: 0 done, 2 the user's mistake (one line on stderr, nothing written), 1 any other
failure (one line on stderr). Headless commands never import Textual, so they start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from starvideos_tui import __version__
from starvideos_tui.cli import collecting, marking
from starvideos_tui.cli.cmdline import ids_from, read_key
from starvideos_tui.cli.completion import SHELLS, mark_path, mark_task_ids
from starvideos_tui.core.console import PROG, say
from starvideos_tui.core.errors import StarVideosError, UsageError

if TYPE_CHECKING:
    from starvideos_tui.engine.settings import Settings


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (systemctl stop, a dropped SSH session): unwind like Ctrl-C, so
    a download's received bytes reach its `.part` and the watchlist stays whole. A
    KeyboardInterrupt, so asyncio lets it through its callbacks as it does Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_termination(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _catch_termination() -> None:
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):  # not the main thread; no such signal
            signal.signal(signum, _on_termination)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors in our words. A mistyped flag is named as unknown, even
    when argparse would first complain that the flag it stands for is missing."""

    argv: Sequence[str] = ()  # the words being parsed, set by main()
    known: set[str] = set()  # every option string of the program, as add_argument takes it

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        _Parser.known.update(action.option_strings)  # --flag and --no-flag alike
        return action

    def error(self, message: str) -> NoReturn:
        words = list(self.argv)
        if "--" in words:  # what follows `--` is ids and texts, never options
            words = words[: words.index("--")]
        unknown = [
            word.split("=", 1)[0]
            for word in words
            if word.startswith("-") and word != "-" and word.split("=", 1)[0] not in self.known
        ]
        if unknown and ("required" in message or message.startswith("unrecognized arguments")):
            import difflib

            near = difflib.get_close_matches(unknown[0], sorted(self.known), n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            message = f"unknown option {unknown[0]}{hint}"
        self.exit(2, f"{PROG}: error: {message} (see {PROG} --help)\n")


class _OnOrOff(argparse.BooleanOptionalAction):
    """--flag / --no-flag, refusing both together (the last one would win silently)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        before = getattr(namespace, self.dest)
        super().__call__(parser, namespace, values, option_string)
        if before is not None and before != getattr(namespace, self.dest):
            on, off = self.option_strings[:2]
            parser.error(f"{on} and {off} contradict each other")


def _positive_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    _Parser.known = set()  # filled as the options are added, -h of each parser included
    parser = _Parser(
        prog=PROG,
        description="Monitor StarVideos O3 video tasks. Without a command: the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    mark_path(
        parser.add_argument("--db", metavar="PATH", help="watchlist file (env STARVIDEOS_DB)")
    )
    parser.add_argument("--base-url", metavar="URL", help="API base URL (STARVIDEOS_BASE_URL)")
    parser.add_argument(
        "--interval", metavar="SECONDS", help="poll interval, >=30 (STARVIDEOS_INTERVAL)"
    )
    mark_path(
        parser.add_argument(
            "--download-dir", metavar="DIR", help="where videos go (STARVIDEOS_DOWNLOAD_DIR)"
        ),
        folder=True,
    )
    parser.add_argument(
        "--auto-download",
        action=_OnOrOff,
        default=None,
        help="save each video as soon as it completes (STARVIDEOS_AUTO_DOWNLOAD=1/0)",
    )
    parser.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="log file detail"
    )
    parser.add_argument(
        "--demo", action="store_true", help="the TUI on the built-in simulator (no key)"
    )
    parser.add_argument(
        "--preview",
        choices=["auto", "blocks", "off"],
        help="pictures of saved videos in the side panel (STARVIDEOS_PREVIEW; NO_COLOR: off)",
    )
    parser.add_argument(
        "--theme",
        choices=["auto", "dark", "light"],
        help="the TUI's colours: auto asks the terminal's background (STARVIDEOS_THEME)",
    )
    parser.add_argument(
        "--notify",
        metavar="MODE",
        help="desktop notifications: auto, osc777, osc9, osc99, bell, off (STARVIDEOS_NOTIFY)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("add", help="watch task ids ('-' reads them from stdin)")
    p.add_argument("ids", nargs="+", metavar="ID")
    p = sub.add_parser("remove", help="stop watching task ids (or the finished ones)")
    mark_task_ids(p.add_argument("ids", nargs="*", metavar="ID"))
    marking.add_finished_flags(p, "remove")
    p = sub.add_parser("list", help="the watchlist, last known state (no network)")
    p.add_argument("--json", action="store_true", help="a JSON array")
    marking.add_list_filters(p)
    marking.add_parsers(sub)
    p = sub.add_parser("refresh", help="poll every unfinished task once, then list")
    p.add_argument("--json", action="store_true", help="a JSON array")
    _download_parser(sub)
    collecting.add_parser(sub, mark_path)
    p = sub.add_parser("create", help="submit a task (or a file of them) and watch it")
    p.add_argument("--prompt", help="what the video shows (required without --from)")
    p.add_argument("--duration", type=_positive_int, help="seconds, 3 to 15")
    p.add_argument("--ratio", help="9:16, 1:1 or 16:9")
    p.add_argument("--image", action="append", default=[], metavar="URL", help="reference image")
    p.add_argument("--first-image", metavar="URL")
    p.add_argument("--last-image", metavar="URL")
    p.add_argument("--video", action="append", default=[], metavar="URL", help="reference video")
    p.add_argument("--label", help="a short label (default: the prompt)")
    p.add_argument("--wait", action="store_true", help="poll until final and download")
    p.add_argument("--json", action="store_true", help="print the created record(s) as JSON")
    mark_path(
        p.add_argument(
            "--from",
            dest="from_file",
            metavar="FILE",
            help="submit every request of a JSONL or CSV file ('-': stdin), each once",
        )
    )
    p.add_argument("--dry-run", action="store_true", help="with --from: check, print, send nothing")
    p = sub.add_parser(
        "watch",
        help="poll until every running task is final, saving each video (exit 1 if any "
        "that ended during the run failed or was not saved)",
        description="Sums up the watchlist's history in one line, then polls the running "
        "tasks until each is final, saving each video as it completes; older videos never "
        "saved follow, unless their link is certainly dead. Exit status: 0 when every task "
        "that ended during the run was saved, 1 if any failed or was not saved.",
    )
    p.add_argument(
        "--all-history",
        action="store_true",
        help="exit 1 if any watched task failed or has no saved video, old ones too",
    )
    p = sub.add_parser(
        "wait",
        help="poll these tasks until each is final (exit 0 completed, 1 failed or unknown id, "
        "3 timed out)",
    )
    mark_task_ids(p.add_argument("ids", nargs="+", metavar="ID"))
    p.add_argument("--timeout", metavar="SECONDS", help="give up after this long (exit 3)")
    p.add_argument("--download", action="store_true", help="and save each video")
    p.add_argument(
        "--json", action="store_true", help="the tasks as a JSON array at the end (lines on stderr)"
    )
    sub.add_parser("login", help="store the API key (mode 0600)")
    p = sub.add_parser("sim", help="run the API simulator in the foreground")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_positive_int, default=8765)
    p.add_argument("--speed", type=float, default=1.0, help="time scale (2 = twice as fast)")
    p.add_argument("--rate-limit", type=float, default=0.0, help="requests/s per key, 0 = off")
    p = sub.add_parser("completion", help="print a shell completion script (bash, zsh, fish)")
    p.add_argument("shell", nargs="?", choices=SHELLS)
    p.add_argument("--task-ids", metavar="WORD", help=argparse.SUPPRESS)
    return parser


def _download_parser(sub: Any) -> None:
    p = sub.add_parser(
        "download",
        help="save a completed task's video (a saved one: linked or copied into --to DIR)",
    )
    mark_task_ids(p.add_argument("id", metavar="ID", nargs="?"))
    p.add_argument(
        "--all-unsaved",
        action="store_true",
        help="every completed task not saved yet whose link may still work",
    )
    mark_path(
        p.add_argument("--to", metavar="DIR", help="folder (default: --download-dir)"), folder=True
    )


def _run(args: argparse.Namespace) -> int:
    from starvideos_tui.cli import commands

    if args.demo and args.command is not None:
        raise UsageError(
            f"--demo opens the TUI on the simulator; it takes no command ({args.command})"
        )
    if args.command is None:
        from starvideos_tui.tui.launch import launch

        # Settings are resolved here once, as for every command, and handed to the TUI.
        return launch(_settings(args))
    if args.command == "sim":
        return commands.run_sim(args)
    if args.command == "login":
        return commands.login(read_key())
    if args.command == "completion":
        return commands.completion(args, build_parser)
    settings = _settings(args)
    if args.command == "remove" and (args.finished or args.older_than is not None or not args.ids):
        return marking.remove_finished(settings, args)
    if args.command in ("add", "remove"):
        return commands.add_or_remove(settings, args.command, ids_from(args.ids))
    local: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
        "list": commands.show_list,
        "rate": marking.rate,
        "reject": marking.reject,
        "archive": marking.archive,
        "collect": collecting.run,
    }
    if args.command in local:
        return local[args.command](settings, args)
    from starvideos_tui.cli import creating, remote, watching
    from starvideos_tui.cli.running import run_command

    handler = {
        "refresh": remote.refresh,
        "download": remote.download,
        "create": creating.create,
        "watch": watching.watch,
        "wait": watching.wait,
    }[args.command]
    return run_command(_stopped_like_ctrl_c(handler(settings, args)))


def _settings(args: argparse.Namespace) -> Settings:
    """Every setting of the run, resolved once (the engine's `resolve`: flag > environment
    > config file > default), and the log file at their level (the demo's: once it runs)."""
    from starvideos_tui.core.logs import setup_logging
    from starvideos_tui.engine.settings import resolve

    settings = resolve(vars(args))
    if not settings.demo:
        setup_logging(settings.log_level)
    return settings


async def _stopped_like_ctrl_c(work: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine; SIGTERM and SIGHUP stop it as asyncio stops one on Ctrl-C:
    by cancelling it, so each `finally` and shielded step (a request on its way, a `.part`
    being written) ends in order. Raised from the signal handler instead, the interrupt
    would land anywhere and every task would be cancelled at once."""
    import asyncio
    import signal

    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    received: list[int] = []

    def stop(signum: int) -> None:
        received.append(signum)
        task.cancel()

    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    for signum in before:
        loop.add_signal_handler(signum, stop, signum)
    try:
        return await work
    except asyncio.CancelledError:
        if received:
            raise Terminated(received[0]) from None
        raise
    finally:
        for signum, handler in before.items():
            loop.remove_signal_handler(signum)
            signal.signal(signum, handler)  # a signal while the loop closes: as before


def _tolerate_narrow_encodings() -> None:
    """On a terminal or pipe that cannot encode "…", "✓" or a CJK prompt (LANG=C with an
    ASCII locale, PYTHONIOENCODING=ascii), print "?" for them rather than crash."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if encoding and not encoding.startswith("utf"):
            with contextlib.suppress(AttributeError, ValueError):
                stream.reconfigure(errors="replace")  # type: ignore[union-attr]


def main(argv: Sequence[str] | None = None) -> int:
    _tolerate_narrow_encodings()
    _Parser.argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    # Started with stdout closed (`>&-`): no one would see a result. (The TUI says itself
    # that it needs a terminal there.)
    if sys.stdout is None and args.command is not None:
        say("error: standard output is closed; nothing was done")
        return 1
    if args.command is not None:  # the TUI restores the terminal on its own signals
        _catch_termination()
    try:
        return _run(args)
    except StarVideosError as exc:  # every expected failure: one line, its exit code
        say(f"error: {exc}")
        return exc.exit_code
    except Terminated as exc:
        import signal

        say(f"stopped by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except BrokenPipeError:
        # The reader (head, less) went away: say nothing, like other command-line tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # the disk or the system said no where nothing else caught it
        where = f": {exc.filename}" if exc.filename else ""
        say(f"error: {exc.strerror or exc}{where}")
        return 1
