"""However many scrapers ask, and however they overlap, Binance sees exactly one request per
--min-interval: requests == elapsed / interval + 1 (the +1 is the first request)."""

from __future__ import annotations

import asyncio
import itertools
import math
import time

import pytest

from exporter.gate import RefreshGate
from exporter.scrape import requests_to_wait_for, wait_until
from exporter.upstream.budget import IpBudget
from exporter.upstream.parse import ParsedRates
from exporter.upstream.results import Fetched
from tests.support.exporter import Running, StartExporter
from tests.support.fake_binance import FakeBinance, Reply
from tests.support.samples import parse_samples

INTERVAL = 0.4
INTERVALS = 4
BURST = 50


async def scrape_until(running: Running, stop_at: float, pause: float) -> float:
    """Scrapes back to back (with `pause` between) until `stop_at` (time.time()); returns when
    the last scrape ended."""
    ended = time.time()
    while time.time() < stop_at:
        await running.scrape()
        ended = time.time()
        await asyncio.sleep(pause)
    return ended


async def bursts_until(running: Running, stop_at: float) -> float:
    ended = time.time()
    while time.time() < stop_at:
        await asyncio.gather(*(running.scrape() for _ in range(BURST)))
        ended = time.time()
        await asyncio.sleep(INTERVAL / 7)
    return ended


@pytest.mark.slow
async def test_one_upstream_request_per_interval_under_concurrent_scrapes(
    fake: FakeBinance, start_exporter: StartExporter
) -> None:
    fake.always(Reply(delay=0.05))  # scrapes arrive while a request is in flight
    running = await start_exporter("--min-interval", str(INTERVAL))
    await running.scrape()
    first = fake.requests[0].at
    # Stop half an interval past a due time: how late each request starts after its due time
    # (the wait for the next scrape) would have to add up to half an interval to change the
    # count.
    stop_at = first + INTERVALS * INTERVAL + INTERVAL / 2
    ends = await asyncio.gather(
        scrape_until(running, stop_at, 0.01),
        scrape_until(running, stop_at, 0.013),
        bursts_until(running, stop_at),
    )
    elapsed = max(ends) - first
    arrivals = [request.at for request in fake.requests]
    assert len(arrivals) == math.floor(elapsed / INTERVAL) + 1 == INTERVALS + 1
    assert all(b - a >= INTERVAL - 0.02 for a, b in itertools.pairwise(arrivals)), arrivals
    counted = parse_samples(await running.scrape())
    requests_total = ("binance_pm_upstream_requests_total", (("endpoint", "v1"),))
    assert counted[requests_total] == fake.count()


async def test_gate_economy_is_exact_on_its_own_clock() -> None:
    """The refresh gate alone, on a manual clock: 100 concurrent refreshes every half second
    for a minute at a 5 s interval send exactly 60 / 5 + 1 requests, 5 s apart."""
    now = 0.0
    sent: list[float] = []

    def clock() -> float:
        return now

    async def fetch(timeout: float) -> Fetched[ParsedRates]:
        sent.append(now)
        await asyncio.sleep(0)  # the other refreshes of the tick join this request
        return Fetched(ParsedRates({"BTC": 0.95}, 0), 0, None)

    gate = RefreshGate(
        "v1",
        fetch,
        budget=IpBudget(clock=clock),
        min_interval=5.0,
        timeout=10.0,
        clock=clock,
    )
    for tick in range(121):
        now = tick * 0.5
        scrapes = (wait_until(requests_to_wait_for([gate]), now + 10.0, clock) for _ in range(100))
        await asyncio.gather(*scrapes)
    assert len(sent) == 60 // 5 + 1
    assert [b - a for a, b in itertools.pairwise(sent)] == [5.0] * 12
    assert gate.stats.requests == len(sent)
