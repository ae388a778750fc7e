"""Text that is not valid Unicode, and text that passes for another word (issue 23, classes
1 and 12).

JSON can carry a lone surrogate (`"\\ud83d"`): half of a UTF-16 pair, no character at all,
which no UTF-8 encoder takes. One such field in one answer used to stop every save of the
watchlist for good (the journal's write raised UnicodeEncodeError), `refresh` and `watch`
died with a traceback, and a hand-edited label made `list` crash. Such text is read with
U+FFFD in place of the half, saved and shown; a request file holding one is refused
before anything is sent.

A status word with a zero-width character in it must not print exactly like "completed",
and must never be treated as completed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_cli import Cli, assert_fails
from helpers_http import Reply, ScriptedHTTPServer, Seen
from helpers_inproc import SameProcessCli

from starvideos_tui.api import answers
from starvideos_tui.api.answers import parse_result, unwrap_envelope
from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.create_request import CreateRequest
from starvideos_tui.core import textsafe
from starvideos_tui.core.models import TaskRecord, TaskStatus
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.storage.basefile import WatchlistError
from starvideos_tui.storage.store import Watchlist

Serve = Callable[..., ScriptedHTTPServer]
FFFD = "\ufffd"
JSON = {"Content-Type": "application/json"}


def task(n: int) -> str:
    return f"video_starvideos_o3_77{n:08d}"


# -- every string field of an answer, hostile ------------------------------------------------
# (JSON text, as the server sends it; `@` is replaced by the task's id.) Each holds a lone
# surrogate somewhere a client reads text: none may stop a save.

HOSTILE_ANSWERS: dict[str, tuple[int, str]] = {
    "status": (200, '{"id":"@","status":"proc\\ud83dessing","created":1774836724}'),
    "status, only a half": (200, '{"id":"@","status":"\\udfff"}'),
    "error": (200, '{"id":"@","status":"failed","error":"boom \\ud83d here"}'),
    "error, two highs": (200, '{"id":"@","status":"failed","error":"\\ud83d\\ud83d"}'),
    "error, low then high": (200, '{"id":"@","status":"failed","error":"\\ude00\\ud83d"}'),
    "model": (200, '{"id":"@","status":"queued","model":"o3\\udc00"}'),
    "video_url": (
        200,
        '{"id":"@","status":"completed","video_url":"http://127.0.0.1:9/v\\ud83d.mp4"}',
    ),
    "created as a text": (200, '{"id":"@","status":"queued","created":"2026-01-01\\ud83d"}'),
    "id echo": (200, '{"id":"@\\ud83d","status":"queued"}'),
    "a key": (200, '{"id":"@","status":"queued","\\ud83d":"\\ud83d"}'),
    "nested unknown field": (200, '{"id":"@","status":"queued","extra":{"a":["\\udbff"]}}'),
    "envelope message": (200, '{"code":500,"msg":"down \\ud83d"}'),
    "envelope data": (200, '{"code":0,"data":{"id":"@","status":"failed","error":"x\\udfff"}}'),
    "500 error message": (500, '{"error":{"message":"\\ud83d on fire"}}'),
    "404 message": (404, '{"message":"no \\udbff such task"}'),
    "400 detail": (400, '{"detail":"bad \\ud800"}'),
    "raw surrogate bytes": (200, '{"id":"@","status":"failed","error":"raw \xed\xa0\xbd"}'),
}
GOOD = task(99)


def hostile_api(
    serve: Serve, more: dict[str, tuple[int, str]] | None = None
) -> tuple[ScriptedHTTPServer, dict[str, str]]:
    """An API answering each hostile answer (and each of `more`) for a task of its own,
    and `processing` for GOOD. Returns the server and the task ids by case."""
    answers = HOSTILE_ANSWERS | (more or {})
    ids = {case: task(n) for n, case in enumerate(answers)}
    by_id = {task_id: answers[case] for case, task_id in ids.items()}

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = seen.path.rsplit("/", 1)[-1]
        if task_id == GOOD:
            return Reply(200, json.dumps({"id": GOOD, "status": "processing"}).encode(), JSON)
        status, text = by_id[task_id]
        # `latin-1` keeps "\xed\xa0\xbd" as the three raw bytes; the rest is ASCII.
        return Reply(status, text.replace("@", task_id).encode("latin-1"), JSON)

    return serve(respond), ids


@pytest.mark.parametrize("case", [c for c, (s, _) in HOSTILE_ANSWERS.items() if s == 200])
def test_the_answer_parser_reads_a_lone_surrogate_as_u_fffd(case: str) -> None:
    text = HOSTILE_ANSWERS[case][1].replace("@", task(1))
    body = answers.decode(text.encode("latin-1").decode("utf-8", errors="replace"))
    # Every text of the decoded answer is valid Unicode, whatever happens next.
    json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        result = parse_result(unwrap_envelope(body), task(1))
    except Exception:  # a refused answer (envelope, bad id) is the client's to report
        return
    for value in (result.status, result.error, result.model, result.video_url):
        if value is not None:
            value.encode("utf-8")
    if case == "error":
        assert result.error == f"boom {FFFD} here"
    if case == "status":
        assert result.status == f"proc{FFFD}essing"
        assert result.kind is TaskStatus.UNKNOWN


def test_a_whole_surrogate_pair_is_the_character_it_encodes() -> None:
    body = answers.decode('{"id":"a","status":"failed","error":"cat \\ud83d\\ude00"}')
    assert parse_result(body).error == "cat \U0001f600"


def test_textsafe_valid_and_loads() -> None:
    assert textsafe.valid("plain") == "plain"
    assert textsafe.valid("a\ud83db") == f"a{FFFD}b"
    assert textsafe.valid("猫\udc80") == f"猫{FFFD}"
    assert textsafe.loads(b'{"\\ud83d": ["\\udfff", {"k": "\\uDABC"}]}') == {
        FFFD: [FFFD, {"k": FFFD}]
    }
    assert textsafe.loads(b'{"a": "\xed\xa0\xbd"}') == {"a": FFFD}  # json's surrogatepass
    assert textsafe.loads('{"a": "\\\\ud83d"}') == {"a": "\\ud83d"}  # an escaped backslash
    assert textsafe.encode("x\ud800y") == f"x{FFFD}y".encode()
    assert textsafe.lone_surrogate("ok") is None
    assert textsafe.lone_surrogate("a\ud83d") == "\\ud83d"
    assert textsafe.clean("shown \ud83d") == "shown \\ud83d"  # as an escape, if it gets there


async def test_the_client_gives_valid_text_in_results_and_in_errors(serve: Serve) -> None:
    from starvideos_tui.api.errors import ApiError

    api, ids = hostile_api(serve)
    async with StarVideosClient(api.url(""), "sk-client-test-key") as client:
        result = await client.get_result(ids["error"])
        assert result.error == f"boom {FFFD} here"
        assert (await client.get_result(ids["model"])).model == f"o3{FFFD}"
        for case in ("500 error message", "404 message", "envelope message", "400 detail"):
            with pytest.raises(ApiError) as caught:
                await client.get_result(ids[case])
            assert FFFD in caught.value.message, (case, caught.value.message)


# -- end to end: refresh, watch, list, and the engine ---------------------------------------


@pytest.fixture
def hostile(
    serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[Cli, dict[str, str]]:
    api, ids = hostile_api(serve)
    cli = SameProcessCli(tmp_path, api.url(""), capsys)
    cli.ok("add", *ids.values(), GOOD)
    return cli, ids


def assert_saved_and_valid(cli: Cli, ids: dict[str, str]) -> dict[str, dict]:  # type: ignore[type-arg]
    """Every task was answered and saved (a problem counts), `list` shows them all."""
    table = cli.ok("list")
    for task_id in [*ids.values(), GOOD]:
        assert task_id in table.out
    records = {r["id"]: r for r in cli.records()}
    assert records[GOOD]["status"] == "processing"
    assert records[GOOD]["checked_at"] is not None
    for case, task_id in ids.items():
        record = records[task_id]
        answered = record["checked_at"] is not None or record["last_problem"] is not None
        assert answered, f"{case}: never saved"
    assert records[ids["error"]]["error"] == f"boom {FFFD} here"
    assert records[ids["status"]]["status"] == f"proc{FFFD}essing"
    assert records[ids["model"]]["status"] == "queued"
    assert FFFD in records[ids["500 error message"]]["last_problem"]["message"]
    assert FFFD in records[ids["envelope message"]]["last_problem"]["message"]
    # On disk too: the journal (or the base) holds valid UTF-8, U+FFFD where the half was.
    for path in (cli.watchlist, Path(f"{cli.watchlist}.journal")):
        if path.exists():
            path.read_bytes().decode("utf-8")
    return records


def test_refresh_saves_and_lists_every_task_whatever_text_the_answers_carry(
    hostile: tuple[Cli, dict[str, str]],
) -> None:
    cli, ids = hostile
    run = cli.run("refresh")
    assert run.code == 0, str(run)
    assert "Traceback" not in run.err, str(run)
    assert f"boom {FFFD} here" in run.out
    assert_saved_and_valid(cli, ids)
    # And again: a restart reads what was saved, and saves on top of it.
    cli.ok("refresh")
    assert_saved_and_valid(cli, ids)


def test_watch_keeps_saving_every_task_whatever_text_the_answers_carry(
    hostile: tuple[Cli, dict[str, str]],
) -> None:
    cli, ids = hostile
    proc = subprocess.Popen(
        [sys.executable, "-m", "starvideos_tui", "--interval", "0.5", "watch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli.env,
        cwd=cli.cwd,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        good = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                good = Watchlist(cli.watchlist).get(GOOD)
            except WatchlistError:
                good = None
            if good is not None and good.checked_at is not None:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "watch ended on its own"
        assert good is not None and good.checked_at is not None, "watch saved nothing"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, (out, err)
    assert b"Traceback" not in err and b"poller error" not in err + out, err
    assert_saved_and_valid(cli, ids)


async def test_the_engine_keeps_saving_other_tasks_beside_a_hostile_answer(
    serve: Serve, tmp_path: Path
) -> None:
    api, ids = hostile_api(serve)
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=i) for i in [*ids.values(), GOOD]])
    async with StarVideosClient(api.url(""), "sk-engine-test-key") as client:
        monitor = Monitor(watchlist, client, emit=lambda _e: None, download_dir=tmp_path)
        await monitor.start()
        for _ in range(2):  # a second pass writes on top of the first
            await monitor.run_pass([*ids.values(), GOOD])
        await monitor.close()
    saved = {r.id: r for r in Watchlist(tmp_path / "w.json").load()}
    assert saved[GOOD].status == "processing" and saved[GOOD].checked_at is not None
    assert saved[ids["error"]].error == f"boom {FFFD} here"
    assert saved[ids["status"]].status == f"proc{FFFD}essing"
    for case, task_id in ids.items():
        record = saved[task_id]
        assert record.checked_at is not None or record.last_problem is not None, case


async def test_the_tui_keeps_saving_every_task_beside_hostile_answers(
    serve: Serve, tmp_path: Path
) -> None:
    from starvideos_tui.tui.app import StarVideosApp
    from starvideos_tui.tui.config import AppConfig
    from starvideos_tui.tui.widgets.task_table import TaskTable

    api, ids = hostile_api(serve)
    path = tmp_path / "w.json"
    Watchlist(path).add([TaskRecord(id=i) for i in [*ids.values(), GOOD]])
    app = StarVideosApp(
        watchlist=Watchlist(path),
        client=StarVideosClient(api.url(""), "sk-tui-test-key-0000"),
        config=AppConfig(download_dir=tmp_path / "videos", interval=30, bell=False),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + 15
        while not all(r.checked_at or r.last_problem for r in app.records.values()):
            assert time.monotonic() < deadline, "the first pass did not finish"
            await pilot.pause(0.05)
        # The engine writes at most once a second: until the answers are on disk.
        while not all(r.checked_at or r.last_problem for r in Watchlist(path).load()):
            assert time.monotonic() < deadline + 5, "the answers were never written"
            await pilot.pause(0.05)
        state = app.api_state
        row = app.query_one(TaskTable).get_row(ids["error"])
        app.exit()
    assert "poller error" not in state, state
    assert "failed" in str(row[0]), row
    saved = {r.id: r for r in Watchlist(path).load()}
    assert saved[GOOD].checked_at is not None
    assert saved[ids["error"]].error == f"boom {FFFD} here"
    for case, task_id in ids.items():
        assert saved[task_id].checked_at or saved[task_id].last_problem, case


# -- the watchlist: hand-edited text, and a writer that cannot die ---------------------------

BASE_LINES = (
    b'{"meta":{"1":{"schema":2,"journal":0}},\n"tasks":{\n'
    b'"1":{"id":"t1","status":"queued","label":"cat \\ud83d","prompt":"\\udfff dog"}\n}}'
)
BASE_WHOLE = (
    b'{"tasks": {"1": {"id": "t1", "status": "queued", "label": "cat \\ud83d",'
    b' "prompt": "\\udfff dog"}}, "meta": {"1": {"schema": 2}}}'
)


@pytest.mark.parametrize(
    "raw",
    [BASE_LINES, BASE_WHOLE, BASE_WHOLE.replace(b"\\ud83d", b"\xed\xa0\xbd")],
    ids=["our layout", "a hand-edited layout", "surrogate bytes"],
)
def test_a_hand_edited_watchlist_with_a_lone_surrogate_loads_shows_and_saves(
    tmp_path: Path, raw: bytes
) -> None:
    path = tmp_path / "w.json"
    path.write_bytes(raw)
    [record] = Watchlist(path).load()
    assert record.label == f"cat {FFFD}" and record.prompt == f"{FFFD} dog"
    watchlist = Watchlist(path)
    watchlist.update({"t1": lambda r: r})  # nothing changed: nothing written
    watchlist.add([TaskRecord(id="t2", label="new")])  # a write over the edited file
    again = {r.id: r for r in Watchlist(path).load()}
    assert again["t1"].label == f"cat {FFFD}" and again["t2"].label == "new"


def test_cli_list_shows_a_hand_edited_label_with_a_lone_surrogate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli = SameProcessCli(tmp_path, "http://127.0.0.1:9", capsys)
    cli.watchlist.parent.mkdir(parents=True)
    cli.watchlist.write_bytes(BASE_LINES.replace(b'"t1"', b'"video_starvideos_o3_1"'))
    table = cli.ok("list")
    assert f"cat {FFFD}" in table.out
    [item] = cli.records()
    assert item["label"] == f"cat {FFFD}"


def test_a_journal_entry_with_a_lone_surrogate_is_read_as_u_fffd(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="t1")])
    watchlist.add([TaskRecord(id="t2")])  # the base exists: this one went to the journal
    entry = {"seq": 99, "put": {"1": {"id": "t1", "status": "failed", "error": "\ud83d"}}}
    body = json.dumps(entry).encode()  # ensure_ascii: the half as the escape "\\ud83d"
    assert b"\\ud83d" in body
    with open(f"{path}.journal", "ab") as handle:
        handle.write(b"J1 " + f"{len(body)} {zlib.crc32(body):08x} ".encode() + body + b"\n")
    records = {r.id: r for r in Watchlist(path).load()}
    assert records["t1"].error == FFFD and records["t2"].id == "t2"


def test_a_watchlist_that_is_not_utf8_is_still_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    raw = BASE_WHOLE.replace(b"\\ud83d", b"\xff")
    path.write_bytes(raw)
    with pytest.raises(WatchlistError, match="damaged"):
        Watchlist(path).load()
    with pytest.raises(WatchlistError, match="damaged"):
        Watchlist(path).add([TaskRecord(id="t2")])
    assert path.read_bytes() == raw


def test_the_writer_never_dies_on_a_lone_surrogate_it_is_handed(tmp_path: Path) -> None:
    """Defence in depth: text that reached a record without the parser (a bug, a new
    source) is written with U+FFFD, not met as UnicodeEncodeError by every later save."""
    path = tmp_path / "w.json"
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id="t1", label="\ud83d first")])  # the base, written whole
    watchlist.add([TaskRecord(id="t2", label="second \udc00")])  # the journal
    watchlist.update({"t1": lambda r: TaskRecord(**{**r.to_doc(), "error": "e\udfff"})})
    saved = {r.id: r for r in Watchlist(path).load()}
    assert saved["t1"].label == f"{FFFD} first" and saved["t1"].error == f"e{FFFD}"
    assert saved["t2"].label == f"second {FFFD}"


# -- create: a request that is not text is refused before anything is sent -----------------


@pytest.fixture
def quiet_api(serve: Serve) -> ScriptedHTTPServer:
    return serve(lambda _n, _seen: Reply(500, b"{}", JSON))


@pytest.mark.parametrize(
    ("lines", "needle"),
    [
        (b'{"prompt":"a cat"}\n{"prompt":"a \\ud83d cat"}\n', "line 2: the prompt"),
        (b'{"prompt":"a cat","label":"x\\udc00"}\n', "line 1: the label"),
        (b'{"prompt":"\\udbff"}\n', "line 1: the prompt"),
        (b"prompt,label\na cat,x\n\xff cat,y\n", "line 3: not UTF-8"),
        (b"prompt,label\na cat,\xed\xa0\xbd\n", "line 2: not UTF-8"),
        (b'{"prompt":"a cat"}\n{"prompt":"caf\xe9"}\n', "line 2: not UTF-8"),
    ],
    ids=[
        "jsonl prompt",
        "jsonl label",
        "jsonl only a half",
        "csv latin-1",
        "csv cesu",
        "jsonl raw",
    ],
)
@pytest.mark.parametrize("from_stdin", [False, True], ids=["file", "stdin"])
def test_create_from_refuses_a_line_that_is_not_text_before_sending_anything(
    tmp_path: Path,
    quiet_api: ScriptedHTTPServer,
    lines: bytes,
    needle: str,
    from_stdin: bool,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli = SameProcessCli(tmp_path, quiet_api.url(""), capsys)  # bytes on stdin: a child
    source = tmp_path / "requests.txt"
    source.write_bytes(lines)
    if from_stdin:
        proc = subprocess.run(
            [sys.executable, "-m", "starvideos_tui", "create", "--from", "-"],
            input=lines,
            capture_output=True,
            env=cli.env,
            cwd=cli.cwd,
            timeout=30,
        )
        code, err = proc.returncode, proc.stderr.decode("utf-8", "replace")
        assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
        assert needle in err and "stdin" in err, err
    else:
        assert_fails(cli.run("create", "--from", str(source)), 2, needle, "requests.txt")
    assert quiet_api.seen == []
    assert not cli.watchlist.exists()
    assert not Path(f"{cli.watchlist}.sending").exists()


@pytest.mark.parametrize("flag", ["--prompt", "--label"])
@pytest.mark.parametrize(
    "env", [{}, {"LC_ALL": "C", "LANG": "C"}, {"PYTHONUTF8": "1"}], ids=["utf8", "C", "utf8 mode"]
)
def test_create_refuses_a_command_line_text_that_is_not_utf8(
    tmp_path: Path, quiet_api: ScriptedHTTPServer, flag: str, env: dict[str, str]
) -> None:
    cli = Cli(tmp_path, quiet_api.url(""))
    text = b"caf\xe9"  # Latin-1 bytes, as a Latin-1 terminal sends them
    args = [b"create", b"--prompt", text if flag == "--prompt" else b"a cat"]
    if flag == "--label":
        args += [b"--label", text]
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"starvideos_tui", *args],
        capture_output=True,
        env={**cli.env, **env},
        cwd=cli.cwd,
        timeout=30,
    )
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2 and "Traceback" not in err and len(err.splitlines()) == 1, err
    assert f"{flag} is not UTF-8 text (byte 0xe9" in err
    assert quiet_api.seen == []


def test_create_still_takes_utf8_that_an_ascii_locale_decoded_into_surrogates() -> None:
    from starvideos_tui.cli.cmdline import text_argument

    typed = os.fsdecode("猫 …".encode())  # what sys.argv holds under an ASCII locale
    assert text_argument(typed, "--prompt") == "猫 …"


def test_a_request_whose_prompt_is_not_text_has_a_problem() -> None:
    assert CreateRequest(prompt="a \ud83d cat").problems() == [
        "the prompt is not valid text: \\ud83d is half of a character (a lone surrogate)"
    ]
