"""Child process for tests/test_store_processes.py (not a test module).

python helpers_store.py fill PATH COUNT PREFIX
    one add of COUNT tasks PREFIX-0 ... PREFIX-(COUNT-1)
python helpers_store.py add-loop PATH COUNT PREFIX
    COUNT adds of one task each; prints each id only after its add returned
"""

from __future__ import annotations

import sys
import time

from starvideos_tui.core.models import TaskRecord
from starvideos_tui.storage.store import Watchlist


def main(argv: list[str]) -> int:
    command, path, count, prefix = argv[0], argv[1], int(argv[2]), argv[3]
    if command == "fill":
        Watchlist(path).add([TaskRecord(id=f"{prefix}-{i}") for i in range(count)])
        return 0
    if command == "add-loop":
        print(f"started {time.time()}", file=sys.stderr, flush=True)
        for i in range(count):
            task_id = f"{prefix}-{i}"
            # A fresh object per add, as separate CLI runs would do.
            Watchlist(path).add([TaskRecord(id=task_id, added_at=time.time())])
            sys.stdout.write(task_id + "\n")
            sys.stdout.flush()
        print(f"finished {time.time()}", file=sys.stderr, flush=True)
        return 0
    print(f"unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
