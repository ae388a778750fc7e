"""Shared fixtures: a clock the test moves by hand and a simulator on loopback that uses it;
servers and child processes that end whatever happens; the end-of-session check that
fails the run when a process a test started is still alive.

How a hang ends (the suite must never hang):
- Every server and child is ended by a fixture's `finally` (`spawn`, `serve`, `tmux`...):
  a child's whole process group, SIGTERM then SIGKILL.
- pytest-timeout's `signal` method (pyproject.toml) ends a test stuck past its timeout with
  every thread's stack printed, as the `thread` method would, but as a failure of that
  test: its fixtures still end its children, and the run goes on to report the rest. The
  `thread` method would `os._exit` the whole run instead, running no `finally` at all.
- A hang the alarm cannot end (a teardown stuck after the alarm was spent, C code that
  never returns to Python, a thread that keeps pytest from exiting) meets the backstop:
  BACKSTOP_MARGIN seconds after the test's timeout, or EXIT_DEADLINE seconds after the
  last test, it prints every stack, kills the children and exits 1.
- Children from `spawn` carry PR_SET_PDEATHSIG: whatever ends pytest (the backstop's
  `os._exit`, kill -9, the OOM killer), the kernel kills them with it. A child started in
  a session of its own gets no hangup from anyone when pytest dies: without this it
  would run on, as the writer of issue 23 did for 15 minutes at 95 % of a core.
- At the end of the session, any process the tests started that is still alive is
  listed, killed (its group), and the run fails.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_timeout
from helpers_cli import Cli
from helpers_http import Respond, ScriptedHTTPServer, serve_tls
from helpers_inproc import SameProcessCli
from helpers_proc import Backstop, Spawn, Tmux, child_environment, end, end_all, start

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.storage.store import Watchlist

if TYPE_CHECKING:  # Textual is imported where a test uses the TUI, not by every process
    from helpers_tui import AppFactory

    from starvideos_tui.tui.app import StarVideosApp


class FakeClock:
    """A clock that stands still until `advance()`; call it like `time.time`."""

    def __init__(self, start: float | None = None) -> None:
        # A realistic Unix time, so the same clock can serve as wall and monotonic clock.
        self.now = float(int(time.time())) if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def simulator(clock: FakeClock) -> Iterator[Simulator]:
    """The API and video host on 127.0.0.1 (a free port), driven by `clock`."""
    sim = Simulator(SimConfig(port=0, seed=7), clock=clock).start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def watchlist(tmp_path: Path) -> Watchlist:
    return Watchlist(tmp_path / "watchlist.json")


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedHTTPServer]]:
    started: list[tuple[ScriptedHTTPServer, threading.Thread]] = []

    def start(respond: Respond, tls: tuple[Path, Path] | None = None) -> ScriptedHTTPServer:
        server = ScriptedHTTPServer(respond)
        if tls is not None:
            serve_tls(server, *tls)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        started.append((server, thread))
        return server

    with contextlib.ExitStack() as stack:  # each server ended, even if one fails to end
        yield start
        for server, thread in started:
            stack.callback(thread.join, timeout=5)
            stack.callback(server.server_close)
            stack.callback(server.shutdown)


@pytest.fixture
def start_sim() -> Iterator[Callable[..., Simulator]]:
    started: list[Simulator] = []

    def start(**config: Any) -> Simulator:
        config.setdefault("queued_seconds", 0.2)
        config.setdefault("processing_seconds", 0.5)
        sim = Simulator(SimConfig(**config)).start()
        started.append(sim)
        return sim

    with contextlib.ExitStack() as stack:
        yield start
        for sim in started:
            stack.callback(sim.stop)


@pytest.fixture
def sim(start_sim: Callable[..., Simulator]) -> Simulator:
    return start_sim()


# -- the CLI in a child process --------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, sim: Simulator) -> Cli:
    """The CLI run as a child process against `sim`, with its own home (helpers_cli.Cli)."""
    return Cli(tmp_path, sim.base_url)


@pytest.fixture
def same_process_cli(
    tmp_path: Path, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> SameProcessCli:
    """`cli`'s face, each command run in the test's own process (no interpreter start):
    for what a child process itself proves nothing about. A module whose tests all qualify
    makes it its `cli` (helpers_inproc.SameProcessCli)."""
    return SameProcessCli(tmp_path, sim.base_url, capsys)


@pytest.fixture
def other_fs(tmp_path: Path) -> Iterator[Path]:
    """An empty folder on another file system than tmp_path (a tmpfs: a copy there cannot
    be a hard link), or the test is skipped."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no tmpfs on another file system here")
    with tempfile.TemporaryDirectory(dir=shm, prefix="svtui-") as folder:
        yield Path(folder)


# -- the TUI on the simulator ---------------------------------------------------------------


@pytest.fixture
def make_app(
    simulator: Simulator, clock: FakeClock, watchlist: Watchlist, tmp_path: Path
) -> AppFactory:
    """Build the app on the simulator; every clock it reads is the test's clock."""
    from helpers_tui import KEY as TUI_KEY

    from starvideos_tui.tui.app import StarVideosApp
    from starvideos_tui.tui.config import AppConfig

    def make(
        ids: list[str],
        *,
        interval: float = 30.0,
        base_url: str | None = None,
        key: str = TUI_KEY,
    ) -> StarVideosApp:
        watchlist.add([TaskRecord(id=task_id, added_at=clock()) for task_id in ids])
        config = AppConfig(
            download_dir=tmp_path / "videos",
            interval=interval,
            bell=False,
            wall_clock=clock,
            monotonic=clock,
        )
        client = StarVideosClient(base_url or simulator.base_url, key)
        return StarVideosApp(watchlist=watchlist, client=client, config=config)

    return make


# -- child processes ------------------------------------------------------------------------


@pytest.fixture
def child_env(tmp_path: Path) -> dict[str, str]:
    """Environment for children: the package importable, no real user dirs touched."""
    return child_environment(tmp_path / "home")


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """`spawn(args, **popen)` starts a child as `subprocess.Popen` would, in a process group
    of its own that dies with pytest (helpers_proc.start); when the test ends, however it
    ends, each child's whole group is ended (SIGTERM, a short grace, SIGKILL)."""
    with contextlib.ExitStack() as stack:

        def spawn_(args: Any, **popen: Any) -> subprocess.Popen[Any]:
            child = start(args, **popen)
            stack.callback(end, child)
            return child

        yield spawn_


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    """A private tmux server (`tmux -L <unique>`, its own socket folder), killed with
    everything running in it when the test ends."""
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux")
    server = Tmux()
    try:
        yield server
    finally:
        server.kill()


# -- the backstop and the end-of-session check ------------------------------------------------

BACKSTOP_MARGIN = 60.0  # after a test's own timeout
EXIT_DEADLINE = 60.0  # from the end-of-session check to the process's exit
_backstop = Backstop()


def pytest_configure(config: pytest.Config) -> None:
    def uncapture() -> None:
        capman = config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            capman.suspend_global_capture(in_=True)
            out, err = capman.read_global_capture()
            if sys.__stderr__ is not None:
                sys.__stderr__.write(f"{out}{err}")

    _backstop.before_fire = uncapture
    config.pluginmanager.register(_AfterTheWorkers(), "starvideos-after-the-workers")


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> None:
    """Arm the backstop beside pytest-timeout's own timer (returning None lets it run)."""

    def debugging() -> bool:
        return not settings.disable_debugger_detection and pytest_timeout.is_debugging()

    what = f"{item.nodeid} still running {BACKSTOP_MARGIN:.0f} s after its timeout"
    _backstop.arm(settings.timeout + BACKSTOP_MARGIN, what, skip=debugging)


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> None:
    _backstop.disarm()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `slow` tests first: under xdist a long test started last would be the run's
    tail, the other workers idle. (A stable sort: every worker collects the same order.)"""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_enter_pdb() -> None:
    _backstop.disarm()  # a person at the debugger is no hang


def _xdist_controller(config: pytest.Config) -> bool:
    """Whether this process hands the tests to pytest-xdist's workers (and runs none)."""
    return config.pluginmanager.has_plugin("dsession")


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if a process the tests started is still alive: name it, end it.

    Where the tests ran (serially, or in each xdist worker) this runs first, before
    anything else ends. In an xdist controller it runs last (`_AfterTheWorkers`), once
    xdist has ended its workers: they are the controller's children too, and they are
    not leftovers."""
    if not _xdist_controller(session.config):
        _check_leftovers(session)
        _arm_for_the_exit()


def _arm_for_the_exit() -> None:
    # For the exit only: once pytest has returned, a caller still running (pytest.main()
    # called from other code) is none of the backstop's business; a main thread stopped
    # and waiting on threads that never end is.
    _backstop.arm(
        EXIT_DEADLINE,
        f"pytest has not exited {EXIT_DEADLINE:.0f} s after its tests",
        skip=lambda: _unconfigured.is_set() and threading.main_thread().is_alive(),
    )


class _AfterTheWorkers:
    """The check in an xdist controller: what each worker found (its report is lost with
    the worker's own output, so it sends it in `workeroutput`), and then, once xdist has
    ended its workers, what is left of the controller's own children."""

    def __init__(self) -> None:
        self.from_workers: list[tuple[int, str]] = []
        self.stuck_in_workers: list[str] = []

    @pytest.hookimpl(optionalhook=True)  # an xdist hook: unknown without xdist
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        found = getattr(node, "workeroutput", None) or {}
        self.from_workers += [tuple(x) for x in found.get("starvideos_leftovers", [])]
        self.stuck_in_workers += found.get("starvideos_stuck", [])

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _xdist_controller(session.config):
            _check_leftovers(session, self.from_workers, self.stuck_in_workers)
            _arm_for_the_exit()


def _check_leftovers(
    session: pytest.Session,
    from_workers: list[tuple[int, str]] | None = None,
    stuck_in_workers: list[str] | None = None,
) -> None:
    left = (from_workers or []) + end_all()
    stuck = [
        t.name
        for t in threading.enumerate()
        if t is not threading.current_thread() and not t.daemon and t.is_alive()
    ]
    if stuck:
        time.sleep(1.0)  # threads that were just told to stop
        stuck = [t.name for t in threading.enumerate() if t.name in stuck and t.is_alive()]
    stuck += stuck_in_workers or []
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: its controller reports
        workeroutput["starvideos_leftovers"] = left
        workeroutput["starvideos_stuck"] = stuck
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    write = reporter.write_line if reporter is not None else print
    if left:
        write("")
        write(f"ERROR: {len(left)} process(es) started by the tests were still running:")
        for pid, command in left:
            write(f"  pid {pid}: {command[:200]}")
        write("They were killed. A test must end every process it starts (the spawn fixture).")
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if stuck:
        write(f"WARNING: threads still running, which keep pytest from exiting: {stuck}")


_unconfigured = threading.Event()


def pytest_unconfigure(config: pytest.Config) -> None:
    _unconfigured.set()
