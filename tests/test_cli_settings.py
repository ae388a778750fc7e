"""The command line from the outside: login and the key, settings (flags, environment,
config.toml), mistyped flags, the `sim` command (each command in the test's process as a
child would run it, see test_cli_e2e.py; what would serve or open a screen if its refusal
broke, and the `sim` that serves, in real child processes)."""

from __future__ import annotations

import json
import select
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers_cli import (
    FAST,
    KEY,
    Cli,
    assert_fails,
    closed_port,
    done_task,
    polls,
)
from helpers_inproc import SameProcessCli
from helpers_proc import Spawn, child_environment

from starvideos_tui.simulator import Simulator


@pytest.fixture
def cli(same_process_cli: SameProcessCli) -> SameProcessCli:
    return same_process_cli


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


# -- the simulator command ----------------------------------------------------------------


def test_sim_on_a_busy_port_fails_cleanly(cli: SameProcessCli, sim: Simulator) -> None:
    busy = urlsplit(sim.base_url).port
    assert busy is not None
    assert_fails(cli.in_a_child("sim", "--port", str(busy), timeout=15), 1, str(busy))


def test_sim_command_announces_its_address_and_serves_at_once(tmp_path: Path, spawn: Spawn) -> None:
    port = closed_port()
    env = child_environment(tmp_path / "home")
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


def test_a_preview_setting_that_is_not_a_mode_is_refused_before_the_screen(
    cli: SameProcessCli,
) -> None:
    result = cli.in_a_child("--demo", env={"STARVIDEOS_PREVIEW": "sixel-please"}, timeout=20)
    assert_fails(result, 2, "STARVIDEOS_PREVIEW", "auto, blocks or off")
    result = cli.in_a_child("--preview", "kitty", "--demo", timeout=20)
    assert result.code == 2 and "--preview" in result.err
