"""The log file (issue 5, item 8): what happened overnight, without secrets, size-bounded.

CLI runs (against the simulator, in the test's process as a child would run them; the
one about stderr in a real child) must leave in
`<state dir>/starvideos-tui.log` the status changes, the errors and the downloads, with
neither the API key nor the query string of a signed video link; `--log-level` decides how
much; the file rotates at 1 MB and keeps three old files.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers_inproc import run_in_process
from helpers_proc import child_environment

from starvideos_tui.core import paths
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.simulator import SimConfig, Simulator

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-logs-test-key-5150"
SIGNED_QUERY = re.compile(r"\?[^\s]*(token|expires|signature)=", re.IGNORECASE)
LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    server = Simulator(SimConfig(queued_seconds=0.2, processing_seconds=0.4, seed=15)).start()
    try:
        yield server
    finally:
        server.stop()


def run_cli(
    home: Path,
    base_url: str,
    *args: str,
    expect: int | None = None,
    capsys: pytest.CaptureFixture[str] | None = None,
) -> str:
    """The command's stderr; run in the test's process as a child would run it when given
    `capsys` (helpers_inproc), else in a real child (where stderr is the process's own)."""
    env = child_environment(home)
    env.update(
        STARVIDEOS_BASE_URL=base_url,
        STARVIDEOS_API_KEY=KEY,
        STARVIDEOS_DOWNLOAD_DIR=str(home.parent / "videos"),
    )
    command = ("--interval", "0.5", *args)
    if capsys is not None:
        run = run_in_process(capsys, command, env=env, cwd=home.parent)
        code, out, err = run.code, run.out, run.err
    else:
        result = subprocess.run(
            [sys.executable, "-m", "starvideos_tui", *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=home.parent,
            timeout=60,
        )
        code, out, err = result.returncode, result.stdout, result.stderr
    assert "Traceback" not in err, err
    if expect is not None:
        assert code == expect, (args, out, err)
    return err


def overnight(
    home: Path, sim: Simulator, capsys: pytest.CaptureFixture[str], *level: str
) -> dict[str, str]:
    """A night's work: tasks that complete, fail, error, and a video link that goes bad."""
    done = sim.seed_task("a cat that completes", queued=0.3, processing=0.3)
    doomed = sim.seed_task("a cat that fails", queued=0, processing=0.3, fail=True)
    broken = f"video_starvideos_o3_77{len(sim.requests):08d}"
    sim.add_fixed(broken, {"error": {"message": "database on fire"}}, status_code=500)
    # A completed task whose signed link redirects to a URL the downloader refuses.
    bad_link = f"video_starvideos_o3_88{len(sim.requests):08d}"
    target = "http://user:pw@127.0.0.1:9/v.mp4?token=SIGNED-SECRET-abc&expires=99"
    sim.add_fixed(
        bad_link,
        {
            "id": bad_link,
            "object": "video",
            "status": "completed",
            "video_url": f"{sim.base_url}/redirect?to={target}",
        },
    )
    ids = {"done": done, "doomed": doomed, "broken": broken, "bad_link": bad_link}
    run_cli(home, sim.base_url, *level, "add", *ids.values(), expect=0, capsys=capsys)
    run_cli(home, sim.base_url, *level, "refresh", capsys=capsys)
    run_cli(home, sim.base_url, *level, "download", bad_link, expect=1, capsys=capsys)
    run_cli(home, sim.base_url, *level, "remove", broken, bad_link, expect=0, capsys=capsys)
    # The doomed one failed (before or during the run: --all-history counts it either way).
    run_cli(home, sim.base_url, *level, "watch", "--all-history", expect=1, capsys=capsys)
    run_cli(home, sim.base_url, *level, "download", done, expect=0, capsys=capsys)
    return ids


def log_of(home: Path) -> str:
    path = home / "state" / "starvideos-tui.log"
    assert path.is_file(), "no log file in the state dir"
    return path.read_text(encoding="utf-8")


def test_the_log_tells_what_happened_overnight_without_the_key_or_signed_links(
    tmp_path: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    ids = overnight(home, sim, capsys)
    log = log_of(home)
    lines = log.splitlines()

    assert all(LINE.match(line) for line in lines if line.strip()), lines[:3]
    # Status changes, with the task they belong to.
    assert re.search(rf"task {ids['done']}: .*-> completed", log), log
    assert re.search(rf"task {ids['doomed']}: .*-> failed", log), log
    # Errors: the API's 500 and the refused link.
    assert re.search(rf"WARNING .*poll {ids['broken']} failed .*HTTP 500", log), log
    assert re.search(rf"WARNING .*video of {ids['bad_link']} not saved", log), log
    # Downloads, with where the file went.
    assert re.search(rf"INFO .*saved video of {ids['done']} to \S+\.mp4", log), log
    # Never the key, never the query string of a signed link.
    assert KEY not in log
    assert "SIGNED-SECRET" not in log
    assert not SIGNED_QUERY.search(log), SIGNED_QUERY.search(log)


def test_log_level_debug_writes_more_than_log_level_error(
    tmp_path: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    quiet, chatty = tmp_path / "quiet" / "home", tmp_path / "chatty" / "home"
    quiet.parent.mkdir()
    chatty.parent.mkdir()
    overnight(quiet, sim, capsys, "--log-level", "error")
    overnight(chatty, sim, capsys, "--log-level", "debug")

    quiet_lines = log_of(quiet).splitlines()
    chatty_lines = log_of(chatty).splitlines()
    assert len(chatty_lines) > len(quiet_lines)
    assert not [line for line in quiet_lines if re.search(r" (DEBUG|INFO|WARNING) ", line)]
    assert [line for line in chatty_lines if " DEBUG " in line]
    assert KEY not in "\n".join(chatty_lines)
    assert not SIGNED_QUERY.search("\n".join(chatty_lines))


@pytest.fixture
def logger_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[logging.Logger]:
    """setup_logging in this process, pointed at tmp_path; the logger is restored after."""
    monkeypatch.setenv("STARVIDEOS_HOME", str(tmp_path / "home"))
    logger = logging.getLogger("starvideos_tui")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    logger.handlers[:] = [h for h in logger.handlers if not getattr(h, "_starvideos", False)]
    yield logger
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]


def test_log_file_rotates_at_1_mb_and_keeps_three_old_files(logger_in: logging.Logger) -> None:
    setup_logging("info")
    path = paths.log_file()
    assert path.parent == Path(os.environ["STARVIDEOS_HOME"]) / "state"
    [handler] = [h for h in logger_in.handlers if isinstance(h, logging.FileHandler)]
    assert isinstance(handler, logging.handlers.RotatingFileHandler)
    assert (handler.maxBytes, handler.backupCount) == (1_000_000, 3)

    chatter = logging.getLogger("starvideos_tui.engine.poll")
    note = "a long note " * 70  # lines of ~900 bytes: 6 MB in 7,000 lines, not 60,000
    for i in range(7_000):  # about 6 MB of lines: more than the four files hold
        chatter.info("task video_starvideos_o3_%010d: %s (line %d)", i, note, i)
    handler.flush()

    names = sorted(p.name for p in path.parent.iterdir())
    assert names == [
        "starvideos-tui.log",
        "starvideos-tui.log.1",
        "starvideos-tui.log.2",
        "starvideos-tui.log.3",
    ]
    for name in names:
        assert (path.parent / name).stat().st_size <= 1_000_000
    total = sum((path.parent / n).stat().st_size for n in names)
    assert total > 3_000_000  # the old files were kept, not truncated away
    assert "(line 6999)" in path.read_text()  # the newest lines are in the current file


def test_signed_links_and_bearer_keys_are_masked_in_any_log_line(
    logger_in: logging.Logger,
) -> None:
    setup_logging("debug")
    log = logging.getLogger("starvideos_tui.video.download")
    log.warning(
        "fetching https://cdn.example.com/v/abc.mp4?X-Amz-Signature=deadbeef&token=t0k3n "
        "with Authorization: Bearer %s",
        KEY,
    )
    for handler in logger_in.handlers:
        handler.flush()
    text = paths.log_file().read_text()
    assert "https://cdn.example.com/v/abc.mp4?…" in text
    assert "deadbeef" not in text and "t0k3n" not in text
    assert KEY not in text and "Bearer ***" in text


def test_unwritable_state_dir_does_not_spill_log_lines_onto_stderr(
    tmp_path: Path, sim: Simulator
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "state").write_text("a file where the state folder should be")
    broken = "video_starvideos_o3_7700000001"
    sim.add_fixed(broken, {"error": {"message": "database on fire"}}, status_code=500)
    run_cli(home, sim.base_url, "add", broken, expect=0)
    stderr = run_cli(home, sim.base_url, "refresh", expect=1)
    assert len(stderr.splitlines()) == 1, stderr
