"""The faces (cli/, tui/) go through the engine: pyproject.toml's contract forbids them the
API client, the storage and the video path, and this shows the contract can fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "starvideos_tui"
CONTRACT = "The faces go through the engine, never around it"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports over the package as it is under `root` (the repository or a copy)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_face_importing_the_storage_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(
        REPO / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    kept = lint_imports(tmp_path)
    assert kept.returncode == 0, kept.stdout
    assert f"{CONTRACT} KEPT" in " ".join(kept.stdout.split())
    for face, module in (("tui", "starvideos_tui.storage.store"), ("cli", "starvideos_tui.api")):
        stray = tmp_path / PACKAGE / face / "stray.py"
        stray.write_text(f"import {module}\n")
        broken = lint_imports(tmp_path)
        assert broken.returncode == 1, broken.stdout
        assert f"{CONTRACT} BROKEN" in " ".join(broken.stdout.split())
        assert f"starvideos_tui.{face}.stray -> {module}" in broken.stdout
        stray.unlink()
