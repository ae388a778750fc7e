"""What a face opens to talk to the API and watch a watchlist: the client (with the key
checked first), a running `Monitor`, and the names a face needs to hold them (the client's
and the watchlist's types), so that no face imports the API client or the storage itself
(pyproject.toml's contract).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable

from starvideos_tui.api.client import StarVideosClient as StarVideosClient  # for faces
from starvideos_tui.core.errors import Failure
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.engine.events import Event
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.engine.settings import Settings, check_network_settings
from starvideos_tui.storage.basefile import WatchlistError as WatchlistError  # for faces
from starvideos_tui.storage.store import Watchlist as Watchlist  # for faces


@contextlib.asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[StarVideosClient]:
    """The API client of these settings; Failure, before any request, without a key."""
    check_network_settings()
    key = settings.api_key()
    if key is None:
        raise Failure("no API key: set STARVIDEOS_API_KEY or run 'starvideos-tui login'")
    async with StarVideosClient(settings.base_url, key) as client:
        yield client


@contextlib.asynccontextmanager
async def monitoring(
    settings: Settings,
    client: StarVideosClient,
    emit: Callable[[Event], None],
    only: Iterable[str] | None = None,
    *,
    auto_download: bool = False,
    watchlist: Watchlist | None = None,
    records: list[TaskRecord] | None = None,
) -> AsyncIterator[Monitor]:
    """A started Monitor (on `watchlist`, else the settings' one; `records`: what the face
    has just read of it, not read again), closed when the block ends."""
    monitor = Monitor(
        watchlist or settings.open_watchlist(),
        client,
        emit=emit,
        download_dir=settings.download_dir,
        interval=settings.interval,
        auto_download=auto_download,
        only=only,
    )
    stopped = False
    try:
        await monitor.start(records=records)
        yield monitor
    except (asyncio.CancelledError, KeyboardInterrupt):
        stopped = True  # SIGTERM, SIGHUP, Ctrl-C: end at once, the journal left unfolded
        raise
    finally:
        await monitor.close(fold=not stopped)
