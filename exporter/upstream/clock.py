"""Binance's clock as seen from this host, for the timestamps of signed requests.

Binance refuses a signed request (-1021) whose timestamp is more than 1s ahead of its clock or
more than recvWindow behind it. The offset is learned from GET /api/v3/time before the first
signed request and again after any -1021, so a host whose clock is off still gets through."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from exporter.upstream.client import BinanceClient
from exporter.upstream.faults import Reason, UpstreamFault
from exporter.upstream.parse import decode_json

log = logging.getLogger(__name__)

TIME_PATH = "/api/v3/time"
NOTABLE_OFFSET_MS = 1000.0


def server_time_ms(body: bytes) -> float:
    document = decode_json(body)
    value = document.get("serverTime") if isinstance(document, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UpstreamFault(Reason.INVALID_RESPONSE, f"{TIME_PATH}: no numeric serverTime")
    if not math.isfinite(value) or value <= 0:
        raise UpstreamFault(Reason.INVALID_RESPONSE, f"{TIME_PATH}: serverTime {value!r}")
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

    def timestamp_ms(self) -> int:
        """The current time on Binance's clock, as best known."""
        return int(self._wall() * 1000.0 + self.offset_ms)

    def forget(self) -> None:
        self.stale = True

    async def learn(self, timeout: float) -> None:
        """Ask Binance for its time; the offset assumes the answer was made halfway through the
        round trip. Raises UpstreamFault, leaving the clock stale, when the request fails."""
        sent = self._wall()
        response = await self._client.get(TIME_PATH, timeout)
        received = self._wall()
        server_ms = server_time_ms(response.body)
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
