"""The simulator over real loopback sockets: what the demo, the tests and benchmarks rely on."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from starvideos_tui.core.linkexpiry import host_says, link_expires_at
from starvideos_tui.simulator import SimConfig, Simulator
from starvideos_tui.simulator.links import KINDS, SIGNATURE_KEYS, kind_for
from starvideos_tui.simulator.video import sample_video
from starvideos_tui.video.media import check_video

KEY = {"Authorization": "Bearer sk-test"}
VALID = {"model": "starvideos_o3", "prompt": "a cat surfing at dawn"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    url: str,
    method: str = "GET",
    path: str = "",
    *,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One request on a fresh connection; `url` may already hold the path."""
    parts = urlsplit(url + path)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    raw = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
    try:
        connection.request(method, target, body=raw, headers=headers or {})
        response = connection.getresponse()
        data = response.read()
        names = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, names, data)
    finally:
        connection.close()


def create(sim: Simulator, body: Any = VALID) -> Reply:
    return call(sim.base_url, "POST", "/v1/starvideos/videos", body=body, headers=KEY)


def poll(sim: Simulator, task_id: str) -> Reply:
    return call(sim.base_url, "GET", f"/v1/result/{task_id}", headers=KEY)


def sample_bytes(duration: int = 3) -> bytes:
    return sample_video(duration).data


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    config = SimConfig(queued_seconds=5, processing_seconds=20, url_ttl_seconds=300)
    with Simulator(config, clock=clock) as running:
        yield running


@pytest.fixture
def completed_url(sim: Simulator, clock: FakeClock) -> str:
    task_id = sim.seed_task("done already", queued=0, processing=0)
    url: str = poll(sim, task_id).json()["video_url"]
    return url


# -- task progression -------------------------------------------------------------------


def test_task_moves_from_queued_to_processing_to_completed_as_time_passes(
    sim: Simulator, clock: FakeClock
) -> None:
    task_id = create(sim).json()["id"]
    seen = []
    for step in (0, 4.9, 0.2, 19.8, 0.2):
        clock.advance(step)
        seen.append(poll(sim, task_id).json()["status"])
    assert seen == ["queued", "queued", "processing", "processing", "completed"]


def test_poll_answers_have_the_documented_shape_in_every_status(
    sim: Simulator, clock: FakeClock
) -> None:
    created = create(sim).json()
    queued = poll(sim, created["id"]).json()
    assert queued == {**created, "video_url": None}
    clock.advance(10)
    assert poll(sim, created["id"]).json()["status"] == "processing"
    clock.advance(20)
    done = poll(sim, created["id"]).json()
    assert done["status"] == "completed"
    assert done["actualDuration"] == 3
    assert done["error"] is None
    assert done["video_url"].startswith(f"{sim.base_url}/videos/{created['id']}.mp4?")


def test_higher_speed_finishes_tasks_sooner(clock: FakeClock) -> None:
    with Simulator(SimConfig(speed=10), clock=clock) as fast:
        task_id = create(fast).json()["id"]
        clock.advance(2.6)  # 26 simulated seconds: past 5 queued + 20 processing
        assert poll(fast, task_id).json()["status"] == "completed"


def test_seeded_task_uses_its_own_timings_duration_and_error(
    sim: Simulator, clock: FakeClock
) -> None:
    quick = sim.seed_task("quick", queued=1, processing=1, duration=8)
    broken = sim.seed_task("broken", queued=0, processing=0, fail=True, error="GPU on fire.")
    clock.advance(2)
    assert poll(sim, quick).json()["actualDuration"] == 8
    failed = poll(sim, broken).json()
    assert (failed["status"], failed["error"], failed["video_url"]) == (
        "failed",
        "GPU on fire.",
        None,
    )


def test_fail_prompt_ends_failed_with_a_reason_and_no_video(
    sim: Simulator, clock: FakeClock
) -> None:
    task_id = create(sim, {**VALID, "prompt": "please FAIL this one"}).json()["id"]
    clock.advance(10)
    assert poll(sim, task_id).json()["error"] is None  # still processing
    clock.advance(20)
    result = poll(sim, task_id).json()
    assert result["status"] == "failed"
    assert result["video_url"] is None
    assert isinstance(result["error"], str) and result["error"].endswith(".")
    assert "actualDuration" not in result


def test_task_ids_are_unique_and_look_like_the_real_ones(sim: Simulator) -> None:
    ids = [create(sim).json()["id"] for _ in range(20)]
    assert len(set(ids)) == 20
    for task_id in ids:
        prefix, digits = task_id[:20], task_id[20:]
        assert prefix == "video_starvideos_o3_"
        assert digits.isdigit() and len(digits) >= 10


def test_reference_video_task_reports_five_seconds(sim: Simulator, clock: FakeClock) -> None:
    body = {**VALID, "duration": 12, "referenceVideos": ["https://example.com/ref.mp4"]}
    task_id = create(sim, body).json()["id"]
    clock.advance(30)
    assert poll(sim, task_id).json()["actualDuration"] == 5


# -- create validation ------------------------------------------------------------------

URL = "https://example.com/a.png"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "sora"}, "model must be"),
        ({"model": None}, "model is required"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": 7}, "prompt"),
        ({"duration": 2}, "duration must be between 3 and 15"),
        ({"duration": 16}, "duration must be between 3 and 15"),
        ({"duration": "5"}, "duration must be an integer"),
        ({"duration": True}, "duration must be an integer"),
        ({"ratio": "4:3"}, "ratio must be one of"),
        ({"referenceImages": URL}, "referenceImages must be an array"),
        ({"referenceImages": ["ftp://x/a.png"]}, "http(s) URLs"),
        ({"referenceImages": [URL] * 8}, "at most 7"),
        (
            {"referenceImages": [URL] * 5, "referenceVideos": ["https://e.com/v.mp4"]},
            "at most 4 URLs together with referenceVideos",
        ),
        ({"referenceImages": [URL], "first_image": URL}, "cannot be combined"),
        ({"last_image": 3}, "last_image must be an http(s) URL"),
        ({"referenceVideos": ["not a url"]}, "referenceVideos must contain only"),
    ],
)
def test_bad_create_request_is_refused_with_a_message_naming_the_problem(
    sim: Simulator, change: dict[str, Any], message: str
) -> None:
    body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    reply = create(sim, body)
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert message in error["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_create_body_that_is_not_a_json_object_is_a_400(sim: Simulator, raw: bytes) -> None:
    reply = create(sim, raw)
    assert reply.status == 400
    assert reply.json()["error"]["type"] == "invalid_request_error"


def test_every_documented_mode_is_accepted(sim: Simulator) -> None:
    for extra in (
        {"duration": 15, "ratio": "16:9"},
        {"referenceImages": [URL] * 7},
        {"first_image": URL, "last_image": URL},
        {"referenceImages": [URL] * 4, "referenceVideos": ["https://e.com/v.mp4"]},
    ):
        reply = create(sim, {**VALID, **extra})
        assert reply.status == 200, (extra, reply.body)
        assert set(reply.json()) == {"id", "object", "created", "model", "status", "error"}


# -- auth and unknown ids ---------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "", "Bearer ", "Basic abc", "sk-test"])
def test_request_without_a_bearer_key_gets_401(sim: Simulator, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    reply = call(sim.base_url, "GET", "/v1/result/anything", headers=headers)
    assert reply.status == 401
    assert reply.json()["error"]["type"] == "invalid_api_key"


def test_configured_key_refuses_any_other_key() -> None:
    with Simulator(SimConfig(api_key="right")) as locked:
        path = "/v1/result/x"
        wrong = call(locked.base_url, "GET", path, headers={"Authorization": "Bearer wrong"})
        right = call(locked.base_url, "GET", path, headers={"Authorization": "Bearer right"})
    assert wrong.status == 401
    assert right.status == 404


def test_unknown_task_id_is_404_with_a_json_error(sim: Simulator) -> None:
    reply = poll(sim, "video_starvideos_o3_0000000000")
    assert reply.status == 404
    assert "not found" in reply.json()["error"]["message"]


def test_request_log_keeps_method_full_path_headers_and_answer(
    sim: Simulator, clock: FakeClock
) -> None:
    call(sim.base_url, "GET", "/v1/result/abc?x=1", headers=KEY)
    entry = sim.requests[-1]
    assert (entry.method, entry.path, entry.status, entry.time) == (
        "GET",
        "/v1/result/abc?x=1",
        404,
        clock.now,
    )
    assert entry.headers["authorization"] == "Bearer sk-test"


# -- the video host ---------------------------------------------------------------------


def test_completed_video_downloads_as_a_real_video_of_its_length_without_a_key(
    completed_url: str, tmp_path: Path
) -> None:
    reply = call(completed_url)
    assert reply.status == 200
    assert reply.body == sample_bytes()
    (tmp_path / "v.mp4").write_bytes(reply.body)
    facts = check_video(tmp_path / "v.mp4")
    assert (facts.codec, facts.duration) == ("h264", 3.0)
    assert reply.headers["content-type"] == "video/mp4"
    assert reply.headers["accept-ranges"] == "bytes"
    assert reply.headers["etag"]


def test_head_on_video_gives_its_size_without_the_body(completed_url: str) -> None:
    reply = call(completed_url, "HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert int(reply.headers["content-length"]) == len(sample_bytes())


@pytest.mark.parametrize(
    ("range_header", "start", "end"),
    [("bytes=0-99", 0, 99), ("bytes=100-", 100, None), ("bytes=-50", -50, None)],
)
def test_range_request_resumes_a_download_with_the_right_bytes(
    completed_url: str, range_header: str, start: int, end: int | None
) -> None:
    data = sample_bytes()
    expected = data[start : None if end is None else end + 1]
    reply = call(completed_url, headers={"Range": range_header})
    assert reply.status == 206
    assert reply.body == expected
    first = start % len(data)
    assert (
        reply.headers["content-range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    )


def test_range_past_the_end_is_416(completed_url: str) -> None:
    size = len(sample_bytes())
    reply = call(completed_url, headers={"Range": f"bytes={size}-"})
    assert reply.status == 416
    assert reply.headers["content-range"] == f"bytes */{size}"


def test_range_with_stale_if_range_restarts_from_the_whole_file(completed_url: str) -> None:
    reply = call(completed_url, headers={"Range": "bytes=10-", "If-Range": '"old"'})
    assert reply.status == 200
    assert reply.body == sample_bytes()


def test_each_poll_of_a_completed_task_hands_out_a_fresh_working_url(
    sim: Simulator, clock: FakeClock
) -> None:
    task_id = sim.seed_task("done", queued=0, processing=0)
    first = poll(sim, task_id).json()["video_url"]
    clock.advance(1)
    second = poll(sim, task_id).json()["video_url"]
    assert first != second
    assert call(first, "HEAD").status == 200
    assert call(second, "HEAD").status == 200


def test_video_url_expires_after_its_ttl(sim: Simulator, clock: FakeClock) -> None:
    task_id = sim.seed_task("done", queued=0, processing=0)
    url = poll(sim, task_id).json()["video_url"]
    clock.advance(299)
    assert call(url, "HEAD").status == 200
    clock.advance(2)
    assert call(url).status == 403
    assert call(poll(sim, task_id).json()["video_url"]).status == 200


def test_expire_all_urls_kills_every_handed_out_link(sim: Simulator, completed_url: str) -> None:
    sim.expire_all_urls()
    assert call(completed_url).status == 403


def forged(url: str) -> str:
    """The link with its signature changed, whatever kind of link it is."""
    parts = urlsplit(url)
    query = [
        (key, f"x{value}" if key.lower() in SIGNATURE_KEYS else value)
        for key, value in parse_qsl(parts.query)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_signed_links_of_each_kind_say_the_deadline_the_host_keeps(
    sim: Simulator, clock: FakeClock
) -> None:
    """S3 SigV4, GCS V4, OSS, Azure SAS and COS links, each read by the client's own
    reader, and a plain link read from the host's `x-amz-expiration`: what they say is when
    the host starts answering 403 (to the second)."""
    started = time.time()
    seen: dict[str, str] = {}
    for n in range(40):
        task_id = sim.seed_task(f"done {n}", queued=0, processing=0)
        seen.setdefault(kind_for(task_id), poll(sim, task_id).json()["video_url"])
    assert sorted(seen) == sorted(KINDS)
    for kind, url in seen.items():
        reply = call(url, "HEAD")
        deadline = (
            host_says(reply.status, reply.headers, 0.0) if kind == "plain" else link_expires_at(url)
        )
        assert deadline is not None, (kind, url)
        assert started + 299 <= deadline <= time.time() + 301, (kind, url)
    clock.advance(298)
    assert all(call(url, "HEAD").status == 200 for url in seen.values())
    clock.advance(3)
    assert all(call(url, "HEAD").status == 403 for url in seen.values())


def test_video_url_with_a_forged_token_or_other_task_is_403(sim: Simulator) -> None:
    """For every kind of link (task ids are random: each kind is looked for)."""
    links: dict[str, str] = {}
    for n in range(60):
        task_id = sim.seed_task(f"done {n}", queued=0, processing=0)
        links.setdefault(kind_for(task_id), poll(sim, task_id).json()["video_url"])
    assert sorted(links) == sorted(KINDS)
    for url in links.values():
        assert call(url).status == 200
        assert call(forged(url)).status == 403, url
        other = url.replace("/videos/video_", "/videos/other_")
        assert call(other).status == 403


def test_redirect_helper_sends_the_client_to_a_local_path(sim: Simulator) -> None:
    reply = call(sim.base_url, path="/redirect?to=/videos/x.mp4%3Ftoken%3Dabc")
    assert reply.status == 302
    assert reply.headers["location"] == "/videos/x.mp4?token=abc"
    assert call(sim.base_url, path="/redirect?to=https://evil.example/").status == 400


# -- rate limit and faults --------------------------------------------------------------


def test_polling_faster_than_the_rate_limit_gets_429_with_retry_after(clock: FakeClock) -> None:
    with Simulator(SimConfig(rate_limit=0.5), clock=clock) as limited:
        assert poll(limited, "x").status == 404
        refused = poll(limited, "x")
        assert refused.status == 429
        assert refused.headers["retry-after"] == "2"
        assert refused.json()["error"]["type"] == "rate_limit_error"
        clock.advance(2)
        assert poll(limited, "x").status == 404


def test_rate_limit_is_per_key_and_spares_the_video_host(clock: FakeClock) -> None:
    with Simulator(SimConfig(rate_limit=1), clock=clock) as limited:
        task_id = limited.seed_task("done", queued=0, processing=0)
        url = poll(limited, task_id).json()["video_url"]
        assert poll(limited, task_id).status == 429
        other_key = {"Authorization": "Bearer someone-else"}
        assert call(limited.base_url, path=f"/v1/result/{task_id}", headers=other_key).status == 200
        assert all(call(url, "HEAD").status == 200 for _ in range(5))


def test_server_error_fault_answers_5xx_and_503_says_when_to_retry() -> None:
    with Simulator(SimConfig(fault_5xx=1.0, seed=3)) as faulty:
        replies = [poll(faulty, "x") for _ in range(30)]
    assert {reply.status for reply in replies} == {500, 502, 503}
    assert all(r.headers.get("retry-after") == "1" for r in replies if r.status == 503)


def test_cut_fault_closes_the_connection_without_an_answer() -> None:
    with Simulator(SimConfig(fault_cut=1.0)) as faulty:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            poll(faulty, "x")
        assert faulty.requests[-1].status is None


def looks_like_a_valid_result(body: bytes) -> bool:
    try:
        parsed = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(parsed, dict)
        and isinstance(parsed.get("status"), str)
        and isinstance(parsed.get("created"), int)
        and isinstance(parsed.get("video_url"), str | None)
    )


def test_malformed_fault_answers_200_with_a_body_that_is_not_a_valid_result() -> None:
    with Simulator(SimConfig(fault_malformed=1.0, seed=1)) as faulty:
        replies = [poll(faulty, "video_starvideos_o3_1234567890") for _ in range(20)]
    assert {reply.status for reply in replies} == {200}
    assert not any(looks_like_a_valid_result(reply.body) for reply in replies)
    assert any(reply.body.startswith(b"<html>") for reply in replies)


def test_slow_fault_delays_the_answer() -> None:
    with Simulator(SimConfig(fault_slow=1.0, slow_seconds=0.3)) as faulty:
        started = time.monotonic()
        assert poll(faulty, "x").status == 404
        assert time.monotonic() - started >= 0.3


def test_same_seed_gives_the_same_faults() -> None:
    def statuses() -> list[int | None]:
        with Simulator(SimConfig(fault_5xx=0.5, seed=42)) as faulty:
            return [poll(faulty, "x").status for _ in range(20)]

    assert statuses() == statuses()


def test_faults_never_touch_the_video_host() -> None:
    config = SimConfig(fault_5xx=1.0, fault_cut=1.0)
    with Simulator(config) as faulty:
        assert call(faulty.base_url, path="/videos/x.mp4?token=nope").status == 403


def test_fixed_answer_is_served_byte_for_byte(sim: Simulator) -> None:
    sim.add_fixed("hostile", b"<html>oops</html>", 200, {"Content-Type": "text/html"})
    sim.add_fixed("weird", {"id": "weird", "status": "exploded"}, 202)
    html = poll(sim, "hostile")
    assert (html.status, html.body, html.headers["content-type"]) == (
        200,
        b"<html>oops</html>",
        "text/html",
    )
    weird = poll(sim, "weird")
    assert (weird.status, weird.json()["status"]) == (202, "exploded")


# -- the server itself ------------------------------------------------------------------


def test_sample_video_is_a_small_real_mp4() -> None:
    data = sample_bytes()
    assert data[4:8] == b"ftyp"
    assert len(data) < 200_000


def test_one_keep_alive_connection_serves_many_requests(sim: Simulator) -> None:
    parts = urlsplit(sim.base_url)
    connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=5)
    try:
        for _ in range(5):
            connection.request("GET", "/v1/result/x", headers=KEY)
            response = connection.getresponse()
            response.read()
            assert response.status == 404
            assert response.getheader("connection") != "close"
        connection.request("POST", "/v1/starvideos/videos", body=json.dumps(VALID), headers=KEY)
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_many_concurrent_pollers_all_get_answers(sim: Simulator) -> None:
    ids = [sim.seed_task(f"task {n}") for n in range(200)]
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(task_id: str) -> None:
        status = poll(sim, task_id).status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=worker, args=(task_id,)) for task_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 200


def test_stop_frees_the_port_and_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    simulator = Simulator().start()
    url = simulator.base_url
    poll(simulator, "x")
    call(url, path="/nowhere")
    simulator.stop()
    with pytest.raises(OSError):
        call(url)
    simulator.stop()  # twice is harmless
    assert capfd.readouterr() == ("", "")


def test_foreground_serve_forever_returns_after_stop() -> None:
    simulator = Simulator()
    thread = threading.Thread(target=simulator.serve_forever, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if poll(simulator, "x").status == 404:
                    break
            except (RuntimeError, OSError):
                time.sleep(0.01)
    finally:
        simulator.stop()
        thread.join(timeout=5)
    assert not thread.is_alive()


def test_simulator_needs_neither_textual_nor_httpx() -> None:
    code = (
        "import sys, starvideos_tui.simulator as s; s.Simulator().start().stop(); "
        "print(sorted(m for m in ('textual', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_bad_config_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="speed"):
        SimConfig(speed=0)
    with pytest.raises(ValueError, match="fault_cut"):
        SimConfig(fault_cut=1.5)
