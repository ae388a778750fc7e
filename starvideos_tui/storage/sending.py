"""`<watchlist>.sending`: the create requests on their way to the API, kept on disk beside
the watchlist from just before each is sent until its task is in the watchlist.

What a run that was killed mid-request left there was perhaps created and perhaps not:
the API has no way to ask, so a re-run does not send it again (`settle` names them). One
run at a time holds the file (an exclusive lock), for as long as it sends.

An entry is a request's fingerprint (`key`), its place among the requests with the same
body (`twin`: the k-th such task of the watchlist) and the line of a file it came from
(`line`, 0 for a single request).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from starvideos_tui.core import localfile
from starvideos_tui.core.errors import Failure
from starvideos_tui.storage.basefile import atomic_write

Entry = tuple[str, int]  # (key, twin)


class LedgerBusy(Failure):
    """Another run holds the ledger: it is sending to this watchlist right now."""


class Ledger:
    def __init__(self, watchlist_path: Path) -> None:
        from filelock import FileLock

        self.path = watchlist_path.with_name(watchlist_path.name + ".sending")
        self._lock = FileLock(self.path.with_name(self.path.name + ".lock"), timeout=0)
        self.entries: dict[Entry, int] = {}  # (key, twin): line number

    def acquire(self) -> None:
        """Hold the ledger and read it; LedgerBusy at once when another run holds it."""
        from filelock import Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise LedgerBusy("another 'create --from' is sending to this watchlist") from None
        try:
            with localfile.open_binary(self.path) as handle:  # a FIFO there: refused
                text = handle.read().decode()
            self.entries = {}
            for raw in text.splitlines():
                entry = json.loads(raw)
                self.entries[(entry["key"], entry["twin"])] = entry["line"]
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self._lock.release()
            raise Failure(f"{self.path} is damaged; it names requests perhaps sent") from None
        except OSError as exc:
            self._lock.release()
            raise Failure(f"cannot read {self.path}: {exc.strerror or exc}") from None

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> Ledger:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()

    def settle(self, made: dict[str, list[str]]) -> set[Entry]:
        """Forget what reached the watchlist (`made`: the ids of its tasks by key); what is
        left, a stopped run was sending and its task never came back: perhaps made, perhaps
        not (unsure)."""
        left = {e: n for e, n in self.entries.items() if e[1] >= len(made.get(e[0], []))}
        if left != self.entries:
            self.entries = left
            self._write()
        return set(left)

    def add(self, entry: Entry, line: int) -> None:
        self.entries[entry] = line
        self._write()

    def discard(self, entry: Entry) -> None:
        if self.entries.pop(entry, None) is not None:
            self._write()

    def _write(self) -> None:
        if not self.entries:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        body = "".join(
            json.dumps({"key": k, "twin": t, "line": n}) + "\n"
            for (k, t), n in self.entries.items()
        )
        atomic_write(self.path, body.encode())
