"""The refresh gate of one endpoint (a source of the exposition): when it may ask Binance again,
and the one request in flight that every concurrent scrape shares. What a scrape does with it
(wait, for how long, or serve the cache) is decided in exporter/scrape.py.

A request may be sent only when all of these hold:
- the endpoint's own next-allowed time has passed: `--min-interval` after the last request,
  stretched by exponential backoff with jitter after consecutive failures;
- the shared IP budget is open: no `Retry-After` of a 429/418 is in force (it stops every
  endpoint and host), and the last `X-SAPI-USED-IP-WEIGHT-1M` was not near the limit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Generic

from exporter.state import EndpointStats, Snapshot
from exporter.upstream.budget import IpBudget
from exporter.upstream.faults import UpstreamFault, internal_error, is_rate_limit
from exporter.upstream.results import Deferred, Fetched, PayloadT

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
# A healed upstream is seen at the first scrape after the backoff: within the cap plus one
# scrape interval. Prometheus scrapes every 60s by default, and recovery must show within 2
# minutes: 120s - 60s = 60s. Rate-limit floors (Retry-After) are not capped by it.
BACKOFF_CAP_SECONDS = 60.0
MAX_DOUBLINGS = 32
# Distinct bugs whose traceback was logged: a bug seen again is logged as any repeated failure.
MAX_BUGS_REMEMBERED = 32


class BackoffPolicy:
    """Delay before the next request after n consecutive failures: after the first, just
    --min-interval; then --min-interval (at least 1s) doubled per failure up to a cap, with
    'equal jitter' (a random point in the upper half), never less than --min-interval."""

    def __init__(self, min_interval: float, rng: random.Random | None = None) -> None:
        self.min_interval = min_interval
        self._base = max(min_interval, BACKOFF_BASE_SECONDS)
        self._rng = rng or random.Random()

    def delay(self, failures: int) -> float:
        if failures <= 1:
            return self.min_interval
        # The exponent is bounded so that a long outage (thousands of failures) cannot overflow.
        doublings = min(failures - 1, MAX_DOUBLINGS)
        ceiling = min(BACKOFF_CAP_SECONDS, self._base * 2.0**doublings)
        return max(self.min_interval, self._rng.uniform(ceiling / 2.0, ceiling))


class RefreshGate(Generic[PayloadT]):
    """One endpoint's gate: its snapshot and counters, when it may request again, and the
    request in flight (see exporter/scrape.py for the scrape's side)."""

    def __init__(
        self,
        name: str,
        fetch: Callable[[float], Awaitable[Fetched[PayloadT]]],
        *,
        budget: IpBudget,
        min_interval: float,
        timeout: float,
        backoff: BackoffPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        account: str | None = None,
        on_success: Callable[[PayloadT, float], None] | None = None,
    ) -> None:
        self.name = name
        # Per-account endpoints carry the account's name (the `account` label) as well.
        self.account = account
        self.label = name if account is None else f"{name}[{account}]"
        self._fetch = fetch
        self._on_success = on_success
        # The endpoint's request itself, for a one-off call outside the gate (`--check`).
        self.fetch = fetch
        self._budget = budget
        self._min_interval = min_interval
        self._timeout = timeout
        self._backoff = backoff or BackoffPolicy(min_interval)
        self._clock = clock
        self._wall = wall
        self.snapshot: Snapshot[PayloadT] = Snapshot()
        self.stats = EndpointStats()
        self.generation = 0
        self.failures = 0
        self.next_allowed = 0.0
        self._inflight: asyncio.Task[None] | None = None
        self._last_invalid_entries = 0
        self._bugs_logged: set[str] = set()

    def is_due(self) -> bool:
        return self._clock() >= self.next_allowed and self._budget.is_open()

    def next_request_at(self) -> float:
        """The time.monotonic() from which is_due() holds."""
        return max(self.next_allowed, self._budget.not_before)

    def seconds_until_due(self) -> float:
        return max(0.0, self.next_allowed - self._clock(), self._budget.not_before - self._clock())

    def in_flight(self) -> asyncio.Task[None] | None:
        return self._inflight

    def start(self) -> asyncio.Task[None]:
        """Sends a request, or returns the one in flight: at most one at a time. The request
        outlives any scrape that gives up waiting for it."""
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._attempt(), name=f"refresh-{self.label}")
        return self._inflight

    async def close(self) -> None:
        task = self._inflight
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _attempt(self) -> None:
        started = self._clock()
        started_wall = self._wall()
        self.stats.requests += 1
        try:
            fetched = await self._fetch(self._timeout)
        except UpstreamFault as fault:
            self._record_failure(fault, started, started_wall)
        except Deferred:
            log.debug("%s request deferred: upstream requests are paused", self.label)
            self.next_allowed = max(started + self._min_interval, self._budget.not_before)
        except Exception as exc:  # a bug must not stop the exporter: count it, log it, go on
            bug = internal_error(exc)
            self._log_bug_once(bug, exc)
            self._record_failure(bug, started, started_wall)
        else:
            self._record_success(fetched, started)
        finally:
            self.stats.latency.observe(self._clock() - started)
            self.generation += 1
            self._inflight = None

    def _log_bug_once(self, bug: UpstreamFault, exc: Exception) -> None:
        """The traceback of a bug at ERROR the first time it happens, not on every request."""
        if bug.detail in self._bugs_logged:
            return
        if len(self._bugs_logged) >= MAX_BUGS_REMEMBERED:
            self._bugs_logged.clear()
        self._bugs_logged.add(bug.detail)
        log.error(
            "%s: internal error of the exporter, counted as reason=%s (not a fault of Binance)",
            self.label,
            bug.reason.value,
            exc_info=exc,
        )

    def _record_success(self, fetched: Fetched[PayloadT], started: float) -> None:
        self.stats.invalid_entries += fetched.invalid_entries
        self._budget.note_weight(fetched.used_weight)
        if not self.snapshot.up:
            if self.snapshot.last_attempt is None:
                log.info("%s: first upstream request succeeded", self.label)
            else:
                log.info("%s: upstream is back up after %d failures", self.label, self.failures)
        if fetched.invalid_entries != self._last_invalid_entries:
            log.warning(
                "%s: %d invalid entries in the response (were %d); they are skipped",
                self.label,
                fetched.invalid_entries,
                self._last_invalid_entries,
            )
            self._last_invalid_entries = fetched.invalid_entries
        self.failures = 0
        self.next_allowed = started + self._min_interval
        done = self._wall()
        self.snapshot = Snapshot(
            payload=fetched.payload,
            last_success=done,
            last_attempt=done,
            succeeded_at=self._clock(),
            up=True,
        )
        if self._on_success is not None:
            self._on_success(fetched.payload, done)

    def _record_failure(self, fault: UpstreamFault, started: float, wall: float) -> None:
        self.stats.errors[fault.reason] += 1
        self._budget.note_weight(fault.used_weight)
        self.failures += 1
        delay = self._backoff.delay(self.failures)
        if fault.retry_after is not None:
            if is_rate_limit(fault.reason):
                self._budget.block_for(fault.retry_after, f"Retry-After of {fault.describe()}")
                wait = fault.retry_after
            else:  # e.g. a 503 maintenance page: a hint, bounded like any backoff
                wait = min(fault.retry_after, BACKOFF_CAP_SECONDS)
            delay = max(delay, self._clock() - started + wait)
        self.next_allowed = started + delay
        if self.snapshot.up or self.snapshot.last_attempt is None:
            log.warning("%s: upstream request failed: %s", self.label, fault.describe())
        elif fault.reason != self.snapshot.last_reason:
            log.warning("%s: upstream still failing, now: %s", self.label, fault.describe())
        else:
            log.debug("%s: upstream request failed again: %s", self.label, fault.describe())
        if self.failures == 2:
            log.warning(
                "%s: backing off after consecutive failures; next request in %.1fs",
                self.label,
                self.seconds_until_due(),
            )
        self.snapshot = replace(
            self.snapshot,
            last_attempt=wall,
            up=False,
            last_reason=fault.reason,
            last_error=fault.describe(),
            last_status=fault.status,
            last_code=fault.code,
        )
