"""The one way a task is submitted: `create`, `create --from` and the TUI's `n`/`N`.

- A 429 is waited out: the request is asked again when its Retry-After has passed (at
  most MAX_RETRY_AFTER), and every request of the same run waits with it.
- Each request is noted in `<watchlist>.sending` (storage/sending.py) just before it
  leaves; forgotten on a 429, a refusal or when it never left; settled when its task is
  in the watchlist. A run killed in between leaves it noted: perhaps the API made it, so
  it is not sent again (`PerhapsSent`), however the next request is made.
- A request the watchlist already holds a task of is known by its body's fingerprint: the
  k-th request with a given body matches the k-th such task (`twin`), so a file may ask
  for the same shot twice and a re-run still submits nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.api.create_request import DEFAULT_DURATION as DEFAULT_DURATION
from starvideos_tui.api.create_request import RATIOS as RATIOS
from starvideos_tui.api.create_request import CreateRequest as CreateRequest  # for faces
from starvideos_tui.api.create_request import record_of_created
from starvideos_tui.api.errors import ApiError, AuthError, BadRequest, NetworkError, RateLimited
from starvideos_tui.core.errors import Failure
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.watchlist_io import AsyncWatchlist
from starvideos_tui.storage.sending import Entry, LedgerBusy
from starvideos_tui.storage.sending import Ledger as Ledger
from starvideos_tui.storage.store import WatchlistError

SENDING_AT_ONCE = 4  # requests in flight to the API at most, in one run
MAX_RETRY_AFTER = 300.0  # seconds: a longer Retry-After is waited in this many
LEDGER_PATIENCE = 10.0  # seconds a single request waits for another run's sending to end
# Seconds a stopped run still waits for the answer of a request already sent: signals end
# a command within a second or two (CONTRACT.md); past this the request stays "perhaps
# sent" in the ledger, so a re-run never sends it twice.
ANSWER_PATIENCE = 1.5


def fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def submitted(records: Iterable[TaskRecord]) -> dict[str, list[str]]:
    """The ids of the tasks this watchlist made, by their body's fingerprint, oldest first."""
    found: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for record in records:
        if record.params:
            found[fingerprint(record.params)].append((record.added_at or 0.0, record.id))
    return {key: [i for _, i in sorted(made)] for key, made in found.items()}


@dataclass(frozen=True, slots=True)
class Order:
    """One request to submit: where it came from, what it asks, its place among its twins."""

    number: int  # 1-based line of a file (of the data, for CSV); 0 for a single request
    request: CreateRequest
    label: str | None
    key: str  # the body's fingerprint
    twin: int  # 0 for the first request with this body, 1 for the second, …

    @classmethod
    def single(cls, request: CreateRequest, label: str | None, made: dict[str, list[str]]) -> Order:
        """A request of its own: the next twin of what the watchlist already made."""
        key = fingerprint(request.to_json())
        return cls(0, request, label, key, len(made.get(key, [])))

    @property
    def entry(self) -> Entry:
        return (self.key, self.twin)


def already(order: Order, made: dict[str, list[str]]) -> str | None:
    """The id of the task this order already made, if it did."""
    ids = made.get(order.key, [])
    return ids[order.twin] if order.twin < len(ids) else None


class NotWatched(Failure):
    """The API made the task but the watchlist could not record it."""

    def __init__(self, task_id: str, why: str) -> None:
        super().__init__(f"created task {task_id} but could not watch it: {why}")
        self.task_id = task_id


class PerhapsSent(Failure):
    """The same request was on its way when a run stopped: perhaps it exists already."""


def failure_of(where: str, exc: ApiError) -> Failure:
    """What a submit's ApiError means for a line of a file: was anything made?"""
    if isinstance(exc, BadRequest):
        return Failure(f"{where}: the API refused it: {exc}")
    if isinstance(exc, NetworkError) and exc.unsent:
        return Failure(f"{where}: {exc}; nothing was sent")
    if isinstance(exc, AuthError):
        return Failure(f"{where}: {exc}")
    # No answer, or a broken one: perhaps it was made (a re-run will not send it).
    return Failure(f"{where}: {exc}; it may have been created")


@contextlib.asynccontextmanager
async def holding(watchlist_path: Path, patience: float = 0.0) -> AsyncIterator[Ledger]:
    """The watchlist's ledger, held by this run; LedgerBusy when another run keeps it
    beyond `patience` seconds."""
    ledger = Ledger(watchlist_path)
    deadline = time.monotonic() + patience
    while True:
        try:
            ledger.acquire()
            break
        except LedgerBusy:
            if time.monotonic() >= deadline:
                if patience:
                    raise LedgerBusy(
                        "another run is sending to this watchlist; try again when it ends"
                    ) from None
                raise
        await asyncio.sleep(0.1)
    try:
        yield ledger
    finally:
        ledger.release()


class Submitter:
    """Sends orders through one client, each noted in the held `ledger` while on its way,
    its task recorded by `add`; a 429 pauses every order of this submitter."""

    def __init__(
        self,
        client: StarVideosClient,
        add: Callable[[Sequence[TaskRecord]], Awaitable[object]],
        ledger: Ledger,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.add = add
        self.ledger = ledger
        self.clock = clock
        self.at_once = asyncio.Semaphore(SENDING_AT_ONCE)
        self.paused_until = 0.0

    async def send(self, order: Order) -> TaskRecord:
        """The task made and recorded; ApiError as the API said, NotWatched."""
        async with self.at_once:
            # Once sent, its answer is awaited and recorded even when the run is stopped:
            # a task the API made and nothing recorded would be made again by a re-run.
            job = asyncio.ensure_future(self._submit(order))
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                if order.entry not in self.ledger.entries:
                    job.cancel()  # not sent yet (waiting out a Retry-After): nothing to wait for
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(job, ANSWER_PATIENCE)
                raise

    async def send_line(self, order: Order) -> TaskRecord:
        """`send`, a failure said as a Failure naming the file's line it came from."""
        where = f"line {order.number}"
        try:
            return await self.send(order)
        except NotWatched as exc:
            raise Failure(f"{where}: {exc}") from None
        except ApiError as exc:
            raise failure_of(where, exc) from None

    async def _submit(self, order: Order) -> TaskRecord:
        while True:
            wait = self.paused_until - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self.ledger.add(order.entry, order.number)  # on disk before the request leaves
            try:
                result = await self.client.create_task(order.request)
                break
            except RateLimited as exc:  # not taken: ask again when the API says
                self.ledger.discard(order.entry)
                pause = min(exc.retry_after, MAX_RETRY_AFTER)
                self.paused_until = max(self.paused_until, time.monotonic() + pause)
            except (BadRequest, AuthError):  # refused: nothing was made
                self.ledger.discard(order.entry)
                raise
            except NetworkError as exc:
                if exc.unsent:  # it never left
                    self.ledger.discard(order.entry)
                raise
        record = record_of_created(result, order.request, self.clock(), order.label)
        try:
            await self.add([record])
        except WatchlistError as exc:
            raise NotWatched(result.id, str(exc)) from None
        self.ledger.discard(order.entry)
        return record


async def submit_one(
    client: StarVideosClient,
    store: AsyncWatchlist,
    request: CreateRequest,
    label: str | None = None,
    *,
    clock: Callable[[], float] = time.time,
    patience: float = LEDGER_PATIENCE,
) -> TaskRecord:
    """Submit one request and record its task (`create`, the TUI's `n`). A damaged
    watchlist stops it before a task exists that nothing tracks; PerhapsSent when the same
    request was on its way when a run stopped."""
    async with holding(Path(str(store.path)), patience) as ledger:
        # Read under the ledger's lock: a run that ended a moment ago has recorded all.
        made = await store.run(lambda: submitted(store.sync.load()))
        unsure = ledger.settle(made)
        order = Order.single(request, label, made)
        if order.entry in unsure:
            raise PerhapsSent(
                "this request was being sent when an earlier run stopped and may exist "
                f"already; not sent again (forget it: rm {ledger.path})"
            )
        return await Submitter(client, store.add, ledger, clock=clock).send(order)
