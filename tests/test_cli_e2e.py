"""The command line from the outside (CONTRACT.md): real subprocesses, a real simulator.

Every test runs `python -m starvideos_tui ...` (or the `starvideos-tui` console script) as a
child process against a Simulator listening on loopback in this process, with
STARVIDEOS_HOME pointing every user folder at a temporary directory and no other
STARVIDEOS_* variable inherited. What is checked is what a user or a script sees: stdout,
stderr (one line for an error, never a traceback), the exit code, and which files were
(not) written.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import socket
import stat
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from contract import LIST_JSON_KEYS
from helpers_proc import Spawn

from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.video import sample_video

PROG = "starvideos-tui"
KEY = "sk-e2e-test-key-0000"
REQUIRED_KEYS = LIST_JSON_KEYS
FAST = ("--interval", "0.5")
SAMPLE = sample_video(3).data
SUBCOMMANDS = ["add", "remove", "list", "refresh", "download", "create", "watch", "login", "sim"]


# -- running the CLI ----------------------------------------------------------------------


@dataclass
class Run:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def __str__(self) -> str:
        return (
            f"{PROG} {' '.join(self.args)} -> {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"
        )


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("STARVIDEOS_")}


class Cli:
    """Runs the CLI in a child process with its own home, working folder and environment."""

    def __init__(self, tmp_path: Path, base_url: str) -> None:
        self.home = tmp_path / "home"
        self.cwd = tmp_path / "cwd"
        self.cwd.mkdir()
        self.env = clean_env()
        self.env.update(
            STARVIDEOS_HOME=str(self.home),
            STARVIDEOS_BASE_URL=base_url,
            STARVIDEOS_API_KEY=KEY,
        )
        self.runs: list[Run] = []

    @property
    def watchlist(self) -> Path:
        return self.home / "data" / "watchlist.json"

    @property
    def key_file(self) -> Path:
        return self.home / "config" / "api-key"

    @property
    def config_file(self) -> Path:
        return self.home / "config" / "config.toml"

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        drop: tuple[str, ...] = (),
        command: list[str] | None = None,
        timeout: float = 30,
    ) -> Run:
        full_env = {**self.env, **(env or {})}
        for name in drop:
            full_env.pop(name, None)
        proc = subprocess.run(
            [*(command or [sys.executable, "-m", "starvideos_tui"]), *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            cwd=self.cwd,
            timeout=timeout,
        )
        result = Run(tuple(args), proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(result)
        return result

    def ok(self, *args: str, **kw: Any) -> Run:
        result = self.run(*args, **kw)
        assert result.code == 0, str(result)
        assert "Traceback" not in result.err, str(result)
        return result

    def records(self, *extra: str) -> list[dict[str, Any]]:
        result = self.ok(*extra, "list", "--json")
        return json.loads(result.out)

    def record(self, task_id: str) -> dict[str, Any]:
        return next(r for r in self.records() if r["id"] == task_id)


def assert_fails(result: Run, code: int, *needles: str) -> str:
    """Exit `code`, exactly one line on stderr holding every needle, no traceback."""
    assert result.code == code, str(result)
    assert "Traceback" not in result.err and "Traceback" not in result.out, str(result)
    assert len(result.err_lines) == 1, f"expected one stderr line\n{result}"
    line = result.err_lines[0]
    assert line.strip(), str(result)
    for needle in needles:
        assert needle in line, f"{needle!r} not in stderr\n{result}"
    return line


WAITING = ("waiting for ", "waiting: ", "saving the video")


def without_waiting(result: Run) -> Run:
    """A waiting command's stderr, off a terminal, says what it waits for and a line per
    poll (progress.py) before any error: the run without those lines."""
    kept = [line for line in result.err.splitlines(keepends=True) if not line.startswith(WAITING)]
    return replace(result, err="".join(kept))


def snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def posts(sim: Simulator) -> list[str]:
    return [r.path for r in sim.requests if r.method == "POST"]


def polls(sim: Simulator, task_id: str | None = None) -> list[str]:
    return [
        r.path
        for r in sim.requests
        if r.method == "GET"
        and r.path.startswith("/v1/result/")
        and (task_id is None or r.path == f"/v1/result/{task_id}")
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, sim: Simulator) -> Cli:
    return Cli(tmp_path, sim.base_url)


def done_task(sim: Simulator, prompt: str = "a finished cat") -> str:
    return sim.seed_task(prompt, queued=0, processing=0)


def failed_task(sim: Simulator, error: str = "Reference image resolution is too low.") -> str:
    return sim.seed_task("a doomed cat", queued=0, processing=0, fail=True, error=error)


def pending_task(sim: Simulator) -> str:
    return sim.seed_task("a slow cat", queued=600, processing=600)


# -- help and entry points ----------------------------------------------------------------


def test_help_explains_the_program(cli: Cli) -> None:
    result = cli.ok("--help")
    for name in SUBCOMMANDS:
        assert name in result.out


@pytest.mark.parametrize("subcommand", SUBCOMMANDS)
def test_help_of_every_subcommand_works(cli: Cli, subcommand: str) -> None:
    result = cli.ok(subcommand, "--help")
    assert subcommand in result.out


def test_installed_starvideos_tui_command_adds_and_lists(cli: Cli, sim: Simulator) -> None:
    script = Path(sys.executable).with_name(PROG)
    assert script.exists(), f"console script missing next to {sys.executable}"
    task_id = done_task(sim)
    added = cli.ok("add", task_id, command=[str(script)])
    assert added.out_lines == [f"added {task_id}"]
    listed = cli.ok("list", command=[str(script)])
    assert task_id in listed.out
    assert cli.ok("--help", command=[str(script)]).out


# -- add / remove -------------------------------------------------------------------------


def test_add_prints_one_line_per_id_and_keeps_a_known_task_as_it_is(
    cli: Cli, sim: Simulator
) -> None:
    first, second = done_task(sim), done_task(sim)
    added = cli.ok("add", first)
    assert added.out_lines == [f"added {first}"]
    cli.ok(*FAST, "refresh")
    before = cli.record(first)
    assert before["status"] == "completed"
    raw = cli.watchlist.read_bytes()

    again = cli.ok("add", first)
    assert len(again.out_lines) == 1 and first in again.out_lines[0]
    assert not again.out_lines[0].startswith("added"), "an id already there was re-added"
    assert cli.watchlist.read_bytes() == raw, "re-adding a known id rewrote the watchlist"

    mixed = cli.ok("add", first, second)
    assert len(mixed.out_lines) == 2
    assert first in mixed.out_lines[0] and not mixed.out_lines[0].startswith("added")
    assert mixed.out_lines[1] == f"added {second}"
    assert cli.record(first) == before
    assert [r["id"] for r in cli.records()] == [first, second]


def test_add_dash_reads_many_ids_from_stdin(cli: Cli) -> None:
    ids = ["task-a", "task_b", "video_starvideos_o3_1", "ns:task.4", "e5"]
    text = f"  {ids[0]} {ids[1]}\n\n{ids[2]}\n\t{ids[3]}   {ids[4]}  \n"
    result = cli.ok("add", "-", input=text)
    assert result.out_lines == [f"added {i}" for i in ids]
    assert [r["id"] for r in cli.records()] == ids


BAD_IDS = {
    "traversal": "../../etc/passwd",
    "slash": "a/b",
    "escape-sequence": "evil\x1b[2Jid",
    "control-char": "bad\x01id",
    "201-chars": "a" * 201,
    "dot": ".",
    "dotdot": "..",
    "space": "two words",
}


@pytest.mark.parametrize("bad", BAD_IDS.values(), ids=BAD_IDS.keys())
def test_malformed_id_is_refused_and_nothing_is_written(cli: Cli, bad: str) -> None:
    # With no watchlist yet: none is created.
    refused = cli.run("add", "good-one", bad)
    line = assert_fails(refused, 2, "invalid task id")
    assert refused.out == ""
    assert not cli.watchlist.exists()
    shown = repr(bad)[1:40]
    assert shown in line, f"the message does not name the id {bad!r}: {line}"
    assert "\x1b" not in refused.err and "\x01" not in refused.err

    # With a watchlist: it stays byte for byte, even with good ids around the bad one.
    cli.ok("add", "kept")
    raw = cli.watchlist.read_bytes()
    assert_fails(cli.run("add", "good-two", bad, "good-three"), 2, "invalid task id")
    assert cli.watchlist.read_bytes() == raw
    if not any(c.isspace() for c in bad):  # stdin splits ids on spaces and newlines
        assert_fails(cli.run("add", "-", input=f"good-four\n{bad}\n"), 2, "invalid task id")
        assert cli.watchlist.read_bytes() == raw
    assert_fails(cli.run("remove", "kept", bad), 2, "invalid task id")
    assert cli.watchlist.read_bytes() == raw


def test_add_dash_with_nothing_on_stdin_is_bad_input(cli: Cli) -> None:
    assert_fails(cli.run("add", "-", input=""), 2)
    assert not cli.watchlist.exists()


def test_remove_prints_one_line_per_id(cli: Cli) -> None:
    cli.ok("add", "one", "two", "three")
    result = cli.ok("remove", "one", "three", "never-added")
    assert len(result.out_lines) == 3
    assert result.out_lines[0] == "removed one"
    assert result.out_lines[1] == "removed three"
    assert "never-added" in result.out_lines[2]
    assert not result.out_lines[2].startswith("removed")
    assert [r["id"] for r in cli.records()] == ["two"]


# -- list / refresh -----------------------------------------------------------------------


def test_list_is_a_table_that_fits_80_columns_and_uses_no_network(cli: Cli, sim: Simulator) -> None:
    long_id = "L" * 200
    failing = failed_task(sim, error="The reference video could not be downloaded. " * 8)
    done = done_task(sim)
    cli.ok("add", long_id, failing, done)
    cli.ok(*FAST, "create", "--prompt", "a very long prompt " * 30)
    cli.run(*FAST, "refresh")
    seen = len(sim.requests)

    result = cli.ok("list", env={"COLUMNS": "80"})  # as in an 80-column terminal
    assert len(sim.requests) == seen, "list went to the network"
    lines = result.out_lines
    assert len(lines) >= 5  # a header and four tasks
    for line in lines:
        assert len(line) <= 80, f"{len(line)} chars: {line!r}"
    body = "\n".join(lines)
    assert failing in body and done in body
    assert "failed" in body and "completed" in body


def test_list_with_a_chinese_prompt_fits_80_terminal_columns(cli: Cli) -> None:
    cli.ok(*FAST, "create", "--prompt", "一只猫在雨中的东京街头慢慢行走，电影感镜头，夜景霓虹灯光")
    for line in cli.ok("list", env={"COLUMNS": "80"}).out_lines:
        assert display_width(line) <= 80, f"{display_width(line)} columns: {line!r}"


def test_list_piped_shows_every_note_in_full_and_fits_a_wide_terminal(
    cli: Cli, sim: Simulator
) -> None:
    reason = "The reference image is too small: at least 720 pixels on the short side. " * 2
    failing = failed_task(sim, reason.strip())
    cli.ok("add", failing)
    cli.run(*FAST, "refresh")

    piped = cli.ok("list").out
    wide = cli.ok("list", env={"COLUMNS": "200"}).out_lines

    assert reason.strip() in piped
    assert all(display_width(line) <= 200 for line in wide)
    assert any(len(line) > 150 for line in wide)  # the room is used, not cut at 16


def test_list_json_is_an_array_with_every_promised_field(cli: Cli, sim: Simulator) -> None:
    cli.ok("add", "plain-id")
    created = cli.ok(*FAST, "create", "--prompt", "a cat on a skateboard").out_lines[-1]
    result = cli.ok("list", "--json")
    items = json.loads(result.out)
    assert isinstance(items, list) and len(items) == 2
    for item in items:
        assert set(item) >= REQUIRED_KEYS, REQUIRED_KEYS - set(item)
    by_id = {item["id"]: item for item in items}
    assert by_id["plain-id"]["prompt"] is None
    assert by_id[created]["prompt"] == "a cat on a skateboard"
    assert by_id[created]["status"] == "queued"


def test_empty_list_is_not_an_error(cli: Cli) -> None:
    assert cli.run("list").code == 0
    assert json.loads(cli.ok("list", "--json").out) == []


def test_refresh_polls_only_unfinished_tasks_and_prints_the_list(cli: Cli, sim: Simulator) -> None:
    done, failing, pending = done_task(sim), failed_task(sim), pending_task(sim)
    cli.ok("add", done, failing, pending)

    first = cli.ok(*FAST, "refresh", env={"COLUMNS": "80"})
    assert sorted(polls(sim)) == sorted(f"/v1/result/{i}" for i in (done, failing, pending))
    for task_id in (done, failing, pending):
        assert task_id in first.out
    assert "completed" in first.out and "failed" in first.out and "queued" in first.out
    assert all(len(line) <= 80 for line in first.out_lines)

    second = cli.ok(*FAST, "refresh")
    assert polls(sim, done) == [f"/v1/result/{done}"], "a completed task was polled again"
    assert polls(sim, failing) == [f"/v1/result/{failing}"], "a failed task was polled again"
    assert len(polls(sim, pending)) == 2
    assert done in second.out

    cli.ok("remove", pending)
    seen = len(sim.requests)
    cli.ok(*FAST, "refresh")
    assert len(sim.requests) == seen, "refresh with only final tasks went to the network"


def test_refresh_json_prints_the_polled_state_as_json(cli: Cli, sim: Simulator) -> None:
    done, failing = done_task(sim), failed_task(sim, error="Insufficient account balance.")
    cli.ok("add", done, failing)
    items = json.loads(cli.ok(*FAST, "refresh", "--json").out)
    assert all(set(item) >= REQUIRED_KEYS for item in items)
    by_id = {item["id"]: item for item in items}
    assert by_id[done]["status"] == "completed"
    assert by_id[done]["video_url"].startswith(sim.base_url)
    assert by_id[done]["actual_duration"] == 3
    assert by_id[failing]["status"] == "failed"
    assert by_id[failing]["error"] == "Insufficient account balance."


# -- download -----------------------------------------------------------------------------


def test_download_polls_first_and_prints_the_saved_path_last(cli: Cli, sim: Simulator) -> None:
    task_id = done_task(sim)
    cli.ok("add", task_id)  # never polled: download has to ask first
    result = cli.ok(*FAST, "download", task_id)
    saved = Path(result.out_lines[-1])
    if not saved.is_absolute():
        saved = cli.cwd / saved
    assert saved.is_file()
    assert saved.read_bytes() == SAMPLE
    assert task_id in saved.name
    assert polls(sim, task_id), "download did not poll the task"
    assert cli.record(task_id)["local_path"] is not None


def test_download_to_a_chosen_folder(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    task_id = done_task(sim)
    cli.ok("add", task_id)
    folder = tmp_path / "my videos"
    result = cli.ok(*FAST, "download", task_id, "--to", str(folder))
    saved = Path(result.out_lines[-1])
    assert saved.parent.resolve() == folder.resolve()
    assert saved.read_bytes() == SAMPLE
    assert not (cli.cwd / "starvideos-downloads").exists()


def test_download_again_reuses_the_saved_file(cli: Cli, sim: Simulator) -> None:
    task_id = done_task(sim)
    cli.ok("add", task_id)
    first = cli.ok(*FAST, "download", task_id).out_lines[-1]
    second = cli.ok(*FAST, "download", task_id).out_lines[-1]
    assert first == second
    assert len(list(Path(first).parent.iterdir())) == 1


def test_download_works_with_a_short_api_key(cli: Cli, sim: Simulator) -> None:
    cli.env["STARVIDEOS_API_KEY"] = "k"  # the simulator accepts any non-empty key
    task_id = done_task(sim)
    cli.ok("add", task_id)
    saved = Path(cli.ok(*FAST, "download", task_id).out_lines[-1])
    assert saved.read_bytes() == SAMPLE


def test_refresh_works_with_a_key_that_occurs_in_task_ids(cli: Cli, sim: Simulator) -> None:
    cli.env["STARVIDEOS_API_KEY"] = "o3"
    task_id = done_task(sim)
    cli.ok("add", task_id)
    assert json.loads(cli.ok(*FAST, "refresh", "--json").out)[0]["status"] == "completed"


def test_download_of_a_failed_task_says_why(cli: Cli, sim: Simulator) -> None:
    task_id = failed_task(sim, error="Reference image resolution is too low.")
    cli.ok("add", task_id)
    result = cli.run(*FAST, "download", task_id)
    assert_fails(result, 1, "Reference image resolution is too low.")
    assert not (cli.cwd / "starvideos-downloads").exists() or not any(
        (cli.cwd / "starvideos-downloads").iterdir()
    )


def test_download_of_an_unfinished_task_fails_cleanly(cli: Cli, sim: Simulator) -> None:
    task_id = pending_task(sim)
    cli.ok("add", task_id)
    assert_fails(cli.run(*FAST, "download", task_id), 1, task_id)


def test_download_of_a_malformed_id_is_bad_input(cli: Cli, sim: Simulator) -> None:
    assert_fails(cli.run("download", "../x"), 2, "../x")
    assert not sim.requests


# -- create -------------------------------------------------------------------------------


def test_create_prints_the_new_id_last_and_watches_it(cli: Cli, sim: Simulator) -> None:
    result = cli.ok(
        *FAST, "create", "--prompt", "a fox in snow", "--duration", "5", "--ratio", "16:9"
    )
    new_id = result.out_lines[-1]
    assert posts(sim) == ["/v1/starvideos/videos"]
    record = cli.record(new_id)
    assert record["prompt"] == "a fox in snow"
    assert record["status"] == "queued"


BAD_CREATE = {
    "duration-2": ["--duration", "2"],
    "duration-16": ["--duration", "16"],
    "duration-word": ["--duration", "five"],
    "ratio-4:3": ["--ratio", "4:3"],
    "8-images": [a for i in range(8) for a in ("--image", f"https://img.test/{i}.png")],
    "5-images-with-video": [
        *[a for i in range(5) for a in ("--image", f"https://img.test/{i}.png")],
        "--video",
        "https://vid.test/ref.mp4",
    ],
    "image-with-first-image": [
        "--image",
        "https://img.test/a.png",
        "--first-image",
        "https://img.test/b.png",
    ],
    "non-http-image": ["--image", "file:///etc/passwd"],
    "non-http-video": ["--video", "ftp://vid.test/ref.mp4"],
    "empty-prompt": [],
}


@pytest.mark.parametrize("extra", BAD_CREATE.values(), ids=BAD_CREATE.keys())
def test_create_with_a_wrong_combination_sends_and_writes_nothing(
    cli: Cli, sim: Simulator, extra: list[str]
) -> None:
    prompt = "" if not extra else "a cat"
    result = cli.run(*FAST, "create", "--prompt", prompt, *extra)
    assert_fails(result, 2)
    assert result.out == ""
    assert posts(sim) == [], "a refused request was sent to the API"
    assert not sim.requests
    assert not cli.watchlist.exists()


def test_create_wait_saves_the_video_and_exits_0(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    folder = tmp_path / "dl"
    result = cli.ok(*FAST, "--download-dir", str(folder), "create", "--prompt", "a cat", "--wait")
    new_id = result.out_lines[0]
    assert new_id.startswith("video_starvideos_o3_")
    saved = folder / f"{new_id}.mp4"
    assert saved.read_bytes() == SAMPLE
    assert str(saved) in result.out
    record = cli.record(new_id)
    assert record["status"] == "completed"
    assert Path(record["local_path"]).resolve() == saved.resolve()
    # stderr is a pipe here: what it waits for, then a line per poll (a log shows it alive)
    assert result.err_lines[0] == f"waiting for {new_id} (queued); polling every 0.5 s"
    assert all(line.startswith(WAITING) for line in result.err_lines), result.err


def test_create_wait_says_on_a_terminal_what_it_waits_for_and_stdout_keeps_the_id(
    cli: Cli, sim: Simulator, tmp_path: Path, spawn: Spawn
) -> None:
    """`id=$(starvideos-tui create --wait …)` in a terminal: stdout is a pipe, stderr the
    terminal, where one line is rewritten in place until the video is saved."""
    master, slave = pty.openpty()
    command = [sys.executable, "-m", "starvideos_tui", *FAST, "--download-dir", str(tmp_path)]
    child = spawn(
        [*command, "create", "--prompt", "a slow cat", "--wait"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**cli.env, "COLUMNS": "100"},
        cwd=cli.cwd,
    )
    os.close(slave)
    terminal = b""
    try:
        while child.poll() is None or select.select([master], [], [], 0.1)[0]:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    terminal += os.read(master, 65536)
                except OSError:
                    break
        stdout = child.stdout.read().decode() if child.stdout else ""
    finally:
        if child.poll() is None:
            child.kill()
        os.close(master)
    assert child.wait(timeout=30) == 0, terminal
    new_id = stdout.splitlines()[0]
    assert f"\rwaiting: {new_id} queued".encode() in terminal
    assert b"next poll in" in terminal
    assert terminal.endswith(b"\r\x1b[K")  # the line taken away at the end
    assert "waiting" not in stdout


def test_create_wait_on_a_failing_prompt_exits_1(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    folder = tmp_path / "dl"
    result = cli.run(
        *FAST, "--download-dir", str(folder), "create", "--prompt", "please FAIL", "--wait"
    )
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    new_id = result.out_lines[0]
    assert cli.record(new_id)["status"] == "failed"
    assert not folder.exists() or not any(folder.iterdir())


def test_create_wait_on_a_failing_prompt_says_why_on_stderr(cli: Cli, sim: Simulator) -> None:
    result = cli.run(*FAST, "create", "--prompt", "please FAIL", "--wait")
    assert_fails(without_waiting(result), 1, "failed")


# -- watch --------------------------------------------------------------------------------


def test_watch_saves_every_video_and_exits_0(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    ids = [sim.seed_task(f"cat {i}", queued=0.2, processing=0.5) for i in range(3)]
    cli.ok("add", *ids)
    folder = tmp_path / "dl"
    result = cli.ok(*FAST, "--download-dir", str(folder), "watch", timeout=60)
    for task_id in ids:
        assert (folder / f"{task_id}.mp4").read_bytes() == SAMPLE
        assert any(task_id in line and "completed" in line for line in result.out_lines)
    assert all(r["local_path"] for r in cli.records())
    # one line per status change: no line repeats
    assert len(result.out_lines) == len(set(result.out_lines))


def test_watch_exits_1_when_a_task_failed(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    good = sim.seed_task("cat", queued=0.2, processing=0.5)
    bad = sim.seed_task("cat", queued=0.2, processing=0.5, fail=True, error="Too dark.")
    cli.ok("add", good, bad)
    folder = tmp_path / "dl"
    result = cli.run(*FAST, "--download-dir", str(folder), "watch", timeout=60)
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert (folder / f"{good}.mp4").read_bytes() == SAMPLE
    assert not (folder / f"{bad}.mp4").exists()
    assert "Too dark." in result.out + result.err


def test_watch_with_a_failed_task_says_so_on_stderr(cli: Cli, sim: Simulator) -> None:
    cli.ok("add", failed_task(sim))
    assert_fails(cli.run(*FAST, "watch", timeout=60), 1)


def test_watch_gives_up_on_an_id_the_api_never_knows(cli: Cli, sim: Simulator) -> None:
    cli.ok("add", "ghost-task")
    started = time.monotonic()
    result = cli.run(*FAST, "watch", timeout=30)
    assert result.code == 1, str(result)
    assert "Traceback" not in result.err
    assert "ghost-task" in result.out
    assert time.monotonic() - started < 20


def test_watch_of_an_empty_watchlist_fails_cleanly(cli: Cli) -> None:
    assert_fails(cli.run(*FAST, "watch"), 1)


# -- login and the key --------------------------------------------------------------------


def test_login_stores_the_key_privately_and_later_commands_use_it(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    secret = "sk-live-S3cr3t-e2e-9f8e7d"
    sim = start_sim(api_key=secret)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    del cli.env["STARVIDEOS_API_KEY"]

    result = cli.ok("login", input=secret + "\n")
    assert str(cli.key_file) in result.out
    mode = stat.S_IMODE(cli.key_file.stat().st_mode)
    assert mode == 0o600, oct(mode)
    assert cli.key_file.read_text().strip() == secret

    task_id = done_task(sim)
    cli.ok("add", task_id)
    refreshed = cli.ok(*FAST, "--log-level", "debug", "refresh", "--json")
    assert json.loads(refreshed.out)[0]["status"] == "completed"
    cli.ok(*FAST, "--log-level", "debug", "download", task_id)
    created = cli.ok(*FAST, "--log-level", "debug", "create", "--prompt", "x").out_lines[-1]
    assert cli.record(created)["prompt"] == "x"
    api = [r for r in sim.requests if r.path.startswith("/v1/")]
    video = [r for r in sim.requests if r.path.startswith("/videos/")]
    assert api and video
    assert all(r.headers.get("authorization") == f"Bearer {secret}" for r in api)
    assert not any("authorization" in r.headers for r in video), "key sent to the video host"

    for run in cli.runs:
        assert secret not in run.out and secret not in run.err, str(run)
    assert secret not in cli.watchlist.read_text()
    logs = [p for p in cli.state_dir.rglob("*") if p.is_file()]
    assert logs, "no log file was written in the state dir"
    for path in logs:
        assert secret not in path.read_text(errors="replace"), path


def test_login_with_nothing_on_stdin_is_refused(cli: Cli) -> None:
    assert_fails(cli.run("login", input=""), 2)
    assert not cli.key_file.exists()


def test_a_key_file_readable_by_others_is_refused_with_a_chmod_hint(
    cli: Cli, sim: Simulator
) -> None:
    del cli.env["STARVIDEOS_API_KEY"]
    cli.ok("login", input=KEY + "\n")
    cli.key_file.chmod(0o644)
    task_id = done_task(sim)
    cli.ok("add", task_id)
    raw = cli.watchlist.read_bytes()
    line = assert_fails(cli.run(*FAST, "refresh"), 1, "chmod", str(cli.key_file))
    assert KEY not in line
    assert cli.watchlist.read_bytes() == raw
    assert not polls(sim)


def test_a_command_without_any_key_fails_cleanly(cli: Cli, sim: Simulator) -> None:
    del cli.env["STARVIDEOS_API_KEY"]
    cli.ok("add", done_task(sim))
    assert_fails(cli.run(*FAST, "refresh"), 1, "login")
    assert not sim.requests


# -- settings -----------------------------------------------------------------------------


def test_db_setting_follows_flag_then_env_then_config_then_default(
    cli: Cli, tmp_path: Path
) -> None:
    flag_db, env_db, config_db = (tmp_path / f"{n}.json" for n in ("flag", "env", "config"))
    cli.config_file.parent.mkdir(parents=True)
    cli.config_file.write_text(f"db = {json.dumps(str(config_db))}\n")
    every = (flag_db, env_db, config_db, cli.watchlist)

    def only(path: Path) -> None:
        assert [p for p in every if p.exists()] == [path]
        path.unlink()

    with_env = {"STARVIDEOS_DB": str(env_db)}
    cli.ok("--db", str(flag_db), "add", "one", env=with_env)
    only(flag_db)
    cli.ok("add", "two", env=with_env)
    only(env_db)
    cli.ok("add", "three")
    only(config_db)
    cli.config_file.unlink()
    cli.ok("add", "four")
    only(cli.watchlist)


def test_interval_setting_follows_flag_then_env_then_config(cli: Cli) -> None:
    remote = {"STARVIDEOS_BASE_URL": "https://example.com"}
    cli.config_file.parent.mkdir(parents=True)
    cli.config_file.write_text("interval = 5\n")
    assert_fails(cli.run("list", env=remote), 2, "interval")
    cli.ok("list", env={**remote, "STARVIDEOS_INTERVAL": "60"})
    assert_fails(cli.run("list", env={**remote, "STARVIDEOS_INTERVAL": "5"}), 2, "interval")
    cli.ok("--interval", "45", "list", env={**remote, "STARVIDEOS_INTERVAL": "5"})


def test_short_interval_is_allowed_for_the_simulator_only(cli: Cli, sim: Simulator) -> None:
    cli.ok("--interval", "5", "list")
    cli.ok("--interval", "5", "add", "some-task")
    raw = cli.watchlist.read_bytes()
    refused = cli.run("--base-url", "https://example.com", "--interval", "5", "add", "other")
    assert_fails(refused, 2, "interval")
    assert cli.watchlist.read_bytes() == raw
    assert_fails(
        cli.run("--interval", "5", "list", env={"STARVIDEOS_BASE_URL": "https://example.com"}),
        2,
        "interval",
    )
    assert not sim.requests


@pytest.mark.parametrize("value", ["abc", "0", "-3", "nan"])
def test_interval_that_is_not_a_positive_number_is_bad_input(cli: Cli, value: str) -> None:
    assert_fails(cli.run(f"--interval={value}", "add", "x"), 2, "interval")
    assert not cli.watchlist.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--bogus", "list"],
        ["list", "--bogus"],
        ["--api-key", "k", "list"],
        ["frobnicate"],
        ["create"],
        ["download"],
    ],
    ids=["global", "subcommand", "api-key-flag", "unknown-command", "missing-prompt", "no-id"],
)
def test_unknown_flag_or_missing_argument_is_bad_input(cli: Cli, args: list[str]) -> None:
    assert_fails(cli.run(*args), 2)
    assert not cli.watchlist.exists()


def test_global_flags_go_before_the_subcommand(cli: Cli, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen.json"
    assert_fails(cli.run("add", "--db", str(chosen), "x"), 2)
    assert not chosen.exists() and not cli.watchlist.exists()
    cli.ok("--db", str(chosen), "add", "x")
    assert chosen.exists() and not cli.watchlist.exists()


def test_plain_http_to_a_remote_host_is_refused(cli: Cli) -> None:
    assert_fails(cli.run("--base-url", "http://example.com", "list"), 2, "http")


def test_bad_auto_download_value_is_bad_input(cli: Cli) -> None:
    assert_fails(cli.run("list", env={"STARVIDEOS_AUTO_DOWNLOAD": "maybe"}), 2)


# -- failures of the world ----------------------------------------------------------------


def test_wrong_key_on_refresh_is_one_clear_line(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(api_key="right-key-123")
    wrong = "wrong-key-d41d8cd9"
    cli.env.update(STARVIDEOS_BASE_URL=sim.base_url, STARVIDEOS_API_KEY=wrong)
    ids = [done_task(sim) for _ in range(3)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    line = assert_fails(result, 1, "key")
    assert "401" in line or "refused" in line
    assert wrong not in result.out + result.err
    for path in cli.state_dir.rglob("*"):
        assert not path.is_file() or wrong not in path.read_text(errors="replace"), path
    assert wrong not in cli.watchlist.read_text()
    assert all(task_id in result.out for task_id in ids)
    assert len(polls(sim)) <= 8, "refresh kept polling with a refused key"


def test_unreachable_api_on_refresh_is_one_clear_line(cli: Cli) -> None:
    cli.env["STARVIDEOS_BASE_URL"] = f"http://127.0.0.1:{closed_port()}"
    cli.ok("add", "task-1", "task-2")
    result = cli.run(*FAST, "refresh")
    assert_fails(result, 1, "reach")
    assert "task-1" in result.out


def test_malformed_answers_on_refresh_are_reported_readably(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(fault_malformed=1.0, seed=3)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    ids = [done_task(sim) for _ in range(5)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    line = assert_fails(result, 1, "malformed")
    assert "<html" not in line.lower()
    assert all(task_id in result.out for task_id in ids)
    as_json = cli.run(*FAST, "refresh", "--json")
    assert_fails(as_json, 1)
    assert {item["id"] for item in json.loads(as_json.out)} == set(ids)


def test_server_errors_on_refresh_are_one_clear_line(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(fault_5xx=1.0, seed=5)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    ids = [done_task(sim) for _ in range(4)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    assert result.code == 1, str(result)
    line = assert_fails(result, 1)
    assert "<html" not in line.lower()
    assert all(task_id in result.out for task_id in ids)


def test_rate_limited_refresh_says_so_without_a_traceback(
    cli: Cli, start_sim: Callable[..., Simulator]
) -> None:
    sim = start_sim(rate_limit=1)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    ids = [done_task(sim) for _ in range(12)]
    cli.ok("add", *ids)
    result = cli.run(*FAST, "refresh")
    assert_fails(result, 1, "rate limit")
    assert all(task_id[-20:] in result.out for task_id in ids)
    assert len(polls(sim)) < len(ids), "refresh did not stop at the first 429"
    assert any(r.status == 429 for r in sim.requests)


# -- a damaged watchlist ------------------------------------------------------------------

DAMAGED_COMMANDS = {
    "add": ["add", "x"],
    "add-stdin": ["add", "-"],
    "remove": ["remove", "x"],
    "list": ["list"],
    "list-json": ["list", "--json"],
    "refresh": ["refresh"],
    "refresh-json": ["refresh", "--json"],
    "download": ["download", "x"],
    "create": ["create", "--prompt", "a cat"],
    "watch": ["watch"],
}


@pytest.mark.parametrize("args", DAMAGED_COMMANDS.values(), ids=DAMAGED_COMMANDS.keys())
def test_damaged_watchlist_is_named_and_left_untouched(
    cli: Cli, args: list[str], tmp_path: Path
) -> None:
    cli.watchlist.parent.mkdir(parents=True)
    damaged = b'{"tasks": {"1": {"id": "ok"}, "2": '  # cut short: not JSON
    cli.watchlist.write_bytes(damaged)
    folder = tmp_path / "dl"
    result = cli.run(*FAST, "--download-dir", str(folder), *args, input="x y\n")
    assert_fails(result, 1, str(cli.watchlist))
    assert cli.watchlist.read_bytes() == damaged
    assert not folder.exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"[1, 2, 3]", b'{"tasks": {"1": {"id": "../evil"}}}', b'{"tasks": {"1": 5}}'],
    ids=["empty", "array", "bad-id-inside", "wrong-shape"],
)
def test_watchlist_of_the_wrong_shape_is_named_and_left_untouched(cli: Cli, content: bytes) -> None:
    cli.watchlist.parent.mkdir(parents=True)
    cli.watchlist.write_bytes(content)
    assert_fails(cli.run("list"), 1, str(cli.watchlist))
    assert_fails(cli.run("add", "new-id"), 1, str(cli.watchlist))
    assert cli.watchlist.read_bytes() == content


def test_create_with_a_damaged_watchlist_does_not_submit_an_untracked_task(
    cli: Cli, sim: Simulator
) -> None:
    cli.watchlist.parent.mkdir(parents=True)
    cli.watchlist.write_bytes(b"{not json")
    result = cli.run(*FAST, "create", "--prompt", "a cat")
    assert_fails(result, 1, str(cli.watchlist))
    assert posts(sim) == [], "a task was created on the API although it cannot be watched"


# -- the simulator command ----------------------------------------------------------------


def test_sim_on_a_busy_port_fails_cleanly(cli: Cli, sim: Simulator) -> None:
    busy = urlsplit(sim.base_url).port
    assert busy is not None
    assert_fails(cli.run("sim", "--port", str(busy), timeout=15), 1, str(busy))


def test_sim_command_announces_its_address_and_serves_at_once(tmp_path: Path, spawn: Spawn) -> None:
    port = closed_port()
    env = clean_env()
    env["STARVIDEOS_HOME"] = str(tmp_path / "home")
    proc = spawn(
        [sys.executable, "-m", "starvideos_tui", "sim", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 15)
        assert ready, "sim printed nothing within 15 s"
        line = proc.stdout.readline().strip()
        assert line == f"listening on http://127.0.0.1:{port}"
        url = urlsplit(line.split()[-1])
        request = urllib.request.Request(
            f"http://{url.netloc}/v1/result/no-such-task",
            headers={"Authorization": "Bearer any-key"},
        )
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=10)
        assert answer.value.code == 404
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert time.monotonic() - started < 10
        assert "Traceback" not in err, err
        assert proc.returncode == 0, (proc.returncode, out, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("create", "--promt", "a cat"), "unknown option --promt (did you mean --prompt?)"),
        (("list", "--jsn"), "unknown option --jsn (did you mean --json?)"),
        (("wait", "x", "--timout", "3"), "unknown option --timout (did you mean --timeout?)"),
    ],
)
def test_a_mistyped_flag_is_named_as_unknown(cli: Cli, args: tuple[str, ...], said: str) -> None:
    result = cli.run(*args)
    assert result.code == 2
    assert said in result.err and "Traceback" not in result.err


def test_a_preview_setting_that_is_not_a_mode_is_refused_before_the_screen(cli: Cli) -> None:
    result = cli.run("--demo", env={"STARVIDEOS_PREVIEW": "sixel-please"}, timeout=20)
    assert_fails(result, 2, "STARVIDEOS_PREVIEW", "auto, blocks or off")
    result = cli.run("--preview", "kitty", "--demo", timeout=20)
    assert result.code == 2 and "--preview" in result.err


# -- wait ---------------------------------------------------------------------------------


def test_wait_exits_0_when_every_task_completed_with_a_line_per_change(
    cli: Cli, sim: Simulator
) -> None:
    ids = [sim.seed_task(f"cat {i}", queued=0.2, processing=0.5) for i in range(2)]
    result = cli.ok(*FAST, "wait", *ids, timeout=60)
    for task_id in ids:
        ends = [line for line in result.out_lines if line.startswith(f"{task_id} ")]
        assert ends and ends[-1].endswith("-> completed"), str(result)
    assert len(result.out_lines) == len(set(result.out_lines))
    assert not (cli.cwd / "starvideos-downloads").exists()  # nothing saved without --download
    assert {r["id"] for r in cli.records()} == set(ids)  # an id not watched yet is added


def test_wait_exits_1_when_any_task_failed(cli: Cli, sim: Simulator) -> None:
    good = done_task(sim)
    bad = sim.seed_task("cat", queued=0.2, processing=0.3, fail=True, error="Too dark.")
    result = cli.run(*FAST, "wait", good, bad, timeout=60)
    assert_fails(without_waiting(result), 1, bad)
    assert f"{bad} failed: Too dark." in result.out_lines


def test_wait_exits_3_when_the_timeout_runs_out_first(cli: Cli, sim: Simulator) -> None:
    slow = pending_task(sim)
    started = time.monotonic()
    result = cli.run(*FAST, "wait", slow, "--timeout", "1.5", timeout=30)
    assert_fails(without_waiting(result), 3, "timed out", slow)
    assert time.monotonic() - started < 10
    assert cli.record(slow)["status"] == "queued"  # what it learned is kept


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf"])
def test_wait_with_a_bad_timeout_is_bad_input_and_writes_nothing(
    cli: Cli, sim: Simulator, value: str
) -> None:
    assert_fails(cli.run("wait", done_task(sim), f"--timeout={value}"), 2, "--timeout")
    assert not sim.requests
    assert not cli.watchlist.exists()


def test_wait_download_saves_each_video(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    task_id = sim.seed_task("a cat", queued=0.2, processing=0.3)
    folder = tmp_path / "dl"
    result = cli.ok(*FAST, "--download-dir", str(folder), "wait", task_id, "--download", timeout=60)
    assert (folder / f"{task_id}.mp4").read_bytes() == SAMPLE
    assert result.out_lines[-1] == f"{task_id} saved {folder / f'{task_id}.mp4'}"


def test_wait_json_prints_the_tasks_as_json_and_the_story_on_stderr(
    cli: Cli, sim: Simulator
) -> None:
    good, bad = done_task(sim), failed_task(sim)
    result = cli.run(*FAST, "wait", good, bad, "--json", timeout=60)
    assert result.code == 1, str(result)
    items = json.loads(result.out)
    assert [i["id"] for i in items] == [good, bad]
    assert [i["status"] for i in items] == ["completed", "failed"]
    assert f"{bad} failed: Reference image resolution is too low." in result.err_lines


# -- create --from --------------------------------------------------------------------------


def write_jsonl(path: Path, n: int) -> Path:
    path.write_text(
        "".join(
            json.dumps(
                {"prompt": f"a heron, take {i % 7}", "duration": 3 + i % 3, "label": f"h{i}"}
            )
            + "\n"
            for i in range(n)
        )
    )
    return path


def test_create_from_submits_each_line_once_and_a_rerun_sends_nothing(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", 10)  # lines 1 and 8 ask the same shot
    first = cli.ok("create", "--from", str(batch))
    assert len(first.out_lines) == 10 and len(set(first.out_lines)) == 10
    assert len(posts(sim)) == 10
    records = {r["id"]: r for r in cli.records()}
    assert [records[i]["label"] for i in first.out_lines] == [f"h{i}" for i in range(10)]

    again = cli.ok("create", "--from", str(batch))
    assert again.out_lines == first.out_lines  # each line's task, in the file's order
    assert len(posts(sim)) == 10, "a re-run submitted again"
    assert len(again.err_lines) == 10 and all("already submitted" in e for e in again.err_lines)


def test_create_from_a_csv_file(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    batch = tmp_path / "shots.csv"
    batch.write_text(
        "prompt,duration,ratio,referenceImages,label\n"
        '"a fox, in snow",5,16:9,https://i.test/a.png https://i.test/b.png,fox\n'
        "a cat,,,,\n"
    )
    plan = json.loads(cli.ok("create", "--from", str(batch), "--dry-run", "--json").out)
    assert plan[0]["body"]["referenceImages"] == ["https://i.test/a.png", "https://i.test/b.png"]
    assert plan[1]["body"] == {"model": "starvideos_o3", "prompt": "a cat"}
    result = cli.ok("create", "--from", str(batch))
    fox = cli.record(result.out_lines[0])
    assert fox["label"] == "fox" and fox["prompt"] == "a fox, in snow"
    assert len(posts(sim)) == 2


def test_create_from_a_file_with_a_bad_line_sends_and_writes_nothing(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", 5)
    with batch.open("a") as f:
        f.write('{"prompt": "a cat", "ratio": "4:3"}\n')
    assert_fails(cli.run("create", "--from", str(batch)), 2, "line 6", "ratio")
    assert not sim.requests
    assert not cli.watchlist.exists()


@pytest.mark.parametrize(
    "extra", [["--prompt", "x"], ["--duration", "5"], ["--image", "https://i.test/a.png"]]
)
def test_create_from_with_a_single_request_flag_is_bad_input(
    cli: Cli, sim: Simulator, tmp_path: Path, extra: list[str]
) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", 2)
    assert_fails(cli.run("create", "--from", str(batch), *extra), 2, extra[0])
    assert not sim.requests


def test_create_from_dry_run_prints_what_would_be_sent_and_sends_nothing(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", 3)
    result = cli.ok("create", "--from", str(batch), "--dry-run")
    assert result.out_lines[0] == (
        'line 1: send {"model": "starvideos_o3", "prompt": "a heron, take 0", "duration": 3}'
    )
    assert "nothing sent" in result.err
    assert not sim.requests and not cli.watchlist.exists()
    cli.ok("create", "--from", str(batch))
    plan = json.loads(cli.ok("create", "--from", str(batch), "--dry-run", "--json").out)
    assert [p["line"] for p in plan] == [1, 2, 3] and all(p["skip"] for p in plan)
    assert len(posts(sim)) == 3


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_create_from_interrupted_then_rerun_submits_every_line_exactly_once(
    cli: Cli, start_sim: Callable[..., Simulator], tmp_path: Path, signum: int, spawn: Spawn
) -> None:
    """20 lines against an API that allows 4 requests a second (429 + Retry-After beyond),
    Ctrl-C (or SIGTERM, SIGHUP) after the first few ids, then the same command again: the
    requests on their way were answered and recorded, so the re-run sends the rest."""
    sim = start_sim(rate_limit=4)
    cli.env["STARVIDEOS_BASE_URL"] = sim.base_url
    batch = write_jsonl(tmp_path / "batch.jsonl", 20)
    proc = spawn(
        [sys.executable, "-m", "starvideos_tui", "create", "--from", str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env,
        cwd=cli.cwd,
        text=True,
    )
    assert proc.stdout is not None
    first_ids = [proc.stdout.readline().strip() for _ in range(3)]
    proc.send_signal(signum)
    sent = time.monotonic()
    # Read through the same buffered file: readline() may have taken more than a line.
    rest, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    assert proc.wait(timeout=20) == 128 + signum, err
    assert time.monotonic() - sent < 1.5  # requests on their way answered, none waited for
    first_ids += rest.split()
    assert 3 <= len(first_ids) < 20, "interrupted too late to show anything"

    again = cli.ok("create", "--from", str(batch), timeout=60)
    assert again.out_lines[: len(first_ids)] == first_ids
    assert len(again.out_lines) == 20 and len(set(again.out_lines)) == 20
    assert len(posts(sim)) - sum(r.status == 429 for r in sim.requests if r.method == "POST") == 20
    assert len(cli.records()) == 20


def test_create_from_does_not_resend_what_a_killed_run_was_sending(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    """A run killed between sending a request and recording its task leaves it in
    `<watchlist>.sending`: perhaps the API made it, so a re-run does not send it again."""
    batch = write_jsonl(tmp_path / "batch.jsonl", 3)
    plan = json.loads(cli.ok("create", "--from", str(batch), "--dry-run", "--json").out)
    assert len(plan) == 3
    from starvideos_tui.cli.batch import read_requests

    second = read_requests(batch.read_text(), "f")[1]
    cli.watchlist.parent.mkdir(parents=True)
    sending = cli.watchlist.with_name("watchlist.json.sending")
    sending.write_text(json.dumps({"key": second.key, "twin": 0, "line": 2}) + "\n")

    result = cli.run("create", "--from", str(batch))
    assert result.code == 1, str(result)
    assert len(posts(sim)) == 2
    assert len(result.out_lines) == 2  # the ids of lines 1 and 3: line 2 has none
    assert "line 2: perhaps sent by a run that stopped" in result.err
    assert f"rm {sending}" in result.err_lines[-1]
    sending.unlink()  # the user checked: it was never made
    cli.ok("create", "--from", str(batch))
    assert len(posts(sim)) == 3


def test_create_needs_a_prompt_or_a_file_and_json_is_one_document(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    assert_fails(cli.run("create"), 2, "--prompt", "--from")
    assert_fails(cli.run("create", "--prompt", "a cat", "--dry-run"), 2, "--dry-run")
    assert not sim.requests
    made = json.loads(cli.ok("create", "--prompt", "a cat", "--json").out)
    assert made["status"] == "queued" and made["prompt"] == "a cat"
    batch = write_jsonl(tmp_path / "batch.jsonl", 2)
    items = json.loads(cli.ok("create", "--from", str(batch), "--json").out)
    assert [i["label"] for i in items] == ["h0", "h1"]


def test_create_from_wait_waits_for_every_line(cli: Cli, sim: Simulator, tmp_path: Path) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", 3)
    folder = tmp_path / "dl"
    result = cli.ok(*FAST, "--download-dir", str(folder), "create", "--from", str(batch), "--wait")
    assert len(list(folder.glob("*.mp4"))) == 3
    assert sum(" saved " in line for line in result.out_lines) == 3


def test_create_from_an_api_that_cannot_be_reached_sent_nothing_and_a_rerun_sends_all(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    batch = write_jsonl(tmp_path / "batch.jsonl", 3)
    down = cli.run(
        "create",
        "--from",
        str(batch),
        env={"STARVIDEOS_BASE_URL": f"http://127.0.0.1:{closed_port()}"},
    )
    assert down.code == 1, str(down)
    assert "nothing was sent" in down.err_lines[-1]
    assert not cli.watchlist.with_name("watchlist.json.sending").exists()
    again = cli.ok("create", "--from", str(batch))
    assert len(again.out_lines) == 3 and len(posts(sim)) == 3


def test_wait_without_a_key_fails_before_watching_anything(cli: Cli, sim: Simulator) -> None:
    result = cli.run("wait", done_task(sim), drop=("STARVIDEOS_API_KEY",))
    assert_fails(result, 1, "no API key")
    assert not cli.watchlist.exists() and not sim.requests


def test_create_from_dry_run_shows_a_hostile_prompt_without_escapes(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.jsonl"
    batch.write_text(
        json.dumps({"prompt": "猫 \x1b[2J\x9b2J\x07 dance", "label": "\x1b]0;x\x07"}) + "\n"
    )
    result = cli.ok("create", "--from", str(batch), "--dry-run")
    assert "\x1b" not in result.out and "\x9b" not in result.out and "\x07" not in result.out
    assert "猫" in result.out and "dance" in result.out
    plan = json.loads(cli.ok("create", "--from", str(batch), "--dry-run", "--json").out)
    assert plan[0]["body"]["prompt"] == "猫 \x1b[2J\x9b2J\x07 dance"  # the data itself is whole


def test_create_from_while_another_run_sends_to_the_same_watchlist_sends_nothing(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    from starvideos_tui.cli.batch import Sending

    batch = write_jsonl(tmp_path / "batch.jsonl", 2)
    with Sending(cli.watchlist):  # another run, in the middle of its sending
        result = cli.run("create", "--from", str(batch))
    assert_fails(result, 1, "another 'create --from'")
    assert not sim.requests
    cli.ok("create", "--from", str(batch))
    assert len(posts(sim)) == 2


def test_create_json_wait_keeps_stdout_one_json_document(
    cli: Cli, sim: Simulator, tmp_path: Path
) -> None:
    result = cli.ok(
        *FAST,
        "--download-dir",
        str(tmp_path / "dl"),
        "create",
        "--prompt",
        "a cat",
        "--json",
        "--wait",
    )
    made = json.loads(result.out)  # the story of the wait went to stderr
    assert made["prompt"] == "a cat"
    assert any(f"{made['id']} saved" in line for line in result.err_lines)
