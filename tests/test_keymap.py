"""Keys rebound in config.toml's [keys] table (Textual's keymap, tui/bindings.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers_proc import child_environment
from textual.binding import Binding
from textual.pilot import Pilot

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.settings import SettingsError, resolve
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.app import StarVideosApp
from starvideos_tui.tui.bindings import (
    APP_BINDINGS,
    TABLE_BINDINGS,
    KeymapError,
    check_keymap,
    rebindable,
)
from starvideos_tui.tui.config import AppConfig
from starvideos_tui.tui.screens.keys import KeysScreen

TASK = "video_starvideos_o3_4821730013"


def keymap_from(table: dict[str, object]) -> dict[str, str]:
    """config.toml's [keys] table as the launch reads it: settings, then the TUI's check."""
    settings = resolve({}, env={}, config={"keys": table, "db": "/nonexistent/w.json"})
    return check_keymap(settings.keymap, rebindable(), kept=TABLE_BINDINGS)


def app_with(tmp_path: Path, keymap: dict[str, str]) -> StarVideosApp:
    watchlist = Watchlist(tmp_path / "watchlist.json")
    # Finished now, not in 1970: a task finished over history_days ago is hidden (H).
    watchlist.add([TaskRecord(id=TASK, status="completed", added_at=time.time())])
    config = AppConfig(
        download_dir=tmp_path / "videos", bell=False, api_note="no API key", keymap=keymap
    )
    return StarVideosApp(watchlist=watchlist, client=None, config=config)


async def until(pilot: Pilot[None], condition: object, what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def test_every_app_key_has_an_id_and_no_two_share_one() -> None:
    ids = [b.id for b in APP_BINDINGS]
    assert None not in ids
    assert len(set(ids)) == len(ids)
    assert "toggle-panel" in {b.id for b in TABLE_BINDINGS}


def test_the_keys_table_is_read_from_config_and_written_as_textual_names_them() -> None:
    assert keymap_from({"download": "D", "quit": "q, ctrl+q", "help": "?"}) == {
        "download": "D",
        "quit": "q,ctrl+q",
        "help": "question_mark",
    }
    assert keymap_from({}) == {}
    # Swapping two keys is no clash: each takes the other's.
    assert keymap_from({"download": "a", "add": "d"}) == {"download": "a", "add": "d"}


async def test_a_rebound_key_works_the_old_one_no_longer_does_and_keys_shows_the_new_one(
    tmp_path: Path,
) -> None:
    app = app_with(tmp_path, keymap_from({"sort": "o", "help": "f1"}))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.selected_id == TASK, "the first row")
        await pilot.press("s")  # the old key: nothing
        await pilot.pause()
        assert app.sort_mode == "work"
        await pilot.press("o")
        await until(pilot, lambda: app.sort_mode != "work", "o to sort")

        active = {key: b.binding.id for key, b in app.active_bindings.items()}
        assert active.get("f1") == "help"  # what the footer draws from
        assert "question_mark" not in active
        await pilot.press("question_mark")  # the old key: no keys screen
        await pilot.pause()
        assert not isinstance(app.screen, KeysScreen)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, KeysScreen), "f1 to open the keys")
        assert isinstance(app.screen, KeysScreen)
        rows = dict(app.screen.rows)  # (key as shown, what it does)
        assert rows["o"].startswith("Sort") and rows["f1"].startswith("Keys")
        assert "s" not in rows and "?" not in rows
        assert rows["d"].startswith("Download")  # the keys not rebound stay
        app.exit()


@pytest.mark.parametrize(
    ("table", "said"),
    [
        ({"downlaod": "D"}, "no key is called 'downlaod'"),  # a typo in the id
        ({"download": ""}, "not a key Textual knows"),
        ({"download": "ctrl+"}, "not a key Textual knows"),
        ({"download": "pgup"}, "not a key Textual knows"),  # Textual says pageup
        ({"download": "hyper+cmd+x"}, "not a key Textual knows"),
        ({"download": "a"}, "'a' would do both 'add' and 'download'"),  # add keeps a
        ({"quit": "j"}, "'j' would do both 'quit' and 'Down'"),  # the table's own key
        ({"download": 5}, "keys are a string"),
    ],
)
def test_a_bad_entry_is_refused_naming_config_toml_and_the_entry(
    table: dict[str, object], said: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        keymap_from(table)
    assert said in str(refused.value)
    assert "config.toml" in str(refused.value)


@pytest.mark.parametrize(
    ("toml", "said"),
    [
        ('[keys]\ndownlaod = "D"\n', "config.toml [keys] downlaod = 'D': no key is called"),
        ('[keys]\nquit = "q,ctrl+"\n', "config.toml [keys] quit = 'q,ctrl+': not a key"),
        ('keys = "D"\n', "config.toml: keys must be a table"),
    ],
)
def test_starting_the_tui_with_a_bad_keys_entry_exits_2_with_one_line(
    tmp_path: Path, toml: str, said: str
) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text(toml, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "starvideos_tui"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env={**child_environment(home), "STARVIDEOS_API_KEY": "sk-test"},
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert said in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "data" / "watchlist.json").exists()  # nothing changed


def test_a_keymap_error_is_a_settings_error_so_the_cli_exits_2() -> None:
    assert issubclass(KeymapError, SettingsError)
    assert all(isinstance(b, Binding) for b in rebindable())
