"""The engine under both faces, over real loopback sockets: answers shown as they land,
writes batched, unknown ids given up, nothing lost on close."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from helpers_http import Reply, ScriptedHTTPServer, Seen

from starvideos_tui import events as ev
from starvideos_tui.api import StarVideosClient
from starvideos_tui.models import TaskRecord
from starvideos_tui.monitor import Monitor
from starvideos_tui.schedule import PollSchedule
from starvideos_tui.simulator import Simulator
from starvideos_tui.store import Watchlist

Serve = Callable[..., ScriptedHTTPServer]
HANGING = "video_starvideos_o3_1000000000"


def processing(task_id: str) -> bytes:
    return json.dumps({"id": task_id, "status": "processing", "created": 1774836724}).encode()


class CountingWatchlist(Watchlist):
    """A real watchlist that counts its write transactions."""

    writes = 0

    def update(self, changes):  # type: ignore[no-untyped-def]
        type(self).writes += 1
        return super().update(changes)


def record_events(into: list[tuple[float, ev.Event]]) -> Callable[[ev.Event], None]:
    return lambda event: into.append((time.monotonic(), event))


async def test_a_poll_that_hangs_delays_no_other_answer(serve: Serve, tmp_path: Path) -> None:
    """One task's request hangs for 3 s; the other nine are shown as soon as they land."""

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = seen.path.rsplit("/", 1)[-1]
        if task_id == HANGING:
            time.sleep(3)
        return Reply(200, processing(task_id), {"Content-Type": "application/json"})

    api = serve(respond)
    ids = [HANGING, *(f"video_starvideos_o3_10000000{i:02d}" for i in range(1, 10))]
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=i) for i in ids])
    heard: list[tuple[float, ev.Event]] = []
    async with StarVideosClient(f"http://127.0.0.1:{api.server_port}", "sk") as client:
        monitor = Monitor(watchlist, client, emit=record_events(heard), download_dir=tmp_path)
        await monitor.start()
        started = time.monotonic()
        await monitor.run_pass()
        ended = time.monotonic()
        await monitor.close()

    shown = {
        task_id: at - started
        for at, event in heard
        if isinstance(event, ev.TasksChanged) and not event.everything
        for task_id in event.records
    }
    assert ended - started >= 2.9
    assert all(shown[i] < 1.0 for i in ids[1:]), sorted(shown.items(), key=lambda kv: kv[1])[-3:]
    assert shown[HANGING] >= 2.9
    assert all(r.status == "processing" for r in Watchlist(tmp_path / "w.json").load())


async def test_answers_are_written_in_a_few_transactions_not_one_each(
    serve: Serve, tmp_path: Path
) -> None:
    """Twenty answers arriving over about two seconds: at most one write a second plus one
    at the end of the pass, and every answer is on disk when the pass ends."""

    def respond(_n: int, seen: Seen) -> Reply:
        task_id = seen.path.rsplit("/", 1)[-1]
        time.sleep(0.1 * (int(task_id[-2:]) % 20) / 2)
        return Reply(200, processing(task_id), {"Content-Type": "application/json"})

    api = serve(respond)
    ids = [f"video_starvideos_o3_20000000{i:02d}" for i in range(20)]
    watchlist = CountingWatchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=i) for i in ids])
    CountingWatchlist.writes = 0
    async with StarVideosClient(f"http://127.0.0.1:{api.server_port}", "sk") as client:
        monitor = Monitor(
            watchlist, client, emit=lambda _: None, download_dir=tmp_path, concurrency=20
        )
        await monitor.start()
        started = time.monotonic()
        await monitor.run_pass()
        took = time.monotonic() - started
        assert all(r.status == "processing" for r in Watchlist(tmp_path / "w.json").load())
        await monitor.close()

    assert 1 <= CountingWatchlist.writes <= int(took) + 2, (CountingWatchlist.writes, took)


async def test_an_id_the_api_never_knows_is_given_up_after_three_answers_and_can_be_revived(
    simulator: Simulator, tmp_path: Path, clock: object
) -> None:
    ghost = "video_starvideos_o3_3000000000"
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=ghost)])
    heard: list[tuple[float, ev.Event]] = []
    schedule = PollSchedule(interval=30.0, clock=clock)  # type: ignore[arg-type]
    async with StarVideosClient(simulator.base_url, "sk") as client:
        monitor = Monitor(
            watchlist, client, emit=record_events(heard), download_dir=tmp_path, schedule=schedule
        )
        await monitor.start()
        for _ in range(3):
            await monitor.run_pass([ghost])
        gave_up = [e for _, e in heard if isinstance(e, ev.GaveUp)]
        assert [e.task_id for e in gave_up] == [ghost]
        assert ghost not in schedule.next_due and ghost in monitor.gave_up

        monitor.poll_now([ghost])  # the user's `r`
        assert ghost in schedule.next_due and ghost not in monitor.gave_up
        await monitor.close()


async def test_answers_in_memory_are_written_on_close(simulator: Simulator, tmp_path: Path) -> None:
    task_id = simulator.seed_task("a fox", queued=0, processing=0)
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=task_id)])
    async with StarVideosClient(simulator.base_url, "sk") as client:
        monitor = Monitor(
            watchlist, client, emit=lambda _: None, download_dir=tmp_path, flush_every=3600
        )
        await monitor.start()
        await monitor.poller.ask([task_id], monitor._answered)  # type: ignore[union-attr]
        assert Watchlist(tmp_path / "w.json").load()[0].status == ""  # not yet on disk
        await monitor.close()

    assert Watchlist(tmp_path / "w.json").load()[0].status == "completed"


async def test_a_long_watchlist_is_shown_a_screen_first_then_whole(tmp_path: Path) -> None:
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=f"video_starvideos_o3_{7_000_000_000 + i}") for i in range(3000)])
    heard: list[tuple[float, ev.Event]] = []
    monitor = Monitor(watchlist, None, emit=record_events(heard), download_dir=tmp_path)

    when_drawn: list[int] = []

    async def drawn() -> None:  # the face drew the first screen: the rest is read after it
        when_drawn.append(len(monitor.records))

    await monitor.start(first_screen=200, shown=drawn)
    await monitor.close()

    shown = [len(e.records) for _, e in heard if isinstance(e, ev.TasksChanged) and e.everything]
    assert shown == [200, 3000]
    assert when_drawn == [200]
