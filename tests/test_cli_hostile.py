"""The CLI in a hostile world, as a user runs it: a real simulator for the API, scripted
hosts on loopback for the video; signals, two processes at once, odd environments and
terminal encodings in child processes, the rest in the test's process as a child would
run it (helpers_inproc.SameProcessCli)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers_cli import Cli, Run
from helpers_http import Reply, ScriptedHTTPServer, Seen, ranged
from helpers_inproc import SameProcessCli
from helpers_media import padded_video
from helpers_proc import Spawn

from starvideos_tui.simulator import Simulator


@pytest.fixture
def cli(same_process_cli: SameProcessCli) -> SameProcessCli:
    return same_process_cli


TASK = "video_starvideos_o3_9990001111"
VIDEO = padded_video(400_000)
Serve = Callable[..., ScriptedHTTPServer]


def completed_at(sim: Simulator, url: str, task_id: str = TASK, **extra: Any) -> None:
    """The API says `task_id` is completed, its video at `url`."""
    body = {"id": task_id, "object": "video", "created": 1774836724, "model": "starvideos_o3"}
    body |= {"status": "completed", "video_url": url, "actualDuration": 3, "error": None}
    sim.add_fixed(task_id, body | extra)


def one_line_error(run: Run) -> str:
    assert "Traceback" not in run.err, str(run)
    lines = run.err_lines
    assert len(lines) == 1, str(run)
    return lines[0]


# -- a saved video is a video ------------------------------------------------------------


def test_download_of_a_login_page_fails_saying_what_arrived_and_records_it(
    cli: Cli,
    sim: Simulator,
    serve: Serve,
) -> None:
    page = b"<!DOCTYPE html><html><title>Sign in</title></html>" * 30
    host = serve(lambda _n, _seen: Reply(200, page, {"Content-Type": "text/html"}))
    completed_at(sim, host.url())
    cli.ok("add", TASK)

    run = cli.run("download", TASK)

    assert run.code == 1
    line = one_line_error(run)
    assert "an HTML page, 1.5 kB" in line and "not the video" in line
    record = cli.record(TASK)
    assert record["local_path"] is None and record["media"] is None
    assert "HTML page" in record["download_error"]
    assert not (cli.cwd / "starvideos-downloads" / f"{TASK}.mp4").exists()


def test_download_records_the_media_facts_of_a_saved_video(
    cli: Cli,
    sim: Simulator,
    serve: Serve,
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen))
    completed_at(sim, host.url())
    cli.ok("add", TASK)

    run = cli.ok("download", TASK)

    media = cli.record(TASK)["media"]
    assert media == {
        "container": "mov",
        "codec": "h264",
        "width": 320,
        "height": 180,
        "fps": 12.0,
        "duration": 3.0,
    }
    assert Path(run.out_lines[-1]).read_bytes() == VIDEO


def test_a_cut_body_with_no_length_is_never_called_saved_by_the_cli(
    cli: Cli,
    sim: Simulator,
    serve: Serve,
) -> None:
    host = serve(lambda _n, _seen: Reply(200, VIDEO[: len(VIDEO) // 2], length=False))
    completed_at(sim, host.url())
    cli.ok("add", TASK)

    run = cli.run("download", TASK, timeout=60)

    assert run.code == 1
    assert "cut video" in one_line_error(run)
    assert cli.record(TASK)["local_path"] is None


# -- signals -------------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_download_ends_the_command_at_once_keeping_what_arrived(
    cli: Cli,
    sim: Simulator,
    serve: Serve,
    signum: int,
    spawn: Spawn,
) -> None:
    """A dropped SSH session (SIGHUP) or `systemctl stop` (SIGTERM) while a slow link
    drips: the command ends within a second or two and the bytes are in the `.part`."""
    host = serve(
        lambda n, seen: _drip(ranged(VIDEO, '"v"', seen)) if n == 0 else ranged(VIDEO, '"v"', seen)
    )
    completed_at(sim, host.url())
    cli.ok("add", TASK)
    part = cli.cwd / "starvideos-downloads" / f"{TASK}.mp4.part"
    child = spawn(
        [sys.executable, "-m", "starvideos_tui", "download", TASK],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (part.exists() and part.stat().st_size > 0):
        time.sleep(0.05)
    time.sleep(0.5)  # a few more pieces, some of them inside an unfinished block
    child.send_signal(signum)
    sent = time.monotonic()
    _, err = child.communicate(timeout=10)
    took = time.monotonic() - sent

    assert took < 2.0, err
    assert child.returncode == 128 + signum, err
    said = "interrupted" if signum == signal.SIGINT else signal.Signals(signum).name
    assert "Traceback" not in err and said in err
    kept = part.read_bytes()
    assert len(kept) >= 2000 and kept == VIDEO[: len(kept)]
    resumed = cli.ok("download", TASK, timeout=60)
    assert Path(resumed.out_lines[-1]).read_bytes() == VIDEO


def _drip(reply: Reply) -> Reply:
    reply.pace, reply.piece = 0.05, 1000
    return reply


# -- two watchers, one verdict --------------------------------------------------------


def test_two_watch_processes_on_one_watchlist_both_report_the_video_saved(
    cli: Cli,
    sim: Simulator,
    serve: Serve,
    spawn: Spawn,
) -> None:
    """A cron job and a user's own `watch`: whoever saves the video, neither cries wolf."""

    def slow(_n: int, seen: Seen) -> Reply:
        reply = ranged(VIDEO, '"v"', seen)
        reply.pace, reply.piece = 0.05, 20_000  # ~1 s for the video
        return reply

    host = serve(slow)
    completed_at(sim, host.url())
    cli.ok("add", TASK)
    args = [sys.executable, "-m", "starvideos_tui", "--interval", "0.5", "watch"]
    children = [
        spawn(
            args,
            env=cli.env,
            cwd=cli.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [child.communicate(timeout=60) for child in children]

    for child, (out, err) in zip(children, results, strict=True):
        assert child.returncode == 0, (out, err)
        assert f"{TASK} saved" in out
    assert len([s for s in host.seen if "range" not in s.headers]) == 1  # fetched once


# -- odd environments ------------------------------------------------------------------


def _no_home_env(cli: Cli) -> dict[str, str]:
    env = {k: v for k, v in cli.env.items() if k not in ("HOME", "STARVIDEOS_HOME")}
    return {k: v for k, v in env.items() if not k.startswith("XDG_")}


NO_PASSWD = (
    "import os, pwd, sys\n"
    "def nobody(*_): raise KeyError('getpwuid(): uid not found')\n"
    "pwd.getpwuid = nobody\n"
    "from starvideos_tui.cli.main import main\n"
    "sys.exit(main())\n"
)


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A folder another uid can reach (tmp_path's parents are private), removed at the end."""
    work = Path(tempfile.mkdtemp(prefix="starvideos-nohome-"))
    work.chmod(0o777)
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("how", ["no-passwd-entry", "real-uid-without-entry"])
def test_a_user_without_a_home_gets_one_clear_line_or_a_working_command(
    cli: Cli,
    sim: Simulator,
    open_folder: Path,
    how: str,
) -> None:
    env = _no_home_env(cli)
    work = open_folder
    if how == "no-passwd-entry":
        command = [sys.executable, "-c", NO_PASSWD]
    else:
        setpriv = shutil.which("setpriv")
        if os.geteuid() != 0 or setpriv is None:
            pytest.skip("needs root and setpriv to become a uid with no passwd entry")
        command = [setpriv, "--reuid", "54321", "--regid", "54321", "--clear-groups"]
        probe = subprocess.run([*command, sys.executable, "-c", "pass"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip("the interpreter is not reachable by another uid here")
        command += [sys.executable, "-m", "starvideos_tui"]

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args],
            env={**env, **extra},
            cwd=work,
            capture_output=True,
            text=True,
            input="sk-key\n",
            timeout=30,
        )

    db = str(work / "w.json")
    runs: list[tuple[tuple[str, ...], dict[str, Any]]] = [(("list",), {}), (("login",), {})]
    for args, extra in runs:
        result = run(*args, **extra)
        assert result.returncode == 1, result
        assert result.stderr.count("\n") == 1 and "no home directory" in result.stderr
        assert "Traceback" not in result.stderr
    assert run("add", TASK, STARVIDEOS_DB=db).returncode == 0
    listed = run("list", STARVIDEOS_DB=db)
    assert listed.returncode == 0 and TASK in listed.stdout, listed
    refreshed = run("refresh", STARVIDEOS_DB=db)
    assert "Traceback" not in refreshed.stderr, refreshed


def test_an_ascii_only_terminal_gets_question_marks_not_a_traceback(
    cli: SameProcessCli,
    sim: Simulator,
) -> None:
    task_id = sim.seed_task("猫 on a skateboard… ✓", queued=0, processing=100)
    ascii_env = {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "PYTHONUTF8": "0"}
    # The interpreter's own streams are the point: each run a child.
    child = cli.in_a_child
    created = ("create", "--prompt", "猫 on a skateboard… ✓")
    for args in (created, ("add", task_id), ("list",), ("refresh",), ("list", "--json")):
        run = child(*args, env=ascii_env)
        assert run.code == 0 and "Traceback" not in run.err, str(run)
    assert "?" in child("list", env=ascii_env).out


# -- API quirks through the CLI ----------------------------------------------------------


def test_a_key_refusal_dressed_as_a_200_stops_watch_at_once(
    cli: Cli,
    sim: Simulator,
) -> None:
    sim.add_fixed(TASK, {"code": 401, "msg": "invalid api key"})
    cli.ok("add", TASK)

    run = cli.run("--interval", "0.5", "watch", timeout=20)

    assert run.code == 1
    assert "refused the key" in run.err


def test_a_completed_status_in_capitals_is_downloaded_not_polled_forever(
    cli: Cli,
    sim: Simulator,
    serve: Serve,
) -> None:
    host = serve(lambda _n, seen: ranged(VIDEO, '"v"', seen))
    completed_at(sim, host.url(), status="COMPLETED", actualDuration="3", created=1774836724000)
    cli.ok("add", TASK)

    run = cli.run("--interval", "0.5", "watch", timeout=30)

    assert run.code == 0, str(run)
    record = cli.record(TASK)
    assert record["status"] == "completed" and record["created"] == 1774836724
    assert record["local_path"]
