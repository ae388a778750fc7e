"""`list --json` (and every JSON array a command prints) written by orjson: the same values
as json.dumps(ensure_ascii=True) gives, compact, and still ASCII only (issue 25 item 4)."""

from __future__ import annotations

import json

import pytest

from starvideos_tui.cli.cmdline import json_array
from starvideos_tui.core.textsafe import dumps_ascii

VALUES: list[object] = [
    {"prompt": "un renard — 狐 ‮ 😀 é", "history": [{"status": "queued", "at": 1.5}]},
    {"size": 2**70},  # past 64 bits: orjson refuses it, json writes it
    {"text": "\ud83d lone"},  # a lone surrogate: json writes its escape
    {"c": '\x00\x1f\x7f\u2028\n"\\/\b\f\t'},
    {"n": None, "t": True, "f": False, "x": 0.1 + 0.2, "when": 1_765_000_000.123456},
    {"del": "a\x7fb"},  # ASCII, yet json escapes it: so must we
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES)
def test_the_same_value_as_json_and_the_same_text_where_it_has_no_float(value: object) -> None:
    text = dumps_ascii(value)
    assert text.isascii() and "\x7f" not in text
    assert json.loads(text) == json.loads(json.dumps(value))
    if "x" not in (value if isinstance(value, dict) else {}):
        assert text == json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def test_an_array_one_item_a_line() -> None:
    assert json_array([]) == "[]"
    assert json_array([{"a": "é"}, {"b": 1}]) == '[\n{"a":"\\u00e9"},\n{"b":1}\n]'
