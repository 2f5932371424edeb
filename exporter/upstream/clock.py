"""Binance's clock as seen from this host, for the timestamps of signed requests.

Binance refuses a signed request (-1021) whose timestamp is more than 1s ahead of its clock or
more than recvWindow behind it. The offset is learned from GET /api/v3/time before the first
signed request and again after any -1021, so a host whose clock is off still gets through.
Each request to /api/v3/time (weight 1) is counted, and its failures by reason."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from exporter.upstream.client import BinanceClient
from exporter.upstream.faults import Reason, UpstreamFault, invalid_response
from exporter.upstream.parse import decode_json

log = logging.getLogger(__name__)

TIME_PATH = "/api/v3/time"
NOTABLE_OFFSET_MS = 1000.0
# Milliseconds since 1970 stay below 2**53 (year 287396), where floats still count them exactly.
MAX_SERVER_TIME_MS = 2**53


def server_time_ms(body: bytes) -> float:
    document = decode_json(body)
    value = document.get("serverTime") if isinstance(document, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_response(f"{TIME_PATH}: no numeric serverTime")
    # Compared before any conversion: an int of 401 digits does not fit in a float.
    if not 0 < value < MAX_SERVER_TIME_MS:
        shown = repr(value) if len(repr(value)) <= 24 else "out of range"
        raise invalid_response(f"{TIME_PATH}: serverTime {shown}")
    return float(value)


class ServerClock:
    """Holds `offset_ms` = Binance's clock minus the local clock; `stale` until learned (and
    again after a -1021)."""

    def __init__(self, client: BinanceClient, wall: Callable[[], float] = time.time) -> None:
        self._client = client
        self._wall = wall
        self.offset_ms = 0.0
        self.learned = False
        self.stale = True
        self.requests = 0
        self.errors: dict[Reason, int] = dict.fromkeys(Reason, 0)
        self.failing = False
        self._learning: asyncio.Future[None] | None = None

    def timestamp_ms(self) -> int:
        """The current time on Binance's clock, as best known."""
        return int(self._wall() * 1000.0 + self.offset_ms)

    def forget(self) -> None:
        self.stale = True

    async def learn(self, timeout: float) -> None:
        """Ask Binance for its time; the offset assumes the answer was made halfway through the
        round trip. Raises UpstreamFault, leaving the clock stale and `failing`, when the request
        or its answer fails. Signed requests that find the clock stale at once (several
        accounts at start) share one request."""
        if self._learning is None:
            self._learning = asyncio.ensure_future(self._learn(timeout))
            self._learning.add_done_callback(self._learned)
        await asyncio.shield(self._learning)

    def _learned(self, task: asyncio.Future[None]) -> None:
        self._learning = None
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter sees it raised

    async def _learn(self, timeout: float) -> None:
        self.requests += 1
        sent = self._wall()
        try:
            response = await self._client.get(TIME_PATH, timeout)
            received = self._wall()
            server_ms = server_time_ms(response.body)
        except UpstreamFault as fault:
            self.errors[fault.reason] += 1
            self.failing = True
            raise
        self.failing = False
        offset_ms = server_ms - (sent + received) * 500.0
        moved = abs(offset_ms - self.offset_ms) if self.learned else abs(offset_ms)
        self.offset_ms = offset_ms
        self.learned = True
        self.stale = False
        level = logging.INFO if moved >= NOTABLE_OFFSET_MS else logging.DEBUG
        log.log(
            level,
            "learned Binance's clock: it is %+.3fs from the local clock (round trip %.3fs)",
            offset_ms / 1000.0,
            received - sent,
        )
