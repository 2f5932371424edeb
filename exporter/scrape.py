"""Where the cache decides: what a /metrics scrape waits for, for how long, and when the cached
exposition is served as it is. `ScrapePlanner.serve()` is the story of one scrape:

1. The cache holds (no source may request yet, none is in flight, no rates reach --max-stale
   before then): the cached exposition is served, and nothing else is asked. Most scrapes.
2. Otherwise the scrape may wait `wait_budget()`: --timeout, capped by Prometheus'
   X-Prometheus-Scrape-Timeout-Seconds less a margin.
3. For each source, the request to wait for: the one in flight (every concurrent scrape shares
   it), else a new one if the source allows it now, else none.
4. Those requests are awaited together until the deadline. A request is never cancelled by a
   scrape that gives up; the next scrape finds its result.
5. The exporter's metrics are rendered again if what they show changed, and the moment the
   cache stops holding is worked out: the earliest moment a source may request again or its
   last good payload reaches --max-stale; at once while a request is still in flight.

A source is anything with the `Source` shape: each endpoint's refresh gate (exporter/gate.py),
which keeps its own minimum interval, backoff, Retry-After and single flight. The rates, the
tiers, the index prices and every account's requests are sources alike. Process metrics are
rendered again at most once a second, whatever the sources do."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, Protocol

from exporter.exposition import ExpositionCache, Rendered
from exporter.state import Snapshot

log = logging.getLogger(__name__)

# The share of Prometheus' scrape timeout kept for rendering and the network, at most this long.
SCRAPE_MARGIN_SHARE = 0.1
SCRAPE_MARGIN_MAX_SECONDS = 0.5
OWN_METRICS_SECONDS = 1.0


class Source(Protocol):
    """One upstream request the exposition shows: when it may be sent again, and the one in
    flight (at most one: the source keeps it single)."""

    @property
    def label(self) -> str: ...

    @property
    def snapshot(self) -> Snapshot[Any]: ...

    def is_due(self) -> bool:
        """Whether a request may be sent now (its interval, backoff and rate limits allow it)."""
        ...

    def next_request_at(self) -> float:
        """The time.monotonic() from which is_due() holds."""
        ...

    def in_flight(self) -> asyncio.Task[None] | None: ...

    def start(self) -> asyncio.Task[None]:
        """Sends the request (the one in flight if there is one) and returns it."""
        ...


class Versioned(Protocol):
    def version(self) -> Hashable:
        """Changes whenever what the collector would export changes."""
        ...


def wait_budget(timeout: float, scrape_timeout_header: str | None) -> float:
    """How long a scrape may wait for upstream: --timeout, capped by Prometheus'
    X-Prometheus-Scrape-Timeout-Seconds less a margin for rendering and the network."""
    if scrape_timeout_header:
        try:
            scrape_timeout = float(scrape_timeout_header)
        except ValueError:
            return timeout
        if scrape_timeout == scrape_timeout and scrape_timeout > 0:
            margin = min(SCRAPE_MARGIN_MAX_SECONDS, scrape_timeout * SCRAPE_MARGIN_SHARE)
            return max(0.0, min(timeout, scrape_timeout - margin))
    return timeout


def requests_to_wait_for(sources: Iterable[Source]) -> list[tuple[Source, asyncio.Task[None]]]:
    """Per source, the request a scrape waits for: the one in flight, else a new one when the
    source allows it, else none."""
    waited = []
    for source in sources:
        request = source.in_flight()
        if request is None and source.is_due():
            request = source.start()
        if request is not None:
            waited.append((source, request))
    return waited


async def wait_until(
    requests: Sequence[tuple[Source, asyncio.Task[None]]],
    deadline: float,
    monotonic: Callable[[], float] = time.monotonic,
) -> None:
    """Waits for the requests until `deadline` (a time.monotonic() value); those still running
    then go on, uncancelled (shielded)."""
    remaining = deadline - monotonic()
    if remaining > 0:
        await asyncio.gather(
            *(_wait_for(source, request, remaining) for source, request in requests)
        )


async def _wait_for(source: Source, request: asyncio.Task[None], seconds: float) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(request), seconds)
    except TimeoutError:
        log.debug("scrape deadline reached while the %s request is still running", source.label)


def cache_holds_until(sources: Iterable[Source], max_stale: float, now: float) -> float:
    """The time.monotonic() until which the exposition stays as it is with no request: the
    first moment a source may request again or its last good payload reaches --max-stale;
    -inf while a request is in flight, whose end changes what is exported."""
    until = math.inf
    for source in sources:
        if source.in_flight() is not None:
            return -math.inf
        until = min(until, source.next_request_at(), source.snapshot.stale_at(now, max_stale))
    return until


class ScrapePlanner:
    """Decides, for each scrape, whether the cached exposition is served as it is or the sources
    are refreshed first, and for how long the scrape waits for them."""

    def __init__(
        self,
        sources: Sequence[Source],
        collector: Versioned,
        exposition: ExpositionCache,
        *,
        timeout: float,
        max_stale: float,
        own_metrics_seconds: float = OWN_METRICS_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sources = tuple(sources)
        self._collector = collector
        self._exposition = exposition
        self._timeout = timeout
        self._max_stale = max_stale
        self._own_every = own_metrics_seconds if exposition.has_process_metrics else math.inf
        self._monotonic = monotonic
        self._cache_holds_until = -math.inf
        self._own_metrics_until = -math.inf
        self._shown: Hashable = None

    async def serve(
        self, scrape_timeout_header: str | None, accept: str, accept_encoding: str
    ) -> Rendered:
        """The exposition for one scrape, after the refresh it needs (see the module's story)."""
        now = self._monotonic()
        if not self.cache_holds(now):
            await self.refresh(now + wait_budget(self._timeout, scrape_timeout_header))
        self._render_own_metrics_again_when_due(now)
        return self._exposition.for_request(accept, accept_encoding)

    def cache_holds(self, now: float | None = None) -> bool:
        """Whether a scrape at `now` can be served the cached exposition as it is."""
        return (self._monotonic() if now is None else now) < self._cache_holds_until

    def expire(self) -> None:
        """The next scrape goes through the sources again, whatever the cache held until."""
        self._cache_holds_until = -math.inf

    async def refresh(self, deadline: float) -> None:
        """Brings every source up to date, as the sources allow, by `deadline`, and the
        exposition with them; then works out until when the cache holds."""
        await wait_until(requests_to_wait_for(self._sources), deadline, self._monotonic)
        self._render_again_if_changed()
        self._cache_holds_until = cache_holds_until(
            self._sources, self._max_stale, self._monotonic()
        )

    def _render_again_if_changed(self) -> None:
        try:
            shown = self._collector.version()
        except Exception as exc:  # then render afresh: the version cannot tell
            log.error("reading the collector's version failed: %s: %s", type(exc).__name__, exc)
            shown = object()
        if shown != self._shown:
            self._shown = shown
            self._exposition.forget_exporter_metrics()

    def _render_own_metrics_again_when_due(self, now: float) -> None:
        if now >= self._own_metrics_until:
            self._own_metrics_until = now + self._own_every
            self._exposition.forget_own_metrics()
