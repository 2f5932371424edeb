"""Item 4: resident size of the exporter after start, after a warm-up and after many scrapes
(half gzip, half identity) while the snapshot keeps changing (--min-interval 1), next to the
baseline server put through the same scrapes."""

from __future__ import annotations

from dataclasses import dataclass

from bench.load import scrape_exactly
from bench.procs import Server, rss_bytes, running_baseline, running_exporter
from bench.throughput import fetch_exposition
from bench.upstream import exporter_flags, prometheus_headers, start_upstream

CONNECTIONS = 8
CHECKPOINTS = 4


@dataclass(frozen=True)
class Residency:
    after_start: int
    after_warmup: int
    checkpoints: tuple[tuple[int, int], ...]  # (scrapes after the warm-up, RSS bytes)

    @property
    def after_scrapes(self) -> int:
        return self.checkpoints[-1][1]

    @property
    def growth(self) -> int:
        return self.after_scrapes - self.after_warmup


@dataclass(frozen=True)
class MemoryResult:
    loop: str
    assets: int
    warmup: int
    scrapes: int
    refreshes: int
    exporter: Residency
    baseline: Residency


async def scrape_n(server: Server, count: int) -> None:
    """`count` scrapes, half asking for gzip, with Prometheus' headers."""
    for gzip, share in ((True, count - count // 2), (False, count // 2)):
        await scrape_exactly(server, prometheus_headers(gzip), share, CONNECTIONS)


async def residency(server: Server, warmup: int, scrapes: int, after_start: int) -> Residency:
    """RSS after start, after the warm-up, and after each quarter of the scrapes."""
    await scrape_n(server, warmup)
    after_warmup = rss_bytes(server.pid)
    checkpoints = []
    done = 0
    for quarter in range(1, CHECKPOINTS + 1):
        chunk = scrapes * quarter // CHECKPOINTS - done
        await scrape_n(server, chunk)
        done += chunk
        checkpoints.append((done, rss_bytes(server.pid)))
    return Residency(after_start, after_warmup, tuple(checkpoints))


async def memory(loop: str, *, warmup: int, scrapes: int, assets: int = 400) -> MemoryResult:
    fake = await start_upstream(assets)
    try:
        flags = exporter_flags(fake, "--min-interval", "1")
        async with running_exporter(loop, flags) as exporter:
            exporter_rss = await residency(exporter, warmup, scrapes, rss_bytes(exporter.pid))
            exposition = await fetch_exposition(exporter.url)
        refreshes = fake.count()
        async with running_baseline(loop, exposition) as baseline:
            baseline_rss = await residency(baseline, warmup, scrapes, rss_bytes(baseline.pid))
    finally:
        await fake.stop()
    return MemoryResult(loop, assets, warmup, scrapes, refreshes, exporter_rss, baseline_rss)
