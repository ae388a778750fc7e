"""The engine under both faces, over real loopback sockets: answers shown as they land,
writes batched, unknown ids given up, nothing lost on close."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers_http import Reply, ScriptedHTTPServer, Seen

from starvideos_tui.api.client import StarVideosClient
from starvideos_tui.core.linkexpiry import link_expires_at
from starvideos_tui.core.models import TaskRecord
from starvideos_tui.core.schedule import PollSchedule
from starvideos_tui.engine import events as ev
from starvideos_tui.engine.monitor import Monitor
from starvideos_tui.simulator import Simulator
from starvideos_tui.simulator.links import kind_for
from starvideos_tui.storage.store import Watchlist

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
    """One task's request hangs for 3 s; the other nine are shown as soon as they land, the
    pass ends without it (handed on after the poller's patience, 0.5 s here), and its
    answer is still shown and written when it lands."""

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
        assert monitor.poller is not None
        monitor.poller.patience = 0.5
        await monitor.start()
        started = time.monotonic()
        await monitor.run_pass()
        ended = time.monotonic()
        while monitor.records[HANGING].status != "processing" and time.monotonic() < started + 10:
            await asyncio.sleep(0.05)
        # The write queued when it landed (at most a second later): until it is on disk.
        on_disk = Watchlist(tmp_path / "w.json").load()
        while not all(r.status == "processing" for r in on_disk):
            assert time.monotonic() < started + 10, "the late answer was never written"
            await asyncio.sleep(0.05)
            on_disk = Watchlist(tmp_path / "w.json").load()
        await monitor.close()

    shown = {
        task_id: at - started
        for at, event in heard
        if isinstance(event, ev.TasksChanged) and not event.everything
        for task_id in event.records
    }
    assert 0.4 <= ended - started < 2.5, "the pass waited for the hanging request"
    assert all(shown[i] < 1.0 for i in ids[1:]), sorted(shown.items(), key=lambda kv: kv[1])[-3:]
    assert shown[HANGING] >= 2.9
    assert all(r.status == "processing" for r in on_disk)


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


# -- links that do not say when they die ------------------------------------------------


async def settled(monitor: Monitor) -> None:
    """Wait for the engine's questions to hosts to be answered."""
    while monitor.links.asking:
        await asyncio.sleep(0.02)


async def test_a_link_that_says_nothing_of_its_deadline_learns_it_from_the_hosts_head(
    simulator: Simulator, tmp_path: Path
) -> None:
    """The simulator's plain links carry only a token; its host says `x-amz-expiration`."""
    task_id = next(
        t
        for n in range(60)
        if kind_for(t := simulator.seed_task(f"plain {n}", queued=0, processing=0)) == "plain"
    )
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=task_id)])
    async with StarVideosClient(simulator.base_url, "sk") as client:
        monitor = Monitor(watchlist, client, emit=lambda _: None, download_dir=tmp_path)
        await monitor.start()
        asked_at = time.time()
        await monitor.run_pass([task_id])
        await asyncio.wait_for(settled(monitor), 5)
        await monitor.close()

    record = Watchlist(tmp_path / "w.json").load()[0]
    assert link_expires_at(record.video_url) is None  # the link itself says nothing
    assert record.link_expires_at is not None
    # The simulator's links live 300 s (its clock is driven by the test and stands still).
    assert asked_at + 298 <= record.link_expires_at <= time.time() + 302


def head_and_get(head: int, get: int, headers: dict[str, str]) -> Callable[[int, Seen], Reply]:
    """An API answering `completed` with a link to itself, and a host answering that link's
    HEAD with `head` and its GET with `get`."""

    def respond(_n: int, seen: Seen) -> Reply:
        if seen.path.startswith("/v1/result/"):
            body = {
                "id": seen.path.rsplit("/", 1)[-1],
                "status": "completed",
                "created": 1774836724,
                "video_url": f"http://127.0.0.1:{seen.headers['host'].split(':')[1]}/v.mp4",
                "actualDuration": 3,
            }
            return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        return Reply(head if seen.method == "HEAD" else get, b"x", headers)

    return respond


@pytest.mark.parametrize(
    ("head", "get", "headers", "expected"),
    [
        pytest.param(403, 403, {}, "now", id="refused-dead-now"),
        pytest.param(403, 206, {}, None, id="signed-for-get-only-not-dead"),
        pytest.param(405, 410, {}, "now", id="no-head-gone"),
        pytest.param(200, 206, {}, None, id="says-nothing"),
        pytest.param(
            200,
            206,
            {"x-ms-expiry-time": "Thu, 03 Dec 2026 18:00:00 GMT"},
            1796320800.0,
            id="azure",
        ),
        pytest.param(500, 500, {}, None, id="host-trouble-says-nothing"),
    ],
)
async def test_what_a_hosts_answer_to_a_link_says_of_its_deadline(
    serve: Serve,
    tmp_path: Path,
    head: int,
    get: int,
    headers: dict[str, str],
    expected: float | str | None,
) -> None:
    host = serve(head_and_get(head, get, headers))
    task_id = "video_starvideos_o3_1000000001"
    watchlist = Watchlist(tmp_path / "w.json")
    watchlist.add([TaskRecord(id=task_id)])
    async with StarVideosClient(host.url(""), "sk") as client:
        monitor = Monitor(watchlist, client, emit=lambda _: None, download_dir=tmp_path)
        await monitor.start()
        before = time.time()
        await monitor.run_pass([task_id])
        await asyncio.wait_for(settled(monitor), 5)
        await monitor.close()

    learned = Watchlist(tmp_path / "w.json").load()[0].link_expires_at
    if expected == "now":
        assert learned is not None and before <= learned <= time.time()
    else:
        assert learned == expected
    methods = [s.method for s in host.seen if not s.path.startswith("/v1/")]
    assert methods == (["HEAD", "GET"] if head in (403, 405) else ["HEAD"])
    assert all("authorization" not in s.headers for s in host.seen if s.path == "/v.mp4")
