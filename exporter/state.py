"""What the exporter knows about one upstream endpoint: the outcome of its last attempt (an
immutable snapshot, replaced after every attempt) and its running counters."""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Generic

from exporter.upstream.faults import Reason
from exporter.upstream.results import PayloadT

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class Snapshot(Generic[PayloadT]):
    """The last good payload and how the latest attempt went. Times are Unix times, except
    `succeeded_at`: the time.monotonic() of the last success, on which --max-stale is counted,
    so that a step of the system clock neither drops the rates early nor keeps them late."""

    payload: PayloadT | None = None
    last_success: float | None = None
    last_attempt: float | None = None
    succeeded_at: float | None = None
    up: bool = False
    last_reason: Reason | None = None
    last_error: str = ""  # for the log: it may quote Binance
    last_status: int | None = None  # HTTP status of the last failure
    last_code: int | None = None  # Binance's numeric error code of the last failure

    def fresh_payload(self, now: float, max_stale: float) -> PayloadT | None:
        """The last good payload while it is at most max_stale seconds old at `now` (a
        time.monotonic() value), else None."""
        if self.payload is None or self.succeeded_at is None:
            return None
        if now - self.succeeded_at > max_stale:
            return None
        return self.payload

    def stale_at(self, now: float, max_stale: float) -> float:
        """The time.monotonic() after which fresh_payload() is None; inf when it already is."""
        if self.succeeded_at is None or self.fresh_payload(now, max_stale) is None:
            return math.inf
        return self.succeeded_at + max_stale


@dataclass
class LatencyHistogram:
    bounds: tuple[float, ...] = LATENCY_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """(le, cumulative count) pairs, +Inf last, as the exposition wants them."""
        pairs: list[tuple[str, int]] = []
        running = 0
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            running += count
            pairs.append((bound, running))
        return pairs


@dataclass
class EndpointStats:
    """Counters of one endpoint (`endpoint` label: v1, v2)."""

    requests: int = 0
    errors: dict[Reason, int] = field(default_factory=lambda: dict.fromkeys(Reason, 0))
    invalid_entries: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
