"""Secret hygiene (issue 5, item 7): a whole session, then a search for the key everywhere.

A recognizable key goes in through `login` (stdin), the CLI runs every command against a
simulator that requires that key, the TUI (Pilot) adds, downloads, opens the panel and
copies, and the simulator echoes the key back in error bodies. Then every file under the
test's folder (home, watchlist, logs, downloads, working folder, screenshots) and
everything printed is searched: the key may appear only in its 0600 key file, and the
video host must never have received an Authorization header.
"""

from __future__ import annotations

import base64
import logging
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers_proc import child_environment, fold_ended
from textual.widgets import TextArea

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.cli import main as cli
from starvideos_tui.core.logs import setup_logging
from starvideos_tui.engine.settings import resolve
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.screens.add_ids import AddIdsScreen
from starvideos_tui.tui.widgets.task_table import TaskTable

REPO = Path(__file__).resolve().parents[1]
CANARY = "sk-SECRET-canary-1234567890"
# The key as it could leak in other clothes: URL-encoded, base64 (an OSC 52 copy), bytes.
DISGUISES = [CANARY, quote(CANARY), base64.b64encode(CANARY.encode()).decode()]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    server = Simulator(
        SimConfig(api_key=CANARY, queued_seconds=0.2, processing_seconds=0.5, seed=77)
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def app_logger() -> Iterator[None]:
    """The in-process TUI logs to the test's state dir; leave the logger as found."""
    logger = logging.getLogger("starvideos_tui")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]


class Session:
    """The CLI in child processes sharing one home; every output kept for the search."""

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = root
        self.home = root / "home"
        self.cwd = root / "cwd"
        self.cwd.mkdir()
        self.downloads = root / "downloads"
        self.env = child_environment(self.home)
        self.env.update(
            STARVIDEOS_BASE_URL=base_url,
            STARVIDEOS_DOWNLOAD_DIR=str(self.downloads),
            STARVIDEOS_LOG_LEVEL="debug",
        )
        self.printed: list[tuple[str, bytes]] = []

    def run(self, *args: str, stdin: str = "", expect: int | None = 0) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "starvideos_tui", "--interval", "0.5", *args],
            input=stdin.encode(),
            capture_output=True,
            env=self.env,
            cwd=self.cwd,
            timeout=60,
        )
        name = " ".join(args)
        self.printed += [(f"{name} stdout", result.stdout), (f"{name} stderr", result.stderr)]
        text = result.stdout.decode() + result.stderr.decode()
        assert b"Traceback" not in result.stderr, f"{name}:\n{text}"
        if expect is not None:
            assert result.returncode == expect, f"{name} -> {result.returncode}:\n{text}"
        return result.stdout.decode()


def _echo_bodies(sim: Simulator) -> tuple[str, str]:
    """Two tasks whose polls answer with the key echoed back, as a careless proxy would."""
    refused = "video_starvideos_o3_9100000001"
    broken = "video_starvideos_o3_9100000002"
    sim.add_fixed(
        refused,
        {
            "error": {"message": f"key {CANARY} is disabled", "type": "invalid_api_key"},
            "request": {"headers": {"Authorization": f"Bearer {CANARY}"}},
        },
        status_code=401,
    )
    sim.add_fixed(
        broken,
        f"<html><pre>upstream said: Authorization: Bearer {CANARY}\n{CANARY}</pre></html>",
        status_code=500,
        headers={"Content-Type": "text/html"},
    )
    return refused, broken


async def _tui_session(
    session: Session, sim: Simulator, monkeypatch: pytest.MonkeyPatch, broken: str
) -> tuple[str, str, list[str]]:
    """The TUI built as `starvideos-tui` builds it (key from the key file, real settings),
    driven with Pilot: add by paste, d, enter, c. Returns the screenshot, the clipboard and
    every toast."""
    for name, value in session.env.items():
        if name.startswith("STARVIDEOS_"):
            monkeypatch.setenv(name, value)
    monkeypatch.delenv("STARVIDEOS_API_KEY", raising=False)
    args = cli.build_parser().parse_args(["--interval", "1"])
    settings = resolve(vars(args))
    setup_logging(settings.log_level)
    key = settings.api_key()
    assert key is not None and CANARY not in repr(key)
    watchlist = settings.open_watchlist()
    app = StarVideosApp(
        watchlist=watchlist,
        client=StarVideosClient(settings.base_url, key),
        config=AppConfig(
            download_dir=settings.download_dir, interval=settings.interval, bell=False
        ),
    )
    pasted = sim.seed_task("a cat typed into the TUI", queued=0, processing=0)
    toasts: list[str] = []

    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one(TaskTable)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddIdsScreen)
        app.screen.query_one(TextArea).text = pasted
        await pilot.press("ctrl+s")
        deadline = time.monotonic() + 15
        while (
            pasted not in app.records
            or app.records[pasted].status != "completed"
            or broken not in app.records
            or app.records[broken].last_problem is None
        ):
            assert time.monotonic() < deadline, "the TUI did not poll the pasted id"
            await pilot.pause(0.05)
        table.move_cursor(row=table.row_ids.index(pasted))
        await pilot.pause()
        await pilot.press("d")
        while not app.records[pasted].local_path:
            assert time.monotonic() < deadline, "the TUI did not save the video"
            await pilot.pause(0.05)
        await pilot.press("enter")
        await pilot.press("c")
        clipboard = app.clipboard
        assert clipboard == app.records[pasted].video_url  # the URL, not the key
        table.move_cursor(row=table.row_ids.index(broken))  # the panel on the echoed error
        await pilot.pause()
        toasts = [n.message for n in app._notifications]
        screenshot = app.export_screenshot()
        app.save_screenshot(str(session.root / "tui.svg"))
        assert app.is_running
        app.exit()
    return screenshot, clipboard, toasts


@pytest.mark.slow
async def test_after_a_full_session_the_key_is_only_in_its_0600_key_file(
    tmp_path: Path, sim: Simulator, monkeypatch: pytest.MonkeyPatch, app_logger: None
) -> None:
    session = Session(tmp_path, sim.base_url)
    done = sim.seed_task("a finished cat", queued=0, processing=0)
    doomed = sim.seed_task("a doomed cat", queued=0, processing=0, fail=True)

    # The CLI, every command.
    stored = session.run("login", stdin=CANARY + "\n")
    key_file = session.home / "config" / "api-key"
    assert str(key_file) in stored
    session.run("add", done, doomed)
    created = session.run("create", "--prompt", "a cat made by create").splitlines()[-1]
    session.run("refresh")
    session.run("refresh", "--json")
    saved = Path(session.run("download", done).splitlines()[-1])
    assert saved.is_file() and saved.parent == session.downloads.resolve()
    session.run("watch", "--all-history", expect=1)  # the doomed task failed: exit 1
    assert (session.downloads / f"{created}.mp4").is_file()
    session.run("list")
    session.run("list", "--json")

    # The simulator echoes the key back in error bodies.
    refused, broken = _echo_bodies(sim)
    session.run("add", broken)
    session.run("refresh", expect=1)
    session.run("download", broken, expect=1)
    session.run("list", "--json")
    session.run("add", refused)
    session.run("refresh", expect=1)
    session.run("watch", expect=1)
    session.run("remove", refused)
    # A key file others can read is refused by name, never by content.
    key_file.chmod(0o644)
    session.run("refresh", expect=1)
    key_file.chmod(0o600)

    # The TUI.
    screenshot, clipboard, toasts = await _tui_session(session, sim, monkeypatch, broken)

    # Everything printed.
    for name, output in session.printed:
        for secret in DISGUISES:
            assert secret.encode() not in output, f"the key was printed by `{name}`"
    for shown in (screenshot, clipboard, *toasts):
        for secret in DISGUISES:
            assert secret not in shown, "the key was shown by the TUI"
    assert "***" in screenshot  # the panel shows the echoed error, the key masked

    # Every file the session wrote, once the TUI's watchlist thread has folded the journal.
    fold_ended()
    files = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_symlink()]
    names = {p.name for p in files}
    assert {"api-key", "watchlist.json", "starvideos-tui.log", "tui.svg"} <= names
    assert any(p.suffix == ".mp4" for p in files)
    holding = []
    for path in files:
        data = path.read_bytes()
        if any(secret.encode() in data for secret in DISGUISES):
            holding.append(path)
    assert holding == [key_file], f"the key was written to {holding}"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().strip() == CANARY
    log = (session.home / "state" / "starvideos-tui.log").read_text()
    assert log.strip(), "the log file stayed empty: the search proves little"

    # On the wire: the API got the key, the video host never did.
    api = [r for r in sim.requests if r.path.startswith("/v1/")]
    videos = [r for r in sim.requests if r.path.startswith("/videos/")]
    assert len(videos) >= 3  # the CLI's download, watch, and the TUI's d
    assert all(r.headers.get("authorization") == f"Bearer {CANARY}" for r in api)
    assert not [r.path for r in videos if "authorization" in r.headers]
    assert not [r.path for r in videos if any(s in r.path for s in DISGUISES)]
