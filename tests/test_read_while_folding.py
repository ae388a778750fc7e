"""A reader takes no lock; a base replaced while it reads is read again. A writer that folds
again and again (each fold under the inter-process lock, as every writer of ours does) must
not make a reader give up: after a few tries it reads once under the lock itself."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from helpers_proc import Spawn

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist

# Another process putting two whole bases in place in turn, each a new file renamed over
# the watchlist under its lock, as fast as it can, until the test's stop file appears.
FOLDER = """
import os, shutil, sys
from pathlib import Path
from filelock import FileLock
path, stop, bases = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
lock, n = FileLock(f"{path}.lock"), 0
while not stop.exists():
    temp = path.with_name(f".{path.name}.{n}.tmp")
    shutil.copy(bases[n % 2], temp)
    with lock:
        os.replace(temp, path)
    n += 1
print(n)
"""


def folded_base(path: Path, label: str) -> dict[str, str | None]:
    watchlist = Watchlist(path)
    watchlist.add([TaskRecord(id=f"task-{i}", label=label) for i in range(2000)])
    watchlist.close()
    return {r.id: r.label for r in Watchlist(path).load()}


def test_a_reader_among_endless_folds_reads_one_whole_base(
    tmp_path: Path, spawn: Spawn, child_env: dict[str, str]
) -> None:
    bases = [tmp_path / "a" / "w.json", tmp_path / "b" / "w.json"]
    states = [folded_base(base, label) for base, label in zip(bases, "ab", strict=True)]
    path, stop = tmp_path / "w.json", tmp_path / "stop"
    folder = spawn(
        [sys.executable, "-c", FOLDER, str(path), str(stop), *map(str, bases)],
        env=child_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline and folder.poll() is None
        time.sleep(0.01)
    for _ in range(10):
        seen = {r.id: r.label for r in Watchlist(path).load()}
        assert seen in states  # one whole base, never a mix, never an error
    stop.touch()
    out, _ = folder.communicate(timeout=10)
    assert folder.returncode == 0 and int(out) > 10  # the base was replaced all along
