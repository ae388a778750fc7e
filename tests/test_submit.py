"""The one submit path (engine/submit.py) from each face: the TUI's `n` waits out a 429's
Retry-After and submits once; a `create` killed mid-request leaves `<watchlist>.sending`,
so neither a re-run of `create` nor the TUI's `n` sends that request again."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers_inproc import SameProcessCli
from helpers_proc import Spawn
from textual.widgets import Input, Static, TextArea

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import Simulator
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.screens.new_task import NewTaskScreen

KEY = "sk-submit-test"


def posts(sim: Simulator) -> list[int | None]:
    """The status of each create request the simulator answered."""
    return [r.status for r in sim.requests if r.method == "POST"]


def use_up_the_rate(sim: Simulator) -> None:
    """Spend this key's one request of the second, so the next one is answered 429."""
    request = urllib.request.Request(
        f"{sim.base_url}/v1/result/video_starvideos_o3_0000000009",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    for _ in range(3):
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                return
    raise AssertionError("the simulator never answered 429")


def app_on(base_url: str, watchlist: Watchlist, tmp_path: Path) -> StarVideosApp:
    config = AppConfig(download_dir=tmp_path / "videos", interval=30.0, bell=False)
    return StarVideosApp(watchlist=watchlist, client=StarVideosClient(base_url, KEY), config=config)


async def submit_in_the_form(
    app: StarVideosApp,
    pilot: object,
    prompt: str,
    duration: str = "",
    before: Callable[[], None] = lambda: None,
) -> NewTaskScreen:
    await pilot.press("n")  # type: ignore[attr-defined]
    await pilot.pause()  # type: ignore[attr-defined]
    screen = app.screen
    assert isinstance(screen, NewTaskScreen)
    screen.query_one("#prompt", TextArea).text = prompt
    screen.query_one("#duration", Input).value = duration
    await pilot.pause()  # type: ignore[attr-defined]
    before()
    await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    return screen


async def until(pilot: object, condition: Callable[[], object], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def leave(app: StarVideosApp, pilot: object) -> None:
    """Through the app's own exit, as `q` leaves (run_test's teardown from outside can
    find a screen gone while a poll's answer is being shown)."""
    app.exit()
    await until(pilot, lambda: not app.is_running, "the app to exit", 5)


async def test_n_waits_out_a_429_and_creates_exactly_one_task(
    start_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = start_sim(rate_limit=1)
    watchlist = Watchlist(tmp_path / "watchlist.json")
    app = app_on(sim.base_url, watchlist, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        started = 0.0

        def spend() -> None:
            nonlocal started
            use_up_the_rate(sim)
            started = time.monotonic()

        await submit_in_the_form(app, pilot, "A lighthouse in a storm", "5", spend)
        await until(pilot, lambda: not isinstance(app.screen, NewTaskScreen), "the form", 10)
        waited = time.monotonic() - started
        assert app.selected_id is not None and app.selected_id in app.records
        await leave(app, pilot)
    statuses = posts(sim)
    assert statuses[0] == 429, statuses  # refused first ...
    assert statuses.count(200) + statuses.count(201) == 1, statuses  # ... then made once
    assert waited >= 0.9  # the Retry-After (1 s) was waited out
    records = watchlist.load()
    assert [r.prompt for r in records] == ["A lighthouse in a storm"]
    assert not (tmp_path / "watchlist.json.sending").exists()


@pytest.fixture
def silent_api() -> Iterator[tuple[str, threading.Event]]:
    """An API that takes each request and never answers: `heard` is set once a create
    request's body has arrived (the client is then waiting, mid-submit)."""
    listener = socket.create_server(("127.0.0.1", 0))
    heard = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            data = b""
            while b"prompt" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            if b"prompt" in data:
                heard.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", heard
    finally:
        # shutdown, not close alone: a close leaves the thread blocked in accept() or
        # recv() on Linux until the join's timeout; shutdown wakes it at once.
        for sock in (listener, *held):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the silent API's thread did not end"


def cli_env(home: Path, base_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STARVIDEOS_")}
    env.update(STARVIDEOS_HOME=str(home), STARVIDEOS_BASE_URL=base_url, STARVIDEOS_API_KEY=KEY)
    return env


def killed_mid_create(
    spawn: Spawn, silent_api: tuple[str, threading.Event], home: Path, prompt: str
) -> Path:
    """A `create` killed -9 while its request is out; the ledger it leaves."""
    url, heard = silent_api
    child = spawn(
        [sys.executable, "-m", "starvideos_tui", "create", "--prompt", prompt],
        env=cli_env(home, url),
        cwd=home.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert heard.wait(20), "the create request never arrived"
    child.kill()
    child.wait(timeout=10)
    ledger = home / "data" / "watchlist.json.sending"
    assert ledger.exists(), "nothing noted the request on its way"
    return ledger


def test_create_killed_mid_request_is_not_sent_again_by_a_rerun(
    spawn: Spawn,
    silent_api: tuple[str, threading.Event],
    sim: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The create killed -9 is a child process; the reruns after it ask nothing of a
    process of their own and run in this one, on the same home."""
    home = tmp_path / "home"
    ledger = killed_mid_create(spawn, silent_api, home, "a fox in the snow")
    cli = SameProcessCli(tmp_path, sim.base_url, capsys)
    cli.env["STARVIDEOS_API_KEY"] = KEY
    assert cli.home == home

    again = cli.run("create", "--prompt", "a fox in the snow")
    assert again.code == 1, again
    assert "may exist already" in again.err and f"rm {ledger}" in again.err
    assert len(again.err.strip().splitlines()) == 1 and "Traceback" not in again.err
    assert posts(sim) == []  # not sent twice

    other = cli.run("create", "--prompt", "another shot")  # another request goes on as before
    assert other.code == 0, other
    assert len(posts(sim)) == 1 and ledger.exists()  # the unsure one is still named

    ledger.unlink()  # the user checked: it was never made
    last = cli.run("create", "--prompt", "a fox in the snow")
    assert last.code == 0, last
    assert len(posts(sim)) == 2 and not ledger.exists()
    saved = cli.records()
    assert sorted(r["prompt"] for r in saved) == ["a fox in the snow", "another shot"]


async def test_n_does_not_resend_what_a_killed_create_was_sending(
    spawn: Spawn, silent_api: tuple[str, threading.Event], sim: Simulator, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    ledger = killed_mid_create(spawn, silent_api, home, "A lighthouse in a storm")
    watchlist = Watchlist(home / "data" / "watchlist.json")
    watchlist.add([TaskRecord(id=sim.seed_task("old one", queued=600), added_at=time.time())])
    app = app_on(sim.base_url, watchlist, tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await submit_in_the_form(app, pilot, "A lighthouse in a storm")

        def said() -> str:
            return str(screen.query_one("#form-problems", Static).render())

        await until(pilot, lambda: "Not submitted" in said(), "the refusal", 10)
        assert "may exist already" in said() and isinstance(app.screen, NewTaskScreen)
        await leave(app, pilot)
    assert posts(sim) == [] and ledger.exists()
