"""The command line from the outside: `create`, `create --wait` and `create --from`
(a real simulator; each command in the test's process as a child would run it, see
test_cli_e2e.py; a terminal, a signal, another process's lock: real child processes)."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_cli import (
    FAST,
    SAMPLE,
    WAITING,
    Cli,
    assert_fails,
    closed_port,
    posts,
    without_waiting,
)
from helpers_inproc import SameProcessCli
from helpers_proc import Spawn

from starvideos_tui.simulator import Simulator


@pytest.fixture
def cli(same_process_cli: SameProcessCli) -> SameProcessCli:
    return same_process_cli


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
    assert time.monotonic() - sent < 2.0  # "within a second or two": none waited for
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
    cli: SameProcessCli, sim: Simulator, tmp_path: Path
) -> None:
    from starvideos_tui.cli.batch import Sending

    batch = write_jsonl(tmp_path / "batch.jsonl", 2)
    with Sending(cli.watchlist):  # another run, in the middle of its sending
        result = cli.in_a_child("create", "--from", str(batch))
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
