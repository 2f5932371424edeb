"""Item 1: cached-scrape throughput and latency of the exporter's /metrics against a bare
aiohttp handler serving the very same bytes, under the same load generator."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp

from bench.load import LoadResult, combine, drive
from bench.procs import (
    Exposition,
    Launch,
    enter_together,
    rss_bytes,
    running_baseline,
    running_exporter,
)
from bench.upstream import exporter_flags, prometheus_headers, start_upstream

ENCODINGS = ("identity", "gzip")
CACHED = "86400"  # --min-interval: every measured scrape is served from the cache


@dataclass(frozen=True)
class ThroughputRow:
    """One encoding on one event loop: the exporter against two baselines serving its bytes,
    `static` (the exporter's own process, /metrics reduced to returning bytes) and `bare` (a
    minimal aiohttp server process)."""

    loop: str
    encoding: str
    body_bytes: int
    connections: int
    pairs: int
    steady_heap: bool
    bare: LoadResult
    static: LoadResult
    exporter: LoadResult
    exporter_rss: int
    against: LoadResult | None = None  # the exporter of another source tree (--against)

    @property
    def ratio(self) -> float:
        """Throughput against the bare aiohttp server: the goal is >= 0.9."""
        return self.exporter.rps / self.bare.rps

    @property
    def static_ratio(self) -> float:
        """Throughput against the static baseline: the cost of the exporter's scrape path."""
        return self.exporter.rps / self.static.rps


async def fetch_exposition(url: str) -> Exposition:
    """The exporter's exposition as Prometheus receives it, identity and gzip."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        async with session.get(url, headers=prometheus_headers(gzip=False)) as resp:
            identity = await resp.read()
            content_type = resp.headers["Content-Type"]
            if resp.status != 200 or "Content-Encoding" in resp.headers:
                raise RuntimeError(f"unexpected answer to the identity scrape: {resp.status}")
        async with session.get(url, headers=prometheus_headers(gzip=True)) as resp:
            gzipped = await resp.read()
            if resp.status != 200 or resp.headers.get("Content-Encoding") != "gzip":
                raise RuntimeError(f"unexpected answer to the gzip scrape: {resp.status}")
    return Exposition(identity, gzipped, content_type)


# The process metrics (memory, CPU seconds) are read once a second: their values, and so the
# body's length, may move by a few bytes during a run.
BODY_LENGTH_SLACK = 64


def check(name: str, load: LoadResult, expected_length: int | None) -> None:
    """No answer but 200, and (when known) the same body length all along, give or take
    the few bytes the process metrics move by."""
    if load.non_200:
        raise RuntimeError(f"{name}: {load.non_200} answers were not 200")
    if expected_length is None:
        expected_length = load.body_lengths[0] if load.body_lengths else 0
    lengths = (*load.body_lengths, expected_length)
    if load.body_lengths and max(lengths) - min(lengths) > BODY_LENGTH_SLACK:
        raise RuntimeError(
            f"{name}: bodies of {load.body_lengths} bytes, not {expected_length}: "
            "the exposition changed during the run"
        )


@dataclass
class PairRun:
    """One set of processes (exporter, static baseline, bare baseline), both encodings."""

    body_bytes: dict[str, int]
    loads: dict[str, list[LoadResult]]  # encoding -> [bare, static, exporter(, against)]
    exporter_rss: int


async def run_pair(
    loop: str,
    generator: str,
    flags: list[str],
    *,
    encodings: tuple[str, ...],
    connections: int,
    duration: float,
    warmup: float,
    steady_heap: bool,
    against: Path | None,
) -> PairRun:
    launch = Launch(steady_heap=steady_heap)
    starting = [
        running_exporter(loop, flags, launch=launch),
        running_exporter(loop, flags, static=True, launch=launch),
    ]
    if against is not None:
        starting.append(running_exporter(loop, flags, launch=replace(launch, tree=against)))
    async with AsyncExitStack() as stack:
        exp, static, *other = await enter_together(stack, starting)
        exposition = await fetch_exposition(exp.url)
        for server in (static, *other):
            await fetch_exposition(server.url)
        async with running_baseline(loop, exposition, launch) as bare:
            run = PairRun({}, {}, 0)
            for encoding in encodings:
                gzip = encoding == "gzip"
                length = len(exposition.gzipped if gzip else exposition.identity)
                servers = [bare, static, exp, *other]
                loads = await drive(
                    generator,
                    servers,
                    prometheus_headers(gzip),
                    connections=connections,
                    duration=duration,
                    warmup=warmup,
                )
                for server, load in zip(servers, loads, strict=True):
                    check(server.name, load, length if server in (bare, exp) else None)
                run.body_bytes[encoding] = length
                run.loads[encoding] = loads
            run.exporter_rss = rss_bytes(exp.pid)
    return run


async def compare(
    loop: str,
    generator: str,
    *,
    assets: int,
    connections: int,
    duration: float,
    warmup: float,
    pairs: int = 1,
    encodings: tuple[str, ...] = ENCODINGS,
    steady_heap: bool = True,
    against: Path | None = None,
) -> list[ThroughputRow]:
    """The exporter (after its one upstream request) and the baselines serving its bytes, under
    load in alternating turns for `duration` seconds each per encoding, split over `pairs`
    fresh sets of processes: how fast a given process runs varies by several percent from
    one start to the next, and more sets average that out. Every server runs with
    procs.STEADY_HEAP_ENV unless `steady_heap` is False. With `against`, the exporter of that
    source tree is measured beside this one."""
    fake = await start_upstream(assets)
    try:
        flags = exporter_flags(fake, "--min-interval", CACHED)
        runs = [
            await run_pair(
                loop,
                generator,
                flags,
                encodings=encodings,
                connections=connections,
                duration=duration / pairs,
                warmup=warmup,
                steady_heap=steady_heap,
                against=against,
            )
            for _ in range(pairs)
        ]
        exporters = (2 if against is None else 3) * pairs
        if fake.count() != exporters:
            raise RuntimeError(f"{fake.count()} upstream requests for {exporters} exporters")
    finally:
        await fake.stop()
    rows = []
    for encoding in encodings:
        bare, static, exporter, *other = (
            combine([run.loads[encoding][i] for run in runs])
            for i in range(len(runs[0].loads[encoding]))
        )
        rows.append(
            ThroughputRow(
                loop=loop,
                encoding=encoding,
                body_bytes=runs[0].body_bytes[encoding],
                connections=connections,
                pairs=pairs,
                steady_heap=steady_heap,
                bare=bare,
                static=static,
                exporter=exporter,
                exporter_rss=runs[-1].exporter_rss,
                against=other[0] if other else None,
            )
        )
    return rows
