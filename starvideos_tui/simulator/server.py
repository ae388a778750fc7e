"""The StarVideos O3 simulator: the API of docs/api.md plus a video host, on loopback.

Standard library only, so it can run next to the TUI (demo mode), under tests and under
benchmarks without pulling the client's stack in. The API lives at `/v1/...` off the
server root, so `base_url` is what a client uses as its API base URL.
"""

from __future__ import annotations

import hmac
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .faults import FaultDice, malformed_result_answer, server_error_answer
from .links import token_of
from .ratelimit import RateLimiter
from .state import FixedAnswer, TaskBook
from .validation import InvalidCreateRequest, validate_create
from .video import denied_answer, video_answer
from .wire import Answer, Request, SimHTTPServer, error_answer, json_answer

CREATE_PATH = "/v1/starvideos/videos"
RESULT_PREFIX = "/v1/result/"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    speed: float = 1.0  # time scale: 2.0 = everything twice as fast
    queued_seconds: float = 5.0  # at speed 1
    processing_seconds: float = 20.0  # at speed 1
    url_ttl_seconds: float = 300.0  # life of a handed-out video URL, at speed 1
    rate_limit: float = 0.0  # requests per second per API key; 0 = off
    api_key: str | None = None  # None: any non-empty bearer key is accepted
    fault_5xx: float = 0.0  # share of API requests answered 500/502/503
    # Real seconds, not scaled by speed: the point is to outlast a client's timeout.
    fault_slow: float = 0.0
    slow_seconds: float = 10.0
    fault_cut: float = 0.0  # share of API requests whose connection closes unanswered
    fault_malformed: float = 0.0  # share of result answers that are 200 with a bad body
    seed: int | None = None  # RNG seed for faults (and ids), for reproducible tests
    # Oldest entries drop out past this, so a long benchmark does not eat the memory.
    request_log_limit: int = 100_000

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError("speed must be greater than 0")
        if self.rate_limit < 0:
            raise ValueError("rate_limit must be 0 (off) or more")
        for name in ("fault_5xx", "fault_slow", "fault_cut", "fault_malformed"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        for name in ("queued_seconds", "processing_seconds", "url_ttl_seconds", "slow_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key must be None or a non-empty key")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")


@dataclass(frozen=True)
class RequestLog:
    method: str
    path: str  # as received, query string included
    headers: dict[str, str]  # lower-case names
    time: float  # clock() when the request arrived
    status: int | None  # None when the connection was cut without an answer


class Simulator:
    def __init__(
        self, config: SimConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or SimConfig()
        self._clock = clock
        self._book = TaskBook(
            clock=clock,
            speed=self.config.speed,
            queued_seconds=self.config.queued_seconds,
            processing_seconds=self.config.processing_seconds,
            url_ttl_seconds=self.config.url_ttl_seconds,
            seed=self.config.seed,
        )
        self._limiter = RateLimiter(self.config.rate_limit, clock)
        self._dice = FaultDice(
            cut=self.config.fault_cut,
            slow=self.config.fault_slow,
            server_error=self.config.fault_5xx,
            malformed=self.config.fault_malformed,
            seed=self.config.seed,
        )
        self._log: deque[RequestLog] = deque(maxlen=self.config.request_log_limit)
        self._log_lock = threading.Lock()
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._serving = False
        self._lifecycle_lock = threading.Lock()
        self._stopping = threading.Event()

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> Simulator:
        """Serve from a daemon thread; on return the port already accepts connections."""
        with self._lifecycle_lock:
            if self._thread is not None:
                return self
            server = self._bind()
            self._serving = True
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"starvideos-simulator:{server.server_port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() or Ctrl-C; returns normally either way."""
        with self._lifecycle_lock:
            server = self._bind()
            self._serving = True
        try:
            server.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            pass
        finally:
            self._close()

    def stop(self) -> None:
        self._stopping.set()
        with self._lifecycle_lock:
            # shutdown() waits for a serve loop to finish, so only ask one that was started.
            server = self._server if self._serving else None
            self._serving = False
            thread, self._thread = self._thread, None
        if server is not None:
            server.shutdown()
        if thread is not None:
            thread.join(timeout=5)
        self._close()

    def _bind(self) -> SimHTTPServer:
        if self._server is None:
            self._stopping.clear()
            self._server = SimHTTPServer((self.config.host, self.config.port), self)
        return self._server

    def _close(self) -> None:
        with self._lifecycle_lock:
            server, self._server = self._server, None
            self._serving = False
        if server is not None:
            server.server_close()
            server.close_connections()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        server = self._server
        if server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host = server.server_name
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{server.server_port}"

    # -- for tests and the demo ------------------------------------------------------

    def seed_task(
        self,
        prompt: str,
        *,
        queued: float | None = None,
        processing: float | None = None,
        fail: bool | None = None,
        duration: int = 3,
        error: str | None = None,
    ) -> str:
        """Create a task without HTTP; timings are seconds at speed 1, None = config's."""
        task = self._book.create(
            prompt,
            actual_duration=duration,
            queued=queued,
            processing=processing,
            fail=fail,
            error=error,
        )
        return task.id

    def add_fixed(
        self,
        task_id: str,
        body: dict[str, Any] | str | bytes,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer every poll of `task_id` with exactly this (Content-Type defaults to JSON)."""
        if isinstance(body, dict):
            raw = json.dumps(body).encode()
        elif isinstance(body, str):
            raw = body.encode()
        else:
            raw = bytes(body)
        answer_headers = dict(headers or {})
        if not any(name.lower() == "content-type" for name in answer_headers):
            answer_headers["Content-Type"] = "application/json"
        self._book.add_fixed(task_id, FixedAnswer(status_code, raw, answer_headers))

    @property
    def requests(self) -> list[RequestLog]:
        with self._log_lock:
            return list(self._log)

    def expire_all_urls(self) -> None:
        self._book.expire_all_links()

    # -- the App protocol used by wire.SimRequestHandler --------------------------------

    def now(self) -> float:
        return self._clock()

    def record(self, request: Request, received_at: float, status: int | None) -> None:
        entry = RequestLog(request.method, request.path, request.headers, received_at, status)
        with self._log_lock:
            self._log.append(entry)

    def answer(self, request: Request) -> Answer:
        path = urlsplit(request.path).path
        if path.startswith("/v1/"):
            return self._answer_api(request, path)
        if path.startswith("/videos/"):
            return self._answer_video(request, path)
        if path == "/redirect":
            return self._answer_redirect(request)
        return error_answer(404, "not found", "not_found_error")

    # -- the API -----------------------------------------------------------------------

    def _answer_api(self, request: Request, path: str) -> Answer:
        roll = self._dice.roll()
        if roll.cut:
            return Answer(0, cut=True)
        if roll.slow and self._stopping.wait(self.config.slow_seconds):
            return Answer(0, cut=True)
        if roll.server_error:
            return server_error_answer(roll.variant)

        key = _bearer_key(request.headers.get("authorization", ""))
        if key is None:
            return _unauthorized("missing API key: send Authorization: Bearer <key>")
        if self.config.api_key is not None and not hmac.compare_digest(
            key.encode(), self.config.api_key.encode()
        ):
            return _unauthorized("invalid API key")
        retry_after = self._limiter.retry_after(key)
        if retry_after is not None:
            return error_answer(
                429,
                "rate limit exceeded: poll less often",
                "rate_limit_error",
                [("Retry-After", str(retry_after))],
            )

        if path == CREATE_PATH:
            if request.method != "POST":
                return _method_not_allowed("POST")
            return self._create(request.body)
        if path.startswith(RESULT_PREFIX):
            if request.method != "GET":
                return _method_not_allowed("GET")
            task_id = unquote(path[len(RESULT_PREFIX) :])
            if roll.malformed:
                return malformed_result_answer(task_id, roll.variant)
            return self._result(task_id)
        return error_answer(404, "not found", "not_found_error")

    def _create(self, body: bytes) -> Answer:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return error_answer(400, "request body is not valid JSON", "invalid_request_error")
        try:
            create = validate_create(payload)
        except InvalidCreateRequest as invalid:
            return error_answer(400, str(invalid), "invalid_request_error")
        task = self._book.create(create.prompt, actual_duration=create.actual_duration)
        return json_answer(
            200,
            {
                "id": task.id,
                "object": "video",
                "created": task.created_unix,
                "model": "starvideos_o3",
                "status": "queued",
                "error": None,
            },
        )

    def _result(self, task_id: str) -> Answer:
        fixed = self._book.fixed(task_id)
        if fixed is not None:
            return Answer(fixed.status_code, fixed.body, list(fixed.headers.items()))
        if not task_id or "/" in task_id:
            return _task_not_found(task_id)
        result = self._book.result(task_id, self.base_url)
        if result is None:
            return _task_not_found(task_id)
        return json_answer(200, result)

    # -- the video host -----------------------------------------------------------------

    def _answer_video(self, request: Request, path: str) -> Answer:
        if request.method not in ("GET", "HEAD"):
            return _method_not_allowed("GET, HEAD")
        name = unquote(path[len("/videos/") :])
        token = token_of(request.path)
        task_id = name[: -len(".mp4")]
        deadline = self._book.link_deadline(task_id, token) if name.endswith(".mp4") else None
        if deadline is None:
            return denied_answer()
        answer = video_answer(request.headers, self._book.video_length(task_id))
        # What S3 says of an object a lifecycle rule will delete: here, when the link dies
        # (a plain link's only word on it).
        expiry = formatdate(math.ceil(deadline), usegmt=True)
        answer.headers.append(("x-amz-expiration", f'expiry-date="{expiry}", rule-id="sim-ttl"'))
        return answer

    def _answer_redirect(self, request: Request) -> Answer:
        """Test-only: a 302 to a loopback location, to check what a client carries across."""
        target = parse_qs(urlsplit(request.path).query).get("to", [""])[0]
        parts = urlsplit(target)
        local_path = not parts.scheme and not parts.netloc and target.startswith("/")
        loopback_url = parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK_HOSTS
        if not (local_path or loopback_url):
            return error_answer(
                400, "to must be a local path or a loopback URL", "invalid_request_error"
            )
        return Answer(302, b"", [("Location", target)])


def _bearer_key(authorization: str) -> str | None:
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        return None
    return key


def _unauthorized(message: str) -> Answer:
    return error_answer(401, message, "invalid_api_key", [("WWW-Authenticate", "Bearer")])


def _method_not_allowed(allowed: str) -> Answer:
    return error_answer(405, "method not allowed", "invalid_request_error", [("Allow", allowed)])


def _task_not_found(task_id: str) -> Answer:
    return error_answer(404, f"task {task_id!r} not found", "not_found_error")
