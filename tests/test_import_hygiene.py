"""Headless commands never import Textual, so scripts and cron jobs start fast."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_MODULES = [
    "cli",
    "commands",
    "api",
    "store",
    "schedule",
    "poll",
    "download",
    "videos",
    "models",
    "settings",
]
HEAVY = ("textual",)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["STARVIDEOS_HOME"] = str(tmp_path / "home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    for name in ("STARVIDEOS_DB", "STARVIDEOS_API_KEY", "STARVIDEOS_BASE_URL"):
        env.pop(name, None)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=60
    )


def _heavy_in_importtime(stderr: str) -> list[str]:
    """Modules named in `python -X importtime` output that belong to the TUI stack."""
    found = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name.split(".")[0] in HEAVY:
                found.append(name)
    return found


def test_importing_the_core_modules_does_not_load_textual(env: dict[str, str]) -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module('starvideos_tui.' + name)\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps(heavy))\n"
    )
    run = _run(env, "-c", script)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


@pytest.mark.parametrize("args", [["list"], ["list", "--json"]], ids=" ".join)
def test_list_command_runs_without_loading_textual(
    env: dict[str, str], tmp_path: Path, args: list[str]
) -> None:
    db = tmp_path / "watchlist.json"
    added = _run(env, "-m", "starvideos_tui", "--db", str(db), "add", "video_starvideos_o3_1")
    assert added.returncode == 0, added.stderr
    run = _run(env, "-X", "importtime", "-m", "starvideos_tui", "--db", str(db), *args)
    assert run.returncode == 0, run.stderr
    assert "video_starvideos_o3_1" in run.stdout
    assert "import time:" in run.stderr, "-X importtime gave no report: this test proves nothing"
    assert _heavy_in_importtime(run.stderr) == []


def test_list_on_the_default_empty_watchlist_runs_without_loading_textual(
    env: dict[str, str],
) -> None:
    script = (
        "import json, runpy, sys\n"
        "sys.argv = ['starvideos-tui', 'list', '--json']\n"
        "try:\n"
        "    runpy.run_module('starvideos_tui', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as done:\n"
        "    code = done.code\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    run = _run(env, "-c", script)
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report == {"code": 0, "heavy": []}
    assert json.loads(run.stdout) == []
