"""Every module sits in a declared layer: the folders are the architecture.

import-linter's contracts (pyproject.toml) name packages, so they cover whatever a folder
holds; a module dropped beside them, in no folder, would be checked by no contract. This
test finds such modules.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "starvideos_tui"
# The package's own entry points: they hold no logic of their own.
ENTRY_POINTS = {"__init__", "__main__"}


def declared_layers() -> set[str]:
    """The folders the layers contract names, and the simulator, which stands apart."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    [layers] = [c for c in contracts if c["type"] == "layers"]
    folders = {
        name.strip().removeprefix(PACKAGE + ".")
        for layer in layers["layers"]
        for name in layer.replace("|", ":").split(":")
    }
    return folders | {"simulator"}


def modules_outside_layers(package_dir: Path, layers: set[str]) -> list[str]:
    """Every module of the package that is in no declared layer's folder."""
    outside = []
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir).with_suffix("").parts
        if len(parts) == 1 and parts[0] in ENTRY_POINTS:
            continue
        if len(parts) == 1 or parts[0] not in layers:
            outside.append(".".join((PACKAGE, *parts)))
    return outside


def test_every_module_sits_in_a_declared_layer() -> None:
    layers = declared_layers()
    assert {"cli", "tui", "engine", "video", "storage", "api", "terminal", "core"} <= layers
    assert modules_outside_layers(REPO / PACKAGE, layers) == []


def test_a_module_added_outside_every_layer_is_found(tmp_path: Path) -> None:
    """The check above can fail: a copy of the package with a stray module fails it."""
    copy = tmp_path / PACKAGE
    shutil.copytree(REPO / PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "stray.py").write_text("from starvideos_tui.storage import store\n")
    (copy / "helpers").mkdir()
    (copy / "helpers" / "__init__.py").write_text("")
    (copy / "helpers" / "more.py").write_text("")
    found = modules_outside_layers(copy, declared_layers())
    assert found == [
        "starvideos_tui.helpers.__init__",
        "starvideos_tui.helpers.more",
        "starvideos_tui.stray",
    ]
