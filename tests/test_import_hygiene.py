"""Headless commands never import Textual, so scripts and cron jobs start fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# Every module below the TUI, and the headless commands' own (cli.main starts the TUI lazily).
BELOW_THE_TUI = ("engine", "video", "storage", "api", "terminal", "core", "simulator")
CORE_MODULES = sorted(
    ".".join(path.relative_to(REPO / "starvideos_tui").with_suffix("").parts)
    for folder in (*BELOW_THE_TUI, "cli")
    for path in (REPO / "starvideos_tui" / folder).rglob("*.py")
    if path.name != "__init__.py"
)
HEAVY = ("textual",)


@pytest.fixture
def env(child_env: dict[str, str]) -> dict[str, str]:
    return child_env


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


# -- the layout: no circles, no private names across modules ---------------------------


def _imports_of(path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in a file, those under
    TYPE_CHECKING and inside functions included."""
    import ast

    found = []
    package = "starvideos_tui." + ".".join(
        path.relative_to(REPO / "starvideos_tui").with_suffix("").parts
    )
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level)[0]
                base = f"{parent}.{base}" if base else parent
            found.append((base, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names]
    return found


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in (REPO / "starvideos_tui").rglob("*.py"):
        parts = path.relative_to(REPO).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        targets = set()
        for module, names, _ in _imports_of(path):
            if module.startswith("starvideos_tui"):
                targets.add(module)
                targets.update(f"{module}.{n}" for n in names)
        graph[name] = targets
    return {m: {t for t in ts if t in graph and t != m} for m, ts in graph.items()}


def _path_between(graph: dict[str, set[str]], source: str, goal: str) -> list[str] | None:
    """The modules on an import path from `source` to `goal`, if there is one."""
    came_from: dict[str, str] = {source: source}
    queue = [source]
    while queue:
        module = queue.pop(0)
        if module == goal:
            path = [module]
            while path[-1] != source:
                path.append(came_from[path[-1]])
            return path[::-1]
        for target in graph[module]:
            if target not in came_from:
                came_from[target] = module
                queue.append(target)
    return None


def test_no_module_imports_another_that_imports_it_back() -> None:
    """No import circle, even through TYPE_CHECKING or a function's local import."""
    graph = _graph()
    circles = set()
    for module, targets in graph.items():
        for target in targets:
            back = _path_between(graph, target, module)
            if back is not None:
                circles.add(" -> ".join([module, *back]))
    assert not circles, "\n".join(sorted(circles)[:10])


def test_no_module_takes_a_private_name_from_another() -> None:
    taken = []
    for path in (REPO / "starvideos_tui").rglob("*.py"):
        for module, names, line in _imports_of(path):
            if module.startswith("starvideos_tui") or module.startswith("."):
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                taken += [f"{path.name}:{line} {module}.{n}" for n in private]
    assert not taken, taken
