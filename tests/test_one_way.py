"""One way to do each thing (#24): the pairs that did one job are one, and the loose ends
are tied. Each test reads the package's source, so a second coalescer, URL check or
finite-number reader, a private argparse table or a stray driver write fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from starvideos_tui.cli.main import main

PACKAGE = Path(__file__).resolve().parents[1] / "starvideos_tui"


def sources() -> dict[str, str]:
    """Each module below the package (the simulator stands apart: it imports nothing of
    it, so it keeps its own checks), by its path."""
    return {
        str(path.relative_to(PACKAGE)): path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).parts[0] != "simulator"
    }


def where(pattern: str) -> list[str]:
    found = re.compile(pattern, re.MULTILINE)
    return [name for name, text in sources().items() if found.search(text)]


def test_one_coalescer_and_one_constant() -> None:
    assert where(r"^class Burst\b") == ["core/burst.py"]
    assert where(r"^\s*\w*TOGETHER\s*=") == ["core/burst.py"]
    # The faces arm no timer of their own for a burst: they hand theirs to Burst.
    assert where(r"set_timer\(\s*\w*TOGETHER") == []
    assert where(r"call_later\(\s*\w*TOGETHER") == []


def test_one_url_check_and_one_finite_number_reader() -> None:
    assert where(r"^def \w*http_url\(") == ["core/values.py"]
    assert where(r"^_URL_RE\b") == ["core/values.py"]
    assert where(r"^def \w*finite\w*\(") == ["api/answers.py", "core/values.py"]
    # answers.py reads a number sent as text, then asks core/values.py, as recordfields.py does
    assert where(r"isfinite\(number\)") == ["core/values.py"]
    text = sources()
    assert (
        "finite_number(" in text["api/answers.py"]
        and "finite_number(" in text["core/recordfields.py"]
    )
    assert (
        "http_url(" in text["video/videohost.py"]
        and "http_url(" in text["engine/setting_values.py"]
    )


def test_textual_driver_is_reached_in_one_place() -> None:
    assert where(r"\._driver\b") == ["tui/escapes.py"]


def test_the_parser_reads_no_private_table_of_argparse() -> None:
    assert where(r"_option_string_actions") == []


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["list", "--notfy"], "--notfy (did you mean --notify?)"),  # the program's own
        (["sim", "--rate-limt", "2"], "--rate-limt (did you mean --rate-limit?)"),  # a command's
        (["--no-auto-downlaod"], "--no-auto-downlaod (did you mean --no-auto-download?)"),
        (["completion", "bash", "--task-idz"], "--task-idz (did you mean --task-ids?)"),  # hidden
    ],
)
def test_options_are_known_as_they_are_added(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The unknown-option message knows every option as add_argument took it: the
    program's, each command's, a --no- form, a hidden one."""
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert f"error: unknown option {named}" in capsys.readouterr().err
