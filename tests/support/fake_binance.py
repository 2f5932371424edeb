"""The tests' scripting of the one fake Binance (`exporter.fakebinance`): answers queued per
path (`enqueue`) or set sticky (`always`), every request recorded (`requests`, `count`), the
used weight fixed at 50 and two assets' tiers, unless a test says otherwise."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web

from exporter.fakebinance import server
from exporter.fakebinance.endpoints import TIME_PATH, V1_PATH, V2_PATH
from exporter.fakebinance.replies import NO_CAP, Reply, error_body, rates_body, tier, tiers_body

__all__ = [
    "NO_CAP",
    "TIME_PATH",
    "V1_PATH",
    "V2_PATH",
    "FakeBinance",
    "RecordedRequest",
    "Reply",
    "error_body",
    "rates_body",
    "tier",
    "tiers_body",
]

DEFAULT_TIERS = {
    "BTC": [
        tier("0.0000", "1000000.0000", "0.9500"),
        tier("1000000.0000", NO_CAP, "0.9000", "50000.0000"),
    ],
    "USDT": [tier("0.0000", NO_CAP, "1.0000")],
}


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    at: float
    query_string: str = ""


class FakeBinance(server.FakeBinance):
    """`exporter.fakebinance.server.FakeBinance`, scripted per path: the next answers of a
    path are queued with `enqueue`, or one answer is set for every request with `always`."""

    def __init__(
        self, rates: Mapping[str, str] | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__(rates, clock=clock)
        self.tiers = {asset: list(tiers) for asset, tiers in DEFAULT_TIERS.items()}
        self.used_weight = 50
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Reply]] = {}
        self._sticky: dict[str, Reply | None] = {}
        self.observers.append(self._record)
        self.scripts.append(self._next_reply)

    def enqueue(self, *replies: Reply, path: str = V1_PATH) -> None:
        self._queues.setdefault(path, deque()).extend(replies)

    def always(self, reply: Reply | None, path: str = V1_PATH) -> None:
        self._sticky[path] = reply

    def count(self, path: str = V1_PATH) -> int:
        return sum(1 for request in self.requests if request.path == path)

    def _next_reply(self, request: web.Request) -> Reply | None:
        queue = self._queues.get(request.path)
        if queue:
            return queue.popleft()
        return self._sticky.get(request.path)

    def _record(self, request: web.Request) -> None:
        self.requests.append(
            RecordedRequest(
                request.path,
                dict(request.query),
                dict(request.headers),
                time.time(),
                request.query_string,
            )
        )
