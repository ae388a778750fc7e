"""Injected misbehaviour: the failures docs/api.md says a client must survive, on demand.

Every API request rolls all the dice, used or not, so a seed gives the same faults for the
same request sequence whatever the config's shares.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass

from .wire import Answer, error_answer

_BAD_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class FaultRoll:
    cut: bool
    slow: bool
    server_error: bool
    malformed: bool
    variant: int  # picks which 5xx or which malformed body


class FaultDice:
    def __init__(
        self,
        *,
        cut: float,
        slow: float,
        server_error: float,
        malformed: float,
        seed: int | None,
    ) -> None:
        self._shares = (cut, slow, server_error, malformed)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self) -> FaultRoll:
        with self._lock:
            draws = [self._rng.random() for _ in self._shares]
            variant = self._rng.randrange(1 << 16)
        hits = [draw < share for draw, share in zip(draws, self._shares, strict=True)]
        cut, slow, server_error, malformed = hits
        return FaultRoll(cut, slow, server_error, malformed, variant)


def server_error_answer(variant: int) -> Answer:
    kind = variant % 3
    if kind == 0:
        return error_answer(500, "Internal server error", "server_error")
    if kind == 1:
        # What a proxy in front of the API says, not the API itself.
        return Answer(502, _BAD_GATEWAY_PAGE, [("Content-Type", "text/html")])
    return Answer(
        503,
        b"Service Temporarily Unavailable",
        [("Content-Type", "text/plain"), ("Retry-After", "1")],
    )


def malformed_result_answer(task_id: str, variant: int) -> Answer:
    """A 200 whose body a careless client would trust: HTML, wrong types, cut-off JSON."""
    kind = variant % 5
    if kind == 0:
        return Answer(200, _BAD_GATEWAY_PAGE, [("Content-Type", "text/html")])
    if kind == 1:
        body = json.dumps({"id": task_id, "status": 42}).encode()
    elif kind == 2:
        body = json.dumps(
            {
                "id": task_id,
                "object": "video",
                "created": "yesterday",
                "model": "starvideos_o3",
                "status": "completed",
                "video_url": 12345,
                "actualDuration": "five",
                "error": None,
            }
        ).encode()
    elif kind == 3:
        body = b'{"id": "' + task_id.encode() + b'", "object": "vid'
    else:
        body = json.dumps(["not", "an", "object"]).encode()
    return Answer(200, body, [("Content-Type", "application/json")])
