"""One settings resolution (#24): every setting of a run comes from the engine's `resolve`,
flag > environment > config file > default, into one frozen Settings that both faces take;
one seam opens the watchlist; each default is written once in the package."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path
from typing import Any

import pytest

from starvideos_tui.cli import commands, remote, watching
from starvideos_tui.cli.main import build_parser
from starvideos_tui.core.models import DEFAULT_BASE_URL
from starvideos_tui.core.schedule import DEFAULT_INTERVAL
from starvideos_tui.engine.settings import Settings, SettingsError, resolve
from starvideos_tui.storage.store import Watchlist
from starvideos_tui.tui.launch import launch

PACKAGE = Path(__file__).resolve().parents[1] / "starvideos_tui"

# (setting, its flag's value, its environment variable and value, the config's value,
#  what each resolves to, the default's): flag > environment > config file > default.
LOOP = "http://127.0.0.1:9"
CASES: list[tuple[str, Any, str, str, Any, tuple[Any, Any, Any], Any]] = [
    (
        "db",
        "/f/w.json",
        "STARVIDEOS_DB",
        "/e/w.json",
        "/c/w.json",
        (Path("/f/w.json"), Path("/e/w.json"), Path("/c/w.json")),
        None,  # under the user's data dir: checked apart
    ),
    (
        "base_url",
        "http://127.0.0.1:1",
        "STARVIDEOS_BASE_URL",
        "http://127.0.0.1:2/",
        "http://127.0.0.1:3",
        ("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"),
        DEFAULT_BASE_URL,
    ),
    ("interval", "45", "STARVIDEOS_INTERVAL", "50", 55, (45.0, 50.0, 55.0), DEFAULT_INTERVAL),
    (
        "download_dir",
        "/f/dl",
        "STARVIDEOS_DOWNLOAD_DIR",
        "/e/dl",
        "/c/dl",
        (Path("/f/dl"), Path("/e/dl"), Path("/c/dl")),
        Path("starvideos-downloads"),
    ),
    ("auto_download", False, "STARVIDEOS_AUTO_DOWNLOAD", "1", False, (False, True, False), False),
    (
        "log_level",
        "debug",
        "STARVIDEOS_LOG_LEVEL",
        "warning",
        "error",
        ("debug", "warning", "error"),
        "info",
    ),
    ("notify", "osc9", "STARVIDEOS_NOTIFY", "bell", "off", ("osc9", "bell", "off"), "auto"),
    ("theme", "dark", "STARVIDEOS_THEME", "light", "dark", ("dark", "light", "dark"), "auto"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_setting_flag_beats_environment_beats_config_beats_default(
    case: tuple[str, Any, str, str, Any, tuple[Any, Any, Any], Any],
) -> None:
    name, flag, env_name, env_value, config_value, (by_flag, by_env, by_config), default = case
    # Base URL on loopback throughout, so that a fast interval is allowed where it is tried.
    base = {} if name == "base_url" else {"STARVIDEOS_BASE_URL": LOOP}
    env = {**base, env_name: env_value}
    config = {name: config_value}
    assert getattr(resolve({name: flag}, env, config), name) == by_flag
    assert getattr(resolve({name: None}, env, config), name) == by_env
    assert getattr(resolve({name: None}, base, config), name) == by_config
    settled = resolve({name: None}, base, {})
    assert name not in settled.given
    if default is not None:
        assert getattr(settled, name) == default
    for given in (
        resolve({name: flag}, base, {}),
        resolve({}, env, {}),
        resolve({}, base, config),
    ):
        assert name in given.given


def test_the_tuis_own_settings_flag_beats_environment_beats_default() -> None:
    """--preview, STARVIDEOS_PREVIEW, auto; STARVIDEOS_BELL, on. Neither is a config key
    (as before the one resolution: the config file's preview is not read)."""
    env = {"STARVIDEOS_PREVIEW": "off", "STARVIDEOS_BELL": "0"}
    assert resolve({"preview": "blocks"}, env, {}).preview == "blocks"
    assert resolve({}, env, {}).preview == "off"
    assert resolve({}, {}, {"preview": "off"}).preview == "auto"
    assert resolve({}, env, {}).bell is False
    assert resolve({}, {}, {}).bell is True
    with pytest.raises(SettingsError, match="STARVIDEOS_PREVIEW"):
        resolve({}, {"STARVIDEOS_PREVIEW": "sixel-please"}, {})


def test_the_config_file_is_read_when_none_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STARVIDEOS_HOME", str(tmp_path))
    config = tmp_path / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('interval = 40\nnotify = "bell"\n')
    settings = resolve({}, {"STARVIDEOS_HOME": str(tmp_path)})
    assert (settings.interval, settings.notify) == (40.0, "bell")
    assert settings.given == {"interval", "notify"}


def test_settings_are_frozen_and_never_show_the_key() -> None:
    settings = resolve({}, {"STARVIDEOS_API_KEY": "sk-canary-123"}, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.interval = 1.0  # type: ignore[misc]
    assert "sk-canary-123" not in repr(settings)
    key = settings.api_key()
    assert key is not None and key.secret == "sk-canary-123"


def test_the_tui_and_the_cli_get_the_same_settings_for_the_same_inputs(tmp_path: Path) -> None:
    """The same flags, environment and config give equal Settings whether the words start
    the TUI or a command; both faces take nothing but that object."""
    env = {"STARVIDEOS_BASE_URL": LOOP, "STARVIDEOS_NOTIFY": "bell", "STARVIDEOS_BELL": "0"}
    config = {"download_dir": str(tmp_path / "dl"), "auto_download": True}
    flags = ["--interval", "7", "--db", str(tmp_path / "w.json"), "--preview", "off"]
    tui = resolve(vars(build_parser().parse_args(flags)), env, config)
    for command in (["list"], ["watch"], ["wait", "x"], ["refresh"]):
        cli = resolve(vars(build_parser().parse_args(flags + command)), env, config)
        assert cli == tui
    assert (tui.interval, tui.notify, tui.preview, tui.bell) == (7.0, "bell", "off", False)
    assert (tui.download_dir, tui.auto_download) == (tmp_path / "dl", True)
    assert list(inspect.signature(launch).parameters) == ["settings"]
    for handler in (remote.refresh, watching.watch, watching.wait, commands.show_list):
        assert next(iter(inspect.signature(handler).parameters)) == "settings"


def test_the_demo_takes_only_its_flags_and_its_own_folder(tmp_path: Path) -> None:
    """The demo reads no config file and ignores --db, --base-url, --interval (as before):
    its simulator and throw-away folder stand in for them."""
    flags = {"demo": True, "interval": "1", "base_url": "gopher://x", "db": "/nowhere"}
    config = {"interval": "not a number"}
    settings = resolve(flags, {"STARVIDEOS_DOWNLOAD_DIR": "/e/dl"}, config)
    session = settings.demo_session(tmp_path, "http://127.0.0.1:5")
    assert session.demo and session.base_url == "http://127.0.0.1:5"
    assert session.db == tmp_path / "watchlist.json"
    assert session.download_dir == tmp_path / "downloads"
    assert session.frames_dir == tmp_path / "frames"
    given = resolve({**flags, "download_dir": "mine"}, {}, {}).demo_session(tmp_path, LOOP)
    assert given.download_dir == Path("mine")


def test_the_one_seam_opens_the_watchlist_the_settings_name(tmp_path: Path) -> None:
    settings = resolve({"db": str(tmp_path / "w.json")}, {}, {})
    watchlist = settings.open_watchlist()
    assert isinstance(watchlist, Watchlist) and watchlist.path == tmp_path / "w.json"


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text())) for p in sorted(PACKAGE.rglob("*.py"))]


def test_no_module_but_the_seam_constructs_a_watchlist() -> None:
    calls = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path, tree in _modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id == "Watchlist")
            or (isinstance(node.func, ast.Attribute) and node.func.attr == "Watchlist")
        )
    ]
    assert len(calls) == 1 and calls[0].startswith("engine/settings.py:"), calls


def _literal(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def test_the_interval_default_is_written_once() -> None:
    """Every default of a parameter or field named `interval` names DEFAULT_INTERVAL; the
    number itself is written once, where DEFAULT_INTERVAL is defined."""
    literal_defaults: list[str] = []
    named = 0
    definitions = []
    for path, tree in _modules():
        where = path.relative_to(PACKAGE)
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                target, value = node.target.id, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                first = node.targets[0]
                target = first.id if isinstance(first, ast.Name) else ""
                value = node.value
            else:
                target, value = "", None
            if target == "DEFAULT_INTERVAL":
                definitions.append((str(where), _literal(value)))
            elif target == "interval" and value is not None:
                named += isinstance(value, ast.Name) and value.id == "DEFAULT_INTERVAL"
                if _literal(value) is not None:
                    literal_defaults.append(f"{where}:{getattr(node, 'lineno', '?')}")
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                positional = args.posonlyargs + args.args
                pairs = list(
                    zip(
                        positional[len(positional) - len(args.defaults) :],
                        args.defaults,
                        strict=True,
                    )
                )
                pairs += [
                    (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d
                ]
                for arg, default in pairs:
                    if arg.arg == "interval":
                        named += isinstance(default, ast.Name) and default.id == "DEFAULT_INTERVAL"
                        if _literal(default) is not None:
                            literal_defaults.append(f"{where}:{node.lineno}")
    assert definitions == [("core/schedule.py", 30.0)]
    assert literal_defaults == []
    assert named >= 3  # PollSchedule's field, AppConfig's field, Monitor's parameter


@pytest.mark.parametrize(
    "literal",
    [DEFAULT_BASE_URL, "starvideos-downloads", "STARVIDEOS_INTERVAL", "STARVIDEOS_PREVIEW"],
)
def test_other_defaults_and_names_are_written_once(literal: str) -> None:
    """The base URL and the download folder's default, and each setting's variable as it
    is read (help texts and messages aside), in one place of the package."""
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path, tree in _modules()
        if path.parts[-2] != "simulator"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value == literal
    ]
    assert len(found) == 1, found


def test_launch_reads_no_setting_from_os_environ() -> None:
    """The TUI's launch takes its settings and the terminal's facts from Settings.environ;
    only the demo writes NO_PROXY into the process's environment for its loopback."""
    tree = ast.parse((PACKAGE / "tui" / "launch.py").read_text())
    demo = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_demo")
    in_demo = {id(n) for n in ast.walk(demo)}
    outside = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr == "environ"
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and id(node) not in in_demo
    ]
    assert outside == []
    settings_fields = {f.name for f in dataclasses.fields(Settings)}
    assert {
        "preview",
        "bell",
        "notify",
        "theme",
        "frames_dir",
        "demo",
        "environ",
    } <= settings_fields
