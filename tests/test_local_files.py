"""Local files that are not what they seem, and the command line's last rough edges
(issue #23, classes 4, 8, 9 and 12): what may hang or read without end (a FIFO, a device,
/dev/zero, a closed stream) in a real `python -m starvideos_tui` child with a deadline and
a memory ceiling; what a file's or a flag's content decides in the test's own process
(helpers_inproc.SameProcessCli); each with its own home and a real simulator on loopback.

A path that names a FIFO, a device, a folder or a link to one is refused at once, naming
the path and what it is; nothing is read without a cap where a cap makes sense; keys
and configs that cannot work say so, naming where they came from, never the key.
Every refusal is one line on stderr, no traceback, nothing written.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest
from helpers_cli import FAST, KEY, Cli, Run, assert_fails, done_task, polls
from helpers_inproc import SameProcessCli

from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist

DEADLINE = 15.0  # seconds: a command that hangs on a FIFO fails the test, and is killed
MEMORY_KB = 1_500_000  # address space of the child: reading /dev/zero whole fails, not OOMs
TASK = "video_starvideos_o3_4440001111"


def run(
    cli: Cli,
    *args: str,
    stdin: IO[bytes] | bytes | None = None,
    env: dict[str, str] | None = None,
    shell_prefix: str | None = None,
) -> Run:
    """The CLI as a child in a session of its own, with a memory ceiling, killed as a
    group whatever happens. `shell_prefix` is a redirection for it (e.g. `>&-`)."""
    script = f'ulimit -v {MEMORY_KB} && exec "$@" {shell_prefix or ""}'
    command = ["sh", "-c", script, "sh", sys.executable, "-m", "starvideos_tui", *args]
    feed = stdin if isinstance(stdin, bytes) else None
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE if isinstance(stdin, bytes) else (stdin or subprocess.DEVNULL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**cli.env, **(env or {})},
        cwd=cli.cwd,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(feed, timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{' '.join(args)} still running after {DEADLINE:.0f} s")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    result = Run(tuple(args), proc.returncode, out.decode(errors="replace"), err.decode("utf-8"))
    cli.runs.append(result)
    return result


@pytest.fixture
def cli(tmp_path: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`cli.run` in the test's process, for what a file's or a flag's content decides;
    `run(cli, ...)` a child with a deadline and a memory ceiling, for what may hang or
    read without end (a FIFO, a device, /dev/zero, a closed stream)."""
    cli = SameProcessCli(tmp_path, sim.base_url, capsys)
    cli.key_file.parent.mkdir(parents=True)
    return cli


@pytest.fixture
def place(tmp_path: Path) -> Callable[[str], Path]:
    """`place(kind)` puts a hostile thing of that kind at a fresh path and returns it."""
    made = iter(range(1000))

    def make(kind: str, at: Path | None = None) -> Path:
        path = at or tmp_path / f"hostile-{next(made)}"
        if kind == "fifo":
            os.mkfifo(path, 0o600)
        elif kind == "folder":
            path.mkdir()
        elif kind == "/dev/zero":
            path.symlink_to("/dev/zero")
        elif kind == "link to a fifo":
            target = tmp_path / f"target-{next(made)}"
            os.mkfifo(target, 0o600)
            path.symlink_to(target)
        else:
            raise ValueError(kind)
        return path

    return make


def listing(folder: Path) -> dict[str, bytes | None]:
    """The names in `folder` and the bytes of its regular files: 'nothing was written'."""
    return {
        p.name: p.read_bytes() if p.is_file() and not p.is_symlink() else None
        for p in sorted(folder.iterdir())
    }


KINDS = {
    "fifo": "a FIFO",
    "folder": "a folder",
    "/dev/zero": "a character device",
    "link to a fifo": "a FIFO",
}

# -- class 4: the watchlist, its journal, the log, the .sending ledger ---------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", [("list",), ("add", TASK)])
def test_a_watchlist_that_is_not_a_file_is_refused_at_once_naming_it(
    cli: Cli, place: Callable[..., Path], tmp_path: Path, kind: str, command: tuple[str, ...]
) -> None:
    path = place(kind)
    before = listing(tmp_path)

    result = run(cli, "--db", str(path), *command)

    named = path.resolve() if path.is_symlink() else path  # a link: what it names
    assert_fails(result, 1, f"watchlist {named}", KINDS[kind], "not a regular file")
    assert listing(tmp_path) == before  # not even a lock file beside it


def test_a_watchlist_reached_through_a_symlink_is_one_watchlist_with_its_target(
    cli: Cli, tmp_path: Path
) -> None:
    real = tmp_path / "synced" / "watchlist.json"
    link = tmp_path / "watchlist-link.json"
    run(cli, "--db", str(real), "add", TASK)
    link.symlink_to(real)

    added = run(cli, "--db", str(link), "add", "added-through-the-link")

    assert added.code == 0, str(added)
    seen = run(cli, "--db", str(real), "list", "--json")
    assert '"added-through-the-link"' in seen.out, str(seen)
    assert link.is_symlink() and sorted(p.name for p in tmp_path.glob("watchlist-link*")) == [
        link.name
    ]  # no journal or lock beside the link: they are beside the file


@pytest.mark.parametrize("kind", KINDS)
def test_a_watchlist_journal_that_is_not_a_file_is_named_with_its_path(
    cli: Cli, place: Callable[..., Path], kind: str
) -> None:
    cli.ok("add", TASK)
    cli.ok("add", "second-task")  # via the journal, folded into the base when add ends
    journal = Path(f"{cli.watchlist}.journal")
    journal.unlink(missing_ok=True)
    place(kind, journal)
    before = listing(cli.watchlist.parent)

    for command in (("list",), ("add", "third-task")):
        result = run(cli, *command)
        assert_fails(result, 1, str(journal), KINDS[kind])
    assert listing(cli.watchlist.parent) == before


def test_the_tui_first_screen_does_not_wait_on_a_fifo_watchlist(
    place: Callable[..., Path],
) -> None:
    path = place("fifo")
    peeked: list[Any] = []
    reader = threading.Thread(target=lambda: peeked.append(Watchlist(path).peek(20)))
    reader.start()
    reader.join(5)
    if reader.is_alive():  # hung in open(): give it a writer and an end, then fail
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(5)
        pytest.fail("peek waited for a writer on a FIFO")
    assert peeked == [None]  # nothing to peek at: load() says why


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_a_log_file_that_is_not_a_file_does_not_stop_a_command(
    cli: Cli, place: Callable[..., Path], kind: str
) -> None:
    cli.state_dir.mkdir(parents=True)
    place(kind, cli.state_dir / "starvideos-tui.log")

    result = run(cli, "add", TASK)

    assert result.code == 0 and result.err == "", str(result)
    assert [r["id"] for r in cli.records()] == [TASK]


def test_a_sending_ledger_that_is_a_fifo_is_refused_before_anything_is_sent(
    cli: Cli, sim: Simulator, place: Callable[..., Path]
) -> None:
    cli.ok("add", TASK)
    ledger = Path(f"{cli.watchlist}.sending")
    place("fifo", ledger)
    batch = cli.cwd / "batch.jsonl"
    batch.write_text('{"prompt": "a cat"}\n')

    result = run(cli, *FAST, "create", "--from", str(batch))

    assert_fails(result, 1, str(ledger), "a FIFO")
    assert not [r for r in sim.requests if r.method == "POST"]


# -- class 4: create --from, add -, login -------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_create_from_a_file_that_is_not_a_file_is_refused_naming_it(
    cli: Cli, sim: Simulator, place: Callable[..., Path], kind: str
) -> None:
    path = place(kind)

    result = run(cli, *FAST, "create", "--from", str(path))

    assert_fails(result, 2, str(path), KINDS[kind])
    assert not sim.requests and not cli.watchlist.exists()


def test_create_from_stdin_stops_reading_dev_zero_at_the_line_cap(cli: Cli, sim: Simulator) -> None:
    with open("/dev/zero", "rb") as zeros:
        result = run(cli, *FAST, "create", "--from", "-", stdin=zeros)

    assert_fails(result, 2, "stdin, line 1", "over 1 MB")
    assert not sim.requests


def test_create_from_refuses_a_line_over_the_cap_naming_it(cli: Cli, sim: Simulator) -> None:
    batch = cli.cwd / "batch.jsonl"
    batch.write_bytes(b'{"prompt": "a cat"}\n{"prompt": "' + b"x" * 1_100_000 + b'"}\n')

    assert_fails(run(cli, *FAST, "create", "--from", str(batch)), 2, "line 2", "over 1 MB")
    assert not sim.requests


def test_create_from_refuses_a_file_over_the_total_cap(cli: Cli, sim: Simulator) -> None:
    line = b'{"prompt": "' + b"a cat " * 500 + b'"}\n'
    batch = cli.cwd / "batch.jsonl"
    batch.write_bytes(line * (33_000_000 // len(line)))

    with batch.open("rb") as handle:
        result = run(cli, *FAST, "create", "--from", "-", stdin=handle)

    assert_fails(result, 2, "stdin", "over 32 MB")
    assert not sim.requests


def test_add_from_stdin_stops_reading_dev_zero(cli: Cli) -> None:
    with open("/dev/zero", "rb") as zeros:
        assert_fails(run(cli, "add", "-", stdin=zeros), 2, "stdin", "over")
    assert not cli.watchlist.exists()


def test_login_stops_reading_dev_zero_and_a_closed_stdin_is_said(cli: Cli) -> None:
    with open("/dev/zero", "rb") as zeros:
        assert_fails(run(cli, "login", stdin=zeros), 2, "over 4,000 characters")
    assert_fails(run(cli, "login", shell_prefix="<&-"), 2, "stdin is closed")
    assert_fails(run(cli, "login", stdin="sk-café\n".encode()), 2, "ASCII")
    assert not cli.key_file.exists()


# -- class 4 and 8: the config file ---------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_a_config_that_is_not_a_file_is_refused_naming_it(
    cli: Cli, place: Callable[..., Path], kind: str
) -> None:
    place(kind, cli.config_file)
    assert_fails(run(cli, "list"), 2, f"config file {cli.config_file}", KINDS[kind])


def test_a_ten_megabyte_config_is_refused_after_one_megabyte(cli: Cli) -> None:
    cli.config_file.write_bytes(b"# a comment\n" * 900_000)
    assert_fails(cli.run("list"), 2, f"config file {cli.config_file}", "over 1 MB")


def test_a_config_that_is_not_utf8_is_one_line_naming_it(cli: Cli) -> None:
    cli.config_file.write_bytes('interval = 45\nnotify = "café"\n'.encode("latin-1"))
    assert_fails(cli.run("list"), 2, f"config file {cli.config_file}", "not UTF-8")


def test_a_config_saved_with_a_bom_is_read(cli: Cli) -> None:
    cli.config_file.write_bytes(b"\xef\xbb\xbfinterval = 29\n")  # read, so refused for a remote
    result = cli.run("--base-url", "https://example.com", "list")
    assert_fails(result, 2, "--interval 29 is too fast")


# -- class 4 and 8: the key -----------------------------------------------------------------


@pytest.fixture
def keyed(cli: Cli, start_sim: Callable[..., Simulator]) -> tuple[Cli, Simulator]:
    """A CLI whose key comes from the key file, against a simulator that wants KEY."""
    sim = start_sim(api_key=KEY)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    del cli.env["STARVIDEOS_API_KEY"]
    cli.ok("add", done_task(sim))
    return cli, sim


def write_key(cli: Cli, raw: bytes) -> None:
    cli.key_file.write_bytes(raw)
    cli.key_file.chmod(0o600)


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf" + KEY.encode() + b"\n",  # saved by an editor that adds a BOM
        KEY.encode() + b"\r\n",  # saved on Windows
        b"  " + KEY.encode() + b"  \n\n",
    ],
    ids=["bom", "crlf-at-the-end", "blanks-around"],
)
def test_a_key_file_saved_by_an_editor_works(keyed: tuple[Cli, Simulator], raw: bytes) -> None:
    cli, sim = keyed
    write_key(cli, raw)

    result = cli.run(*FAST, "refresh")

    assert result.code == 0, str(result)
    api = [r for r in sim.requests if r.path.startswith("/v1/")]
    assert api and all(r.headers.get("authorization") == f"Bearer {KEY}" for r in api)


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ("sk-café-1\n".encode("latin-1"), "not UTF-8"),
        (KEY.encode("utf-16"), "not UTF-8"),
        (KEY.encode() + b"\r" + b"tail\n", "line break"),
        (KEY.encode() + b"\nsecond-line\n", "line break"),
        (b"sk-two words\n", "space or a control character"),
        (b"sk-\x1b[2Jkey\n", "space or a control character"),
        ("sk-caf\u00e9\n".encode(), "not ASCII"),
        (b"k" * 5000, "over 4 kB"),
    ],
    ids=[
        "latin-1",
        "utf-16",
        "cr-inside",
        "two-lines",
        "space",
        "escape",
        "non-ascii",
        "5-kB",
    ],
)
def test_a_key_file_that_cannot_work_is_one_line_naming_the_file_not_the_key(
    keyed: tuple[Cli, Simulator], raw: bytes, said: str
) -> None:
    cli, sim = keyed
    write_key(cli, raw)
    before = cli.watchlist.read_bytes()

    line = assert_fails(cli.run(*FAST, "refresh"), 1, str(cli.key_file), said)

    assert "cannot reach" not in line
    for secret in (KEY, "sk-caf", "second-line", "tail", "words"):
        assert secret not in line
    assert not polls(sim)
    assert cli.watchlist.read_bytes() == before


@pytest.mark.parametrize("kind", KINDS)
def test_a_key_file_that_is_not_a_file_is_refused_naming_it(
    keyed: tuple[Cli, Simulator], place: Callable[..., Path], kind: str
) -> None:
    cli, sim = keyed
    place(kind, cli.key_file)

    assert_fails(run(cli, *FAST, "refresh"), 1, f"key file {cli.key_file}", KINDS[kind])
    assert not polls(sim)


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("sk-caf\u00e9-key", "not ASCII"),
        ("sk-\u200bkey", "not ASCII"),
        ("sk-first\nsk-second", "line break"),
        ("sk-first\r\nsk-second", "line break"),
        ("sk-\x7fkey", "control character"),
    ],
    ids=["accent", "zero-width", "newline", "crlf", "del"],
)
def test_a_key_in_the_environment_that_cannot_work_names_the_variable(
    keyed: tuple[Cli, Simulator], key: str, said: str
) -> None:
    cli, sim = keyed

    line = assert_fails(
        cli.run(*FAST, "refresh", env={"STARVIDEOS_API_KEY": key}),
        2,
        "STARVIDEOS_API_KEY",
        said,
    )

    assert "sk-" not in line
    assert not polls(sim)


# -- class 9: stdout closed, a port out of range -----------------------------------------


@pytest.mark.parametrize("command", [("list",), ("list", "--json"), ("add", TASK)])
def test_a_closed_stdout_is_one_line_and_nothing_done(cli: Cli, command: tuple[str, ...]) -> None:
    cli.ok("add", "first-task")
    before = cli.watchlist.read_bytes()

    assert_fails(run(cli, *command, shell_prefix=">&-"), 1, "standard output is closed")
    assert cli.watchlist.read_bytes() == before


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_sim_refuses_a_port_out_of_range(cli: Cli, port: str) -> None:
    assert_fails(cli.run("sim", "--port", port), 2, "--port must be between 0 and 65535")


# -- class 12: messages that state the real rule --------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_an_interval_of_zero_says_it_must_be_more_than_zero(cli: Cli, value: str) -> None:
    line = assert_fails(cli.run(f"--interval={value}", "list"), 2, "--interval")
    assert "more than 0" in line and "between 0" not in line


def test_an_interval_of_zero_for_a_remote_api_states_the_30_second_rule(cli: Cli) -> None:
    result = cli.run("--base-url", "https://example.com", "--interval", "0", "list")
    assert_fails(result, 2, "--interval 0 is too fast", "30 s or more")


def test_an_interval_over_an_hour_says_at_most_3600(cli: Cli) -> None:
    assert_fails(cli.run("--interval", "3601", "list"), 2, "at most 3600")


def test_add_reads_ids_after_a_double_dash_as_argparse_does(cli: Cli) -> None:
    result = cli.run("add", "--", "-odd-but-valid", TASK)
    assert result.code == 0, str(result)
    assert [r["id"] for r in cli.records()] == ["-odd-but-valid", TASK]

    line = assert_fails(cli.run("add", "--"), 2, "required: ID")
    assert "unknown option" not in line


@pytest.mark.parametrize(
    "flags",
    [("--auto-download", "--no-auto-download"), ("--no-auto-download", "--auto-download")],
)
def test_auto_download_and_its_negation_together_are_refused(
    cli: Cli, flags: tuple[str, ...]
) -> None:
    result = cli.run(*flags, "add", TASK)
    assert_fails(result, 2, "--auto-download and --no-auto-download contradict each other")
    assert not cli.watchlist.exists()


@pytest.mark.parametrize("command", [("list",), ("add", TASK)])
def test_demo_with_a_command_is_refused(cli: Cli, command: tuple[str, ...]) -> None:
    assert_fails(cli.run("--demo", *command), 2, "--demo opens the TUI", "takes no command")
    assert not cli.watchlist.exists()
