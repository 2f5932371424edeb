"""The IP's request budget, shared by every endpoint and host: Binance's rate-limit floor."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

IP_WEIGHT_LIMIT = 12000  # sapi (and api) weight per minute per IP
PAPI_IP_WEIGHT_LIMIT = 6000  # papi's own, counted apart
IP_WEIGHT_SAFETY = 0.9  # stop at 90% of the budget: other programs on this IP share it


class IpBudget:
    """What every endpoint and host behind this IP shares: no request before `not_before`
    (a Retry-After in force, or the minute's weight nearly spent)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        *,
        limit: int = IP_WEIGHT_LIMIT,
        name: str = "upstream",
    ) -> None:
        self.limit = limit
        self.name = name
        self._clock = clock
        self._wall = wall
        self.not_before = 0.0
        self.used_weight: int | None = None

    def is_open(self) -> bool:
        return self._clock() >= self.not_before

    def block_for(self, seconds: float, why: str) -> None:
        until = self._clock() + seconds
        if until > self.not_before:
            self.not_before = until
            log.warning("%s requests paused for %.0fs: %s", self.name, seconds, why)

    def note_weight(self, used_weight: int | None) -> None:
        if used_weight is None:
            return
        self.used_weight = used_weight
        if used_weight >= self.limit * IP_WEIGHT_SAFETY:
            now = self._wall()
            to_next_minute = math.floor(now / 60.0) * 60.0 + 60.0 - now + 1.0
            self.block_for(
                to_next_minute,
                f"used IP weight {used_weight} of {self.limit}: waiting for the next minute",
            )
