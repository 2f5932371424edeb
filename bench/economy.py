"""Item 2: upstream economy. Two scrapers (an HA pair of Prometheus servers) plus bursts of
concurrent scrapes, for a while, at one --min-interval: how many requests reach Binance?"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import time
from dataclasses import dataclass, field

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bench.procs import running_exporter
from bench.upstream import exporter_flags, prometheus_headers, start_upstream

UPSTREAM_LATENCY = 0.1  # seconds: Binance answers in about this long
GAP_TOLERANCE = 0.05  # seconds: request arrival jitter between the exporter and the fake


@dataclass
class ScrapeLog:
    """When each scrape was sent (wall clock), and how the scrapes went."""

    sent: list[float] = field(default_factory=list)
    finished: float = 0.0
    non_200: int = 0
    bursts: int = 0

    async def scrape(self, session: aiohttp.ClientSession, url: str) -> None:
        self.sent.append(time.time())
        async with session.get(url, headers=prometheus_headers(gzip=True)) as resp:
            await resp.read()
            if resp.status != 200:
                self.non_200 += 1
        self.finished = max(self.finished, time.time())


@dataclass(frozen=True)
class EconomyResult:
    loop: str
    interval: float
    elapsed: float
    scrapes: int
    non_200: int
    bursts: int
    burst_size: int
    upstream_requests: int
    exporter_counted: int
    gaps: tuple[float, ...]

    @property
    def bound(self) -> int:
        """elapsed / interval + 1: the most requests --min-interval allows."""
        return math.floor(self.elapsed / self.interval) + 1

    @property
    def ok(self) -> bool:
        return (
            self.non_200 == 0
            and self.upstream_requests <= self.bound
            and self.exporter_counted == self.upstream_requests
            and (not self.gaps or min(self.gaps) >= self.interval - GAP_TOLERANCE)
        )


async def scrape_every(
    log: ScrapeLog, url: str, period: float, offset: float, stop_at: float
) -> None:
    async with aiohttp.ClientSession() as session:
        await asyncio.sleep(offset)
        next_at = time.monotonic()
        while next_at < stop_at:
            await log.scrape(session, url)
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def bursts(
    log: ScrapeLog, url: str, size: int, gap: tuple[float, float], stop_at: float
) -> None:
    rng = random.Random(4)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        while time.monotonic() < stop_at:
            await asyncio.gather(*(log.scrape(session, url) for _ in range(size)))
            log.bursts += 1
            await asyncio.sleep(rng.uniform(*gap))


async def requests_counted(url: str) -> int:
    """binance_pm_upstream_requests_total as the exporter reports it (one more scrape)."""
    headers = {"Accept": "text/plain;version=0.0.4"}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        text = await resp.text()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "binance_pm_upstream_requests_total":
                total += sample.value
    return int(total)


async def economy(
    loop: str, *, interval: float, seconds: float, burst_size: int, assets: int = 400
) -> EconomyResult:
    """The HA pair scrapes every interval/5 (half a period apart); a burst of `burst_size`
    concurrent scrapes comes every 0.1 to 0.3 intervals, at random."""
    fake = await start_upstream(assets, delay=UPSTREAM_LATENCY)
    try:
        flags = exporter_flags(fake, "--min-interval", f"{interval:g}")
        async with running_exporter(loop, flags) as exporter:
            log = ScrapeLog()
            period = interval / 5.0
            stop_at = time.monotonic() + seconds
            await asyncio.gather(
                scrape_every(log, exporter.url, period, 0.0, stop_at),
                scrape_every(log, exporter.url, period, period / 2.0, stop_at),
                bursts(log, exporter.url, burst_size, (0.1 * interval, 0.3 * interval), stop_at),
            )
            log.sent.append(time.time())
            counted = await requests_counted(exporter.url)
            log.finished = time.time()
        arrivals = [request.at for request in fake.requests]
    finally:
        await fake.stop()
    return EconomyResult(
        loop=loop,
        interval=interval,
        elapsed=log.finished - arrivals[0] if arrivals else 0.0,
        scrapes=len(log.sent),
        non_200=log.non_200,
        bursts=log.bursts,
        burst_size=burst_size,
        upstream_requests=len(arrivals),
        exporter_counted=counted,
        gaps=tuple(b - a for a, b in itertools.pairwise(arrivals)),
    )
