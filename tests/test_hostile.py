"""Hostile input (issue 5, items 5 and 6): each case a clear error or a safe outcome.

The corpus goes through the surfaces a user or a server reaches: task ids on the command
line, text pasted into the TUI's add dialog, flag values, API answers (bodies and headers)
through the client and a polling pass, video URLs through the downloader, and text from
the API shown by `list`, `list --json` and the TUI. Each case checks that nothing was
written that should not be. Existing suites cover the basic id rules (test_models), the
first bad ids and flags end to end (test_cli_e2e) and the downloader's URL checks
(test_download); this corpus extends them to the other surfaces.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from contract import PROCESSING_ANSWER
from helpers_cli import Run
from helpers_http import NoWait
from helpers_inproc import SameProcessCli
from textual.widgets import Static

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.errors import ApiError
from starvideos_tui.cli import main as cli
from starvideos_tui.core.models import TaskRecord, validate_task_id
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.engine.events import PassEnded
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.videos import NotDownloadable, save_task_video
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.screens.add_ids import split_ids
from starvideos_tui.tui.widgets.task_table import TaskTable
from starvideos_tui.video.download import DownloadError, fetch_to_file_sync, target_path

REPO = Path(__file__).resolve().parents[1]
TASK = "video_starvideos_o3_1234567890"
KEY = "sk-hostile-test"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
VIDEO_BYTES = sample_video(3).data


@pytest.fixture(autouse=True)
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every user folder under tmp_path, and the app's logger left as it was found
    (cli.main installs the rotating log handler in this process)."""
    for name in list(os.environ):
        if name.startswith("STARVIDEOS_"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    monkeypatch.setenv("STARVIDEOS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    logger = logging.getLogger("starvideos_tui")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield home
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:] = saved[0]
    logger.propagate, logger.level = saved[1], saved[2]


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`starvideos-tui ARGV` in this process: exit code, stdout, stderr."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse's own refusals
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clean_line(err: str, *needles: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert not CONTROL.search(lines[0]), repr(lines[0])
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    return lines[0]


def written_files(root: Path) -> list[str]:
    """Files under root, except the log file (it records the refusal itself)."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and p.name != "starvideos-tui.log"
    )


# == task ids on the command line ============================================================

HOSTILE_IDS = {
    "empty": "",
    "dot": ".",
    "dotdot": "..",
    "traversal": "../../../etc/passwd",
    "absolute": "/etc/passwd",
    "home": "~/.ssh/id_rsa",
    "windows-traversal": "..\\..\\windows",
    "nul": "video\x00id",
    "escape-clear-screen": "\x1b[2Jvideo",
    "osc52-clipboard": "\x1b]52;c;SGVsbG8=\x07",
    "bell": "video\x07",
    "cyrillic-lookalike": "v\u0456deo_starvideos_o3_1",
    "fullwidth-lookalike": "\uff56ideo_starvideos_o3_1",
    "zero-width-space": "video\u200b_1",
    "right-to-left-override": "\u202evideo_1",
    "10kB": "v" * 10_000,
    "markup": "[bold red]x[/]",
    "shell": "$(touch pwned)",
}


@pytest.mark.parametrize("bad", HOSTILE_IDS.values(), ids=HOSTILE_IDS.keys())
def test_hostile_task_id_is_refused_by_add_remove_and_download_and_nothing_is_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, bad: str
) -> None:
    db = tmp_path / "watchlist.json"
    folder = tmp_path / "videos"
    for argv in (["add", "ok-id", bad], ["remove", bad], ["download", bad]):
        code, out, err = run_main(capsys, "--db", str(db), "--download-dir", str(folder), *argv)
        assert code == 2, (argv, out, err)
        assert out == ""
        line = assert_one_clean_line(err, "invalid task id")
        assert len(line) < 200  # a 10 kB id is named, not echoed whole
    assert not db.exists()
    assert not folder.exists()
    assert not (tmp_path / "pwned").exists()
    assert written_files(tmp_path) == []


# == text pasted into the TUI's add dialog ===================================================

PASTES: dict[str, tuple[str, list[str], int]] = {
    # name: (pasted text, the ids it must give, how many tokens it must refuse)
    "mixed-separators": ("a,b;c\n d\t e", ["a", "b", "c", "d", "e"], 0),
    "windows-line-ends": ("a\r\nb\r\n", ["a", "b"], 0),
    "unicode-spaces": ("a\u00a0b\u2028c\u3000d", ["a", "b", "c", "d"], 0),
    "repeats": ("a a, a\na", ["a"], 0),
    "only-separators": (" ,,; \n\t ", [], 0),
    "traversal-among-good": ("good-1 ../../etc/passwd good-2", ["good-1", "good-2"], 1),
    # ';' separates ids, so the OSC 52 sequence falls apart; only its harmless 'c' is an id.
    "escape-sequences": ("\x1b[2J \x1b]52;c;SGVsbG8=\x07 ok", ["c", "ok"], 3),
    "zero-width-joined": ("a\u200bb", [], 1),
    "fullwidth-comma": ("a\uff0cb", [], 1),
    "markup": ("[bold]x[/] [@click=app.quit]", [], 2),
    "10kB-token": ("x" * 10_000 + " ok", ["ok"], 1),
    "nul-bytes": ("a\x00b c", ["c"], 1),
}


@pytest.mark.parametrize(("text", "good", "refused"), PASTES.values(), ids=PASTES.keys())
def test_pasted_text_gives_only_valid_ids_and_names_the_rest_safely(
    text: str, good: list[str], refused: int
) -> None:
    ids, bad = split_ids(text)
    assert ids == good
    assert len(bad) == refused
    for task_id in ids:
        validate_task_id(task_id)
    for _token, why in bad:
        assert len(why) < 200
        assert "\x1b" not in why and "\x07" not in why and "\x00" not in why


def test_pasting_30000_ids_does_not_freeze_the_add_dialog() -> None:
    text = "\n".join(f"video_starvideos_o3_{i}" for i in range(30_000))
    started = time.perf_counter()
    ids, bad = split_ids(text)
    elapsed = time.perf_counter() - started
    assert len(ids) == 30_000 and not bad
    assert elapsed < 1.5, f"splitting the paste took {elapsed:.1f} s"


# == flag values =============================================================================

LOOPBACK = ("--base-url", "http://127.0.0.1:9")
BAD_FLAGS: dict[str, tuple[list[str], str]] = {
    # name: (argv, a word the one-line refusal must contain)
    "interval-inf": ([*LOOPBACK, "--interval", "inf", "list"], "--interval"),
    "interval-minus-inf": ([*LOOPBACK, "--interval=-inf", "list"], "--interval"),
    "interval-1e309": ([*LOOPBACK, "--interval", "1e309", "list"], "--interval"),
    "interval-minus-1": ([*LOOPBACK, "--interval=-1", "list"], "--interval"),
    "interval-NaN": ([*LOOPBACK, "--interval", "NaN", "list"], "--interval"),
    "interval-hex": ([*LOOPBACK, "--interval", "0x10", "list"], "--interval"),
    "interval-empty": ([*LOOPBACK, "--interval", "", "list"], "--interval"),
    "interval-a-day": ([*LOOPBACK, "--interval", "86400", "list"], "--interval"),
    "interval-too-fast-for-a-remote-api": (["--interval", "5", "list"], "--interval"),
    "duration-0": (["create", "--prompt", "cat", "--duration", "0"], "duration"),
    "duration-99": (["create", "--prompt", "cat", "--duration", "99"], "duration"),
    "duration-abc": (["create", "--prompt", "cat", "--duration", "abc"], "--duration"),
    "duration-fraction": (["create", "--prompt", "cat", "--duration", "3.5"], "--duration"),
    "duration-negative": (["create", "--prompt", "cat", "--duration=-5"], "duration"),
    "ratio-4:3": (["create", "--prompt", "cat", "--ratio", "4:3"], "ratio"),
    "ratio-empty": (["create", "--prompt", "cat", "--ratio", ""], "ratio"),
    "ratio-markup": (["create", "--prompt", "cat", "--ratio", "[bold]9:16"], "ratio"),
    "prompt-blank": (["create", "--prompt", " \n "], "prompt"),
    "image-file-url": (["create", "--prompt", "cat", "--image", "file:///etc/passwd"], "URL"),
    "first-image-javascript": (
        ["create", "--prompt", "cat", "--first-image", "javascript:alert(1)"],
        "URL",
    ),
    "video-userinfo": (
        ["create", "--prompt", "cat", "--video", "https://u:p@cdn.example.com/v.mp4"],
        "URL",
    ),
    "base-url-file": (["--base-url", "file:///etc/passwd", "list"], "--base-url"),
    "base-url-javascript": (["--base-url", "javascript:alert(1)", "list"], "--base-url"),
    "base-url-userinfo": (["--base-url", "http://user:pw@127.0.0.1:9", "list"], "--base-url"),
    "base-url-ftp": (["--base-url", "ftp://x", "list"], "--base-url"),
    "base-url-plain-http-remote": (["--base-url", "http://example.com", "list"], "--base-url"),
    "base-url-no-host": (["--base-url", "https://", "list"], "--base-url"),
    "log-level-unknown": (["--log-level", "verbose", "list"], "--log-level"),
}


@pytest.mark.parametrize(("argv", "named"), BAD_FLAGS.values(), ids=BAD_FLAGS.keys())
def test_bad_flag_value_is_exit_2_with_one_line_and_nothing_written(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], named: str
) -> None:
    db = tmp_path / "watchlist.json"
    code, out, err = run_main(capsys, "--db", str(db), *argv)
    assert code == 2, (out, err)
    assert out == ""
    assert_one_clean_line(err, named)
    assert written_files(tmp_path) == []


def test_bad_log_level_in_the_environment_is_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STARVIDEOS_LOG_LEVEL", "loud\x1b[2J")
    code, _, err = run_main(capsys, "--db", str(tmp_path / "w.json"), "list")
    assert code == 2
    assert_one_clean_line(err, "--log-level")
    assert written_files(tmp_path) == []


BAD_BASE_URLS_BUGS = {
    "unclosed-ipv6": "http://[::1",
    "port-not-a-number": "http://127.0.0.1:abc",
    "port-out-of-range": "http://127.0.0.1:99999",
}


@pytest.mark.parametrize("url", BAD_BASE_URLS_BUGS.values(), ids=BAD_BASE_URLS_BUGS.keys())
def test_base_url_with_a_broken_host_or_port_is_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str
) -> None:
    db = tmp_path / "watchlist.json"
    Watchlist(db).add([TaskRecord(id=TASK)])
    monkeypatch.setenv("STARVIDEOS_API_KEY", KEY)
    code, out, err = run_main(capsys, "--db", str(db), "--base-url", url, "refresh")
    assert code == 2, (out, err)
    assert_one_clean_line(err, "--base-url")


# == API answers: bodies =====================================================================


def _deep(depth: int, opener: bytes, closer: bytes) -> bytes:
    return opener * depth + closer * depth


GOOD = PROCESSING_ANSWER

# name: (status, body bytes, the record's status after the pass: None = unchanged)
HOSTILE_BODIES: dict[str, tuple[int, bytes, str | None]] = {
    "2MB": (200, json.dumps({**GOOD, "error": "x" * 2_000_000}).encode(), None),
    "900kB-error-text": (
        200,
        json.dumps({**GOOD, "status": "failed", "error": "e" * 900_000}).encode(),
        "failed",
    ),
    "nested-100k-arrays": (200, _deep(100_000, b"[", b"]"), None),
    "nested-100k-objects": (200, _deep(100_000, b'{"a":', b"}").replace(b":}", b":1}"), None),
    "id-a-number": (200, json.dumps({**GOOD, "id": 12345}).encode(), None),
    "status-a-list": (200, json.dumps({**GOOD, "status": ["completed"]}).encode(), None),
    "created-a-text": (200, json.dumps({**GOOD, "created": "yesterday"}).encode(), None),
    "video-url-an-object": (
        200,
        json.dumps({**GOOD, "status": "completed", "video_url": {"href": "x"}}).encode(),
        None,
    ),
    "error-a-number": (200, json.dumps({**GOOD, "status": "failed", "error": 5}).encode(), None),
    "duration-a-bool": (200, json.dumps({**GOOD, "actualDuration": True}).encode(), None),
    "nulls-everywhere": (200, json.dumps(dict.fromkeys(GOOD)).encode(), None),
    "nulls-but-id-and-status": (
        200,
        json.dumps({**dict.fromkeys(GOOD), "id": TASK, "status": "queued"}).encode(),
        "queued",
    ),
    "nan-created": (200, json.dumps({**GOOD, "created": float("nan")}).encode(), None),
    "created-10e400": (
        200,
        json.dumps(GOOD).encode().replace(b"1774836724", b"1" + b"0" * 400),
        None,
    ),
    "not-utf8": (200, b"\xff\xfe\x00{\x00\x80", None),
    "utf8-bom": (200, b"\xef\xbb\xbf" + json.dumps(GOOD).encode(), None),
    "invalid-utf8-inside-error": (
        200,
        json.dumps({**GOOD, "status": "failed", "error": "@@"}).encode().replace(b"@@", b"\xc3("),
        "failed",
    ),
    "answer-for-another-task": (200, json.dumps({**GOOD, "id": "video_other"}).encode(), None),
    "status-40kB": (200, json.dumps({**GOOD, "status": "s" * 40_000}).encode(), "s" * 40),
    "empty-200": (200, b"", None),
    "html-500-with-escapes": (500, b"<h1>\x1b[2J\x1b]52;c;SGVsbG8=\x07 down</h1>", None),
    "json-error-500-huge-message": (
        500,
        json.dumps({"error": {"message": "m" * 500_000}}).encode(),
        None,
    ),
}


async def _poll_once(
    tmp_path: Path, status: int, body: bytes, **headers: str
) -> tuple[PassEnded, TaskRecord, Path, PollSchedule]:
    path = tmp_path / "watchlist.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=TASK, added_at=1.0)])
    transport = httpx.MockTransport(
        lambda request: httpx.Response(status, content=body, headers=headers)
    )
    schedule = PollSchedule(interval=30.0)
    async with StarVideosClient("https://api.example.test", KEY, transport=transport) as client:
        monitor = Monitor(
            watchlist, client, emit=lambda _: None, download_dir=tmp_path, schedule=schedule
        )
        await monitor.start()
        report = await monitor.run_pass()
        await monitor.close()
    return report, Watchlist(path).load()[0], path, schedule


@pytest.mark.parametrize(
    ("status", "body", "becomes"), HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys()
)
async def test_hostile_api_body_is_a_recorded_problem_or_a_safe_record_never_a_crash(
    tmp_path: Path, status: int, body: bytes, becomes: str | None
) -> None:
    report, record, path, _ = await _poll_once(tmp_path, status, body)

    assert report.asked == 1
    if becomes is None:
        assert record.status == "", "an answer that is not the documented JSON was trusted"
        problem = record.last_problem
        assert problem is not None
        assert problem.kind in ("malformed", "server")
        assert len(problem.message) < 400
        assert problem.body_excerpt is None or len(problem.body_excerpt) <= 300
        for text in (problem.message, problem.body_excerpt or ""):
            assert not CONTROL.search(text), repr(text)
    else:
        assert record.status == becomes
        assert record.last_problem is None
        assert record.error is None or len(record.error) <= 4000
    # The file stays small and loads: nothing huge or unparseable was stored.
    assert path.stat().st_size < 20_000
    assert Watchlist(path).load()[0].id == TASK


DEEP_ERROR_STATUSES = [401, 404, 429, 500]


@pytest.mark.parametrize("status", DEEP_ERROR_STATUSES)
async def test_error_answer_nested_100k_deep_is_a_recorded_problem(
    tmp_path: Path, status: int
) -> None:
    report, record, _, _ = await _poll_once(tmp_path, status, _deep(100_000, b"[", b"]"))
    assert report.asked == 1
    assert record.last_problem is not None


# == API answers: headers ====================================================================

GARBAGE_RETRY_AFTER = {
    "word": "soon",
    "negative": "-1",
    "overflowing": "1e309",
    "nan": "nan",
    "centuries": "99999999999999",
    "date-in-year-9999": "Fri, 31 Dec 9999 23:59:59 GMT",
    "broken-date": "Tue, 99 Foo 2015 99:99:99 GMT",
    "escape-sequence": "\x1b[2J",
}


@pytest.mark.parametrize("value", GARBAGE_RETRY_AFTER.values(), ids=GARBAGE_RETRY_AFTER.keys())
async def test_garbage_retry_after_pauses_polling_a_sane_while(tmp_path: Path, value: str) -> None:
    before = time.monotonic()
    _, record, _, schedule = await _poll_once(
        tmp_path, 429, b'{"error": {"message": "slow down"}}', **{"Retry-After": value}
    )
    pause = schedule.paused_until - before
    assert 1.0 <= pause <= schedule.max_pause + 1.0, pause
    assert record.last_problem is not None and record.last_problem.kind == "rate_limited"
    assert not CONTROL.search(record.last_problem.message)


class _RawServer:
    """Answers every connection with fixed raw bytes, then closes: headers that lie."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.raw)
                except OSError:
                    pass

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept(); close() alone would not.
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(timeout=5)


LYING_HEADERS = {
    "length-longer-than-body": b"Content-Length: 5000\r\n\r\n" + json.dumps(GOOD).encode(),
    "length-shorter-than-body": b"Content-Length: 20\r\n\r\n" + json.dumps(GOOD).encode(),
    "length-negative": b"Content-Length: -5\r\n\r\n{}",
    "length-not-a-number": b"Content-Length: lots\r\n\r\n{}",
    "two-different-lengths": b"Content-Length: 2\r\nContent-Length: 9\r\n\r\n{}",
    "length-a-terabyte": b"Content-Length: 1099511627776\r\n\r\n{",
}


@pytest.mark.parametrize("headers", LYING_HEADERS.values(), ids=LYING_HEADERS.keys())
async def test_api_answer_whose_content_length_lies_is_an_api_error(
    tmp_path: Path, headers: bytes
) -> None:
    server = _RawServer(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + headers)
    try:
        async with StarVideosClient(
            f"http://127.0.0.1:{server.port}", KEY, timeout=httpx.Timeout(5.0)
        ) as client:
            with pytest.raises(ApiError) as caught:
                await client.get_result(TASK)
    finally:
        server.close()
    assert caught.value.kind in ("network", "malformed")
    assert not CONTROL.search(caught.value.message)


# == video URLs ==============================================================================


class _VideoHost(BaseHTTPRequestHandler):
    """Serves the same bytes for any path, as a CDN would for a path it normalizes."""

    seen: list[tuple[str, dict[str, str]]] = []

    def do_GET(self) -> None:
        type(self).seen.append((self.path, dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", str(len(VIDEO_BYTES)))
        self.send_header("Content-Disposition", 'attachment; filename="../../evil.sh"')
        self.end_headers()
        self.wfile.write(VIDEO_BYTES)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def video_host() -> Iterator[str]:
    _VideoHost.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _VideoHost)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# name: URL ({host} is a live local video host); every one of these must never be fetched
REFUSED_VIDEO_URLS = {
    "file": "file:///etc/passwd",
    "javascript": "javascript:alert(document.cookie)",
    "data": "data:video/mp4;base64,AAAAGGZ0eXBtcDQy",
    "ftp": "ftp://{hostport}/v.mp4",
    "userinfo": "http://user:secret@{hostport}/v.mp4",
    "port-out-of-range": "http://127.0.0.1:99999/v.mp4",
    "port-not-a-number": "http://127.0.0.1:abc/v.mp4",
    "unclosed-ipv6": "http://[::1/v.mp4",
    "crlf-header-injection": "{host}/v.mp4\r\nX-Injected: 1",
    "space-in-url": "{host}/v.mp4 HTTP/1.1",
    "over-32kB-long": "{host}/" + "a" * 33_000 + ".mp4",  # past models.MAX_URL_LENGTH
    "protocol-relative": "//{hostport}/v.mp4",
}


@pytest.mark.parametrize("url", REFUSED_VIDEO_URLS.values(), ids=REFUSED_VIDEO_URLS.keys())
async def test_hostile_video_url_from_the_api_is_never_fetched_and_nothing_is_written(
    tmp_path: Path, video_host: str, url: str
) -> None:
    url = url.format(host=video_host, hostport=video_host.removeprefix("http://"))
    watchlist = Watchlist(tmp_path / "watchlist.json")
    watchlist.add([TaskRecord(id=TASK)])
    answer = {**GOOD, "status": "completed", "video_url": url, "actualDuration": 3}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    folder = tmp_path / "videos"

    async with StarVideosClient("https://api.example.test", KEY, transport=transport) as client:
        with pytest.raises(NotDownloadable) as caught:
            await save_task_video(
                TASK, client=client, watchlist=AsyncWatchlist(watchlist), folder=folder
            )

    assert "no usable video URL" in str(caught.value)
    assert _VideoHost.seen == []
    assert not folder.exists()
    record = watchlist.load()[0]
    assert record.status == "completed" and record.video_url is None


async def test_video_url_with_traversal_in_its_path_saves_only_under_the_task_id(
    tmp_path: Path, video_host: str
) -> None:
    url = f"{video_host}/videos/..%2F..%2F..%2Fetc%2Fpasswd/../../../evil.sh?name=../../x.mp4"
    watchlist = Watchlist(tmp_path / "watchlist.json")
    watchlist.add([TaskRecord(id=TASK)])
    answer = {**GOOD, "status": "completed", "video_url": url}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    folder = tmp_path / "videos"

    async with StarVideosClient("https://api.example.test", KEY, transport=transport) as client:
        saved = await save_task_video(
            TASK, client=client, watchlist=AsyncWatchlist(watchlist), folder=folder
        )

    assert saved.path == folder.resolve() / f"{TASK}.mp4"
    assert saved.path.read_bytes() == VIDEO_BYTES
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "videos",
        "watchlist.json",
        "watchlist.json.journal",
        "watchlist.json.lock",
    ]
    assert os.listdir(folder) == [f"{TASK}.mp4"]
    assert all("authorization" not in {k.lower() for k in h} for _, h in _VideoHost.seen)


@pytest.mark.parametrize(
    "path",
    ["/v\x1b]52;c;SGVsbG8=\x07.mp4", "/v\x00.mp4", "/v\x7f.mp4"],
    ids=["osc52", "nul", "del"],
)
def test_video_url_with_control_characters_is_refused_at_once_as_a_bad_url(
    tmp_path: Path, path: str
) -> None:
    final = target_path(TASK, tmp_path)
    with pytest.raises(DownloadError) as caught:
        fetch_to_file_sync(f"http://127.0.0.1:9{path}", final, cancel=NoWait())
    assert caught.value.kind == "bad_url"


# == text from the API on the terminal =======================================================

MARKUP = "[bold red]x[/] [@click=app.quit]"
HOSTILE_TEXT = f"{MARKUP} \x1b[2J\x1b]52;c;SGVsbG8=\x07 end"
FAILED = "video_starvideos_o3_9000000001"
ODD_STATUS = "video_starvideos_o3_9000000002"
COMPLETED = "video_starvideos_o3_9000000003"
BROKEN = "video_starvideos_o3_9000000004"


def _hostile_api(sim: Simulator) -> list[str]:
    base = {"object": "video", "created": 1774836724, "video_url": None, "error": None}
    sim.add_fixed(
        FAILED,
        {**base, "id": FAILED, "status": "failed", "error": HOSTILE_TEXT, "model": "\x1b[31m"},
    )
    sim.add_fixed(ODD_STATUS, {**base, "id": ODD_STATUS, "status": "[b]\x1b[2Jodd\x07"})
    sim.add_fixed(
        COMPLETED,
        {
            **base,
            "id": COMPLETED,
            "status": "completed",
            "actualDuration": 3,
            # Raw control characters make a URL refused (see the video URL cases above);
            # markup in a URL is legal and must still be shown as text.
            "video_url": "http://127.0.0.1:9/v.mp4?x=[@click=app.quit]%1b]52;c;SGVsbG8=",
        },
    )
    sim.add_fixed(BROKEN, {"error": {"message": HOSTILE_TEXT}}, status_code=500)
    return [FAILED, ODD_STATUS, COMPLETED, BROKEN]


@pytest.fixture
def hostile_sim() -> Iterator[Simulator]:
    sim = Simulator(SimConfig(seed=9)).start()
    try:
        yield sim
    finally:
        sim.stop()


def test_api_text_with_markup_and_escapes_is_printed_escaped_by_the_cli(
    tmp_path: Path, hostile_sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each command run in this process (SameProcessCli): its stdout and stderr are what a
    child would write to its pipes, text that is checked for a raw ESC or BEL."""
    ids = _hostile_api(hostile_sim)
    cli = SameProcessCli(tmp_path, hostile_sim.base_url, capsys)

    def run(*args: str) -> Run:
        return cli.run("--interval", "1", *args, env={"STARVIDEOS_API_KEY": KEY})

    runs = {
        "add": run("add", *ids),
        "create": run("create", "--prompt", f"a cat {HOSTILE_TEXT}", "--label", HOSTILE_TEXT),
        "create --json": run("create", "--prompt", HOSTILE_TEXT, "--json"),
        "refresh": run("refresh"),
        "list": run("list"),
        "list --json": run("list", "--json"),
        "download": run("download", FAILED),
    }
    for name, result in runs.items():
        for stream in (result.out, result.err):
            assert "\x1b" not in stream, f"raw ESC reached the terminal from {name}"
            assert "\x07" not in stream, f"raw BEL reached the terminal from {name}"
            assert "Traceback" not in stream
    table = runs["list"].out
    assert "[bold red]x[/]" in table  # shown, not interpreted
    assert "\\x1b[2J" in table  # the escape made visible
    assert "[b]\\x1b[2J" in table  # an invented status word, escaped too
    assert runs["download"].code == 1
    assert "[bold red]x[/]" in runs["download"].err

    items = {item["id"]: item for item in json.loads(runs["list --json"].out)}
    assert items[FAILED]["error"] == HOSTILE_TEXT  # the data itself is kept whole
    assert items[ODD_STATUS]["status"] == "[b]\x1b[2Jodd\x07"
    assert "[@click=app.quit]%1b]52" in items[COMPLETED]["video_url"]
    assert "[bold red]x[/]" in items[BROKEN]["last_problem"]["message"]
    created = runs["create"].out.splitlines()[-1]
    assert items[created]["prompt"] == f"a cat {HOSTILE_TEXT}"
    [row] = [line for line in table.splitlines() if line.startswith(created)]
    assert "[bold red]x[/]" in row  # its label, shown as typed


async def test_api_text_with_markup_and_escapes_is_shown_literally_in_the_tui(
    tmp_path: Path, hostile_sim: Simulator
) -> None:
    ids = _hostile_api(hostile_sim)
    watchlist = Watchlist(tmp_path / "watchlist.json")
    # A label and prompt typed by hand (or by `create`) are untrusted text as well.
    watchlist.add(
        [
            TaskRecord(id=i, added_at=time.time(), label=HOSTILE_TEXT, prompt=HOSTILE_TEXT)
            for i in ids
        ]
    )
    app = StarVideosApp(
        watchlist=watchlist,
        client=StarVideosClient(hostile_sim.base_url, KEY),
        config=AppConfig(download_dir=tmp_path / "videos", interval=30, bell=False),
    )

    def panel() -> str:
        return str(app.query_one("#detail-body", Static).render())

    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 10
        while not all(r.checked_at or r.last_problem for r in app.records.values()):
            assert time.monotonic() < deadline, "the first poll did not finish"
            await pilot.pause(0.05)
        await pilot.pause()
        table = app.query_one(TaskTable)
        shown: dict[str, str] = {}
        for task_id in ids:
            table.move_cursor(row=table.row_ids.index(task_id))
            await pilot.pause()
            if task_id == ids[0]:
                await pilot.press("enter")
            shown[task_id] = panel()
            # Clicking on the text must not run `[@click=app.quit]`.
            await pilot.click("#detail-body", offset=(4, 5))
            await pilot.click("#detail-body", offset=(12, 3))
        status_cells = [str(cell) for i in ids for cell in table.get_row(i)]
        screenshot = app.export_screenshot()
        assert app.is_running, "text from the API made the app quit"
        app.exit()

    assert "[bold red]x[/] [@click=app.quit]" in shown[FAILED]
    assert "\\x1b[2J\\x1b]52;c;SGVsbG8=\\x07 end" in shown[FAILED]
    assert "[@click=app.quit]%1b]52" in shown[COMPLETED]
    assert "[bold red]x[/]" in shown[BROKEN]
    assert "\\x1b[2Jodd" in shown[ODD_STATUS]
    assert shown[ODD_STATUS].count("[bold red]x[/] [@click=app.quit]") >= 2  # label, prompt
    assert any("[bold red]x[/]" in cell for cell in status_cells)  # the label in the row
    for text in [*shown.values(), *status_cells]:
        assert "\x1b" not in text and "\x07" not in text
    assert "\x1b" not in screenshot and "\x07" not in screenshot
    assert "[bold red]x[/]" in screenshot.replace("&#160;", " ")


async def test_task_created_after_year_9999_does_not_crash_the_side_panel(
    tmp_path: Path, hostile_sim: Simulator
) -> None:
    hostile_sim.add_fixed(
        FAILED,
        {"id": FAILED, "object": "video", "status": "queued", "created": 253_402_300_800},
    )
    watchlist = Watchlist(tmp_path / "watchlist.json")
    watchlist.add([TaskRecord(id=FAILED, added_at=time.time())])
    app = StarVideosApp(
        watchlist=watchlist,
        client=StarVideosClient(hostile_sim.base_url, KEY),
        config=AppConfig(download_dir=tmp_path / "videos", interval=30, bell=False),
    )
    async with app.run_test(size=(100, 30)) as pilot:
        deadline = time.monotonic() + 10
        while not (app.records.get(FAILED) and app.records[FAILED].checked_at):
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.is_running
        assert FAILED in str(app.query_one("#detail-body", Static).render())
        app.exit()


# Keep the corpus honest: the issue asks for at least 50 hostile inputs (each id above is
# tried through three commands, counted once).
CORPUS = (
    len(HOSTILE_IDS)
    + len(PASTES)
    + 1
    + len(BAD_FLAGS)
    + 1
    + len(BAD_BASE_URLS_BUGS)
    + len(HOSTILE_BODIES)
    + len(DEEP_ERROR_STATUSES)
    + len(GARBAGE_RETRY_AFTER)
    + len(LYING_HEADERS)
    + len(REFUSED_VIDEO_URLS)
    + 1
    + 3
    + 7  # API error, status word, video URL, error body, model, a typed label, created 9999
)


def test_the_hostile_corpus_has_at_least_50_inputs() -> None:
    assert CORPUS >= 50
    print(f"\nhostile corpus: {CORPUS} inputs")
