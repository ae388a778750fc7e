"""Escapes in the log (issue 23, class 6): a status text or a Content-Encoding header with
ESC sequences (clear screen, OSC 52 to set the clipboard) was written raw into the log
file, so `tail -f` of it ran them. Every record is now one line, its control characters
escaped as on screen, whatever the call site logged."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_http import Reply, ScriptedHTTPServer, Seen
from helpers_inproc import SameProcessCli
from test_logs import LINE, logger_in  # noqa: F401 (a fixture)

from starvideos_tui.core import paths
from starvideos_tui.core.logs import setup_logging

Serve = Callable[..., ScriptedHTTPServer]
# What a terminal would run or be fooled by: C0 (newlines too: a record is one line), ESC,
# DEL, C1 (as UTF-8), bidi overrides and isolates, zero-width characters.
RAW_CONTROL = re.compile(
    rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\x8b-\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]"
)
CLEAR = "\x1b[2J\x1b[H"
OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"
HOSTILE = (
    f"{CLEAR}{OSC52}\x9b31m C1 \x7f DEL \u202e RLO \u2066 LRI \u200b ZWSP \x00\x08\t tab\r"
    "\n2026-01-01 00:00:00,000 INFO starvideos_tui.engine.poll: a faked line"
)


def assert_no_raw_controls(raw: bytes) -> None:
    found = RAW_CONTROL.search(raw.replace(b"\n", b""))
    assert found is None, raw[max(0, found.start() - 40) : found.end() + 40]


def test_every_record_is_one_line_with_its_controls_escaped(logger_in: logging.Logger) -> None:  # noqa: F811
    setup_logging("debug")
    log = logging.getLogger("starvideos_tui.engine.poll")
    log.warning("poll %s failed (%s)", "t1", HOSTILE)
    log.info(HOSTILE)  # a message with no arguments, formatted by no one
    try:
        raise ValueError(f"an exception that says {HOSTILE}")
    except ValueError:
        log.exception("a pass failed")
    for handler in logger_in.handlers:
        handler.flush()
    raw = paths.log_file().read_bytes()

    assert_no_raw_controls(raw)
    lines = raw.decode("utf-8").splitlines()
    assert len(lines) == 3, lines  # the faked line and the traceback stay in their records
    assert all(LINE.match(line) for line in lines), lines
    assert "\\x1b[2J\\x1b[H\\x1b]52;c;cm0gLXJmIH4K\\x07\\x9b31m" in lines[0]
    assert "\\u202e RLO \\u2066 LRI \\u200b ZWSP \\x00\\x08\\t tab\\r\\n2026" in lines[0]
    assert "Traceback (most recent call last):\\n" in lines[2]
    assert "ValueError: an exception that says \\x1b[2J" in lines[2]


def test_a_hostile_status_and_content_encoding_reach_the_log_escaped(
    serve: Serve, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    coding = "\x1b[2J\x9b\x1b]52;c;eA==\x07"
    video = serve(
        lambda _n, _seen: Reply(200, b"\x1f\x8b" + b"x" * 500, {"Content-Encoding": coding})
    )
    answers: dict[str, dict[str, object]] = {
        "video_starvideos_o3_6600000001": {"status": f"{CLEAR}pwned{OSC52}\x9b1m"},
        "video_starvideos_o3_6600000002": {"status": "failed", "error": f"boom{OSC52}{CLEAR}"},
        "video_starvideos_o3_6600000003": {"status": "completed", "video_url": video.url()},
    }

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = seen.path.rsplit("/", 1)[-1]
        if task_id == "video_starvideos_o3_6600000004":  # an error answer, escapes in its words
            body: dict[str, object] = {"error": {"message": f"down {CLEAR}{OSC52}"}}
            return Reply(500, json.dumps(body).encode(), {"Content-Type": "application/json"})
        body = {"id": task_id, "created": 1774836724} | answers[task_id]
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    api = serve(respond)
    cli = SameProcessCli(tmp_path, api.url(""), capsys)
    ids = [*answers, "video_starvideos_o3_6600000004"]
    cli.ok("--log-level", "debug", "add", *ids)
    cli.ok("--log-level", "debug", "refresh")
    run = cli.run("--log-level", "debug", "download", "video_starvideos_o3_6600000003")
    assert run.code == 1 and "compressed" in run.err, str(run)

    raw = (cli.state_dir / "starvideos-tui.log").read_bytes()
    assert_no_raw_controls(raw)
    text = raw.decode("utf-8")
    assert all(LINE.match(line) for line in text.splitlines()), text
    assert "-> \\x1b[2J\\x1b[Hpwned\\x1b]52;c;" in text  # the status change, escaped
    assert "the host sent the video \\x1b[2j\\x9b\\x1b]52;c;ea==\\x07" in text  # the coding
    assert "down \\x1b[2J" in text  # the API's error words
